//! `fds keys rotate`: re-encrypts the stored PII that is not under the vault's
//! active data key, in batches, resumably, and audits the run.

use crate::config::{load_store, redacted_url};
use anyhow::{Context, Result};
use clap::Subcommand;
use fds_store::{RotationOptions, RotationReport, TableRotation};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Re-encrypt every stored PII value that is not under the active data key.
    ///
    /// Procedure: add the new data key to `[vault] keys` (FDS__VAULT__KEYS) beside
    /// the old ones, make it `active_key` (new writes use it at once), run this
    /// command, then remove the old key from the ring. Values are re-sealed in
    /// batches, one transaction each, while the server runs; a run that is stopped
    /// (killed, or by --max-batches) keeps its finished batches, and running it
    /// again continues with what is left. Progress goes to stderr, the summary per
    /// table to stdout; every run appends a `key.rotate` audit record.
    ///
    /// Only the data keys are rotated. The blind-index key ([vault] index_key) is
    /// separate and left alone: changing it means recomputing every lookup column,
    /// which this command does not do. The audit log is not rewritten either (its
    /// records are hashed as stored): the summary counts the audit records still
    /// under old keys, whose PII becomes unreadable once those keys are removed
    /// (the chain itself keeps verifying).
    Rotate {
        /// Configuration file (the store URL is `[store] url`, or `FDS__STORE__URL`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Who runs the rotation, as the audit log records it.
        #[arg(long)]
        actor: String,
        /// Rows per batch (one transaction each).
        #[arg(long, default_value_t = RotationOptions::default().batch_size,
              value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        /// Stop after this many batches and leave the rest for the next run.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_batches: Option<u64>,
    },
}

pub(crate) fn run(command: KeysCommand) -> Result<ExitCode> {
    match command {
        KeysCommand::Rotate { config, actor, batch_size, max_batches } => {
            let (url, keys) = match load_store(config.as_deref(), std::env::vars()) {
                Ok(store) => store,
                Err(errors) => {
                    eprint!("{errors}");
                    return Ok(ExitCode::from(2));
                }
            };
            let actor = actor.trim().to_string();
            if actor.is_empty() {
                eprintln!("--actor must name who runs the rotation");
                return Ok(ExitCode::from(2));
            }
            let options = RotationOptions { batch_size, max_batches };
            let vault = std::sync::Arc::new(fds_vault::Vault::new(keys));
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let report = runtime.block_on(async {
                let store = fds_store::open(&url, vault.clone())
                    .await
                    .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
                eprintln!("re-encrypting stored PII under data key {}", vault.active_key_id());
                fds_store::rotate_keys(store.as_ref(), &vault, &actor, chrono::Utc::now(), options, |t| {
                    eprintln!("{}", progress(t))
                })
                .await
                .context("re-encrypting stored values (finished batches are kept; run again to continue)")
            })?;
            print!("{}", render(&report));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One progress line, after a batch.
fn progress(table: &TableRotation) -> String {
    format!(
        "  {}: batch {}, {} rows read, {} re-encrypted{}",
        table.table,
        table.batches,
        table.rows_read,
        table.rows_rewritten,
        if table.done { " (done)" } else { "" }
    )
}

/// The summary: rows re-encrypted per table, the old keys found, whether the run
/// finished, and the audit records left under old keys.
fn render(report: &RotationReport) -> String {
    let mut out = format!("key rotation to data key {}:\n", report.active_key);
    for table in &report.tables {
        out.push_str(&format!(
            "  {:<15} {} rows re-encrypted ({} values){}\n",
            table.table,
            table.rows_rewritten,
            table.values_rewritten,
            if table.done { "" } else { ", not finished" }
        ));
    }
    let from: Vec<String> = report.from_keys.iter().map(|(key, n)| format!("{key}: {n}")).collect();
    out.push_str(&format!(
        "{} rows re-encrypted; values by previous key: {}\n",
        report.rows_rewritten(),
        if from.is_empty() { "none".to_string() } else { from.join(", ") }
    ));
    if report.complete {
        out.push_str(&format!(
            "complete: no stored row holds a value under another key than {}\n",
            report.active_key
        ));
    } else {
        out.push_str("stopped before the end (--max-batches): run again to continue\n");
    }
    if report.audit_records_on_old_keys > 0 {
        let keys: Vec<&str> = report.audit_old_keys.iter().map(String::as_str).collect();
        out.push_str(&format!(
            "audit log: {} records hold values under {} (never rewritten; unreadable once those keys are removed)\n",
            report.audit_records_on_old_keys,
            keys.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_table_the_old_keys_and_what_is_left() {
        let report = RotationReport {
            active_key: "k2".into(),
            tables: vec![
                TableRotation {
                    table: "events".into(),
                    batches: 3,
                    rows_read: 1200,
                    rows_rewritten: 1100,
                    values_rewritten: 1300,
                    done: true,
                },
                TableRotation {
                    table: "blocks".into(),
                    batches: 1,
                    rows_read: 500,
                    rows_rewritten: 500,
                    values_rewritten: 500,
                    done: false,
                },
            ],
            from_keys: [("k1".to_string(), 1800)].into_iter().collect(),
            complete: false,
            audit_records_on_old_keys: 4,
            audit_old_keys: ["k1".to_string()].into_iter().collect(),
        };
        assert_eq!(
            render(&report),
            "key rotation to data key k2:\n\
             \x20 events          1100 rows re-encrypted (1300 values)\n\
             \x20 blocks          500 rows re-encrypted (500 values), not finished\n\
             1600 rows re-encrypted; values by previous key: k1: 1800\n\
             stopped before the end (--max-batches): run again to continue\n\
             audit log: 4 records hold values under k1 (never rewritten; unreadable once those keys are removed)\n"
        );
        assert_eq!(
            progress(&report.tables[0]),
            "  events: batch 3, 1200 rows read, 1100 re-encrypted (done)"
        );
    }
}
