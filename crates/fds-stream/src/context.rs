//! The consumer's librdkafka context: logs rebalances, counts them, and turns the
//! client statistics into the per-partition consumer-lag gauge.

use crate::metrics::WorkerMetrics;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, Statistics, TopicPartitionList};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(crate) struct WorkerContext {
    pub(crate) metrics: Arc<WorkerMetrics>,
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
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.metrics.rebalances.inc();
        match rebalance {
            Rebalance::Revoke(list) => {
                for e in list.elements() {
                    self.metrics.forget_lag(e.topic(), e.partition());
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
}
