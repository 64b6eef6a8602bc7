//! The consumer's librdkafka context: logs rebalances, counts them and the broker's
//! answers to offset commits, and turns the client statistics into the
//! per-partition consumer-lag gauge.

use crate::metrics::WorkerMetrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The offset after the last message committed, per (topic, partition).
pub(crate) type Committed = Arc<parking_lot::Mutex<std::collections::BTreeMap<(String, i32), i64>>>;

pub(crate) struct WorkerContext {
    pub(crate) metrics: Arc<WorkerMetrics>,
    /// What the worker committed on the partitions it holds: a revoked partition is
    /// forgotten, so the last commit never moves a new owner's offset back.
    pub(crate) committed: Committed,
}

fn partitions(list: &TopicPartitionList) -> Vec<String> {
    list.elements().iter().map(|e| format!("{}/{}", e.topic(), e.partition())).collect()
}

impl ClientContext for WorkerContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (&partition, p) in &t.partitions {
                // librdkafka reports an internal partition -1 and a lag of -1 where
                // it knows none yet: neither is a real figure.
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.metrics.set_lag(topic, partition, p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for WorkerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.metrics.rebalances.inc();
        match rebalance {
            Rebalance::Revoke(list) => {
                // What was settled on these partitions and not yet committed is
                // committed now, while they are still this worker's, so the new
                // owner starts after it.
                let mut committed = self.committed.lock();
                let mut last = TopicPartitionList::new();
                for e in list.elements() {
                    self.metrics.forget_lag(e.topic(), e.partition());
                    if let Some(offset) = committed.remove(&(e.topic().to_string(), e.partition())) {
                        if let Err(error) =
                            last.add_partition_offset(e.topic(), e.partition(), Offset::Offset(offset))
                        {
                            tracing::warn!(error = %error, "building the commit failed");
                        }
                    }
                }
                drop(committed);
                if last.count() > 0 {
                    if let Err(error) = consumer.commit(&last, CommitMode::Sync) {
                        tracing::warn!(error = %error, "committing the revoked partitions failed");
                    }
                }
                self.metrics.assigned.fetch_sub(list.count() as i64, Ordering::Relaxed);
                tracing::info!(partitions = ?partitions(list), "partitions revoked");
            }
            Rebalance::Assign(list) => {
                self.metrics.assigned.fetch_add(list.count() as i64, Ordering::Relaxed);
                tracing::info!(partitions = ?partitions(list), "partitions assigned");
            }
            Rebalance::Error(error) => tracing::warn!(error = %error, "rebalance failed"),
        }
    }

    /// The broker's answer to a commit, asynchronous or not.
    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => self.metrics.commits.inc(),
            Err(error) => {
                // The batch is stored; the partition's next owner finds it de-duplicated.
                self.metrics.commit_failures.inc();
                tracing::warn!(error = %error, partitions = ?partitions(offsets), "offset commit refused");
            }
        }
    }
}
