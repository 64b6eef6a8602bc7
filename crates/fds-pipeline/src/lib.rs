//! The one scoring path shared by every entry point: the HTTP API, the Kafka worker and
//! the batch import all call [`Pipeline::submit_json`] or [`Pipeline::submit_event`].
//!
//! It owns the order of work for one event — validate, deduplicate by `event_id`,
//! update velocity features exactly once, score, remember the decision, index the
//! block, queue the record for the batched store writer — and the metrics that count
//! it. It must never parse HTTP or Kafka framing, render HTML, or hold SQL: those
//! belong to the edges (`fds-web`, `fds-stream`) and to `fds-store`.
//!
//! `models.rs` keeps the scorer's models in step with the store's model registry
//! (champions live, challengers in shadow, score and input tallies, daily drift).

pub mod backtest;
mod blocks;
pub mod clock;
pub mod metrics;
pub mod models;
mod recent;
pub mod rulebook;

pub use clock::{Clock, ManualClock, SystemClock};

use blocks::{AllowIndex, BlockIndex};
use fds_core::{Action, Block, Decision, Event, Invalid, Label};
use fds_features::FeatureStore;
use fds_scoring::Scorer;
use fds_store::audit::actions as audit_actions;
use fds_store::{AuditEntry, BatchWriter, Record, Store, StoreError, WriterConfig, WriterStats};
use metrics::{header, label_value, Counter, Histogram, LabelledCounter, LATENCY_BOUNDS};
use parking_lot::RwLock;
use recent::Recent;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// Tuning for the pipeline.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// How many recent decisions are kept in memory for redeliveries. Must exceed the
    /// writer's queue so a decision is always either here or in the store.
    pub recent_capacity: usize,
    pub writer: WriterConfig,
    /// Rebuild the velocity state at start by replaying the stored events of the
    /// longest feature window, so a restart does not forget recent behaviour. Never
    /// done into a remote (shared) feature store, whose state outlives the process.
    pub warm_up: bool,
    /// How often idle velocity state is evicted.
    pub evict_every: std::time::Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            recent_capacity: 200_000,
            writer: WriterConfig::default(),
            warm_up: true,
            evict_every: std::time::Duration::from_secs(60),
        }
    }
}

/// What [`Pipeline::refresh_blocks`] changed in this process's block index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockRefresh {
    /// Blocks in force in the store that were not known here.
    pub added: usize,
    /// Blocks known here that the store holds as released.
    pub released: usize,
}

/// Events read per page while warming up.
const WARM_UP_PAGE: u32 = 5_000;

/// What happened to a submitted event.
#[derive(Clone, Debug)]
pub enum Submitted {
    /// Scored now.
    New(Arc<Decision>),
    /// Seen before: the stored decision, unchanged; features were not touched again.
    Duplicate(Arc<Decision>),
}

impl Submitted {
    pub fn decision(&self) -> &Arc<Decision> {
        match self {
            Submitted::New(d) | Submitted::Duplicate(d) => d,
        }
    }

    pub fn is_duplicate(&self) -> bool {
        matches!(self, Submitted::Duplicate(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
}

/// Replays stored events from `from` on into `features`, in event-time order.
async fn warm_up(
    store: &dyn Store,
    features: &dyn FeatureStore,
    from: fds_core::Timestamp,
) -> Result<u64, StoreError> {
    let mut cursor = (from, String::new());
    let mut replayed = 0u64;
    loop {
        let page = store.events_after((cursor.0, &cursor.1), WARM_UP_PAGE).await?;
        let Some(last) = page.last() else { break };
        cursor = (last.occurred_at, last.event_id.clone());
        for event in &page {
            features.observe(event);
        }
        replayed += page.len() as u64;
    }
    Ok(replayed)
}

/// Evicts idle velocity state every `every`, as of the event-time watermark. Stops
/// when the pipeline (the only strong owner of both) is dropped.
fn spawn_eviction(features: Weak<dyn FeatureStore>, watermark: Weak<AtomicI64>, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let (Some(features), Some(watermark)) = (features.upgrade(), watermark.upgrade()) else { break };
            let micros = watermark.load(Ordering::Relaxed);
            if micros == i64::MIN {
                continue;
            }
            if let Some(at) = chrono::DateTime::from_timestamp_micros(micros) {
                let evicted = features.evict_idle(at);
                tracing::debug!(evicted, "idle velocity state evicted");
            }
        }
    });
}

/// Counters for what flowed through the pipeline.
#[derive(Debug)]
pub struct Metrics {
    decisions: [Counter; 3],
    pub invalid: Counter,
    pub duplicates: Counter,
    pub rule_hits: LabelledCounter,
    pub rule_errors: LabelledCounter,
    pub latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            decisions: Default::default(),
            invalid: Counter::default(),
            duplicates: Counter::default(),
            rule_hits: LabelledCounter::default(),
            rule_errors: LabelledCounter::default(),
            latency: Histogram::new(LATENCY_BOUNDS),
        }
    }
}

impl Metrics {
    pub fn decisions(&self, action: Action) -> u64 {
        self.decisions[action as usize].get()
    }
}

/// How far before its last poll a process reads released blocks again.
const RELEASE_OVERLAP: chrono::Duration = chrono::Duration::minutes(1);
/// Released blocks read per poll.
const RELEASES_PER_POLL: u32 = 10_000;

/// What asking to release a block did.
#[derive(Debug)]
pub enum ReleaseOutcome {
    /// Released (with the allow entry, if one was asked for).
    Released(fds_store::Release),
    /// A high-severity block: the release waits for a second person.
    Requested(fds_store::ReleaseRequest),
    /// No such block, or it is released already.
    NotFound,
}

pub struct Pipeline {
    scorer: RwLock<Arc<Scorer>>,
    features: Arc<dyn FeatureStore>,
    store: Arc<dyn Store>,
    writer: BatchWriter,
    recent: Recent,
    blocks: BlockIndex,
    /// Subscribers allowed for a while by a release: never blocked meanwhile.
    allows: AllowIndex,
    /// Where the poll of blocks released by other processes has read up to.
    releases_read: parking_lot::Mutex<fds_core::Timestamp>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    /// The latest event time seen (µs since the epoch): idle state is judged against
    /// event time, not the wall clock, so replaying past traffic keeps its state.
    watermark: Arc<AtomicI64>,
    /// Submissions running detached from their caller (see
    /// [`Pipeline::submit_json_detached`]); [`Pipeline::drain`] waits for them.
    detached: Arc<InFlight>,
    /// Drafts in shadow and suppressions, as of the store's rule epoch.
    rule_state: RwLock<Arc<rulebook::RuleState>>,
    /// What the drafts in shadow did, not yet written to the store.
    shadow_counts: parking_lot::Mutex<rulebook::ShadowCounts>,
    /// The registry's models: loaded version, shadow challengers, score tallies (`models.rs`).
    models: models::LiveModels,
}

/// A count of running submissions and a signal for when it falls to zero.
#[derive(Default)]
struct InFlight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One running submission; dropping it (however the task ends) counts it out.
struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn new(in_flight: &Arc<InFlight>) -> InFlightGuard {
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(in_flight.clone())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Pipeline {
    /// Starts the pipeline: spawns the store writer and loads the active blocks.
    pub async fn start(
        scorer: Scorer,
        features: Arc<dyn FeatureStore>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: PipelineConfig,
    ) -> Result<Pipeline, StoreError> {
        let blocks = BlockIndex::default();
        for block in store.active_blocks(clock.now()).await? {
            blocks.insert(block);
        }
        let allows = AllowIndex::default();
        for entry in store.allow_entries(clock.now()).await? {
            allows.insert(entry.subscriber.expose(), entry.allow_id, entry.since, entry.until);
        }
        if config.warm_up && features.is_remote() {
            // The shared state outlives this process; replaying stored events into it
            // would count them again.
            tracing::info!("velocity state is shared (remote store): no warm-up replay");
        } else if config.warm_up {
            let from = clock.now() - scorer.features().longest_window();
            let replayed = warm_up(store.as_ref(), features.as_ref(), from).await?;
            tracing::info!(replayed, "velocity state rebuilt from stored events");
        }
        let writer = BatchWriter::spawn(store.clone(), config.writer);
        let watermark = Arc::new(AtomicI64::new(i64::MIN));
        spawn_eviction(Arc::downgrade(&features), Arc::downgrade(&watermark), config.evict_every);
        Ok(Pipeline {
            scorer: RwLock::new(Arc::new(scorer)),
            features,
            store,
            writer,
            recent: Recent::new(config.recent_capacity),
            blocks,
            allows,
            releases_read: parking_lot::Mutex::new(clock.now()),
            clock,
            metrics: Metrics::default(),
            watermark,
            detached: Arc::default(),
            rule_state: RwLock::default(),
            shadow_counts: parking_lot::Mutex::default(),
            models: models::LiveModels::default(),
        })
    }

    /// Scores one event given as JSON bytes in a task of its own, which runs to
    /// the end even if the caller stops waiting (an HTTP deadline answering first):
    /// a submission is never cut off between applying the features and queueing
    /// the decision for the store. [`Pipeline::drain`] waits for these tasks.
    pub fn submit_json_detached(
        self: &Arc<Self>,
        bytes: impl AsRef<[u8]> + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<Submitted, SubmitError>> {
        // Counted before the task exists, so a drain that starts right after this
        // call already waits for it.
        let guard = InFlightGuard::new(&self.detached);
        let pipeline = self.clone();
        tokio::spawn(async move {
            let submitted = pipeline.submit_json(bytes.as_ref()).await;
            drop(guard);
            submitted
        })
    }

    /// Waits for every detached submission to finish, then for every decision made
    /// to be durably stored: the last step of a graceful shutdown, once no new
    /// events are accepted.
    pub async fn drain(&self) -> Result<(), StoreError> {
        loop {
            // Registered before the check, so a submission ending in between wakes it.
            let idle = self.detached.idle.notified();
            if self.detached.count.load(Ordering::SeqCst) == 0 {
                break;
            }
            idle.await;
        }
        self.flush_shadow_counts().await?;
        self.writer.flush().await
    }

    /// Picks up what changed in the store's rule lifecycle since the last call (the
    /// rule epoch moved): a newly published pack replaces the live one for the next
    /// events, drafts in shadow start or stop, suppressions apply. Returns whether
    /// anything was reloaded. The first call always loads.
    pub async fn reload_rules(&self) -> Result<bool, rulebook::RulebookError> {
        let epoch = self.store.rules_epoch().await?;
        if self.rule_state.read().epoch == Some(epoch) {
            return Ok(false);
        }
        let features = self.scorer().features().clone();
        let newest = self.store.rule_pack_versions(1).await?.into_iter().next();
        let version = match newest {
            // The live pack is already running: only shadows or suppressions moved.
            Some(v) if v.label() == self.scorer().rules().version() => v,
            _ => {
                let live = rulebook::live(self.store.as_ref(), &features).await?;
                let pack = Arc::new(live.pack);
                tracing::info!(rules_version = %pack.version(), rules = pack.rules().len(), "rule pack now live");
                self.update_scorer(|current| current.with_rules(pack));
                live.version
            }
        };
        let state = rulebook::load_state(
            self.store.as_ref(),
            epoch,
            &self.scorer(),
            version.version,
            self.clock.now(),
        )
        .await?;
        tracing::info!(
            epoch,
            shadows = state.shadows.len(),
            suppressions = state.suppressions.len(),
            "rule state loaded"
        );
        *self.rule_state.write() = Arc::new(state);
        Ok(true)
    }

    /// Reads the allow entries in force or to come from the store again, so an
    /// entry granted by another process (the console of another replica) applies
    /// here too: the rule poll calls it.
    pub async fn reload_allows(&self) -> Result<usize, StoreError> {
        let entries = self.store.allow_entries(self.clock.now()).await?;
        let count = entries.len();
        self.allows.replace(
            entries.into_iter().map(|e| (e.subscriber.expose().to_string(), (e.allow_id, e.since, e.until))),
        );
        Ok(count)
    }

    /// Forgets the blocks released (by any process) since the last call, re-reading
    /// [`RELEASE_OVERLAP`] before it so a release stamped by a clock slightly behind
    /// this one is not missed (forgetting a block twice is harmless). The number of
    /// releases read.
    pub async fn reload_releases(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let since = *self.releases_read.lock() - RELEASE_OVERLAP;
        let released = self.store.blocks_released_since(since, RELEASES_PER_POLL).await?;
        for record in &released {
            self.blocks.remove(record.block.subscriber.expose(), &record.block.block_id);
        }
        // A full page may leave more: read on from its last release next time.
        let read_to = match released.last() {
            Some(last) if released.len() as u32 == RELEASES_PER_POLL => {
                last.released_at.unwrap_or(now) + RELEASE_OVERLAP
            }
            _ => now,
        };
        *self.releases_read.lock() = read_to;
        Ok(released.len())
    }

    /// Polls the store's rule epoch every `every` ([`Pipeline::reload_rules`]), the
    /// allow entries ([`Pipeline::reload_allows`]) and the blocks released elsewhere
    /// ([`Pipeline::reload_releases`]), and writes the shadow counts; stops when the
    /// pipeline is dropped.
    pub fn spawn_rule_reload(self: &Arc<Self>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let pipeline = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(pipeline) = pipeline.upgrade() else { break };
                if let Err(error) = pipeline.reload_rules().await {
                    tracing::error!(%error, "reloading the rules failed; the live pack stays");
                }
                if let Err(error) = pipeline.reload_releases().await {
                    tracing::error!(%error, "reading the released blocks failed; retried at the next poll");
                }
                if let Err(error) = pipeline.reload_allows().await {
                    tracing::error!(%error, "reloading the allow entries failed; the ones held stay");
                }
                if let Err(error) = pipeline.flush_shadow_counts().await {
                    tracing::error!(%error, "writing the shadow counts failed; kept for the next try");
                }
            }
        })
    }

    /// Writes what the drafts in shadow did since the last write.
    pub async fn flush_shadow_counts(&self) -> Result<(), StoreError> {
        let tallies = self.shadow_counts.lock().take();
        if tallies.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.store.add_shadow_tallies(&tallies).await {
            // Put them back so the next flush carries them.
            let mut counts = self.shadow_counts.lock();
            for t in tallies {
                counts.add(t);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Validates and scores one event given as JSON bytes.
    pub async fn submit_json(&self, bytes: &[u8]) -> Result<Submitted, SubmitError> {
        let started = Instant::now();
        let event = Event::parse(bytes, self.clock.now()).inspect_err(|_| self.metrics.invalid.inc())?;
        self.submit_event(event, started).await
    }

    /// Scores one validated event. `started` is when the event was received, for the
    /// decision's `latency_us`.
    pub async fn submit_event(&self, event: Event, started: Instant) -> Result<Submitted, SubmitError> {
        if let Some(found) = self.recent.get(&event.event_id) {
            self.metrics.duplicates.inc();
            return Ok(Submitted::Duplicate(found));
        }
        if let Some(stored) = self.store.decision_for_event(&event.event_id).await? {
            let stored = Arc::new(stored);
            self.recent.shard(&event.event_id).lock().insert(stored.clone());
            self.metrics.duplicates.inc();
            return Ok(Submitted::Duplicate(stored));
        }
        Ok(self.decide(event, started).await?)
    }

    /// Scores validated events in order, as [`Pipeline::submit_event`] would one by
    /// one, but checks the whole batch for redeliveries in one store round trip: the
    /// path of the stream worker and the import, where a lookup per event would
    /// bound throughput by the database's latency. `started` is when each was received.
    pub async fn submit_events(&self, events: Vec<(Event, Instant)>) -> Result<Vec<Submitted>, StoreError> {
        let unseen: Vec<&str> = events
            .iter()
            .map(|(e, _)| e.event_id.as_str())
            .filter(|id| self.recent.get(id).is_none())
            .collect();
        for stored in self.store.decisions_for_events(&unseen).await? {
            let stored = Arc::new(stored);
            self.recent.shard(&stored.event_id).lock().insert(stored);
        }
        let mut out = Vec::with_capacity(events.len());
        for (event, started) in events {
            if let Some(found) = self.recent.get(&event.event_id) {
                self.metrics.duplicates.inc();
                out.push(Submitted::Duplicate(found));
                continue;
            }
            out.push(self.decide(event, started).await?);
        }
        Ok(out)
    }

    /// Applies the features and scores an event known not to be stored.
    async fn decide(&self, event: Event, started: Instant) -> Result<Submitted, StoreError> {
        let scorer = self.scorer.read().clone();
        let rule_state = self.rule_state.read().clone();
        let now = self.clock.now();
        self.watermark.fetch_max(event.occurred_at.timestamp_micros(), Ordering::Relaxed);
        let (decision, values) = {
            // Holding the shard lock makes "check, apply features, remember" atomic
            // for this event id: two concurrent deliveries apply the features once.
            let mut shard = self.recent.shard(&event.event_id).lock();
            if let Some(found) = shard.get(&event.event_id) {
                drop(shard);
                self.metrics.duplicates.inc();
                return Ok(Submitted::Duplicate(found));
            }
            let values = self.observe_features(&event).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let scored = scorer.score_with(&event, &values, now, &rule_state.suppressions);
            let rules = scorer.rules().rules();
            for &hit in &scored.rule_hits {
                self.metrics.rule_hits.inc(&rules[hit].id);
            }
            for error in &scored.rule_errors {
                self.metrics.rule_errors.inc(&error.rule_id);
                tracing::warn!(rule_id = %error.rule_id, error = %error.message, event_id = %event.event_id, "rule failed and was skipped");
            }
            let mut decision = scored.decision;
            if decision.action == Action::Block {
                if let Some((allow_id, until)) = self.allows.active(decision.subscriber.expose(), now) {
                    // Allowed after a release: reviewed by an analyst, never blocked.
                    decision.action = Action::Review;
                    decision.block = None;
                    decision.reasons.push(fds_core::Reason::Allowed { allow_id, until });
                }
            }
            let elapsed = started.elapsed();
            decision.latency_us = elapsed.as_micros().min(u128::from(u64::MAX)) as u64;
            self.metrics.latency.observe(elapsed.as_secs_f64());
            self.metrics.decisions[decision.action as usize].inc();
            let decision = Arc::new(decision);
            shard.insert(decision.clone());
            (decision, values)
        };
        // After the decision, outside the lock: drafts and challengers in shadow, tallies.
        if !rule_state.shadows.is_empty() {
            self.shadow_counts.lock().observe(&rule_state, &event, &values, &decision, now);
        }
        self.models.observe(&event, &values, &decision.reasons);
        if let Some(block) = &decision.block {
            self.blocks.insert(block.clone());
        }
        self.writer.send(Record { event, decision: (*decision).clone(), received_at: now }).await?;
        Ok(Submitted::New(decision))
    }

    /// Applies `event` to the velocity features. A remote store (Redis) waits on the
    /// network: on a multi-threaded runtime the wait runs in `block_in_place`, which
    /// hands this worker's other tasks to another thread first, so the reactor never
    /// stalls behind it (a current-thread runtime, as in tests, just waits).
    fn observe_features(
        &self,
        event: &Event,
    ) -> Result<Vec<fds_core::FeatureValue>, fds_features::Unavailable> {
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.features.is_remote() && multi_thread {
            tokio::task::block_in_place(|| self.features.try_observe(event))
        } else {
            self.features.try_observe(event)
        }
    }

    /// Brings this process's block index in line with the store, for replicas that
    /// share it: every block in force in the store is added (decided by another
    /// replica), and a block known here that the store holds as released (by another
    /// replica's console) is dropped. A block known here but not stored yet (the writer
    /// has not flushed it) stays.
    pub async fn refresh_blocks(&self) -> Result<BlockRefresh, StoreError> {
        let now = self.clock.now();
        let active = self.store.active_blocks(now).await?;
        let in_store: std::collections::HashSet<&str> = active.iter().map(|b| b.block_id.as_str()).collect();
        let mut refresh = BlockRefresh::default();
        for (subscriber, block_id) in self.blocks.active_ids(now) {
            if in_store.contains(block_id.as_str()) {
                continue;
            }
            // Few: blocks just decided here, or released elsewhere.
            if self.store.block(&block_id).await?.is_some_and(|r| r.released_at.is_some()) {
                self.blocks.remove(&subscriber, &block_id);
                refresh.released += 1;
            }
        }
        for block in active {
            if self.blocks.insert(block) {
                refresh.added += 1;
            }
        }
        Ok(refresh)
    }

    /// Calls [`Pipeline::refresh_blocks`] every `every`; stops when the pipeline is
    /// dropped. For replicas that share a store: each enforces the blocks the others
    /// decide, and stops enforcing the ones they release, within `every` (plus the
    /// store writer's flush delay).
    pub fn spawn_block_refresh(self: &Arc<Self>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let pipeline = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(pipeline) = pipeline.upgrade() else { break };
                match pipeline.refresh_blocks().await {
                    Ok(BlockRefresh { added: 0, released: 0 }) => {}
                    Ok(BlockRefresh { added, released }) => {
                        tracing::info!(
                            added,
                            released,
                            "blocks decided or released by other replicas applied"
                        )
                    }
                    Err(error) => {
                        tracing::error!(%error, "refreshing the blocks failed; the known ones stay")
                    }
                }
            }
        })
    }

    /// The block that makes payment systems refuse `subscriber` now, if any.
    pub fn active_block(&self, subscriber: &str) -> Option<Block> {
        self.blocks.active(subscriber, self.clock.now())
    }

    /// Releases block `block_id` by `actor` with `reason` (allowing its subscriber
    /// for `allow_days` after, if given), or, for a high-severity block
    /// (`Block::is_high_severity`), files the release for a second person to approve
    /// ([`Pipeline::decide_release`]). A release is audited in the store's
    /// transaction and stops refusing the subscriber's payments here at once; other
    /// processes forget the block at their next rule poll ([`Pipeline::reload_releases`])
    /// or block refresh ([`Pipeline::refresh_blocks`], when they share velocity state).
    pub async fn release_block(
        &self,
        block_id: &str,
        actor: &str,
        reason: &str,
        allow_days: Option<u32>,
    ) -> Result<ReleaseOutcome, StoreError> {
        let now = self.clock.now();
        let Some(record) = self.store.block(block_id).await? else { return Ok(ReleaseOutcome::NotFound) };
        if record.released_at.is_some() {
            return Ok(ReleaseOutcome::NotFound);
        }
        if record.block.is_high_severity() {
            let request = self.store.request_block_release(block_id, actor, reason, allow_days, now).await?;
            return Ok(ReleaseOutcome::Requested(request));
        }
        match self.store.release_block(block_id, actor, reason, allow_days, now).await? {
            Some(release) => {
                self.apply_release(&release);
                Ok(ReleaseOutcome::Released(release))
            }
            None => Ok(ReleaseOutcome::NotFound),
        }
    }

    /// Approves or rejects the pending release `request_id` as `actor` (refused by
    /// the store for the person who asked); an approval releases the block here at
    /// once. `None` when there is no such request.
    pub async fn decide_release(
        &self,
        request_id: i64,
        actor: &str,
        approve: bool,
        note: &str,
    ) -> Result<Option<fds_store::Decided>, StoreError> {
        let decided =
            self.store.decide_block_release(request_id, actor, approve, note, self.clock.now()).await?;
        if let Some(release) = decided.as_ref().and_then(|d| d.release.as_ref()) {
            self.apply_release(release);
        }
        Ok(decided)
    }

    fn apply_release(&self, release: &fds_store::Release) {
        let block = &release.block.block;
        self.blocks.remove(block.subscriber.expose(), &block.block_id);
        if let Some(allow) = &release.allow {
            self.allows.prune(self.clock.now());
            self.allows.insert(allow.subscriber.expose(), allow.allow_id, allow.since, allow.until);
        }
    }

    /// Records a confirmed outcome and, in the same store transaction, its
    /// `label.create` audit record (actor: who labelled, after: the label). A
    /// label id already stored changes nothing and is not audited again.
    pub async fn label(&self, label: &Label) -> Result<(), StoreError> {
        let after = serde_json::to_value(label)
            .map_err(|e| StoreError::Encode { what: "label", reason: format!("{:?} error", e.classify()) })?;
        let audit = AuditEntry {
            actor: label.labelled_by.clone(),
            action: audit_actions::LABEL_CREATE.into(),
            target: format!("label:{}", label.label_id),
            before: None,
            after: Some(after),
            at: label.labelled_at,
        };
        self.store.save_label_audited(label, audit).await.map(drop)
    }

    /// A stored decision by event id (recent ones from memory).
    pub async fn decision_for_event(&self, event_id: &str) -> Result<Option<Arc<Decision>>, StoreError> {
        if let Some(found) = self.recent.get(event_id) {
            return Ok(Some(found));
        }
        Ok(self.store.decision_for_event(event_id).await?.map(Arc::new))
    }

    /// Replaces the live scorer (new rule pack, thresholds or models) for the next events.
    pub fn swap_scorer(&self, scorer: Scorer) {
        *self.scorer.write() = Arc::new(scorer);
    }

    /// Replaces the live scorer with one built from the current one, atomically with
    /// respect to other updates: a rule reload and a model promotion landing together
    /// each keep the other's change.
    pub fn update_scorer(&self, update: impl FnOnce(&Scorer) -> Scorer) {
        let mut live = self.scorer.write();
        let next = update(&live);
        *live = Arc::new(next);
    }

    pub fn scorer(&self) -> Arc<Scorer> {
        self.scorer.read().clone()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Whether the store answers: the readiness signal.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Returns once every decision made so far is durably stored.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.writer.flush().await
    }

    /// Marks every record of the decisions made so far and returns at once; the mark
    /// resolves when they are durably stored, whatever is decided meanwhile (see
    /// `BatchWriter::mark`).
    pub async fn mark(&self) -> Result<fds_store::Durable, StoreError> {
        self.writer.mark().await
    }

    /// Appends the pipeline's metrics in the Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        let m = &self.metrics;
        header(out, "fds_decisions_total", "counter", "Decisions made, by action.");
        for action in [Action::Allow, Action::Review, Action::Block] {
            let _ = writeln!(
                out,
                "fds_decisions_total{{action=\"{}\"}} {}",
                action.as_str(),
                m.decisions(action)
            );
        }
        header(out, "fds_events_invalid_total", "counter", "Events refused by validation.");
        let _ = writeln!(out, "fds_events_invalid_total {}", m.invalid.get());
        header(
            out,
            "fds_events_duplicate_total",
            "counter",
            "Redelivered events answered with the stored decision.",
        );
        let _ = writeln!(out, "fds_events_duplicate_total {}", m.duplicates.get());
        header(out, "fds_rule_hits_total", "counter", "Rule hits, by rule id.");
        for (rule, n) in m.rule_hits.snapshot() {
            let _ = writeln!(out, "fds_rule_hits_total{{rule=\"{}\"}} {n}", label_value(&rule));
        }
        header(
            out,
            "fds_rule_errors_total",
            "counter",
            "Rules that failed or hit a sandbox limit and were skipped, by rule id.",
        );
        for (rule, n) in m.rule_errors.snapshot() {
            let _ = writeln!(out, "fds_rule_errors_total{{rule=\"{}\"}} {n}", label_value(&rule));
        }
        header(out, "fds_decision_latency_seconds", "histogram", "Time from receipt to decision.");
        m.latency.render(out, "fds_decision_latency_seconds", "");
        let (payments, all) = self.blocks.count_active(self.clock.now());
        header(out, "fds_active_blocks", "gauge", "Subscribers under an active block, by scope.");
        let _ = writeln!(out, "fds_active_blocks{{scope=\"payments\"}} {payments}");
        let _ = writeln!(out, "fds_active_blocks{{scope=\"all\"}} {all}");
        let stats = self.features.stats();
        header(out, "fds_feature_windows", "gauge", "Entity windows tracked by the velocity store.");
        let _ = writeln!(out, "fds_feature_windows {}", stats.windows);
        header(out, "fds_feature_bytes", "gauge", "Estimated heap bytes of the velocity store.");
        let _ = writeln!(out, "fds_feature_bytes {}", stats.heap_bytes);
        header(out, "fds_recent_decisions", "gauge", "Decisions held in memory for redeliveries.");
        let _ = writeln!(out, "fds_recent_decisions {}", self.recent.len());
        let w = self.writer.stats();
        header(out, "fds_store_saved_total", "counter", "Records durably saved by the batched writer.");
        let _ = writeln!(out, "fds_store_saved_total {}", w.saved);
        header(out, "fds_store_duplicates_total", "counter", "Records the store already had.");
        let _ = writeln!(out, "fds_store_duplicates_total {}", w.duplicates);
        header(out, "fds_store_failures_total", "counter", "Failed store batches (retried).");
        let _ = writeln!(out, "fds_store_failures_total {}", w.failures);
        header(out, "fds_store_queued", "gauge", "Records waiting for the writer.");
        let _ = writeln!(out, "fds_store_queued {}", w.queued);
        self.models.render(out, self.scorer().models());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fds_core::{Outcome, Pii};

    /// A pipeline over an in-memory store with no rules and no features: enough
    /// for the paths that do not score.
    async fn pipeline(now: fds_core::Timestamp) -> Pipeline {
        pipeline_on(
            "sqlite::memory:",
            Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local())),
            now,
        )
        .await
    }

    async fn pipeline_on(url: &str, vault: Arc<fds_store::Vault>, now: fds_core::Timestamp) -> Pipeline {
        let features = Arc::new(fds_features::FeatureSet::from_toml_str("").expect("no features"));
        let memory = Arc::new(fds_features::InMemoryFeatures::new(features));
        pipeline_with(url, vault, now, Default::default(), memory).await
    }

    /// A pipeline with no rules and no features over `velocity`, scoring by `scoring`.
    async fn pipeline_with(
        url: &str,
        vault: Arc<fds_store::Vault>,
        now: fds_core::Timestamp,
        scoring: fds_scoring::ScoringConfig,
        velocity: Arc<dyn FeatureStore>,
    ) -> Pipeline {
        let features = Arc::new(fds_features::FeatureSet::from_toml_str("").expect("no features"));
        let rules = fds_rules::RulePack::from_sources(
            Vec::new(),
            Default::default(),
            features.names(),
            chrono::FixedOffset::east_opt(0).expect("utc"),
        )
        .expect("an empty rule pack");
        let scorer = Scorer::new(Arc::new(rules), features, scoring);
        let store = fds_store::open(url, vault).await.expect("store");
        Pipeline::start(scorer, velocity, store, Arc::new(ManualClock::new(now)), PipelineConfig::default())
            .await
            .expect("pipeline starts")
    }

    #[tokio::test]
    async fn recording_a_label_appends_its_audit_record_once() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let pipeline = pipeline(now).await;
        let label = Label {
            label_id: "lbl-1".into(),
            event_id: Some("e-1".into()),
            subscriber: Some(Pii::new("01012345678")),
            outcome: Outcome::Fraud,
            note: Some("confirmed by the customer".into()),
            labelled_by: "key:ops".into(),
            labelled_at: now,
        };

        pipeline.label(&label).await.unwrap();
        pipeline.label(&label).await.unwrap();

        let records = pipeline.store().audit_records(0, 10).await.unwrap();
        assert_eq!(records.len(), 1, "a repeated label is not audited again");
        let entry = &records[0].entry;
        assert_eq!((entry.actor.as_str(), entry.action.as_str()), ("key:ops", "label.create"));
        assert_eq!(entry.target, "label:lbl-1");
        assert_eq!((entry.before.as_ref(), entry.at), (None, now));
        // The store seals the PII of audit records: all but the subscriber reads as given.
        let mut after = entry.after.clone().expect("the label");
        let sealed = after["subscriber"].take();
        assert!(sealed.as_str().is_some_and(|s| s.starts_with("v1.local.")), "{sealed}");
        let mut expected = serde_json::to_value(&label).unwrap();
        expected["subscriber"] = serde_json::Value::Null;
        assert_eq!(after, expected);
        assert_eq!(pipeline.store().labels(10).await.unwrap(), [label]);
    }

    fn payment(id: &str, at: fds_core::Timestamp) -> Event {
        Event::from_value(
            serde_json::json!({
                "event_id": id, "occurred_at": at.to_rfc3339(), "subscriber": "01012345678",
                "type": "payment", "amount": 1000, "method": "carrier_billing",
                "merchant_id": "m-1", "merchant_category": "game"
            }),
            None,
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_batch_is_checked_against_the_store_once_and_repeats_inside_it_count_once() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        let first = pipeline_on(&url, vault.clone(), now).await;
        let batch = vec![(payment("e-1", now), Instant::now()), (payment("e-2", now), Instant::now())];
        let out = first.submit_events(batch).await.unwrap();
        assert!(out.iter().all(|s| !s.is_duplicate()));
        first.flush().await.unwrap();
        drop(first);

        // A fresh process: nothing in memory, e-1 and e-2 only in the store.
        let second = pipeline_on(&url, vault, now).await;
        let batch = vec![
            (payment("e-1", now), Instant::now()),
            (payment("e-3", now), Instant::now()),
            (payment("e-3", now), Instant::now()),
        ];
        let out = second.submit_events(batch).await.unwrap();
        let kinds: Vec<(&str, bool)> =
            out.iter().map(|s| (s.decision().event_id.as_str(), s.is_duplicate())).collect();
        assert_eq!(kinds, [("e-1", true), ("e-3", false), ("e-3", true)]);
        second.flush().await.unwrap();
        assert_eq!(second.metrics().duplicates.get(), 2);
        assert_eq!(second.store().counts().await.unwrap().events, 3);
    }

    #[tokio::test]
    async fn blocks_decided_by_another_replica_on_the_store_are_enforced_after_a_refresh() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        // Every event blocks on this replica (score 0 >= block_at 0).
        let blocking = fds_scoring::ScoringConfig { review_at: 0.0, block_at: 0.0, ..Default::default() };
        let features = Arc::new(fds_features::FeatureSet::from_toml_str("").expect("no features"));
        let memory = || Arc::new(fds_features::InMemoryFeatures::new(features.clone()));
        let a = pipeline_with(&url, vault.clone(), now, blocking, memory()).await;
        let b = pipeline_with(&url, vault, now, Default::default(), memory()).await;
        let nothing = BlockRefresh::default();
        assert_eq!(b.refresh_blocks().await.unwrap(), nothing);

        let decided = a.submit_event(payment("e-1", now), Instant::now()).await.unwrap();
        let block = decided.decision().block.clone().expect("a block");
        assert_eq!(a.active_block("01012345678").map(|b| b.block_id), Some(block.block_id.clone()));
        assert!(b.active_block("01012345678").is_none(), "not stored yet, not known to B");
        a.flush().await.unwrap();
        assert!(b.active_block("01012345678").is_none(), "B has not refreshed");
        assert_eq!(b.refresh_blocks().await.unwrap(), BlockRefresh { added: 1, released: 0 });
        assert_eq!(b.active_block("01012345678").map(|b| b.block_id.clone()), Some(block.block_id.clone()));
        assert_eq!(b.refresh_blocks().await.unwrap(), nothing, "known blocks are not added twice");

        // Released through B (the console of B): A stops enforcing it at its next refresh.
        let released = b.release_block(&block.block_id, "analyst", "customer confirmed", None).await.unwrap();
        assert!(matches!(released, ReleaseOutcome::Released(_)), "{released:?}");
        assert!(b.active_block("01012345678").is_none());
        assert!(a.active_block("01012345678").is_some(), "A has not refreshed");
        assert_eq!(a.refresh_blocks().await.unwrap(), BlockRefresh { added: 0, released: 1 });
        assert!(a.active_block("01012345678").is_none());

        // A block A just decided and has not stored yet is kept by A's refresh.
        let fresh = a.submit_event(payment("e-2", now), Instant::now()).await.unwrap();
        let fresh = fresh.decision().block.clone().expect("a block").block_id;
        assert_eq!(a.refresh_blocks().await.unwrap().released, 0);
        assert_eq!(a.active_block("01012345678").map(|b| b.block_id), Some(fresh));
    }

    /// A remote velocity store whose calls take `delay` (a network wait) or fail.
    struct Remote {
        inner: fds_features::InMemoryFeatures,
        delay: std::time::Duration,
        fail: bool,
    }

    impl FeatureStore for Remote {
        fn observe(&self, event: &Event) -> Vec<fds_core::FeatureValue> {
            std::thread::sleep(self.delay);
            self.inner.observe(event)
        }
        fn peek(&self, event: &Event) -> Vec<fds_core::FeatureValue> {
            self.inner.peek(event)
        }
        fn evict_idle(&self, now: fds_core::Timestamp) -> usize {
            self.inner.evict_idle(now)
        }
        fn stats(&self) -> fds_features::StoreStats {
            self.inner.stats()
        }
        fn try_observe(
            &self,
            event: &Event,
        ) -> Result<Vec<fds_core::FeatureValue>, fds_features::Unavailable> {
            if self.fail {
                return Err(fds_features::Unavailable("redis at test: connection refused".into()));
            }
            Ok(self.observe(event))
        }
        fn is_remote(&self) -> bool {
            true
        }
    }

    fn remote(delay: std::time::Duration, fail: bool) -> Arc<dyn FeatureStore> {
        let features = Arc::new(fds_features::FeatureSet::from_toml_str("").expect("no features"));
        Arc::new(Remote { inner: fds_features::InMemoryFeatures::new(features), delay, fail })
    }

    #[tokio::test]
    async fn an_unreachable_feature_store_fails_the_event_and_decides_nothing() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        let pipeline = pipeline_with(
            "sqlite::memory:",
            vault,
            now,
            Default::default(),
            remote(Default::default(), true),
        )
        .await;
        let failed = pipeline.submit_event(payment("e-1", now), Instant::now()).await;
        assert!(
            matches!(&failed, Err(SubmitError::Store(StoreError::Unavailable(why))) if why.contains("connection refused")),
            "{failed:?}"
        );
        pipeline.flush().await.unwrap();
        assert_eq!(pipeline.store().counts().await.unwrap().events, 0);
        assert!(pipeline.decision_for_event("e-1").await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_remote_feature_store_waits_without_stalling_the_runtime() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap();
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        let wait = std::time::Duration::from_millis(400);
        let pipeline = Arc::new(
            pipeline_with("sqlite::memory:", vault, now, Default::default(), remote(wait, false)).await,
        );
        // One worker thread: the submission and a ticker both run on it. Without
        // block_in_place the 400 ms wait would hold the only worker and the ticker.
        let ticks = Arc::new(AtomicI64::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let submitted = {
            let pipeline = pipeline.clone();
            tokio::spawn(async move { pipeline.submit_event(payment("e-1", now), Instant::now()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let before = ticks.load(Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let during = ticks.load(Ordering::Relaxed) - before;
        assert!(!submitted.is_finished(), "the store call is still waiting");
        assert!(during >= 5, "the ticker ran {during} times in 200 ms while the store call waited");
        assert!(!submitted.await.unwrap().unwrap().is_duplicate());
        ticker.abort();
    }
}
