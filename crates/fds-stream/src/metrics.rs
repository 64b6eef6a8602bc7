//! What the worker counts: messages consumed, scored and dead-lettered per topic,
//! end-to-end latency, batch sizes, consumer lag per partition, pauses and commits.

use fds_pipeline::metrics::{header, label_value, Counter, Histogram, LabelledCounter};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};

/// End-to-end latency buckets, 1 ms to 5 minutes: event time can trail by minutes
/// when a producer catches up after an outage.
const END_TO_END_BOUNDS: &[f64] =
    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Batch phase buckets, 100 µs to 10 s.
const PHASE_BOUNDS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The phases of one batch, in order (see `Worker::score`).
pub const PHASES: [&str; 4] = ["score", "publish", "store", "commit"];

/// Batch size buckets (messages).
const BATCH_BOUNDS: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 5000.0];

#[derive(Debug)]
pub struct WorkerMetrics {
    pub consumed: LabelledCounter,
    pub scored: LabelledCounter,
    pub duplicates: LabelledCounter,
    pub dead_lettered: LabelledCounter,
    /// From the event's own `occurred_at` to its decision.
    pub event_to_decision: Histogram,
    /// From the moment the worker received the message to its decision.
    pub receive_to_decision: Histogram,
    pub batch_size: Histogram,
    /// Time per batch in each of [`PHASES`]: decode and score (with the redelivery
    /// lookup), wait for the broker to acknowledge every publish, wait for the store
    /// to hold the batch, commit the offsets.
    pub batch_phase: [Histogram; 4],
    pub commits: Counter,
    pub commit_failures: Counter,
    /// Times the worker paused its partitions because the store was slow.
    pub pauses: Counter,
    pub rebalances: Counter,
    /// Partitions currently assigned to this worker.
    pub assigned: AtomicI64,
    /// Consumer lag by (topic, partition), from librdkafka's statistics.
    lag: RwLock<BTreeMap<(String, i32), i64>>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self {
            consumed: LabelledCounter::default(),
            scored: LabelledCounter::default(),
            duplicates: LabelledCounter::default(),
            dead_lettered: LabelledCounter::default(),
            event_to_decision: Histogram::new(END_TO_END_BOUNDS),
            receive_to_decision: Histogram::new(END_TO_END_BOUNDS),
            batch_size: Histogram::new(BATCH_BOUNDS),
            batch_phase: PHASES.map(|_| Histogram::new(PHASE_BOUNDS)),
            commits: Counter::default(),
            commit_failures: Counter::default(),
            pauses: Counter::default(),
            rebalances: Counter::default(),
            assigned: AtomicI64::new(0),
            lag: RwLock::new(BTreeMap::new()),
        }
    }
}

impl WorkerMetrics {
    pub(crate) fn set_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.lag.write().insert((topic.to_string(), partition), lag);
    }

    /// Forgets the lag of partitions this worker no longer owns.
    pub(crate) fn forget_lag(&self, topic: &str, partition: i32) {
        self.lag.write().remove(&(topic.to_string(), partition));
    }

    pub fn lag(&self, topic: &str, partition: i32) -> Option<i64> {
        self.lag.read().get(&(topic.to_string(), partition)).copied()
    }

    /// Appends the worker's metrics in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let per_topic = [
            ("fds_worker_consumed_total", "Messages consumed, by topic.", &self.consumed),
            ("fds_worker_scored_total", "Events scored (new decisions), by topic.", &self.scored),
            (
                "fds_worker_duplicates_total",
                "Redelivered events answered with their stored decision, by topic.",
                &self.duplicates,
            ),
            (
                "fds_worker_dead_lettered_total",
                "Messages sent to the dead-letter topic, by topic.",
                &self.dead_lettered,
            ),
        ];
        for (name, help, counter) in per_topic {
            header(out, name, "counter", help);
            for (topic, n) in counter.snapshot() {
                let _ = writeln!(out, "{name}{{topic=\"{}\"}} {n}", label_value(&topic));
            }
        }
        header(out, "fds_worker_event_to_decision_seconds", "histogram", "From event time to decision.");
        self.event_to_decision.render(out, "fds_worker_event_to_decision_seconds", "");
        header(
            out,
            "fds_worker_receive_to_decision_seconds",
            "histogram",
            "From receipt by the worker to decision.",
        );
        self.receive_to_decision.render(out, "fds_worker_receive_to_decision_seconds", "");
        header(out, "fds_worker_batch_size", "histogram", "Messages per committed batch.");
        self.batch_size.render(out, "fds_worker_batch_size", "");
        header(
            out,
            "fds_worker_batch_phase_seconds",
            "histogram",
            "Time per batch: score (decode, redelivery lookup, scoring), publish (until acknowledged), store (until durable), commit.",
        );
        for (phase, histogram) in PHASES.iter().zip(&self.batch_phase) {
            histogram.render(out, "fds_worker_batch_phase_seconds", &format!("phase=\"{phase}\""));
        }
        let counters = [
            ("fds_worker_commits_total", "Offset commits after a durably stored batch.", &self.commits),
            ("fds_worker_commit_failures_total", "Offset commits the broker refused.", &self.commit_failures),
            (
                "fds_worker_pauses_total",
                "Times partitions were paused because the store was slow.",
                &self.pauses,
            ),
            ("fds_worker_rebalances_total", "Partition assignments and revocations.", &self.rebalances),
        ];
        for (name, help, counter) in counters {
            header(out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.get());
        }
        header(out, "fds_worker_assigned_partitions", "gauge", "Partitions assigned to this worker.");
        let _ = writeln!(out, "fds_worker_assigned_partitions {}", self.assigned.load(Ordering::Relaxed));
        header(
            out,
            "fds_worker_consumer_lag",
            "gauge",
            "Messages behind the partition's end, by topic and partition.",
        );
        for ((topic, partition), lag) in self.lag.read().iter() {
            let _ = writeln!(
                out,
                "fds_worker_consumer_lag{{topic=\"{}\",partition=\"{partition}\"}} {lag}",
                label_value(topic)
            );
        }
    }
}
