//! The batch writer: records from many producers, saved in batches.
//!
//! Producers `send` into a bounded channel (its capacity is the back-pressure: a
//! full channel makes senders wait). One task collects up to `max_batch` records,
//! or whatever arrived within `max_delay` of the first, and hands them to a save
//! task ([`Store::save`], one transaction); up to `concurrency` saves run at once,
//! so the next batch is collected and encoded while the database writes the last
//! one. A failed save is logged and retried with backoff, for as long as it takes:
//! a record, once accepted, is never dropped. A flush waits for the records sent
//! before it, and only those: records keep flowing into new batches meanwhile, so a
//! caller can flush one batch of its own while it prepares the next. The shutdown
//! waits for everything accepted.

use crate::store::{Gate, Record, Store};
use crate::StoreError;
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// The wait before the first retry of a failed save; it doubles per failure.
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// The longest wait between retries: long enough not to hammer a database that is
/// down, short enough to resume soon after it is back.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// How the batch writer batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records accepted but not yet taken into a batch; senders wait beyond it.
    /// At least 1.
    pub capacity: usize,
    /// The most records saved in one transaction. At least 1.
    pub max_batch: usize,
    /// How long a batch waits for more records after its first one arrived.
    pub max_delay: Duration,
    /// Saves in flight at once; more batches wait (and senders with them once the
    /// queue is full). At least 1. Saves of different batches commute: each is
    /// idempotent by event id, and concurrent savers of one id queue on its key.
    pub concurrency: usize,
    /// Commit saves in the order their records were sent: each save encodes at once
    /// but writes only after the one before it is saved, so the store always holds
    /// a prefix of what was sent (what the stream worker needs after a crash).
    pub ordered: bool,
}

impl Default for WriterConfig {
    /// 10,000 queued records (about half a second at the target rate), batches of
    /// up to 1,000 (full ones only under load: a partial batch is saved 20 ms after
    /// its first record), and two saves in flight (one encoding while the database
    /// writes the other). `cargo bench --bench store_scale` measured batches of
    /// 1,000 well ahead of 500 on Postgres, and a third save in flight no better.
    fn default() -> Self {
        WriterConfig {
            capacity: 10_000,
            max_batch: 1_000,
            max_delay: Duration::from_millis(20),
            concurrency: 2,
            ordered: false,
        }
    }
}

/// What the batch writer has done so far.
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Records stored.
    pub saved: u64,
    /// Records skipped because their event was already stored.
    pub duplicates: u64,
    /// Successful saves.
    pub batches: u64,
    /// Failed save attempts (each was retried).
    pub failures: u64,
    /// Records accepted and not yet saved.
    pub queued: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    saved: AtomicU64,
    duplicates: AtomicU64,
    batches: AtomicU64,
    failures: AtomicU64,
}

#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is a record: boxing would add an allocation per record to save \
              space only on the rare flush and shutdown messages"
)]
enum Message {
    Record(Record),
    /// Answered once every record sent before it is saved.
    Flush(oneshot::Sender<()>),
    /// Stop accepting; answered once everything accepted is saved.
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the writer task. Clones share the same task; [`BatchWriter::shutdown`]
/// on any clone stops it for all of them.
#[derive(Clone)]
pub struct BatchWriter {
    tx: mpsc::Sender<Message>,
    counters: Arc<Counters>,
}

impl fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchWriter").field("stats", &self.stats()).finish()
    }
}

impl BatchWriter {
    /// Spawns the writer task on the current Tokio runtime.
    pub fn spawn(store: Arc<dyn Store>, config: WriterConfig) -> BatchWriter {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            store,
            rx,
            counters: Arc::clone(&counters),
            max_batch: config.max_batch.max(1),
            max_delay: config.max_delay,
            concurrency: config.concurrency.max(1),
            ordered: config.ordered,
        };
        tokio::spawn(worker.run());
        BatchWriter { tx, counters }
    }

    /// Queues `record` for saving, waiting while the queue is full. Fails with
    /// [`StoreError::Closed`] once the writer has shut down.
    pub async fn send(&self, record: Record) -> Result<(), StoreError> {
        self.tx.send(Message::Record(record)).await.map_err(|_| StoreError::Closed)?;
        self.counters.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Returns once every record sent before this call is durably saved (or was a
    /// duplicate). While the database fails this waits, as the writer retries.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.mark().await?.await
    }

    /// Places a mark after every record sent so far and returns at once (once the
    /// queue has room for the mark). The mark resolves when those records, and not
    /// the ones sent after it, are durably saved: a caller can go on sending the next
    /// batch while the last one is written, and wait for the mark later.
    pub async fn mark(&self) -> Result<Durable, StoreError> {
        let (done, saved) = oneshot::channel();
        self.tx.send(Message::Flush(done)).await.map_err(|_| StoreError::Closed)?;
        Ok(Durable(saved))
    }

    /// Stops accepting records, saves everything already accepted, stops the task
    /// and returns the final stats.
    pub async fn shutdown(self) -> Result<WriterStats, StoreError> {
        let (done, drained) = oneshot::channel();
        self.tx.send(Message::Shutdown(done)).await.map_err(|_| StoreError::Closed)?;
        drained.await.map_err(|_| StoreError::Closed)?;
        Ok(self.stats())
    }

    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        let saved = c.saved.load(Ordering::Relaxed);
        let duplicates = c.duplicates.load(Ordering::Relaxed);
        let accepted = c.accepted.load(Ordering::Relaxed);
        WriterStats {
            saved,
            duplicates,
            batches: c.batches.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            // `accepted` is counted just after the channel takes a record, so the
            // writer may have settled it a moment before: never report below zero.
            queued: accepted.saturating_sub(saved + duplicates),
        }
    }
}

/// A mark placed by [`BatchWriter::mark`]: resolves once every record sent before it
/// is durably saved.
#[derive(Debug)]
pub struct Durable(oneshot::Receiver<()>);

impl std::future::Future for Durable {
    type Output = Result<(), StoreError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|r| r.map_err(|_| StoreError::Closed))
    }
}

/// Where the writer task stands: records are numbered as they are taken; the saves
/// in flight and the batch being collected cover ranges of those numbers.
#[derive(Default)]
struct Progress {
    /// The number the next record taken gets.
    next: u64,
    /// The first record of the batch being collected (== `next` when it is empty).
    collecting: u64,
    /// The first record of each save in flight.
    saving: BTreeSet<u64>,
    /// Flushes waiting, with the number of records taken before each.
    flushes: VecDeque<(u64, oneshot::Sender<()>)>,
}

impl Progress {
    /// Every record numbered below this is saved.
    fn durable(&self) -> u64 {
        self.saving.first().copied().unwrap_or(self.collecting)
    }

    /// Answers the flushes whose records are all saved (flushes are in order).
    fn answer(&mut self) {
        let durable = self.durable();
        while self.flushes.front().is_some_and(|(upto, _)| *upto <= durable) {
            if let Some((_, done)) = self.flushes.pop_front() {
                // The caller may have stopped waiting; nothing to tell then.
                let _ = done.send(());
            }
        }
    }
}

/// The writer task.
struct Worker {
    store: Arc<dyn Store>,
    rx: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
    max_batch: usize,
    max_delay: Duration,
    concurrency: usize,
    ordered: bool,
}

impl Worker {
    async fn run(mut self) {
        let mut batch: Vec<Record> = Vec::with_capacity(self.max_batch);
        let mut progress = Progress::default();
        let mut shutdowns: Vec<oneshot::Sender<()>> = Vec::new();
        let mut saving: JoinSet<u64> = JoinSet::new();
        // Ordered saves: set once the last save spawned is saved.
        let mut last_saved: Option<watch::Receiver<bool>> = None;

        // After a shutdown the channel is closed: `recv` still yields what was
        // accepted before, then `None`, which ends the loop.
        loop {
            // A batch is only collected when a save can take it: while every save
            // is busy, records wait in the bounded queue, and senders behind it.
            while let Some(done) = saving.try_join_next() {
                settled(done, &mut progress);
            }
            while saving.len() >= self.concurrency {
                settled(saving.join_next().await.expect("the set is not empty"), &mut progress);
            }
            progress.answer();
            // Wait for the first record of the next batch, answering flushes as the
            // saves in flight finish.
            let first = loop {
                tokio::select! {
                    message = self.rx.recv() => break message,
                    Some(done) = saving.join_next(), if !saving.is_empty() => {
                        settled(done, &mut progress);
                        progress.answer();
                    }
                }
            };
            let Some(first) = first else { break };
            let flushes_before = progress.flushes.len();
            self.take(first, &mut batch, &mut progress, &mut shutdowns);
            let deadline = tokio::time::Instant::now() + self.max_delay;
            // A flush cuts the batch short: its caller is waiting.
            while progress.flushes.len() == flushes_before && batch.len() < self.max_batch {
                tokio::select! {
                    message = tokio::time::timeout_at(deadline, self.rx.recv()) => match message {
                        Ok(Some(message)) => self.take(message, &mut batch, &mut progress, &mut shutdowns),
                        Ok(None) | Err(_) => break,
                    },
                    Some(done) = saving.join_next(), if !saving.is_empty() => {
                        settled(done, &mut progress);
                        progress.answer();
                    }
                }
            }
            if !batch.is_empty() {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(self.max_batch));
                let first = progress.collecting;
                progress.saving.insert(first);
                progress.collecting = progress.next;
                let (store, counters) = (Arc::clone(&self.store), Arc::clone(&self.counters));
                let (saved, saved_rx) = watch::channel(false);
                let after = if self.ordered { last_saved.replace(saved_rx) } else { None };
                saving.spawn(async move {
                    save(store, counters, full, after).await;
                    let _ = saved.send(true);
                    first
                });
            }
            progress.answer();
        }
        while let Some(done) = saving.join_next().await {
            settled(done, &mut progress);
        }
        progress.answer();
        for done in shutdowns {
            let _ = done.send(());
        }
        let c = &self.counters;
        tracing::debug!(
            saved = c.saved.load(Ordering::Relaxed),
            duplicates = c.duplicates.load(Ordering::Relaxed),
            failures = c.failures.load(Ordering::Relaxed),
            "batch writer stopped"
        );
    }

    fn take(
        &mut self,
        message: Message,
        batch: &mut Vec<Record>,
        progress: &mut Progress,
        shutdowns: &mut Vec<oneshot::Sender<()>>,
    ) {
        match message {
            Message::Record(record) => {
                batch.push(record);
                progress.next += 1;
            }
            Message::Flush(done) => progress.flushes.push_back((progress.next, done)),
            Message::Shutdown(done) => {
                self.rx.close();
                shutdowns.push(done);
            }
        }
    }
}

/// A finished save task (it returns the number of its first record): a save never
/// fails (it retries), so only a panic in the store ends one early, and it is not
/// swallowed.
fn settled(done: Result<u64, tokio::task::JoinError>, progress: &mut Progress) {
    match done {
        Ok(first) => {
            progress.saving.remove(&first);
        }
        Err(error) => {
            if error.is_panic() {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }
}

/// Saves `batch`, retrying until it succeeds; with `after`, each attempt writes only
/// once the save before it is saved (or has ended in a panic).
async fn save(
    store: Arc<dyn Store>,
    counters: Arc<Counters>,
    batch: Vec<Record>,
    after: Option<watch::Receiver<bool>>,
) {
    let c = &counters;
    let mut wait = FIRST_RETRY;
    loop {
        let gate = after.clone();
        let gate: Gate = Box::pin(async move {
            if let Some(mut saved) = gate {
                let _ = saved.wait_for(|done| *done).await;
            }
        });
        match store.save_after(&batch, gate).await {
            Ok(summary) => {
                c.saved.fetch_add(summary.inserted, Ordering::Relaxed);
                c.duplicates.fetch_add(summary.duplicates, Ordering::Relaxed);
                c.batches.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(error) => {
                let failures = c.failures.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::error!(
                    error = %error,
                    records = batch.len(),
                    failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "saving a batch failed; keeping it and retrying"
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests;
