//! The active blocks, held in memory so the payment systems' block check never waits
//! on the store. Loaded from the store at start, updated by every block decision.
//! Beside them, the allow entries (a subscriber allowed for a while by the release
//! of an earlier block): the scoring path asks [`AllowIndex::active`] before it lets
//! a decision block.

use fds_core::{Block, BlockScope, Timestamp};
use parking_lot::RwLock;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct BlockIndex {
    by_subscriber: RwLock<HashMap<String, Vec<Block>>>,
}

impl BlockIndex {
    /// Adds `block` unless its id is known; returns whether it was new.
    pub(crate) fn insert(&self, block: Block) -> bool {
        let mut map = self.by_subscriber.write();
        let list = map.entry(block.subscriber.expose().to_string()).or_default();
        if list.iter().any(|b| b.block_id == block.block_id) {
            return false;
        }
        list.push(block);
        true
    }

    /// (subscriber, block id) of every block known here that is in force at `at`.
    pub(crate) fn active_ids(&self, at: Timestamp) -> Vec<(String, String)> {
        let map = self.by_subscriber.read();
        map.iter()
            .flat_map(|(subscriber, list)| {
                list.iter().filter(|b| b.is_active(at)).map(move |b| (subscriber.clone(), b.block_id.clone()))
            })
            .collect()
    }

    /// Forgets block `block_id` of `subscriber` (released).
    pub(crate) fn remove(&self, subscriber: &str, block_id: &str) {
        let mut map = self.by_subscriber.write();
        if let Some(list) = map.get_mut(subscriber) {
            list.retain(|b| b.block_id != block_id);
            if list.is_empty() {
                map.remove(subscriber);
            }
        }
    }

    /// The block that governs `subscriber` at `at`: the widest scope, then the one
    /// that lasts longest. Expired blocks are pruned on the way.
    pub(crate) fn active(&self, subscriber: &str, at: Timestamp) -> Option<Block> {
        let found = {
            let map = self.by_subscriber.read();
            let list = map.get(subscriber)?;
            list.iter()
                .filter(|b| b.is_active(at))
                .max_by(|a, b| a.scope.cmp(&b.scope).then(a.until.cmp(&b.until)))
                .cloned()
        };
        if found.is_none() {
            self.prune(subscriber, at);
        }
        found
    }

    fn prune(&self, subscriber: &str, at: Timestamp) {
        let mut map = self.by_subscriber.write();
        if let Some(list) = map.get_mut(subscriber) {
            list.retain(|b| b.until > at);
            if list.is_empty() {
                map.remove(subscriber);
            }
        }
    }

    pub(crate) fn count_active(&self, at: Timestamp) -> (usize, usize) {
        let map = self.by_subscriber.read();
        let mut payments = 0;
        let mut all = 0;
        for list in map.values() {
            if let Some(b) = list.iter().filter(|b| b.is_active(at)).max_by_key(|b| b.scope) {
                match b.scope {
                    BlockScope::Payments => payments += 1,
                    BlockScope::All => all += 1,
                }
            }
        }
        (payments, all)
    }
}

/// One allow entry: (allow id, since, until).
type Allowed = (i64, Timestamp, Timestamp);

/// The allow entries in force or to come, by subscriber.
#[derive(Default)]
pub(crate) struct AllowIndex {
    by_subscriber: RwLock<HashMap<String, Vec<Allowed>>>,
}

impl AllowIndex {
    pub(crate) fn insert(&self, subscriber: &str, allow_id: i64, since: Timestamp, until: Timestamp) {
        let mut map = self.by_subscriber.write();
        let list = map.entry(subscriber.to_string()).or_default();
        if !list.iter().any(|(id, _, _)| *id == allow_id) {
            list.push((allow_id, since, until));
        }
    }

    /// The allow entry covering `subscriber` at `at` that lasts longest: (id, until).
    pub(crate) fn active(&self, subscriber: &str, at: Timestamp) -> Option<(i64, Timestamp)> {
        let map = self.by_subscriber.read();
        map.get(subscriber)?
            .iter()
            .filter(|(_, since, until)| *since <= at && at < *until)
            .max_by_key(|(_, _, until)| *until)
            .map(|(id, _, until)| (*id, *until))
    }

    /// Holds exactly `entries` (subscriber, id, since, until) from now on: what the
    /// store holds, read again by every process's rule poll.
    pub(crate) fn replace(&self, entries: impl IntoIterator<Item = (String, Allowed)>) {
        let mut fresh: HashMap<String, Vec<Allowed>> = HashMap::new();
        for (subscriber, entry) in entries {
            fresh.entry(subscriber).or_default().push(entry);
        }
        *self.by_subscriber.write() = fresh;
    }

    /// Forgets the entries that ended before `at`.
    pub(crate) fn prune(&self, at: Timestamp) {
        let mut map = self.by_subscriber.write();
        map.retain(|_, list| {
            list.retain(|(_, _, until)| *until > at);
            !list.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_allow_entry_covers_its_subscriber_only_between_its_start_and_end() {
        let t = |h: u32| chrono::Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).single().expect("valid");
        let allows = AllowIndex::default();
        allows.insert("01012345678", 1, t(1), t(5));
        allows.insert("01012345678", 2, t(2), t(9));
        assert_eq!(allows.active("01012345678", t(0)), None);
        assert_eq!(allows.active("01012345678", t(1)), Some((1, t(5))));
        assert_eq!(allows.active("01012345678", t(3)), Some((2, t(9))), "the longest wins");
        assert_eq!(allows.active("01099999999", t(3)), None);
        allows.prune(t(6));
        assert_eq!(allows.active("01012345678", t(3)), Some((2, t(9))));
        allows.replace([("01099999999".to_string(), (3, t(0), t(9)))]);
        assert_eq!(allows.active("01012345678", t(3)), None, "replaced by what the store holds");
        assert_eq!(allows.active("01099999999", t(3)), Some((3, t(9))));
        allows.replace([("01012345678".to_string(), (2, t(2), t(9)))]);
        assert_eq!(allows.active("01012345678", t(3)), Some((2, t(9))));
        assert_eq!(allows.active("01012345678", t(9)), None, "the end is exclusive");
    }
}
