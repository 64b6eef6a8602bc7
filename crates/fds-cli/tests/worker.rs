//! `fds worker` end to end against the real Kafka-protocol broker and the real
//! Postgres: each test gets its own topics, consumer group and database.
//!
//! The broker comes from `FDS_TEST_KAFKA_BROKERS` (the test command starts one);
//! without it these tests fail, saying so. They are never skipped.

#![allow(clippy::unwrap_used, reason = "test helpers: a failure is the test failing")]

mod common;

use common::{repo, runtime, stored_decisions, unique, wait_until, Database, VAULT_ENV};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn brokers() -> String {
    std::env::var("FDS_TEST_KAFKA_BROKERS").unwrap_or_else(|_| {
        panic!(
            "the Kafka worker tests need a Kafka-protocol broker: set FDS_TEST_KAFKA_BROKERS=host:port \
             (scripts/test starts one)"
        )
    })
}

/// (event id, action, score, reasons) of every decision `db` holds for `ids`, by event id.
fn decisions(db: &Database, ids: &[String]) -> Vec<(String, String, String, Value)> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    stored_decisions(&db.url, &ids)
}

/// The topics of one test.
struct Topics {
    events: String,
    decisions: String,
    dead_letter: String,
}

fn create_topics(event_partitions: i32) -> Topics {
    let topics = Topics {
        events: unique("fds.events"),
        decisions: unique("fds.decisions"),
        dead_letter: unique("fds.dead-letter"),
    };
    runtime().block_on(async {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
        let new = [
            NewTopic::new(&topics.events, event_partitions, TopicReplication::Fixed(1)),
            NewTopic::new(&topics.decisions, 2, TopicReplication::Fixed(1)),
            NewTopic::new(&topics.dead_letter, 1, TopicReplication::Fixed(1)),
        ];
        for result in admin.create_topics(&new, &AdminOptions::new()).await.expect("create topics") {
            result.unwrap_or_else(|(topic, e)| panic!("creating {topic}: {e}"));
        }
    });
    topics
}

/// A payment event, `second` seconds into the stream (event times strictly
/// increase with `second`, all in the recent past).
fn payment(id: &str, subscriber: &str, second: i64, amount: i64, category: &str) -> Value {
    let at = chrono::Utc::now() - chrono::Duration::hours(2) + chrono::Duration::seconds(second);
    json!({
        "event_id": id, "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "subscriber": subscriber, "type": "payment", "amount": amount, "method": "carrier_billing",
        "merchant_id": format!("m-{}", second % 7), "merchant_category": category
    })
}

/// `n` payments over 40 subscribers, gift cards among them so rules fire and
/// velocity matters.
fn stream(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let subscriber = format!("0101000{:04}", i % 40);
            let category = if i % 3 == 0 { "gift_card" } else { "game" };
            payment(
                &format!("{prefix}-{i:06}"),
                &subscriber,
                i as i64,
                30_000 + (i as i64 % 5) * 10_000,
                category,
            )
        })
        .collect()
}

/// A message's key and payload, either possibly absent.
type Raw = (Option<Vec<u8>>, Option<Vec<u8>>);

fn produce(topic: &str, messages: &[Raw]) {
    runtime().block_on(async {
        // One message per record batch: the test broker (tansu 0.6.0) answers a
        // fetch that starts inside a batch with nothing, so a consumer resuming from a
        // committed offset in the middle of a batch would wait forever. Kafka itself
        // serves such fetches; this only keeps the tests' resumptions on batch edges.
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("message.max.bytes", "2000000")
            .create()
            .unwrap();
        let mut pending = Vec::new();
        for (key, payload) in messages {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            if let Some(k) = key {
                record = record.key(k.as_slice());
            }
            if let Some(p) = payload {
                record = record.payload(p.as_slice());
            }
            pending.push(producer.send_result(record).map_err(|(e, _)| e).expect("queued"));
        }
        for delivery in pending {
            delivery.await.unwrap().expect("delivered");
        }
    });
}

fn produce_events(topic: &str, events: &[Value]) {
    let messages: Vec<_> = events
        .iter()
        .map(|e| {
            (
                Some(e["subscriber"].as_str().unwrap().as_bytes().to_vec()),
                Some(serde_json::to_vec(e).unwrap()),
            )
        })
        .collect();
    produce(topic, &messages);
}

/// Every message on `topic` (all partitions, from the start), once `expected`
/// have arrived.
fn consume_all(topic: &str, partitions: i32, expected: usize) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("fds-test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < expected {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "only {} of {expected} messages on {topic}",
            out.len()
        );
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            out.push(m.expect("message").detach());
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `fds worker`.
struct WorkerProcess {
    child: Child,
    port: u16,
}

fn start_worker(db: &Database, topics: &Topics, group: &str, batch_max: usize) -> WorkerProcess {
    start_worker_with(db, topics, group, batch_max, &[])
}

fn start_worker_with(
    db: &Database,
    topics: &Topics,
    group: &str,
    batch_max: usize,
    settings: &[(&str, &str)],
) -> WorkerProcess {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fds"));
    cmd.current_dir(repo()).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("FDS__") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(VAULT_ENV)
        .env("FDS__API__KEYS", "worker-tests-key-0123456789")
        .env("FDS__STORE__URL", &db.url)
        .env("FDS__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("FDS__KAFKA__BROKERS", brokers())
        .env("FDS__KAFKA__GROUP", group)
        .env("FDS__KAFKA__TOPICS", &topics.events)
        .env("FDS__KAFKA__DECISIONS_TOPIC", &topics.decisions)
        .env("FDS__KAFKA__DEAD_LETTER_TOPIC", &topics.dead_letter)
        .env("FDS__KAFKA__BATCH_MAX", batch_max.to_string())
        .env("FDS__KAFKA__SESSION_TIMEOUT_MS", "6000")
        .env("FDS__LOG__LEVEL", "warn")
        .envs(settings.iter().copied())
        .args(["worker"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let child = cmd.spawn().expect("fds worker starts");
    let worker = WorkerProcess { child, port };
    wait_until("the worker's readiness endpoint", Duration::from_secs(60), || worker.metrics().is_some());
    worker
}

impl WorkerProcess {
    fn metrics(&self) -> Option<String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        use std::io::{Read, Write};
        stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
        let mut body = String::new();
        stream.read_to_string(&mut body).ok()?;
        body.contains("200 OK").then_some(body)
    }

    fn counter(&self, name: &str) -> u64 {
        self.metrics()
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "the worker did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to flush or commit.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header<'a>(m: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    let headers = m.headers()?;
    headers.iter().find(|h| h.key == name).and_then(|h| std::str::from_utf8(h.value?).ok())
}

#[test]
fn events_from_an_independent_client_come_out_as_decisions_in_the_store_and_on_the_topic() {
    let db = Database::create();
    let topics = create_topics(3);
    let events = stream("indep", 60);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    // The confluent-kafka Python client: a producer that is not ours.
    let out = Command::new("python3")
        .arg(repo().join("crates/fds-cli/tests/kafka/produce.py"))
        .args([&brokers(), &topics.events])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "producer failed: {}", String::from_utf8_lossy(&out.stderr));

    let worker = start_worker(&db, &topics, &unique("group"), 500);
    let decisions = consume_all(&topics.decisions, 2, events.len());
    wait_until("all decisions stored", Duration::from_secs(60), || {
        db.count("decisions") == events.len() as i64
    });
    let status = worker.stop();

    assert!(status.success(), "the worker exits cleanly on SIGTERM: {status}");
    assert_eq!(db.count("events"), events.len() as i64);
    let mut ids: Vec<String> = decisions
        .iter()
        .map(|m| {
            let d: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
            assert_eq!(m.key().unwrap(), d["subscriber"].as_str().unwrap().as_bytes(), "keyed by subscriber");
            assert_eq!(header(m, "fds-event-id"), d["event_id"].as_str());
            assert!(["allow", "review", "block"].contains(&d["action"].as_str().unwrap()));
            d["event_id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    let mut expected: Vec<String> =
        events.iter().map(|e| e["event_id"].as_str().unwrap().to_string()).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[test]
fn malformed_messages_are_dead_lettered_with_reasons_and_the_worker_keeps_going() {
    let db = Database::create();
    let topics = create_topics(1);
    let mut wrong_types = payment("bad-types", "01012345678", 1, 1000, "game");
    wrong_types["amount"] = json!("a lot");
    wrong_types["subscriber"] = json!(1012345678);
    let mut oversized = payment("too-big", "01012345678", 2, 1000, "game");
    oversized["padding"] = json!("x".repeat(70_000));
    let good = payment("good-1", "01012345678", 3, 1000, "game");
    // Each bad message with a phrase its dead-letter reason must contain.
    let bad: Vec<(Raw, &str)> = vec![
        ((Some(b"k1".to_vec()), Some(b"{\"event_id\": ".to_vec())), "not valid JSON"),
        ((None, Some(serde_json::to_vec(&wrong_types).unwrap())), "amount"),
        ((None, Some(serde_json::to_vec(&oversized).unwrap())), "the limit is"),
        ((None, Some(vec![0xff, 0x00, 0xfe, 0x9c, 0x01])), "not valid JSON"),
        ((Some(b"k5".to_vec()), None), "no payload"),
    ];
    let mut messages: Vec<Raw> = bad.iter().map(|(raw, _)| raw.clone()).collect();
    messages.push((Some(b"01012345678".to_vec()), Some(serde_json::to_vec(&good).unwrap())));
    produce(&topics.events, &messages);

    let worker = start_worker(&db, &topics, &unique("group"), 100);
    let dead = consume_all(&topics.dead_letter, 1, bad.len());
    wait_until("the valid event stored", Duration::from_secs(60), || db.count("decisions") == 1);
    assert_eq!(worker.counter("fds_worker_dead_lettered_total"), bad.len() as u64);
    assert!(worker.stop().success());

    assert_eq!(dead.len(), bad.len());
    for (m, ((key, payload), reason)) in dead.iter().zip(&bad) {
        let error = header(m, "fds-error").expect("error header");
        assert!(error.contains(reason), "{error:?} should mention {reason:?}");
        assert_eq!(header(m, "fds-source-topic"), Some(topics.events.as_str()));
        assert_eq!(header(m, "fds-source-partition"), Some("0"));
        assert!(header(m, "fds-source-offset").unwrap().parse::<i64>().is_ok());
        assert_eq!(m.payload().map(<[u8]>::to_vec), *payload, "the original bytes travel unchanged");
        assert_eq!(m.key().map(<[u8]>::to_vec), *key);
    }
    let offsets: Vec<&str> = dead.iter().map(|m| header(m, "fds-source-offset").unwrap()).collect();
    assert_eq!(offsets, ["0", "1", "2", "3", "4"]);
    let wrong = header(&dead[1], "fds-error").unwrap();
    assert!(wrong.contains("subscriber"), "every problem is listed: {wrong}");
    assert_eq!(db.count("events"), 1);
}

#[test]
fn a_worker_killed_mid_stream_loses_nothing_doubles_nothing_and_decides_as_an_uninterrupted_run() {
    const N: usize = 4_000;
    let topics = create_topics(1);
    let events = stream("crash", N);
    produce_events(&topics.events, &events);
    let ids: Vec<String> = events.iter().map(|e| e["event_id"].as_str().unwrap().to_string()).collect();

    // The reference: one worker reads the whole stream uninterrupted.
    let reference = Database::create();
    let worker = start_worker(&reference, &topics, &unique("reference"), 25);
    wait_until("the reference run", Duration::from_secs(120), || reference.count("decisions") == N as i64);
    assert!(worker.stop().success());
    // Batches of 25 overlap (one settles while the next is scored): each partition of
    // the decisions topic (keyed by subscriber) still holds its decisions in the order
    // of their events.
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut last_in_partition: HashMap<i32, usize> = HashMap::new();
    let published = consume_all(&topics.decisions, 2, N);
    for m in &published {
        let at = position[header(m, "fds-event-id").expect("event id header")];
        if let Some(before) = last_in_partition.insert(m.partition(), at) {
            assert!(before < at, "event {at} published after event {before} in partition {}", m.partition());
        }
    }
    assert_eq!(last_in_partition.len(), 2, "both partitions of the decisions topic are used");

    // The same stream, killed with SIGKILL part-way, then restarted.
    let db = Database::create();
    let group = unique("crash");
    let worker = start_worker(&db, &topics, &group, 25);
    wait_until("a third of the stream stored", Duration::from_secs(120), || {
        db.count("decisions") >= (N / 3) as i64
    });
    worker.kill9();
    let at_kill = db.count("decisions");
    assert!(at_kill < N as i64, "the stream finished before the kill ({at_kill}); raise N");
    let worker = start_worker(&db, &topics, &group, 25);
    wait_until("the rest of the stream", Duration::from_secs(120), || db.count("decisions") >= N as i64);
    let redelivered = worker.counter("fds_worker_duplicates_total");
    assert!(worker.stop().success());

    assert_eq!(db.count("events"), N as i64, "every event stored once");
    assert_eq!(db.count("decisions"), N as i64, "every decision stored once");
    let after_crash = decisions(&db, &ids);
    assert_eq!(after_crash.len(), N);
    // Velocity state rebuilt from the store on restart is the state an
    // uninterrupted run had: every decision (action, score, reasons with feature
    // values) is the same.
    let uninterrupted = decisions(&reference, &ids);
    for (a, b) in after_crash.iter().zip(&uninterrupted) {
        assert_eq!(a, b, "decision for {} differs from the uninterrupted run", a.0);
    }
    eprintln!("killed at {at_kill} stored; {redelivered} redelivered events answered from the store");
}

#[test]
fn two_workers_share_the_partitions_and_one_takes_over_when_the_other_stops() {
    const N: usize = 1_200;
    let db = Database::create();
    let topics = create_topics(4);
    let group = unique("pair");
    let events = stream("pair", N);
    let a = start_worker(&db, &topics, &group, 50);
    let b = start_worker(&db, &topics, &group, 50);
    wait_until("the partitions shared between the two", Duration::from_secs(60), || {
        let (on_a, on_b) =
            (a.counter("fds_worker_assigned_partitions"), b.counter("fds_worker_assigned_partitions"));
        on_a > 0 && on_b > 0 && on_a + on_b == 4
    });
    produce_events(&topics.events, &events[..N / 2]);
    wait_until("the first half stored", Duration::from_secs(120), || db.count("decisions") == (N / 2) as i64);
    let (by_a, by_b) = (a.counter("fds_worker_consumed_total"), b.counter("fds_worker_consumed_total"));
    assert!(by_a > 0 && by_b > 0, "both workers consume: {by_a} and {by_b}");

    assert!(b.stop().success());
    produce_events(&topics.events, &events[N / 2..]);
    wait_until("the second half stored by the survivor", Duration::from_secs(120), || {
        db.count("decisions") >= N as i64
    });
    assert!(a.counter("fds_worker_consumed_total") >= (N / 2) as u64);
    assert!(a.stop().success());
    assert_eq!(db.count("decisions"), N as i64);
    assert_eq!(db.count("events"), N as i64);
}

/// Holds an exclusive lock on `table` for `hold`: every read and write of it waits, as
/// with a store that has stopped answering. Returns once the lock is held.
fn lock_table(db: &Database, table: &str, hold: Duration) -> Child {
    let sql = format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep({}); COMMIT;",
        hold.as_secs_f64()
    );
    let child = Command::new("psql")
        .args([db.url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
        .stdout(Stdio::null())
        .spawn()
        .expect("psql runs");
    wait_until("the lock held", Duration::from_secs(10), || {
        runtime().block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_as::<_, (i64,)>(
                "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted \
                 AND relation = $1::regclass",
            )
            .bind(table)
            .fetch_one(&mut c)
            .await
            .is_ok_and(|(n,)| n > 0)
        })
    });
    child
}

#[test]
fn a_slow_store_pauses_the_partitions_and_the_worker_resumes_with_nothing_lost() {
    let db = Database::create();
    let topics = create_topics(2);
    let before = stream("calm", 50);
    // More messages than the worker keeps in flight (200, in batches of 50), so it
    // has to wait.
    let during = stream("slow", 400);
    let worker = start_worker_with(
        &db,
        &topics,
        &unique("group"),
        50,
        &[("FDS__KAFKA__PAUSE_AFTER_MS", "300"), ("FDS__KAFKA__IN_FLIGHT_MESSAGES", "200")],
    );
    produce_events(&topics.events, &before);
    wait_until("the first events stored", Duration::from_secs(60), || db.count("decisions") == 50);
    assert_eq!(worker.counter("fds_worker_pauses_total"), 0, "a healthy store never pauses");

    // The store stops answering for 5 s while system A keeps publishing.
    let mut lock = lock_table(&db, "events", Duration::from_secs(5));
    produce_events(&topics.events, &during);
    wait_until("the partitions paused", Duration::from_secs(4), || {
        worker.counter("fds_worker_pauses_total") > 0
    });
    assert_eq!(db.count("decisions"), 50, "nothing is half-written while the store is stuck");
    assert!(lock.wait().unwrap().success(), "the lock session ends cleanly");

    // The store answers again: the worker resumes and stores the rest, each once.
    let total = (before.len() + during.len()) as i64;
    wait_until("every event stored", Duration::from_secs(60), || db.count("decisions") == total);
    let pauses = worker.counter("fds_worker_pauses_total");
    assert!(worker.stop().success());
    assert!(pauses >= 1);
    assert_eq!(db.count("events"), total, "no event lost or doubled");
    let ids: Vec<String> =
        before.iter().chain(&during).map(|e| e["event_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(decisions(&db, &ids).len(), ids.len());
}
