//! `fds eval`: replays a JSONL event file through the scorer (fresh velocity state, in
//! file order) and reports per-family recall and the impact on legit subscribers.
//! With `--model` (repeatable: an anomaly and a supervised artifact run together), the
//! models join the rules, and the rules alone are scored on the same events beside them
//! to count the fraud actors only the models catch.

use crate::setup;
use anyhow::{Context, Result};
use fds_core::{Action, Event};
use fds_features::{FeatureStore, InMemoryFeatures};
use fds_ml::{AnomalyArtifact, SupervisedArtifact};
use fds_scoring::{AnomalyModel, Model, Scorer, ScoringConfig, SupervisedModel};
use fds_sim::{Tally, Truth};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// A model artifact (`fds model train`, anomaly or supervised) to score beside the
    /// rules; repeat to run several together.
    #[arg(long)]
    model: Vec<PathBuf>,
    /// Points the supervised model adds at probability 1 (`scoring.supervised_weight`).
    #[arg(long, default_value_t = ScoringConfig::default().supervised_weight)]
    supervised_weight: f64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Parses one JSONL line into a validated event (the reason as text when refused).
pub(crate) fn parse_line(line: &str) -> std::result::Result<Event, String> {
    serde_json::from_str(line)
        .map_err(|e| e.to_string())
        .and_then(|v| Event::from_value(v, None).map_err(|e| e.to_string()))
}

/// Calls `each` with every valid event of a JSONL file in file order; returns how many
/// lines validation refused (the first ten are reported on stderr, by line number).
pub(crate) fn replay(path: &Path, mut each: impl FnMut(Event)) -> Result<u64> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut refused = 0u64;
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line) {
            Ok(event) => each(event),
            Err(reason) => {
                refused += 1;
                if refused <= 10 {
                    eprintln!("line {}: {reason}", n + 1);
                }
            }
        }
    }
    Ok(refused)
}

/// Loads a model artifact (anomaly or supervised, told apart by its version prefix) and
/// binds it to `scorer`'s feature set.
pub(crate) fn load_model(path: &Path, scorer: &Scorer) -> Result<Arc<dyn Model>> {
    let bytes = std::fs::read(path).with_context(|| format!("opening {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("reading the model {}", path.display()))?;
    let version = value.get("version").and_then(serde_json::Value::as_str).unwrap_or_default();
    let misfit = || format!("the model {} does not fit the rule library's feature set", path.display());
    if version.starts_with("supervised-") {
        let artifact = SupervisedArtifact::read_json(bytes.as_slice())
            .with_context(|| format!("reading the model {}", path.display()))?;
        Ok(Arc::new(SupervisedModel::new(artifact, scorer.features()).with_context(misfit)?))
    } else {
        let artifact = AnomalyArtifact::read_json(bytes.as_slice())
            .with_context(|| format!("reading the model {}", path.display()))?;
        Ok(Arc::new(AnomalyModel::new(artifact, scorer.features()).with_context(misfit)?))
    }
}

/// Per fraud actor: caught (reviewed or blocked) and blocked, by the rules alone and with the model.
#[derive(Default)]
struct ActorOutcome {
    family: String,
    caught_rules: bool,
    caught_model: bool,
    blocked_rules: bool,
    blocked_model: bool,
}

/// What the model added over the rules alone.
#[derive(serde::Serialize)]
struct ModelImpact {
    model: String,
    /// Actors reviewed or blocked with the model whom the rules alone never flagged, per family.
    caught_only_with_model: BTreeMap<String, usize>,
    caught_only_with_model_total: usize,
    /// Actors blocked with the model whom the rules alone never blocked.
    blocked_only_with_model: usize,
    /// Mean extra scoring time per event with the model (µs).
    model_us_per_event: f64,
}

pub(crate) fn run(args: EvalArgs) -> Result<ExitCode> {
    let truth_file =
        std::fs::File::open(&args.truth).with_context(|| format!("opening {}", args.truth.display()))?;
    let truth = Truth::read_jsonl(&mut std::io::BufReader::new(truth_file))
        .with_context(|| format!("reading {}", args.truth.display()))?;
    let config = ScoringConfig { supervised_weight: args.supervised_weight, ..ScoringConfig::default() };
    if let Some(problem) = config.problems().into_iter().next() {
        anyhow::bail!("{problem}");
    }
    let rules_only = setup::scorer(&args.rules, config.clone())?;
    let with_model = if args.model.is_empty() {
        None
    } else {
        let models =
            args.model.iter().map(|path| load_model(path, &rules_only)).collect::<Result<Vec<_>>>()?;
        let name =
            models.iter().map(|m| format!("{}@{}", m.name(), m.version())).collect::<Vec<_>>().join(" + ");
        Some((setup::scorer(&args.rules, config)?.with_models(models), name))
    };
    let features = InMemoryFeatures::new(rules_only.features().clone());

    let mut tally = Tally::new();
    let mut rule_errors = 0u64;
    let mut actors: BTreeMap<String, ActorOutcome> = BTreeMap::new();
    let (mut rules_time, mut model_time) = (Duration::ZERO, Duration::ZERO);
    let started = Instant::now();
    let refused = replay(&args.events, |event| {
        let values = features.observe(&event);
        let t0 = Instant::now();
        let rules = rules_only.score(&event, &values, event.occurred_at);
        let Some((scorer, _)) = &with_model else {
            rule_errors += rules.rule_errors.len() as u64;
            tally.record(event.subscriber.expose(), rules.decision.action, &truth);
            return;
        };
        let t1 = Instant::now();
        let scored = scorer.score(&event, &values, event.occurred_at);
        model_time += t1.elapsed();
        rules_time += t1 - t0;
        rule_errors += scored.rule_errors.len() as u64;
        let subscriber = event.subscriber.expose();
        tally.record(subscriber, scored.decision.action, &truth);
        if let (Some(family), Some(actor)) = (truth.family_of(subscriber), truth.actor_of(subscriber)) {
            let a = actors.entry(actor.to_string()).or_default();
            a.family = family.to_string();
            a.caught_rules |= rules.decision.action != Action::Allow;
            a.blocked_rules |= rules.decision.action == Action::Block;
            a.caught_model |= scored.decision.action != Action::Allow;
            a.blocked_model |= scored.decision.action == Action::Block;
        }
    })?;
    let elapsed = started.elapsed().as_secs_f64();
    let report = tally.report();
    let impact = with_model.as_ref().map(|(_, name)| {
        let mut caught_only = BTreeMap::new();
        for a in actors.values().filter(|a| a.caught_model && !a.caught_rules) {
            *caught_only.entry(a.family.clone()).or_insert(0) += 1;
        }
        ModelImpact {
            model: name.clone(),
            caught_only_with_model_total: caught_only.values().sum(),
            caught_only_with_model: caught_only,
            blocked_only_with_model: actors.values().filter(|a| a.blocked_model && !a.blocked_rules).count(),
            model_us_per_event: (model_time.as_secs_f64() - rules_time.as_secs_f64()) * 1e6
                / report.events.max(1) as f64,
        }
    });
    if args.json {
        let out = match &impact {
            Some(impact) => serde_json::json!({ "report": report, "model": impact }),
            None => serde_json::to_value(&report)?,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{report}");
        if let Some(i) = &impact {
            let families: Vec<String> =
                i.caught_only_with_model.iter().map(|(f, n)| format!("{f} {n}")).collect();
            println!("model {}", i.model);
            println!(
                "actors caught only with the model: {} ({}); blocked only with the model: {}",
                i.caught_only_with_model_total,
                if families.is_empty() { "none".to_string() } else { families.join(", ") },
                i.blocked_only_with_model
            );
            println!("model scoring cost: {:.2} µs per event", i.model_us_per_event);
        }
        println!(
            "{} events in {elapsed:.1} s ({:.0} events/s), {refused} refused by validation, {rule_errors} rule errors",
            report.events,
            report.events as f64 / elapsed.max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}
