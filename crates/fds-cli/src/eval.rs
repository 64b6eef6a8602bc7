//! `fds eval`: replays a JSONL event file through the scorer (fresh velocity state, in
//! file order) and reports per-family recall and the impact on legit subscribers.

use crate::setup;
use anyhow::{Context, Result};
use fds_core::Event;
use fds_features::{FeatureStore, InMemoryFeatures};
use fds_scoring::ScoringConfig;
use fds_sim::{Tally, Truth};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    /// Events, one JSON object per line, in event-time order.
    #[arg(long)]
    events: PathBuf,
    /// Ground truth: one {"subscriber","family","actor"} object per line.
    #[arg(long)]
    truth: PathBuf,
    /// The rule library.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: EvalArgs) -> Result<ExitCode> {
    let truth_file =
        std::fs::File::open(&args.truth).with_context(|| format!("opening {}", args.truth.display()))?;
    let truth = Truth::read_jsonl(&mut std::io::BufReader::new(truth_file))
        .with_context(|| format!("reading {}", args.truth.display()))?;
    let scorer = setup::scorer(&args.rules, ScoringConfig::default())?;
    let features = InMemoryFeatures::new(scorer.features().clone());
    let events =
        std::fs::File::open(&args.events).with_context(|| format!("opening {}", args.events.display()))?;

    let mut tally = Tally::new();
    let mut refused = 0u64;
    let mut rule_errors = 0u64;
    let started = Instant::now();
    for (n, line) in std::io::BufReader::new(events).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", args.events.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event = match serde_json::from_str(&line)
            .map_err(|e| e.to_string())
            .and_then(|v| Event::from_value(v, None).map_err(|e| e.to_string()))
        {
            Ok(e) => e,
            Err(reason) => {
                refused += 1;
                if refused <= 10 {
                    eprintln!("line {}: {reason}", n + 1);
                }
                continue;
            }
        };
        let values = features.observe(&event);
        let scored = scorer.score(&event, &values, event.occurred_at);
        rule_errors += scored.rule_errors.len() as u64;
        tally.record(event.subscriber.expose(), scored.decision.action, &truth);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let report = tally.report();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
        println!(
            "{} events in {elapsed:.1} s ({:.0} events/s), {refused} refused by validation, {rule_errors} rule errors",
            report.events,
            report.events as f64 / elapsed.max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}
