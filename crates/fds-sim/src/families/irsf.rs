//! International revenue share fraud (IRSF): a line (70 % opened online 30 minutes to
//! 12 hours before, without a handset; the rest existing lines) calls premium and
//! high-risk international ranges from [`IRSF_PREFIXES`]: one to three prefixes, two to
//! six numbers under each (from a pool of eight per prefix that all actors share), in one
//! to three sessions (70 % starting between 00:00 and
//! 03:00 KST) of 4-15 calls 3-20 minutes apart, each lasting 300-3,600 s. The callee
//! country is never KR.

use super::{next_night, Plan};
use crate::draft::{Body, Number};
use crate::ids::mix;
use crate::rhythm::HOUR;
use crate::world::{World, CHEAP_PLANS};
use fds_core::{Channel, Direction};

/// The high-risk number ranges IRSF actors call: (prefix, ISO 3166 country; `XX` for the
/// international networks of +881/+882/+883/+870/+979, which have none). Legit traffic
/// never calls them.
pub const IRSF_PREFIXES: [(&str, &str); 39] = [
    ("+881", "XX"),
    ("+882", "XX"),
    ("+883", "XX"),
    ("+870", "XX"),
    ("+979", "XX"),
    ("+2392", "ST"),
    ("+2395", "ST"),
    ("+2409", "GQ"),
    ("+2413", "GA"),
    ("+2416", "GA"),
    ("+2421", "CG"),
    ("+2479", "SH"),
    ("+248", "SC"),
    ("+252", "SO"),
    ("+25299", "SO"),
    ("+255", "TZ"),
    ("+3719", "LV"),
    ("+672", "NF"),
    ("+674", "NR"),
    ("+675", "PG"),
    ("+677", "SB"),
    ("+678", "VU"),
    ("+679", "FJ"),
    ("+680", "PW"),
    ("+681", "WF"),
    ("+682", "CK"),
    ("+683", "NU"),
    ("+685", "WS"),
    ("+686", "KI"),
    ("+687", "NC"),
    ("+688", "TV"),
    ("+689", "PF"),
    ("+690", "TK"),
    ("+691", "FM"),
    ("+692", "MH"),
    ("+500", "FK"),
    ("+5321", "CU"),
    ("+53", "CU"),
    ("+1876", "JM"),
];

/// Numbers rented under each prefix. Actors calling the same range often dial the same
/// numbers, as one IRSF campaign pumps traffic from many lines.
const NUMBERS_PER_PREFIX: u64 = 8;

/// Number `k` of the pool under hotlist entry `entry`: 11 digits after the `+` in all.
fn premium_number(w: &World, entry: usize, k: u64) -> Number {
    let (prefix, country) = IRSF_PREFIXES[entry % IRSF_PREFIXES.len()];
    let prefix = prefix.trim_start_matches('+');
    let digits = (11 - prefix.len()).max(6) as u8;
    let first = 10u64.pow(u32::from(digits) - 1);
    let h = mix(w.salt ^ ((entry as u64) << 8) ^ k);
    Number::Intl { prefix, national: first + h % (9 * first), digits, country }
}

pub(crate) fn plan(w: &mut World, t0: i64) -> Plan {
    let mut plan = Plan::default();
    let line = w.ids.new_line();
    plan.lines.push(line);
    let mut t = t0;
    if w.chance(0.7) {
        let identity = w.ids.new_identity();
        let plan_name = w.pick(&CHEAP_PLANS);
        let body = Body::Subscription {
            identity,
            channel: Channel::Online,
            point: None,
            handset: None,
            plan: plan_name,
        };
        plan.push(t0, line, body);
        t += w.secs(30 * 60, 12 * HOUR);
    }
    let mut targets = Vec::new();
    for _ in 0..w.int(1, 3) {
        let entry = w.below(IRSF_PREFIXES.len() as u64) as usize;
        for _ in 0..w.int(2, 6) {
            let k = w.below(NUMBERS_PER_PREFIX);
            targets.push(premium_number(w, entry, k));
        }
    }
    let cell = Some(w.below(50_000) as u16);
    for _ in 0..w.int(1, 3) {
        let mut at = if w.chance(0.7) { next_night(w, t) } else { t };
        for _ in 0..w.int(4, 15) {
            let other = w.pick(&targets);
            let duration_s = w.secs(300, 3_600);
            plan.push(
                at,
                line,
                Body::Call { other, direction: Direction::Out, duration_s, forwarded: None, cell },
            );
            at += w.secs(3 * 60, 20 * 60);
        }
        t = at + w.secs(12 * HOUR, 30 * HOUR);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::ids::Ids;
    use crate::truth::Family;

    #[test]
    fn every_range_the_simulator_dials_is_on_the_shipped_hotlist() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/lists/irsf_prefixes.txt");
        let text = std::fs::read_to_string(path).expect("the rule library's IRSF hotlist");
        let hotlist: Vec<&str> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .collect();
        for (prefix, _) in IRSF_PREFIXES {
            assert!(
                hotlist.iter().any(|entry| prefix.starts_with(entry)),
                "{prefix} is dialled by simulated IRSF actors but missing from rules/lists/irsf_prefixes.txt"
            );
        }
    }

    #[test]
    fn irsf_lines_make_long_calls_to_hotlist_ranges_only() {
        let ids = Ids::new(11, 1_000);
        for p in actors(Family::Irsf, 40) {
            let calls: Vec<_> = p
                .drafts()
                .iter()
                .filter_map(|d| match d.body {
                    Body::Call { other, duration_s, .. } => Some((other, duration_s)),
                    _ => None,
                })
                .collect();
            assert!(calls.len() >= 4);
            for (other, duration_s) in calls {
                assert!((300..=3_600).contains(&duration_s));
                assert_ne!(other.country(), "KR");
                let rendered = crate::draft::Draft::new(
                    0,
                    0,
                    Body::Call { other, direction: Direction::Out, duration_s, forwarded: None, cell: None },
                )
                .render("x".into(), &ids);
                let callee = rendered["callee"].as_str().expect("callee").to_string();
                assert!(IRSF_PREFIXES.iter().any(|(p, _)| callee.starts_with(p)), "{callee}");
                assert_eq!(callee.len(), 12);
            }
        }
    }
}
