//! `fds audit`: checks the tamper-evident audit log of the configured store.

use crate::config::with_store;
use anyhow::{Context, Result};
use clap::Subcommand;
use fds_store::{ChainVerifier, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// Records read per page: bounded memory on a long log, few round trips.
const PAGE: u32 = 1_000;

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Re-hash every audit record in sequence order and check the chain: exits 0 if
    /// it is intact, 1 naming the first edited, missing or misplaced record.
    Verify {
        /// Configuration file (the store URL is `[store] url`, or `FDS__STORE__URL`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub(crate) fn run(command: AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify { config } => with_store(config.as_deref(), async |store| verify(store).await),
    }
}

/// Reads the chain head, then pages through the log up to it (records appended
/// meanwhile are left for the next run) and checks the end against the head;
/// prints the verdict.
async fn verify(store: &dyn Store) -> Result<ExitCode> {
    let head = store.audit_head().await.context("reading the audit chain head")?;
    let mut verifier = ChainVerifier::new();
    let mut after = 0;
    let verdict = 'pages: loop {
        let page = store.audit_records(after, PAGE).await.context("reading the audit log")?;
        let Some(last) = page.last() else { break verifier.finish(&head) };
        after = last.seq;
        for record in page.iter().take_while(|r| r.seq <= head.seq) {
            if let Err(broken) = verifier.push(record) {
                break 'pages Err(broken);
            }
        }
        if after >= head.seq {
            break verifier.finish(&head);
        }
    };
    match verdict {
        Ok(verified) => {
            println!("audit chain intact: {verified} records");
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!("{broken} ({} records before it verified)", verifier.verified());
            Ok(ExitCode::FAILURE)
        }
    }
}
