//! The blocking API under load over loopback: the real server (real rule library,
//! SQLite store, batched writer) and a client in the same process, sharing the
//! machine's cores, as the budget in the blueprint states it.
//!
//! Run: `cargo bench --bench http` (options: `-- --requests N --concurrency C`).
//! Prints requests/s and latency percentiles for `POST /v1/score` (each request a
//! distinct simulated event) and for `GET /v1/blocks/{subscriber}`.

use fds_core::Event;
use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::{Pipeline, PipelineConfig, SystemClock};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_sim::{SimConfig, Simulator};
use fds_web::{ApiConfig, ApiKeys, Application, Degraded};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-key-0123456789abcdef";

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(what: &str, mut micros: Vec<u64>, elapsed: Duration, errors: usize) {
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() as f64 - 1.0) * q) as usize] as f64 / 1000.0;
    println!(
        "{what}: {} requests in {:.2} s = {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {errors} errors",
        micros.len(),
        elapsed.as_secs_f64(),
        micros.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

/// Sends `bodies` (or GETs `paths`) from `concurrency` tasks; returns per-request
/// latencies in µs, the wall time and the number of non-2xx answers.
async fn load(
    client: reqwest::Client,
    base: String,
    requests: Arc<Vec<(String, Option<Vec<u8>>)>>,
    concurrency: usize,
) -> (Vec<u64>, Duration, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, requests, next) = (client.clone(), base.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut micros = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, body)) = requests.get(i) else { break };
                let url = format!("{base}{path}");
                let t = Instant::now();
                let request = match body {
                    Some(b) => client.post(url).header("content-type", "application/json").body(b.clone()),
                    None => client.get(url),
                };
                let ok = match request.bearer_auth(KEY).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let _ = r.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                micros.push(t.elapsed().as_micros() as u64);
                errors += usize::from(!ok);
            }
            (micros, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (m, e) = t.await.expect("load task");
        all.extend(m);
        errors += e;
    }
    (all, started.elapsed(), errors)
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` a small smoke run
    // only checks that the benchmark works.
    let full = std::env::args().any(|a| a == "--bench");
    let requests = arg("--requests", if full { 100_000 } else { 500 });
    let concurrency = arg("--concurrency", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let text = std::fs::read_to_string(rules.join("features.toml")).expect("features.toml");
        let features = Arc::new(FeatureSet::from_toml_str(&text).expect("features"));
        let pack =
            Arc::new(RulePack::load_dir(&rules, features.names(), features.utc_offset()).expect("rules"));
        let scorer = Scorer::new(pack.clone(), features.clone(), ScoringConfig::default());
        let store = fds_store::open(
            &format!("sqlite://{}", dir.path().join("bench.db").display()),
            Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local())),
        )
        .await
        .expect("store");
        let pipeline = Arc::new(
            Pipeline::start(
                scorer,
                Arc::new(InMemoryFeatures::new(features)),
                store,
                Arc::new(SystemClock),
                PipelineConfig::default(),
            )
            .await
            .expect("pipeline"),
        );
        let config = ApiConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            keys: ApiKeys::new(&[KEY]),
            deadline: Duration::from_secs(5),
            on_deadline: Degraded::Error,
        };
        let app = Application::build(config, pipeline.clone()).await.expect("bind");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped(std::future::pending()));

        let start = chrono::Utc::now() - chrono::Duration::days(2);
        let sim = Simulator::new(SimConfig { seed: 5, subscribers: 5_000, start, ..SimConfig::default() });
        let mut subscribers = Vec::new();
        let bodies: Vec<(String, Option<Vec<u8>>)> = sim
            .take(requests)
            .map(|v| {
                let e = Event::from_value(v.clone(), None).expect("valid");
                subscribers.push(e.subscriber.expose().to_string());
                ("/v1/score".to_string(), Some(serde_json::to_vec(&v).expect("json")))
            })
            .collect();
        println!(
            "{} rules; {requests} requests per run; {concurrency} concurrent connections; {} cores",
            pack.rules().len(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
        let (micros, elapsed, errors) =
            load(client.clone(), base.clone(), Arc::new(bodies), concurrency).await;
        report("POST /v1/score", micros, elapsed, errors);
        pipeline.flush().await.expect("flush");

        let checks: Vec<(String, Option<Vec<u8>>)> =
            subscribers.iter().map(|s| (format!("/v1/blocks/{s}"), None)).collect();
        let (micros, elapsed, errors) = load(client, base, Arc::new(checks), concurrency).await;
        report("GET /v1/blocks/{subscriber}", micros, elapsed, errors);
    });
}
