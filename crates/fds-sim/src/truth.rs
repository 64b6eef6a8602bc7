//! The ground truth: which subscriber lines belong to which fraud actor and family, and
//! which legit subscribers are voice-phishing victims.

use crate::SimError;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

/// The fraud families the simulator plays (see the `families` module for how each shows
/// up in events): the same vocabulary the rule library and decisions use.
pub use fds_core::Family;

/// One subscriber line of a fraud actor. An actor (one person or ring, e.g. one stolen
/// identity) may hold several lines; they share the `actor` id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthLine {
    pub subscriber: String,
    pub family: Family,
    pub actor: String,
}

/// A legit subscriber defrauded by a voice-phishing actor. Victims are not fraud actors:
/// their unusual transfer should be reviewed, and they count as legit subscribers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Victim {
    pub subscriber: String,
    pub victim_of: String,
}

/// The ground truth of a run. A [`crate::Simulator`] lists each actor (all its lines,
/// including lines it will only open later) and each victim as soon as the actor is
/// introduced, before its first event; so after reading any number of events, the truth
/// covers every fraud line and victim seen in them.
#[derive(Clone, Debug, Default)]
pub struct Truth {
    lines: Vec<TruthLine>,
    by_subscriber: HashMap<String, usize>,
    actors: HashSet<String>,
    victims: Vec<Victim>,
    victim_by_subscriber: HashMap<String, usize>,
}

impl Truth {
    pub fn new() -> Truth {
        Truth::default()
    }

    /// Adds a fraud line; returns `false` (and changes nothing) when the subscriber is
    /// already listed, as a fraud line or a victim.
    pub fn insert_line(&mut self, line: TruthLine) -> bool {
        if self.by_subscriber.contains_key(&line.subscriber)
            || self.victim_by_subscriber.contains_key(&line.subscriber)
        {
            return false;
        }
        self.by_subscriber.insert(line.subscriber.clone(), self.lines.len());
        if !self.actors.contains(&line.actor) {
            self.actors.insert(line.actor.clone());
        }
        self.lines.push(line);
        true
    }

    /// Adds a victim; returns `false` (and changes nothing) when the subscriber is
    /// already listed.
    pub fn insert_victim(&mut self, victim: Victim) -> bool {
        if self.by_subscriber.contains_key(&victim.subscriber)
            || self.victim_by_subscriber.contains_key(&victim.subscriber)
        {
            return false;
        }
        self.victim_by_subscriber.insert(victim.subscriber.clone(), self.victims.len());
        self.victims.push(victim);
        true
    }

    fn line(&self, subscriber: &str) -> Option<&TruthLine> {
        self.by_subscriber.get(subscriber).and_then(|&i| self.lines.get(i))
    }

    /// The family name (`"irsf"`, ...) of a fraud line; `None` for everyone else,
    /// victims included.
    pub fn family_of(&self, subscriber: &str) -> Option<&str> {
        self.line(subscriber).map(|l| l.family.as_str())
    }

    pub fn family(&self, subscriber: &str) -> Option<Family> {
        self.line(subscriber).map(|l| l.family)
    }

    /// The actor id of a fraud line.
    pub fn actor_of(&self, subscriber: &str) -> Option<&str> {
        self.line(subscriber).map(|l| l.actor.as_str())
    }

    pub fn is_victim(&self, subscriber: &str) -> bool {
        self.victim_by_subscriber.contains_key(subscriber)
    }

    /// The actor that defrauded a victim.
    pub fn victim_of(&self, subscriber: &str) -> Option<&str> {
        self.victim_by_subscriber
            .get(subscriber)
            .and_then(|&i| self.victims.get(i))
            .map(|v| v.victim_of.as_str())
    }

    /// Every fraud line, in the order actors were introduced.
    pub fn lines(&self) -> &[TruthLine] {
        &self.lines
    }

    /// Every victim, in the order they were chosen.
    pub fn victims(&self) -> &[Victim] {
        &self.victims
    }

    /// How many distinct actors are listed.
    pub fn actor_count(&self) -> usize {
        self.actors.len()
    }

    /// One JSON object per line: `{"subscriber":..,"family":..,"actor":..}` for each fraud
    /// line, then `{"subscriber":..,"victim_of":..}` for each victim.
    pub fn write_jsonl(&self, out: &mut impl Write) -> std::io::Result<()> {
        for line in &self.lines {
            serde_json::to_writer(&mut *out, line)?;
            out.write_all(b"\n")?;
        }
        for victim in &self.victims {
            serde_json::to_writer(&mut *out, victim)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Reads what [`Truth::write_jsonl`] wrote. Blank lines are skipped.
    pub fn read_jsonl(input: &mut impl BufRead) -> Result<Truth, SimError> {
        let mut truth = Truth::new();
        let mut text = String::new();
        let mut number = 0;
        loop {
            text.clear();
            if input.read_line(&mut text)? == 0 {
                return Ok(truth);
            }
            number += 1;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            let bad = |reason: String| SimError::Truth { line: number, reason };
            let value: serde_json::Value =
                serde_json::from_str(trimmed).map_err(|e| bad(format!("not valid JSON: {e}")))?;
            let inserted = if value.get("family").is_some() {
                let line: TruthLine = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
                truth.insert_line(line)
            } else if value.get("victim_of").is_some() {
                let victim: Victim = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
                truth.insert_victim(victim)
            } else {
                return Err(bad("expected a \"family\" or a \"victim_of\" field".into()));
            };
            if !inserted {
                return Err(bad("the subscriber is already listed".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Truth {
        let mut t = Truth::new();
        for (sub, family, actor) in [
            ("01011110001", Family::IdentityTheft, "identity_theft-1"),
            ("01011110002", Family::IdentityTheft, "identity_theft-1"),
            ("01022220001", Family::Irsf, "irsf-1"),
        ] {
            assert!(t.insert_line(TruthLine { subscriber: sub.into(), family, actor: actor.into() }));
        }
        assert!(t.insert_victim(Victim {
            subscriber: "01033330001".into(),
            victim_of: "voice_phishing-1".into()
        }));
        t
    }

    #[test]
    fn lines_map_to_family_and_actor() {
        let t = sample();
        assert_eq!(t.family_of("01011110002"), Some("identity_theft"));
        assert_eq!(t.actor_of("01011110002"), Some("identity_theft-1"));
        assert_eq!(t.family_of("01033330001"), None);
        assert!(t.is_victim("01033330001"));
        assert_eq!(t.victim_of("01033330001"), Some("voice_phishing-1"));
        assert_eq!(t.family_of("01099999999"), None);
        assert_eq!(t.actor_count(), 2);
    }

    #[test]
    fn a_subscriber_is_listed_once() {
        let mut t = sample();
        let again =
            TruthLine { subscriber: "01033330001".into(), family: Family::Irsf, actor: "irsf-9".into() };
        assert!(!t.insert_line(again));
        assert_eq!(t.family_of("01033330001"), None);
    }

    #[test]
    fn truth_round_trips_through_jsonl() {
        let t = sample();
        let mut buf = Vec::new();
        t.write_jsonl(&mut buf).expect("write to memory");
        let text = String::from_utf8(buf.clone()).expect("utf-8");
        assert_eq!(
            text.lines().next(),
            Some(r#"{"subscriber":"01011110001","family":"identity_theft","actor":"identity_theft-1"}"#)
        );
        let back = Truth::read_jsonl(&mut buf.as_slice()).expect("read back");
        assert_eq!(back.lines(), t.lines());
        assert_eq!(back.victims(), t.victims());
        assert_eq!(back.actor_count(), 2);
    }

    #[test]
    fn bad_truth_lines_are_reported_with_their_number() {
        let input = "{\"subscriber\":\"010\",\"family\":\"irsf\",\"actor\":\"a\"}\n\n{\"subscriber\":\"011\",\"family\":\"teleport\",\"actor\":\"b\"}\n";
        let err = Truth::read_jsonl(&mut input.as_bytes()).expect_err("unknown family");
        assert!(matches!(err, SimError::Truth { line: 3, .. }), "{err}");
        let err = Truth::read_jsonl(&mut "{\"subscriber\":\"010\"}".as_bytes()).expect_err("no family");
        assert_eq!(err.to_string(), "truth line 1: expected a \"family\" or a \"victim_of\" field");
    }
}
