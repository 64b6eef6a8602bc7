//! `fds rules backtest`: replays the stored events of a period through fresh
//! velocity state and reports what a draft would change against the live pack —
//! decisions by action, subscribers newly blocked or released, labelled fraud caught
//! and false positives, rule hits. Progress goes to stderr; Ctrl-C stops it with
//! the report so far.

use crate::config::{load_scoring, redacted_url};
use crate::setup;
use anyhow::{Context, Result};
use fds_core::Action;
use fds_pipeline::backtest::{backtest, BacktestReport};
use fds_pipeline::rulebook;
use fds_scoring::Scorer;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args)]
pub(crate) struct BacktestArgs {
    /// The draft to test against the live pack (without it, the live pack against
    /// itself: a check that replays reproduce the stored decisions' actions).
    #[arg(long)]
    draft: Option<i64>,
    /// The first day (YYYY-MM-DD, UTC) or instant (RFC 3339) of the period.
    #[arg(long)]
    from: String,
    /// The end of the period (exclusive), as --from.
    #[arg(long)]
    to: String,
    /// The configuration file (as for `fds serve`; FDS__ environment variables apply on top).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn instant(flag: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| format!("{flag} {text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 instant"))
}

pub(crate) fn run(args: BacktestArgs) -> Result<ExitCode> {
    let window = instant("--from", &args.from).and_then(|from| Ok((from, instant("--to", &args.to)?)));
    let (from, to) = match window {
        Ok((from, to)) if from < to => (from, to),
        Ok(_) => {
            eprintln!("--from must come before --to");
            return Ok(ExitCode::from(2));
        }
        Err(problem) => {
            eprintln!("{problem}");
            return Ok(ExitCode::from(2));
        }
    };
    let config = match load_scoring(args.config.as_deref(), std::env::vars()) {
        Ok(config) => config,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = fds_store::open(&config.store_url, Arc::new(fds_vault::Vault::new(config.vault.clone())))
            .await
            .with_context(|| format!("opening the store at {}", redacted_url(&config.store_url)))?;
        let features = setup::load_features(&config.rules_dir)?;
        let rulebook::Live { version, pack, .. } = match rulebook::live(store.as_ref(), &features).await {
            Ok(live) => live,
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(1));
            }
        };
        let live = Scorer::new(Arc::new(pack), features.clone(), config.scoring.clone());
        let (draft, name) = match args.draft {
            None => (live.with_rules(live.rules().clone()), format!("live {}", version.label())),
            Some(id) => match rulebook::check_change(store.as_ref(), id, &features).await {
                Ok(checked) => (
                    live.with_rules(Arc::new(checked.pack)),
                    format!("draft {id} ({})", checked.change.title),
                ),
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(1));
                }
            },
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.store(true, Ordering::Relaxed);
            }
        });
        let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let report = backtest(
            store.as_ref(),
            (&live, &draft),
            (from, to),
            &cancel,
            |p| {
                if progress {
                    eprint!(
                        "\rbacktest: {} events ({} history), at {}   ",
                        p.events,
                        p.warm_up_events,
                        p.at.format("%Y-%m-%d %H:%M")
                    );
                }
            },
            |_, _, _| {},
        )
        .await
        .context("replaying the stored events")?;
        if progress {
            eprintln!();
        }
        print!("{}", render(&report, &version.label(), &name, from, to));
        Ok(ExitCode::SUCCESS)
    })
}

fn render(
    report: &BacktestReport,
    live: &str,
    draft: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "backtest    {draft} against live {live}");
    let _ = writeln!(
        out,
        "period      {} .. {}{}",
        from.to_rfc3339(),
        to.to_rfc3339(),
        if report.cancelled { " (CANCELLED: partial)" } else { "" }
    );
    let _ = writeln!(
        out,
        "events      {} scored, {} replayed before the period for the features",
        report.events, report.warm_up_events
    );
    let _ = writeln!(
        out,
        "changed     {} decisions ({:.3} %)",
        report.changed(),
        100.0 * report.changed() as f64 / report.events.max(1) as f64
    );
    let actions = [Action::Allow, Action::Review, Action::Block];
    let _ = writeln!(out, "            live \\ draft {:>10} {:>10} {:>10}", "allow", "review", "block");
    for a in actions {
        let row: Vec<String> = actions
            .iter()
            .map(|b| format!("{:>10}", report.transitions.get(&(a, *b)).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "            {:<12} {}", a.as_str(), row.join(" "));
    }
    let _ = writeln!(out, "subscribers {} newly blocked, {} released", report.newly_blocked, report.released);
    let l = &report.labels;
    let _ = writeln!(
        out,
        "labels      {} fraud events: caught live {} draft {}; {} legit events: false positives live {} draft {}",
        l.fraud, l.caught_live, l.caught_draft, l.legit, l.false_positives_live, l.false_positives_draft
    );
    let mut moved: Vec<(&String, &(u64, u64))> =
        report.rule_hits.iter().filter(|(_, (a, b))| a != b).collect();
    moved.sort_by_key(|(id, (a, b))| (std::cmp::Reverse(a.abs_diff(*b)), (*id).clone()));
    if !moved.is_empty() {
        let _ = writeln!(out, "rule hits   live -> draft, where they differ:");
        for (id, (a, b)) in moved.iter().take(20) {
            let _ = writeln!(out, "            {id:<40} {a:>8} -> {b:<8}");
        }
    }
    let _ = writeln!(
        out,
        "time        {:.2} s, {:.0} events/s (history included)",
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    );
    out
}
