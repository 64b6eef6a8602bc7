//! The scoring core on simulated traffic with the full rule library.
//!
//! - `scoring/full`: features (observe) + every applicable rule + decision, per event.
//! - `rules/indexed`: the rule engine alone, as the scorer calls it (rules indexed by
//!   event type, one scope per event).
//! - `rules/rhai`: the same rules, each run alone in Rhai (no native subset, no
//!   batches): what the native programs save.
//! - `rules/naive`: the baseline: every rule for every event, fresh maps per rule.
//! - `rules/native_closures`: the floor: the same rules written as native Rust
//!   closures over the typed event (`benches/floor/native_rules.rs`, generated from
//!   `rules/` and checked against the engine by `tests/native_floor.rs`), indexed by
//!   event type the same way.
//! - `models/both`: the anomaly model (isolation forest, 100 trees × 256 samples) and the
//!   supervised model (calibrated boosted trees, 100 trees of depth 4) scoring each event
//!   together, explanations included, as the scorer calls them: the ML cost per event.
//!   Both are trained here on a separate simulated run (seed 7) with its ground truth.
//!
//! After criterion, a plain pass over the same events prints per-event p50 / p99 / p99.9
//! of the full path. Run: `cargo bench --bench scoring`.

#[rustfmt::skip]
#[path = "floor/native_rules.rs"]
mod native_rules;

use criterion::{criterion_group, Criterion, Throughput};
use fds_core::{Event, FeatureValue};
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_ml::{
    data_hash, AnomalyArtifact, BoostParams, IsolationForest, Labelled, Params, Split, SupervisedArtifact,
    TrainingInfo,
};
use fds_rules::RulePack;
use fds_scoring::{anomaly_spec, feature_row, AnomalyModel, Model, Scorer, ScoringConfig, SupervisedModel};
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
    let closures = native_rules::rules();
    let mut by_type: Vec<Vec<usize>> = vec![Vec::new(); fds_core::EventType::ALL.len()];
    for (i, rule) in closures.iter().enumerate() {
        for t in rule.events {
            by_type[t.index()].push(i);
        }
    }
    eprintln!("native closures: {} of {} rules", closures.len(), f.pack.rules().len());
    let (lists, offset) = (f.pack.lists(), f.features.utc_offset());
    group.bench_function("native_closures", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for (e, v) in f.events.iter().zip(&f.values) {
                for &i in &by_type[e.event_type().index()] {
                    hits += usize::from((closures[i].check)(e, v, lists, offset));
                }
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

/// Events of the training run for the models: enough for both classes in each slice.
fn training_events() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        60_000
    } else {
        12_000
    }
}

/// The anomaly and supervised models, trained on a separate simulated run (seed 7): the
/// first 70 % of its events train, the rest calibrate the supervised model.
fn models(features: &Arc<FeatureSet>) -> (AnomalyModel, SupervisedModel) {
    let start = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00+09:00").expect("time").to_utc();
    let mut sim = Simulator::new(SimConfig { seed: 7, subscribers: 5_000, start, ..SimConfig::default() });
    let events: Vec<Event> = sim
        .by_ref()
        .take(training_events())
        .map(|v| Event::from_value(v, None).expect("simulated events are valid"))
        .collect();
    let truth = sim.truth();
    let spec = anomaly_spec(features);
    let bound = spec.bind(features.names()).expect("spec binds");
    let store = InMemoryFeatures::new(features.clone());
    let (mut rows, mut labels, mut row, mut scratch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in &events {
        let values = store.observe(e);
        feature_row(&bound, e, &values, features.utc_offset(), &mut scratch, &mut row);
        rows.extend_from_slice(&row);
        labels.push(truth.family_of(e.subscriber.expose()).is_some());
    }
    let n_columns = spec.n_columns();
    let training = |rows: &[f64]| TrainingInfo {
        first_occurred_at: events[0].occurred_at.to_rfc3339(),
        last_occurred_at: events[events.len() - 1].occurred_at.to_rfc3339(),
        events: events.len() as u64,
        rows: (rows.len() / n_columns) as u64,
        data_hash: data_hash(rows),
    };
    let forest = IsolationForest::fit(&rows, spec.n_columns(), &Params { seed: 1, ..Params::default() })
        .expect("forest fits")
        .with_feature_names(spec.column_names())
        .expect("names");
    let anomaly =
        AnomalyArtifact::new(spec.clone(), forest, &rows, 0.995, 0.9999, training(&rows)).expect("artifact");
    let cut = events.len() * 7 / 10;
    let (train, calibrate) = rows.split_at(cut * n_columns);
    let (train_labels, calibrate_labels) = labels.split_at(cut);
    let split = Split {
        first_occurred_at: events[cut].occurred_at.to_rfc3339(),
        last_occurred_at: events[events.len() - 1].occurred_at.to_rfc3339(),
        rows: calibrate_labels.len() as u64,
        positives: calibrate_labels.iter().filter(|l| **l).count() as u64,
    };
    let supervised = SupervisedArtifact::train(
        spec,
        Labelled { data: train, labels: train_labels },
        Labelled { data: calibrate, labels: calibrate_labels },
        &BoostParams { seed: 1, ..BoostParams::default() },
        training(train),
        split,
        &[("review", 0.4), ("block", 0.8)],
    )
    .expect("supervised model trains");
    (
        AnomalyModel::new(anomaly, features).expect("anomaly binds"),
        SupervisedModel::new(supervised, features).expect("supervised binds"),
    )
}

fn bench_models(c: &mut Criterion) {
    let f = fixture();
    let (anomaly, supervised) = models(&f.features);
    let mut group = c.benchmark_group("models");
    group.throughput(Throughput::Elements(f.events.len() as u64));
    group.sample_size(10);
    group.bench_function("both", |b| {
        b.iter(|| {
            let mut total = 0.0;
            for (e, v) in f.events.iter().zip(&f.values) {
                total += anomaly.score(e, v).score + supervised.score(e, v).score;
            }
            total
        });
    });
    group.finish();
    let mut group = c.benchmark_group("scoring");
    group.throughput(Throughput::Elements(f.events.len() as u64));
    group.sample_size(10);
    let scorer = Scorer::new(f.pack.clone(), f.features.clone(), ScoringConfig::default())
        .with_models(vec![Arc::new(anomaly) as Arc<dyn Model>, Arc::new(supervised)]);
    group.bench_function("full_with_models", |b| {
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
}

/// Per-event cost of both models together (score + explanation), as percentiles.
fn model_percentiles() {
    let f = fixture();
    let (anomaly, supervised) = models(&f.features);
    let mut nanos: Vec<u64> = Vec::with_capacity(f.events.len());
    for (e, v) in f.events.iter().zip(&f.values) {
        let t = Instant::now();
        let a = anomaly.score(e, v);
        let s = supervised.score(e, v);
        std::hint::black_box((&a, &s));
        nanos.push(t.elapsed().as_nanos() as u64);
    }
    nanos.sort_unstable();
    let mean = nanos.iter().sum::<u64>() as f64 / nanos.len() as f64 / 1000.0;
    let at = |q: f64| nanos[((nanos.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "both models, one thread, {} events: per event mean {mean:.2} µs, p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs",
        nanos.len(),
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

criterion_group!(benches, bench, bench_models);

fn main() {
    benches();
    percentiles();
    model_percentiles();
    Criterion::default().configure_from_args().final_summary();
}
