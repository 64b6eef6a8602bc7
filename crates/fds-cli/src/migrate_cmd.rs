//! `fds migrate`: brings the configured store's schema up to this build (opening
//! the store applies pending migrations) and prints the schema version. A database
//! migrated by a newer build is refused with the store's error, untouched.

use crate::config::{load_store, redacted_url};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct MigrateArgs {
    /// Configuration file (the store URL is `[store] url`, or `FDS__STORE__URL`).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: MigrateArgs) -> Result<ExitCode> {
    let (url, keys) = match load_store(args.config.as_deref(), std::env::vars()) {
        Ok(store) => store,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let version = runtime.block_on(async {
        let store = fds_store::open(&url, std::sync::Arc::new(fds_vault::Vault::new(keys)))
            .await
            .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
        store.schema_version().await.context("reading the schema version")
    })?;
    println!("store {} is at schema version {version}", redacted_url(&url));
    Ok(ExitCode::SUCCESS)
}
