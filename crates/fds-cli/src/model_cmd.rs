//! `fds model ...`: the models beside the rules. `train` fits the anomaly model or the
//! supervised model on a JSONL event file (the supervised one with the simulator's
//! ground truth as labels, split by time into training, calibration and hold-out rows)
//! and writes its artifact, or, with `--since`, on the store's events and labels and
//! registers it (the store side is `model_registry.rs`, with `list`, `promote`,
//! `compare`, `retrain` and `drift`); `eval` trains either model on a labelled CSV and
//! reports how well its scores rank the labelled rows (the anomaly model does not use
//! the labels to train).

use crate::{eval, setup};
use anyhow::{bail, Context, Result};
use fds_features::{FeatureStore, InMemoryFeatures};
use fds_ml::{
    average_precision, data_hash, read_labelled_csv, roc_auc, AnomalyArtifact, BoostParams, IsolationForest,
    Labelled, Params, Split, SupervisedArtifact, TrainingInfo, DEFAULT_QUANTILE, DEFAULT_SATURATION_QUANTILE,
};
use fds_scoring::{anomaly_spec, feature_row, ScoringConfig};
use fds_sim::Truth;
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Train a model on the numeric columns of a labelled CSV and print ROC-AUC and PR-AUC
    /// of its scores against the label column (the anomaly model ignores the labels to
    /// train; the supervised one trains on the first 60 % of the rows, calibrates on the
    /// next 20 % and is measured on the last 20 %, in file order).
    Eval(EvalArgs),
    /// Train a model on a JSONL event file and write its artifact, or (`--since`) on
    /// the store's events and labels and register it.
    ///
    /// The events are replayed in event-time order through fresh velocity state (as
    /// `fds eval` does) to build one row per event. Anomaly: the forest and its score threshold are
    /// fitted on a uniform sample of the rows. Supervised: rows are labelled fraud when
    /// the event's subscriber is a fraud line in `--truth`, and split by time: the oldest
    /// rows train the trees, the next ones calibrate the probability, the newest ones
    /// (the hold-out) only measure. From the store, labels are the stored ones (an
    /// event's own, else its subscriber's), the anomaly model also leaves the newest
    /// rows out to measure them, and the model is registered as the challenger (the
    /// champion when its kind has none) with its hold-out figures and training baseline.
    Train(TrainArgs),
    /// Make a registered model the champion of its kind (the old champion is retired;
    /// audited). Running `fds serve` / `fds worker` processes pick it up within their
    /// poll interval (`[models] poll_every`), without a restart.
    Promote(crate::model_registry::PromoteArgs),
    /// List the registered models, newest first, with their role and hold-out figures.
    List(crate::model_registry::ListArgs),
    /// Compare the champion and the challenger of a kind: both scored on the same
    /// hold-out (the stored events and labels of the last `--holdout` period), and
    /// their score histograms since the challenger began to shadow the champion.
    Compare(crate::model_registry::CompareArgs),
    /// Train from the store (as `train --since`) and, with `--promote-if-better`,
    /// promote the new model when it beats the champion on its hold-out: the
    /// command a scheduled job (Kubernetes CronJob) runs.
    Retrain(crate::model_registry::RetrainArgs),
    /// Measure and store a day's drift of the champions (PSI of every input and of
    /// the score against the training baseline); exits 1 when one needs retraining
    /// (`[models] psi_alert`). `fds serve` / `fds worker` measure today's every
    /// `[models] drift_every` and export it on `/metrics`.
    Drift(crate::model_registry::DriftArgs),
}

/// The kinds of model `fds model train` can fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModelKind {
    /// Isolation forest over the event and its velocity features (no labels needed).
    Anomaly,
    /// Calibrated gradient-boosted trees trained on labelled rows (fraud / not fraud).
    Supervised,
}

/// Options of the supervised model (`--kind supervised`).
#[derive(clap::Args)]
pub(crate) struct SupervisedArgs {
    /// Depth of each boosted tree.
    #[arg(long, default_value_t = BoostParams::default().max_depth)]
    depth: u32,
    /// Shrinkage of each tree's output.
    #[arg(long, default_value_t = BoostParams::default().learning_rate)]
    learning_rate: f64,
    /// Weight of a fraud row relative to a legit one (default: legit rows / fraud rows).
    #[arg(long)]
    positive_weight: Option<f64>,
    /// Share of rows each tree is grown on.
    #[arg(long, default_value_t = BoostParams::default().subsample)]
    subsample: f64,
    /// Share of the rows, after the training rows, that calibrate the probability.
    #[arg(long, default_value_t = 0.2)]
    calibration_share: f64,
    /// Share of the newest rows held out to measure the model.
    #[arg(long, default_value_t = 0.2)]
    holdout_share: f64,
    /// The review threshold the recall and false-positive rate are reported at.
    #[arg(long, default_value_t = ScoringConfig::default().review_at)]
    review_at: f64,
    /// The block threshold the recall and false-positive rate are reported at.
    #[arg(long, default_value_t = ScoringConfig::default().block_at)]
    block_at: f64,
    /// Points the model adds at probability 1 (`scoring.supervised_weight`): the model
    /// alone reaches a threshold from probability `threshold / weight`.
    #[arg(long, default_value_t = ScoringConfig::default().supervised_weight)]
    supervised_weight: f64,
}

impl SupervisedArgs {
    fn params(&self, trees: usize, seed: u64) -> BoostParams {
        BoostParams {
            trees,
            max_depth: self.depth,
            learning_rate: self.learning_rate,
            positive_weight: self.positive_weight,
            subsample: self.subsample,
            seed,
            ..BoostParams::default()
        }
    }

    /// The probabilities at which the model alone reaches review and block.
    fn thresholds(&self) -> Result<[(&'static str, f64); 2]> {
        if !(self.supervised_weight > 0.0 && self.supervised_weight <= 100.0) {
            bail!("--supervised-weight must be within (0, 100]");
        }
        if !(0.0..=100.0).contains(&self.review_at) || self.review_at > self.block_at || self.block_at > 100.0
        {
            bail!("need 0 <= --review-at <= --block-at <= 100");
        }
        Ok([
            ("review", self.review_at / self.supervised_weight),
            ("block", self.block_at / self.supervised_weight),
        ])
    }

    /// Row counts of the (training, calibration, hold-out) slices of `rows`, oldest first.
    fn slices(&self, rows: usize) -> Result<(usize, usize, usize)> {
        let share = |s: f64| s > 0.0 && s < 1.0;
        if !share(self.calibration_share)
            || !share(self.holdout_share)
            || self.calibration_share + self.holdout_share >= 1.0
        {
            bail!("--calibration-share and --holdout-share must be in (0, 1) and sum to less than 1");
        }
        let calibration = (rows as f64 * self.calibration_share).round() as usize;
        let holdout = (rows as f64 * self.holdout_share).round() as usize;
        let train = rows.saturating_sub(calibration + holdout);
        if train < 2 || calibration < 2 || holdout < 2 {
            bail!("{rows} rows are too few to split into training, calibration and hold-out rows");
        }
        Ok((train, calibration, holdout))
    }
}

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Which model to train.
    #[arg(long, value_enum)]
    kind: ModelKind,
    /// Events, one JSON object per line, in event-time order.
    #[arg(long, required_unless_present = "since", conflicts_with = "since")]
    pub(crate) events: Option<PathBuf>,
    /// Labels for `--kind supervised --events`: the ground truth `fds sim` writes (an
    /// event is fraud when its subscriber is a fraud line).
    #[arg(long, conflicts_with = "since")]
    truth: Option<PathBuf>,
    /// Train from the store instead of a file: its events of this last period (`90d`,
    /// `12h`), labelled by its stored labels; the model is registered as the challenger
    /// of its kind (the champion when the kind has none). Store, vault keys, rule
    /// library and thresholds come from the configuration (`--config`, `FDS__…`).
    #[arg(long, value_name = "PERIOD")]
    pub(crate) since: Option<String>,
    /// The configuration file for `--since`.
    #[arg(long, requires = "since")]
    pub(crate) config: Option<PathBuf>,
    /// Who trained the model, as the registry and its audit record name it (`--since`).
    #[arg(long, default_value = "fds-model-train")]
    pub(crate) actor: String,
    /// Where to write the artifact (JSON); required with `--events`.
    #[arg(long, required_unless_present = "since")]
    pub(crate) out: Option<PathBuf>,
    /// The rule library whose feature set builds the rows.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Number of trees.
    #[arg(long, default_value_t = Params::default().trees)]
    trees: usize,
    /// Rows sampled per tree (ψ, anomaly only).
    #[arg(long, default_value_t = Params::default().sample_size)]
    sample_size: usize,
    /// Seed of the random generator (row sample and trees).
    #[arg(long, default_value_t = Params::default().seed)]
    seed: u64,
    #[command(flatten)]
    supervised: SupervisedArgs,
    /// At most this many rows (a uniform reservoir sample of the events) are fitted on
    /// (anomaly only).
    #[arg(long, default_value_t = 100_000)]
    max_rows: usize,
    /// Quantile of the training scores taken as the score threshold: events scoring
    /// below it map to 0, the rest to 0..1.
    #[arg(long, default_value_t = DEFAULT_QUANTILE)]
    quantile: f64,
    /// Quantile of the training scores at which the mapped score reaches 1 (a model
    /// score of 1 adds `scoring.model_weight` points: enough for review on its own,
    /// never for a block without rules); 1 maps a raw score of 1 to 1.
    #[arg(long, default_value_t = DEFAULT_SATURATION_QUANTILE)]
    saturation_quantile: f64,
}

#[derive(clap::Args)]
pub(crate) struct EvalArgs {
    /// Which model to train and measure.
    #[arg(long, value_enum, default_value = "anomaly")]
    kind: ModelKind,
    /// CSV file with a header line; every column but the label and dropped ones must be numeric.
    #[arg(long)]
    csv: PathBuf,
    /// Label column: 1/true for the rare class (outlier, fraud), 0/false otherwise.
    #[arg(long)]
    label: String,
    /// Columns to ignore (ids, text); repeat for several.
    #[arg(long = "drop", value_name = "COLUMN")]
    drop: Vec<String>,
    /// Number of trees.
    #[arg(long, default_value_t = Params::default().trees)]
    trees: usize,
    /// Rows sampled per tree (ψ).
    #[arg(long, default_value_t = Params::default().sample_size)]
    sample_size: usize,
    /// Seed of the random generator.
    #[arg(long, default_value_t = Params::default().seed)]
    seed: u64,
    #[command(flatten)]
    supervised: SupervisedArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: ModelCommand) -> Result<ExitCode> {
    match command {
        ModelCommand::Eval(args) => match args.kind {
            ModelKind::Anomaly => eval(args),
            ModelKind::Supervised => eval_supervised(args),
        },
        ModelCommand::Train(args) => match &args.since {
            Some(_) => crate::model_registry::train_from_store(args),
            None => train_from_file(args),
        },
        ModelCommand::Promote(args) => crate::model_registry::promote(args),
        ModelCommand::List(args) => crate::model_registry::list(args),
        ModelCommand::Compare(args) => crate::model_registry::compare(args),
        ModelCommand::Retrain(args) => crate::model_registry::retrain(args),
        ModelCommand::Drift(args) => crate::model_registry::drift(args),
    }
}

/// Where training events come from, in event-time order.
pub(crate) enum Source {
    /// A JSON Lines file (invalid lines are counted and skipped).
    File(PathBuf),
    /// The store's events of a period.
    Store(crate::model_registry::StoredEvents),
}

impl Source {
    /// Calls `each` with every event in order; returns how many were refused.
    fn replay(&self, each: impl FnMut(fds_core::Event)) -> Result<u64> {
        match self {
            Source::File(path) => eval::replay(path, each),
            Source::Store(stored) => stored.replay(each),
        }
    }

    fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Store(stored) => stored.name(),
        }
    }
}

/// Which events are fraud, for the supervised model and the hold-out measures.
pub(crate) enum Labels {
    /// No labels: the anomaly model trains without them and nothing is measured.
    None,
    /// The simulator's ground truth: an event is fraud when its subscriber is a fraud line.
    Truth(Truth),
    /// Stored labels: an event's own label, else its subscriber's, else legit.
    Stored(crate::model_registry::StoredLabels),
}

impl Labels {
    fn fraud(&self, event: &fds_core::Event) -> bool {
        match self {
            Labels::None => false,
            Labels::Truth(truth) => truth.family_of(event.subscriber.expose()).is_some(),
            Labels::Stored(labels) => labels.fraud(event),
        }
    }
}

/// A trained model, ready to write or register.
pub(crate) struct Trained {
    pub(crate) version: String,
    /// The artifact as JSON text.
    pub(crate) artifact: String,
    /// What the hold-out measured (and the training set-up), for the registry.
    pub(crate) metrics: serde_json::Value,
    /// The event-time window of every event replayed.
    pub(crate) window: (fds_core::Timestamp, fds_core::Timestamp),
    pub(crate) data_hash: String,
    /// SHA-256 of the feature spec (hex).
    pub(crate) spec_hash: String,
}

/// SHA-256 (hex) of a feature spec's JSON: equal hashes, equal rows.
fn spec_hash(spec: &fds_ml::FeatureSpec) -> Result<String> {
    let bytes = serde_json::to_vec(spec).context("encoding the feature spec")?;
    Ok(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
}

/// `fds model train --events`: trains on a file and writes the artifact.
fn train_from_file(args: TrainArgs) -> Result<ExitCode> {
    let (Some(events), Some(out)) = (args.events.clone(), args.out.clone()) else {
        bail!("--events and --out are needed without --since");
    };
    let labels = match (&args.truth, args.kind) {
        (Some(path), _) => {
            let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Labels::Truth(
                Truth::read_jsonl(&mut std::io::BufReader::new(file))
                    .with_context(|| format!("reading {}", path.display()))?,
            )
        }
        (None, ModelKind::Supervised) => bail!("--kind supervised --events needs --truth"),
        (None, ModelKind::Anomaly) => Labels::None,
    };
    let source = Source::File(events);
    let trained = train_model(&args, &source, &labels, &ScoringConfig::default(), false)?;
    std::fs::write(&out, &trained.artifact).with_context(|| format!("writing {}", out.display()))?;
    println!("written     {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Trains the model of `args.kind` on `source` (see [`train`] and [`train_supervised`]).
pub(crate) fn train_model(
    args: &TrainArgs,
    source: &Source,
    labels: &Labels,
    scoring: &ScoringConfig,
    holdout: bool,
) -> Result<Trained> {
    match args.kind {
        ModelKind::Anomaly => train(args, source, labels, scoring, holdout),
        ModelKind::Supervised => train_supervised(args, source, labels),
    }
}

impl TrainArgs {
    pub(crate) fn kind(&self) -> fds_store::ModelKind {
        match self.kind {
            ModelKind::Anomaly => fds_store::ModelKind::Anomaly,
            ModelKind::Supervised => fds_store::ModelKind::Supervised,
        }
    }

    /// Takes the rule library and the thresholds from the serving configuration.
    pub(crate) fn use_serving(&mut self, rules: PathBuf, scoring: &ScoringConfig) {
        self.rules = rules;
        self.supervised.review_at = scoring.review_at;
        self.supervised.block_at = scoring.block_at;
        self.supervised.supervised_weight = scoring.supervised_weight;
    }
}

/// Anomaly: the forest and its score mapping are fitted on a uniform sample of the
/// rows. With `holdout`, the newest `--holdout-share` of the events are left out of
/// the fit and, when `labels` mark both classes among them, measured: ROC-AUC and
/// PR-AUC of the raw forest score, recall and false-positive rate of the mapped score
/// at the points the model alone reaches review and block (`threshold / model_weight`).
fn train(
    args: &TrainArgs,
    source: &Source,
    labels: &Labels,
    scoring: &ScoringConfig,
    holdout: bool,
) -> Result<Trained> {
    if args.max_rows < 2 {
        bail!("--max-rows must be at least 2");
    }
    let (feature_set, _) = setup::load_library(&args.rules)?;
    let spec = anomaly_spec(&feature_set);
    let bound = spec.bind(feature_set.names()).context("binding the feature spec")?;
    let n_columns = spec.n_columns();
    let features = InMemoryFeatures::new(feature_set.clone());
    let utc_offset = feature_set.utc_offset();

    // Reservoir sample (algorithm R) of the rows, so any file size fits in max_rows.
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut sample: Vec<f64> = Vec::new();
    let (mut row, mut scratch) = (Vec::with_capacity(n_columns), Vec::new());
    let mut events = 0u64;
    let mut window: Option<(fds_core::Timestamp, fds_core::Timestamp)> = None;
    let started = Instant::now();
    let n_fit = if holdout {
        let mut n = 0u64;
        source.replay(|_| n += 1)?;
        let held = (n as f64 * args.supervised.holdout_share).round() as u64;
        n.saturating_sub(held)
    } else {
        u64::MAX
    };
    let mut held_out = Slice::default();
    let refused = source.replay(|event| {
        let values = features.observe(&event);
        feature_row(&bound, &event, &values, utc_offset, &mut scratch, &mut row);
        let at = event.occurred_at;
        window = Some(window.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
        if events >= n_fit {
            held_out.push(&row, labels.fraud(&event), at);
            return;
        }
        let seen = events as usize;
        events += 1;
        if seen < args.max_rows {
            sample.extend_from_slice(&row);
        } else {
            let j = rng.gen_range(0..=seen);
            if j < args.max_rows {
                sample[j * n_columns..(j + 1) * n_columns].copy_from_slice(&row);
            }
        }
    })?;
    let replay = started.elapsed();
    let Some((first, last)) = window else {
        bail!("{} holds no valid events", source.name());
    };
    if sample.is_empty() {
        bail!("{} holds too few events to leave some out", source.name());
    }

    let params = Params { trees: args.trees, sample_size: args.sample_size, seed: args.seed };
    let started = Instant::now();
    let forest = IsolationForest::fit(&sample, n_columns, &params)
        .context("training the isolation forest")?
        .with_feature_names(spec.column_names())
        .context("naming the features")?;
    let fit = started.elapsed();
    let rows = sample.len() / n_columns;
    let training = TrainingInfo {
        first_occurred_at: first.to_rfc3339(),
        last_occurred_at: last.to_rfc3339(),
        events,
        rows: rows as u64,
        data_hash: data_hash(&sample),
    };
    let started = Instant::now();
    let spec_hash = spec_hash(&spec)?;
    let names = spec.column_names();
    let artifact =
        AnomalyArtifact::new(spec, forest, &sample, args.quantile, args.saturation_quantile, training)
            .context("computing the score threshold")?;
    let score_us = started.elapsed().as_secs_f64() * 1e6 / rows as f64;
    let evaluation = if held_out.positives() > 0 && held_out.positives() < held_out.labels.len() as u64 {
        let raw = artifact.forest.score_all(&held_out.data).context("scoring the hold-out")?;
        let mapped: Vec<f64> = raw.iter().map(|&r| artifact.map_score(r)).collect();
        let weight = scoring.model_weight.max(f64::MIN_POSITIVE);
        let thresholds = [("review", scoring.review_at / weight), ("block", scoring.block_at / weight)];
        let mut e = fds_ml::Evaluation::new(&mapped, &raw, &held_out.labels, &thresholds)
            .context("measuring the hold-out")?;
        // Mapped scores are 0 for most rows: rank by the raw score.
        e.roc_auc = roc_auc(&raw, &held_out.labels).context("roc-auc")?;
        e.pr_auc = average_precision(&raw, &held_out.labels).context("pr-auc")?;
        Some(e)
    } else {
        None
    };
    let mut artifact_json = Vec::new();
    artifact.write_json(&mut artifact_json).context("encoding the artifact")?;

    println!("model       {} ({} columns)", artifact.version, n_columns);
    println!(
        "events      {events} ({refused} refused), {} .. {}",
        artifact.training.first_occurred_at, artifact.training.last_occurred_at
    );
    println!("rows        {rows} fitted (data hash {})", &artifact.training.data_hash[..16]);
    println!(
        "forest      {} trees, {} rows per tree, seed {}",
        params.trees,
        artifact.forest.sample_size(),
        params.seed
    );
    println!(
        "mapping     0 at raw {:.4} (quantile {}), 1 at raw {:.4} (quantile {}) of training scores",
        artifact.threshold, artifact.quantile, artifact.saturation, artifact.saturation_quantile
    );
    println!(
        "time        replay {:.1} s, fit {:.1} ms, {score_us:.2} µs per row scored",
        replay.as_secs_f64(),
        fit.as_secs_f64() * 1e3
    );
    if holdout {
        match &evaluation {
            Some(e) => print_evaluation("hold-out", e),
            None => println!(
                "hold-out    {} rows, {} fraud: not measured (needs both classes)",
                held_out.labels.len(),
                held_out.positives()
            ),
        }
    }
    let mut scores = [0u64; fds_store::SCORE_BINS];
    for raw in artifact.forest.score_all(&sample).context("scoring the training rows")? {
        scores[fds_store::score_bin(artifact.map_score(raw))] += 1;
    }
    let baseline = fds_ml::Baseline::new(&names, &sample, scores.to_vec());
    let metrics = serde_json::json!({
        "baseline": baseline,
        "holdout_split": (holdout).then(|| held_out.split()),
        "holdout": evaluation,
        "training": artifact.training,
    });
    Ok(Trained {
        version: artifact.version.clone(),
        artifact: String::from_utf8(artifact_json).context("the artifact is not UTF-8")?,
        metrics,
        window: (first, last),
        data_hash: artifact.training.data_hash.clone(),
        spec_hash,
    })
}

/// Rows of one time slice while replaying, with its window.
#[derive(Default)]
struct Slice {
    data: Vec<f64>,
    labels: Vec<bool>,
    window: Option<(fds_core::Timestamp, fds_core::Timestamp)>,
}

impl Slice {
    fn push(&mut self, row: &[f64], fraud: bool, at: fds_core::Timestamp) {
        self.data.extend_from_slice(row);
        self.labels.push(fraud);
        self.window = Some(self.window.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
    }

    fn positives(&self) -> u64 {
        self.labels.iter().filter(|l| **l).count() as u64
    }

    fn labelled(&self) -> Labelled<'_> {
        Labelled { data: &self.data, labels: &self.labels }
    }

    fn split(&self) -> Split {
        let (first, last) = self
            .window
            .map_or((String::new(), String::new()), |(first, last)| (first.to_rfc3339(), last.to_rfc3339()));
        Split {
            first_occurred_at: first,
            last_occurred_at: last,
            rows: self.labels.len() as u64,
            positives: self.positives(),
        }
    }
}

/// Supervised: rows are labelled by `labels` and split by time: the oldest rows train
/// the trees, the next ones calibrate the probability, the newest ones (the hold-out)
/// only measure.
fn train_supervised(args: &TrainArgs, source: &Source, labels: &Labels) -> Result<Trained> {
    if matches!(labels, Labels::None) {
        bail!("the supervised model needs labels");
    }
    let thresholds = args.supervised.thresholds()?;
    let (feature_set, _) = setup::load_library(&args.rules)?;
    let spec = anomaly_spec(&feature_set);
    let bound = spec.bind(feature_set.names()).context("binding the feature spec")?;

    // First pass: how many valid events, to cut the slices by position in time order.
    let started = Instant::now();
    let mut events = 0usize;
    source.replay(|_| events += 1)?;
    let (n_train, n_calibration, _) = args.supervised.slices(events)?;

    let features = InMemoryFeatures::new(feature_set.clone());
    let utc_offset = feature_set.utc_offset();
    let (mut row, mut scratch) = (Vec::with_capacity(spec.n_columns()), Vec::new());
    let (mut train, mut calibration, mut holdout) = (Slice::default(), Slice::default(), Slice::default());
    let mut seen = 0usize;
    let mut window: Option<(fds_core::Timestamp, fds_core::Timestamp)> = None;
    let refused = source.replay(|event| {
        let values = features.observe(&event);
        feature_row(&bound, &event, &values, utc_offset, &mut scratch, &mut row);
        let fraud = labels.fraud(&event);
        let at = event.occurred_at;
        window = Some(window.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
        let slice = if seen < n_train {
            &mut train
        } else if seen < n_train + n_calibration {
            &mut calibration
        } else {
            &mut holdout
        };
        slice.push(&row, fraud, event.occurred_at);
        seen += 1;
    })?;
    let replay = started.elapsed();
    if seen != events {
        bail!("{} changed while it was read ({events} then {seen} events)", source.name());
    }
    let train_split = train.split();
    let training = TrainingInfo {
        first_occurred_at: train_split.first_occurred_at.clone(),
        last_occurred_at: train_split.last_occurred_at.clone(),
        events: train_split.rows,
        rows: train_split.rows,
        data_hash: data_hash(&train.data),
    };
    let params = args.supervised.params(args.trees, args.seed);
    let started = Instant::now();
    let spec_hash = spec_hash(&spec)?;
    let mut artifact = SupervisedArtifact::train(
        spec,
        train.labelled(),
        calibration.labelled(),
        &params,
        training,
        calibration.split(),
        &thresholds,
    )
    .context("training the supervised model")?;
    let fit = started.elapsed();
    let started = Instant::now();
    let evaluation = artifact
        .evaluate_holdout(holdout.labelled(), holdout.split(), &thresholds)
        .context("measuring the hold-out")?
        .clone();
    let score_us = started.elapsed().as_secs_f64() * 1e6 / holdout.labels.len() as f64;
    let mut artifact_json = Vec::new();
    artifact.write_json(&mut artifact_json).context("encoding the artifact")?;

    println!(
        "model       {} ({} columns, {} trees of depth {}, fraud rows weighted {:.1})",
        artifact.version,
        artifact.spec.n_columns(),
        params.trees,
        params.max_depth,
        artifact.model.positive_weight()
    );
    println!("events      {events} ({refused} refused)");
    for (name, split) in
        [("train", &train_split), ("calibrate", &artifact.calibration_split), ("hold-out", &holdout.split())]
    {
        println!(
            "{name:<11} {} rows, {} fraud ({:.2} %), {} .. {}",
            split.rows,
            split.positives,
            100.0 * split.positives as f64 / split.rows.max(1) as f64,
            split.first_occurred_at,
            split.last_occurred_at
        );
    }
    let c = &artifact.calibration;
    let cm = &artifact.calibration_metrics;
    println!(
        "calibration Platt p = σ({:.4}·margin {:+.4}); Brier on the calibration rows {:.5} -> {:.5}",
        c.a, c.b, cm.brier_uncalibrated, cm.brier
    );
    print_evaluation("hold-out", &evaluation);
    println!(
        "time        replay {:.1} s, fit {:.1} s, {score_us:.2} µs per row scored",
        replay.as_secs_f64(),
        fit.as_secs_f64()
    );
    let Some(window) = window else { bail!("{} holds no valid events", source.name()) };
    let mut scores = [0u64; fds_store::SCORE_BINS];
    for row in train.data.chunks_exact(artifact.spec.n_columns().max(1)) {
        scores[fds_store::score_bin(artifact.probability(row))] += 1;
    }
    let baseline = fds_ml::Baseline::new(&artifact.spec.column_names(), &train.data, scores.to_vec());
    let metrics = serde_json::json!({
        "baseline": baseline,
        "holdout_split": artifact.holdout_split,
        "holdout": artifact.holdout,
        "calibration": artifact.calibration_metrics,
        "training": artifact.training,
    });
    Ok(Trained {
        version: artifact.version.clone(),
        artifact: String::from_utf8(artifact_json).context("the artifact is not UTF-8")?,
        metrics,
        window,
        data_hash: artifact.training.data_hash.clone(),
        spec_hash,
    })
}

/// Prints the ranking, calibration and operating-point figures of an evaluation.
fn print_evaluation(name: &str, e: &fds_ml::Evaluation) {
    println!(
        "{name:<11} roc-auc {:.4}, pr-auc {:.4} ({} rows, {} fraud)",
        e.roc_auc, e.pr_auc, e.rows, e.positives
    );
    println!("brier       {:.5} calibrated, {:.5} uncalibrated", e.brier, e.brier_uncalibrated);
    for p in &e.operating_points {
        println!(
            "{:<11} p >= {:.2}: recall {:.1} %, false-positive rate {:.3} %, precision {:.1} % ({} flagged)",
            p.name,
            p.probability,
            100.0 * p.recall,
            100.0 * p.false_positive_rate,
            100.0 * p.precision,
            p.flagged
        );
    }
    let bins: Vec<String> = e
        .reliability
        .iter()
        .map(|b| {
            format!(
                "[{}, {}) {} rows: {:.4} vs {:.4}",
                b.lower, b.upper, b.rows, b.mean_predicted, b.observed_rate
            )
        })
        .collect();
    println!("reliability predicted vs observed per bin: {}", bins.join("; "));
}

/// What `fds model eval --kind supervised` measured.
struct SupervisedEvaluation {
    rows: usize,
    positives: usize,
    feature_names: Vec<String>,
    train_rows: usize,
    calibration_rows: usize,
    params: BoostParams,
    positive_weight: f64,
    platt: fds_ml::Platt,
    holdout: fds_ml::Evaluation,
    train: Duration,
    score: Duration,
}

/// `fds model eval --kind supervised`: rows in file order, the first 60 % train, the next
/// 20 % calibrate, the last 20 % measure (shares from `--calibration-share` and
/// `--holdout-share`).
fn eval_supervised(args: EvalArgs) -> Result<ExitCode> {
    let e = evaluate_supervised(&args)?;
    let per_row_us = e.score.as_secs_f64() * 1e6 / e.holdout.rows.max(1) as f64;
    if args.json {
        let report = serde_json::json!({
            "rows": e.rows,
            "positives": e.positives,
            "features": e.feature_names.len(),
            "train_rows": e.train_rows,
            "calibration_rows": e.calibration_rows,
            "params": e.params,
            "positive_weight": e.positive_weight,
            "platt": e.platt,
            "holdout": e.holdout,
            "train_ms": e.train.as_secs_f64() * 1e3,
            "score_us_per_row": per_row_us,
        });
        println!("{report}");
    } else {
        println!("rows        {} ({} labelled positive)", e.rows, e.positives);
        println!("features    {} ({})", e.feature_names.len(), e.feature_names.join(", "));
        println!(
            "model       boosted trees, {} trees of depth {}, positive rows weighted {:.1}; Platt a {:.4}, b {:+.4}",
            e.params.trees, e.params.max_depth, e.positive_weight, e.platt.a, e.platt.b
        );
        println!(
            "split       train {}, calibrate {}, hold-out {} (file order)",
            e.train_rows, e.calibration_rows, e.holdout.rows
        );
        print_evaluation("hold-out", &e.holdout);
        println!("train       {:.1} ms", e.train.as_secs_f64() * 1e3);
        println!("score       {per_row_us:.2} µs per row");
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate_supervised(args: &EvalArgs) -> Result<SupervisedEvaluation> {
    let thresholds = args.supervised.thresholds()?;
    let file = std::fs::File::open(&args.csv).with_context(|| format!("opening {}", args.csv.display()))?;
    let table = read_labelled_csv(std::io::BufReader::new(file), &args.label, &args.drop)
        .with_context(|| format!("reading {}", args.csv.display()))?;
    let width = table.feature_names.len();
    let (train_rows, calibration_rows, _) = args.supervised.slices(table.rows())?;
    let (train, rest) = table.data.split_at(train_rows * width);
    let (calibrate, holdout) = rest.split_at(calibration_rows * width);
    let (train_labels, rest_labels) = table.labels.split_at(train_rows);
    let (calibrate_labels, holdout_labels) = rest_labels.split_at(calibration_rows);
    let params = args.supervised.params(args.trees, args.seed);
    let started = Instant::now();
    let model = fds_ml::BoostedTrees::fit(train, width, train_labels, &params)
        .context("training the boosted trees on the first rows")?
        .with_feature_names(table.feature_names.clone())
        .context("naming the features")?;
    let margins = model.margins(calibrate).context("scoring the calibration rows")?;
    let platt = fds_ml::Platt::fit(&margins, calibrate_labels).context("calibrating on the middle rows")?;
    let train_time = started.elapsed();
    let started = Instant::now();
    let margins = model.margins(holdout).context("scoring the hold-out rows")?;
    let calibrated: Vec<f64> = margins.iter().map(|&m| platt.probability(m)).collect();
    let score = started.elapsed();
    let raw: Vec<f64> = margins.iter().map(|&m| fds_ml::Platt::IDENTITY.probability(m)).collect();
    let holdout = fds_ml::Evaluation::new(&calibrated, &raw, holdout_labels, &thresholds)
        .context("measuring the hold-out (the last rows)")?;
    Ok(SupervisedEvaluation {
        rows: table.rows(),
        positives: table.positives(),
        feature_names: table.feature_names,
        train_rows,
        calibration_rows,
        params,
        positive_weight: model.positive_weight(),
        platt,
        holdout,
        train: train_time,
        score,
    })
}

/// What `fds model eval` measured.
struct Evaluation {
    rows: usize,
    positives: usize,
    feature_names: Vec<String>,
    params: Params,
    sample_size: usize,
    roc_auc: f64,
    pr_auc: f64,
    train: Duration,
    score: Duration,
}

fn eval(args: EvalArgs) -> Result<ExitCode> {
    let json = args.json;
    let e = evaluate(&args)?;
    let per_row_us = e.score.as_secs_f64() * 1e6 / e.rows as f64;
    if json {
        let report = serde_json::json!({
            "rows": e.rows,
            "positives": e.positives,
            "features": e.feature_names.len(),
            "trees": e.params.trees,
            "sample_size": e.sample_size,
            "seed": e.params.seed,
            "roc_auc": e.roc_auc,
            "pr_auc": e.pr_auc,
            "train_ms": e.train.as_secs_f64() * 1e3,
            "score_ms": e.score.as_secs_f64() * 1e3,
            "score_us_per_row": per_row_us,
        });
        println!("{report}");
    } else {
        let share = 100.0 * e.positives as f64 / e.rows as f64;
        println!("rows        {} ({} labelled positive, {share:.2} %)", e.rows, e.positives);
        println!("features    {} ({})", e.feature_names.len(), e.feature_names.join(", "));
        println!(
            "model       isolation forest, {} trees, {} rows per tree, seed {}",
            e.params.trees, e.sample_size, e.params.seed
        );
        println!("roc-auc     {:.4}", e.roc_auc);
        println!("pr-auc      {:.4}", e.pr_auc);
        println!("train       {:.1} ms", e.train.as_secs_f64() * 1e3);
        println!("score       {:.1} ms ({per_row_us:.2} µs per row)", e.score.as_secs_f64() * 1e3);
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate(args: &EvalArgs) -> Result<Evaluation> {
    let file = std::fs::File::open(&args.csv).with_context(|| format!("opening {}", args.csv.display()))?;
    let table = read_labelled_csv(std::io::BufReader::new(file), &args.label, &args.drop)
        .with_context(|| format!("reading {}", args.csv.display()))?;
    let params = Params { trees: args.trees, sample_size: args.sample_size, seed: args.seed };

    let started = Instant::now();
    let forest = IsolationForest::fit(&table.data, table.feature_names.len(), &params)
        .context("training the isolation forest")?
        .with_feature_names(table.feature_names.clone())
        .context("naming the features")?;
    let train = started.elapsed();
    let started = Instant::now();
    let scores = forest.score_all(&table.data).context("scoring the rows")?;
    let score = started.elapsed();

    Ok(Evaluation {
        rows: table.rows(),
        positives: table.positives(),
        roc_auc: roc_auc(&scores, &table.labels).context("roc-auc")?,
        pr_auc: average_precision(&scores, &table.labels).context("pr-auc")?,
        feature_names: table.feature_names,
        params,
        sample_size: forest.sample_size(),
        train,
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn supervised_args() -> SupervisedArgs {
        SupervisedArgs {
            depth: 3,
            learning_rate: 0.1,
            positive_weight: None,
            subsample: 1.0,
            calibration_share: 0.2,
            holdout_share: 0.2,
            review_at: 40.0,
            block_at: 80.0,
            supervised_weight: 100.0,
        }
    }

    fn args(csv: &std::path::Path, label: &str, drop: &[&str]) -> EvalArgs {
        EvalArgs {
            kind: ModelKind::Anomaly,
            supervised: supervised_args(),
            csv: csv.to_path_buf(),
            label: label.to_string(),
            drop: drop.iter().map(|d| d.to_string()).collect(),
            trees: 100,
            sample_size: 256,
            seed: 1,
            json: false,
        }
    }

    /// A grid of 400 inliers in [0, 1)² and 4 far points labelled 1, with an id column.
    fn labelled_csv() -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "id,a,b,label").expect("write");
        for i in 0..400 {
            writeln!(file, "{i},{},{},0", f64::from(i % 20) / 20.0, f64::from(i / 20) / 20.0).expect("write");
        }
        for (i, (a, b)) in [(5.0, 5.0), (-4.0, 0.5), (0.5, 6.0), (-3.0, -3.0)].iter().enumerate() {
            writeln!(file, "{},{a},{b},1", 400 + i).expect("write");
        }
        file
    }

    #[test]
    fn eval_ranks_far_points_above_the_grid_without_using_the_labels_to_train() {
        let file = labelled_csv();
        let e = evaluate(&args(file.path(), "label", &["id"])).expect("evaluates");
        assert_eq!((e.rows, e.positives), (404, 4));
        assert_eq!(e.feature_names, ["a", "b"]);
        assert_eq!(e.sample_size, 256);
        assert!(e.roc_auc > 0.99, "{}", e.roc_auc);
        assert!(e.pr_auc > 0.9, "{}", e.pr_auc);
    }

    #[test]
    fn eval_names_the_file_and_the_missing_label_column() {
        let file = labelled_csv();
        let error = evaluate(&args(file.path(), "is_fraud", &[])).err().expect("no such column");
        let message = format!("{error:#}");
        assert!(message.contains(&file.path().display().to_string()), "{message}");
        assert!(message.ends_with("label column `is_fraud` is not in the header"), "{message}");
    }

    /// 3,000 rows in which the label is 1 exactly when `x` > 0.95 (about 5 %), with a
    /// noise column and an id column; rows are shuffled, so every slice holds both classes.
    fn separable_csv() -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "id,x,noise,label").expect("write");
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for i in 0..3_000 {
            let (x, noise): (f64, f64) = (rng.gen(), rng.gen());
            writeln!(file, "{i},{x},{noise},{}", u8::from(x > 0.95)).expect("write");
        }
        file
    }

    #[test]
    fn supervised_eval_trains_on_the_first_rows_and_ranks_the_last_ones() {
        let file = separable_csv();
        let args = EvalArgs { kind: ModelKind::Supervised, trees: 30, ..args(file.path(), "label", &["id"]) };
        let e = evaluate_supervised(&args).expect("evaluates");
        assert_eq!((e.rows, e.train_rows, e.calibration_rows, e.holdout.rows), (3_000, 1_800, 600, 600));
        assert!(e.holdout.roc_auc > 0.95, "{}", e.holdout.roc_auc);
        assert!(e.holdout.brier < e.holdout.brier_uncalibrated, "{:?}", e.holdout);
        let review = &e.holdout.operating_points[0];
        assert_eq!((review.name.as_str(), review.probability), ("review", 0.4));
        assert!(review.recall > 0.8, "{review:?}");
    }

    #[test]
    fn shares_that_leave_no_training_rows_are_refused() {
        let shares = SupervisedArgs { calibration_share: 0.5, holdout_share: 0.5, ..supervised_args() };
        let error = shares.slices(1_000).expect_err("nothing left to train on");
        assert!(error.to_string().contains("sum to less than 1"), "{error}");
        assert_eq!(supervised_args().slices(1_000).expect("fits"), (600, 200, 200));
    }
}
