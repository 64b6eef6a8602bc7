//! Models from the store's registry, live: the champions score (through the
//! [`Scorer`](fds_scoring::Scorer)), the challengers are scored in shadow on the same
//! event and features after the decision, never acting.
//!
//! [`reload`] reads the registry (its version first, so a change made while reading
//! is picked up by the next poll), builds the models from their artifacts and swaps
//! the champions in with [`Pipeline::update_scorer`](crate::Pipeline::update_scorer),
//! so a concurrent rule reload is kept. [`spawn_poll`] calls it whenever the registry
//! version moves, and writes the score histograms the pipeline tallied in memory
//! (champions' scores from the decisions, challengers' from the shadow) to the
//! store's hourly rollup. A model whose artifact does not load or fit the feature set
//! is left out with an error logged: the others, and the rules, keep scoring.
//!
//! Drift: each champion's input values are counted per UTC day into the quantile
//! bins of its training baseline (stored with the model's metrics) and written with
//! the score tallies; [`drift_report`] compares a day's counts (and score histogram)
//! with the baseline by PSI, stores the result and marks a model whose PSI passes the
//! threshold as needing retraining. The poll computes today's report every
//! [`DriftSettings::every`] and `/metrics` exports the latest.

use crate::metrics::{header, label_value, Counter};
use crate::Pipeline;
use fds_core::{Event, FeatureValue, Reason};
use fds_features::FeatureSet;
use fds_ml::{AnomalyArtifact, Baseline, BoundSpec, FeatureSpec, InputBaseline, SupervisedArtifact};
use fds_scoring::{AnomalyModel, Model, SupervisedModel};
use fds_store::{
    DriftReport, InputTally, ModelInfo, ModelKind, ModelRole, ScoreTally, Store, StoreError, SCORE_BINS,
};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The registry as the pipeline last loaded it, the shadow models and the score
/// tallies not yet written.
#[derive(Default)]
pub struct LiveModels {
    /// The registry version loaded (`None`: never loaded).
    loaded: Mutex<Option<u64>>,
    challengers: RwLock<Vec<Arc<dyn Model>>>,
    /// Scores per (model version, hour in µs since the epoch) not yet stored.
    tallies: Mutex<HashMap<(String, i64), [u64; SCORE_BINS]>>,
    /// The champions whose inputs are counted for drift.
    watches: RwLock<Vec<Arc<DriftWatch>>>,
    /// Input counts per (model version, UTC day) not yet stored, per input.
    inputs: Mutex<InputCounts>,
    /// The latest drift report of each champion.
    reports: Mutex<Vec<DriftReport>>,
    reloads: Counter,
    failures: Counter,
}

/// Input counts per (model version, UTC day): the model's watch and, per input, the
/// count per baseline bin.
type InputCounts = HashMap<(String, chrono::NaiveDate), (Arc<DriftWatch>, Vec<Vec<u64>>)>;

/// Why a model could not be put to work.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading the model registry: {0}")]
    Store(#[from] StoreError),
    #[error("model {version}: {reason}")]
    Artifact { version: String, reason: String },
}

/// Builds the model of `kind` from its artifact JSON, bound to `features`.
pub fn model_from_artifact(
    kind: ModelKind,
    version: &str,
    artifact: &str,
    features: &FeatureSet,
) -> Result<Arc<dyn Model>, LoadError> {
    let fail = |reason: String| LoadError::Artifact { version: version.to_string(), reason };
    Ok(match kind {
        ModelKind::Anomaly => {
            let artifact =
                AnomalyArtifact::read_json(artifact.as_bytes()).map_err(|e| fail(e.to_string()))?;
            Arc::new(AnomalyModel::new(artifact, features).map_err(|e| fail(e.to_string()))?)
        }
        ModelKind::Supervised => {
            let artifact =
                SupervisedArtifact::read_json(artifact.as_bytes()).map_err(|e| fail(e.to_string()))?;
            Arc::new(SupervisedModel::new(artifact, features).map_err(|e| fail(e.to_string()))?)
        }
    })
}

/// A champion's row layout and training baseline: what its inputs are counted by.
pub struct DriftWatch {
    version: String,
    spec: BoundSpec,
    utc_offset: chrono::FixedOffset,
    inputs: Vec<InputBaseline>,
}

impl DriftWatch {
    /// The watch of a model from its artifact's spec and the baseline in its metrics;
    /// `None` for a model trained without a baseline or whose spec does not fit.
    fn new(info: &ModelInfo, artifact: &str, features: &FeatureSet) -> Option<DriftWatch> {
        let baseline: Baseline = serde_json::from_value(info.metrics.get("baseline")?.clone()).ok()?;
        let value: serde_json::Value = serde_json::from_str(artifact).ok()?;
        let spec: FeatureSpec = serde_json::from_value(value.get("spec")?.clone()).ok()?;
        let names = spec.column_names();
        if names.len() != baseline.inputs.len()
            || names.iter().zip(&baseline.inputs).any(|(n, i)| *n != i.name)
        {
            return None;
        }
        let spec = spec.bind(features.names()).ok()?;
        Some(DriftWatch {
            version: info.version.clone(),
            spec,
            utc_offset: features.utc_offset(),
            inputs: baseline.inputs,
        })
    }
}

/// How often a serving process measures today's drift, and the PSI that alerts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriftSettings {
    pub every: Duration,
    /// A PSI above this marks the model as needing retraining (0.25: a significant shift).
    pub threshold: f64,
}

/// The champions and challengers of the registry at version `version`.
struct Loaded {
    version: u64,
    champions: Vec<Arc<dyn Model>>,
    challengers: Vec<Arc<dyn Model>>,
    watches: Vec<Arc<DriftWatch>>,
}

async fn load(store: &dyn Store, features: &FeatureSet) -> Result<Loaded, StoreError> {
    let version = store.model_registry_version().await?;
    let mut loaded = Loaded { version, champions: Vec::new(), challengers: Vec::new(), watches: Vec::new() };
    let mut models = store.models().await?;
    // Scoring order: anomaly, then supervised.
    models.sort_by_key(|m| m.kind);
    for info in models {
        let into = match info.role {
            ModelRole::Champion => &mut loaded.champions,
            ModelRole::Challenger => &mut loaded.challengers,
            ModelRole::Retired => continue,
        };
        let Some(artifact) = store.model_artifact(&info.version).await? else { continue };
        match model_from_artifact(info.kind, &info.version, &artifact, features) {
            Ok(model) => {
                into.push(model);
                if info.role == ModelRole::Champion {
                    loaded.watches.extend(DriftWatch::new(&info, &artifact, features).map(Arc::new));
                }
            }
            Err(error) => {
                tracing::error!(%error, role = info.role.as_str(), "model left out: it does not load");
            }
        }
    }
    Ok(loaded)
}

/// Loads the registry when its version differs from the one loaded: the champions
/// replace the scorer's models, the challengers the shadow models. Returns whether
/// anything was swapped.
pub async fn reload(pipeline: &Pipeline) -> Result<bool, StoreError> {
    let live = &pipeline.models;
    let version = pipeline.store().model_registry_version().await?;
    if *live.loaded.lock() == Some(version) {
        return Ok(false);
    }
    let features = pipeline.scorer().features().clone();
    let loaded = match load(pipeline.store().as_ref(), &features).await {
        Ok(loaded) => loaded,
        Err(error) => {
            live.failures.inc();
            return Err(error);
        }
    };
    let names = |models: &[Arc<dyn Model>]| {
        models.iter().map(|m| format!("{}@{}", m.name(), m.version())).collect::<Vec<_>>().join(", ")
    };
    tracing::info!(
        registry_version = loaded.version,
        champions = %names(&loaded.champions),
        challengers = %names(&loaded.challengers),
        "models loaded from the registry"
    );
    let champions = loaded.champions;
    let versions: Vec<String> = champions.iter().map(|m| m.version().to_string()).collect();
    // Drift reports of models no longer champion are out of date until the next measure.
    live.reports.lock().retain(|r| versions.contains(&r.model_version));
    pipeline.update_scorer(|current| current.with_models_replaced(champions));
    *live.challengers.write() = loaded.challengers;
    *live.watches.write() = loaded.watches;
    *live.loaded.lock() = Some(loaded.version);
    live.reloads.inc();
    Ok(true)
}

/// Writes the score and input tallies held in memory to the store (the poll does it
/// at each tick): call it at shutdown, after [`Pipeline::drain`]. Kept apart from
/// [`Pipeline::flush`], which the stream worker awaits before committing offsets:
/// monitoring tallies must never hold up or fail a batch.
pub async fn flush(pipeline: &Pipeline) -> Result<(), StoreError> {
    pipeline.models.flush(pipeline.store().as_ref()).await
}

/// Polls the registry version every `every` and reloads on a change; writes the
/// score tallies at each poll. Stops when the pipeline is dropped.
/// With `drift`, measures today's drift of the champions every `drift.every` too.
pub fn spawn_poll(
    pipeline: Weak<Pipeline>,
    every: Duration,
    drift: Option<DriftSettings>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut measured: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            let Some(pipeline) = pipeline.upgrade() else { break };
            if let Err(error) = reload(&pipeline).await {
                tracing::warn!(%error, "model registry poll failed; keeping the models in use");
            }
            if let Err(error) = pipeline.models.flush(pipeline.store().as_ref()).await {
                tracing::warn!(%error, "storing model score histograms failed; retrying at the next poll");
            }
            let Some(drift) = drift else { continue };
            if measured.is_some_and(|at| at.elapsed() < drift.every) {
                continue;
            }
            measured = Some(tokio::time::Instant::now());
            if let Err(error) = measure_drift(&pipeline, drift.threshold).await {
                tracing::warn!(%error, "measuring model drift failed; retrying later");
            }
        }
    })
}

/// Measures and stores today's drift of the champions, keeping the reports for `/metrics`.
async fn measure_drift(pipeline: &Pipeline, threshold: f64) -> Result<(), StoreError> {
    let store = pipeline.store().as_ref();
    let now = pipeline.clock().now();
    let mut reports = Vec::new();
    for info in store.models().await?.into_iter().filter(|m| m.role == ModelRole::Champion) {
        if let Some(report) = drift_report(store, &info, now.date_naive(), threshold, now).await? {
            if report.needs_retraining {
                tracing::warn!(model = %info.version, day = %report.day, "model drift passed the alert threshold");
            }
            reports.push(report);
        }
    }
    *pipeline.models.reports.lock() = reports;
    Ok(())
}

/// The drift of model `info` on UTC `day`: the PSI of each input's counts and of the
/// score histogram against its training baseline, stored (marking the model when a
/// PSI passes `threshold`). `None` when the model has no baseline or nothing was
/// counted that day.
pub async fn drift_report(
    store: &dyn Store,
    info: &ModelInfo,
    day: chrono::NaiveDate,
    threshold: f64,
    at: fds_core::Timestamp,
) -> Result<Option<DriftReport>, StoreError> {
    let Some(baseline) =
        info.metrics.get("baseline").and_then(|b| serde_json::from_value::<Baseline>(b.clone()).ok())
    else {
        return Ok(None);
    };
    let counted = store.model_inputs(&info.version, day).await?;
    let mut psi = std::collections::BTreeMap::new();
    for input in &baseline.inputs {
        let Some(live) = counted.get(&input.name) else { continue };
        let mut live = live.clone();
        live.resize(input.counts.len(), 0);
        if let Ok(value) = fds_ml::psi_of_counts(&input.counts, &live) {
            psi.insert(input.name.clone(), value);
        }
    }
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let scores = store.model_scores(&info.version, start, start + chrono::Duration::days(1)).await?;
    if let Ok(value) = fds_ml::psi_of_counts(&baseline.score, &scores) {
        psi.insert("score".to_string(), value);
    }
    if psi.is_empty() {
        return Ok(None);
    }
    let needs_retraining = psi.values().any(|p| *p > threshold);
    let report = DriftReport { model_version: info.version.clone(), day, psi, needs_retraining, at };
    store.save_model_drift(&report).await?;
    Ok(Some(report))
}

impl LiveModels {
    /// After a decision: tallies the champions' scores (from the decision's reasons)
    /// and scores the challengers on the same event and features, tallying theirs.
    pub(crate) fn observe(&self, event: &Event, features: &[FeatureValue], reasons: &[Reason]) {
        let challengers = self.challengers.read().clone();
        let champions = reasons.iter().filter_map(|r| match r {
            Reason::Model { version, score, .. } => Some((version.clone(), *score)),
            _ => None,
        });
        let shadow = challengers.iter().map(|m| (m.version().to_string(), m.score(event, features).score));
        let scores: Vec<(String, f64)> = champions.chain(shadow).collect();
        if scores.is_empty() {
            return;
        }
        let hour = fds_store::hour_of(event.occurred_at).timestamp_micros();
        {
            let mut tallies = self.tallies.lock();
            for (version, score) in scores {
                tallies.entry((version, hour)).or_insert([0; SCORE_BINS])[fds_store::score_bin(score)] += 1;
            }
        }
        self.count_inputs(event, features);
    }

    /// Counts the champions' input values of `event` into their baseline bins.
    fn count_inputs(&self, event: &Event, features: &[FeatureValue]) {
        let watches = self.watches.read().clone();
        if watches.is_empty() {
            return;
        }
        let day = event.occurred_at.date_naive();
        let (mut scratch, mut row) = (Vec::new(), Vec::new());
        for watch in watches {
            if features.len() < watch.spec.n_inputs() {
                continue;
            }
            fds_scoring::feature_row(&watch.spec, event, features, watch.utc_offset, &mut scratch, &mut row);
            let mut inputs = self.inputs.lock();
            let (_, counts) = inputs.entry((watch.version.clone(), day)).or_insert_with(|| {
                let empty = watch.inputs.iter().map(|i| vec![0; i.counts.len()]).collect();
                (watch.clone(), empty)
            });
            for ((x, input), counts) in row.iter().zip(&watch.inputs).zip(counts.iter_mut()) {
                if let Some(n) = counts.get_mut(input.bin(*x)) {
                    *n += 1;
                }
            }
        }
    }

    /// Writes the tallies to the store's hourly rollup; on failure they are kept
    /// for the next call.
    pub(crate) async fn flush(&self, store: &dyn Store) -> Result<(), StoreError> {
        self.flush_inputs(store).await?;
        let taken = std::mem::take(&mut *self.tallies.lock());
        if taken.is_empty() {
            return Ok(());
        }
        let tallies: Vec<ScoreTally> = taken
            .iter()
            .filter_map(|((version, hour), bins)| {
                Some(ScoreTally {
                    model_version: version.clone(),
                    hour: chrono::DateTime::from_timestamp_micros(*hour)?,
                    bins: *bins,
                })
            })
            .collect();
        if let Err(error) = store.add_model_scores(&tallies).await {
            let mut tallies = self.tallies.lock();
            for (key, bins) in taken {
                let into = tallies.entry(key).or_insert([0; SCORE_BINS]);
                for (into, n) in into.iter_mut().zip(bins) {
                    *into += n;
                }
            }
            return Err(error);
        }
        Ok(())
    }

    /// Writes the input counts to the store's daily rollup; on failure they are kept.
    async fn flush_inputs(&self, store: &dyn Store) -> Result<(), StoreError> {
        let taken = std::mem::take(&mut *self.inputs.lock());
        let tallies: Vec<InputTally> = taken
            .iter()
            .flat_map(|((version, day), (watch, counts))| {
                watch.inputs.iter().zip(counts).map(|(input, counts)| InputTally {
                    model_version: version.clone(),
                    day: *day,
                    input: input.name.clone(),
                    counts: counts.clone(),
                })
            })
            .collect();
        if tallies.is_empty() {
            return Ok(());
        }
        if let Err(error) = store.add_model_inputs(&tallies).await {
            let mut inputs = self.inputs.lock();
            for (key, (watch, counts)) in taken {
                let (_, into) = inputs.entry(key).or_insert_with(|| {
                    let empty = watch.inputs.iter().map(|i| vec![0; i.counts.len()]).collect();
                    (watch.clone(), empty)
                });
                for (into, counts) in into.iter_mut().zip(counts) {
                    for (into, n) in into.iter_mut().zip(counts) {
                        *into += n;
                    }
                }
            }
            return Err(error);
        }
        Ok(())
    }

    /// The challengers scored in shadow.
    pub fn challengers(&self) -> Vec<Arc<dyn Model>> {
        self.challengers.read().clone()
    }

    /// Appends the registry metrics in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String, champions: &[Arc<dyn Model>]) {
        header(out, "fds_model_registry_version", "gauge", "The model registry version in use.");
        let _ = writeln!(out, "fds_model_registry_version {}", self.loaded.lock().map_or(-1, |v| v as i64));
        header(out, "fds_model_info", "gauge", "Models in use, by role (1 per model).");
        for (role, models) in [("champion", champions.to_vec()), ("challenger", self.challengers())] {
            for m in models {
                let _ = writeln!(
                    out,
                    "fds_model_info{{role=\"{role}\",model=\"{}\",version=\"{}\"}} 1",
                    label_value(m.name()),
                    label_value(m.version())
                );
            }
        }
        let reports = self.reports.lock().clone();
        header(
            out,
            "fds_model_drift_psi",
            "gauge",
            "Today's PSI of a champion's input or score vs its training baseline.",
        );
        for report in &reports {
            for (input, psi) in &report.psi {
                let _ = writeln!(
                    out,
                    "fds_model_drift_psi{{version=\"{}\",input=\"{}\"}} {psi}",
                    label_value(&report.model_version),
                    label_value(input)
                );
            }
        }
        header(
            out,
            "fds_model_needs_retraining",
            "gauge",
            "1 when a champion's drift passed the alert threshold today.",
        );
        for report in &reports {
            let _ = writeln!(
                out,
                "fds_model_needs_retraining{{version=\"{}\"}} {}",
                label_value(&report.model_version),
                u8::from(report.needs_retraining)
            );
        }
        header(out, "fds_model_reloads_total", "counter", "Model sets loaded from the registry.");
        let _ = writeln!(out, "fds_model_reloads_total {}", self.reloads.get());
        header(out, "fds_model_reload_failures_total", "counter", "Registry reads that failed.");
        let _ = writeln!(out, "fds_model_reload_failures_total {}", self.failures.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, PipelineConfig};
    use chrono::TimeZone;
    use fds_store::NewModel;
    use std::time::Instant;

    fn now() -> fds_core::Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()
    }

    /// A pipeline over an in-memory store, no rules, no velocity features.
    async fn pipeline() -> Arc<Pipeline> {
        let features = Arc::new(FeatureSet::from_toml_str("").expect("no features"));
        let rules = fds_rules::RulePack::from_sources(
            Vec::new(),
            Default::default(),
            features.names(),
            chrono::FixedOffset::east_opt(0).expect("utc"),
        )
        .expect("an empty rule pack");
        let scorer = fds_scoring::Scorer::new(Arc::new(rules), features.clone(), Default::default());
        let vault = Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()));
        let store = fds_store::open("sqlite::memory:", vault).await.expect("store");
        let pipeline = Pipeline::start(
            scorer,
            Arc::new(fds_features::InMemoryFeatures::new(features)),
            store,
            Arc::new(ManualClock::new(now())),
            PipelineConfig::default(),
        )
        .await
        .expect("pipeline starts");
        Arc::new(pipeline)
    }

    /// An anomaly model over the event columns alone, fitted with `seed`.
    fn anomaly(seed: u64) -> NewModel {
        let spec = fds_scoring::anomaly_spec(&FeatureSet::from_toml_str("").expect("no features"));
        let width = spec.n_columns();
        let rows: Vec<f64> =
            (0..200).flat_map(|i| (0..width).map(move |c| f64::from((i * 7 + c as i32) % 13))).collect();
        let params = fds_ml::Params { trees: 10, sample_size: 64, seed };
        let forest = fds_ml::IsolationForest::fit(&rows, width, &params)
            .expect("fits")
            .with_feature_names(spec.column_names())
            .expect("named");
        let training = fds_ml::TrainingInfo {
            first_occurred_at: now().to_rfc3339(),
            last_occurred_at: now().to_rfc3339(),
            events: 200,
            rows: 200,
            data_hash: fds_ml::data_hash(&rows),
        };
        let names = spec.column_names();
        let artifact = AnomalyArtifact::new(spec, forest, &rows, 0.9, 1.0, training).expect("artifact");
        let mut json = Vec::new();
        artifact.write_json(&mut json).expect("json");
        let baseline = Baseline::new(&names, &rows, vec![1; SCORE_BINS]);
        NewModel {
            version: artifact.version.clone(),
            kind: ModelKind::Anomaly,
            artifact: String::from_utf8(json).expect("utf-8"),
            metrics: serde_json::json!({ "baseline": baseline }),
            trained_from: now(),
            trained_to: now(),
            feature_schema_hash: "f".repeat(64),
            data_hash: artifact.training.data_hash,
            created_at: now(),
            created_by: "test".into(),
        }
    }

    fn payment(id: &str) -> Event {
        Event::from_value(
            serde_json::json!({
                "event_id": id, "occurred_at": now().to_rfc3339(), "subscriber": "01012345678",
                "type": "payment", "amount": 1000, "method": "carrier_billing",
                "merchant_id": "m-1", "merchant_category": "game"
            }),
            None,
        )
        .expect("a valid payment")
    }

    fn versions(models: &[Arc<dyn Model>]) -> Vec<String> {
        models.iter().map(|m| m.version().to_string()).collect()
    }

    #[tokio::test]
    async fn a_promotion_replaces_the_scorers_champion_keeps_its_rules_and_the_challenger_is_only_shadowed() {
        let pipeline = pipeline().await;
        let store = pipeline.store().clone();
        let (a, b) = (anomaly(1), anomaly(2));
        store.register_model(&a, ModelRole::Champion).await.unwrap();
        store.register_model(&b, ModelRole::Challenger).await.unwrap();
        let rules = pipeline.scorer().rules().clone();

        assert!(reload(&pipeline).await.unwrap());
        assert!(!reload(&pipeline).await.unwrap(), "nothing changed: nothing reloaded");
        assert_eq!(versions(pipeline.scorer().models()), std::slice::from_ref(&a.version));
        assert_eq!(versions(&pipeline.models.challengers()), std::slice::from_ref(&b.version));
        let decided = pipeline.submit_event(payment("e-1"), Instant::now()).await.unwrap();
        assert_eq!(
            decided.decision().model_versions,
            [format!("anomaly@{}", a.version)],
            "the challenger never acts"
        );

        store.promote_model(&b.version, "lee", now()).await.unwrap();
        assert!(reload(&pipeline).await.unwrap());
        let decided = pipeline.submit_event(payment("e-2"), Instant::now()).await.unwrap();

        assert_eq!(decided.decision().model_versions, [format!("anomaly@{}", b.version)]);
        assert!(pipeline.models.challengers().is_empty());
        assert!(Arc::ptr_eq(pipeline.scorer().rules(), &rules), "the rules stay");
        flush(&pipeline).await.unwrap();
        let day = (now() - chrono::Duration::hours(1), now() + chrono::Duration::hours(1));
        let scored = |version: String| {
            let store = store.clone();
            async move { store.model_scores(&version, day.0, day.1).await.unwrap().iter().sum::<u64>() }
        };
        assert_eq!(scored(a.version.clone()).await, 1, "e-1 by the champion");
        assert_eq!(scored(b.version.clone()).await, 2, "e-1 in shadow, e-2 as champion");
        let inputs = store.model_inputs(&b.version, now().date_naive()).await.unwrap();
        assert_eq!(inputs["amount"].iter().sum::<u64>(), 1, "the champion's inputs are counted for drift");
    }

    #[tokio::test]
    async fn a_champion_whose_artifact_does_not_load_is_left_out_and_the_others_score() {
        let pipeline = pipeline().await;
        let mut broken = anomaly(1);
        broken.version = "anomaly-broken".into();
        broken.artifact = "{\"format_version\": 99}".into();
        broken.kind = ModelKind::Supervised;
        pipeline.store().register_model(&broken, ModelRole::Champion).await.unwrap();
        let good = anomaly(2);
        pipeline.store().register_model(&good, ModelRole::Champion).await.unwrap();

        assert!(reload(&pipeline).await.unwrap());

        assert_eq!(versions(pipeline.scorer().models()), [good.version]);
    }
}
