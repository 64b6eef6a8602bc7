//! What a simulation run looks like: seed, population, start and fraud volume.

use chrono::TimeZone;
use fds_core::Timestamp;

/// The largest legit population the number space holds comfortably: subscriber numbers
/// are `010` + 8 digits, and lines opened later (new subscriptions, fraud lines) need room.
pub(crate) const MAX_SUBSCRIBERS: usize = 10_000_000;

/// One simulated subscriber in this many is a fraud actor of each family per simulated
/// day (see [`SimConfig::actors_per_family`]).
const SUBSCRIBERS_PER_ACTOR: usize = 1_000;

/// Even a tiny population gets enough actors per family for every pattern to show.
const MIN_ACTORS_PER_FAMILY: usize = 3;

/// The configuration of a [`crate::Simulator`]. The same configuration always gives the
/// same stream, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Seeds every random choice; different seeds give different traffic.
    pub seed: u64,
    /// Size of the legit population present from the start (lines older than the
    /// history: no subscription event is ever seen for them). New legit subscribers join
    /// over time (about one per 2,000 subscribers per day). At most 10,000,000.
    pub subscribers: usize,
    /// Where the simulated timeline starts.
    pub start: Timestamp,
    /// How many actors of each fraud family open the timeline (their starts are staggered
    /// over its first 6 hours) and how many new ones appear per simulated day afterwards.
    /// `None`: one per 1,000 subscribers, at least 3.
    pub actors_per_family: Option<usize>,
    /// How many legit subscribers the opening voice-phishing actors defraud together;
    /// later actors defraud at the same rate per actor (`victims / actors_per_family`
    /// each on average). `None`: as many as there are voice-phishing actors per day.
    pub victims: Option<usize>,
}

impl SimConfig {
    /// The number of actors of each family per opening cohort and per day.
    pub fn actors_per_family(&self) -> usize {
        self.actors_per_family
            .unwrap_or_else(|| (self.subscribers / SUBSCRIBERS_PER_ACTOR).max(MIN_ACTORS_PER_FAMILY))
    }

    /// The number of voice-phishing victims per opening cohort and per day.
    pub fn victims(&self) -> usize {
        self.victims.unwrap_or_else(|| self.actors_per_family())
    }
}

impl Default for SimConfig {
    /// 20,000 subscribers from Monday 2026-03-02 00:00 KST, seed 7, fraud volume scaled
    /// with the population.
    fn default() -> Self {
        let start = chrono::FixedOffset::east_opt(9 * 3600)
            .and_then(|kst| kst.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).single())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        SimConfig { seed: 7, subscribers: 20_000, start, actors_per_family: None, victims: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraud_volume_scales_with_the_population_unless_set() {
        let big = SimConfig { subscribers: 20_000, ..SimConfig::default() };
        assert_eq!(big.actors_per_family(), 20);
        assert_eq!(big.victims(), 20);
        let small = SimConfig { subscribers: 500, ..SimConfig::default() };
        assert_eq!(small.actors_per_family(), 3);
        let set = SimConfig { actors_per_family: Some(0), victims: Some(4), ..SimConfig::default() };
        assert_eq!(set.actors_per_family(), 0);
        assert_eq!(set.victims(), 4);
    }

    #[test]
    fn the_default_start_is_monday_midnight_in_kst() {
        assert_eq!(SimConfig::default().start.to_rfc3339(), "2026-03-01T15:00:00+00:00");
    }
}
