//! The worker's settings. The command line fills them from the layered config
//! (`[kafka]`, `FDS__KAFKA__...`); tests build them directly.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// The consumer group: every worker replica joins the same one, and the
    /// partitions (events keyed by subscriber) are shared among them.
    pub group_id: String,
    /// The event topics to consume.
    pub topics: Vec<String>,
    /// Where every decision is published, keyed by subscriber, for the downstream
    /// blocking systems.
    pub decisions_topic: String,
    /// Where messages that are not valid events go, with the reason in headers.
    pub dead_letter_topic: String,
    /// The most messages scored before the batch is stored and committed.
    pub batch_max: usize,
    /// How long a batch may wait for more messages once it has one: bounds the
    /// time from receipt to durable storage and commit when traffic is light.
    pub batch_wait: Duration,
    /// Messages in batches scored and published but not yet durable and committed,
    /// at most: decisions flow while the store writes; beyond this the worker waits
    /// for the oldest batch (one batch may always settle, however large). Counted in
    /// messages, not batches, so light traffic (small batches) rides out a store
    /// hiccup as long as heavy traffic does, with the same memory bound.
    pub in_flight_messages: usize,
    /// The shortest time between two offset commits while running: a settled batch's
    /// offsets wait for the next commit at most this long (a commit also goes out when
    /// partitions are revoked and when the worker stops). Fewer commits spare the
    /// broker; a crash redelivers at most this much more, which the store de-duplicates.
    pub commit_interval: Duration,
    /// Larger messages are dead-lettered unread.
    pub max_message_bytes: usize,
    /// If storing a batch takes longer than this, the worker pauses its partitions
    /// (keeping its group membership alive) until the store catches up, so nothing
    /// is buffered without bound.
    pub pause_after: Duration,
    /// The group session timeout: how quickly a dead worker's partitions move.
    pub session_timeout: Duration,
    /// How often librdkafka reports statistics (consumer lag).
    pub statistics_interval: Duration,
    /// Further librdkafka properties (security settings, tuning), applied last.
    pub client: BTreeMap<String, String>,
}

impl WorkerConfig {
    /// A config with the production defaults for the given brokers and group.
    pub fn new(brokers: impl Into<String>, group_id: impl Into<String>) -> WorkerConfig {
        WorkerConfig {
            brokers: brokers.into(),
            group_id: group_id.into(),
            topics: vec!["fds.events.telecom".into(), "fds.events.payment".into()],
            decisions_topic: "fds.decisions".into(),
            dead_letter_topic: "fds.events.dead-letter".into(),
            batch_max: 2_000,
            batch_wait: Duration::from_millis(20),
            in_flight_messages: 8_000,
            commit_interval: Duration::from_millis(200),
            max_message_bytes: fds_core::MAX_EVENT_BYTES,
            pause_after: Duration::from_millis(500),
            session_timeout: Duration::from_secs(10),
            statistics_interval: Duration::from_secs(5),
            client: BTreeMap::new(),
        }
    }
}
