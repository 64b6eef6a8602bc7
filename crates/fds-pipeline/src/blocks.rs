//! The active blocks, held in memory so the payment systems' block check never waits
//! on the store. Loaded from the store at start, updated by every block decision.

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
