//! Test fixtures: events built through the real contract, decisions built by hand.

use crate::{Record, SqliteStore};
use chrono::TimeZone;
use fds_core::{Action, Block, BlockScope, Decision, Event, Pii, Timestamp};
use serde_json::json;

/// A fixed instant: tests never read the clock.
pub(crate) fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

pub(crate) fn minutes(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

/// A carrier-billing payment by `subscriber`, `at_minute` minutes after [`t0`].
pub(crate) fn payment(event_id: &str, subscriber: &str, at_minute: i64) -> Event {
    payment_at(event_id, subscriber, t0() + minutes(at_minute))
}

/// A carrier-billing payment by `subscriber` that occurred at `occurred_at`.
pub(crate) fn payment_at(event_id: &str, subscriber: &str, occurred_at: Timestamp) -> Event {
    Event::from_value(
        json!({
            "event_id": event_id, "occurred_at": occurred_at.to_rfc3339(), "subscriber": subscriber,
            "type": "payment", "amount": 49_000, "method": "carrier_billing",
            "merchant_id": "m-77", "merchant_category": "gift_card",
            "legacy_batch": "B-20261121"
        }),
        None,
    )
    .expect("fixture event is valid")
}

/// A decision about `event`; `Action::Block` comes with a one-day payments block.
pub(crate) fn decision(event: &Event, action: Action, score: f64) -> Decision {
    let decided_at = event.occurred_at + chrono::Duration::milliseconds(3);
    let block = (action == Action::Block).then(|| Block {
        block_id: fds_core::ids::block_id(&event.event_id),
        subscriber: event.subscriber.clone(),
        scope: BlockScope::Payments,
        since: decided_at,
        until: decided_at + chrono::Duration::days(1),
        decision_id: fds_core::ids::decision_id(&event.event_id),
        reason: "CB-001".into(),
    });
    Decision {
        decision_id: fds_core::ids::decision_id(&event.event_id),
        event_id: event.event_id.clone(),
        subscriber: Pii::new(event.subscriber.expose()),
        event_type: event.event_type(),
        occurred_at: event.occurred_at,
        action,
        score,
        reasons: vec![fds_core::Reason::Rule {
            rule_id: "CB-001".into(),
            name: "gift cards near the monthly cap".into(),
            family: "carrier_billing".into(),
            action: fds_core::RuleAction::Review,
            score,
            features: [("payments_sum_24h".to_string(), fds_core::FeatureValue::Int(490_000))]
                .into_iter()
                .collect(),
        }],
        block,
        rules_version: "pack-7".into(),
        model_versions: vec!["iforest-3".into()],
        decided_at,
        latency_us: 180,
    }
}

/// A record for a payment decided `action`.
pub(crate) fn record(event_id: &str, subscriber: &str, at_minute: i64, action: Action) -> Record {
    record_at(event_id, subscriber, t0() + minutes(at_minute), action)
}

/// A record for a payment that occurred at `occurred_at`, decided `action`.
pub(crate) fn record_at(event_id: &str, subscriber: &str, occurred_at: Timestamp, action: Action) -> Record {
    let event = payment_at(event_id, subscriber, occurred_at);
    let decision = decision(&event, action, 40.0);
    let received_at = event.occurred_at + chrono::Duration::milliseconds(1);
    Record { event, decision, received_at }
}

/// A store in a fresh database file under `dir`, and its URL.
pub(crate) async fn file_store(dir: &tempfile::TempDir) -> (SqliteStore, String) {
    let url = format!("sqlite://{}/data/fds.db", dir.path().display());
    let store = SqliteStore::open(&url, vault()).await.expect("store opens");
    (store, url)
}

/// The vault every test store is opened with: one key ring for the whole test
/// process, so a store reopened on the same database reads what it wrote.
pub(crate) fn vault() -> std::sync::Arc<fds_vault::Vault> {
    static VAULT: std::sync::OnceLock<std::sync::Arc<fds_vault::Vault>> = std::sync::OnceLock::new();
    VAULT
        .get_or_init(|| std::sync::Arc::new(fds_vault::Vault::new(fds_vault::KeyRing::generate_local())))
        .clone()
}
