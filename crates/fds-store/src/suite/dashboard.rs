//! The behavioural suite of [`Store::dashboard`](crate::Store::dashboard), on both
//! backends: the aggregates equal what is counted directly from the saved
//! decisions, per bucket, event type and family, after redeliveries, after
//! retention and after a backfill by the migration that adds the rollups.

use super::{retention_setup, utc};
use crate::fixtures::{decision, t0, vault};
use crate::retention::RetentionPolicy;
use crate::test_db::Subject;
use crate::{Bucket, Dashboard, Record, RuleHits, Tally};
use fds_core::{Action, Event, EventBody, Reason, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

on_both_backends!(
    the_dashboard_equals_the_counts_of_the_saved_decisions_per_bucket_type_and_family,
    a_window_covers_the_whole_hours_it_touches_and_nothing_else,
    retention_removes_the_dashboard_hours_of_the_decisions_it_removes,
    a_database_saved_before_the_rollups_existed_gets_them_backfilled,
    rule_hits_equal_the_counts_of_the_saved_decisions_per_rule,
    retention_removes_the_rule_hits_of_the_decisions_it_removes,
    a_database_saved_before_the_rule_rollup_existed_gets_it_backfilled,
);

fn rule(family: &str) -> Reason {
    Reason::Rule {
        rule_id: format!("{family}-1"),
        name: "a rule".into(),
        family: family.into(),
        action: fds_core::RuleAction::Review,
        score: 10.0,
        features: BTreeMap::new(),
    }
}

/// Varied traffic over six days from 2026-11-18: payments and calls, the three
/// actions, decisions hit by no family, one, two, or one twice.
fn traffic() -> Vec<Record> {
    (0..240i64)
        .map(|i| {
            let occurred_at = utc(2026, 11, 18, 0, 0) + chrono::Duration::minutes(37 * i);
            let subscriber = format!("010{:08}", i % 17);
            let value = if i % 3 == 0 {
                serde_json::json!({
                    "event_id": format!("t-{i}"), "occurred_at": occurred_at.to_rfc3339(),
                    "subscriber": subscriber, "type": "call", "callee": "+882161234",
                    "direction": "out", "duration_s": 12, "callee_country": "XX"
                })
            } else {
                serde_json::json!({
                    "event_id": format!("t-{i}"), "occurred_at": occurred_at.to_rfc3339(),
                    "subscriber": subscriber, "type": "payment", "amount": 1_000 * (i % 10 + 1),
                    "method": "carrier_billing", "merchant_id": "m-1", "merchant_category": "gift_card"
                })
            };
            let event = Event::from_value(value, None).expect("a valid event");
            let action = match i % 7 {
                0 => Action::Block,
                1 | 2 => Action::Review,
                _ => Action::Allow,
            };
            let mut decision = decision(&event, action, 30.0);
            decision.reasons = match i % 4 {
                0 => vec![],
                1 => vec![rule("carrier_billing_abuse")],
                2 => vec![rule("voice_phishing"), rule("carrier_billing_abuse")],
                _ => vec![rule("irsf"), rule("irsf")],
            };
            Record { received_at: event.occurred_at, event, decision }
        })
        .collect()
}

/// The start of the UTC bucket of `seconds` that `at` falls in, computed directly.
fn bucket_start(at: Timestamp, seconds: i64) -> Timestamp {
    let secs = at.timestamp();
    Timestamp::from_timestamp(secs - secs.rem_euclid(seconds), 0).expect("in range")
}

/// (rule id, family) of every rule reason of `r`'s decision, repeats included.
fn rule_reasons(r: &Record) -> impl Iterator<Item = (&str, &str)> {
    r.decision.reasons.iter().filter_map(|reason| match reason {
        Reason::Rule { rule_id, family, .. } => Some((rule_id.as_str(), family.as_str())),
        Reason::Model { .. } | Reason::Suppressed { .. } | Reason::Allowed { .. } => None,
    })
}

/// The dashboard counted directly from `records`: those whose hour starts in
/// `[from rounded down to the hour, to)`.
fn expected(records: &[Record], from: Timestamp, to: Timestamp, bucket: Bucket) -> Dashboard {
    let mut want = Dashboard {
        from,
        to,
        bucket,
        total: Tally::default(),
        by_event_type: BTreeMap::new(),
        by_family: BTreeMap::new(),
        series: Vec::new(),
    };
    let mut series: BTreeMap<Timestamp, Tally> = BTreeMap::new();
    for r in records {
        let hour = bucket_start(r.event.occurred_at, 3_600);
        if hour < bucket_start(from, 3_600) || hour >= to {
            continue;
        }
        let amount = match &r.event.body {
            EventBody::Payment(p) => p.amount as u64,
            _ => 0,
        };
        let action = r.decision.action;
        let size = match bucket {
            Bucket::Hour => 3_600,
            Bucket::Day => 86_400,
        };
        want.total.add(action, 1, amount);
        series.entry(bucket_start(r.event.occurred_at, size)).or_default().add(action, 1, amount);
        want.by_event_type
            .entry(r.event.event_type().as_str().to_string())
            .or_default()
            .add(action, 1, amount);
        let families: BTreeSet<&str> = rule_reasons(r).map(|(_, family)| family).collect();
        for family in families {
            want.by_family.entry(family.to_string()).or_default().add(action, 1, amount);
        }
    }
    want.series = series.into_iter().collect();
    want
}

async fn the_dashboard_equals_the_counts_of_the_saved_decisions_per_bucket_type_and_family(s: Subject) {
    let store = s.store;
    let records = traffic();
    for batch in records.chunks(50) {
        store.save(batch).await.unwrap();
    }
    // A redelivery of part of the traffic counts nothing more.
    let again = store.save(&records[20..90]).await.unwrap();
    assert_eq!(again.inserted, 0);
    let (from, to) = (utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0));

    let hourly = store.dashboard(from, to, Bucket::Hour).await.unwrap();
    let daily = store.dashboard(from, to, Bucket::Day).await.unwrap();

    assert_eq!(hourly, expected(&records, from, to, Bucket::Hour));
    assert_eq!(daily, expected(&records, from, to, Bucket::Day));
    assert_eq!(daily.total.total(), 240);
    assert_eq!(daily.total.decisions, store.counts().await.unwrap().decisions_by_action);
    assert_eq!(daily.series.len(), 7, "2026-11-18 to 2026-11-24");
    assert_eq!(daily.by_family.len(), 3);
    assert!(daily.total.amount.block > 0 && daily.by_event_type["call"].amount == Tally::default().amount);
    assert_eq!(daily.total.block_rate(), daily.total.decisions.block as f64 / 240.0);
}

async fn a_window_covers_the_whole_hours_it_touches_and_nothing_else(s: Subject) {
    let store = s.store;
    let records = traffic();
    store.save(&records).await.unwrap();
    // Mid-hour bounds: the window is [2026-11-19 10:00, 2026-11-21 07:00).
    let from = utc(2026, 11, 19, 10, 25);
    let to = utc(2026, 11, 21, 6, 40);
    let (later, much_later) = (t0() + chrono::Duration::days(30), t0() + chrono::Duration::days(60));

    let hourly = store.dashboard(from, to, Bucket::Hour).await.unwrap();
    let daily = store.dashboard(from, to, Bucket::Day).await.unwrap();
    let empty = store.dashboard(later, much_later, Bucket::Day).await.unwrap();

    assert_eq!(hourly, expected(&records, from, to, Bucket::Hour));
    assert_eq!(daily, expected(&records, from, to, Bucket::Day));
    assert!(hourly.total.total() > 0 && hourly.total.total() < 240);
    assert!(hourly.series.iter().all(|(start, _)| *start >= utc(2026, 11, 19, 10, 0) && *start < to));
    assert_eq!(hourly.total, daily.total);
    assert_eq!(empty, expected(&[], later, much_later, Bucket::Day));
    assert!(empty.series.is_empty() && empty.by_family.is_empty());
}

async fn retention_removes_the_dashboard_hours_of_the_decisions_it_removes(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    let batch = super::retention_batch();
    let (from, to) = (utc(2025, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let before = store.dashboard(from, to, Bucket::Day).await.unwrap();

    store.retention(RetentionPolicy::default(), t0(), true).await.unwrap();
    let after_dry_run = store.dashboard(from, to, Bucket::Day).await.unwrap();
    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    let after = store.dashboard(from, to, Bucket::Day).await.unwrap();

    assert_eq!(before, expected(&batch, from, to, Bucket::Day));
    assert_eq!(after_dry_run, before);
    // Kept: the decisions from the cut-off (2025-11-01) on. The held decision of
    // 2025-03 stays readable but leaves the dashboard with its hour; the amounts
    // of events past their own 90-day cut-off stay.
    let kept: Vec<Record> =
        batch.iter().filter(|r| r.event.occurred_at >= utc(2025, 11, 1, 0, 0)).cloned().collect();
    assert_eq!(kept.len(), 5);
    assert_eq!(after, expected(&kept, from, to, Bucket::Day));
    assert!(store.decision_for_event("h-old").await.unwrap().is_some());
    assert_eq!(store.counts().await.unwrap().decisions, 6);
    assert_eq!(after.total.amount.allow, 4 * 49_000);
}

async fn a_database_saved_before_the_rollups_existed_gets_them_backfilled(s: Subject) {
    let records = traffic();
    s.store.save(&records).await.unwrap();
    // The database as it was before migration 0004: no rollups, 0004 not applied.
    for sql in [
        "DROP TABLE decision_rollup",
        "DROP TABLE decision_family_rollup",
        "DELETE FROM _sqlx_migrations WHERE version = 4",
    ] {
        s.raw.execute(sql).await.unwrap();
    }
    let (from, to) = (utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0));

    // `open` is not `Send` for every lifetime the suite's spawned body needs, so it
    // runs on a blocking thread of its own (as the key-rotation tests open theirs
    // outside the suite).
    let url = s.url.clone();
    let reopened = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current().block_on(async move { crate::open(&url, vault()).await })
    })
    .await
    .unwrap()
    .unwrap();

    assert_eq!(
        reopened.dashboard(from, to, Bucket::Hour).await.unwrap(),
        expected(&records, from, to, Bucket::Hour)
    );
}

/// Rule hits counted directly from `records`: those whose hour starts in
/// `[from rounded down to the hour, to)`, each rule once per decision.
fn expected_hits(records: &[Record], from: Timestamp, to: Timestamp) -> RuleHits {
    let mut want = RuleHits::new();
    for r in records {
        let hour = bucket_start(r.event.occurred_at, 3_600);
        if hour < bucket_start(from, 3_600) || hour >= to {
            continue;
        }
        let amount = match &r.event.body {
            EventBody::Payment(p) => p.amount as u64,
            _ => 0,
        };
        let rules: BTreeSet<&str> = rule_reasons(r).map(|(rule_id, _)| rule_id).collect();
        for rule_id in rules {
            want.entry(rule_id.to_string()).or_default().add(r.decision.action, 1, amount);
        }
    }
    want
}

async fn rule_hits_equal_the_counts_of_the_saved_decisions_per_rule(s: Subject) {
    let store = s.store;
    let records = traffic();
    for batch in records.chunks(50) {
        store.save(batch).await.unwrap();
    }
    assert_eq!(store.save(&records[10..60]).await.unwrap().inserted, 0, "a redelivery counts nothing more");
    // Mid-hour bounds, as for the dashboard.
    let (from, to) = (utc(2026, 11, 19, 10, 25), utc(2026, 11, 21, 6, 40));

    let all = store.rule_hits(utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0)).await.unwrap();
    let window = store.rule_hits(from, to).await.unwrap();

    assert_eq!(all, expected_hits(&records, utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0)));
    assert_eq!(window, expected_hits(&records, from, to));
    assert_eq!(all.keys().collect::<Vec<_>>(), ["carrier_billing_abuse-1", "irsf-1", "voice_phishing-1"]);
    // `irsf-1` is named twice by each of its decisions and counts once: i % 4 == 3.
    assert_eq!(all["irsf-1"].total(), 60);
    assert!(window["irsf-1"].total() > 0 && window["irsf-1"].total() < 60);
    assert!(store.rule_hits(utc(2027, 1, 1, 0, 0), utc(2027, 2, 1, 0, 0)).await.unwrap().is_empty());
}

async fn retention_removes_the_rule_hits_of_the_decisions_it_removes(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    let batch = super::retention_batch();
    let (from, to) = (utc(2025, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let before = store.rule_hits(from, to).await.unwrap();

    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    let after = store.rule_hits(from, to).await.unwrap();

    assert_eq!(before, expected_hits(&batch, from, to));
    let kept: Vec<Record> =
        batch.iter().filter(|r| r.event.occurred_at >= utc(2025, 11, 1, 0, 0)).cloned().collect();
    assert_eq!(after, expected_hits(&kept, from, to));
    assert_ne!(after, before);
}

async fn a_database_saved_before_the_rule_rollup_existed_gets_it_backfilled(s: Subject) {
    let records = traffic();
    s.store.save(&records).await.unwrap();
    let (from, to) = (utc(2026, 11, 1, 0, 0), utc(2026, 12, 1, 0, 0));
    // The database as it was before the migration that adds the rule rollup.
    let version = if s.url.starts_with("postgres") { 7 } else { 5 };
    for sql in [
        "DROP TABLE decision_rule_rollup".to_string(),
        format!("DELETE FROM _sqlx_migrations WHERE version = {version}"),
    ] {
        s.raw.execute(&sql).await.unwrap();
    }

    let url = s.url.clone();
    let reopened = tokio::task::spawn_blocking(move || {
        tokio::runtime::Handle::current().block_on(async move { crate::open(&url, vault()).await })
    })
    .await
    .unwrap()
    .unwrap();

    assert_eq!(reopened.rule_hits(from, to).await.unwrap(), expected_hits(&records, from, to));
}
