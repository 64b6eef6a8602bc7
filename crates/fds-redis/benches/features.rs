//! The velocity feature store alone, per event, on simulated traffic with the shipped
//! feature spec: what sharing the state on Redis costs against keeping it in memory.
//!
//! - `features/memory`: `InMemoryFeatures::observe`, one thread.
//! - `features/redis`: `RedisFeatures::observe`, one thread: one script call (one round
//!   trip) per event to the Redis at `FDS_BENCH_REDIS_URL` (default 127.0.0.1:6379),
//!   under a key prefix of its own that is deleted afterwards.
//!
//! After criterion, a plain pass prints the per-event p50 / p99 / p99.9 of each, and
//! one with 4 threads sharing the Redis store (the scoring threads of one replica).
//! Run: `cargo bench --workspace --bench features` (it lives in `fds-redis` so a release
//! build needs only this crate's dependencies). Needs a running Redis (fails without one).

use criterion::{criterion_group, Criterion, Throughput};
use fds_core::Event;
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_redis::{RedisFeatures, RedisOptions};
use fds_sim::{SimConfig, Simulator};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Events per pass: the full set under `cargo bench`; a smoke pass under `cargo test`.
fn events() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        20_000
    } else {
        500
    }
}

fn redis_url() -> String {
    std::env::var("FDS_BENCH_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

fn redis_store(features: &Arc<FeatureSet>, run: &str) -> RedisFeatures {
    let mut options = RedisOptions::new(redis_url());
    options.prefix = format!("fds-bench:{}-{run}:", std::process::id());
    options.key_secret = b"feature-store-bench-secret".to_vec();
    RedisFeatures::connect(features.clone(), options)
        .unwrap_or_else(|e| panic!("{e}: this benchmark needs a running Redis"))
}

/// Unique event ids per pass, so a pass over the same events is applied, not read as
/// redeliveries of the previous pass.
fn with_ids(events: &[Event], pass: usize) -> Vec<Event> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.event_id = format!("{}-p{pass}", e.event_id);
            e
        })
        .collect()
}

fn percentiles(mut micros: Vec<f64>) -> String {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    let mean = micros.iter().sum::<f64>() / micros.len() as f64;
    format!(
        "mean {mean:.1} µs, p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        at(0.5),
        at(0.99),
        at(0.999),
        micros[micros.len() - 1]
    )
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let text = std::fs::read_to_string(dir.join("features.toml")).expect("features.toml");
    let features = Arc::new(FeatureSet::from_toml_str(&text).expect("features parse"));
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00").expect("time").to_utc();
    let sim = Simulator::new(SimConfig { seed: 11, subscribers: 5_000, start, ..SimConfig::default() });
    let events: Vec<Event> =
        sim.take(events()).map(|v| Event::from_value(v, None).expect("simulated events are valid")).collect();
    eprintln!("{} features, {} events, redis at {}", features.len(), events.len(), redis_url());

    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.bench_function("memory", |b| {
        b.iter_batched(
            || InMemoryFeatures::new(features.clone()),
            |store| events.iter().map(|e| store.observe(e).len()).sum::<usize>(),
            criterion::BatchSize::PerIteration,
        );
    });
    let redis = redis_store(&features, "criterion");
    let mut pass = 0;
    group.bench_function("redis", |b| {
        b.iter_batched(
            || {
                pass += 1;
                with_ids(&events, pass)
            },
            |batch| batch.iter().map(|e| redis.observe(e).len()).sum::<usize>(),
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();
    redis.delete_all().expect("deleting the benchmark keys");

    // Per-event latency, one thread.
    let memory = InMemoryFeatures::new(features.clone());
    let timed = |store: &dyn FeatureStore, batch: &[Event]| -> Vec<f64> {
        batch
            .iter()
            .map(|e| {
                let t = Instant::now();
                std::hint::black_box(store.observe(e));
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect()
    };
    eprintln!("features/memory per event: {}", percentiles(timed(&memory, &events)));
    let redis = redis_store(&features, "latency");
    let started = Instant::now();
    let one = timed(&redis, &events);
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    eprintln!("features/redis per event, 1 thread: {} ({rate:.0} events/s)", percentiles(one));
    redis.delete_all().expect("deleting the benchmark keys");

    // Four threads sharing one store, as a replica's scoring threads do.
    let redis = redis_store(&features, "threads");
    let threads = 4;
    let started = Instant::now();
    let all: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (redis, events) = (&redis, &events);
                let timed = &timed;
                scope.spawn(move || {
                    let mine: Vec<Event> =
                        with_ids(events, 100 + t).into_iter().skip(t).step_by(threads).collect();
                    timed(redis, &mine)
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
    });
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    eprintln!("features/redis per event, {threads} threads: {} ({rate:.0} events/s)", percentiles(all));
    redis.delete_all().expect("deleting the benchmark keys");
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
