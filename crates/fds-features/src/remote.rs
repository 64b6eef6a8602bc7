//! The pure half of a feature store that keeps entity state in another process
//! (Redis): what an event changes, encoded for the server-side script, and the values
//! read back from the entity states the script returns. No I/O here: the store that
//! talks to the server (`fds-redis`) sends [`RemoteEvent`]s and hands back the bytes.
//!
//! The server keeps each entity's state as the very words the in-memory store keeps
//! (`window.rs`, little-endian `u32`s) and applies an event with [`APPLY_SCRIPT`], a
//! line-for-line port of `Entity::apply`; values are then read here by the same
//! `Entity::read` the in-memory store uses. Distinct values are hashed with the
//! in-memory store's fixed-seed hasher, so for the same events (and entity keys that
//! are told apart) both stores hold the same words and return the same values.
//!
//! # The script's arguments
//!
//! `KEYS[1]` is the event id's "seen" key, `KEYS[2..]` the entity keys. `ARGV` is:
//! apply (`1` / `0`), the entity TTL and the seen-key TTL in milliseconds, the stride
//! string ([`RemotePlanner::strides`]: one digit per feature, its words per entry),
//! then for each entity the number of changes followed by five numbers per change:
//! feature, operation, and three operands:
//!
//! | op | agg | operands |
//! |---|---|---|
//! | 1 | count | bucket, -, - |
//! | 2 | sum | bucket, value high word, value low word |
//! | 3 | distinct | bucket, value hash, - |
//! | 4 | since_last | time high word, time low word, - |
//! | 5 | since_first | time high word, time low word, horizon (µs) |
//!
//! It returns `{duplicate, state...}`: `duplicate` is 1 when the seen key already
//! existed (nothing was applied), then each entity's state after applying (an empty
//! string for an entity without state).

use crate::spec::FeatureSet;
use crate::store::Hashes;
use crate::window::{At, Contribution, Entity};
use fds_core::{EntityKind, Event, FeatureValue};
use std::sync::Arc;

/// The server-side script that applies one event to its entities (Redis Lua).
pub const APPLY_SCRIPT: &str = include_str!("apply.lua");

/// Bumped whenever the state words, the hashing or the script change meaning: part of
/// every key, so a new format starts a fresh key space instead of misreading the old.
pub const STATE_FORMAT: u32 = 1;

/// Prepares events for a remote store of one feature set and reads its answers.
pub struct RemotePlanner {
    set: Arc<FeatureSet>,
    hashes: Hashes,
    strides: String,
}

impl std::fmt::Debug for RemotePlanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotePlanner").field("features", &self.set.len()).finish_non_exhaustive()
    }
}

/// One entity an event touches: whose state, and what to apply to it.
#[derive(Clone, Debug)]
pub struct RemoteEntity {
    /// The entity kind; its key is the event's (`Event::entity`), which the store
    /// names its state by as it sees fit (`fds-redis` keys it by a keyed hash).
    pub kind: EntityKind,
    /// Five numbers per change (see the module docs); empty when only read.
    pub changes: Vec<i64>,
}

/// An event's work for a remote store: the entities it touches, in a fixed order.
#[derive(Clone, Debug)]
pub struct RemoteEvent {
    at: At,
    pub entities: Vec<RemoteEntity>,
}

/// A state the server returned that is not one this feature set wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt velocity state: {0}")]
pub struct CorruptState(pub String);

impl RemotePlanner {
    pub fn new(set: Arc<FeatureSet>) -> RemotePlanner {
        let strides = set.params.iter().map(|p| char::from(b'0' + p.stride() as u8)).collect();
        RemotePlanner { set, hashes: Hashes::new(), strides }
    }

    pub fn set(&self) -> &Arc<FeatureSet> {
        &self.set
    }

    /// Words per entry of each feature, one digit per feature in feature order.
    pub fn strides(&self) -> &str {
        &self.strides
    }

    /// What `event` does: with `apply`, the changes to each entity it carries; without,
    /// only the entities to read.
    pub fn plan(&self, event: &Event, apply: bool) -> RemoteEvent {
        let set = &*self.set;
        let at = At::of(event.occurred_at);
        let plan = &set.plans[event.event_type().index()];
        let mut truth = vec![false; set.conditions.len()];
        if apply {
            let offset = i64::from(set.utc_offset().local_minus_utc());
            for &c in &plan.conditions {
                truth[c] = set.conditions[c].holds(event, offset);
            }
        }
        let mut contributions = Vec::with_capacity(plan.most_updates);
        let mut entities = Vec::with_capacity(plan.groups.len());
        for group in &plan.groups {
            if event.entity(group.kind).is_none() {
                continue;
            }
            contributions.clear();
            if apply {
                self.hashes.contributions(event, group, &truth, &mut contributions);
            }
            let mut changes = Vec::with_capacity(contributions.len() * 5);
            for &(f, c) in &contributions {
                let p = &set.params[usize::from(f)];
                let (op, a, b, x) = match c {
                    Contribution::Count => (1, at.bucket(p), 0, 0),
                    Contribution::Sum(v) => {
                        let [hi, lo] = crate::window::split(v);
                        (2, at.bucket(p), hi, i64::from(lo))
                    }
                    Contribution::Distinct(hash) => (3, at.bucket(p), hash, 0),
                    Contribution::Time => {
                        let [hi, lo] = crate::window::split(at.micros());
                        if p.agg == crate::Agg::SinceLast {
                            (4, hi, lo, 0)
                        } else {
                            (5, hi, lo, p.horizon_us)
                        }
                    }
                };
                changes.extend([i64::from(f), op, i64::from(a), i64::from(b), x]);
            }
            entities.push(RemoteEntity { kind: group.kind, changes });
        }
        RemoteEvent { at, entities }
    }

    /// Every feature's value as of the event's time, from the states the script
    /// returned for `event`'s entities (in order; empty for an entity without state).
    pub fn values<S: AsRef<[u8]>>(
        &self,
        event: &RemoteEvent,
        states: &[S],
    ) -> Result<Vec<FeatureValue>, CorruptState> {
        if states.len() != event.entities.len() {
            return Err(CorruptState(format!(
                "{} states for {} entities",
                states.len(),
                event.entities.len()
            )));
        }
        let mut values = self.set.defaults.clone();
        for state in states {
            let entity = self.decode(state.as_ref())?;
            entity.read(&self.set.params, event.at, &mut values);
        }
        Ok(values)
    }

    /// How many windows hold state in an entity's stored `state`.
    pub fn windows_in(&self, state: &[u8]) -> Result<usize, CorruptState> {
        Ok(self.decode(state)?.window_count(&self.set.params))
    }

    fn decode(&self, state: &[u8]) -> Result<Entity, CorruptState> {
        let chunks = state.chunks_exact(4);
        if !chunks.remainder().is_empty() {
            return Err(CorruptState(format!("{} bytes is not a whole number of words", state.len())));
        }
        let words: Vec<u32> = chunks.map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        Entity::from_words(words, &self.set.params).map_err(CorruptState)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
[[feature]]
name = "payments_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]

[[feature]]
name = "amount_1h"
entity = "subscriber"
agg = "sum"
field = "amount"
window = "1h"
types = ["payment"]

[[feature]]
name = "card_payments_1h"
entity = "card"
agg = "count"
window = "1h"
types = ["payment"]
"#;

    fn payment(id: &str, card: Option<&str>) -> Event {
        let mut v = serde_json::json!({
            "event_id": id, "occurred_at": "2026-11-21T00:00:00Z", "type": "payment",
            "subscriber": "01000000001", "amount": 5000, "method": "card",
            "merchant_id": "m-1", "merchant_category": "retail",
        });
        if let Some(c) = card {
            v["card_number"] = c.into();
        }
        Event::from_value(v, None).expect("a valid event")
    }

    #[test]
    fn plans_one_entry_per_entity_carried_and_five_numbers_per_change() {
        let planner = RemotePlanner::new(Arc::new(FeatureSet::from_toml_str(SPEC).expect("valid")));
        assert_eq!(planner.strides(), "232");
        let plan = planner.plan(&payment("e-1", Some("4111111111111111")), true);
        let kinds: Vec<EntityKind> = plan.entities.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntityKind::Subscriber, EntityKind::Card]);
        assert_eq!(plan.entities[0].changes.len(), 10);
        assert_eq!(&plan.entities[0].changes[5..7], &[1, 2], "feature 1 is a sum");
        assert_eq!(plan.entities[0].changes[9], 5000, "the low word of the amount");
        assert_eq!(planner.plan(&payment("e-1", None), true).entities.len(), 1);
        let read = planner.plan(&payment("e-1", Some("4111111111111111")), false);
        assert!(read.entities.iter().all(|e| e.changes.is_empty()));
    }

    #[test]
    fn states_that_are_not_words_of_this_set_are_refused() {
        let planner = RemotePlanner::new(Arc::new(FeatureSet::from_toml_str(SPEC).expect("valid")));
        let plan = planner.plan(&payment("e-1", None), false);
        assert!(planner.values(&plan, &[[0u8; 3]]).is_err(), "not whole words");
        // A header naming feature 7 of a set of three.
        let header = (7u32 << 16 | 1).to_le_bytes();
        assert!(planner.values(&plan, &[header]).is_err(), "unknown feature");
        assert!(planner.values(&plan, &[[] as [u8; 0]; 2]).is_err(), "one state per entity");
        let empty: [&[u8]; 1] = [&[]];
        assert_eq!(planner.values(&plan, &empty).expect("empty is no state"), planner.set().defaults);
    }
}
