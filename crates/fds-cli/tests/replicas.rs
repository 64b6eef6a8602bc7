//! Two `fds serve` replicas on one Redis (`[features] store = "redis"`) and one
//! Postgres database: velocity features and blocks agree whichever replica an event
//! hits. The same run with the in-memory store shows the test tells the difference.
//! Needs the real Redis at `FDS_TEST_REDIS_URL` (default 127.0.0.1:6379) and Postgres
//! (see `common`); a missing one fails the test.

mod common;

use common::{serve_with, unique, wait_until, Database, Serving, API_KEY};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn redis_url() -> String {
    std::env::var("FDS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A carrier-billed payment of 200,000 KRW by `subscriber`, `n` seconds ago.
fn payment(id: &str, subscriber: &str, n: i64) -> Value {
    let at = chrono::Utc::now() - chrono::Duration::seconds(n);
    json!({
        "event_id": id, "occurred_at": at.to_rfc3339(), "subscriber": subscriber, "type": "payment",
        "amount": 200_000, "method": "carrier_billing", "merchant_id": "GC-CULTURELAND",
        "merchant_category": "gift_card",
    })
}

/// The feature values of every rule reason of a decision, by feature name.
fn rule_features(decision: &Value) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for reason in decision["reasons"].as_array().into_iter().flatten() {
        if let Some(features) = reason["features"].as_object() {
            out.extend(features.clone());
        }
    }
    out
}

fn rule_ids(decision: &Value) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["rule_id"].as_str().map(String::from))
        .collect()
}

struct Replicas {
    a: Serving,
    b: Serving,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Replicas {
    /// Two replicas on `db`: the first migrates and seeds, then the second starts.
    fn start(db: &Database, env: &[(&str, &str)]) -> Replicas {
        let a = serve_with(&db.url, env);
        let b = serve_with(&db.url, env);
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        Replicas { a, b, client: reqwest::Client::new(), runtime }
    }

    fn score(&self, on: &Serving, event: &Value) -> Value {
        self.runtime.block_on(async {
            let response = self
                .client
                .post(format!("http://{}/v1/score", on.addr))
                .bearer_auth(API_KEY)
                .json(event)
                .send()
                .await
                .expect("score");
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.expect("a decision")
        })
    }

    fn block(&self, on: &Serving, subscriber: &str) -> Value {
        self.runtime.block_on(async {
            self.client
                .get(format!("http://{}/v1/blocks/{subscriber}", on.addr))
                .bearer_auth(API_KEY)
                .send()
                .await
                .expect("block check")
                .json::<Value>()
                .await
                .expect("a block status")
        })
    }

    fn stop(self) {
        for server in [self.a, self.b] {
            let (status, rest) = server.terminate();
            assert!(status.success(), "serve exited with {status}: {rest:?}");
        }
    }
}

/// Deletes the test's keys from Redis when dropped.
struct RedisKeys(Arc<fds_redis::RedisFeatures>);

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let _ = self.0.delete_all();
    }
}

#[test]
fn two_replicas_on_one_redis_agree_on_velocity_features_and_blocks() {
    let db = Database::create();
    let prefix = format!("{}:", unique("fds-test-replicas"));
    let url = redis_url();
    let env = [
        ("FDS__FEATURES__STORE", "redis"),
        ("FDS__FEATURES__REDIS_URL", url.as_str()),
        ("FDS__FEATURES__REDIS_PREFIX", prefix.as_str()),
    ];
    let features = fds_features::FeatureSet::from_toml_str(
        &std::fs::read_to_string(common::repo().join("rules/features.toml")).expect("the shipped spec"),
    )
    .expect("valid");
    let mut options = fds_redis::RedisOptions::new(url.clone());
    options.prefix = prefix.clone();
    options.key_secret = common::vault().derive_key(fds_redis::KEY_SECRET_PURPOSE).to_vec();
    let _keys = RedisKeys(Arc::new(
        fds_redis::RedisFeatures::connect(Arc::new(features), options)
            .unwrap_or_else(|e| panic!("{e}: this test needs a real Redis")),
    ));
    let replicas = Replicas::start(&db, &env);
    let subscriber = "01055501234";
    let servers = [&replicas.a, &replicas.b];

    // Four payments alternating A, B, A, B: each replica sees the running totals of both.
    let mut decisions = Vec::new();
    for i in 0..4 {
        let event = payment(&format!("r-{i}"), subscriber, 40 - i);
        decisions.push(replicas.score(servers[i as usize % 2], &event));
    }
    for (i, d) in decisions.iter().enumerate() {
        let n = i as i64 + 1;
        for (name, value) in rule_features(d) {
            match name.as_str() {
                "carrier_billing_count_1h" | "gift_card_payments_1h" | "gift_card_payments_24h" => {
                    assert_eq!(value, json!(n), "{name} at payment {n}: {d}")
                }
                "carrier_billing_sum_24h" | "carrier_billing_sum_30d" | "gift_card_sum_24h" => {
                    assert_eq!(value, json!(200_000 * n), "{name} at payment {n}: {d}")
                }
                _ => {}
            }
        }
    }
    // The fourth, on B, reads all four: the burst rule and the cap rule hit there.
    let fourth = &decisions[3];
    let seen = rule_features(fourth);
    assert_eq!(seen.get("carrier_billing_count_1h"), Some(&json!(4)), "{fourth}");
    assert_eq!(seen.get("carrier_billing_sum_24h"), Some(&json!(800_000)), "{fourth}");
    assert!(rule_ids(fourth).contains(&"cba_cap_used_in_one_day".to_string()), "{fourth}");
    assert_eq!(fourth["action"], "block", "{fourth}");
    let block_id = fourth["block"]["block_id"].as_str().expect("a block").to_string();
    assert_eq!(replicas.block(&replicas.b, subscriber)["block_id"], json!(block_id));

    // A redelivery of B's event to A changes nothing: the next payment counts five.
    let again = replicas.score(&replicas.a, &payment("r-3", subscriber, 37));
    assert_eq!(again["event_id"], "r-3");
    let fifth = replicas.score(&replicas.b, &payment("r-4", subscriber, 36));
    assert_eq!(rule_features(&fifth).get("carrier_billing_count_1h"), Some(&json!(5)), "{fifth}");

    // The block decided on B is enforced by A once A refreshes its blocks.
    wait_until("replica A to enforce the block decided on B", Duration::from_secs(15), || {
        replicas.block(&replicas.a, subscriber)["block_id"] == json!(block_id)
    });
    assert_eq!(replicas.block(&replicas.a, subscriber)["refuse_payments"], json!(true));
    replicas.stop();
}

#[test]
fn two_replicas_with_in_memory_features_do_not_agree() {
    // The control: each replica counts only its own events, so the test above can fail.
    let db = Database::create();
    let replicas = Replicas::start(&db, &[]);
    let subscriber = "01055505678";
    let servers = [&replicas.a, &replicas.b];
    let mut last = Value::Null;
    for i in 0..4 {
        last = replicas.score(servers[i as usize % 2], &payment(&format!("m-{i}"), subscriber, 40 - i));
    }
    let seen = rule_features(&last);
    assert_ne!(seen.get("carrier_billing_count_1h"), Some(&json!(4)), "{last}");
    assert_ne!(last["action"], "block", "B alone saw 400,000 KRW: {last}");
    replicas.stop();
}

#[test]
fn serve_refuses_to_start_when_its_redis_is_not_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = common::fds()
        .arg("serve")
        .env("FDS__SERVER__LISTEN", "127.0.0.1:0")
        .env("FDS__API__KEYS", API_KEY)
        .env("FDS__STORE__URL", format!("sqlite://{}", dir.path().join("fds.db").display()))
        .env("FDS__FEATURES__STORE", "redis")
        .env("FDS__FEATURES__REDIS_URL", "redis://fds:s3cret@127.0.0.1:1/")
        .env("FDS__FEATURES__REDIS_TIMEOUT_MS", "200")
        .output()
        .expect("fds runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("redis at redis://fds:***@127.0.0.1:1/"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}
