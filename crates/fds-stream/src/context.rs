//! The consumer's librdkafka context: logs rebalances, counts them and the broker's
//! answers to offset commits, and turns the client statistics into the
//! per-partition consumer-lag gauge.

use crate::metrics::WorkerMetrics;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Offset, Statistics, TopicPartitionList};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Per (topic, partition) held, the offset after the last message of the batches
/// settled there: what the next commit sends.
pub(crate) type Committed = Arc<parking_lot::Mutex<std::collections::BTreeMap<(String, i32), i64>>>;

pub(crate) struct WorkerContext {
    pub(crate) metrics: Arc<WorkerMetrics>,
    /// Shared with the worker, which records into it. A revoked partition's offset is
    /// committed and forgotten here, so no later commit moves a new owner's offset back.
    pub(crate) committed: Committed,
}

/// The commit of `offsets` for the partitions `keep` accepts.
pub(crate) fn commit_list<'a>(
    offsets: impl IntoIterator<Item = (&'a str, i32, i64)>,
    keep: impl Fn(&str, i32) -> bool,
) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in offsets {
        if keep(topic, partition) {
            if let Err(error) = list.add_partition_offset(topic, partition, Offset::Offset(offset)) {
                tracing::warn!(error = %error, "building the commit failed");
            }
        }
    }
    list
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
                let mut revoked = Vec::new();
                for e in list.elements() {
                    self.metrics.forget_lag(e.topic(), e.partition());
                    let (topic, partition) = (e.topic().to_string(), e.partition());
                    if let Some(offset) = committed.remove(&(topic.clone(), partition)) {
                        revoked.push((topic, partition, offset));
                    }
                }
                drop(committed);
                let last = commit_list(revoked.iter().map(|(t, p, o)| (t.as_str(), *p, *o)), |_, _| true);
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
