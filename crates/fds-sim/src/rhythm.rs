//! The daily rhythm in Korea Standard Time (UTC+9, no daylight saving).
//!
//! A [`Profile`] weighs each KST hour of the day (mean weight 1). An agent with a daily
//! rate `r` has its events spread over "weighted time": between two events
//! `Exp(1) * 86,400 / r` weighted seconds pass, and [`Profile::advance`] turns that back
//! into clock time, so an hour of weight 2 sees twice the average activity. This keeps
//! each agent memoryless (one next-event time) while following the day.

/// Seconds east of UTC of Korea Standard Time.
pub(crate) const KST_OFFSET_S: i64 = 9 * 3600;
pub(crate) const HOUR: i64 = 3600;
pub(crate) const DAY: i64 = 24 * HOUR;

/// Hourly weights, index = KST hour. Quiet 01:00-07:00, peaks at lunch and evening.
const REGULAR: [f64; 24] = [
    0.35, 0.12, 0.06, 0.04, 0.04, 0.06, 0.18, 0.55, 1.0, 1.15, 1.2, 1.35, //
    1.75, 1.45, 1.2, 1.2, 1.25, 1.4, 1.65, 1.85, 1.9, 1.7, 1.3, 0.8,
];

/// Night owls: late evening and the small hours, quiet mornings.
const NIGHT_OWL: [f64; 24] = [
    1.7, 1.5, 1.2, 0.8, 0.4, 0.15, 0.06, 0.06, 0.1, 0.25, 0.5, 0.8, //
    1.1, 1.1, 1.0, 1.0, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 1.9, 1.9,
];

/// Hourly activity weights, normalised to a mean of 1 over the day.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    weights: [f64; 24],
}

impl Profile {
    fn from_raw(raw: [f64; 24]) -> Profile {
        let mean = raw.iter().sum::<f64>() / 24.0;
        Profile { weights: raw.map(|w| w / mean) }
    }

    pub(crate) fn regular() -> Profile {
        Profile::from_raw(REGULAR)
    }

    pub(crate) fn night_owl() -> Profile {
        Profile::from_raw(NIGHT_OWL)
    }

    /// The clock time (unix seconds) by which `weighted` seconds of activity have
    /// passed since `t`.
    pub(crate) fn advance(&self, t: i64, weighted: f64) -> i64 {
        if !weighted.is_finite() || weighted <= 0.0 {
            return t;
        }
        // Whole days carry exactly 86,400 weighted seconds, wherever they start.
        let days = (weighted / DAY as f64).floor();
        let mut left = weighted - days * DAY as f64;
        let mut now = t + days as i64 * DAY;
        loop {
            let weight = self.weights[kst_hour(now)];
            let boundary = next_hour(now);
            let capacity = (boundary - now) as f64 * weight;
            if left <= capacity {
                return now + (left / weight) as i64;
            }
            left -= capacity;
            now = boundary;
        }
    }
}

/// The KST hour of day (0..24) at unix time `t`.
pub(crate) fn kst_hour(t: i64) -> usize {
    // In 0..24 by construction.
    ((t + KST_OFFSET_S).rem_euclid(DAY) / HOUR) as usize
}

/// The first full hour strictly after `t`.
fn next_hour(t: i64) -> i64 {
    (t.div_euclid(HOUR) + 1) * HOUR
}

/// The first instant at or after `t` when the KST clock reads `hour`:00.
pub(crate) fn next_kst_hour(t: i64, hour: i64) -> i64 {
    let local = t + KST_OFFSET_S;
    let midnight = local.div_euclid(DAY) * DAY;
    let mut at = midnight + hour * HOUR;
    if at < local {
        at += DAY;
    }
    at - KST_OFFSET_S
}

/// Whether `t` lies in the KST hours `from..to` (`from < to`).
pub(crate) fn in_kst_hours(t: i64, from: usize, to: usize) -> bool {
    (from..to).contains(&kst_hour(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-02T00:00:00+09:00.
    const MONDAY: i64 = 1_772_377_200;

    #[test]
    fn kst_hours_are_nine_hours_ahead_of_utc() {
        assert_eq!(kst_hour(MONDAY), 0);
        assert_eq!(kst_hour(MONDAY + 13 * HOUR + 59), 13);
        assert_eq!(next_kst_hour(MONDAY + 1, 0), MONDAY + DAY);
        assert_eq!(next_kst_hour(MONDAY, 0), MONDAY);
        assert_eq!(next_kst_hour(MONDAY + 5 * HOUR, 3), MONDAY + DAY + 3 * HOUR);
        assert!(in_kst_hours(MONDAY + 2 * HOUR, 0, 5));
        assert!(!in_kst_hours(MONDAY + 5 * HOUR, 0, 5));
    }

    #[test]
    fn a_whole_day_of_weight_is_a_whole_day_of_clock() {
        let p = Profile::regular();
        assert_eq!(p.advance(MONDAY + 12_345, DAY as f64), MONDAY + 12_345 + DAY);
        assert_eq!(p.advance(MONDAY, 0.0), MONDAY);
    }

    #[test]
    fn quiet_hours_pass_quickly_in_weighted_time() {
        let p = Profile::regular();
        // From 02:00 KST, an average hour's worth of activity takes far longer than an hour.
        let quiet = p.advance(MONDAY + 2 * HOUR, HOUR as f64) - (MONDAY + 2 * HOUR);
        // From 19:00 KST it takes less than an hour.
        let busy = p.advance(MONDAY + 19 * HOUR, HOUR as f64) - (MONDAY + 19 * HOUR);
        assert!(quiet > 4 * HOUR, "quiet {quiet}");
        assert!(busy < HOUR, "busy {busy}");
    }

    #[test]
    fn advancing_is_monotone() {
        let p = Profile::night_owl();
        let mut last = MONDAY;
        for step in 1..500 {
            let t = p.advance(MONDAY, step as f64 * 300.0);
            assert!(t >= last);
            last = t;
        }
    }
}
