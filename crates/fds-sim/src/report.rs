//! The detection report: how many fraud actors of each family were blocked, how early,
//! and how many legit subscribers were blocked or sent to review on the way.

use crate::truth::{Family, Truth};
use fds_core::Action;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Counts decisions against the ground truth, one scored event at a time.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    events: u64,
    /// Per actor id.
    actors: HashMap<String, ActorTally>,
    /// Per legit subscriber (victims included).
    legit: HashMap<String, SubscriberTally>,
}

#[derive(Clone, Debug)]
struct ActorTally {
    family: Family,
    events: u64,
    /// How many of the actor's events had been scored when the first block came.
    first_block: Option<u64>,
    reviewed: bool,
}

#[derive(Clone, Debug, Default)]
struct SubscriberTally {
    blocked: bool,
    reviewed: bool,
    victim: bool,
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Records the decision on one scored event of `subscriber`. Call once per event,
    /// in stream order. A fraud actor counts once whichever of its lines the event is on.
    pub fn record(&mut self, subscriber: &str, action: Action, truth: &Truth) {
        self.events += 1;
        match (truth.family(subscriber), truth.actor_of(subscriber)) {
            (Some(family), Some(actor)) => {
                if !self.actors.contains_key(actor) {
                    let fresh = ActorTally { family, events: 0, first_block: None, reviewed: false };
                    self.actors.insert(actor.to_string(), fresh);
                }
                if let Some(a) = self.actors.get_mut(actor) {
                    a.events += 1;
                    match action {
                        Action::Block if a.first_block.is_none() => a.first_block = Some(a.events),
                        Action::Review => a.reviewed = true,
                        _ => {}
                    }
                }
            }
            _ => {
                if !self.legit.contains_key(subscriber) {
                    self.legit.insert(subscriber.to_string(), SubscriberTally::default());
                }
                if let Some(s) = self.legit.get_mut(subscriber) {
                    s.blocked |= action == Action::Block;
                    s.reviewed |= action == Action::Review;
                    // Victims are chosen as the timeline runs: one may act for a while first.
                    s.victim |= truth.is_victim(subscriber);
                }
            }
        }
    }

    /// The report so far.
    pub fn report(&self) -> DetectionReport {
        let mut families = Vec::with_capacity(Family::ALL.len());
        for family in Family::ALL {
            families.push(recall(family.as_str(), self.actors.values().filter(|a| a.family == family)));
        }
        let overall = recall("all families", self.actors.values());
        let mut legit = LegitImpact { subscribers: 0, blocked: 0, reviewed: 0 };
        let mut victims = VictimImpact { victims: 0, blocked: 0, reviewed: 0 };
        for s in self.legit.values() {
            legit.subscribers += 1;
            legit.blocked += usize::from(s.blocked);
            legit.reviewed += usize::from(s.reviewed);
            if s.victim {
                victims.victims += 1;
                victims.blocked += usize::from(s.blocked);
                victims.reviewed += usize::from(s.reviewed);
            }
        }
        DetectionReport { families, overall, legit, victims, events: self.events }
    }
}

fn recall<'a>(name: &str, actors: impl Iterator<Item = &'a ActorTally>) -> FamilyRecall {
    let mut seen = 0;
    let mut reviewed_only = 0;
    let mut to_block = Vec::new();
    for a in actors {
        seen += 1;
        match a.first_block {
            Some(n) => to_block.push(n),
            None if a.reviewed => reviewed_only += 1,
            None => {}
        }
    }
    FamilyRecall {
        family: name.to_string(),
        actors: seen,
        blocked: to_block.len(),
        reviewed_only,
        median_events_to_block: median(&mut to_block),
    }
}

fn median(values: &mut [u64]) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] + values[n / 2]) as f64 / 2.0),
    }
}

/// Detection against the ground truth.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectionReport {
    /// One row per family, in [`Family::ALL`] order, also for families with no actor seen.
    pub families: Vec<FamilyRecall>,
    /// All families together.
    pub overall: FamilyRecall,
    pub legit: LegitImpact,
    pub victims: VictimImpact,
    /// Events scored.
    pub events: u64,
}

/// How one family's actors fared. An actor counts as blocked when any decision on any
/// of its lines was a block.
#[derive(Clone, Debug, PartialEq)]
pub struct FamilyRecall {
    pub family: String,
    /// Actors with at least one scored event.
    pub actors: usize,
    pub blocked: usize,
    /// Actors never blocked but reviewed at least once.
    pub reviewed_only: usize,
    /// Over blocked actors: how many of the actor's events had been scored when its
    /// first block came (1 = on its first event).
    pub median_events_to_block: Option<f64>,
}

impl FamilyRecall {
    /// Blocked actors / actors seen; `None` when none was seen.
    pub fn recall(&self) -> Option<f64> {
        (self.actors > 0).then(|| self.blocked as f64 / self.actors as f64)
    }
}

impl Serialize for FamilyRecall {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("FamilyRecall", 6)?;
        st.serialize_field("family", &self.family)?;
        st.serialize_field("actors", &self.actors)?;
        st.serialize_field("blocked", &self.blocked)?;
        st.serialize_field("recall", &self.recall())?;
        st.serialize_field("reviewed_only", &self.reviewed_only)?;
        st.serialize_field("median_events_to_block", &self.median_events_to_block)?;
        st.end()
    }
}

/// What the decisions cost legit subscribers (victims included).
#[derive(Clone, Debug, PartialEq)]
pub struct LegitImpact {
    /// Legit subscribers with at least one scored event.
    pub subscribers: usize,
    /// Those blocked at least once.
    pub blocked: usize,
    /// Those sent to review at least once (blocked or not).
    pub reviewed: usize,
}

impl LegitImpact {
    /// Blocked subscribers / subscribers seen (0 when none was seen).
    pub fn blocked_share(&self) -> f64 {
        share(self.blocked, self.subscribers)
    }

    /// Reviewed subscribers / subscribers seen (0 when none was seen).
    pub fn reviewed_share(&self) -> f64 {
        share(self.reviewed, self.subscribers)
    }
}

impl Serialize for LegitImpact {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("LegitImpact", 5)?;
        st.serialize_field("subscribers", &self.subscribers)?;
        st.serialize_field("blocked", &self.blocked)?;
        st.serialize_field("reviewed", &self.reviewed)?;
        st.serialize_field("blocked_share", &self.blocked_share())?;
        st.serialize_field("reviewed_share", &self.reviewed_share())?;
        st.end()
    }
}

/// Voice-phishing victims seen: their unusual transfers should be reviewed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VictimImpact {
    pub victims: usize,
    /// Victims reviewed at least once.
    pub reviewed: usize,
    /// Victims blocked at least once.
    pub blocked: usize,
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{:.1}%", x * 100.0))
}

impl fmt::Display for DetectionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<22} {:>7} {:>8} {:>7} {:>23} {:>14}",
            "family", "actors", "blocked", "recall", "median events to block", "reviewed only"
        )?;
        for row in self.families.iter().chain(std::iter::once(&self.overall)) {
            let median = row.median_events_to_block.map_or_else(|| "-".to_string(), |m| format!("{m:.1}"));
            writeln!(
                f,
                "{:<22} {:>7} {:>8} {:>7} {:>23} {:>14}",
                row.family,
                row.actors,
                row.blocked,
                percent(row.recall()),
                median,
                row.reviewed_only
            )?;
        }
        writeln!(
            f,
            "legit subscribers      {}: blocked {} ({:.2}%), reviewed {} ({:.2}%)",
            thousands(self.legit.subscribers as u64),
            thousands(self.legit.blocked as u64),
            self.legit.blocked_share() * 100.0,
            thousands(self.legit.reviewed as u64),
            self.legit.reviewed_share() * 100.0
        )?;
        writeln!(
            f,
            "phishing victims       {}: reviewed {}, blocked {}",
            self.victims.victims, self.victims.reviewed, self.victims.blocked
        )?;
        write!(f, "events scored          {}", thousands(self.events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::{TruthLine, Victim};

    fn truth() -> Truth {
        let mut t = Truth::new();
        let lines = [
            ("01000000001", Family::IdentityTheft, "it-1"),
            ("01000000002", Family::IdentityTheft, "it-1"),
            ("01000000003", Family::IdentityTheft, "it-2"),
            ("01000000004", Family::IdentityTheft, "it-3"),
            ("01000000005", Family::Irsf, "irsf-1"),
            ("01000000006", Family::Irsf, "irsf-2"),
        ];
        for (subscriber, family, actor) in lines {
            t.insert_line(TruthLine { subscriber: subscriber.into(), family, actor: actor.into() });
        }
        t.insert_victim(Victim { subscriber: "01099990001".into(), victim_of: "vp-1".into() });
        t
    }

    #[test]
    fn tally_counts_actors_across_their_lines_and_legit_subscribers_once() {
        use Action::{Allow, Block, Review};
        let t = truth();
        let mut tally = Tally::new();
        let sequence = [
            // it-1: blocked on its third event, which is on its second line.
            ("01000000001", Allow),
            ("01000000001", Review),
            ("01000000002", Block),
            ("01000000002", Block),
            // it-2: blocked on its first event.
            ("01000000003", Block),
            // it-3: reviewed, never blocked.
            ("01000000004", Allow),
            ("01000000004", Review),
            // irsf-1: blocked on its fourth event.
            ("01000000005", Allow),
            ("01000000005", Allow),
            ("01000000005", Allow),
            ("01000000005", Block),
            // irsf-2: never flagged.
            ("01000000006", Allow),
            // Legit: one blocked and reviewed, one reviewed, two untouched (one a victim).
            ("01055550001", Review),
            ("01055550001", Block),
            ("01055550002", Review),
            ("01055550003", Allow),
            ("01099990001", Review),
            ("01055550003", Allow),
        ];
        for (subscriber, action) in sequence {
            tally.record(subscriber, action, &t);
        }
        let r = tally.report();
        assert_eq!(r.events, sequence.len() as u64);
        let it = &r.families[0];
        assert_eq!(
            (it.family.as_str(), it.actors, it.blocked, it.reviewed_only),
            ("identity_theft", 3, 2, 1)
        );
        // Blocked after 3 and after 1 event: the median of two is their mean.
        assert_eq!(it.median_events_to_block, Some(2.0));
        assert_eq!(it.recall(), Some(2.0 / 3.0));
        let irsf = &r.families[5];
        assert_eq!((irsf.actors, irsf.blocked, irsf.reviewed_only), (2, 1, 0));
        assert_eq!(irsf.median_events_to_block, Some(4.0));
        let handset = &r.families[1];
        assert_eq!((handset.actors, handset.recall(), handset.median_events_to_block), (0, None, None));
        assert_eq!((r.overall.actors, r.overall.blocked), (5, 3));
        assert_eq!(r.overall.median_events_to_block, Some(3.0));
        assert_eq!(r.legit, LegitImpact { subscribers: 4, blocked: 1, reviewed: 3 });
        assert_eq!(r.legit.blocked_share(), 0.25);
        assert_eq!(r.victims, VictimImpact { victims: 1, reviewed: 1, blocked: 0 });
    }

    #[test]
    fn a_subscriber_seen_before_becoming_a_victim_counts_as_a_victim() {
        let mut t = Truth::new();
        let mut tally = Tally::new();
        tally.record("01077770001", Action::Allow, &t);
        t.insert_victim(Victim { subscriber: "01077770001".into(), victim_of: "vp-1".into() });
        tally.record("01077770001", Action::Review, &t);
        let r = tally.report();
        assert_eq!(r.victims, VictimImpact { victims: 1, reviewed: 1, blocked: 0 });
        assert_eq!(r.legit.subscribers, 1);
    }

    #[test]
    fn the_report_reads_as_a_table_and_serialises_with_its_ratios() {
        let t = truth();
        let mut tally = Tally::new();
        tally.record("01000000005", Action::Block, &t);
        tally.record("01055550001", Action::Allow, &t);
        let r = tally.report();
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("family") && lines[0].contains("median events to block"));
        assert!(lines[6].starts_with("irsf") && lines[6].contains("100.0%") && lines[6].contains("1.0"));
        assert!(lines[1].starts_with("identity_theft") && lines[1].contains(" - "));
        assert!(text.contains("legit subscribers      1: blocked 0 (0.00%), reviewed 0 (0.00%)"));
        assert!(text.ends_with("events scored          2"));
        let json = serde_json::to_value(&r).expect("serialisable");
        assert_eq!(json["families"][5]["recall"], 1.0);
        assert_eq!(json["families"][0]["recall"], serde_json::Value::Null);
        assert_eq!(json["legit"]["blocked_share"], 0.0);
        assert_eq!(json["events"], 2);
    }

    #[test]
    fn large_numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
