//! The scoring core on simulated traffic with the full rule library.
//!
//! - `scoring/full`: features (observe) + every applicable rule + decision, per event.
//! - `rules/indexed`: the rule engine alone, as the scorer calls it (rules indexed by
//!   event type, one scope per event).
//! - `rules/rhai`: the same rules, each run alone in Rhai (no native subset, no
//!   batches): what the native programs save.
//! - `rules/naive`: the baseline: every rule for every event, fresh maps per rule.
//!
//! After criterion, a plain pass over the same events prints per-event p50 / p99 / p99.9
//! of the full path. Run: `cargo bench --bench scoring`.

use criterion::{criterion_group, Criterion, Throughput};
use fds_core::{Event, FeatureValue};
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_sim::{SimConfig, Simulator};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Events per pass: the full set under `cargo bench` (which passes `--bench`); a small
/// smoke pass under `cargo test --all-targets`, which only checks the benchmark runs.
fn events() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        50_000
    } else {
        2_000
    }
}

struct Fixture {
    features: Arc<FeatureSet>,
    pack: Arc<RulePack>,
    events: Vec<Event>,
    /// Feature values per event, as a warm store computed them (for the rules-only runs).
    values: Vec<Vec<FeatureValue>>,
}

fn fixture() -> Fixture {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let text = std::fs::read_to_string(dir.join("features.toml")).expect("features.toml");
    let features = Arc::new(FeatureSet::from_toml_str(&text).expect("features parse"));
    let pack =
        Arc::new(RulePack::load_dir(&dir, features.names(), features.utc_offset()).expect("rules load"));
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+09:00").expect("time").to_utc();
    let sim = Simulator::new(SimConfig { seed: 11, subscribers: 5_000, start, ..SimConfig::default() });
    let events: Vec<Event> =
        sim.take(events()).map(|v| Event::from_value(v, None).expect("simulated events are valid")).collect();
    let store = InMemoryFeatures::new(features.clone());
    let values = events.iter().map(|e| store.observe(e)).collect();
    Fixture { features, pack, events, values }
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    eprintln!("{} rules, {} features, {} events", f.pack.rules().len(), f.features.len(), f.events.len());

    let mut group = c.benchmark_group("scoring");
    group.throughput(Throughput::Elements(f.events.len() as u64));
    group.sample_size(10);
    group.bench_function("full", |b| {
        let scorer = Scorer::new(f.pack.clone(), f.features.clone(), ScoringConfig::default());
        b.iter_batched(
            || InMemoryFeatures::new(f.features.clone()),
            |store| {
                let mut blocks = 0usize;
                for e in &f.events {
                    let values = store.observe(e);
                    let scored = scorer.score(e, &values, e.occurred_at);
                    blocks += usize::from(scored.decision.block.is_some());
                }
                blocks
            },
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("rules");
    group.throughput(Throughput::Elements(f.events.len() as u64));
    group.sample_size(10);
    group.bench_function("indexed", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for (e, v) in f.events.iter().zip(&f.values) {
                hits += f.pack.evaluate(e, v).hits.len();
            }
            hits
        });
    });
    group.bench_function("rhai", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for (e, v) in f.events.iter().zip(&f.values) {
                hits += f.pack.evaluate_rhai(e, v).hits.len();
            }
            hits
        });
    });
    group.bench_function("naive", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for (e, v) in f.events.iter().zip(&f.values) {
                hits += f.pack.evaluate_naive(e, v).hits.len();
            }
            hits
        });
    });
    group.finish();
}

/// Per-event latency of the full path over the fixture, printed as percentiles.
fn percentiles() {
    let f = fixture();
    let scorer = Scorer::new(f.pack.clone(), f.features.clone(), ScoringConfig::default());
    let store = InMemoryFeatures::new(f.features.clone());
    let mut nanos: Vec<u64> = Vec::with_capacity(f.events.len());
    let started = Instant::now();
    for e in &f.events {
        let t = Instant::now();
        let values = store.observe(e);
        let scored = scorer.score(e, &values, e.occurred_at);
        std::hint::black_box(&scored);
        nanos.push(t.elapsed().as_nanos() as u64);
    }
    let total = started.elapsed().as_secs_f64();
    nanos.sort_unstable();
    let at = |q: f64| nanos[((nanos.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "full path, one thread, {} events: {:.0} events/s; per event p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        nanos.len(),
        nanos.len() as f64 / total,
        at(0.50),
        at(0.99),
        at(0.999),
        at(1.0)
    );
    let stats = store.stats();
    println!(
        "velocity store after {} events: {} entities, {} windows, {:.0} bytes per window",
        nanos.len(),
        stats.entities,
        stats.windows,
        stats.bytes_per_window()
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    percentiles();
    Criterion::default().configure_from_args().final_summary();
}
