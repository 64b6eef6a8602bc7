//! `fds serve`: the blocking API and the analyst console (`/console`, `[console]`)
//! over the configured store, with scheduled retention (`[retention]`) beside it.

use crate::config::Config;
use crate::setup;
use anyhow::{Context, Result};
use fds_web::{ApiConfig, Application};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn run(config_file: Option<&Path>) -> Result<ExitCode> {
    let config = match Config::load(config_file, std::env::vars()) {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    setup::init_logging(config.log.json, &config.log.level);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> Result<()> {
    let scorer = setup::scorer(&config.rules_dir, config.scoring.clone())?;
    let vault = std::sync::Arc::new(fds_vault::Vault::new(config.vault.clone()));
    let pipeline = setup::pipeline_with(
        &config.store_url,
        vault,
        scorer,
        &config.rules_dir,
        fds_pipeline::PipelineConfig::default(),
        &config.features,
    )
    .await?;
    let rules = pipeline.scorer().rules().rules().len();
    let version = pipeline.scorer().rules().version().to_string();
    let reload = pipeline.spawn_rule_reload(setup::RULE_RELOAD_EVERY);
    // Replicas sharing the velocity state share the blocks too.
    let blocks =
        config.features.is_shared().then(|| pipeline.spawn_block_refresh(setup::BLOCK_REFRESH_EVERY));
    let models = crate::model_registry::follow(&pipeline, &config.models).await;
    let api = ApiConfig {
        listen: config.listen,
        keys: config.keys(),
        deadline: config.deadline,
        on_deadline: config.on_deadline,
    };
    let console =
        fds_web::console::ConsoleConfig { settings: config.settings_lines(), ..config.console.clone() };
    let app = Application::build_with_console(api, pipeline.clone(), console)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    tracing::info!(addr = %app.local_addr()?, rules, rules_version = %version, "fds api listening");
    let (stop_retention, retention_stopped) = tokio::sync::oneshot::channel::<()>();
    let retention = tokio::spawn(crate::schedule::retention_task(
        pipeline.store().clone(),
        config.retention.clone(),
        async {
            let _ = retention_stopped.await;
        },
    ));
    let served = app.run_until_stopped(setup::shutdown_signal()).await;
    let _ = stop_retention.send(());
    let _ = retention.await;
    reload.abort();
    if let Some(blocks) = blocks {
        blocks.abort();
    }
    served?;
    tracing::info!("draining decisions to the store");
    models.abort();
    pipeline.drain().await.context("draining decisions to the store")?;
    crate::model_registry::flush_tallies(&pipeline).await;
    tracing::info!("stopped");
    Ok(())
}
