//! Wiring shared by the commands: load the rule library, build the scorer and the
//! pipeline, start logging.

use anyhow::{Context, Result};
use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::{Pipeline, PipelineConfig, SystemClock};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_vault::Vault;
use std::path::Path;
use std::sync::Arc;

/// The feature set (`<dir>/features.toml`) and the compiled rule pack in `dir`.
pub(crate) fn load_library(dir: &Path) -> Result<(Arc<FeatureSet>, Arc<RulePack>)> {
    let features_path = dir.join("features.toml");
    let text = std::fs::read_to_string(&features_path)
        .with_context(|| format!("reading {}", features_path.display()))?;
    let features =
        FeatureSet::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", features_path.display()))?;
    let pack = RulePack::load_dir(dir, features.names(), features.utc_offset())
        .map_err(|e| anyhow::anyhow!("loading rules from {}: {e}", dir.display()))?;
    Ok((Arc::new(features), Arc::new(pack)))
}

pub(crate) fn scorer(dir: &Path, config: ScoringConfig) -> Result<Scorer> {
    let (features, pack) = load_library(dir)?;
    Ok(Scorer::new(pack, features, config))
}

/// Opens the store (its PII sealed by `vault`) and starts the pipeline over a fresh
/// in-memory velocity store.
pub(crate) async fn pipeline(store_url: &str, vault: Arc<Vault>, scorer: Scorer) -> Result<Arc<Pipeline>> {
    let store = fds_store::open(store_url, vault)
        .await
        .with_context(|| format!("opening the store at {}", crate::config::redacted_url(store_url)))?;
    let features = Arc::new(InMemoryFeatures::new(scorer.features().clone()));
    let pipeline = Pipeline::start(scorer, features, store, Arc::new(SystemClock), PipelineConfig::default())
        .await
        .context("starting the scoring pipeline")?;
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
