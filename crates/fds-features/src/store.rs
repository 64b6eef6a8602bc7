//! The [`FeatureStore`] trait and the in-memory store.
//!
//! Layout: 64 shards, each a `parking_lot::Mutex` around a hash map from a 64-bit hash
//! of (entity kind, key) to that entity's [`Entity`] state: every window it has, packed
//! into one buffer. One event therefore costs one map lookup per entity kind it
//! carries, whatever the number of features, and a lock is held only while that
//! entity's state is updated and read (never two at once).
//!
//! Keys are hashed with `ahash` under fixed seeds, so placement and distinct-value
//! hashes are the same on every run of one build. Two different keys of one kind share
//! state only if their 64-bit hashes collide (about 3 in 10,000 for 100 million keys);
//! two distinct values of one window count once only if their 32-bit hashes collide
//! (below one in a million for a full window of 64).

use crate::spec::{FeatureSet, Group, Source};
use crate::window::{alloc_size, At, Contribution, Entity};
use fds_core::{EntityKind, Event, FeatureValue, Field, Timestamp};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::size_of;
use std::sync::Arc;

/// Velocity state behind the scorer. Values are event-time based: they depend only on
/// the events applied and their `occurred_at`, never on the wall clock.
pub trait FeatureStore: Send + Sync {
    /// Applies `event` to every feature it updates, then returns every feature's value
    /// as of the event's time (after applying), in [`FeatureSet::names`] order.
    fn observe(&self, event: &Event) -> Vec<FeatureValue>;
    /// The same values without applying the event (no state change).
    fn peek(&self, event: &Event) -> Vec<FeatureValue>;
    /// Drops state that no window can see any more as of `now`; returns how many entity
    /// states were dropped.
    fn evict_idle(&self, now: Timestamp) -> usize;
    /// How many (entity, feature) windows are tracked now, and an estimate of their
    /// heap bytes.
    fn stats(&self) -> StoreStats;
    /// [`FeatureStore::observe`], reporting a store that cannot be reached (a remote
    /// one) as an error instead of panicking; nothing was applied then. The in-memory
    /// store never fails.
    fn try_observe(&self, event: &Event) -> Result<Vec<FeatureValue>, Unavailable> {
        Ok(self.observe(event))
    }
    /// Whether calls wait on the network: an async caller must not make them on a
    /// reactor thread as they are (the pipeline uses `block_in_place`).
    fn is_remote(&self) -> bool {
        false
    }
}

/// A remote feature store could not apply or read an event (unreachable, timed out,
/// or returned state this build cannot read). Says why, never the event's keys.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("velocity feature store unavailable: {0}")]
pub struct Unavailable(pub String);

/// A snapshot of a store's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Entities (kind, key) with state.
    pub entities: usize,
    /// (entity, feature) windows holding state.
    pub windows: usize,
    /// Estimated heap bytes: hash tables, per-entity window slices and bucket slices,
    /// each allocation rounded as glibc's malloc does.
    pub heap_bytes: usize,
}

impl StoreStats {
    /// Average heap bytes per tracked window (0 when there are none).
    pub fn bytes_per_window(&self) -> f64 {
        if self.windows == 0 {
            0.0
        } else {
            self.heap_bytes as f64 / self.windows as f64
        }
    }
}

/// Enough shards that several scoring threads rarely wait on one another; a power of
/// two so a shard is picked by masking hash bits.
const SHARDS: usize = 64;

/// Fixed seeds: hashes are stable for the life of a build, so replays agree. (Not the
/// digits of pi: ahash mixes its seeds with those, and equal ones cancel out to a hasher
/// that returns 0 for everything.)
const KEY_SEEDS: [u64; 4] =
    [0x6664_735f_6b65_7931, 0x9b05_688c_2b3e_6c1f, 0x1f83_d9ab_fb41_bd6b, 0x5be0_cd19_137e_2179];
const VALUE_SEEDS: [u64; 4] =
    [0x6664_735f_7661_6c31, 0xcbbb_9d5d_c105_9ed8, 0x629a_292a_367c_d507, 0x9159_015a_3070_dd17];

/// Map keys are already `ahash` outputs; hashing them again would only cost time.
#[derive(Clone, Copy, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type Entities = HashMap<u64, Entity, BuildHasherDefault<PassThrough>>;

/// The in-memory [`FeatureStore`]: for a single replica, the demo and backtests.
/// Shared between threads by reference (`&self` everywhere; wrap it in an `Arc`).
pub struct InMemoryFeatures {
    set: Arc<FeatureSet>,
    shards: Box<[Mutex<Entities>]>,
    hashes: Hashes,
}

/// The fixed-seed hashers of entity keys and distinct values, shared by every store
/// so a remote one keeps exactly the state the in-memory one would.
pub(crate) struct Hashes {
    keys: ahash::RandomState,
    values: ahash::RandomState,
}

impl Hashes {
    pub(crate) fn new() -> Hashes {
        let [k0, k1, k2, k3] = KEY_SEEDS;
        let [v0, v1, v2, v3] = VALUE_SEEDS;
        Hashes {
            keys: ahash::RandomState::with_seeds(k0, k1, k2, k3),
            values: ahash::RandomState::with_seeds(v0, v1, v2, v3),
        }
    }

    pub(crate) fn key(&self, kind: EntityKind, key: &str) -> u64 {
        self.keys.hash_one((kind as u8, key))
    }

    pub(crate) fn value(&self, value: Field<'_>) -> u32 {
        // The low 32 bits of a 64-bit ahash are as well mixed as any.
        (match value {
            Field::Str(s) => self.values.hash_one(s),
            Field::Int(i) => self.values.hash_one(i),
            Field::Bool(b) => self.values.hash_one(b),
        }) as u32
    }

    /// What `event` adds to each feature of `group` it updates, in feature order.
    pub(crate) fn contributions(
        &self,
        event: &Event,
        group: &Group,
        truth: &[bool],
        out: &mut Vec<(u16, Contribution)>,
    ) {
        out.clear();
        for u in &group.updates {
            if !u.conditions.iter().all(|&c| truth[c]) {
                continue;
            }
            let c = match u.source {
                Source::One => Some(Contribution::Count),
                Source::Time => Some(Contribution::Time),
                Source::IntField(field) => match field.get(event) {
                    Some(Field::Int(v)) => Some(Contribution::Sum(v)),
                    _ => None,
                },
                Source::Field(field) => field.get(event).map(|v| Contribution::Distinct(self.value(v))),
                Source::Entity(kind) => {
                    event.entity(kind).map(|k| Contribution::Distinct(self.value(Field::Str(k))))
                }
            };
            if let Some(c) = c {
                out.push((u.feature, c));
            }
        }
    }
}

impl std::fmt::Debug for InMemoryFeatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the state: its keys are hashes of PII.
        f.debug_struct("InMemoryFeatures").field("features", &self.set.len()).finish_non_exhaustive()
    }
}

impl InMemoryFeatures {
    pub fn new(set: Arc<FeatureSet>) -> InMemoryFeatures {
        InMemoryFeatures {
            set,
            shards: (0..SHARDS).map(|_| Mutex::new(Entities::default())).collect(),
            hashes: Hashes::new(),
        }
    }

    pub fn set(&self) -> &Arc<FeatureSet> {
        &self.set
    }

    fn key_hash(&self, kind: EntityKind, key: &str) -> u64 {
        self.hashes.key(kind, key)
    }

    fn shard(&self, hash: u64) -> &Mutex<Entities> {
        // Bits 32.. : hashbrown uses the low bits for the slot and the top 7 for its tag.
        &self.shards[(hash >> 32) as usize & (SHARDS - 1)]
    }

    #[cfg(test)]
    fn value_hash(&self, value: Field<'_>) -> u32 {
        self.hashes.value(value)
    }

    fn run(&self, event: &Event, apply: bool) -> Vec<FeatureValue> {
        let set = &*self.set;
        let mut values = set.defaults.clone();
        let at = At::of(event.occurred_at);
        let plan = &set.plans[event.event_type().index()];

        // Each condition this event type needs, evaluated once; on the stack for any
        // realistic spec.
        let mut on_stack = [false; CONDITIONS_ON_STACK];
        let mut on_heap = Vec::new();
        let truth: &mut [bool] = if set.conditions.len() <= CONDITIONS_ON_STACK {
            &mut on_stack[..set.conditions.len()]
        } else {
            on_heap.resize(set.conditions.len(), false);
            &mut on_heap
        };
        if apply {
            let offset = i64::from(set.utc_offset().local_minus_utc());
            for &c in &plan.conditions {
                truth[c] = set.conditions[c].holds(event, offset);
            }
        }

        let mut changes = Vec::with_capacity(if apply { plan.most_updates } else { 0 });
        for group in &plan.groups {
            let Some(key) = event.entity(group.kind) else { continue };
            if apply {
                self.hashes.contributions(event, group, truth, &mut changes);
            }
            let hash = self.key_hash(group.kind, key);
            let mut shard = self.shard(hash).lock();
            let entity =
                if changes.is_empty() { shard.get_mut(&hash) } else { Some(shard.entry(hash).or_default()) };
            let Some(entity) = entity else { continue };
            if !changes.is_empty() {
                entity.apply(&set.params, at, &changes);
            }
            entity.read(&set.params, at, &mut values);
        }
        values
    }
}

/// Condition results kept on the stack; a spec with more distinct filter clauses than
/// this still works, with one allocation per event.
const CONDITIONS_ON_STACK: usize = 256;

/// Heap bytes of a hash table with `capacity` usable slots (hashbrown: a power-of-two
/// bucket count at most 7/8 full, one control byte per bucket plus a 16-byte group).
fn table_bytes(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 { capacity + 1 } else { capacity * 8 / 7 }.next_power_of_two();
    let bytes = buckets * (size_of::<(u64, Entity)>() + 1) + 16;
    alloc_size::<u8>(bytes)
}

impl FeatureStore for InMemoryFeatures {
    fn observe(&self, event: &Event) -> Vec<FeatureValue> {
        self.run(event, true)
    }

    fn peek(&self, event: &Event) -> Vec<FeatureValue> {
        self.run(event, false)
    }

    fn evict_idle(&self, now: Timestamp) -> usize {
        let params = &self.set.params;
        let now = At::of(now);
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut entities = shard.lock();
            entities.retain(|_, entity| {
                entity.prune(params, now);
                let keep = !entity.is_empty();
                if !keep {
                    dropped += 1;
                }
                keep
            });
            // Give memory back once the table is mostly empty.
            if entities.len() * 4 < entities.capacity() {
                let len = entities.len();
                entities.shrink_to(len * 2);
            }
        }
        dropped
    }

    fn stats(&self) -> StoreStats {
        let params = &self.set.params;
        let mut stats = StoreStats::default();
        for shard in self.shards.iter() {
            let entities = shard.lock();
            stats.entities += entities.len();
            stats.heap_bytes += table_bytes(entities.capacity());
            for entity in entities.values() {
                stats.windows += entity.window_count(params);
                stats.heap_bytes += entity.heap_bytes();
            }
        }
        stats
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
