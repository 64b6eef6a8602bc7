//! `fds import` end to end: legacy system B's files into an embedded store.

#![allow(clippy::unwrap_used, reason = "test helpers: a failure is the test failing")]

mod common;

use common::{fds, run, stored_decisions, vault};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// `fds import` on the store at `url`; (success, stdout, stderr).
fn import(url: &str, args: &[&Path]) -> (bool, String, String) {
    run(fds().env("FDS__STORE__URL", url).arg("import").args(args))
}

fn summary(stdout: &str, name: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(name)?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {stdout}"))
}

fn payment(id: &str, subscriber: &str, minute: i64, amount: i64, category: &str) -> Value {
    let at = chrono::Utc::now() - chrono::Duration::hours(6) + chrono::Duration::minutes(minute);
    json!({
        "event_id": id, "occurred_at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "subscriber": subscriber, "type": "payment", "amount": amount, "method": "carrier_billing",
        "merchant_id": format!("m-{}", minute % 5), "merchant_category": category
    })
}

/// 60 payments by 6 subscribers, gift cards and games, a minute apart.
fn day() -> Vec<Value> {
    (0..60)
        .map(|i| {
            let category = if i % 2 == 0 { "gift_card" } else { "game" };
            payment(&format!("b-{i:03}"), &format!("0109000{:04}", i % 6), i, 20_000 + i * 1_000, category)
        })
        .collect()
}

fn decisions(url: &str, events: &[Value]) -> Vec<(String, String, String, Value)> {
    let ids: Vec<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    stored_decisions(url, &ids)
}

#[test]
fn importing_the_same_file_twice_stores_each_event_once_and_lists_every_reject() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fds.db").display());
    let file = dir.path().join("day.jsonl");
    let rejects = dir.path().join("rejects.jsonl");
    let mut lines: Vec<String> = day().iter().map(Value::to_string).collect();
    lines.insert(4, "{\"event_id\": \"broken".into()); // line 5
    let mut wrong = payment("bad-amount", "01090000001", 3, 1, "game");
    wrong["amount"] = json!(-5);
    lines.insert(8, wrong.to_string()); // line 9
    lines.insert(13, json!({"event_id": "no-type", "subscriber": "01090000001"}).to_string()); // line 14
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let (ok, first, stderr) = import(&url, &[&file, Path::new("--rejects"), &rejects]);
    assert!(ok, "{first}\n{stderr}");
    assert_eq!(
        (
            summary(&first, "read"),
            summary(&first, "scored"),
            summary(&first, "rejected"),
            summary(&first, "duplicates")
        ),
        (63, 60, 3, 0)
    );
    let rejected: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(at, [5, 9, 14]);
    assert!(rejected[0]["reasons"][0]["reason"].as_str().unwrap().starts_with("not valid JSON"));
    assert_eq!(rejected[1]["reasons"][0]["field"], "amount");
    let fields: Vec<&str> =
        rejected[2]["reasons"].as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"type") && fields.contains(&"occurred_at"), "every problem listed: {fields:?}");
    assert!(rejected.iter().all(|r| r["file"].as_str().unwrap().ends_with("day.jsonl")));

    let (ok, second, stderr) = import(&url, &[&file, Path::new("--rejects"), &rejects]);
    assert!(ok, "{second}\n{stderr}");
    assert_eq!((summary(&second, "scored"), summary(&second, "duplicates")), (0, 60));
    let stored = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { fds_store::open(&url, vault()).await.unwrap().counts().await.unwrap() });
    assert_eq!((stored.events, stored.decisions), (60, 60));
}

#[test]
fn a_shuffled_gzip_csv_replays_in_event_time_order_and_decides_as_the_sorted_file() {
    let dir = tempfile::tempdir().unwrap();
    let events = day();
    let columns = [
        "event_id",
        "occurred_at",
        "subscriber",
        "type",
        "amount",
        "method",
        "merchant_id",
        "merchant_category",
    ];
    // A fixed shuffle: far from event-time order.
    let mut shuffled: Vec<&Value> = events.iter().collect();
    shuffled.sort_by_key(|e| {
        let id = e["event_id"].as_str().unwrap();
        (id.bytes().map(u64::from).sum::<u64>() * 7919) % 61
    });
    let csv_path = dir.path().join("day.csv.gz");
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&csv_path).unwrap(), flate2::Compression::fast());
    writeln!(gz, "{}", columns.join(",")).unwrap();
    for e in &shuffled {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match &e[*c] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        writeln!(gz, "{}", cells.join(",")).unwrap();
    }
    gz.finish().unwrap();
    let sorted_path = dir.path().join("sorted.jsonl");
    std::fs::write(&sorted_path, events.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")).unwrap();

    let csv_url = format!("sqlite://{}", dir.path().join("csv.db").display());
    let sorted_url = format!("sqlite://{}", dir.path().join("sorted.db").display());
    let rejects = dir.path().join("rejects.jsonl");
    // A sort chunk of 7 spills the 60 events into nine runs that must be merged.
    let chunk = [Path::new("--sort-chunk"), Path::new("7"), Path::new("--rejects"), &rejects];
    let (ok, out, err) = import(&csv_url, &[&[csv_path.as_path()][..], &chunk[..]].concat());
    assert!(ok, "{out}\n{err}");
    assert_eq!((summary(&out, "scored"), summary(&out, "rejected")), (60, 0));
    let (ok, out, err) = import(&sorted_url, &[&sorted_path, Path::new("--rejects"), &rejects]);
    assert!(ok, "{out}\n{err}");

    let from_csv = decisions(&csv_url, &events);
    let from_sorted = decisions(&sorted_url, &events);
    assert_eq!(from_csv.len(), 60);
    assert!(from_sorted.iter().any(|d| d.1 != "allow"), "velocity rules fire on this traffic");
    assert_eq!(from_csv, from_sorted);
}
