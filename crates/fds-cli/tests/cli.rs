//! The `fds` binary end to end, as an operator runs it.

mod common;

use common::{fds, repo, run, serve, vault, Database, API_KEY, VAULT_ENV};
use std::process::Command;

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
    assert!(stdout.contains("/console/  login admin, password "), "{stdout}");
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

/// A payment event `n` of a test run, occurring now.
fn payment(n: usize) -> serde_json::Value {
    serde_json::json!({
        "event_id": format!("s-{n}"), "occurred_at": chrono::Utc::now().to_rfc3339(),
        "subscriber": format!("0101234{:04}", n % 50), "type": "payment", "amount": 1000 + n,
        "method": "card", "merchant_id": "m", "merchant_category": "retail"
    })
}

#[test]
fn serve_answers_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&format!("sqlite://{}", dir.path().join("fds.db").display()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health = client.get(format!("http://{}/healthz", server.addr)).send().await.expect("healthz");
        assert_eq!(health.status().as_u16(), 200);
        let scored = client
            .post(format!("http://{}/v1/score", server.addr))
            .bearer_auth(API_KEY)
            .json(&payment(1))
            .send()
            .await
            .expect("score");
        assert_eq!(scored.status().as_u16(), 200);
    });
    let (status, rest) = server.terminate();
    assert!(status.success(), "serve exited with {status}");
    assert!(rest.iter().any(|l| l.contains("stopped")), "{rest:?}");
}

#[test]
fn serve_on_postgres_stores_every_answered_decision_when_terminated_right_after() {
    let db = Database::create();
    let server = serve(&db.url);
    const EVENTS: usize = 600;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut answers = tokio::task::JoinSet::new();
        for n in 0..EVENTS {
            let (client, url) = (client.clone(), format!("http://{}/v1/score", server.addr));
            answers.spawn(async move {
                client.post(url).bearer_auth(API_KEY).json(&payment(n)).send().await.expect("score").status()
            });
        }
        while let Some(status) = answers.join_next().await {
            assert_eq!(status.expect("a request task").as_u16(), 200);
        }
    });
    // Answered does not mean stored: the batch writer saves off the request path.
    // The signal comes as soon as the last answer is in, so records are still queued.
    let (status, rest) = server.terminate();

    assert!(status.success(), "serve exited with {status}: {rest:?}");
    assert_eq!(db.count("decisions"), EVENTS as i64, "every answered decision is stored");
    assert_eq!(db.count("events"), EVENTS as i64);
    assert_eq!(db.count("event_ids"), EVENTS as i64);
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

    // The newest migration shipped for SQLite is the schema version a fresh file gets.
    let newest = std::fs::read_dir(repo().join("crates/fds-store/migrations/sqlite"))
        .expect("the migrations")
        .filter_map(|e| e.ok()?.file_name().to_str()?.split('_').next()?.parse::<u32>().ok())
        .max()
        .expect("a migration");
    let (ok, stdout, stderr) = run(fds().arg("migrate").env("FDS__STORE__URL", &url));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("is at schema version {newest}")), "{stdout}");
    assert!(dir.path().join("fds.db").exists());
    let (ok, stdout, _) = run(fds().arg("migrate").env("FDS__STORE__URL", &url));
    assert!(
        ok && stdout.contains(&format!("schema version {newest}")),
        "migrating again changes nothing: {stdout}"
    );

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

#[test]
fn rules_list_shows_every_rule_with_its_hits_in_the_last_day_and_week() {
    use fds_store::Store;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(&dir);
    // Gift-card bursts on the phone bill: one subscriber two hours ago, another three
    // days ago, so rules hit inside the last day and inside the last week only.
    let now = chrono::Utc::now();
    let mut events = Vec::new();
    for (group, start) in
        [("day", now - chrono::Duration::hours(2)), ("week", now - chrono::Duration::days(3))]
    {
        for i in 0..25 {
            let at = start + chrono::Duration::minutes(2 * i);
            events.push(serde_json::json!({
                "event_id": format!("{group}-{i}"), "occurred_at": at.to_rfc3339(),
                "subscriber": if group == "day" { "01055550001" } else { "01055550002" },
                "type": "payment", "amount": 49_000, "method": "carrier_billing",
                "merchant_id": format!("m-{}", i % 4), "merchant_category": "gift_card"
            }));
        }
    }
    let file = dir.path().join("events.jsonl");
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    std::fs::write(&file, lines.join("\n")).expect("write events");
    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", &url)
        .arg("import")
        .arg(&file)
        .arg("--rejects")
        .arg(dir.path().join("rejects.jsonl")));
    assert!(ok, "{stdout}\n{stderr}");
    // What the stored decisions say, per rule: (hits of the last day, of the week).
    let mut want: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    with_store(&url, async |store| {
        let ids: Vec<String> =
            events.iter().map(|e| e["event_id"].as_str().expect("id").to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        for decision in store.decisions_for_events(&ids).await.expect("decisions") {
            let mut rules: Vec<String> = decision
                .reasons
                .iter()
                .filter_map(|r| match r {
                    fds_core::Reason::Rule { rule_id, .. } => Some(rule_id.clone()),
                    _ => None,
                })
                .collect();
            rules.sort();
            rules.dedup();
            for rule in rules {
                let slot = want.entry(rule).or_default();
                slot.0 += u64::from(decision.event_id.starts_with("day-"));
                slot.1 += 1;
            }
        }
    });
    assert!(want.values().any(|(day, _)| *day > 0), "the bursts hit rules: {want:?}");
    assert!(want.values().any(|(day, week)| week > day), "rules hit three days ago: {want:?}");

    let (ok, stdout, stderr) =
        run(fds().env("FDS__STORE__URL", &url).args(["rules", "list", "--dir", "rules"]));

    assert!(ok, "{stdout}\n{stderr}");
    let pack = library_rule_ids();
    let mut listed = 0;
    for line in stdout.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(rule) = cols.first().and_then(|id| pack.iter().find(|r| r == id)) else { continue };
        listed += 1;
        let (day, week) = want.get(rule).copied().unwrap_or_default();
        assert_eq!(cols[cols.len() - 2..], [day.to_string(), week.to_string()], "{line}");
        assert_eq!(cols[4], "live", "{line}");
    }
    assert_eq!(listed, pack.len(), "every rule listed once:\n{stdout}");
    assert!(stdout.contains(&format!("{} rules (", pack.len())), "{stdout}");
}

/// The ids of the rules in the shipped library, loaded as `fds` loads it.
fn library_rule_ids() -> Vec<String> {
    let dir = repo().join("rules");
    let text = std::fs::read_to_string(dir.join("features.toml")).expect("rules/features.toml");
    let features = fds_features::FeatureSet::from_toml_str(&text).expect("the feature set loads");
    let pack = fds_rules::RulePack::load_dir(&dir, features.names(), features.utc_offset())
        .expect("the library loads");
    pack.rules().iter().map(|r| r.id.clone()).collect()
}
