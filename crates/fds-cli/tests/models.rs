//! `fds model` against a store: training from stored events and labels registers
//! the model, `list` shows the registry, `promote` switches the champion (audited),
//! and a running `fds serve` picks a promotion up without a restart.

#![allow(clippy::unwrap_used, reason = "tests: a failure is the test failing")]

mod common;

use common::{fds, run, runtime, serve_with, vault, wait_until, Database, API_KEY};
use std::path::Path;
use std::time::Duration;

/// Simulated traffic of the last days imported into the store at `url`, and a
/// subscriber label (fraud) for every fraud line of the ground truth.
fn stored_traffic(url: &str, dir: &Path, events: u32) {
    let (events_file, truth_file) = (dir.join("events.jsonl"), dir.join("truth.jsonl"));
    // Midnight KST eight days ago: recent enough for `--since 60d`, and always the same
    // time of day. The simulator's activity follows the KST hour, so with its default
    // start (now minus 7 days) what the traffic held, and whether its newest rows held
    // any fraud to measure the hold-out on, depended on when the test ran.
    let kst = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    let day = (chrono::Utc::now() - chrono::Duration::days(8)).with_timezone(&kst).date_naive();
    let start = day.and_hms_opt(0, 0, 0).unwrap().and_local_timezone(kst).unwrap().to_rfc3339();
    let (ok, stdout, stderr) = run(fds()
        .args(["sim", "--events", &events.to_string(), "--subscribers", "800", "--seed", "5"])
        .args(["--start", &start, "--out"])
        .arg(&events_file)
        .arg("--truth")
        .arg(&truth_file));
    assert!(ok, "{stdout}\n{stderr}");
    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", url)
        .args(["import", "--quiet", "--rejects"])
        .arg(dir.join("rejects.jsonl"))
        .arg(&events_file));
    assert!(ok, "{stdout}\n{stderr}");
    let truth =
        fds_sim::Truth::read_jsonl(&mut std::io::BufReader::new(std::fs::File::open(&truth_file).unwrap()))
            .unwrap();
    runtime().block_on(async {
        let store = fds_store::open(url, vault()).await.unwrap();
        for (i, line) in truth.lines().iter().enumerate() {
            let label = fds_core::Label {
                label_id: format!("lbl-{i}"),
                event_id: None,
                subscriber: Some(fds_core::Pii::new(line.subscriber.clone())),
                outcome: fds_core::Outcome::Fraud,
                note: None,
                labelled_by: "analyst".into(),
                labelled_at: chrono::Utc::now(),
            };
            store.save_label(&label).await.unwrap();
        }
    });
}

/// `fds model train --since 60d` on the store at `url`: its stdout.
fn train(url: &str, kind: &str, seed: &str) -> String {
    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", url)
        .args(["model", "train", "--kind", kind, "--since", "60d", "--trees", "20", "--seed", seed])
        .args(["--actor", "trainer"]));
    assert!(ok, "{stdout}\n{stderr}");
    stdout
}

/// The version in a `registered  <version> as …` line.
fn registered(stdout: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with("registered")).unwrap_or_else(|| panic!("{stdout}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

fn models(url: &str) -> Vec<(String, String)> {
    runtime().block_on(async {
        let store = fds_store::open(url, vault()).await.unwrap();
        store.models().await.unwrap().into_iter().map(|m| (m.version, m.role.as_str().to_string())).collect()
    })
}

#[test]
fn training_from_the_store_registers_a_champion_then_a_challenger_and_promote_switches_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    stored_traffic(&url, dir.path(), 12_000);

    let supervised = train(&url, "supervised", "1");
    assert!(supervised.contains("as the champion supervised model"), "{supervised}");
    assert!(supervised.contains("hold-out    roc-auc"), "measured on the newest rows: {supervised}");
    let first = train(&url, "anomaly", "1");
    assert!(first.contains("as the champion anomaly model"), "{first}");
    let second = train(&url, "anomaly", "2");
    assert!(second.contains("as the challenger anomaly model"), "{second}");
    let (first, second) = (registered(&first), registered(&second));

    let (ok, listed, stderr) = run(fds().env("FDS__STORE__URL", &url).args(["model", "list"]));
    assert!(ok, "{stderr}");
    assert_eq!(listed.lines().count(), 4, "a header and three models: {listed}");
    assert!(listed.lines().any(|l| l.starts_with(&second) && l.contains("challenger")), "{listed}");

    let compare = ["model", "compare", "--kind", "anomaly", "--holdout", "8d"];
    let (ok, compared, stderr) = run(fds().env("FDS__STORE__URL", &url).args(compare));
    assert!(ok, "{compared}\n{stderr}");
    for (role, version) in [("champion", &first), ("challenger", &second)] {
        let line = format!("{role:<11} {version}: hold-out roc-auc ");
        assert!(compared.contains(&line), "both measured on the same hold-out: {compared}");
    }
    assert!(compared.contains("shadow psi  - (no shadow scores yet)"), "{compared}");

    let (ok, stdout, stderr) =
        run(fds().env("FDS__STORE__URL", &url).args(["model", "promote", &second, "--actor", "lee"]));
    assert!(ok, "{stdout}\n{stderr}");
    assert!(models(&url).contains(&(second.clone(), "champion".into())));
    assert!(models(&url).contains(&(first.clone(), "retired".into())));
    let audited = runtime().block_on(async {
        let store = fds_store::open(&url, vault()).await.unwrap();
        store.audit_records(0, 100).await.unwrap()
    });
    let promotion = audited.iter().find(|r| r.entry.action == "model.promote").expect("audited");
    assert_eq!(promotion.entry.actor, "lee");
    assert_eq!(promotion.entry.after.as_ref().unwrap()["version"], second.as_str());

    let (ok, _, stderr) =
        run(fds().env("FDS__STORE__URL", &url).args(["model", "promote", "anomaly-0000", "--actor", "lee"]));
    assert!(!ok && stderr.contains("no model anomaly-0000 is registered"), "{stderr}");
}

#[test]
fn training_from_an_empty_store_fails_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", &url)
        .args(["model", "train", "--kind", "anomaly", "--since", "30d"]));
    assert!(!ok, "{stdout}");
    assert!(stderr.contains("holds no valid events"), "{stderr}");
    assert!(models(&url).is_empty());
}

/// Scores a fresh payment on the running API: the decision's `model_versions`.
fn model_versions(client: &reqwest::Client, addr: &str, n: u32) -> Vec<String> {
    let event = serde_json::json!({
        "event_id": format!("live-{n}"), "occurred_at": chrono::Utc::now().to_rfc3339(),
        "subscriber": "01055550000", "type": "payment", "amount": 1000 + n,
        "method": "card", "merchant_id": "m", "merchant_category": "retail"
    });
    runtime().block_on(async {
        let answer = client
            .post(format!("http://{addr}/v1/score"))
            .bearer_auth(API_KEY)
            .json(&event)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let decision: serde_json::Value = answer.json().await.unwrap();
        serde_json::from_value(decision["model_versions"].clone()).unwrap()
    })
}

/// Events the store at `url` holds in the score histogram of model `version`.
fn shadow_scores(url: &str, version: &str) -> u64 {
    runtime().block_on(async {
        let store = fds_store::open(url, vault()).await.unwrap();
        let now = chrono::Utc::now();
        let bins =
            store.model_scores(version, now - chrono::Duration::days(1), now + chrono::Duration::hours(1));
        bins.await.unwrap().iter().sum()
    })
}

#[test]
fn serve_on_postgres_scores_with_the_champion_shadows_the_challenger_and_follows_a_promotion_live() {
    let db = Database::create();
    let dir = tempfile::tempdir().unwrap();
    stored_traffic(&db.url, dir.path(), 6_000);
    let champion = registered(&train(&db.url, "anomaly", "1"));
    let challenger = registered(&train(&db.url, "anomaly", "2"));
    let server = serve_with(&db.url, &[("FDS__MODELS__POLL_EVERY", "1")]);
    let client = reqwest::Client::new();

    assert_eq!(model_versions(&client, &server.addr, 0), [format!("anomaly@{champion}")]);
    // The challenger scored the same event in shadow; its histogram reaches the
    // store at the next poll.
    wait_until("the challenger's shadow scores are stored", Duration::from_secs(30), || {
        shadow_scores(&db.url, &challenger) > 0
    });
    assert_eq!(shadow_scores(&db.url, &challenger), 1);

    let (ok, compared, stderr) = run(fds().env("FDS__STORE__URL", &db.url).args([
        "model",
        "compare",
        "--kind",
        "anomaly",
        "--holdout",
        "1d",
        "--json",
    ]));
    assert!(ok, "{compared}\n{stderr}");
    let compared: serde_json::Value = serde_json::from_str(&compared).unwrap();
    for (role, version) in [("champion", &champion), ("challenger", &challenger)] {
        assert_eq!(compared[role]["version"], version.as_str());
        let scored: u64 =
            compared[role]["shadow"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(scored, 1, "the live event, scored by both: {compared}");
    }
    assert!(compared["shadow_psi"].is_f64(), "{compared}");

    let (ok, stdout, stderr) =
        run(fds().env("FDS__STORE__URL", &db.url).args(["model", "promote", &challenger, "--actor", "lee"]));
    assert!(ok, "{stdout}\n{stderr}");
    let mut n = 0;
    wait_until("a decision by the promoted model", Duration::from_secs(30), || {
        n += 1;
        model_versions(&client, &server.addr, n) == [format!("anomaly@{challenger}")]
    });
    let metrics = runtime().block_on(async {
        client.get(format!("http://{}/metrics", server.addr)).send().await.unwrap().text().await.unwrap()
    });
    assert!(
        metrics.contains(&format!(
            "fds_model_info{{role=\"champion\",model=\"anomaly\",version=\"{challenger}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(!metrics.contains(&format!("version=\"{champion}\"")), "the retired model is out: {metrics}");

    let (status, rest) = server.terminate();
    assert!(status.success(), "serve exited with {status}: {rest:?}");
    let reloads = rest.iter().filter(|l| l.contains("models loaded from the registry")).count();
    assert!(reloads >= 1, "the promotion was picked up by the running process: {rest:?}");
}

/// `fds model <command> --kind supervised --since 60d --actor cron` with `extra`.
fn supervised(url: &str, command: &str, extra: &[&str]) -> String {
    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", url)
        .args(["model", command, "--kind", "supervised", "--since", "60d", "--actor", "cron"])
        .args(extra));
    assert!(ok, "{stdout}\n{stderr}");
    stdout
}

#[test]
fn retrain_promotes_the_new_model_only_when_asked_and_it_beats_the_champion_on_its_hold_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    stored_traffic(&url, dir.path(), 12_000);
    let weak = ["--trees", "1", "--depth", "1"];
    let champion = registered(&supervised(&url, "train", &weak));

    let unasked = supervised(&url, "retrain", &["--trees", "40", "--seed", "2"]);
    assert!(
        unasked.contains(&format!("kept        {champion} as champion (not asked to promote)")),
        "{unasked}"
    );

    let better = supervised(&url, "retrain", &["--trees", "40", "--seed", "3", "--promote-if-better"]);
    let strong = registered(&better);
    assert!(better.contains(&format!("promoted    {strong} to supervised champion")), "{better}");
    assert!(models(&url).contains(&(strong.clone(), "champion".into())));
    assert!(models(&url).contains(&(champion.clone(), "retired".into())));

    let worse = supervised(&url, "retrain", &[&weak[..], &["--seed", "4", "--promote-if-better"]].concat());
    assert!(
        worse.contains(&format!("kept        {strong} as champion (it does not beat the champion)")),
        "{worse}"
    );
    let promotions = runtime().block_on(async {
        let store = fds_store::open(&url, vault()).await.unwrap();
        store
            .audit_records(0, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.entry.action == "model.promote")
            .count()
    });
    assert_eq!(promotions, 1);
}

#[test]
fn serve_measures_the_drift_of_traffic_unlike_the_training_data_and_flags_the_champion() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    stored_traffic(&url, dir.path(), 6_000);
    let champion = registered(&train(&url, "anomaly", "1"));
    let server = serve_with(
        &url,
        &[
            ("FDS__MODELS__POLL_EVERY", "1"),
            ("FDS__MODELS__DRIFT_EVERY", "1"),
            ("FDS__MODELS__PSI_ALERT", "0.25"),
        ],
    );
    let client = reqwest::Client::new();
    // Forty payments far above anything the model was trained on.
    runtime().block_on(async {
        for n in 0..40 {
            let event = serde_json::json!({
                "event_id": format!("big-{n}"), "occurred_at": chrono::Utc::now().to_rfc3339(),
                "subscriber": format!("0107777{n:04}"), "type": "payment", "amount": 50_000_000 + n,
                "method": "card", "merchant_id": "m", "merchant_category": "retail"
            });
            let answer = client
                .post(format!("http://{}/v1/score", server.addr))
                .bearer_auth(API_KEY)
                .json(&event)
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), 200);
        }
    });
    let flagged = format!("fds_model_needs_retraining{{version=\"{champion}\"}} 1");
    wait_until("the champion flagged on /metrics", Duration::from_secs(30), || {
        let metrics = runtime().block_on(async {
            client.get(format!("http://{}/metrics", server.addr)).send().await.unwrap().text().await.unwrap()
        });
        metrics.contains(&flagged)
    });

    let (ok, measured, _) = run(fds().env("FDS__STORE__URL", &url).args(["model", "drift"]));
    assert!(!ok, "a champion needing retraining fails the check: {measured}");
    assert!(measured.contains(&champion) && measured.contains("needs retraining"), "{measured}");
    let (ok, listed, _) = run(fds().env("FDS__STORE__URL", &url).args(["model", "list"]));
    assert!(
        ok && listed.lines().any(|l| l.starts_with(&champion) && l.ends_with("(needs retraining)")),
        "{listed}"
    );
    let (status, rest) = server.terminate();
    assert!(status.success(), "serve exited with {status}: {rest:?}");
}

#[test]
fn the_drift_check_passes_a_champion_that_has_seen_no_traffic_today() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    stored_traffic(&url, dir.path(), 6_000);
    let champion = registered(&train(&url, "anomaly", "1"));

    let (ok, measured, stderr) = run(fds().env("FDS__STORE__URL", &url).args(["model", "drift"]));

    assert!(ok, "{measured}\n{stderr}");
    assert!(
        measured.contains(&format!("{champion:<28} ")) && measured.contains("nothing to measure"),
        "{measured}"
    );
}

#[test]
fn an_import_scores_with_the_registrys_champion_like_serve_does() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fds.db", dir.path().display());
    stored_traffic(&url, dir.path(), 6_000);
    let champion = registered(&train(&url, "anomaly", "1"));
    let file = dir.path().join("late.jsonl");
    let event = serde_json::json!({
        "event_id": "late-1", "occurred_at": chrono::Utc::now().to_rfc3339(), "subscriber": "01055550000",
        "type": "payment", "amount": 1000, "method": "card", "merchant_id": "m", "merchant_category": "retail"
    });
    std::fs::write(&file, format!("{event}\n")).unwrap();

    let (ok, stdout, stderr) = run(fds()
        .env("FDS__STORE__URL", &url)
        .args(["import", "--quiet", "--rejects"])
        .arg(dir.path().join("late-rejects.jsonl"))
        .arg(&file));

    assert!(ok, "{stdout}\n{stderr}");
    let decision = runtime().block_on(async {
        let store = fds_store::open(&url, vault()).await.unwrap();
        store.decision_for_event("late-1").await.unwrap().expect("stored")
    });
    assert_eq!(decision.model_versions, [format!("anomaly@{champion}")]);
}
