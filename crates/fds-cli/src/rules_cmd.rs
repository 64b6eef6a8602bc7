//! `fds rules ...`: the rule library from the command line.

use crate::config::{load_store, redacted_url};
use crate::setup;
use anyhow::{Context, Result};
use fds_rules::RulePack;
use fds_store::{RuleHits, Store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// Replay the stored events of a period with a draft against the live pack and
    /// report what would change (decisions, subscribers blocked and released, labelled
    /// fraud caught and false positives).
    Backtest(crate::backtest_cmd::BacktestArgs),
    #[command(flatten)]
    Pack(crate::pack_cmd::PackCommand),
}

pub(crate) fn run(command: RulesCommand) -> Result<ExitCode> {
    match command {
        RulesCommand::Test { dir } => test(dir),
        RulesCommand::List { dir, config, no_hits } => list(dir, config, no_hits),
        RulesCommand::Backtest(args) => crate::backtest_cmd::run(args),
        RulesCommand::Pack(command) => crate::pack_cmd::run(command),
    }
}

/// Hit counts over the last 24 hours and the last 7 days.
struct Hits {
    day: RuleHits,
    week: RuleHits,
}

fn list(dir: PathBuf, config: Option<PathBuf>, no_hits: bool) -> Result<ExitCode> {
    let (features, files_pack) = setup::load_library(&dir)?;
    if no_hits {
        print!("{}", render(&Listing::of_files(files_pack), None));
        return Ok(ExitCode::SUCCESS);
    }
    let (url, keys) = match load_store(config.as_deref(), std::env::vars()) {
        Ok(store) => store,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (listing, hits) = runtime.block_on(async {
        let store = fds_store::open(&url, std::sync::Arc::new(fds_vault::Vault::new(keys)))
            .await
            .with_context(|| format!("opening the store at {}", redacted_url(&url)))?;
        let listing =
            Listing::of_store(store.as_ref(), &features).await?.unwrap_or(Listing::of_files(files_pack));
        let hits = read_hits(store.as_ref(), chrono::Utc::now()).await?;
        anyhow::Ok((listing, hits))
    })?;
    print!("{}", render(&listing, Some(&hits)));
    Ok(ExitCode::SUCCESS)
}

/// What `fds rules list` shows: the live pack's rules, and the rules the open
/// drafts add (state `draft`, or `shadow` when the draft runs in shadow).
struct Listing {
    live: Arc<RulePack>,
    drafted: Vec<(fds_rules::RuleMeta, &'static str)>,
}

impl Listing {
    /// The rules directory's own pack: every rule is what `fds serve` seeds an empty store with.
    fn of_files(pack: Arc<RulePack>) -> Listing {
        Listing { live: pack, drafted: Vec::new() }
    }

    /// The store's live pack and its open drafts; `None` before the store is seeded.
    async fn of_store(
        store: &dyn Store,
        features: &Arc<fds_features::FeatureSet>,
    ) -> Result<Option<Listing>> {
        let fds_pipeline::rulebook::Live { files, pack: live, .. } =
            match fds_pipeline::rulebook::live(store, features).await {
                Ok(live) => live,
                Err(fds_pipeline::rulebook::RulebookError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(anyhow::anyhow!("the live pack: {e}")),
            };
        let mut drafted = Vec::new();
        for change in store.rule_changes(Some(fds_store::ChangeState::Draft)).await? {
            let Ok(after) = change.apply_to(&files) else { continue };
            // A draft that does not compile yet lists nothing; `fds rules show` tells why.
            let Ok(pack) = RulePack::from_files(&after, features.names(), features.utc_offset()) else {
                continue;
            };
            for rule in pack.rules().iter().filter(|r| live.rule_index(&r.id).is_none()) {
                drafted.push((rule.clone(), if change.shadow { "shadow" } else { "draft" }));
            }
        }
        Ok(Some(Listing { live: Arc::new(live), drafted }))
    }
}

async fn read_hits(store: &dyn Store, now: chrono::DateTime<chrono::Utc>) -> Result<Hits> {
    let day = store.rule_hits(now - chrono::Duration::hours(24), now).await.context("reading rule hits")?;
    let week = store.rule_hits(now - chrono::Duration::days(7), now).await.context("reading rule hits")?;
    Ok(Hits { day, week })
}

/// The listing: one line per rule, grouped by family in the library's order, then
/// a line per family and a total.
fn render(listing: &Listing, hits: Option<&Hits>) -> String {
    use std::fmt::Write as _;
    let pack = &listing.live;
    let mut rules: Vec<(&fds_rules::RuleMeta, &str)> = pack.rules().iter().map(|r| (r, "live")).collect();
    rules.extend(listing.drafted.iter().map(|(r, state)| (r, *state)));
    rules.sort_by(|(a, _), (b, _)| (a.family, &a.id).cmp(&(b.family, &b.id)));
    let count = |hits: &RuleHits, id: &str| hits.get(id).map_or(0, fds_store::Tally::total);
    let width = rules.iter().map(|(r, _)| r.id.len()).max().unwrap_or(0).max(2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$} {:<22} {:<7} {:>6} {:<6} {:<28} {:>9} {:>9}",
        "ID", "FAMILY", "ACTION", "SCORE", "STATE", "EVENTS", "HITS 24H", "HITS 7D"
    );
    for (rule, state) in &rules {
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
            state,
            if events.is_empty() { "all".to_string() } else { events },
            day,
            week
        );
    }
    let _ = writeln!(out);
    for family in fds_core::Family::ALL {
        let ids: Vec<&str> =
            rules.iter().filter(|(r, _)| r.family == family).map(|(r, _)| r.id.as_str()).collect();
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
    let unknown = hits
        .map(|h| h.week.keys().filter(|id| !rules.iter().any(|(r, _)| &r.id == *id)).count())
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{} rules ({} live, {}){}",
        rules.len(),
        pack.rules().len(),
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
