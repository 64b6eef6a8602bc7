//! The `fds` binary end to end, as an operator runs it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fds() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fds"));
    cmd.current_dir(repo()).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("FDS__") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("fds runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rules_test_passes_on_the_shipped_library() {
    let (ok, stdout, stderr) = run(fds().args(["rules", "test", "--dir", "rules"]));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn simulated_traffic_can_be_written_and_evaluated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.jsonl");
    let truth = dir.path().join("truth.jsonl");
    let (ok, stdout, stderr) = run(fds()
        .args([
            "sim",
            "--events",
            "30000",
            "--subscribers",
            "2000",
            "--start",
            "2026-11-01T00:00:00+09:00",
            "--out",
        ])
        .arg(&events)
        .arg("--truth")
        .arg(&truth));
    assert!(ok, "{stdout}\n{stderr}");
    let lines = std::fs::read_to_string(&events).expect("events written").lines().count();
    assert_eq!(lines, 30_000);
    let (ok, stdout, stderr) =
        run(fds().args(["eval", "--json", "--events"]).arg(&events).arg("--truth").arg(&truth));
    assert!(ok, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(report["events"], 30_000);
    assert!(report["families"].as_array().is_some_and(|f| !f.is_empty()), "{report}");
}

#[test]
fn demo_runs_on_a_bare_machine_and_reports_detection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let (ok, stdout, stderr) = run(fds()
        .args(["demo", "--events", "20000", "--listen", "127.0.0.1:0", "--subscribers", "2000", "--db"])
        .arg(&db));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("API key"), "{stdout}");
    assert!(stdout.contains("Scored 20000 events"), "{stdout}");
    assert!(stdout.contains("legit"), "{stdout}");
    assert!(db.exists());
}

#[test]
fn serve_reports_every_configuration_problem_and_exits_non_zero() {
    let out = fds()
        .arg("serve")
        .env("FDS__SERVER__LISTEN", "not-an-address")
        .env("FDS__API__KEYS", "short")
        .env("FDS__SCORING__BLOCK_AT", "120")
        .output()
        .expect("fds runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["server.listen", "api.keys[0]", "scoring.block_at"] {
        assert!(stderr.contains(expected), "missing {expected} in {stderr}");
    }
}

#[test]
fn serve_answers_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = fds()
        .arg("serve")
        .env("FDS__SERVER__LISTEN", "127.0.0.1:0")
        .env("FDS__API__KEYS", "cli-test-key-0123456789")
        .env("FDS__STORE__URL", format!("sqlite://{}", dir.path().join("fds.db").display()))
        .env("FDS__LOG__FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("fds serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("serve logs before exiting").expect("line");
        let entry: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if entry["fields"]["message"] == "fds api listening" {
            break entry["fields"]["addr"].as_str().expect("addr").to_string();
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health = client.get(format!("http://{addr}/healthz")).send().await.expect("healthz");
        assert_eq!(health.status().as_u16(), 200);
        let scored = client
            .post(format!("http://{addr}/v1/score"))
            .bearer_auth("cli-test-key-0123456789")
            .json(&serde_json::json!({
                "event_id": "s-1", "occurred_at": chrono::Utc::now().to_rfc3339(), "subscriber": "01012345678",
                "type": "payment", "amount": 1000, "method": "card", "merchant_id": "m", "merchant_category": "retail"
            }))
            .send()
            .await
            .expect("score");
        assert_eq!(scored.status().as_u16(), 200);
    });
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("serve exits");
    assert!(status.success(), "serve exited with {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}
