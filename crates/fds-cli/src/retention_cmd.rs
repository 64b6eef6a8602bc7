//! `fds retention`: removes the decisions and events the retention policy no
//! longer keeps (legal holds excepted) from the configured store and prints what
//! it removed; `--dry-run` prints what it would remove and changes nothing.

use crate::config::{load_store, redacted_url};
use anyhow::{Context, Result};
use clap::Args;
use fds_store::retention::{DECISIONS, EVENTS};
use fds_store::{RetentionPolicy, RetentionReport};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct RetentionArgs {
    /// Configuration file (the store URL is `[store] url`, or `FDS__STORE__URL`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Full months of decisions kept besides the current one.
    #[arg(long, default_value_t = RetentionPolicy::default().decisions_months)]
    decisions_months: u32,
    /// Days of events (the data mart) kept.
    #[arg(long, default_value_t = RetentionPolicy::default().events_days)]
    events_days: u32,
}

pub(crate) fn run(args: RetentionArgs) -> Result<ExitCode> {
    let (url, keys) = match load_store(args.config.as_deref(), std::env::vars()) {
        Ok(store) => store,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let policy = RetentionPolicy { decisions_months: args.decisions_months, events_days: args.events_days };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let store = fds_store::open(&url, std::sync::Arc::new(fds_vault::Vault::new(keys)))
            .await
            .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
        store.retention(policy, chrono::Utc::now(), args.dry_run).await.context("running retention")
    })?;
    print!("{}", render(&report));
    Ok(ExitCode::SUCCESS)
}

/// The report as printed: the cut-offs, one line per table and month, the
/// partitions dropped, the totals.
fn render(report: &RetentionReport) -> String {
    let verb = if report.dry_run { "would remove" } else { "removed" };
    let mut out = format!(
        "retention{}: decisions before {}, events before {}\n",
        if report.dry_run { " (dry run, nothing removed)" } else { "" },
        report.decisions_cutoff.format("%Y-%m-%d %H:%M:%S UTC"),
        report.events_cutoff.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    for entry in &report.removed {
        out.push_str(&format!(
            "  {:<9} {}: {verb} {}, kept on hold {}\n",
            entry.table, entry.month, entry.rows, entry.held
        ));
    }
    for partition in &report.partitions_dropped {
        let verb = if report.dry_run { "would drop" } else { "dropped" };
        out.push_str(&format!("  {verb} partition {partition}\n"));
    }
    out.push_str(&format!(
        "{verb} {} decisions and {} events; kept on hold {} decisions and {} events\n",
        report.rows_removed(DECISIONS),
        report.rows_removed(EVENTS),
        report.rows_held(DECISIONS),
        report.rows_held(EVENTS),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use fds_store::RemovedRows;

    #[test]
    fn a_dry_run_report_reads_as_what_would_be_removed() {
        let policy = RetentionPolicy::default();
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let report = RetentionReport {
            dry_run: true,
            policy,
            decisions_cutoff: policy.decisions_cutoff(now).unwrap(),
            events_cutoff: policy.events_cutoff(now).unwrap(),
            removed: vec![
                RemovedRows { table: DECISIONS.into(), month: "2025-03".into(), rows: 4, held: 1 },
                RemovedRows { table: EVENTS.into(), month: "2025-03".into(), rows: 2, held: 1 },
            ],
            partitions_dropped: vec!["decisions_2025_03".into()],
        };

        assert_eq!(
            render(&report),
            "retention (dry run, nothing removed): decisions before 2025-11-01 00:00:00 UTC, \
             events before 2026-08-23 12:00:00 UTC\n\
             \x20 decisions 2025-03: would remove 4, kept on hold 1\n\
             \x20 events    2025-03: would remove 2, kept on hold 1\n\
             \x20 would drop partition decisions_2025_03\n\
             would remove 4 decisions and 2 events; kept on hold 1 decisions and 1 events\n"
        );
    }
}
