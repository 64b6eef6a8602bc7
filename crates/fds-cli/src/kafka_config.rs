//! `[kafka]`: the settings of `fds worker` (env `FDS__KAFKA__*`). Parsed with the
//! rest of the configuration; only the worker requires `brokers`.

use fds_stream::WorkerConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKafka {
    /// Bootstrap servers, `host:port[,host:port]`.
    brokers: Option<String>,
    /// Consumer group shared by every worker replica.
    group: Option<String>,
    /// Event topics: a list, or one comma-separated string (env).
    topics: Option<Topics>,
    /// Topic every decision is published to, keyed by subscriber.
    decisions_topic: Option<String>,
    /// Topic invalid messages go to, with the reason in headers.
    dead_letter_topic: Option<String>,
    /// Most messages per stored-and-committed batch.
    batch_max: Option<u64>,
    /// Longest wait for a batch to fill once it has a message, in milliseconds.
    batch_wait_ms: Option<u64>,
    /// Messages in batches scored and published but not yet stored and committed, at most.
    in_flight_messages: Option<u64>,
    /// Shortest time between two offset commits while running, in milliseconds.
    commit_interval_ms: Option<u64>,
    /// Pause the partitions when storing a batch takes longer than this (ms).
    pause_after_ms: Option<u64>,
    /// Group session timeout in milliseconds.
    session_timeout_ms: Option<u64>,
    /// Extra librdkafka properties (`security.protocol`, `sasl.*`, tuning).
    client: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Topics {
    List(Vec<String>),
    Joined(String),
}

/// The validated `[kafka]` section.
#[derive(Clone, Debug)]
pub(crate) struct KafkaSettings {
    brokers: Option<String>,
    worker: WorkerConfig,
}

impl KafkaSettings {
    pub(crate) fn from_raw(raw: RawKafka, problems: &mut Vec<String>) -> KafkaSettings {
        let group = raw.group.unwrap_or_else(|| "fds-worker".into());
        let mut worker = WorkerConfig::new(raw.brokers.clone().unwrap_or_default(), group);
        match raw.topics {
            None => {}
            Some(Topics::List(list)) => worker.topics = list,
            Some(Topics::Joined(joined)) => {
                worker.topics =
                    joined.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect();
            }
        }
        if worker.topics.is_empty() {
            problems.push("kafka.topics: at least one topic is required".into());
        }
        if let Some(topic) = raw.decisions_topic {
            worker.decisions_topic = topic;
        }
        if let Some(topic) = raw.dead_letter_topic {
            worker.dead_letter_topic = topic;
        }
        for topic in [&worker.decisions_topic, &worker.dead_letter_topic] {
            if worker.topics.contains(topic) {
                problems.push(format!("kafka: {topic:?} is both consumed and published to"));
            }
        }
        let mut bounded = |name: &str,
                           value: Option<u64>,
                           range: std::ops::RangeInclusive<u64>,
                           default: u64| {
            let v = value.unwrap_or(default);
            if !range.contains(&v) {
                problems.push(format!("kafka.{name}: must be {}..={}, got {v}", range.start(), range.end()));
            }
            v
        };
        worker.batch_max = bounded("batch_max", raw.batch_max, 1..=100_000, worker.batch_max as u64) as usize;
        let ms = |d: Duration| d.as_millis() as u64;
        worker.batch_wait = Duration::from_millis(bounded(
            "batch_wait_ms",
            raw.batch_wait_ms,
            0..=10_000,
            ms(worker.batch_wait),
        ));
        worker.in_flight_messages = bounded(
            "in_flight_messages",
            raw.in_flight_messages,
            1..=1_000_000,
            worker.in_flight_messages as u64,
        ) as usize;
        worker.commit_interval = Duration::from_millis(bounded(
            "commit_interval_ms",
            raw.commit_interval_ms,
            0..=60_000,
            ms(worker.commit_interval),
        ));
        worker.pause_after = Duration::from_millis(bounded(
            "pause_after_ms",
            raw.pause_after_ms,
            1..=600_000,
            ms(worker.pause_after),
        ));
        worker.session_timeout = Duration::from_millis(bounded(
            "session_timeout_ms",
            raw.session_timeout_ms,
            1_000..=3_600_000,
            ms(worker.session_timeout),
        ));
        worker.client = raw.client.unwrap_or_default();
        KafkaSettings { brokers: raw.brokers, worker }
    }

    /// The worker's config, or why there is none.
    pub(crate) fn worker(&self) -> Result<WorkerConfig, String> {
        match &self.brokers {
            Some(b) if !b.trim().is_empty() => Ok(self.worker.clone()),
            _ => Err("kafka.brokers is required by fds worker (FDS__KAFKA__BROKERS=host:port)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> (KafkaSettings, Vec<String>) {
        let raw: RawKafka = toml::from_str(toml).unwrap();
        let mut problems = Vec::new();
        (KafkaSettings::from_raw(raw, &mut problems), problems)
    }

    #[test]
    fn joined_topics_split_and_defaults_fill_the_rest() {
        let (settings, problems) = parse("brokers = 'k:9092'\ntopics = 'a, b'\nbatch_max = 10");
        assert!(problems.is_empty(), "{problems:?}");
        let worker = settings.worker().unwrap();
        assert_eq!(worker.topics, ["a", "b"]);
        assert_eq!(worker.batch_max, 10);
        assert_eq!(worker.decisions_topic, "fds.decisions");
    }

    #[test]
    fn every_problem_is_reported_and_the_worker_needs_brokers() {
        let (settings, problems) = parse("topics = ['fds.decisions']\nbatch_max = 0\nsession_timeout_ms = 5");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(settings.worker().unwrap_err().contains("kafka.brokers"));
    }
}
