//! `fds worker`: consumes system A's event topics and runs every message through
//! the one scoring path.
//!
//! Per batch: decode and validate each message (bad ones go to the dead-letter
//! topic with the original bytes and headers naming the error) → score the valid
//! events with one store round trip for redeliveries → publish each decision to the
//! decisions topic keyed by subscriber → wait until the batch's events and decisions
//! are durably stored and every publish is acknowledged → commit the offsets.
//! The wait overlaps the next batches: while a batch settles, the next ones are
//! collected, scored and published, so a decision does not wait for the store.
//! Commits stay in order (oldest batch first), and at most `in_flight_messages`
//! messages in unsettled batches (plus the store's bounded queue) are ever in hand:
//! beyond that the worker waits for the oldest batch, pausing its partitions if that
//! takes long.
//!
//! Delivery is at least once and the store makes it effectively once: a message
//! redelivered after a crash or a rebalance finds its event id stored and gets the
//! stored decision back, features untouched (its decision is published again, so
//! the decisions topic is at least once, keyed for downstream de-duplication by
//! event id). Kafka transactions are not used.

use crate::config::WorkerConfig;
use crate::context::WorkerContext;
use crate::dead_letter::{dead_letter_headers, Rejected};
use crate::metrics::WorkerMetrics;
use fds_core::Event;
use fds_pipeline::{Pipeline, Submitted};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::TopicPartitionList;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("publishing to {topic} failed: {error}")]
    Publish { topic: String, error: KafkaError },
    #[error("the store failed: {0}")]
    Store(#[from] fds_store::StoreError),
}

/// What one run of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub consumed: u64,
    pub scored: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub batches: u64,
}

/// The pipeline settings the worker needs: the store's writer commits its saves in
/// order (each encoded at once, written after the one before), so saves commit in
/// the order the events were scored and the store always holds a prefix of them. A
/// worker killed with batches in flight then leaves no gap (a later batch stored, an
/// earlier one not) for its successor to score around: the events redelivered and not
/// stored all come after everything the velocity state is rebuilt from, as in an
/// uninterrupted run.
///
/// Four saves in flight rather than the writer's default two: the worker scores on one
/// core while the database inserts, and with two saves part of a 2-core machine sat
/// idle. `cargo bench --bench kafka -- --only throughput --events 300000
/// --save-concurrency 2|4` kept 1.86–1.88 cores busy with four against 1.73–1.77 with
/// two, and was faster in two of three alternating pairs (`benches/README.md`).
pub fn pipeline_config() -> fds_pipeline::PipelineConfig {
    let mut config = fds_pipeline::PipelineConfig::default();
    config.writer.ordered = true;
    config.writer.concurrency = 4;
    config
}

/// A batch scored and published, on its way to being durable; its offsets are
/// committed once `settle` finishes: (publishes acknowledged, records stored).
struct Settling {
    batch: Vec<Taken>,
    settle: tokio::task::JoinHandle<Result<(Instant, Instant), WorkerError>>,
    scored: Instant,
}

/// A consumed message the worker still has to account for in a commit.
struct Taken {
    message: OwnedMessage,
    received: Instant,
}

pub struct Worker {
    config: WorkerConfig,
    pipeline: Arc<Pipeline>,
    consumer: StreamConsumer<WorkerContext>,
    producer: FutureProducer,
    metrics: Arc<WorkerMetrics>,
    /// The offsets to commit on the partitions held (shared with the consumer
    /// context, which commits a partition's as it is revoked).
    committed_offsets: crate::context::Committed,
    last_commit: parking_lot::Mutex<Instant>,
}

impl Worker {
    /// Connects the consumer (not yet subscribed) and the producer.
    pub fn new(config: WorkerConfig, pipeline: Arc<Pipeline>) -> Result<Worker, WorkerError> {
        let metrics = Arc::new(WorkerMetrics::default());
        let mut consumer_config = ClientConfig::new();
        consumer_config
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", &config.group_id)
            .set("client.id", "fds-worker")
            // Offsets are committed by hand, only after a batch is durably stored.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", millis(config.session_timeout))
            .set("heartbeat.interval.ms", millis(config.session_timeout / 4))
            .set("statistics.interval.ms", millis(config.statistics_interval))
            // Bounds what librdkafka prefetches while the worker is busy or paused.
            .set("queued.max.messages.kbytes", "16384");
        let mut producer_config = ClientConfig::new();
        producer_config
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", "fds-worker")
            .set("linger.ms", "5")
            .set("acks", "all");
        for (key, value) in &config.client {
            consumer_config.set(key, value);
            producer_config.set(key, value);
        }
        let committed_offsets = crate::context::Committed::default();
        let consumer: StreamConsumer<WorkerContext> = consumer_config.create_with_context(WorkerContext {
            metrics: metrics.clone(),
            committed: committed_offsets.clone(),
        })?;
        let producer: FutureProducer = producer_config.create()?;
        Ok(Worker {
            config,
            pipeline,
            consumer,
            producer,
            metrics,
            committed_offsets,
            last_commit: parking_lot::Mutex::new(Instant::now()),
        })
    }

    pub fn metrics(&self) -> Arc<WorkerMetrics> {
        self.metrics.clone()
    }

    /// Consumes until `shutdown` resolves, then finishes the batch in hand, stores
    /// it, commits and leaves the group. An error (a publish that cannot be
    /// delivered) stops the worker without committing the batch: its messages are
    /// delivered again to whoever consumes the partition next.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<RunStats, WorkerError> {
        let topics: Vec<&str> = self.config.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&topics)?;
        tracing::info!(topics = ?topics, group = %self.config.group_id, "worker consuming");
        let mut shutdown = pin!(shutdown);
        let mut stopping = false;
        let mut pending: VecDeque<Taken> = VecDeque::new();
        let mut stats = RunStats::default();
        // Batches scored and published, oldest first, until each is durable and
        // committed: the next batches are collected and scored meanwhile.
        let mut settling: VecDeque<Settling> = VecDeque::new();
        while !stopping {
            let mut batch: Vec<Taken> = pending.drain(..).collect();
            let mut deadline =
                (!batch.is_empty()).then(|| tokio::time::Instant::now() + self.config.batch_wait);
            while batch.len() < self.config.batch_max {
                let until = deadline;
                let wait = async move {
                    match until {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                let settled = async {
                    match settling.front_mut() {
                        Some(s) => (&mut s.settle).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    () = &mut shutdown => {
                        stopping = true;
                        break;
                    }
                    done = settled => {
                        let s = settling.pop_front().expect("a batch is settling");
                        self.committed(s, done, &mut stats)?;
                    }
                    received = self.consumer.recv() => match received {
                        Ok(message) => {
                            batch.push(Taken { message: message.detach(), received: Instant::now() });
                            deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.config.batch_wait);
                        }
                        Err(error) => tracing::warn!(error = %error, "consumer error"),
                    },
                    () = wait => break,
                }
            }
            if !batch.is_empty() {
                settling.push_back(self.score(batch, &mut pending, &mut stats).await?);
            }
            // Commits stay in order, oldest first.
            while must_wait_for_oldest(
                settling.iter().map(|s| s.batch.len()),
                self.config.in_flight_messages,
                stopping,
            ) {
                let mut s = settling.pop_front().expect("a batch is settling");
                let done = keep_polled(
                    "the oldest batch in flight to be stored",
                    &self.consumer,
                    &self.metrics,
                    &mut pending,
                    self.config.pause_after,
                    &mut s.settle,
                )
                .await;
                self.committed(s, done, &mut stats)?;
            }
        }
        self.commit_last();
        self.consumer.unsubscribe();
        tracing::info!(?stats, "worker stopped: batch stored, offsets committed, group left");
        Ok(stats)
    }

    /// Commits a settled batch (every publish acknowledged, every record stored), or
    /// returns the error that stopped it from settling, uncommitted.
    fn committed(
        &self,
        s: Settling,
        done: Result<Result<(Instant, Instant), WorkerError>, tokio::task::JoinError>,
        stats: &mut RunStats,
    ) -> Result<(), WorkerError> {
        let (acknowledged, stored) = match done {
            Ok(result) => result?,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        };
        let [_, publish_phase, store_phase, commit_phase] = &self.metrics.batch_phase;
        publish_phase.observe(acknowledged.saturating_duration_since(s.scored).as_secs_f64());
        store_phase.observe(stored.saturating_duration_since(acknowledged).as_secs_f64());
        let committing = Instant::now();
        self.commit(&s.batch);
        commit_phase.observe(committing.elapsed().as_secs_f64());
        self.metrics.batch_size.observe(s.batch.len() as f64);
        stats.batches += 1;
        Ok(())
    }

    /// Decodes, scores and publishes one batch, and places the store mark behind it;
    /// returns it settling: its publishes and its records on their way.
    async fn score(
        &self,
        batch: Vec<Taken>,
        pending: &mut VecDeque<Taken>,
        stats: &mut RunStats,
    ) -> Result<Settling, WorkerError> {
        let started = Instant::now();
        let mut deliveries: Vec<(String, DeliveryFuture)> = Vec::with_capacity(batch.len());
        let mut events: Vec<(Event, Instant)> = Vec::with_capacity(batch.len());
        let mut sources: Vec<usize> = Vec::with_capacity(batch.len());
        let now = self.pipeline.clock().now();
        for (i, taken) in batch.iter().enumerate() {
            let m = &taken.message;
            self.metrics.consumed.inc(m.topic());
            stats.consumed += 1;
            match decode(m, self.config.max_message_bytes, now) {
                Ok(event) => {
                    events.push((event, taken.received));
                    sources.push(i);
                }
                Err(rejected) => {
                    self.metrics.dead_lettered.inc(m.topic());
                    stats.dead_lettered += 1;
                    tracing::warn!(
                        topic = m.topic(), partition = m.partition(), offset = m.offset(),
                        reason = %rejected, "message dead-lettered"
                    );
                    let headers = dead_letter_headers(m, &rejected);
                    let mut record: FutureRecord<'_, [u8], [u8]> =
                        FutureRecord::to(&self.config.dead_letter_topic).headers(headers);
                    if let Some(key) = m.key() {
                        record = record.key(key);
                    }
                    if let Some(payload) = m.payload() {
                        record = record.payload(payload);
                    }
                    self.publish(record, &mut deliveries).await?;
                }
            }
        }

        let submitted = loop {
            let attempt = self.pipeline.submit_events(events.clone());
            match keep_polled(
                "scoring",
                &self.consumer,
                &self.metrics,
                pending,
                self.config.pause_after,
                attempt,
            )
            .await
            {
                Ok(submitted) => break submitted,
                Err(error) => {
                    // Nothing was scored: the redelivery lookup failed before any
                    // feature was touched. Wait and try the same events again.
                    tracing::error!(error = %error, "store unavailable; retrying the batch");
                    let wait = tokio::time::sleep(Duration::from_secs(1));
                    keep_polled(
                        "the store",
                        &self.consumer,
                        &self.metrics,
                        pending,
                        self.config.pause_after,
                        wait,
                    )
                    .await;
                }
            }
        };

        let decided = Instant::now();
        let decided_at = self.pipeline.clock().now();
        for (result, &source) in submitted.iter().zip(&sources) {
            let m = &batch[source].message;
            let decision = result.decision();
            match result {
                Submitted::New(_) => {
                    self.metrics.scored.inc(m.topic());
                    stats.scored += 1;
                }
                Submitted::Duplicate(_) => {
                    self.metrics.duplicates.inc(m.topic());
                    stats.duplicates += 1;
                }
            }
            let event_age = (decided_at - decision.occurred_at).num_microseconds().unwrap_or(i64::MAX);
            self.metrics.event_to_decision.observe(event_age.max(0) as f64 / 1e6);
            self.metrics
                .receive_to_decision
                .observe(decided.duration_since(batch[source].received).as_secs_f64());
            let payload = serde_json::to_vec(decision.as_ref()).unwrap_or_default();
            let key = decision.subscriber.expose().to_string();
            let headers = OwnedHeaders::new().insert(rdkafka::message::Header {
                key: "fds-event-id",
                value: Some(decision.event_id.as_bytes()),
            });
            let record = FutureRecord::to(&self.config.decisions_topic)
                .key(key.as_bytes())
                .payload(payload.as_slice())
                .headers(headers);
            self.publish(record, &mut deliveries).await?;
        }

        // Durable before committed: every publish acknowledged, every record of this
        // batch stored (the mark covers this batch's records, not the next one's).
        let mark = keep_polled(
            "room in the store's queue",
            &self.consumer,
            &self.metrics,
            pending,
            self.config.pause_after,
            self.pipeline.mark(),
        )
        .await?;
        let scored = Instant::now();
        self.metrics.batch_phase[0].observe(scored.duration_since(started).as_secs_f64());
        let settle = tokio::spawn(async move {
            for (topic, delivery) in deliveries {
                match delivery.await {
                    Ok(Ok(_)) => {}
                    Ok(Err((error, _))) => return Err(WorkerError::Publish { topic, error }),
                    Err(_) => return Err(WorkerError::Publish { topic, error: KafkaError::Canceled }),
                }
            }
            let acknowledged = Instant::now();
            mark.await.map_err(WorkerError::Store)?;
            Ok((acknowledged, Instant::now()))
        });
        Ok(Settling { batch, settle, scored })
    }

    /// Queues a message for the producer, waiting for room when its queue is full.
    async fn publish(
        &self,
        mut record: FutureRecord<'_, [u8], [u8]>,
        deliveries: &mut Vec<(String, DeliveryFuture)>,
    ) -> Result<(), WorkerError> {
        let topic = record.topic.to_string();
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    deliveries.push((topic, delivery));
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(WorkerError::Publish { topic, error }),
            }
        }
    }

    /// Records the offset after the batch's last message in each partition, and
    /// commits every partition's recorded offset once `commit_interval` has passed
    /// since the last commit. Commits are sent without waiting for the broker's
    /// answer (the consumer context counts it): a later commit covers an earlier one
    /// that fails. Partitions revoked meanwhile are left out (their offsets were
    /// committed as they were revoked); [`Worker::commit_last`] waits for the answer
    /// before the worker leaves.
    fn commit(&self, batch: &[Taken]) {
        // A partition revoked since the batch was taken is not recorded again: its
        // new owner's commits are the ones that count now.
        let assigned = self.consumer.assignment().ok();
        let mut committed = self.committed_offsets.lock();
        for t in batch {
            let m = &t.message;
            if assigned.as_ref().is_some_and(|a| a.find_partition(m.topic(), m.partition()).is_none()) {
                continue;
            }
            let offset = committed.entry((m.topic().to_string(), m.partition())).or_insert(0);
            *offset = (*offset).max(m.offset() + 1);
        }
        let mut last = self.last_commit.lock();
        if last.elapsed() < self.config.commit_interval {
            return;
        }
        *last = Instant::now();
        let offsets = committed.clone();
        drop(committed);
        drop(last);
        self.send_commit(&offsets, CommitMode::Async);
    }

    /// Commits every recorded offset and waits for the broker's answer, so nothing
    /// is left uncommitted or in flight when the worker leaves the group.
    fn commit_last(&self) {
        let committed = std::mem::take(&mut *self.committed_offsets.lock());
        self.send_commit(&committed, CommitMode::Sync);
    }

    fn send_commit(&self, offsets: &BTreeMap<(String, i32), i64>, mode: CommitMode) {
        if offsets.is_empty() {
            return;
        }
        let assigned = match self.consumer.assignment() {
            Ok(list) => list,
            Err(error) => {
                tracing::warn!(error = %error, "reading the assignment failed; not committing");
                self.metrics.commit_failures.inc();
                return;
            }
        };
        let list = crate::context::commit_list(
            offsets.iter().map(|((topic, partition), offset)| (topic.as_str(), *partition, *offset)),
            |topic, partition| assigned.find_partition(topic, partition).is_some(),
        );
        if list.count() == 0 {
            return;
        }
        if let Err(error) = self.consumer.commit(&list, mode) {
            self.metrics.commit_failures.inc();
            tracing::warn!(error = %error, "offset commit not sent");
        }
    }
}

/// Whether the worker must wait for its oldest unsettled batch (given the sizes of
/// the unsettled batches, oldest first) before it takes more messages: always while
/// any is left once it is stopping; otherwise only when more than one batch is
/// unsettled and together they hold more than `limit` messages, so one batch may
/// always settle however large it is.
fn must_wait_for_oldest(sizes: impl ExactSizeIterator<Item = usize>, limit: usize, stopping: bool) -> bool {
    let batches = sizes.len();
    if batches == 0 {
        return false;
    }
    stopping || (batches > 1 && sizes.sum::<usize>() > limit)
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

/// Decodes and validates one message's payload into an event.
fn decode(m: &OwnedMessage, max_bytes: usize, now: fds_core::Timestamp) -> Result<Event, Rejected> {
    let Some(payload) = m.payload() else { return Err(Rejected::Empty) };
    if payload.len() > max_bytes {
        return Err(Rejected::TooLarge { bytes: payload.len(), limit: max_bytes });
    }
    Event::parse(payload, now).map_err(Rejected::Invalid)
}

/// Drives `work` to completion while keeping the consumer polled. If `work` takes
/// longer than `pause_after`, the assigned partitions are paused, so nothing more is
/// fetched while the group membership stays alive; messages librdkafka had already
/// fetched are kept in `pending` (bounded by its prefetch limit) for the next batch.
async fn keep_polled<T>(
    waiting_for: &'static str,
    consumer: &StreamConsumer<WorkerContext>,
    metrics: &WorkerMetrics,
    pending: &mut VecDeque<Taken>,
    pause_after: Duration,
    work: impl Future<Output = T>,
) -> T {
    let mut work = pin!(work);
    let mut paused: Option<TopicPartitionList> = None;
    let pause_at = tokio::time::sleep(pause_after);
    let mut pause_at = pin!(pause_at);
    let result = loop {
        tokio::select! {
            biased;
            done = &mut work => break done,
            () = &mut pause_at, if paused.is_none() => {
                match consumer.assignment() {
                    Ok(list) => {
                        if let Err(error) = consumer.pause(&list) {
                            tracing::warn!(error = %error, "pausing partitions failed");
                        }
                        metrics.pauses.inc();
                        tracing::warn!(
                            after_ms = pause_after.as_millis() as u64,
                            waiting_for,
                            "store is slow; partitions paused"
                        );
                        paused = Some(list);
                    }
                    Err(error) => tracing::warn!(error = %error, "reading the assignment failed"),
                }
            }
            received = consumer.recv(), if paused.is_some() => match received {
                Ok(message) => pending.push_back(Taken { message: message.detach(), received: Instant::now() }),
                Err(error) => tracing::warn!(error = %error, "consumer error while paused"),
            },
        }
    };
    if let Some(list) = paused {
        if let Err(error) = consumer.resume(&list) {
            tracing::warn!(error = %error, "resuming partitions failed");
        }
        tracing::info!("store caught up; partitions resumed");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::must_wait_for_oldest;

    #[test]
    fn the_in_flight_bound_counts_messages_and_always_lets_one_batch_settle() {
        let wait = |sizes: &[usize], stopping| must_wait_for_oldest(sizes.iter().copied(), 8_000, stopping);
        // Nothing unsettled: nothing to wait for, stopping or not.
        assert!(!wait(&[], false));
        assert!(!wait(&[], true));
        // Many small batches of light traffic stay in flight...
        assert!(!wait(&[100; 80], false));
        // ...until together they hold more than the bound.
        assert!(wait(&[100; 81], false));
        assert!(!wait(&[2_000; 4], false));
        assert!(wait(&[2_000, 2_000, 2_000, 2_001], false));
        // One batch larger than the bound may still settle on its own.
        assert!(!wait(&[50_000], false));
        assert!(wait(&[50_000, 1], false));
        // Stopping waits for every batch.
        assert!(wait(&[1], true));
    }
}
