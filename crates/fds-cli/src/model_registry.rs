//! `fds model train --since`, `promote`, `list`: the models in the store's registry.
//! Training replays the store's events of the period through fresh velocity state
//! (the same code as training on a file, see `model_cmd.rs`), labels them with the
//! stored labels and registers the artifact; promotion is the store's audited role
//! change, which serving processes pick up by polling the registry version.

use crate::config::{load_scoring, parse_duration, redacted_url, with_store};
use crate::model_cmd::{train_model, Labels, ModelKind, Source, TrainArgs};
use anyhow::{bail, Context, Result};
use fds_core::{Event, Outcome, Timestamp};
use fds_store::{ModelInfo, ModelRole, NewModel, Store};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Events read from the store per page.
const PAGE: u32 = 5_000;

/// The store's events in `[from, to)`, in event-time order.
pub(crate) struct StoredEvents {
    store: Arc<dyn Store>,
    runtime: tokio::runtime::Handle,
    from: Timestamp,
    to: Timestamp,
}

impl StoredEvents {
    pub(crate) fn replay(&self, mut each: impl FnMut(Event)) -> Result<u64> {
        let mut cursor = (self.from, String::new());
        loop {
            let page = self
                .runtime
                .block_on(self.store.events_after((cursor.0, &cursor.1), PAGE))
                .context("reading the stored events")?;
            let Some(last) = page.last() else { break };
            cursor = (last.occurred_at, last.event_id.clone());
            for event in page {
                if event.occurred_at >= self.to {
                    return Ok(0);
                }
                each(event);
            }
        }
        Ok(0)
    }

    pub(crate) fn name(&self) -> String {
        format!("the store's events from {} to {}", self.from.to_rfc3339(), self.to.to_rfc3339())
    }
}

/// The stored labels, by event id and by subscriber; the newest label of each wins.
pub(crate) struct StoredLabels {
    events: HashMap<String, bool>,
    subscribers: HashMap<String, bool>,
}

impl StoredLabels {
    /// `labels` newest first, as [`Store::labels`] returns them.
    pub(crate) fn new(labels: Vec<fds_core::Label>) -> StoredLabels {
        let (mut events, mut subscribers) = (HashMap::new(), HashMap::new());
        for label in labels {
            let fraud = label.outcome == Outcome::Fraud;
            if let Some(event_id) = label.event_id {
                events.entry(event_id).or_insert(fraud);
            } else if let Some(subscriber) = label.subscriber {
                subscribers.entry(subscriber.expose().to_string()).or_insert(fraud);
            }
        }
        StoredLabels { events, subscribers }
    }

    /// The event's own label, else its subscriber's, else legit.
    pub(crate) fn fraud(&self, event: &Event) -> bool {
        self.events
            .get(&event.event_id)
            .or_else(|| self.subscribers.get(event.subscriber.expose()))
            .copied()
            .unwrap_or(false)
    }

    fn counts(&self) -> (usize, usize) {
        (self.events.len(), self.subscribers.len())
    }
}

fn store_kind(kind: ModelKind) -> fds_store::ModelKind {
    match kind {
        ModelKind::Anomaly => fds_store::ModelKind::Anomaly,
        ModelKind::Supervised => fds_store::ModelKind::Supervised,
    }
}

/// The configured store with its runtime, the serving rule library's feature set
/// and the scoring thresholds: what the registry commands that train or score need.
struct Registry {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    setup: crate::config::ScoringSetup,
    features: Arc<fds_features::FeatureSet>,
}

impl Registry {
    /// Opens the configured store; `Err(code)` after printing a configuration problem.
    fn open(config: Option<&std::path::Path>) -> Result<std::result::Result<Registry, ExitCode>> {
        let setup = match load_scoring(config, std::env::vars()) {
            Ok(setup) => setup,
            Err(errors) => {
                eprint!("{errors}");
                return Ok(Err(ExitCode::from(2)));
            }
        };
        let (features, _) = crate::setup::load_library(&setup.rules_dir)?;
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        let vault = Arc::new(fds_vault::Vault::new(setup.vault.clone()));
        let store = runtime
            .block_on(fds_store::open(&setup.store_url, vault))
            .with_context(|| format!("opening the store at {}", redacted_url(&setup.store_url)))?;
        Ok(Ok(Registry { runtime, store, setup, features }))
    }

    fn labels(&self) -> Result<StoredLabels> {
        Ok(StoredLabels::new(
            self.runtime.block_on(self.store.labels(u32::MAX)).context("reading the labels")?,
        ))
    }

    fn events(&self, from: Timestamp, to: Timestamp) -> StoredEvents {
        StoredEvents { store: self.store.clone(), runtime: self.runtime.handle().clone(), from, to }
    }

    /// The registered models, built from their artifacts for the serving feature set.
    fn load(&self, infos: &[&ModelInfo]) -> Result<Vec<Arc<dyn fds_scoring::Model>>> {
        let mut models = Vec::new();
        for info in infos {
            let artifact = self
                .runtime
                .block_on(self.store.model_artifact(&info.version))?
                .with_context(|| format!("model {} has no artifact", info.version))?;
            models.push(fds_pipeline::models::model_from_artifact(
                info.kind,
                &info.version,
                &artifact,
                &self.features,
            )?);
        }
        Ok(models)
    }

    /// Scores the stored events of `[from, to)` with each of `models` (velocity state
    /// rebuilt from the longest feature window before `from`) and measures them
    /// against the stored labels at the points each model alone reaches review and
    /// block; `None` for all without both classes.
    fn holdout(
        &self,
        models: &[Arc<dyn fds_scoring::Model>],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Holdout> {
        let labels = self.labels()?;
        let state = fds_features::InMemoryFeatures::new(self.features.clone());
        let (mut scores, mut truth) = (vec![Vec::new(); models.len()], Vec::new());
        self.events(from - self.features.longest_window(), to).replay(|event| {
            let values = fds_features::FeatureStore::observe(&state, &event);
            if event.occurred_at < from {
                return;
            }
            truth.push(labels.fraud(&event));
            for (model, scores) in models.iter().zip(&mut scores) {
                scores.push(model.score(&event, &values).score);
            }
        })?;
        let scoring = &self.setup.scoring;
        let evaluations = models
            .iter()
            .zip(&scores)
            .map(|(model, scores)| {
                let weight = model.weight(scoring).max(f64::MIN_POSITIVE);
                let thresholds =
                    [("review", scoring.review_at / weight), ("block", scoring.block_at / weight)];
                fds_ml::Evaluation::new(scores, scores, &truth, &thresholds).ok()
            })
            .collect();
        Ok(Holdout {
            from,
            to,
            events: truth.len(),
            fraud: truth.iter().filter(|f| **f).count(),
            evaluations,
        })
    }
}

/// Models measured on the same stored events.
struct Holdout {
    from: Timestamp,
    to: Timestamp,
    events: usize,
    fraud: usize,
    /// Per model, in the order given.
    evaluations: Vec<Option<fds_ml::Evaluation>>,
}

/// `fds model train --since PERIOD`: trains on the store and registers the model.
pub(crate) fn train_from_store(args: TrainArgs) -> Result<ExitCode> {
    let registry = match Registry::open(args.config.as_deref())? {
        Ok(registry) => registry,
        Err(code) => return Ok(code),
    };
    train_and_register(args, &registry).map(|_| ExitCode::SUCCESS)
}

/// Trains on the store's events of `--since` and registers the model: the challenger
/// of its kind, or the champion when the kind has none. Returns the registered model
/// (`None`: that version was registered already).
fn train_and_register(mut args: TrainArgs, registry: &Registry) -> Result<Option<ModelInfo>> {
    let Some(since) = args.since.clone() else { bail!("--since is needed to train from the store") };
    let period = match parse_duration(&since) {
        Ok(p) if !p.is_zero() => p,
        Ok(_) => bail!("--since must be longer than 0"),
        Err(why) => bail!("--since: {why}"),
    };
    args.use_serving(registry.setup.rules_dir.clone(), &registry.setup.scoring);
    let (runtime, store) = (&registry.runtime, &registry.store);
    let now = chrono::Utc::now();
    let from = now - chrono::Duration::from_std(period).context("--since is too long")?;
    let labels = registry.labels()?;
    let (by_event, by_subscriber) = labels.counts();
    println!("labels      {by_event} events and {by_subscriber} subscribers labelled in the store");
    let source = Source::Store(registry.events(from, now));
    let trained = train_model(&args, &source, &Labels::Stored(labels), &registry.setup.scoring, true)?;
    if let Some(out) = &args.out {
        std::fs::write(out, &trained.artifact).with_context(|| format!("writing {}", out.display()))?;
        println!("written     {}", out.display());
    }

    let kind = args.kind();
    let models = runtime.block_on(store.models()).context("reading the model registry")?;
    let role = if models.iter().any(|m| m.kind == kind && m.role == ModelRole::Champion) {
        ModelRole::Challenger
    } else {
        ModelRole::Champion
    };
    let new = NewModel {
        version: trained.version.clone(),
        kind,
        artifact: trained.artifact,
        metrics: trained.metrics,
        trained_from: trained.window.0,
        trained_to: trained.window.1,
        feature_schema_hash: trained.spec_hash,
        data_hash: trained.data_hash,
        created_at: now,
        created_by: args.actor.trim().to_string(),
    };
    let registered = runtime.block_on(store.register_model(&new, role)).context("registering the model")?;
    match &registered {
        Some(info) => {
            println!("registered  {} as the {} {} model", info.version, info.role.as_str(), kind.as_str())
        }
        None => println!("registered  {} already (nothing changed)", new.version),
    }
    Ok(registered)
}

#[derive(clap::Args)]
pub(crate) struct RetrainArgs {
    #[command(flatten)]
    train: TrainArgs,
    /// Promote the new challenger when, on its own hold-out (the newest events it
    /// did not train on), its PR-AUC beats the champion's by at least `--min-gain`.
    /// Without it, the challenger only shadows the champion.
    #[arg(long)]
    promote_if_better: bool,
    /// The PR-AUC margin a challenger needs over the champion to be promoted.
    #[arg(long, default_value_t = 0.0)]
    min_gain: f64,
}

/// `fds model retrain`: train from the store (as `train --since`), then promote the
/// new model if configured and it beats the champion on the same hold-out.
pub(crate) fn retrain(args: RetrainArgs) -> Result<ExitCode> {
    if args.train.since.is_none() {
        bail!("fds model retrain trains from the store: --since is required");
    }
    if !(args.min_gain.is_finite() && args.min_gain >= 0.0) {
        bail!("--min-gain must be a number >= 0");
    }
    let registry = match Registry::open(args.train.config.as_deref())? {
        Ok(registry) => registry,
        Err(code) => return Ok(code),
    };
    let actor = args.train.actor.trim().to_string();
    let Some(new) = train_and_register(args.train, &registry)? else { return Ok(ExitCode::SUCCESS) };
    if new.role == ModelRole::Champion {
        return Ok(ExitCode::SUCCESS);
    }
    let registry_models = registry.runtime.block_on(registry.store.models())?;
    let Some(champion) = registry_models.iter().find(|m| m.kind == new.kind && m.role == ModelRole::Champion)
    else {
        bail!("the {} champion disappeared while retraining", new.kind.as_str());
    };
    let from = new.metrics["holdout_split"]["first_occurred_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .context("the new model has no hold-out to compare on")?;
    let models = registry.load(&[champion, &new])?;
    let holdout = registry.holdout(&models, from, chrono::Utc::now())?;
    let pr_auc = |i: usize| holdout.evaluations[i].as_ref().map(|e| e.pr_auc);
    let (Some(old), Some(challenger)) = (pr_auc(0), pr_auc(1)) else {
        println!(
            "compared    not measured: the hold-out needs both classes; {} stays champion",
            champion.version
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "compared    pr-auc {old:.4} champion {} vs {challenger:.4} challenger {} on {} events",
        champion.version, new.version, holdout.events
    );
    if !args.promote_if_better || challenger < old + args.min_gain {
        let why =
            if args.promote_if_better { "it does not beat the champion" } else { "not asked to promote" };
        println!("kept        {} as champion ({why})", champion.version);
        return Ok(ExitCode::SUCCESS);
    }
    let promoted = registry
        .runtime
        .block_on(registry.store.promote_model(&new.version, &actor, chrono::Utc::now()))?
        .context("the new model disappeared before its promotion")?;
    println!("promoted    {} to {} champion", promoted.version, promoted.kind.as_str());
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(crate) struct PromoteArgs {
    /// The model version to promote (see `fds model list`).
    version: String,
    /// Who promotes it, as the audit log records it.
    #[arg(long)]
    actor: String,
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(crate) struct CompareArgs {
    /// Which kind's champion and challenger to compare.
    #[arg(long, value_enum)]
    kind: ModelKind,
    /// The hold-out: the stored events of this last period (`7d`), labelled by the
    /// stored labels, scored by both models from fresh velocity state.
    #[arg(long, default_value = "7d", value_name = "PERIOD")]
    holdout: String,
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn promote(args: PromoteArgs) -> Result<ExitCode> {
    if args.actor.trim().is_empty() || args.version.trim().is_empty() {
        eprintln!("the version and --actor must not be empty");
        return Ok(ExitCode::from(2));
    }
    with_store(args.config.as_deref(), async |store| {
        let version = args.version.trim();
        match store.promote_model(version, args.actor.trim(), chrono::Utc::now()).await? {
            Some(info) => {
                println!("{} is the {} champion", info.version, info.kind.as_str());
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!("no model {version} is registered");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

pub(crate) fn list(args: ListArgs) -> Result<ExitCode> {
    with_store(args.config.as_deref(), async |store| {
        print!("{}", render(&store.models().await?));
        Ok(ExitCode::SUCCESS)
    })
}

/// One line per model: version, kind, role, hold-out ROC-AUC / PR-AUC, window, creator.
fn render(models: &[ModelInfo]) -> String {
    let mut out = format!(
        "{:<28} {:<10} {:<10} {:>7} {:>7}  {:<21}  {}\n",
        "version", "kind", "role", "roc-auc", "pr-auc", "trained until", "created by"
    );
    for m in models {
        let figure = |name: &str| {
            m.metrics["holdout"][name].as_f64().map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
        };
        let flag = if m.needs_retraining_since.is_some() { "  (needs retraining)" } else { "" };
        out.push_str(&format!(
            "{:<28} {:<10} {:<10} {:>7} {:>7}  {:<21}  {}{flag}\n",
            m.version,
            m.kind.as_str(),
            m.role.as_str(),
            figure("roc_auc"),
            figure("pr_auc"),
            m.trained_to.format("%Y-%m-%dT%H:%M:%SZ"),
            m.created_by
        ));
    }
    out
}

/// Loads the registry's champions and challengers into `pipeline` now, then follows
/// the registry (`[models] poll_every`) in the background; abort the handle to stop.
/// A registry that cannot be read at start is logged and retried at each poll: the
/// rules score meanwhile.
pub(crate) async fn follow(
    pipeline: &Arc<fds_pipeline::Pipeline>,
    settings: &crate::model_config::ModelSettings,
) -> tokio::task::JoinHandle<()> {
    if let Err(error) = fds_pipeline::models::reload(pipeline).await {
        tracing::error!(%error, "loading the models from the registry failed; scoring with the rules alone");
    }
    let drift =
        fds_pipeline::models::DriftSettings { every: settings.drift_every, threshold: settings.psi_alert };
    fds_pipeline::models::spawn_poll(Arc::downgrade(pipeline), settings.poll_every, Some(drift))
}

/// What one model scored over a hold-out or a shadow period.
#[derive(serde::Serialize)]
struct Side {
    version: String,
    /// Measured on the hold-out; `None` without both classes among its labels.
    holdout: Option<fds_ml::Evaluation>,
    /// The score histogram since the challenger took its role (20 bins of 0.05).
    shadow: [u64; fds_store::SCORE_BINS],
}

/// `fds model compare`: the champion and the challenger of a kind on the same
/// hold-out (stored events and labels of the last period) and over the shadow period.
pub(crate) fn compare(args: CompareArgs) -> Result<ExitCode> {
    let period = match parse_duration(&args.holdout) {
        Ok(p) if !p.is_zero() => p,
        _ => bail!("--holdout must be a period such as 7d or 12h"),
    };
    let registry = match Registry::open(args.config.as_deref())? {
        Ok(registry) => registry,
        Err(code) => return Ok(code),
    };
    let kind = store_kind(args.kind);
    let listed = registry.runtime.block_on(registry.store.models()).context("reading the model registry")?;
    let holder = |role: ModelRole| listed.iter().find(|m| m.kind == kind && m.role == role);
    let (Some(champion), Some(challenger)) = (holder(ModelRole::Champion), holder(ModelRole::Challenger))
    else {
        eprintln!("the {} models need a champion and a challenger to compare", kind.as_str());
        return Ok(ExitCode::FAILURE);
    };
    let models = registry.load(&[champion, challenger])?;
    let now = chrono::Utc::now();
    let from = now - chrono::Duration::from_std(period).context("--holdout is too long")?;
    let holdout = registry.holdout(&models, from, now)?;
    let mut sides = Vec::new();
    for (info, evaluation) in [champion, challenger].into_iter().zip(holdout.evaluations) {
        let shadow = registry.runtime.block_on(registry.store.model_scores(
            &info.version,
            challenger.role_changed_at,
            now,
        ))?;
        sides.push(Side { version: info.version.clone(), holdout: evaluation, shadow });
    }
    let shadow_psi = fds_ml::psi_of_counts(&sides[0].shadow, &sides[1].shadow).ok();
    if args.json {
        let report = serde_json::json!({
            "kind": kind.as_str(),
            "holdout": { "from": holdout.from, "to": holdout.to, "events": holdout.events,
                         "fraud": holdout.fraud },
            "shadow_since": challenger.role_changed_at,
            "champion": sides[0],
            "challenger": sides[1],
            "shadow_psi": shadow_psi,
        });
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "hold-out    {} .. {}: {} events, {} fraud",
        holdout.from.format("%Y-%m-%dT%H:%M:%SZ"),
        holdout.to.format("%Y-%m-%dT%H:%M:%SZ"),
        holdout.events,
        holdout.fraud
    );
    println!("shadow      since {}", challenger.role_changed_at.format("%Y-%m-%dT%H:%M:%SZ"));
    for (role, side) in ["champion", "challenger"].iter().zip(&sides) {
        let measured = match &side.holdout {
            Some(e) => {
                let points: Vec<String> = e
                    .operating_points
                    .iter()
                    .map(|p| {
                        format!(
                            "{} recall {:.1} % fpr {:.3} %",
                            p.name,
                            100.0 * p.recall,
                            100.0 * p.false_positive_rate
                        )
                    })
                    .collect();
                format!("roc-auc {:.4}, pr-auc {:.4}, {}", e.roc_auc, e.pr_auc, points.join(", "))
            }
            None => "not measured (the hold-out needs both classes)".to_string(),
        };
        let scored: u64 = side.shadow.iter().sum();
        let mean = if scored == 0 {
            0.0
        } else {
            side.shadow.iter().enumerate().map(|(i, &n)| (i as f64 + 0.5) * 0.05 * n as f64).sum::<f64>()
                / scored as f64
        };
        println!("{role:<11} {}: hold-out {measured}", side.version);
        println!("{:<11} shadow {scored} events scored, mean score {mean:.3}", "");
    }
    match shadow_psi {
        Some(psi) => println!("shadow psi  {psi:.4} (challenger's scores against the champion's)"),
        None => println!("shadow psi  - (no shadow scores yet)"),
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub(crate) struct DriftArgs {
    /// The UTC day to measure (`2026-12-01`; default: today).
    #[arg(long)]
    day: Option<chrono::NaiveDate>,
    #[arg(long)]
    config: Option<PathBuf>,
}

/// `fds model drift`: measures and stores a day's drift of the champions against
/// their training baselines (the alert threshold is `[models] psi_alert`); exits 1
/// when a champion needs retraining, so a scheduled job can alert on it.
pub(crate) fn drift(args: DriftArgs) -> Result<ExitCode> {
    let settings = match crate::model_config::ModelSettings::load(args.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(errors) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(2));
        }
    };
    let now = chrono::Utc::now();
    let day = args.day.unwrap_or_else(|| now.date_naive());
    with_store(args.config.as_deref(), async |store| {
        let mut alert = false;
        for info in store.models().await?.iter().filter(|m| m.role == ModelRole::Champion) {
            let report =
                fds_pipeline::models::drift_report(store, info, day, settings.psi_alert, now).await?;
            let Some(report) = report else {
                println!(
                    "{:<28} {day}: nothing to measure (no baseline or no traffic counted)",
                    info.version
                );
                continue;
            };
            alert |= report.needs_retraining;
            let worst = report.psi.iter().max_by(|a, b| a.1.total_cmp(b.1));
            let (input, psi) = worst.map_or(("-", 0.0), |(i, p)| (i.as_str(), *p));
            println!(
                "{:<28} {day}: {} inputs measured, highest psi {psi:.4} ({input}), score psi {}{}",
                info.version,
                report.psi.len(),
                report.psi.get("score").map_or_else(|| "-".to_string(), |p| format!("{p:.4}")),
                if report.needs_retraining { ", needs retraining" } else { "" }
            );
        }
        Ok(if alert { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}

/// Writes the model tallies still in memory at shutdown; a failure is logged (the
/// decisions are stored already, only monitoring counts are lost).
pub(crate) async fn flush_tallies(pipeline: &fds_pipeline::Pipeline) {
    if let Err(error) = fds_pipeline::models::flush(pipeline).await {
        tracing::warn!(%error, "storing the last model score and input counts failed");
    }
}
