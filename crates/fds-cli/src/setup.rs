//! Wiring shared by the commands: load the rule library, build the scorer and the
//! pipeline, start logging.

use crate::features_config::FeatureBackend;
use anyhow::{Context, Result};
use fds_features::{FeatureSet, FeatureStore, InMemoryFeatures};
use fds_pipeline::rulebook;
use fds_pipeline::{Pipeline, PipelineConfig, SystemClock};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_vault::Vault;
use std::path::Path;
use std::sync::Arc;

/// The feature set (`<dir>/features.toml`) and the compiled rule pack in `dir`.
/// The feature set of the rules directory `dir` (`dir/features.toml`).
pub(crate) fn load_features(dir: &Path) -> Result<Arc<FeatureSet>> {
    load_feature_file(&dir.join("features.toml"))
}

/// The feature set declared in `features_path`.
pub(crate) fn load_feature_file(features_path: &Path) -> Result<Arc<FeatureSet>> {
    let text = std::fs::read_to_string(features_path)
        .with_context(|| format!("reading {}", features_path.display()))?;
    let features =
        FeatureSet::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", features_path.display()))?;
    Ok(Arc::new(features))
}

pub(crate) fn load_library(dir: &Path) -> Result<(Arc<FeatureSet>, Arc<RulePack>)> {
    let features = load_features(dir)?;
    let pack = RulePack::load_dir(dir, features.names(), features.utc_offset())
        .map_err(|e| anyhow::anyhow!("loading rules from {}: {e}", dir.display()))?;
    Ok((features, Arc::new(pack)))
}

pub(crate) fn scorer(dir: &Path, config: ScoringConfig) -> Result<Scorer> {
    let (features, pack) = load_library(dir)?;
    Ok(Scorer::new(pack, features, config))
}

/// How often a running pipeline polls the store's rule epoch: a published pack, a
/// draft put in shadow or a suppression is live this long after it is made.
pub(crate) const RULE_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// How often a replica sharing its velocity state (`[features] store = "redis"`) picks
/// up the blocks the other replicas decided: a block is enforced everywhere this long
/// after its decision is stored.
pub(crate) const BLOCK_REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens the store (its PII sealed by `vault`) and starts the pipeline over a fresh
/// in-memory velocity store with the store's live rule pack — seeded from the files
/// in `rules_dir` when the store holds none yet (they must compile and pass their
/// fixtures) — and its suppressions and drafts in shadow. `scorer` gives the
/// features, models and thresholds; its rules are replaced by the live pack.
pub(crate) async fn pipeline(
    store_url: &str,
    vault: Arc<Vault>,
    scorer: Scorer,
    rules_dir: &Path,
) -> Result<Arc<Pipeline>> {
    pipeline_with(store_url, vault, scorer, rules_dir, PipelineConfig::default(), &FeatureBackend::Memory)
        .await
}

/// [`pipeline`] with other pipeline settings, over the velocity store `backend` names
/// (`[features]`: this process's memory, or the Redis every replica shares, connected
/// here so a Redis that is not there stops the start).
pub(crate) async fn pipeline_with(
    store_url: &str,
    vault: Arc<Vault>,
    scorer: Scorer,
    rules_dir: &Path,
    config: PipelineConfig,
    backend: &FeatureBackend,
) -> Result<Arc<Pipeline>> {
    let key_secret = vault.derive_key(fds_redis::KEY_SECRET_PURPOSE);
    let store = fds_store::open(store_url, vault)
        .await
        .with_context(|| format!("opening the store at {}", crate::config::redacted_url(store_url)))?;
    let features = scorer.features().clone();
    let files = fds_rules::PackFiles::read_dir(rules_dir)
        .map_err(|e| anyhow::anyhow!("reading the rules in {}: {e}", rules_dir.display()))?;
    let actor = format!("fds (seed from {})", rules_dir.display());
    if let Some(v1) = rulebook::seed(store.as_ref(), &files, &features, &actor, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("seeding the store's rule pack: {e}"))?
    {
        tracing::info!(rules_version = %v1.label(), files = files.len(), "store seeded with the rule files");
    }
    let live = rulebook::live(store.as_ref(), &features)
        .await
        .map_err(|e| anyhow::anyhow!("loading the live rule pack: {e}"))?;
    if live.files != files {
        tracing::warn!(
            rules_version = %live.version.label(),
            dir = %rules_dir.display(),
            "the files differ from the store's live pack, which is what runs; propose them with `fds rules import`"
        );
    }
    let scorer = scorer.with_rules(Arc::new(live.pack));
    let velocity: Arc<dyn FeatureStore> = match backend {
        FeatureBackend::Memory => Arc::new(InMemoryFeatures::new(scorer.features().clone())),
        FeatureBackend::Redis(options) => {
            let (set, mut options) = (scorer.features().clone(), options.clone());
            // Every replica of one key ring pseudonymises entity keys alike.
            options.key_secret = key_secret.to_vec();
            // Connecting blocks (and fails at once when Redis is not there).
            let redis = tokio::task::spawn_blocking(move || fds_redis::RedisFeatures::connect(set, options))
                .await
                .context("connecting to Redis")??;
            tracing::info!(keys = redis.key_base(), "velocity features shared on Redis");
            Arc::new(redis)
        }
    };
    let pipeline = Pipeline::start(scorer, velocity, store, Arc::new(SystemClock), config)
        .await
        .context("starting the scoring pipeline")?;
    pipeline.reload_rules().await.map_err(|e| anyhow::anyhow!("loading the rule state: {e}"))?;
    Ok(Arc::new(pipeline))
}

pub(crate) fn init_logging(json: bool, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second init (tests calling commands twice) is harmless: keep the first.
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
