//! `fds rules ...`: the rule library from the command line.

use crate::setup;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Compile every rule and run every fixture case; non-zero exit on any failure.
    Test {
        #[arg(long, default_value = "rules")]
        dir: PathBuf,
    },
}

pub(crate) fn run(command: RulesCommand) -> Result<ExitCode> {
    match command {
        RulesCommand::Test { dir } => test(dir),
    }
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
