//! `fds keys rotate` and `fds hold` end to end on a SQLite store, as an operator
//! runs them: the binary with vault keys from the environment, the database
//! inspected with the `sqlite3` shell and read back through the store.

use std::path::PathBuf;
use std::process::Command;

/// Test key material (not secret: tests only).
const K1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const K2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const INDEX: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

const SUBSCRIBER: &str = "01012345678";

/// `fds` on the store in `dir`, with the data keys `keys` (`k1`, `k2`), `active`
/// among them.
fn fds(dir: &tempfile::TempDir, active: &str, keys: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fds"));
    cmd.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")).env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("FDS__") {
            cmd.env_remove(key);
        }
    }
    let material: Vec<String> = keys.iter().map(|id| format!("{id}:{}", key_of(id))).collect();
    cmd.env("FDS__STORE__URL", url(dir))
        .env("FDS__VAULT__ACTIVE_KEY", active)
        .env("FDS__VAULT__KEYS", material.join(","))
        .env("FDS__VAULT__INDEX_KEY", INDEX);
    cmd
}

fn key_of(id: &str) -> &'static str {
    if id == "k1" {
        K1
    } else {
        K2
    }
}

/// The vault `fds(dir, active, keys)` uses, to open the store in the test.
fn vault(active: &str, keys: &[&str]) -> std::sync::Arc<fds_vault::Vault> {
    let ring = fds_vault::KeyRing::from_config(active, keys.iter().map(|id| (*id, key_of(id))), INDEX)
        .expect("valid test keys");
    std::sync::Arc::new(fds_vault::Vault::new(ring))
}

fn url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("fds.db").display())
}

/// Runs `cmd`: (exit code, stdout, stderr).
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("fds runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The output of one query on the SQLite file of `dir`, through the `sqlite3` shell.
fn sqlite3(dir: &tempfile::TempDir, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(dir.path().join("fds.db"))
        .arg(sql)
        .output()
        .expect("these tests need the sqlite3 shell (apt-get install sqlite3)");
    assert!(out.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sealed values under `key` in every sealed column of the store in `dir`.
fn sealed_under(dir: &tempfile::TempDir, key: &str) -> usize {
    let needle = format!("\"v1.{key}.");
    [
        ("events", "payload"),
        ("decisions", "decision"),
        ("blocks", "subscriber_sealed"),
        ("labels", "subscriber_sealed"),
        ("legal_holds", "subscriber_sealed"),
    ]
    .into_iter()
    .map(|(table, column)| {
        sqlite3(dir, &format!("SELECT '\"' || {column} FROM {table} WHERE {column} IS NOT NULL"))
            .matches(&needle)
            .count()
    })
    .sum()
}

/// A payment by [`SUBSCRIBER`] and its decision (a block for `block`), as the
/// pipeline would store them.
fn record(event_id: &str, minute: i64, block: bool) -> fds_store::Record {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").expect("a time").to_utc()
        + chrono::Duration::minutes(minute);
    let event = fds_core::Event::from_value(
        serde_json::json!({
            "event_id": event_id, "occurred_at": at.to_rfc3339(), "subscriber": SUBSCRIBER,
            "type": "payment", "amount": 49_000, "method": "card", "card_number": "4111222233334444",
            "merchant_id": "m-77", "merchant_category": "gift_card"
        }),
        None,
    )
    .expect("a valid event");
    let decided_at = at + chrono::Duration::milliseconds(3);
    let decision = fds_core::Decision {
        decision_id: fds_core::ids::decision_id(event_id),
        event_id: event_id.into(),
        subscriber: fds_core::Pii::new(SUBSCRIBER),
        event_type: event.event_type(),
        occurred_at: at,
        action: if block { fds_core::Action::Block } else { fds_core::Action::Review },
        score: 80.0,
        reasons: Vec::new(),
        block: block.then(|| fds_core::Block {
            block_id: fds_core::ids::block_id(event_id),
            subscriber: fds_core::Pii::new(SUBSCRIBER),
            scope: fds_core::BlockScope::Payments,
            since: decided_at,
            until: decided_at + chrono::Duration::days(1),
            decision_id: fds_core::ids::decision_id(event_id),
            reason: "CB-001".into(),
        }),
        rules_version: "v1.2".into(),
        model_versions: Vec::new(),
        decided_at,
        latency_us: 100,
    };
    fds_store::Record { event, decision, received_at: at }
}

/// Runs `f` on the store in `dir` opened with `vault`.
fn with_store<T>(
    dir: &tempfile::TempDir,
    vault: std::sync::Arc<fds_vault::Vault>,
    f: impl AsyncFnOnce(&dyn fds_store::Store) -> T,
) -> T {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = fds_store::open(&url(dir), vault).await.expect("the store opens");
        f(store.as_ref()).await
    })
}

#[test]
fn keys_rotate_re_encrypts_everything_resumably_and_then_the_old_key_can_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let records: Vec<fds_store::Record> = (0..4).map(|i| record(&format!("e-{i}"), i, i == 0)).collect();
    with_store(&dir, vault("k1", &["k1"]), async |store| {
        store.save(&records).await.expect("saved");
    });
    let (code, stdout, stderr) = run(fds(&dir, "k1", &["k1"]).args([
        "hold",
        "place",
        "--subscriber",
        SUBSCRIBER,
        "--reason",
        "fraud ring",
        "--actor",
        "legal-kim",
    ]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    // Events and decisions hold two values each (subscriber and card, subscriber
    // and the block's subscriber for the block), the block and the hold one each.
    assert_eq!(sealed_under(&dir, "k1"), 4 * 2 + 4 + 1 + 1 + 1);

    // k2 is active, k1 kept for reading. Stopped after two batches of one row.
    let (code, stdout, stderr) = run(fds(&dir, "k2", &["k1", "k2"]).args([
        "keys",
        "rotate",
        "--actor",
        "ops-lee",
        "--batch-size",
        "1",
        "--max-batches",
        "2",
    ]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("stopped before the end"), "{stdout}");
    assert!(stdout.contains("2 rows re-encrypted"), "{stdout}");
    assert!(stderr.contains("events: batch 2, 2 rows read, 2 re-encrypted"), "{stderr}");
    assert_eq!(sealed_under(&dir, "k2"), 4, "two events with two values each");
    assert_eq!(sealed_under(&dir, "k1"), 11);

    // Run again: it finishes what is left.
    let (code, stdout, stderr) =
        run(fds(&dir, "k2", &["k1", "k2"]).args(["keys", "rotate", "--actor", "ops-lee"]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("complete: no stored row holds a value under another key than k2"), "{stdout}");
    for line in [
        "events          2 rows re-encrypted (4 values)",
        "decisions       4 rows re-encrypted (5 values)",
        "blocks          1 rows re-encrypted (1 values)",
        "legal_holds     1 rows re-encrypted (1 values)",
        "audit log: 1 records hold values under k1",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert_eq!(sealed_under(&dir, "k1"), 0);
    assert_eq!(sealed_under(&dir, "k2"), 15);
    assert_eq!(
        sqlite3(
            &dir,
            "SELECT actor || ' ' || target FROM audit_log WHERE action = 'key.rotate' ORDER BY seq"
        ),
        "ops-lee key:k2\nops-lee key:k2"
    );

    // k1 removed from the ring: the store reads, the hold lists, the chain verifies.
    let read = with_store(&dir, vault("k2", &["k2"]), async |store| {
        let mut decisions = store.decisions_for_subscriber(SUBSCRIBER, 10).await.expect("decisions read");
        decisions.reverse();
        let events = store
            .events_after((records[0].event.occurred_at - chrono::Duration::minutes(1), ""), 10)
            .await
            .expect("events read");
        (decisions, events)
    });
    assert_eq!(read.0, records.iter().map(|r| r.decision.clone()).collect::<Vec<_>>());
    assert_eq!(read.1, records.iter().map(|r| r.event.clone()).collect::<Vec<_>>());
    let (code, stdout, stderr) = run(fds(&dir, "k2", &["k2"]).args(["hold", "list"]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("010-****-5678") && stdout.contains("fraud ring"), "{stdout}");
    let (code, stdout, stderr) = run(fds(&dir, "k2", &["k2"]).args(["audit", "verify"]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("audit chain intact: 3 records"), "{stdout}");
}

#[test]
fn keys_rotate_refuses_bad_arguments_without_touching_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["keys", "rotate", "--actor", "ops-lee", "--batch-size", "0"][..],
        &["keys", "rotate", "--batch-size", "10"],
        &["keys", "rotate", "--actor", " "],
    ] {
        let (code, stdout, stderr) = run(fds(&dir, "k2", &["k1", "k2"]).args(args));
        assert_eq!(code, Some(2), "{args:?}: {stdout}\n{stderr}");
    }
    let (code, help, _) = run(fds(&dir, "k2", &["k1", "k2"]).args(["keys", "rotate", "--help"]));
    assert_eq!(code, Some(0));
    assert!(help.contains("blind-index key"), "{help}");
    assert!(!dir.path().join("fds.db").exists(), "nothing was opened");
}

#[test]
fn holds_are_placed_listed_and_lifted_with_numbers_masked_and_every_change_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = ["k1"];

    let (code, stdout, stderr) = run(fds(&dir, "k1", &keys).args(["hold", "list"]));
    assert_eq!((code, stdout.as_str()), (Some(0), "no active legal holds\n"), "{stderr}");

    let (code, stdout, stderr) = run(fds(&dir, "k1", &keys).args([
        "hold",
        "place",
        "--subscriber",
        "010-1234-5678",
        "--case",
        "case-9",
        "--reason",
        "regulator inquiry",
        "--actor",
        "legal-kim",
    ]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("placed hold 1: subscriber 010-****-5678, case case-9, placed by legal-kim"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(fds(&dir, "k1", &keys).args([
        "hold",
        "place",
        "--subscriber",
        "01099990000",
        "--reason",
        "fraud ring",
        "--actor",
        "legal-lee",
    ]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");

    let (code, list, stderr) = run(fds(&dir, "k1", &keys).args(["hold", "list"]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(list.contains("010-****-5678   case-9") && list.contains("regulator inquiry"), "{list}");
    assert!(list.contains("010-****-0000   -") && list.contains("2 active hold(s)"), "{list}");
    for shown in [&list, &stdout] {
        assert!(!shown.contains("1234") && !shown.contains("9999"), "a number leaked: {shown}");
    }
    sqlite3(&dir, "PRAGMA wal_checkpoint(FULL)");
    let mut raw = std::fs::read(dir.path().join("fds.db")).expect("the database file");
    raw.extend(std::fs::read(dir.path().join("fds.db-wal")).unwrap_or_default());
    for number in ["010-1234-5678", "01012345678", "01099990000"] {
        assert!(!raw.windows(number.len()).any(|w| w == number.as_bytes()), "{number} stored in plaintext");
    }

    let (code, stdout, stderr) = run(fds(&dir, "k1", &keys).args([
        "hold",
        "lift",
        "1",
        "--actor",
        "legal-lee",
        "--reason",
        "case closed",
    ]));
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("lifted hold 1: subscriber 010-****-5678"), "{stdout}");
    let (code, _, stderr) =
        run(fds(&dir, "k1", &keys).args(["hold", "lift", "1", "--actor", "legal-lee", "--reason", "again"]));
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no active hold with id 1"), "{stderr}");

    let (_, list, _) = run(fds(&dir, "k1", &keys).args(["hold", "list"]));
    assert!(!list.contains("case-9") && list.contains("1 active hold(s)"), "{list}");

    assert_eq!(
        sqlite3(
            &dir,
            "SELECT seq || ' ' || actor || ' ' || action || ' ' || target FROM audit_log ORDER BY seq"
        ),
        "1 legal-kim hold.place hold:1\n2 legal-lee hold.place hold:2\n3 legal-lee hold.lift hold:1"
    );
    assert_eq!(
        sqlite3(&dir, "SELECT after_state FROM audit_log WHERE seq = 3"),
        r#"{"lifted_by":"legal-lee","reason":"case closed"}"#
    );
    let (code, stdout, _) = run(fds(&dir, "k1", &keys).args(["audit", "verify"]));
    assert_eq!(code, Some(0));
    assert!(stdout.contains("audit chain intact: 3 records"), "{stdout}");
}

#[test]
fn hold_commands_refuse_empty_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        &["hold", "place", "--subscriber", "01012345678", "--reason", " ", "--actor", "kim"][..],
        &["hold", "place", "--subscriber", "", "--reason", "r", "--actor", "kim"],
        &["hold", "place", "--subscriber", "01012345678", "--reason", "r"],
        &["hold", "lift", "1", "--actor", "kim", "--reason", ""],
        &["hold", "lift", "one", "--actor", "kim", "--reason", "r"],
    ] {
        let (code, stdout, stderr) = run(fds(&dir, "k1", &["k1"]).args(args));
        assert_eq!(code, Some(2), "{args:?}: {stdout}\n{stderr}");
        assert!(!stdout.contains("01012345678") && !stderr.contains("01012345678"), "{stderr}");
    }
    assert!(!dir.path().join("fds.db").exists(), "nothing was opened");
}
