//! `fds demo`: the whole product on a bare machine. Starts the API on embedded defaults
//! (SQLite under `data/`, in-memory velocity state), prints its URL and a fresh API key,
//! and feeds simulated traffic through the same pipeline the API uses.

use crate::setup;
use anyhow::{Context, Result};
use fds_core::Action;
use fds_scoring::ScoringConfig;
use fds_sim::{SimConfig, Simulator, Tally};
use fds_web::{ApiConfig, ApiKeys, Application, Degraded};
use rand::Rng;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Stop after this many events and print the detection report (default: run until Ctrl-C).
    #[arg(long)]
    events: Option<u64>,
    /// Where the API listens (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed of the simulated traffic.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Size of the simulated legit population.
    #[arg(long, default_value_t = 5_000)]
    subscribers: usize,
    /// The demo database (recreated at every start).
    #[arg(long, default_value = "data/demo.db")]
    db: PathBuf,
    /// The rule library.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Simulated days of history before now where the traffic starts.
    #[arg(long, default_value_t = 3)]
    days_back: i64,
}

pub(crate) fn run(args: DemoArgs) -> Result<ExitCode> {
    setup::init_logging(false, "warn");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(demo(args))?;
    Ok(ExitCode::SUCCESS)
}

fn remove_old_database(db: &std::path::Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(())
}

async fn demo(args: DemoArgs) -> Result<()> {
    remove_old_database(&args.db)?;
    let scorer = setup::scorer(&args.rules, ScoringConfig::default())?;
    // Local keys, in memory only: the demo database is recreated on every run.
    let vault = std::sync::Arc::new(fds_vault::Vault::new(fds_vault::KeyRing::generate_local()));
    let pipeline =
        setup::pipeline(&format!("sqlite://{}", args.db.display()), vault, scorer, &args.rules).await?;
    let rules = pipeline.scorer().rules().rules().len();
    let _reload = pipeline.spawn_rule_reload(setup::RULE_RELOAD_EVERY);

    let key: String = {
        let mut rng = rand::thread_rng();
        (0..32).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect()
    };
    let api = ApiConfig {
        listen: args.listen,
        keys: ApiKeys::new(&[key.as_str()]),
        deadline: Duration::from_millis(250),
        on_deadline: Degraded::Allow,
    };
    // A demo admin (who also works cases and reads the audit log) on the demo's store.
    let password = crate::users_cmd::generate_password();
    let admin = fds_store::NewUser {
        login: "admin".into(),
        display_name: "Demo admin".into(),
        roles: [fds_store::Role::Admin, fds_store::Role::Analyst, fds_store::Role::Auditor].into(),
        password_hash: fds_store::Secret::new(fds_web::console::hash_password(&password)?),
        language: fds_store::Language::Ko,
    };
    pipeline
        .store()
        .create_user(&admin, "demo", chrono::Utc::now())
        .await
        .context("creating the demo admin")?;
    let app =
        Application::build_with_console(api, pipeline.clone(), fds_web::console::ConsoleConfig::default())
            .await
            .with_context(|| format!("binding {} (try --listen 127.0.0.1:0)", args.listen))?;
    let addr = app.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));

    println!("FDS demo: {rules} rules live, store {}", args.db.display());
    println!("  API      http://{addr}  (OpenAPI at http://{addr}/openapi.json)");
    println!("  API key  {key}");
    println!(
        "  console  http://{addr}/console/  login admin, password {password} (TOTP enrolment at first login)"
    );
    println!("  try      curl -s -H 'Authorization: Bearer {key}' http://{addr}/v1/blocks/01000000000");
    match args.events {
        Some(n) => println!("  feeding {n} simulated events (seed {})", args.seed),
        None => println!("  feeding simulated events until Ctrl-C (seed {})", args.seed),
    }

    let now = chrono::Utc::now();
    let mut sim = Simulator::new(SimConfig {
        seed: args.seed,
        subscribers: args.subscribers,
        start: now - chrono::Duration::days(args.days_back),
        ..SimConfig::default()
    });
    let mut tally = Tally::new();
    let live = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut last_line = Instant::now();
    let mut fed: u64 = 0;
    let mut invalid: u64 = 0;
    let limit = args.events.unwrap_or(u64::MAX);
    let ctrl_c = setup::shutdown_signal();
    tokio::pin!(ctrl_c);

    while fed < limit {
        let Some(event) = sim.next() else { break };
        // Simulated time runs ahead of the wall clock; never send events from the future.
        if let Some(at) = event.get("occurred_at").and_then(|v| v.as_str()) {
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(at) {
                let ahead = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok();
                if let Some(wait) = ahead {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {},
                        () = &mut ctrl_c => break,
                    }
                }
            }
        }
        let bytes = serde_json::to_vec(&event).context("encoding a simulated event")?;
        match pipeline.submit_json(&bytes).await {
            Ok(submitted) => {
                let d = submitted.decision();
                tally.record(d.subscriber.expose(), d.action, sim.truth());
            }
            Err(fds_pipeline::SubmitError::Invalid(e)) => {
                invalid += 1;
                tracing::warn!(error = %e, "simulated event refused");
            }
            Err(e) => return Err(e).context("scoring a simulated event"),
        }
        fed += 1;
        if last_line.elapsed() >= Duration::from_secs(if live { 1 } else { 5 }) {
            last_line = Instant::now();
            status_line(&pipeline, fed, started, live);
        }
        if fed.is_multiple_of(4096) {
            // Let Ctrl-C through even when the feed never waits.
            tokio::select! {
                biased;
                () = &mut ctrl_c => break,
                () = tokio::task::yield_now() => {},
            }
        }
    }
    status_line(&pipeline, fed, started, live);
    if live {
        println!();
    }
    pipeline.flush().await.context("flushing decisions to the store")?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "\nScored {fed} events in {elapsed:.1} s ({:.0} events/s); {invalid} refused by validation",
        fed as f64 / elapsed.max(1e-9)
    );
    println!("\n{}", tally.report());
    let _ = stop_tx.send(());
    server.await.context("joining the API server")??;
    Ok(())
}

fn status_line(pipeline: &fds_pipeline::Pipeline, fed: u64, started: Instant, live: bool) {
    let m = pipeline.metrics();
    let rate = fed as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let line = format!(
        "events {fed:>9}  {rate:>8.0}/s  allow {:>9}  review {:>7}  block {:>6}  stored {:>9}",
        m.decisions(Action::Allow),
        m.decisions(Action::Review),
        m.decisions(Action::Block),
        pipeline.writer_stats().saved,
    );
    let mut out = std::io::stdout();
    if live {
        let _ = write!(out, "\r{line}");
    } else {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}
