//! `fds`: the FDS command line. Wiring only: every command calls into the library
//! crates; no scoring, storage or HTTP logic lives here.

mod audit_cmd;
mod backtest_cmd;
mod config;
mod console_config;
mod demo;
mod eval;
mod features_config;
mod hold_cmd;
mod import_cmd;
mod kafka_config;
mod keys_cmd;
mod migrate_cmd;
mod model_cmd;
mod model_config;
mod model_registry;
mod pack_cmd;
mod retention_cmd;
mod rules_cmd;
mod schedule;
mod serve;
mod setup;
mod sim_cmd;
mod users_cmd;
mod worker_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: the scoring path allocates many small,
/// short-lived values (decoded events, feature maps, decision JSON, sealed fields),
/// and glibc's malloc and free took about a quarter of the Kafka worker's CPU
/// (`benches/README.md`, Kafka worker).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "fds", version, about = "Real-time fraud detection for telecom and payment events")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the blocking API (configuration: defaults, --config FILE, FDS__SECTION__KEY env).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Consume events from Kafka (`[kafka]`), score them, publish and store the
    /// decisions; operations endpoints on `[server] listen`.
    Worker {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Import event files (JSON Lines or CSV, gzip accepted) through the scoring path.
    Import(import_cmd::ImportArgs),
    /// Start the API on embedded defaults and feed it simulated traffic.
    Demo(demo::DemoArgs),
    /// Score a JSONL event file and report detection against a ground-truth file.
    Eval(eval::EvalArgs),
    /// Write simulated events (JSONL) and their ground truth.
    Sim(sim_cmd::SimArgs),
    /// Work with the rule library.
    Rules {
        #[command(subcommand)]
        command: rules_cmd::RulesCommand,
    },
    /// Train and evaluate the models beside the rules.
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// Apply pending schema migrations to the store and print its schema version.
    ///
    /// A database migrated by a newer fds is refused, untouched (exit 1).
    Migrate(migrate_cmd::MigrateArgs),
    /// Check the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: audit_cmd::AuditCommand,
    },
    /// Remove decisions and events past retention (12 full months plus the current
    /// one; events 90 days), except those of subscribers on legal hold, and print
    /// what was removed (`--dry-run`: what would be, removing nothing).
    Retention(retention_cmd::RetentionArgs),
    /// Manage the PII vault's data keys at rest.
    Keys {
        #[command(subcommand)]
        command: keys_cmd::KeysCommand,
    },
    /// Place, lift and list legal holds (held subscribers are kept by retention).
    Hold {
        #[command(subcommand)]
        command: hold_cmd::HoldCommand,
    },
    /// Create and list the analyst console's accounts (`fds users add` makes the first admin).
    Users {
        #[command(subcommand)]
        command: users_cmd::UsersCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve::run(config.as_deref()),
        Command::Worker { config } => worker_cmd::run(config.as_deref()),
        Command::Import(args) => import_cmd::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Sim(args) => sim_cmd::run(args),
        Command::Rules { command } => rules_cmd::run(command),
        Command::Model { command } => model_cmd::run(command),
        Command::Migrate(args) => migrate_cmd::run(args),
        Command::Audit { command } => audit_cmd::run(command),
        Command::Retention(args) => retention_cmd::run(args),
        Command::Keys { command } => keys_cmd::run(command),
        Command::Hold { command } => hold_cmd::run(command),
        Command::Users { command } => users_cmd::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
