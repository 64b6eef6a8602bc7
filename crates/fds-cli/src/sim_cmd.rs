//! `fds sim`: writes simulated events and their ground truth to files.

use anyhow::{Context, Result};
use fds_sim::{SimConfig, Simulator};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct SimArgs {
    /// How many events to write.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Events output (JSON Lines).
    #[arg(long)]
    out: PathBuf,
    /// Ground-truth output (JSON Lines: subscriber → family).
    #[arg(long)]
    truth: PathBuf,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Size of the legit population.
    #[arg(long, default_value_t = 5_000)]
    subscribers: usize,
    /// Where the timeline starts (RFC 3339); default: 7 days before now.
    #[arg(long)]
    start: Option<String>,
}

pub(crate) fn run(args: SimArgs) -> Result<ExitCode> {
    let start = match &args.start {
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--start {s:?} is not an RFC 3339 time"))?
            .with_timezone(&chrono::Utc),
        None => chrono::Utc::now() - chrono::Duration::days(7),
    };
    let mut sim = Simulator::new(SimConfig {
        seed: args.seed,
        subscribers: args.subscribers,
        start,
        ..SimConfig::default()
    });
    let file =
        std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    for event in sim.by_ref().take(args.events as usize) {
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let file =
        std::fs::File::create(&args.truth).with_context(|| format!("creating {}", args.truth.display()))?;
    let mut truth = BufWriter::new(file);
    sim.truth().write_jsonl(&mut truth)?;
    truth.flush()?;
    println!(
        "wrote {} events to {} and the truth to {}",
        args.events,
        args.out.display(),
        args.truth.display()
    );
    Ok(ExitCode::SUCCESS)
}
