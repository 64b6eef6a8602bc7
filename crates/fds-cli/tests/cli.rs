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

/// A `sqlite://` store URL for a fresh file in `dir`.
fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/fds.db", dir.path().display())
}

/// Runs one SQL script on the SQLite file of `dir` with the `sqlite3` shell, as
/// someone with access to the file could.
fn sqlite3(dir: &tempfile::TempDir, sql: &str) {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 5000"])
        .arg(dir.path().join("fds.db"))
        .arg(sql)
        .output()
        .expect("these tests need the sqlite3 shell (apt-get install sqlite3)");
    assert!(out.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Appends `n` audit records to the SQLite store at `url` through the store's
/// public interface.
fn append_audit_records(url: &str, n: u32) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use fds_store::Store;
        let store = fds_store::SqliteStore::open(url).await.expect("the store opens");
        for i in 1..=n {
            let at = chrono::DateTime::from_timestamp(1_795_000_000 + i64::from(i), 0).expect("a time");
            store
                .append_audit(fds_store::AuditEntry {
                    actor: "key:ops".into(),
                    action: fds_store::audit::actions::BLOCK_RELEASE.into(),
                    target: format!("block:b-{i}"),
                    before: Some(serde_json::json!({"released": false})),
                    after: Some(serde_json::json!({"released": true})),
                    at,
                })
                .await
                .expect("append");
        }
        // Every connection closed (and the WAL checkpointed) before the caller
        // touches the file.
        store.close().await;
    });
}

#[test]
fn migrate_brings_a_fresh_sqlite_file_to_the_current_schema_and_refuses_a_newer_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);

    let (ok, stdout, stderr) = run(fds().arg("migrate").env("FDS__STORE__URL", &url));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("is at schema version 2"), "{stdout}");
    assert!(dir.path().join("fds.db").exists());
    let (ok, stdout, _) = run(fds().arg("migrate").env("FDS__STORE__URL", &url));
    assert!(ok && stdout.contains("schema version 2"), "migrating again changes nothing: {stdout}");

    sqlite3(
        &dir,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231000000, 'from a newer fds', 1, x'00', 0)",
    );
    let out = fds().arg("migrate").env("FDS__STORE__URL", &url).output().expect("fds runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has migration 20991231000000"), "{stderr}");
    assert!(stderr.contains("upgrade fds before opening this database"), "{stderr}");
}

#[test]
fn audit_verify_passes_an_intact_log_and_names_a_record_edited_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);
    let config = dir.path().join("fds.toml");
    std::fs::write(&config, format!("[store]\nurl = {url:?}\n")).expect("write the config");
    append_audit_records(&url, 5);

    let (ok, stdout, stderr) = run(fds().args(["audit", "verify", "--config"]).arg(&config));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("audit chain intact: 5 records"), "{stdout}");

    // The store's guard refuses the edit; someone with the file drops it first.
    sqlite3(
        &dir,
        "DROP TRIGGER audit_log_refuses_update; \
         UPDATE audit_log SET actor = 'key:someone-else' WHERE seq = 3;",
    );
    let out = fds().args(["audit", "verify", "--config"]).arg(&config).output().expect("fds runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("audit chain broken at record 3: its content does not match its hash (edited)"),
        "{stderr}"
    );
    assert!(stderr.contains("2 records before it verified"), "{stderr}");
}

#[test]
fn audit_verify_names_a_record_deleted_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);
    append_audit_records(&url, 4);

    sqlite3(&dir, "DROP TRIGGER audit_log_refuses_delete; DELETE FROM audit_log WHERE seq = 2;");

    let out = fds().args(["audit", "verify"]).env("FDS__STORE__URL", &url).output().expect("fds runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("audit chain broken at record 2: the record is missing"), "{stderr}");
}

#[test]
fn audit_verify_names_the_newest_record_deleted_in_sql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);
    append_audit_records(&url, 3);

    sqlite3(&dir, "DROP TRIGGER audit_log_refuses_delete; DELETE FROM audit_log WHERE seq = 3;");

    let out = fds().args(["audit", "verify"]).env("FDS__STORE__URL", &url).output().expect("fds runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("audit chain broken at record 3: the record is missing (the chain head says"),
        "{stderr}"
    );
}
