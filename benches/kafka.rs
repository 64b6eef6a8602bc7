//! The Kafka worker under load: Kafka → validate → score (the full rule library)
//! → publish decisions → Postgres, with the real broker and the real Postgres on
//! this machine (they share its cores with the producer, the worker and the
//! consumer of this program).
//!
//! Run: `FDS_TEST_KAFKA_BROKERS=127.0.0.1:PORT cargo bench --bench kafka`
//! (options: `-- --events N --rate R --seconds S`, the worker's `--batch-wait-ms`
//! and `--in-flight-messages`, defaults as in production, `--partitions P` for the events
//! and decisions topics (4), `--linger-ms` for the producer of system A's events
//! (5), `--fetch-wait-ms` for the worker and the downstream consumer (5),
//! `--window-s` for the latency tail per window of the run (5), the store writer's
//! `--save-concurrency` (saves in flight) and `--save-batch` (records per save), and
//! `--only throughput|latency` for one phase). Each phase runs on a fresh database,
//! dropped once its figures are printed. Prints:
//! - sustained throughput: N events produced up front, then the time for the
//!   worker to have every one scored, published and durably stored;
//! - end-to-end latency at a fixed rate: events produced at R/s for S seconds;
//!   for each, the time from its produce call to its decision arriving at a
//!   downstream consumer of the decisions topic.
//!
//! After the throughput run it prints the mean time per batch in each phase (score,
//! publish, store, commit) and the CPU time each process spent per event: this program
//! (producer, worker, consumer), the broker and Postgres (read from `/proc`).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) a small smoke run
//! checks that the benchmark works.

use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::{Pipeline, SystemClock};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_sim::{SimConfig, Simulator};
use fds_stream::{Worker, WorkerConfig};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{Connection, Executor, PgConnection};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `fds` binary runs with (see `crates/fds-cli/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn brokers() -> String {
    std::env::var("FDS_TEST_KAFKA_BROKERS")
        .expect("this benchmark needs a Kafka-protocol broker: set FDS_TEST_KAFKA_BROKERS=host:port")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn admin_url() -> String {
    std::env::var("FDS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh Postgres database for one phase of the run: its name and URL.
async fn database() -> (String, String) {
    let admin_url = admin_url();
    let name = unique("fds_bench_kafka").replace('-', "_");
    let mut admin = PgConnection::connect(&admin_url).await.expect("Postgres for the benchmark");
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
    let (base, _) = admin_url.rsplit_once('/').expect("database url");
    let url = format!("{base}/{name}");
    (name, url)
}

/// Drops a phase's database once its figures are printed, so runs do not pile up
/// databases whose files every later checkpoint has to visit.
async fn drop_database(name: &str) {
    let mut admin = PgConnection::connect(&admin_url()).await.expect("Postgres for the benchmark");
    admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.expect("drop database");
}

async fn create_topics(topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers()).create().expect("admin client");
    let new: Vec<NewTopic<'_>> =
        topics.iter().map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1))).collect();
    for r in admin.create_topics(&new, &AdminOptions::new()).await.expect("create topics") {
        r.expect("topic created");
    }
}

fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("linger.ms", arg("--linger-ms", 5).to_string())
        // Small record batches: the test broker (tansu 0.6.0) cannot serve a fetch
        // that starts inside a batch, which a fetch cut at its byte limit leads to.
        .set("batch.num.messages", "50")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer")
}

/// Simulated events as (subscriber key, JSON bytes, event id).
fn events(seed: u64, n: usize) -> Vec<(String, Vec<u8>, String)> {
    // Far enough back that the simulated timeline ends before now: events from the
    // future would be refused.
    let start = chrono::Utc::now() - chrono::Duration::days(120);
    Simulator::new(SimConfig { seed, subscribers: 20_000, start, ..SimConfig::default() })
        .take(n)
        .map(|v| {
            let key = v["subscriber"].as_str().expect("subscriber").to_string();
            let id = v["event_id"].as_str().expect("event id").to_string();
            (key, serde_json::to_vec(&v).expect("json"), id)
        })
        .collect()
}

/// Partitions of the events and decisions topics (`--partitions`, 4).
fn partitions() -> i32 {
    arg("--partitions", 4) as i32
}

/// `fetch.wait.max.ms` of the worker and the downstream consumer (`--fetch-wait-ms`, 5).
fn fetch_wait_ms() -> String {
    arg("--fetch-wait-ms", 5).to_string()
}

/// Quantile `q` (0 to 1) of `sorted`, 0 when it is empty.
fn quantile(sorted: &[u64], q: f64) -> u64 {
    sorted.get(((sorted.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0)
}

fn percentiles(what: &str, mut micros: Vec<u64>) {
    micros.sort_unstable();
    let at = |q: f64| quantile(&micros, q) as f64 / 1000.0;
    println!(
        "{what}: {} events; p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
        micros.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

struct Running {
    pipeline: Arc<Pipeline>,
    metrics: Arc<fds_stream::WorkerMetrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_worker(url: &str, events_topic: &str, decisions_topic: &str) -> Running {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let text = std::fs::read_to_string(rules.join("features.toml")).expect("features.toml");
    let features = Arc::new(FeatureSet::from_toml_str(&text).expect("features"));
    let pack = Arc::new(RulePack::load_dir(&rules, features.names(), features.utc_offset()).expect("rules"));
    let scorer = Scorer::new(pack, features.clone(), ScoringConfig::default());
    let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
    let store = fds_store::open(url, vault).await.expect("store");
    let mut pipeline_config = fds_stream::pipeline_config();
    let writer = &mut pipeline_config.writer;
    writer.concurrency = arg("--save-concurrency", writer.concurrency);
    writer.max_batch = arg("--save-batch", writer.max_batch);
    let pipeline = Arc::new(
        Pipeline::start(
            scorer,
            Arc::new(InMemoryFeatures::new(features)),
            store,
            Arc::new(SystemClock),
            pipeline_config,
        )
        .await
        .expect("pipeline"),
    );
    let mut config = WorkerConfig::new(brokers(), unique("bench-group"));
    config.topics = vec![events_topic.to_string()];
    config.decisions_topic = decisions_topic.to_string();
    config.dead_letter_topic = unique("bench.dead-letter");
    // The test broker holds a fetch for its full wait even when data arrives; a short
    // wait keeps that out of the latency (Kafka answers as soon as data is there).
    config.client.insert("fetch.wait.max.ms".into(), fetch_wait_ms());
    config.batch_wait =
        Duration::from_millis(arg("--batch-wait-ms", config.batch_wait.as_millis() as usize) as u64);
    config.in_flight_messages = arg("--in-flight-messages", config.in_flight_messages);
    create_topics(&[(&config.dead_letter_topic, 1)]).await;
    let worker = Worker::new(config, pipeline.clone()).expect("worker");
    let metrics = worker.metrics();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
            .expect("worker run");
    });
    Running { pipeline, metrics, stop, task }
}

async fn throughput(url: &str, n: usize) {
    let topic = unique("bench.events");
    let decisions = unique("bench.decisions");
    create_topics(&[(&topic, partitions()), (&decisions, partitions())]).await;
    let events = events(11, n);
    let producer = producer();
    let t = Instant::now();
    let mut pending = Vec::with_capacity(n);
    for (key, payload, _) in &events {
        let mut record = FutureRecord::to(&topic).key(key.as_str()).payload(payload.as_slice());
        // Queued at once; a full producer queue waits for deliveries to drain.
        loop {
            match producer.send_result(record) {
                Ok(delivery) => break pending.push(delivery),
                Err((_, back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    for p in pending {
        p.await.expect("delivery").expect("delivered");
    }
    println!("produced {n} events up front in {:.2} s", t.elapsed().as_secs_f64());

    let running = start_worker(url, &topic, &decisions).await;
    assigned(&running).await;
    let cpu_before = cpu_split();
    let t = Instant::now();
    loop {
        let w = running.pipeline.writer_stats();
        let dead: u64 = running.metrics.dead_lettered.snapshot().iter().map(|(_, n)| n).sum();
        if w.saved + w.duplicates + dead >= n as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = t.elapsed();
    let cpu_after = cpu_split();
    let _ = running.stop.send(());
    running.task.await.expect("worker task");
    let m = running.pipeline.metrics();
    report_batches(&running.metrics);
    let per_event = |i: usize| (cpu_after[i] - cpu_before[i]) * 1e6 / n as f64;
    println!(
        "CPU per event: this process (worker, producer idle, consumer idle) {:.0} µs, broker {:.0} µs, Postgres {:.0} µs; total {:.0} µs ({:.2} cores busy)",
        per_event(0),
        per_event(1),
        per_event(2),
        per_event(0) + per_event(1) + per_event(2),
        (0..3).map(|i| cpu_after[i] - cpu_before[i]).sum::<f64>() / elapsed.as_secs_f64()
    );
    let dead: u64 = running.metrics.dead_lettered.snapshot().iter().map(|(_, n)| n).sum();
    println!(
        "sustained Kafka -> score -> Postgres: {n} events in {:.2} s = {:.0} events/s ({} rules; blocks {}, reviews {}, dead-lettered {dead})",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        running.pipeline.scorer().rules().rules().len(),
        m.decisions(fds_core::Action::Block),
        m.decisions(fds_core::Action::Review),
    );
}

/// The worker's batches: how many, their mean size and mean time in each phase.
fn report_batches(metrics: &fds_stream::WorkerMetrics) {
    let phases: Vec<String> = fds_stream::PHASES
        .iter()
        .zip(&metrics.batch_phase)
        .map(|(phase, h)| format!("{phase} {:.1} ms", h.sum_seconds() * 1e3 / h.count().max(1) as f64))
        .collect();
    println!(
        "batches: {}, mean size {:.0}; mean per batch: {}",
        metrics.batch_size.count(),
        metrics.batch_size.sum_seconds() / metrics.batch_size.count().max(1) as f64,
        phases.join(", ")
    );
}

/// CPU seconds (user + system) used so far by this process, by the broker (`tansu`)
/// and by every Postgres process, from `/proc`.
fn cpu_split() -> [f64; 3] {
    let ticks = 100.0; // USER_HZ on Linux
    let mut out = [0.0; 3];
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ...`: fields after the closing parenthesis, utime is the 12th.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let cpu = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let seconds = (cpu(11) + cpu(12)) / ticks;
        let slot = if name == me {
            0
        } else if comm.starts_with("tansu") {
            1
        } else if comm.starts_with("postgres") {
            2
        } else {
            continue;
        };
        out[slot] += seconds;
    }
    out
}

/// Waits until the worker owns partitions: figures start once the group is joined.
async fn assigned(running: &Running) {
    while running.metrics.assigned.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A monotonic instant and the wall-clock time of the same moment.
type Moment = (Instant, chrono::DateTime<chrono::Utc>);

async fn latency(url: &str, rate: usize, seconds: usize) {
    let topic = unique("bench.events");
    let decisions = unique("bench.decisions");
    create_topics(&[(&topic, partitions()), (&decisions, partitions())]).await;
    let n = rate * seconds;
    let events = events(23, n);
    let running = start_worker(url, &topic, &decisions).await;

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("bench-downstream"))
        .set("fetch.wait.max.ms", fetch_wait_ms())
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&decisions]).expect("subscribe");
    // Both ends joined before the clock starts: group joins are not latency.
    assigned(&running).await;
    while consumer.assignment().map_or(0, |a| a.count()) == 0 {
        let _ = tokio::time::timeout(Duration::from_millis(50), consumer.recv()).await;
    }
    let downstream = tokio::spawn(async move {
        // Arrival, and when the worker decided (the decision's `decided_at`).
        let mut arrived: HashMap<String, Moment> = HashMap::with_capacity(n);
        while arrived.len() < n {
            let m = consumer.recv().await.expect("decision");
            let at = Instant::now();
            let id = m
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == "fds-event-id").and_then(|h| h.value))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .expect("event id header");
            let decision: serde_json::Value =
                serde_json::from_slice(m.payload().expect("a decision")).expect("decision json");
            let decided = decision["decided_at"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .expect("decided_at")
                .with_timezone(&chrono::Utc);
            arrived.entry(id).or_insert((at, decided));
        }
        arrived
    });

    let producer = producer();
    let mut sent: HashMap<String, Moment> = HashMap::with_capacity(n);
    let cpu_before = cpu_split();
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(n);
    for (i, (key, payload, id)) in events.iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        sent.insert(id.clone(), (Instant::now(), chrono::Utc::now()));
        let record = FutureRecord::to(&topic).key(key.as_str()).payload(payload.as_slice());
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).expect("queued"));
    }
    for d in deliveries {
        d.await.expect("delivery").expect("delivered");
    }
    let mut downstream = downstream;
    let arrived = loop {
        match tokio::time::timeout(Duration::from_secs(30), &mut downstream).await {
            Ok(arrived) => break arrived.expect("downstream"),
            Err(_) => {
                let w = running.pipeline.writer_stats();
                let scored: u64 = running.metrics.scored.snapshot().iter().map(|(_, n)| n).sum();
                let consumed: u64 = running.metrics.consumed.snapshot().iter().map(|(_, n)| n).sum();
                eprintln!(
                    "still waiting for decisions downstream: worker consumed {consumed}, scored {scored}, \
                     committed batches {}, pauses {}, writer {w:?}",
                    running.metrics.batch_size.count(),
                    running.metrics.pauses.get()
                );
            }
        }
    };
    let (cpu_after, elapsed) = (cpu_split(), started.elapsed().as_secs_f64());
    let _ = running.stop.send(());
    running.task.await.expect("worker task");
    report_batches(&running.metrics);
    println!(
        "cores busy during the run: this process (producer, worker, downstream consumer) {:.2}, broker {:.2}, Postgres {:.2}",
        (cpu_after[0] - cpu_before[0]) / elapsed,
        (cpu_after[1] - cpu_before[1]) / elapsed,
        (cpu_after[2] - cpu_before[2]) / elapsed,
    );
    let micros: Vec<u64> = sent
        .iter()
        .map(|(id, (at, _))| {
            arrived.get(id).map_or(u64::MAX, |(a, _)| a.duration_since(*at).as_micros() as u64)
        })
        .collect();
    percentiles(
        &format!("end-to-end at {rate} events/s for {seconds} s (produce -> decision downstream)"),
        micros,
    );
    // The tail over the run: p99 and the largest per window of produce time
    // (`--window-s`, 5 s), so a tail that grows with the run (the test broker's log) shows apart
    // from one that comes in bursts.
    let window_s = arg("--window-s", 5).max(1);
    let mut windows: Vec<Vec<u64>> = vec![Vec::new(); seconds.div_ceil(window_s).max(1)];
    for (id, (at, _)) in &sent {
        let window = (at.duration_since(started).as_secs() as usize / window_s).min(windows.len() - 1);
        windows[window]
            .push(arrived.get(id).map_or(u64::MAX, |(a, _)| a.duration_since(*at).as_micros() as u64));
    }
    let by_window: Vec<String> = windows
        .iter_mut()
        .map(|w| {
            w.sort_unstable();
            format!("{:.0}/{:.0}", quantile(w, 0.99) as f64 / 1000.0, quantile(w, 1.0) as f64 / 1000.0)
        })
        .collect();
    println!("  p99/max in ms per {window_s} s of the run: {}", by_window.join(" "));
    // The same path in two parts, split at the worker's decision (wall clock, one
    // machine): produce -> broker -> worker (batch wait, scoring), then publish ->
    // broker -> downstream consumer.
    let split = |part: fn(&Moment, &Moment) -> i64| {
        sent.iter()
            .filter_map(|(id, s)| arrived.get(id).map(|a| part(s, a).max(0) as u64))
            .collect::<Vec<u64>>()
    };
    percentiles(
        "  of which produce -> decided by the worker",
        split(|(_, sent), (_, decided)| (*decided - *sent).num_microseconds().unwrap_or(0)),
    );
    percentiles(
        "  of which decided -> received downstream",
        split(|(sent_at, sent), (arrived_at, decided)| {
            arrived_at.duration_since(*sent_at).as_micros() as i64
                - (*decided - *sent).num_microseconds().unwrap_or(0)
        }),
    );
    // The worker's own part of the first: from its consumer handing it the message
    // to the decision (batch wait, redelivery lookup, scoring), from its histogram,
    // so at bucket resolution.
    let own = &running.metrics.receive_to_decision;
    let bound =
        |q: f64| own.quantile_bound(q).map_or_else(|| "> 1 s".into(), |b| format!("<= {:.1} ms", b * 1e3));
    println!(
        "  within the worker, received -> decided: mean {:.1} ms, p50 {}, p99 {}, p99.9 {}",
        own.sum_seconds() * 1e3 / own.count().max(1) as f64,
        bound(0.5),
        bound(0.99),
        bound(0.999)
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = arg("--events", if full { 300_000 } else { 2_000 });
    let rate = arg("--rate", if full { 5_000 } else { 500 });
    let seconds = arg("--seconds", if full { 30 } else { 2 });
    // The worker's warnings (a pause names what it waited for) go to stderr;
    // `RUST_LOG` overrides the level.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        println!(
            "{} cores; broker {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            brokers()
        );
        // `--only throughput|latency` runs one phase, each on a freshly started
        // broker if wanted (the test broker slows as its in-memory log grows).
        let only = std::env::args().skip_while(|a| a != "--only").nth(1);
        if only.as_deref() != Some("latency") {
            let (name, url) = database().await;
            throughput(&url, n).await;
            drop_database(&name).await;
        }
        if only.as_deref() != Some("throughput") {
            let (name, url) = database().await;
            latency(&url, rate, seconds).await;
            drop_database(&name).await;
        }
    });
}
