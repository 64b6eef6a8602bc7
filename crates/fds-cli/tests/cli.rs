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
    for (key, value) in VAULT_ENV {
        cmd.env(key, value);
    }
    cmd
}

/// Valid vault keys for the tests (not secret: tests only), as every `fds` the
/// tests run gets them.
const VAULT_ENV: [(&str, &str); 3] = [
    ("FDS__VAULT__ACTIVE_KEY", "test"),
    ("FDS__VAULT__KEYS", "test:abababababababababababababababababababababababababababababababab"),
    ("FDS__VAULT__INDEX_KEY", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"),
];

/// The vault of [`VAULT_ENV`], for opening the stores `fds` wrote.
fn vault() -> std::sync::Arc<fds_vault::Vault> {
    let ring =
        fds_vault::KeyRing::from_config(VAULT_ENV[0].1, [("test", &VAULT_ENV[1].1[5..])], VAULT_ENV[2].1)
            .expect("valid test keys");
    std::sync::Arc::new(fds_vault::Vault::new(ring))
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
fn serve_and_the_store_commands_refuse_to_start_without_vault_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [&["serve"][..], &["migrate"], &["retention", "--dry-run"], &["audit", "verify"]] {
        let mut cmd = fds();
        for (key, _) in VAULT_ENV {
            cmd.env_remove(key);
        }
        let out = cmd
            .args(args)
            .env("FDS__API__KEYS", "cli-test-key-0123456789")
            .env("FDS__STORE__URL", sqlite_url(&dir))
            .output()
            .expect("fds runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("vault: active_key, keys and index_key are required"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("fds.db").exists(), "nothing was opened");
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
        let store = fds_store::SqliteStore::open(url, vault()).await.expect("the store opens");
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
    assert!(stdout.contains("is at schema version 4"), "{stdout}");
    assert!(dir.path().join("fds.db").exists());
    let (ok, stdout, _) = run(fds().arg("migrate").env("FDS__STORE__URL", &url));
    assert!(ok && stdout.contains("schema version 4"), "migrating again changes nothing: {stdout}");

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

/// Opens the SQLite store at `url` through the store's interface, runs `f` on it
/// and closes it again (every connection closed before the caller goes on).
fn with_store<T>(url: &str, f: impl AsyncFnOnce(&fds_store::SqliteStore) -> T) -> T {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = fds_store::SqliteStore::open(url, vault()).await.expect("the store opens");
        let out = f(&store).await;
        store.close().await;
        out
    })
}

#[test]
fn retention_dry_run_changes_nothing_and_the_real_run_keeps_held_and_recent_rows() {
    use fds_store::Store;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);
    with_store(&url, async |store| {
        store
            .place_hold(
                "01011112222",
                Some("case-7"),
                "court order",
                "legal-lee",
                chrono::DateTime::UNIX_EPOCH,
            )
            .await
            .expect("hold")
    });
    // January 2001 is past any cut-off of this century; June 2099 is within every one.
    let (jan_2001, jun_2099) = (979_552_800_000_000_i64, 4_084_768_800_000_000_i64);
    let mut sql = String::new();
    for (id, subscriber, at) in [
        ("old", "01033334444", jan_2001),
        ("held", "01011112222", jan_2001),
        ("future", "01033334444", jun_2099),
    ] {
        // Stored rows hold the subscriber's blind index, as the store writes them.
        let subscriber = vault().blind_index(fds_vault::Field::Subscriber, subscriber);
        sql.push_str(&format!(
            "INSERT INTO events VALUES ('{id}', '{subscriber}', 'payment', {at}, {at}, '{{}}'); \
             INSERT INTO decisions VALUES ('d-{id}', '{id}', '{subscriber}', 'allow', 1.0, 'pack-1', \
             {at}, {at}, '{{}}');"
        ));
    }
    sqlite3(&dir, &sql);
    let counts = || with_store(&url, async |store| store.counts().await.expect("counts"));
    let retention = || {
        let mut cmd = fds();
        cmd.arg("retention").env("FDS__STORE__URL", &url);
        cmd
    };

    let (ok, stdout, stderr) = run(retention().arg("--dry-run"));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("dry run, nothing removed"), "{stdout}");
    assert!(stdout.contains("decisions 2001-01: would remove 1, kept on hold 1"), "{stdout}");
    assert!(stdout.contains("would remove 1 decisions and 1 events"), "{stdout}");
    assert_eq!((counts().decisions, counts().events), (3, 3));

    let (ok, stdout, stderr) = run(retention().args(["--decisions-months", "12", "--events-days", "90"]));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("decisions 2001-01: removed 1, kept on hold 1"), "{stdout}");
    assert!(
        stdout.contains("removed 1 decisions and 1 events; kept on hold 1 decisions and 1 events"),
        "{stdout}"
    );
    assert_eq!((counts().decisions, counts().events), (2, 2));
    let actions = with_store(&url, async |store| {
        store
            .audit_records(0, 10)
            .await
            .expect("audit")
            .into_iter()
            .map(|r| r.entry.action)
            .collect::<Vec<_>>()
    });
    assert_eq!(actions, ["hold.place", "retention.run"]);

    let (ok, stdout, _) = run(&mut retention());
    assert!(
        ok && stdout.contains("removed 0 decisions and 0 events"),
        "a second run removes nothing: {stdout}"
    );
}

#[test]
fn an_anomaly_model_trained_on_simulated_traffic_joins_the_rules_in_eval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (events, truth, model) =
        (dir.path().join("events.jsonl"), dir.path().join("truth.jsonl"), dir.path().join("model.json"));
    let (ok, stdout, stderr) = run(fds()
        .args(["sim", "--events", "20000", "--subscribers", "1500", "--seed", "3"])
        .args(["--start", "2026-11-01T00:00:00+09:00", "--out"])
        .arg(&events)
        .arg("--truth")
        .arg(&truth));
    assert!(ok, "{stdout}\n{stderr}");
    let (ok, stdout, stderr) = run(fds()
        .args(["model", "train", "--kind", "anomaly", "--trees", "50", "--seed", "1", "--events"])
        .arg(&events)
        .arg("--out")
        .arg(&model));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("events      20000 (0 refused)"), "{stdout}");
    let artifact: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&model).expect("artifact written")).expect("json");
    assert!(
        artifact["version"].as_str().is_some_and(|v| v.starts_with("anomaly-")),
        "{}",
        artifact["version"]
    );
    assert_eq!(artifact["training"]["rows"], 20000);

    let (ok, stdout, stderr) = run(fds()
        .args(["eval", "--json", "--events"])
        .arg(&events)
        .arg("--truth")
        .arg(&truth)
        .arg("--model")
        .arg(&model));
    assert!(ok, "{stdout}\n{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(out["report"]["events"], 20000);
    assert!(out["model"]["model"].as_str().is_some_and(|m| m.starts_with("anomaly@anomaly-")), "{stdout}");
    assert!(out["model"]["caught_only_with_model_total"].is_u64(), "{stdout}");
}

#[test]
fn eval_refuses_a_model_whose_features_the_rule_library_lacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (events, truth, model, rules) = (
        dir.path().join("events.jsonl"),
        dir.path().join("truth.jsonl"),
        dir.path().join("model.json"),
        dir.path().join("rules"),
    );
    let (ok, stdout, stderr) = run(fds()
        .args(["sim", "--events", "2000", "--subscribers", "300"])
        .args(["--start", "2026-11-01T00:00:00+09:00", "--out"])
        .arg(&events)
        .arg("--truth")
        .arg(&truth));
    assert!(ok, "{stdout}\n{stderr}");
    let (ok, stdout, stderr) = run(fds()
        .args(["model", "train", "--kind", "anomaly", "--trees", "10", "--events"])
        .arg(&events)
        .arg("--out")
        .arg(&model));
    assert!(ok, "{stdout}\n{stderr}");
    // A library whose feature set declares only one feature, and no rules.
    std::fs::create_dir(&rules).expect("rules dir");
    std::fs::write(
        rules.join("features.toml"),
        "utc_offset = \"+09:00\"\n\n[[feature]]\nname = \"only_feature\"\nentity = \"subscriber\"\nagg = \"count\"\nwindow = \"1h\"\n",
    )
    .expect("features written");
    let (ok, stdout, stderr) = run(fds()
        .args(["eval", "--events"])
        .arg(&events)
        .arg("--truth")
        .arg(&truth)
        .arg("--rules")
        .arg(&rules)
        .arg("--model")
        .arg(&model));
    assert!(!ok, "{stdout}\n{stderr}");
    assert!(stderr.contains("which the feature set lacks"), "{stderr}");
}
