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

use crate::metrics::{header, label_value, Counter};
use crate::Pipeline;
use fds_core::{Event, FeatureValue, Reason};
use fds_features::FeatureSet;
use fds_ml::{AnomalyArtifact, SupervisedArtifact};
use fds_scoring::{AnomalyModel, Model, SupervisedModel};
use fds_store::{ModelKind, ModelRole, ScoreTally, Store, StoreError, SCORE_BINS};
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
    reloads: Counter,
    failures: Counter,
}

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

/// The champions and challengers of the registry at version `version`.
struct Loaded {
    version: u64,
    champions: Vec<Arc<dyn Model>>,
    challengers: Vec<Arc<dyn Model>>,
}

async fn load(store: &dyn Store, features: &FeatureSet) -> Result<Loaded, StoreError> {
    let version = store.model_registry_version().await?;
    let mut loaded = Loaded { version, champions: Vec::new(), challengers: Vec::new() };
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
            Ok(model) => into.push(model),
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
    pipeline.update_scorer(|current| current.with_models_replaced(champions));
    *live.challengers.write() = loaded.challengers;
    *live.loaded.lock() = Some(loaded.version);
    live.reloads.inc();
    Ok(true)
}

/// Polls the registry version every `every` and reloads on a change; writes the
/// score tallies at each poll. Stops when the pipeline is dropped.
pub fn spawn_poll(pipeline: Weak<Pipeline>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(pipeline) = pipeline.upgrade() else { break };
            if let Err(error) = reload(&pipeline).await {
                tracing::warn!(%error, "model registry poll failed; keeping the models in use");
            }
            if let Err(error) = pipeline.models.flush(pipeline.store().as_ref()).await {
                tracing::warn!(%error, "storing model score histograms failed; retrying at the next poll");
            }
        }
    })
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
        let mut tallies = self.tallies.lock();
        for (version, score) in scores {
            tallies.entry((version, hour)).or_insert([0; SCORE_BINS])[fds_store::score_bin(score)] += 1;
        }
    }

    /// Writes the tallies to the store's hourly rollup; on failure they are kept
    /// for the next call.
    pub(crate) async fn flush(&self, store: &dyn Store) -> Result<(), StoreError> {
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
        header(out, "fds_model_reloads_total", "counter", "Model sets loaded from the registry.");
        let _ = writeln!(out, "fds_model_reloads_total {}", self.reloads.get());
        header(out, "fds_model_reload_failures_total", "counter", "Registry reads that failed.");
        let _ = writeln!(out, "fds_model_reload_failures_total {}", self.failures.get());
    }
}
