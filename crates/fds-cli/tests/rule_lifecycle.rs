//! The rule pack's life in the store, end to end on Postgres: the files seed the
//! store, a change is imported as a draft, its author cannot publish it, someone
//! else does, and a running `fds serve` decides with the new pack within seconds,
//! without a restart; a suppression silences a rule for one entity; a draft in
//! shadow is counted and never acted on.

mod common;

use common::{fds, repo, run, serve, wait_until, Database, API_KEY};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const MERCHANT: &str = "M-NEW-FRONT-77";
const RULE: &str = "cba_blocked_merchant_payment";
const PROBE: &str = "cba_shadow_probe";

fn rules(url: &str, args: &[&str]) -> (bool, String, String) {
    run(fds().arg("rules").args(args).env("FDS__STORE__URL", url))
}

/// A copy of the shipped rules directory to edit.
fn copy_of_rules(into: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo().join("rules"))
        .arg(into)
        .status()
        .expect("cp runs");
    assert!(status.success());
}

fn payment(n: u64, merchant: &str) -> Value {
    json!({
        "event_id": format!("lc-{n}-{}", common::unique("e")), "occurred_at": chrono::Utc::now().to_rfc3339(),
        "subscriber": format!("0109876{:04}", n % 1000), "type": "payment", "amount": 9_000,
        "method": "carrier_billing", "merchant_id": merchant, "merchant_category": "digital_content"
    })
}

fn score(runtime: &tokio::runtime::Runtime, addr: &str, event: &Value) -> Value {
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/v1/score"))
            .bearer_auth(API_KEY)
            .json(event)
            .send()
            .await
            .expect("score");
        assert_eq!(response.status().as_u16(), 200);
        response.json::<Value>().await.expect("a decision")
    })
}

fn rule_ids(decision: &Value, kind: &str) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["kind"] == kind)
        .filter_map(|r| r["rule_id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_published_pack_a_suppression_and_a_shadow_draft_reach_a_running_server_without_restart() {
    let db = Database::create();
    let (ok, out, err) = rules(&db.url, &["import", "--actor", "ops"]);
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("seeded v1-"), "{out}");

    let server = serve(&db.url);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut n = 0u64;
    let mut next = |merchant: &str| {
        n += 1;
        score(&runtime, &server.addr, &payment(n, merchant))
    };
    let before = next(MERCHANT);
    assert_eq!(before["action"], "allow", "{before}");
    assert!(before["rules_version"].as_str().unwrap().starts_with("v1-"), "{before}");

    // Alice adds the merchant to the blocked list; she cannot publish her own change.
    let edited = tempfile::tempdir().expect("tempdir");
    copy_of_rules(edited.path());
    let dir = edited.path().join("rules");
    let list = dir.join("lists/blocked_merchants.txt");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, format!("{text}{MERCHANT}\n")).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let (ok, out, err) =
        rules(&db.url, &["import", "--dir", dir_arg, "--actor", "alice", "--title", "suspend a front"]);
    assert!(ok && out.starts_with("change 1: 1 files against v1"), "{out}{err}");
    let (ok, _, err) = rules(&db.url, &["publish", "1", "--actor", "alice"]);
    assert!(!ok && err.contains("four eyes"), "{err}");
    assert_eq!(next(MERCHANT)["action"], "allow", "an unpublished draft changes nothing");

    let (ok, out, err) = rules(&db.url, &["publish", "1", "--actor", "bob"]);
    assert!(ok && out.contains("as v2-"), "{out}{err}");
    let mut live = Value::Null;
    wait_until("the published pack to decide", Duration::from_secs(20), || {
        live = next(MERCHANT);
        live["action"] == "block"
    });
    assert!(live["rules_version"].as_str().unwrap().starts_with("v2-"), "{live}");
    assert_eq!(rule_ids(&live, "rule"), [RULE]);

    // Ana silences the rule for this merchant.
    let (ok, out, err) = rules(
        &db.url,
        &[
            "suppress",
            RULE,
            "--entity",
            &format!("merchant={MERCHANT}"),
            "--for",
            "1h",
            "--reason",
            "reinstated",
            "--actor",
            "ana",
        ],
    );
    assert!(ok, "{out}{err}");
    let mut silenced = Value::Null;
    wait_until("the suppression to apply", Duration::from_secs(20), || {
        silenced = next(MERCHANT);
        silenced["action"] == "allow"
    });
    assert_eq!(rule_ids(&silenced, "suppressed"), [RULE], "{silenced}");
    assert_eq!(next("M-OTHER")["action"], "allow");

    // Carol drafts a probe rule and runs it in shadow: counted, never acted on.
    let probe_dir = dir.join("carrier_billing_abuse");
    std::fs::write(
        probe_dir.join(format!("{PROBE}.rhai")),
        format!(
            "// id: {PROBE}\n// name: Probe\n// family: carrier_billing_abuse\n// action: block\n// score: 90\n\
             // events: payment\n// description: Shadow probe.\ne.amount >= 5000\n"
        ),
    )
    .unwrap();
    std::fs::write(
        probe_dir.join(format!("{PROBE}.test.toml")),
        "[[case]]\nname = \"big\"\nexpect = \"hit\"\n[case.event]\ntype = \"payment\"\namount = 9000\nmethod = \"card\"\n\
         merchant_id = \"m\"\nmerchant_category = \"retail\"\n\n[[case]]\nname = \"small\"\nexpect = \"no_hit\"\n\
         [case.event]\ntype = \"payment\"\namount = 100\nmethod = \"card\"\nmerchant_id = \"m\"\nmerchant_category = \"retail\"\n",
    )
    .unwrap();
    let (ok, out, err) =
        rules(&db.url, &["import", "--dir", dir_arg, "--actor", "carol", "--title", "probe"]);
    assert!(ok && out.starts_with("change 2: 2 files against v2"), "{out}{err}");
    let (ok, out, err) = rules(&db.url, &["shadow", "2", "--actor", "carol"]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = rules(&db.url, &["list"]);
    let probe_line = out.lines().find(|l| l.starts_with(PROBE)).unwrap_or_else(|| panic!("{out}{err}"));
    assert!(ok && probe_line.split_whitespace().nth(4) == Some("shadow"), "{probe_line}");
    assert!(out.contains("v2-"), "the listing names the live version: {out}");
    wait_until("the shadow draft to run", Duration::from_secs(20), || {
        let decision = next("M-OTHER");
        assert_eq!(decision["action"], "allow", "a shadow rule is never acted on: {decision}");
        let (_, out, _) = rules(&db.url, &["show", "2"]);
        out.contains(PROBE) && out.contains("events evaluated")
    });
    let (status, log) = server.terminate();
    assert!(status.success(), "{log:?}");

    let (ok, out, err) = rules(&db.url, &["show", "2"]);
    assert!(ok, "{err}");
    let evaluated: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("shadow: ")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(evaluated >= 1, "{out}");
    assert!(out.contains("would change"), "{out}");

    let (ok, out, err) = rules(&db.url, &["versions"]);
    assert!(ok && out.contains("bob") && out.contains("suspend a front"), "{out}{err}");
    let (ok, out, err) = run(fds().args(["audit", "verify"]).env("FDS__STORE__URL", &db.url));
    assert!(ok, "{out}{err}");
}

#[test]
fn export_writes_back_exactly_the_files_the_store_was_seeded_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("fds.db").display());
    let (ok, out, err) = rules(&url, &["import", "--actor", "ops"]);
    assert!(ok, "{out}{err}");
    let out_dir = dir.path().join("exported");
    let (ok, out, err) = rules(&url, &["export", "--out", out_dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let shipped = fds_rules::PackFiles::read_dir(&repo().join("rules")).unwrap();
    let exported = fds_rules::PackFiles::read_dir(&out_dir).unwrap();
    assert_eq!(exported, shipped);
    let features = repo().join("rules/features.toml");
    let (ok, out, err) = rules(
        &url,
        &[
            "import",
            "--dir",
            out_dir.to_str().unwrap(),
            "--features",
            features.to_str().unwrap(),
            "--actor",
            "ops",
        ],
    );
    assert!(ok && out.contains("already holds exactly"), "{out}{err}");
}
