//! Recently decided events, by event id: answers redeliveries without touching the
//! store and guarantees an event is applied to the features once.

use fds_core::Decision;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Shards keep lock contention low when many requests run at once.
const SHARDS: usize = 64;

pub(crate) struct Shard {
    map: HashMap<String, Arc<Decision>>,
    order: VecDeque<String>,
    capacity: usize,
}

impl Shard {
    pub(crate) fn get(&self, event_id: &str) -> Option<Arc<Decision>> {
        self.map.get(event_id).cloned()
    }

    pub(crate) fn insert(&mut self, decision: Arc<Decision>) {
        let id = decision.event_id.clone();
        if self.map.insert(id.clone(), decision).is_none() {
            self.order.push_back(id);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
}

/// A bounded, sharded map from event id to decision (oldest entries leave first).
pub(crate) struct Recent {
    shards: Vec<Mutex<Shard>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Recent {
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard { map: HashMap::new(), order: VecDeque::new(), capacity: per_shard })
                })
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The shard that owns `event_id`. Holding its lock serialises work on that id.
    pub(crate) fn shard(&self, event_id: &str) -> &Mutex<Shard> {
        &self.shards[(self.hasher.hash_one(event_id) as usize) % SHARDS]
    }

    pub(crate) fn get(&self, event_id: &str) -> Option<Arc<Decision>> {
        self.shard(event_id).lock().get(event_id)
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }
}
