//! `fds import FILE...`: legacy system B's daily files (JSON Lines or CSV, gzip
//! accepted) through the one scoring path into the configured store.

use crate::config::{load_scoring, redacted_url};
use crate::setup;
use anyhow::{Context, Result};
use clap::Args;
use fds_stream::import::{import, ImportConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// Files to import: `.jsonl`/`.ndjson`/`.json` or `.csv` (header row with the
    /// event contract's field names), each optionally `.gz`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Configuration file (store, vault keys, rules, scoring; as for `fds serve`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where refused rows are written (JSON Lines: file, line, reasons, row).
    #[arg(long, default_value = "rejects.jsonl")]
    rejects: PathBuf,
    /// Events sorted in memory at once; more are spilled to temporary files.
    #[arg(long, default_value_t = 200_000)]
    sort_chunk: usize,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

pub(crate) fn run(args: ImportArgs) -> Result<ExitCode> {
    let setup_config = match load_scoring(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    setup::init_logging(false, "warn");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let summary = runtime.block_on(async {
        let scorer = setup::scorer(&setup_config.rules_dir, setup_config.scoring.clone())?;
        let vault = Arc::new(fds_vault::Vault::new(setup_config.vault.clone()));
        let pipeline = setup::pipeline(&setup_config.store_url, vault, scorer, &setup_config.rules_dir)
            .await
            .with_context(|| format!("store {}", redacted_url(&setup_config.store_url)))?;
        // The registry's champions score imported events as they score live ones.
        fds_pipeline::models::reload(&pipeline).await.context("loading the models from the registry")?;
        let mut config = ImportConfig::new(&args.rejects);
        config.sort_chunk = args.sort_chunk;
        config.progress = !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let summary = import(&pipeline, &args.files, &config).await.context("importing")?;
        crate::model_registry::flush_tallies(&pipeline).await;
        anyhow::Ok(summary)
    })?;
    println!("read        {}", summary.read);
    println!("scored      {}", summary.scored);
    println!("rejected    {} (see {})", summary.rejected, args.rejects.display());
    println!("duplicates  {} (already stored, skipped)", summary.duplicates);
    println!("elapsed     {:.2} s", summary.elapsed.as_secs_f64());
    println!("events/s    {:.0}", summary.events_per_second());
    Ok(ExitCode::SUCCESS)
}
