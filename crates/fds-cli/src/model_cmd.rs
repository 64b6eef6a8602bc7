//! `fds model ...`: the models beside the rules. `eval` trains the anomaly model on a
//! labelled CSV (the labels are not used for training) and reports how well its scores
//! rank the labelled rows.

use anyhow::{Context, Result};
use fds_ml::{average_precision, read_labelled_csv, roc_auc, IsolationForest, Params};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub(crate) enum ModelCommand {
    /// Train the anomaly model (isolation forest) on the numeric columns of a labelled CSV
    /// and print ROC-AUC and PR-AUC of its scores against the label column.
    Eval(EvalArgs),
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
    }
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
