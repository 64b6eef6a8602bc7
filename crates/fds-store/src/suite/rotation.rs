//! `fds keys rotate` at the store, on both backends: every sealed value is moved
//! to the active key in resumable batches, the audit log is left as hashed, and
//! once the old key is removed from the ring everything still reads.
//!
//! The bodies open the store themselves (old ring, ring with the new active key,
//! new key alone), so they run outside `test_db::run`.

use super::{card_payment, KNOWN_SUBSCRIBER};
use crate::audit::actions;
use crate::fixtures::{record, record_at, t0};
use crate::retention::{RetentionPolicy, DECISIONS};
use crate::rotation::{rotate_keys, RotationOptions};
use crate::{verify_chain, Record, Role, Secret};
use fds_core::{Action, Label, Outcome, Pii};

mod backends {
    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/fds.db", dir.path().display());
        super::rotating_keys_rewrites_every_sealed_value_resumably_and_the_old_key_can_go(&url).await;
    }

    #[tokio::test]
    async fn postgres() {
        let db = crate::test_db::PgDatabase::create().await;
        super::rotating_keys_rewrites_every_sealed_value_resumably_and_the_old_key_can_go(db.url()).await;
        db.drop_database().await;
    }
}

/// A vault holding the data keys `ids` (each key `<id>` repeated: test material),
/// `active` among them, and the one index key every test ring shares.
fn ring_of(active: &str, ids: &[&str]) -> std::sync::Arc<fds_vault::Vault> {
    let keys: Vec<(String, String)> = ids.iter().map(|id| (id.to_string(), id.repeat(64))).collect();
    let ring = fds_vault::KeyRing::from_config(active, keys, &"c".repeat(64)).expect("valid test keys");
    std::sync::Arc::new(fds_vault::Vault::new(ring))
}

/// How many sealed values under `key` the sealed columns of the database hold.
async fn sealed_under(url: &str, key: &str) -> usize {
    let mut columns = vec![
        ("events", "payload"),
        ("decisions", "decision"),
        ("blocks", "subscriber_sealed"),
        ("labels", "subscriber_sealed"),
        ("legal_holds", "subscriber_sealed"),
        ("console_users", "totp_secret"),
        ("subscriber_notes", "text_sealed"),
    ];
    if !url.starts_with("sqlite:") {
        columns.extend([("held_events", "payload"), ("held_decisions", "decision")]);
    }
    let raw = crate::test_db::Raw::connect(url).await;
    let needle = format!("\"v1.{key}.");
    let mut n = 0;
    for (table, column) in columns {
        let texts = raw
            .texts(&format!("SELECT '\"' || CAST({column} AS TEXT) FROM {table} WHERE {column} IS NOT NULL"))
            .await;
        n += texts.iter().map(|t| t.matches(&needle).count()).sum::<usize>();
    }
    n
}

async fn rotating_keys_rewrites_every_sealed_value_resumably_and_the_old_key_can_go(url: &str) {
    // Written under key a: a blocked card payment, recent ones, an old one of a
    // held subscriber (which retention keeps, on Postgres in the hold tables), a
    // label, the hold and an analyst's note.
    let old = crate::open(url, ring_of("a", &["a"])).await.unwrap();
    let first = card_payment("e-1");
    let recent: Vec<Record> =
        (2..=4).map(|i| record(&format!("e-{i}"), "01099990000", i, Action::Review)).collect();
    let ancient = record_at("e-0", KNOWN_SUBSCRIBER, t0() - chrono::Duration::days(600), Action::Review);
    old.save(&[first.clone(), ancient.clone()]).await.unwrap();
    old.save(&recent).await.unwrap();
    let hold = old
        .place_hold(KNOWN_SUBSCRIBER, Some("case-9"), "regulator inquiry", "legal-kim", t0())
        .await
        .unwrap();
    let label = Label {
        label_id: "l-1".into(),
        event_id: Some("e-1".into()),
        subscriber: Some(Pii::new(KNOWN_SUBSCRIBER)),
        outcome: Outcome::Fraud,
        note: None,
        labelled_by: "ana".into(),
        labelled_at: t0(),
    };
    old.save_label(&label).await.unwrap();
    let analyst =
        old.create_user(&super::console::new_user("kim", &[Role::Admin]), "setup", t0()).await.unwrap();
    let totp = Secret::new("JBSWY3DPEHPK3PXP");
    old.set_totp(analyst.user_id, Some(&totp), true, "kim", t0()).await.unwrap();
    let note =
        old.add_subscriber_note(KNOWN_SUBSCRIBER, "asked for 010-2222-3333", "kim", t0()).await.unwrap();
    let kept = old.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    assert_eq!(kept.rows_held(DECISIONS), 1, "the ancient decision is held");
    drop(old);
    // Two values in the card payment's event and decision each, one in every
    // other event, decision, block, label and hold, the TOTP secret and the note.
    let before = sealed_under(url, "a").await;
    assert_eq!(before, 17);

    // Key b becomes active, key a stays for reading. A run stopped after three
    // batches of one row has rewritten some rows, not all.
    let vault = ring_of("b", &["a", "b"]);
    let store = crate::open(url, vault.clone()).await.unwrap();
    let mut seen = Vec::new();
    let stopped = RotationOptions { batch_size: 1, max_batches: Some(3) };
    let partial = rotate_keys(store.as_ref(), &vault, "ops-lee", t0(), stopped, |t| seen.push(t.clone()))
        .await
        .unwrap();
    assert!(!partial.complete);
    assert_eq!(seen.len(), 3, "progress after every batch");
    assert_eq!(partial.tables.iter().map(|t| t.batches).sum::<u64>(), 3);
    assert_eq!(partial.rows_rewritten(), 3);
    let moved = sealed_under(url, "b").await;
    assert!(moved > 0 && sealed_under(url, "a").await > 0, "part way: some values on b, some on a");
    assert_eq!(sealed_under(url, "a").await + moved, before);

    // Running again finishes the job, batch by batch.
    let rest = rotate_keys(
        store.as_ref(),
        &vault,
        "ops-lee",
        t0(),
        RotationOptions { batch_size: 2, max_batches: None },
        |_| {},
    )
    .await
    .unwrap();
    assert!(rest.complete);
    assert_eq!(rest.tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>(), store.sealed_tables());
    assert!(rest.tables.iter().all(|t| t.done));
    assert_eq!(rest.from_keys.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(sealed_under(url, "a").await, 0, "no value stays under key a");
    assert_eq!(sealed_under(url, "b").await, before);
    // 15 rows hold sealed values: 5 events and 5 decisions (on Postgres the held
    // ones in the hold tables), a block, a label, a hold, a user, a note.
    assert_eq!(partial.rows_rewritten() + rest.rows_rewritten(), 15);
    assert_eq!(partial.from_keys.values().chain(rest.from_keys.values()).sum::<u64>(), 17);
    // The audit log is never rewritten: the hold's and the note's records keep key a.
    assert_eq!(rest.audit_records_on_old_keys, 2);
    assert_eq!(rest.audit_old_keys.iter().collect::<Vec<_>>(), ["a"]);

    // A third run finds nothing to do.
    let again = rotate_keys(store.as_ref(), &vault, "ops-lee", t0(), RotationOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(again.complete);
    assert_eq!(again.rows_rewritten(), 0);

    // Every run is audited, and the chain stays intact.
    let audit = store.audit_records(0, 100).await.unwrap();
    assert!(verify_chain(&audit).is_ok());
    let rotations: Vec<_> = audit.iter().filter(|r| r.entry.action == actions::KEY_ROTATE).collect();
    assert_eq!(rotations.len(), 3);
    assert!(rotations.iter().all(|r| r.entry.actor == "ops-lee" && r.entry.target == "key:b"));
    assert_eq!(rotations[0].entry.after.as_ref().unwrap()["complete"], false);
    assert_eq!(rotations[1].entry.before.as_ref().unwrap()["key_ids"], serde_json::json!(["a"]));
    drop(store);

    // Key a removed from the ring: everything still reads.
    let store = crate::open(url, ring_of("b", &["b"])).await.unwrap();
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(first.decision.clone()));
    assert_eq!(store.decision_for_event("e-0").await.unwrap(), Some(ancient.decision.clone()));
    let decisions = store.decisions_for_subscriber(KNOWN_SUBSCRIBER, 10).await.unwrap();
    assert_eq!(decisions, [first.decision.clone(), ancient.decision.clone()]);
    let events = store.events_after((t0() - chrono::Duration::days(700), ""), 10).await.unwrap();
    let mut expected = vec![ancient.event.clone(), first.event.clone()];
    expected.extend(recent.iter().map(|r| r.event.clone()));
    assert_eq!(events, expected);
    let since = first.decision.block.as_ref().expect("a block").since;
    assert_eq!(store.active_blocks(since).await.unwrap().len(), 1);
    assert_eq!(store.labels(10).await.unwrap(), [label]);
    assert_eq!(store.holds().await.unwrap(), [hold]);
    let kim = store.user_by_login("kim").await.unwrap().expect("the user");
    assert_eq!(kim.totp_secret, Some(totp));
    assert_eq!(store.subscriber_notes(KNOWN_SUBSCRIBER, 10).await.unwrap(), [note]);
    assert!(verify_chain(&store.audit_records(0, 100).await.unwrap()).is_ok());
}
