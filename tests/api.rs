//! The blocking API end to end: a real server on a free port, a real SQLite file, the
//! real pipeline. Each test gets its own database and rule library directory.

use chrono::TimeZone;
use fds_features::{FeatureSet, InMemoryFeatures};
use fds_pipeline::{ManualClock, Pipeline, PipelineConfig};
use fds_rules::RulePack;
use fds_scoring::{Scorer, ScoringConfig};
use fds_web::{ApiConfig, ApiKeys, Application, Degraded};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "test-key-0123456789abcdef";

/// A small library whose rules make feature counting observable from outside.
fn write_library(dir: &Path) {
    std::fs::create_dir_all(dir.join("carrier_billing_abuse")).expect("mkdir");
    std::fs::create_dir_all(dir.join("lists")).expect("mkdir");
    std::fs::write(
        dir.join("features.toml"),
        r#"
utc_offset = "+09:00"
[[feature]]
name = "payments_count_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]
"#,
    )
    .expect("write features");
    std::fs::write(
        dir.join("carrier_billing_abuse/cba_exactly_second_payment.rhai"),
        "// id: cba_exactly_second_payment\n// name: The second payment within an hour\n// family: carrier_billing_abuse\n// action: block\n// score: 90\n// events: payment\n// scope: payments\n// block_hours: 24\n// description: Fires only when the count is exactly two, so double counting shows.\nf.payments_count_1h == 2\n",
    )
    .expect("write rule");
    std::fs::write(
        dir.join("carrier_billing_abuse/cba_big_gift_card.rhai"),
        "// id: cba_big_gift_card\n// name: Large gift card purchase\n// family: carrier_billing_abuse\n// action: review\n// score: 45\n// events: payment\n// description: A gift card above 300,000 KRW.\ne.merchant_category == \"gift_card\" && e.amount > 300000\n",
    )
    .expect("write rule");
}

struct TestApp {
    base: String,
    client: reqwest::Client,
    pipeline: Arc<Pipeline>,
    _dir: tempfile::TempDir,
}

fn now() -> fds_core::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 21, 3, 0, 0).single().expect("valid time")
}

async fn spawn_app() -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("tempdir")).await
}

/// The vault of every test store: one key ring for the test process, so a restarted
/// app reads what the first one sealed.
fn vault() -> Arc<fds_store::Vault> {
    static VAULT: std::sync::OnceLock<Arc<fds_store::Vault>> = std::sync::OnceLock::new();
    VAULT.get_or_init(|| Arc::new(fds_store::Vault::new(fds_store::KeyRing::generate_local()))).clone()
}

/// Starts the app over `dir`, reusing its database and rule library when present.
async fn spawn_app_in(dir: tempfile::TempDir) -> TestApp {
    let rules = dir.path().join("rules");
    write_library(&rules);
    let features = Arc::new(
        FeatureSet::from_toml_str(&std::fs::read_to_string(rules.join("features.toml")).expect("read"))
            .expect("features parse"),
    );
    let pack =
        Arc::new(RulePack::load_dir(&rules, features.names(), features.utc_offset()).expect("rules load"));
    let scorer = Scorer::new(pack, features.clone(), ScoringConfig::default());
    let store = fds_store::open(&format!("sqlite://{}", dir.path().join("fds.db").display()), vault())
        .await
        .expect("store opens");
    let pipeline = Arc::new(
        Pipeline::start(
            scorer,
            Arc::new(InMemoryFeatures::new(features)),
            store,
            Arc::new(ManualClock::new(now())),
            PipelineConfig::default(),
        )
        .await
        .expect("pipeline starts"),
    );
    let config = ApiConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        keys: ApiKeys::new(&[KEY]),
        deadline: Duration::from_secs(5),
        on_deadline: Degraded::Error,
    };
    let app = Application::build(config, pipeline.clone()).await.expect("binds");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp { base, client: reqwest::Client::new(), pipeline, _dir: dir }
}

impl TestApp {
    async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> (u16, Option<String>, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("request sent");
        split(response).await
    }

    async fn get(&self, path: &str, key: Option<&str>) -> (u16, Option<String>, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        split(request.send().await.expect("request sent")).await
    }
}

async fn split(response: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let ctype = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ctype, body)
}

fn payment(id: &str, subscriber: &str, amount: i64, category: &str) -> Value {
    json!({
        "event_id": id, "occurred_at": "2026-11-21T11:59:00+09:00", "subscriber": subscriber,
        "type": "payment", "amount": amount, "method": "carrier_billing",
        "merchant_id": "m-1", "merchant_category": category
    })
}

#[tokio::test]
async fn scoring_without_a_valid_key_is_refused_with_a_problem() {
    let app = spawn_app().await;
    let event = payment("e-1", "01011112222", 1000, "retail");
    let (status, ctype, body) = app.post("/v1/score", &event, None).await;
    assert_eq!(status, 401);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
    assert_eq!(body["status"], 401);
    let (status, _, _) = app.post("/v1/score", &event, Some("wrong-key-0123456789")).await;
    assert_eq!(status, 401);
    let (status, _, _) = app.get("/v1/blocks/01011112222", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_valid_event_gets_a_decision_with_reasons() {
    let app = spawn_app().await;
    let (status, _, body) =
        app.post("/v1/score", &payment("e-1", "01011112222", 400_000, "gift_card"), Some(KEY)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event_id"], "e-1");
    assert_eq!(body["action"], "review");
    assert_eq!(body["score"], 45.0);
    assert_eq!(body["duplicate"], false);
    assert_eq!(body["reasons"][0]["rule_id"], "cba_big_gift_card");
    assert_eq!(body["reasons"][0]["action"], "review");
    assert!(body["latency_us"].as_u64().is_some());
    assert!(body["rules_version"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(body.get("block").is_none());
}

#[tokio::test]
async fn invalid_events_list_every_problem() {
    let app = spawn_app().await;
    let mut event = payment("e-1", "0101", -3, "retail");
    event["method"] = json!("cash");
    let (status, ctype, body) = app.post("/v1/score", &event, Some(KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
    let fields: Vec<&str> = body["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, vec!["subscriber", "amount", "method"]);

    let response = app
        .client
        .post(format!("{}/v1/score", app.base))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 400);

    let big = json!({"pad": "x".repeat(70 * 1024)});
    let (status, ctype, _) = app.post("/v1/score", &big, Some(KEY)).await;
    assert_eq!(status, 413);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
}

#[tokio::test]
async fn a_repeated_event_returns_the_stored_decision_and_counts_once() {
    let app = spawn_app().await;
    let first = payment("e-1", "01033334444", 1000, "retail");
    let (_, _, a) = app.post("/v1/score", &first, Some(KEY)).await;
    let (status, _, again) = app.post("/v1/score", &first, Some(KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["decision_id"], a["decision_id"]);
    assert_eq!(again["action"], "allow");
    // The rule fires on exactly two payments: a double-counted redelivery would make
    // this third request see three.
    let (_, _, second) =
        app.post("/v1/score", &payment("e-2", "01033334444", 1000, "retail"), Some(KEY)).await;
    assert_eq!(second["action"], "block", "{second}");
    assert_eq!(second["block"]["scope"], "payments");

    app.pipeline.flush().await.expect("flush");
    let stored = app.pipeline.store().decision_for_event("e-2").await.expect("read").expect("stored");
    assert_eq!(stored.decision_id, second["decision_id"].as_str().expect("id"));
    let counts = app.pipeline.store().counts().await.expect("counts");
    assert_eq!(counts.events, 2);
}

#[tokio::test]
async fn a_block_makes_payments_refused_for_that_subscriber_only() {
    let app = spawn_app().await;
    for id in ["b-1", "b-2"] {
        app.post("/v1/score", &payment(id, "01055556666", 1000, "retail"), Some(KEY)).await;
    }
    let (status, _, body) = app.get("/v1/blocks/01055556666", Some(KEY)).await;
    assert_eq!(status, 200);
    assert_eq!(body["refuse_payments"], true);
    assert_eq!(body["scope"], "payments");
    assert_eq!(body["since"], "2026-11-21T02:59:00Z");
    assert_eq!(body["until"], "2026-11-22T02:59:00Z");
    assert_eq!(body["decision_id"], fds_core::ids::decision_id("b-2"));

    let (_, _, other) = app.get("/v1/blocks/01077778888", Some(KEY)).await;
    assert_eq!(other["refuse_payments"], false);
    let (status, ctype, _) = app.get("/v1/blocks/not-a-number", Some(KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
}

#[tokio::test]
async fn labels_are_recorded_for_known_events_only() {
    let app = spawn_app().await;
    app.post("/v1/score", &payment("l-1", "01012121212", 1000, "retail"), Some(KEY)).await;
    let (status, _, body) = app
        .post(
            "/v1/labels",
            &json!({"event_id": "l-1", "outcome": "fraud", "note": "confirmed by the customer"}),
            Some(KEY),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "fraud");
    assert_eq!(body["subscriber"], "01012121212");
    assert!(body["labelled_by"].as_str().is_some_and(|s| s.starts_with("key:")));

    let (status, _, _) =
        app.post("/v1/labels", &json!({"event_id": "nope", "outcome": "fraud"}), Some(KEY)).await;
    assert_eq!(status, 404);
    let (status, _, body) =
        app.post("/v1/labels", &json!({"subscriber": "12", "outcome": "maybe"}), Some(KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(body["problems"].as_array().map(Vec::len), Some(2));
    let (status, _, _) =
        app.post("/v1/labels", &json!({"subscriber": "01012121212", "outcome": "legit"}), None).await;
    assert_eq!(status, 401);

    let labels = app.pipeline.store().labels(10).await.expect("labels");
    assert_eq!(labels.len(), 1);
}

#[tokio::test]
async fn operational_endpoints_answer_without_a_key() {
    let app = spawn_app().await;
    app.post("/v1/score", &payment("m-1", "01012345678", 1000, "retail"), Some(KEY)).await;
    let (status, _, body) = app.get("/healthz", None).await;
    assert_eq!((status, body), (200, Value::String("ok".into())));
    let (status, _, _) = app.get("/readyz", None).await;
    assert_eq!(status, 200);
    let (status, ctype, metrics) = app.get("/metrics", None).await;
    assert_eq!(status, 200);
    assert!(ctype.is_some_and(|c| c.starts_with("text/plain")));
    let metrics = metrics.as_str().expect("text").to_string();
    assert!(metrics.contains("fds_decisions_total{action=\"allow\"} 1"), "{metrics}");
    assert!(metrics.contains("fds_http_requests_total{route=\"/v1/score\",status=\"200\"} 1"), "{metrics}");
    assert!(!metrics.contains("01012345678"), "metrics must not carry subscriber numbers");

    let (status, _, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/v1/score",
        "/v1/blocks/{subscriber}",
        "/v1/labels",
        "/v1/backtests",
        "/v1/backtests/{id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi.json lacks {path}");
    }
    let (status, ctype, _) = app.get("/nowhere", None).await;
    assert_eq!(status, 404);
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
}

#[tokio::test]
async fn a_restarted_server_remembers_recent_velocity() {
    let app = spawn_app().await;
    let (_, _, first) =
        app.post("/v1/score", &payment("r-1", "01099990000", 1000, "retail"), Some(KEY)).await;
    assert_eq!(first["action"], "allow");
    app.pipeline.flush().await.expect("flush");
    let TestApp { _dir: dir, .. } = app;

    // A new server over the same database: the first payment still counts, so the
    // "exactly two payments" rule fires on the next one.
    let again = spawn_app_in(dir).await;
    let (_, _, second) =
        again.post("/v1/score", &payment("r-2", "01099990000", 1000, "retail"), Some(KEY)).await;
    assert_eq!(second["action"], "block", "{second}");
    let (_, _, repeat) =
        again.post("/v1/score", &payment("r-1", "01099990000", 1000, "retail"), Some(KEY)).await;
    assert_eq!(repeat["duplicate"], true);
}

#[tokio::test]
async fn a_backtest_job_replays_the_stored_events_and_reports_the_same_decisions() {
    let app = spawn_app().await;
    for n in 0..6 {
        let (status, _, _) = app
            .post("/v1/score", &payment(&format!("bt-{n}"), "01055550000", 60_000, "gift_card"), Some(KEY))
            .await;
        assert_eq!(status, 200);
    }
    app.pipeline.flush().await.expect("flush");

    let (status, _, refused) =
        app.post("/v1/backtests", &json!({"from": "yesterday", "to": 1}), Some(KEY)).await;
    assert_eq!(status, 400, "{refused}");
    let (status, _, _) = app
        .post("/v1/backtests", &json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}), None)
        .await;
    assert_eq!(status, 401);
    let (status, _, missing) = app
        .post(
            "/v1/backtests",
            &json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "draft": 99}),
            Some(KEY),
        )
        .await;
    assert_eq!(status, 404, "{missing}");

    let window = json!({"from": "2026-11-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"});
    let (status, _, started) = app.post("/v1/backtests", &window, Some(KEY)).await;
    assert_eq!(status, 202, "{started}");
    let path = format!("/v1/backtests/{}", started["id"]);
    let mut job = Value::Null;
    for _ in 0..100 {
        job = app.get(&path, Some(KEY)).await.2;
        if job["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["state"], "done", "{job}");
    let report = &job["report"];
    assert_eq!(report["events"], 6);
    assert_eq!(report["changed"], 0, "the live pack against itself changes nothing: {report}");
    let flagged: u64 = report["transitions"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["live"] != "allow")
        .map(|row| row["decisions"].as_u64().unwrap_or(0))
        .sum();
    let stored = app.pipeline.store().counts().await.expect("counts");
    assert_eq!(flagged, stored.decisions_by_action.review + stored.decisions_by_action.block);
    let (status, _, _) = app.get("/v1/backtests/999", Some(KEY)).await;
    assert_eq!(status, 404);
}
