//! The production store at one year's scale: a fresh Postgres database loaded with
//! a year of synthetic decisions through the store's batched `save` (PII sealed by
//! the vault, blind indexes, monthly partitions, rollups), then the reads and the
//! retention run the business relies on.
//!
//! Run: `cargo bench --bench store_scale`. Environment:
//! - `FDS_BENCH_DECISIONS` — decisions to load (default 10,000,000; try 1,000,000 first);
//! - `FDS_BENCH_BATCH` — records per `save` during the load (default 1,000);
//! - `FDS_BENCH_WRITERS` — concurrent savers during the load (default 2);
//! - `FDS_BENCH_WRITER_BATCH`, `FDS_BENCH_WRITER_CONCURRENCY` — the batch writer's
//!   `max_batch` and `concurrency` in the sustained run (default: its defaults);
//! - `FDS_TEST_POSTGRES_URL` — the server (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `FDS_BENCH_KEEP=1` — keep the database afterwards (it is dropped otherwise).
//!
//! It reports the load time and rate, the sustained insert rate of the production
//! writer (`BatchWriter`, default configuration) on top of the loaded year, p50/p99 of
//! one subscriber's decisions looked up by blind index and of another's events (read
//! through their decisions), the dashboard over 30 days
//! (hourly) and 12 months (daily), and the retention run that drops the oldest
//! month. Without `--bench` (as under `cargo test --all-targets`) it does the same
//! with a few thousand decisions, as a smoke test.

use anyhow::{ensure, Context};
use chrono::{Datelike, TimeZone};
use fds_core::{
    Action, Block, BlockScope, Call, Decision, Direction, Event, EventBody, FeatureValue, MerchantCategory,
    Payment, PaymentMethod, Pii, Reason, RuleAction, Sms, Timestamp,
};
use fds_store::{BatchWriter, Bucket, KeyRing, PgStore, Record, RetentionPolicy, Store, Vault, WriterConfig};
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(value) => value.parse().with_context(|| format!("{name} must be a whole number")),
        Err(_) => Ok(default),
    }
}

/// SplitMix64: a small seeded generator, so every run loads the same year.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The synthetic traffic: `subscribers` lines, events spread evenly from `start`
/// to `end` in time order (as a writer receives them), mostly calls and SMS,
/// a third payments; 95% allowed, 3.5% reviewed, 1.5% blocked.
struct Traffic {
    start: Timestamp,
    step_us: i64,
    subscribers: u64,
}

const FAMILIES: [&str; 6] = [
    "identity_theft",
    "handset_fraud",
    "voice_phishing",
    "sim_swap_takeover",
    "carrier_billing_abuse",
    "irsf",
];

impl Traffic {
    fn subscriber(n: u64) -> String {
        format!("010{:08}", n)
    }

    fn record(&self, i: u64) -> Record {
        let mut rng = Rng(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xF05);
        let occurred_at =
            self.start + chrono::Duration::microseconds(self.step_us * i as i64 + rng.below(1_000) as i64);
        let subscriber = Traffic::subscriber(rng.below(self.subscribers));
        let event_id = format!("bench-{i:010}");
        let body = match rng.below(100) {
            0..=44 => EventBody::Call(Call {
                callee: Pii::new(format!("010{:08}", rng.below(100_000_000))),
                direction: if rng.below(2) == 0 { Direction::Out } else { Direction::In },
                duration_s: rng.below(1_800) as i64,
                callee_country: if rng.below(50) == 0 { "GB".into() } else { "KR".into() },
                forwarded: None,
                cell_id: Some(format!("cell-{}", rng.below(5_000))),
            }),
            45..=64 => EventBody::Sms(Sms {
                recipient: Pii::new(format!("010{:08}", rng.below(100_000_000))),
                direction: Direction::Out,
                recipient_country: "KR".into(),
                contains_url: Some(rng.below(10) == 0),
            }),
            _ => {
                let card = rng.below(3) == 0;
                EventBody::Payment(Payment {
                    amount: 1_000 * (1 + rng.below(100) as i64),
                    method: if card { PaymentMethod::Card } else { PaymentMethod::CarrierBilling },
                    merchant_id: format!("m-{}", rng.below(2_000)),
                    merchant_category: match rng.below(4) {
                        0 => MerchantCategory::GiftCard,
                        1 => MerchantCategory::Game,
                        2 => MerchantCategory::DigitalContent,
                        _ => MerchantCategory::Retail,
                    },
                    card_number: card.then(|| Pii::new(format!("4111{:012}", rng.below(1_000_000_000_000)))),
                    account: None,
                    device_imei: None,
                    channel: Some("app".into()),
                })
            }
        };
        let event = Event {
            event_id,
            occurred_at,
            subscriber: Pii::new(subscriber),
            source: Some("bench".into()),
            body,
            extra: serde_json::Map::new(),
        };
        let action = match rng.below(1_000) {
            0..=14 => Action::Block,
            15..=49 => Action::Review,
            _ => Action::Allow,
        };
        let hits = match action {
            Action::Allow => usize::from(rng.below(10) == 0),
            Action::Review => 1 + rng.below(2) as usize,
            Action::Block => 2,
        };
        let reasons = (0..hits)
            .map(|_| {
                let family = FAMILIES[rng.below(FAMILIES.len() as u64) as usize];
                Reason::Rule {
                    rule_id: format!("{}-{:03}", &family[..2].to_uppercase(), rng.below(12)),
                    name: "velocity over the family's threshold".into(),
                    family: family.into(),
                    action: match action {
                        Action::Allow => RuleAction::Tag,
                        Action::Review => RuleAction::Review,
                        Action::Block => RuleAction::Block,
                    },
                    score: 35.0,
                    features: [("count_24h".to_string(), FeatureValue::Int(rng.below(40) as i64))]
                        .into_iter()
                        .collect(),
                }
            })
            .collect();
        let decided_at = occurred_at + chrono::Duration::milliseconds(2);
        let decision_id = fds_core::ids::decision_id(&event.event_id);
        let block = (action == Action::Block).then(|| Block {
            block_id: fds_core::ids::block_id(&event.event_id),
            subscriber: event.subscriber.clone(),
            scope: BlockScope::Payments,
            since: decided_at,
            until: decided_at + chrono::Duration::days(1),
            decision_id: decision_id.clone(),
            reason: "rules".into(),
        });
        let decision = Decision {
            decision_id,
            event_id: event.event_id.clone(),
            subscriber: event.subscriber.clone(),
            event_type: event.event_type(),
            occurred_at,
            action,
            score: match action {
                Action::Allow => rng.below(30) as f64,
                Action::Review => 50.0 + rng.below(30) as f64,
                Action::Block => 85.0,
            },
            reasons,
            block,
            rules_version: "pack-7".into(),
            model_versions: vec!["iforest-3".into()],
            decided_at,
            latency_us: 150 + rng.below(500),
        };
        Record { received_at: decided_at, event, decision }
    }
}

/// Percentile `q` of sorted `values`, in milliseconds.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1_000.0
}

/// Saves records `from..to` of `traffic` with `writers` concurrent savers, in
/// batches of `batch`; prints progress every `report_every` records. Returns the
/// elapsed time.
async fn load(
    store: &Arc<PgStore>,
    traffic: &Arc<Traffic>,
    (from, to): (u64, u64),
    batch: u64,
    writers: u64,
    report_every: u64,
) -> anyhow::Result<Duration> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(from));
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (store, traffic, next, done) = (store.clone(), traffic.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut last_report = Instant::now();
            loop {
                let first = next.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
                if first >= to {
                    return anyhow::Ok(());
                }
                let records: Vec<Record> =
                    (first..(first + batch).min(to)).map(|i| traffic.record(i)).collect();
                let saved = store.save(&records).await.context("save a batch")?;
                ensure!(saved.inserted == records.len() as u64, "every synthetic event is new");
                let total =
                    done.fetch_add(saved.inserted, std::sync::atomic::Ordering::Relaxed) + saved.inserted;
                if total / report_every != (total - saved.inserted) / report_every {
                    let elapsed = started.elapsed().as_secs_f64();
                    println!(
                        "  {total:>11} saved in {elapsed:7.1} s ({:.0}/s overall; last batch {:.0} ms)",
                        total as f64 / elapsed,
                        last_report.elapsed().as_secs_f64() * 1_000.0
                    );
                }
                last_report = Instant::now();
            }
        }));
    }
    for task in tasks {
        task.await.context("a saver panicked")??;
    }
    Ok(started.elapsed())
}

async fn run(full: bool) -> anyhow::Result<()> {
    let decisions = env_usize("FDS_BENCH_DECISIONS", if full { 10_000_000 } else { 3_000 })? as u64;
    let batch = env_usize("FDS_BENCH_BATCH", 1_000)? as u64;
    let writers = env_usize("FDS_BENCH_WRITERS", 2)? as u64;
    let server = std::env::var("FDS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_SERVER.into());
    let keep = std::env::var("FDS_BENCH_KEEP").is_ok_and(|v| v == "1");
    ensure!(decisions >= 100 && batch > 0 && writers > 0, "at least 100 decisions, 1 per batch, 1 writer");

    // A fresh database next to the server's default one.
    let name = format!("fds_bench_{}_{}", std::process::id(), chrono::Utc::now().timestamp());
    let mut admin = PgConnection::connect(&server).await.with_context(|| format!("connect to {server}"))?;
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.context("create the database")?;
    let url = with_database(&server, &name)?;
    let outcome = measure(&url, decisions, batch, writers, full).await;
    if keep {
        println!("kept database {name}");
    } else {
        admin
            .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
            .await
            .context("drop the database")?;
    }
    outcome
}

/// `server` (a `postgres://` URL) with its database replaced by `database`.
fn with_database(server: &str, database: &str) -> anyhow::Result<String> {
    let (head, query) = server.split_once('?').map_or((server, String::new()), |(h, q)| (h, format!("?{q}")));
    let (scheme, rest) = head.split_once("://").context("the server url has a scheme")?;
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

async fn measure(url: &str, decisions: u64, batch: u64, writers: u64, full: bool) -> anyhow::Result<()> {
    let vault = Arc::new(Vault::new(KeyRing::generate_local()));
    let store = Arc::new(PgStore::open(url, vault).await.context("open the store")?);
    let version: String = {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query_scalar("SHOW server_version").fetch_one(&mut conn).await?
    };

    // One year under the default retention: the current month, the 12 full months
    // before it, and the month before those, which the retention run drops.
    let now = chrono::Utc::now();
    let first_month = {
        let months = now.year() * 12 + now.month0() as i32 - 13;
        chrono::Utc
            .with_ymd_and_hms(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1, 0, 0, 0)
            .single()
            .context("the first month")?
    };
    // The last decisions of the load end an hour ago; the sustained-rate run
    // then adds the current hour's traffic.
    let end = now - chrono::Duration::hours(1);
    let sustained = if full { 300_000 } else { 1_000 };
    let step_us = (end - first_month).num_microseconds().context("span")? / decisions as i64;
    let traffic = Arc::new(Traffic { start: first_month, step_us, subscribers: (decisions / 50).max(100) });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Postgres {version}; {cores} cores; {decisions} decisions from {} to {}, {} subscribers; \
         load: {writers} savers, batches of {batch}",
        first_month.format("%Y-%m-%d"),
        end.format("%Y-%m-%d %H:%M"),
        traffic.subscribers
    );

    let elapsed = load(&store, &traffic, (0, decisions), batch, writers, (decisions / 10).max(1)).await?;
    println!(
        "load: {decisions} decisions in {:.1} s = {:.0} decisions/s",
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64()
    );

    // The production writer (`BatchWriter`, by default with its default
    // configuration) on the loaded year: traffic of the current hour.
    // Record `i` of it occurs at `start + i * step`; it continues the load's
    // numbering (so its event ids are new) from `end` on.
    let step_us = 3_600_000_000 / sustained as i64;
    let tail = Traffic {
        start: end - chrono::Duration::microseconds(step_us * decisions as i64),
        step_us,
        subscribers: traffic.subscribers,
    };
    let defaults = WriterConfig::default();
    let config = WriterConfig {
        max_batch: env_usize("FDS_BENCH_WRITER_BATCH", defaults.max_batch)?,
        concurrency: env_usize("FDS_BENCH_WRITER_CONCURRENCY", defaults.concurrency)?,
        ..defaults
    };
    let writer = BatchWriter::spawn(store.clone() as Arc<dyn Store>, config);
    let started = Instant::now();
    for i in decisions..decisions + sustained {
        writer.send(tail.record(i)).await.context("queue a record")?;
    }
    writer.flush().await.context("flush the writer")?;
    let elapsed = started.elapsed();
    let stats = writer.shutdown().await.context("stop the writer")?;
    ensure!(stats.saved == sustained && stats.failures == 0, "every record saved once: {stats:?}");
    println!(
        "sustained (BatchWriter: batches of {}, {} saves in flight, on the loaded year): {sustained} decisions \
         in {:.1} s = {:.0} decisions/s ({} batches)",
        config.max_batch,
        config.concurrency,
        elapsed.as_secs_f64(),
        sustained as f64 / elapsed.as_secs_f64(),
        stats.batches
    );

    {
        let mut conn = PgConnection::connect(url).await?;
        let started = Instant::now();
        conn.execute("ANALYZE").await?;
        println!("ANALYZE after the load: {:.1} s", started.elapsed().as_secs_f64());
    }

    // One subscriber's decisions by blind index, then (other subscribers) their events
    // through those decisions (the console's subscriber page): 1,000 distinct random
    // subscribers each.
    let lookups = if full { 1_000 } else { 50 };
    let mut rng = Rng(42);
    for what in ["decisions_for_subscriber", "events_for_subscriber"] {
        let mut times = Vec::with_capacity(lookups);
        let mut found = 0;
        for _ in 0..lookups {
            let subscriber = Traffic::subscriber(rng.below(traffic.subscribers));
            let started = Instant::now();
            found += if what == "events_for_subscriber" {
                store.events_for_subscriber(&subscriber, 100).await?.len()
            } else {
                store.decisions_for_subscriber(&subscriber, 100).await?.len()
            };
            times.push(started.elapsed());
        }
        times.sort_unstable();
        println!(
            "{what} (limit 100): {lookups} subscribers, {:.1} found each; \
             p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            found as f64 / lookups as f64,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&times, 1.0)
        );
    }

    for (what, from, bucket) in [
        ("30 days, hourly", now - chrono::Duration::days(30), Bucket::Hour),
        ("12 months, daily", now - chrono::Duration::days(365), Bucket::Day),
    ] {
        let mut times = Vec::new();
        let mut dashboard = None;
        for _ in 0..20 {
            let started = Instant::now();
            dashboard = Some(store.dashboard(from, now, bucket).await?);
            times.push(started.elapsed());
        }
        let first = times[0];
        times.sort_unstable();
        let dashboard = dashboard.context("ran")?;
        println!(
            "dashboard {what}: {} decisions, {} buckets, block rate {:.2}%; first {:.1} ms, p50 {:.1} ms, max {:.1} ms",
            dashboard.total.total(),
            dashboard.series.len(),
            dashboard.total.block_rate() * 100.0,
            first.as_secs_f64() * 1_000.0,
            percentile(&times, 0.5),
            percentile(&times, 1.0)
        );
    }

    let started = Instant::now();
    let report = store.retention(RetentionPolicy::default(), now, false).await?;
    println!(
        "retention: {:.1} s; dropped {:?}; removed {} decisions and {} events",
        started.elapsed().as_secs_f64(),
        report.partitions_dropped,
        report.rows_removed(fds_store::retention::DECISIONS),
        report.rows_removed(fds_store::retention::EVENTS)
    );
    store.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes --bench; under `cargo test --all-targets` a small smoke
    // run only checks that the benchmark works.
    let full = std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(full))
}
