//! `fds worker`: the Kafka consumer of legacy system A's events, with the
//! operations endpoints (`/healthz`, `/readyz`, `/metrics`) on `[server] listen`
//! and scheduled retention (`[retention]`) beside it.

use crate::config::Config;
use crate::setup;
use anyhow::{Context, Result};
use fds_stream::Worker;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

pub(crate) fn run(config_file: Option<&Path>) -> Result<ExitCode> {
    let config = match Config::load(config_file, std::env::vars()) {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let worker_config = match config.kafka.worker() {
        Ok(w) => w,
        Err(problem) => {
            eprintln!("invalid configuration (1 problem(s)):\n  - {problem}");
            return Ok(ExitCode::from(2));
        }
    };
    setup::init_logging(config.log.json, &config.log.level);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let scorer = setup::scorer(&config.rules_dir, config.scoring.clone())?;
        let vault = Arc::new(fds_vault::Vault::new(config.vault.clone()));
        let pipeline = setup::pipeline_with(
            &config.store_url,
            vault,
            scorer,
            &config.rules_dir,
            fds_stream::pipeline_config(),
            &config.features,
        )
        .await?;
        let reload = pipeline.spawn_rule_reload(setup::RULE_RELOAD_EVERY);
        let blocks =
            config.features.is_shared().then(|| pipeline.spawn_block_refresh(setup::BLOCK_REFRESH_EVERY));
        let models = crate::model_registry::follow(&pipeline, &config.models).await;
        let worker = Worker::new(worker_config, pipeline.clone()).context("connecting to Kafka")?;
        let metrics = worker.metrics();
        let ops = fds_web::Application::ops(
            config.listen,
            pipeline.clone(),
            Arc::new(move |out| metrics.render(out)),
        )
        .await
        .with_context(|| format!("binding {}", config.listen))?;
        tracing::info!(addr = %ops.local_addr()?, "worker operations endpoints listening");
        let (stop_ops, ops_stopped) = tokio::sync::oneshot::channel::<()>();
        let ops_task = tokio::spawn(ops.run_until_stopped(async {
            let _ = ops_stopped.await;
        }));
        let (stop_retention, retention_stopped) = tokio::sync::oneshot::channel::<()>();
        let retention = tokio::spawn(crate::schedule::retention_task(
            pipeline.store().clone(),
            config.retention.clone(),
            async {
                let _ = retention_stopped.await;
            },
        ));
        let stats = worker.run(setup::shutdown_signal()).await.context("consuming")?;
        reload.abort();
        if let Some(blocks) = blocks {
            blocks.abort();
        }
        models.abort();
        pipeline.drain().await.context("flushing decisions to the store")?;
        crate::model_registry::flush_tallies(&pipeline).await;
        let _ = stop_retention.send(());
        let _ = retention.await;
        let _ = stop_ops.send(());
        let _ = ops_task.await;
        tracing::info!(
            consumed = stats.consumed,
            scored = stats.scored,
            duplicates = stats.duplicates,
            dead_lettered = stats.dead_lettered,
            "worker stopped"
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
