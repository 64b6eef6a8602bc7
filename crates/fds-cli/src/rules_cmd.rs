//! `fds rules ...`: the rule library from the command line.

use crate::config::{load_store, redacted_url};
use crate::setup;
use anyhow::{Context, Result};
use fds_rules::RulePack;
use fds_store::{RuleHits, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Compile every rule and run every fixture case; non-zero exit on any failure.
    Test {
        #[arg(long, default_value = "rules")]
        dir: PathBuf,
    },
    /// List the rules by family: id, action, score, state, the event types they
    /// apply to, and how many decisions each hit in the last 24 hours and 7 days in
    /// the configured store.
    List {
        #[arg(long, default_value = "rules")]
        dir: PathBuf,
        /// The configuration file naming the store (as for `fds serve`; FDS__
        /// environment variables apply on top).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only the library: no store, no hit counts.
        #[arg(long)]
        no_hits: bool,
    },
    #[command(flatten)]
    Pack(crate::pack_cmd::PackCommand),
}

pub(crate) fn run(command: RulesCommand) -> Result<ExitCode> {
    match command {
        RulesCommand::Test { dir } => test(dir),
        RulesCommand::List { dir, config, no_hits } => list(dir, config, no_hits),
        RulesCommand::Pack(command) => crate::pack_cmd::run(command),
    }
}

/// Hit counts over the last 24 hours and the last 7 days.
struct Hits {
    day: RuleHits,
    week: RuleHits,
}

fn list(dir: PathBuf, config: Option<PathBuf>, no_hits: bool) -> Result<ExitCode> {
    let (_, pack) = setup::load_library(&dir)?;
    let hits = if no_hits {
        None
    } else {
        let (url, keys) = match load_store(config.as_deref(), std::env::vars()) {
            Ok(store) => store,
            Err(errors) => {
                eprint!("{errors}");
                return Ok(ExitCode::from(2));
            }
        };
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        Some(runtime.block_on(async {
            let store = fds_store::open(&url, std::sync::Arc::new(fds_vault::Vault::new(keys)))
                .await
                .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
            let now = chrono::Utc::now();
            read_hits(store.as_ref(), now).await
        })?)
    };
    print!("{}", render(&pack, hits.as_ref()));
    Ok(ExitCode::SUCCESS)
}

async fn read_hits(store: &dyn Store, now: chrono::DateTime<chrono::Utc>) -> Result<Hits> {
    let day = store.rule_hits(now - chrono::Duration::hours(24), now).await.context("reading rule hits")?;
    let week = store.rule_hits(now - chrono::Duration::days(7), now).await.context("reading rule hits")?;
    Ok(Hits { day, week })
}

/// The listing: one line per rule, grouped by family in the library's order, then
/// a line per family and a total. Every rule of the library on disk is live (it is
/// the pack `fds serve` loads).
fn render(pack: &RulePack, hits: Option<&Hits>) -> String {
    use std::fmt::Write as _;
    let mut rules: Vec<&fds_rules::RuleMeta> = pack.rules().iter().collect();
    rules.sort_by(|a, b| (a.family, &a.id).cmp(&(b.family, &b.id)));
    let count = |hits: &RuleHits, id: &str| hits.get(id).map_or(0, fds_store::Tally::total);
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0).max(2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$} {:<22} {:<7} {:>6} {:<6} {:<28} {:>9} {:>9}",
        "ID", "FAMILY", "ACTION", "SCORE", "STATE", "EVENTS", "HITS 24H", "HITS 7D"
    );
    for rule in &rules {
        let events = rule.events.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",");
        let (day, week) = match hits {
            Some(h) => (count(&h.day, &rule.id).to_string(), count(&h.week, &rule.id).to_string()),
            None => ("-".to_string(), "-".to_string()),
        };
        let _ = writeln!(
            out,
            "{:<width$} {:<22} {:<7} {:>6.1} {:<6} {:<28} {:>9} {:>9}",
            rule.id,
            rule.family.as_str(),
            rule.action.as_str(),
            rule.score,
            "live",
            if events.is_empty() { "all".to_string() } else { events },
            day,
            week
        );
    }
    let _ = writeln!(out);
    for family in fds_core::Family::ALL {
        let ids: Vec<&str> = rules.iter().filter(|r| r.family == family).map(|r| r.id.as_str()).collect();
        let sum = |hits: &RuleHits| ids.iter().map(|id| count(hits, id)).sum::<u64>();
        let (day, week) = hits.map_or(("-".to_string(), "-".to_string()), |h| {
            (sum(&h.day).to_string(), sum(&h.week).to_string())
        });
        let _ = writeln!(
            out,
            "{:<22} {:>3} rules   hits 24h {:>9}   hits 7d {:>9}",
            family.as_str(),
            ids.len(),
            day,
            week
        );
    }
    let unknown =
        hits.map(|h| h.week.keys().filter(|id| !rules.iter().any(|r| &r.id == *id)).count()).unwrap_or(0);
    let _ = writeln!(
        out,
        "{} rules ({}){}",
        rules.len(),
        pack.version(),
        if unknown > 0 {
            format!("; {unknown} rule ids with hits in the last 7 days are not in this library")
        } else {
            String::new()
        }
    );
    out
}

fn test(dir: PathBuf) -> Result<ExitCode> {
    let (features, pack) = setup::load_library(&dir)?;
    let report = fds_scoring::fixtures::run_fixtures(&dir, &pack, &features);
    for result in &report.results {
        if let Err(why) = &result.outcome {
            println!("FAIL {} / {}: {why}", result.rule_id, result.case);
        }
    }
    for problem in &report.problems {
        println!("PROBLEM {problem}");
    }
    println!(
        "{} rules ({}), {} passed, {} failed",
        pack.rules().len(),
        pack.version(),
        report.passed(),
        report.failed() + report.problems.len()
    );
    Ok(if report.failed() == 0 && report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
