//! `fds model ...`: the models beside the rules. `train` fits the anomaly model on a
//! JSONL event file and writes its artifact; `eval` trains the anomaly model on a
//! labelled CSV (the labels are not used for training) and reports how well its scores
//! rank the labelled rows.

use crate::{eval, setup};
use anyhow::{bail, Context, Result};
use fds_features::{FeatureStore, InMemoryFeatures};
use fds_ml::{
    average_precision, data_hash, read_labelled_csv, roc_auc, AnomalyArtifact, IsolationForest, Params,
    TrainingInfo, DEFAULT_QUANTILE, DEFAULT_SATURATION_QUANTILE,
};
use fds_scoring::{anomaly_spec, feature_row};
use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Train the anomaly model (isolation forest) on the numeric columns of a labelled CSV
    /// and print ROC-AUC and PR-AUC of its scores against the label column.
    Eval(EvalArgs),
    /// Train a model on a JSONL event file and write its artifact.
    ///
    /// The events are replayed in file order through fresh velocity state (as `fds eval`
    /// does) to build one row per event; the forest and its score threshold are fitted on
    /// a uniform sample of the rows. Training from the store is a later step.
    Train(TrainArgs),
}

/// The kinds of model `fds model train` can fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ModelKind {
    /// Isolation forest over the event and its velocity features (no labels needed).
    Anomaly,
}

#[derive(clap::Args)]
pub(crate) struct TrainArgs {
    /// Which model to train.
    #[arg(long, value_enum)]
    kind: ModelKind,
    /// Events, one JSON object per line, in event-time order.
    #[arg(long)]
    events: PathBuf,
    /// Where to write the artifact (JSON).
    #[arg(long)]
    out: PathBuf,
    /// The rule library whose feature set builds the rows.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Number of trees.
    #[arg(long, default_value_t = Params::default().trees)]
    trees: usize,
    /// Rows sampled per tree (ψ).
    #[arg(long, default_value_t = Params::default().sample_size)]
    sample_size: usize,
    /// Seed of the random generator (row sample and trees).
    #[arg(long, default_value_t = Params::default().seed)]
    seed: u64,
    /// At most this many rows (a uniform reservoir sample of the events) are fitted on.
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
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(command: ModelCommand) -> Result<ExitCode> {
    match command {
        ModelCommand::Eval(args) => eval(args),
        ModelCommand::Train(args) => train(args),
    }
}

fn train(args: TrainArgs) -> Result<ExitCode> {
    let ModelKind::Anomaly = args.kind;
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
    let refused = eval::replay(&args.events, |event| {
        let values = features.observe(&event);
        feature_row(&bound, &event, &values, utc_offset, &mut scratch, &mut row);
        let seen = events as usize;
        events += 1;
        let at = event.occurred_at;
        window = Some(window.map_or((at, at), |(first, last)| (first.min(at), last.max(at))));
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
        bail!("{} holds no valid events", args.events.display());
    };

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
    let artifact =
        AnomalyArtifact::new(spec, forest, &sample, args.quantile, args.saturation_quantile, training)
            .context("computing the score threshold")?;
    let score_us = started.elapsed().as_secs_f64() * 1e6 / rows as f64;
    let file =
        std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    artifact.write_json(&mut writer).with_context(|| format!("writing {}", args.out.display()))?;
    std::io::Write::flush(&mut writer).with_context(|| format!("writing {}", args.out.display()))?;

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
    println!("written     {}", args.out.display());
    Ok(ExitCode::SUCCESS)
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

    fn args(csv: &std::path::Path, label: &str, drop: &[&str]) -> EvalArgs {
        EvalArgs {
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
}
