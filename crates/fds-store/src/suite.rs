//! The behavioural suite of the [`Store`] interface: every test body is written
//! once against `Arc<dyn Store>` and runs against both backends, a fresh SQLite
//! file and a fresh Postgres database (see `test_db.rs`).
//!
//! Backend-specific tests (file handling, URLs, partitions, schema guards) live
//! next to each backend.

use crate::audit::{actions, BreakReason, GENESIS_HASH};
use crate::fixtures::{minutes, payment, record, record_at, t0};
use crate::retention::{RemovedRows, RetentionPolicy, DECISIONS, EVENTS};
use crate::test_db::Subject;
use crate::{
    verify_chain, ActionCounts, AuditEntry, AuditHead, ChainBreak, ChainVerifier, Counts, Record,
    SaveSummary, StoreError,
};
use fds_core::{Action, Decision, Label, Outcome, Pii};

/// Instantiates each named body once per backend: `suite::sqlite::<name>` and
/// `suite::postgres::<name>`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::test_db::run(crate::test_db::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::test_db::run(crate::test_db::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_saved_decision_reads_back_as_it_was,
    the_event_is_kept_in_the_data_mart_as_its_contract_json,
    an_unknown_field_holding_a_nul_character_is_stored_and_read_back,
    saving_the_same_batch_twice_stores_each_event_once,
    a_batch_lookup_by_event_ids_returns_only_the_stored_decisions,
    a_repeat_inside_one_batch_is_a_duplicate_and_the_first_copy_wins,
    an_empty_batch_saves_nothing,
    a_batch_that_fails_part_way_stores_nothing,
    a_batch_larger_than_one_statement_is_saved_whole,
    decisions_for_a_subscriber_come_newest_first_up_to_the_limit,
    active_blocks_respect_since_and_until,
    active_blocks_for_a_subscriber_leave_out_other_subscribers,
    a_released_block_is_no_longer_active,
    labels_round_trip_newest_first,
    saving_a_label_again_changes_nothing,
    counts_split_decisions_by_action,
    events_page_out_in_event_time_order_from_a_cursor,
    timestamps_are_kept_to_the_microsecond,
    audit_records_chain_from_the_genesis_hash,
    audit_records_page_out_in_sequence_order,
    concurrent_audit_appends_give_a_gap_free_valid_chain,
    the_audit_log_refuses_update_and_delete,
    an_audit_record_edited_in_sql_is_found_by_verify_at_its_seq,
    an_audit_record_deleted_in_sql_is_found_by_verify_at_its_seq,
    the_newest_audit_record_deleted_in_sql_is_found_against_the_head,
    a_new_label_is_saved_with_its_audit_record_and_a_repeat_with_none,
    the_schema_version_is_the_newest_migration,
    a_held_decision_older_than_a_year_survives_retention_and_an_unheld_one_goes,
    a_dry_run_removes_nothing_and_reports_what_the_real_run_then_removes,
    lifting_the_hold_lets_the_next_retention_run_remove_what_it_kept,
    running_retention_twice_removes_nothing_more,
    placing_and_lifting_a_hold_are_audited_and_a_lifted_hold_cannot_be_lifted_again,
    after_retention_an_expired_event_is_stored_again_and_a_held_one_stays_a_duplicate,
    no_plaintext_pii_reaches_the_raw_storage_while_lookups_by_subscriber_still_work,
    a_tampered_sealed_value_fails_the_read_with_the_stores_error,
);

mod api_keys;
mod console;
mod dashboard;
mod models;
mod notes;
mod packs;
mod releases;
mod rotation;

/// Key rotation opens the store itself, twice, so its bodies run outside
/// `test_db::run` (which hands a body one store in a spawned task).
mod after_key_rotation_everything_stays_readable_and_new_writes_use_the_new_key {
    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/fds.db", dir.path().display());
        super::after_key_rotation(&url).await;
    }

    #[tokio::test]
    async fn postgres() {
        let db = crate::test_db::PgDatabase::create().await;
        super::after_key_rotation(db.url()).await;
        db.drop_database().await;
    }
}

async fn a_saved_decision_reads_back_as_it_was(s: Subject) {
    let store = s.store;
    let r = record("e-1", "01012345678", 0, Action::Block);

    let summary = store.save(std::slice::from_ref(&r)).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 1, duplicates: 0 });
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(r.decision));
    assert_eq!(store.decision_for_event("e-2").await.unwrap(), None);
}

async fn the_event_is_kept_in_the_data_mart_as_its_contract_json(s: Subject) {
    let r = record("e-1", "01012345678", 0, Action::Allow);
    s.store.save(std::slice::from_ref(&r)).await.unwrap();

    let mut row = s.raw.stored_event("e-1").await;

    let vault = crate::fixtures::vault();
    assert_eq!(row.subscriber, vault.blind_index(fds_vault::Field::Subscriber, "01012345678"));
    assert_ne!(row.payload["subscriber"], "01012345678", "the payload holds the subscriber sealed");
    crate::pii::open_json(&vault, "events", &mut row.payload).unwrap();
    assert_eq!(row.event_type, "payment");
    assert_eq!(row.occurred_at, r.event.occurred_at);
    assert_eq!(row.received_at, r.received_at);
    assert_eq!(row.payload, r.event.to_json());
    assert_eq!(row.payload["legacy_batch"], "B-20261121", "unknown fields are kept too");
}

async fn an_unknown_field_holding_a_nul_character_is_stored_and_read_back(s: Subject) {
    let store = s.store;
    let mut event = payment("e-1", "01012345678", 0);
    event.extra.insert("legacy_note".into(), serde_json::Value::String("a\u{0}b".into()));
    let r = Record {
        decision: crate::fixtures::decision(&event, Action::Allow, 1.0),
        received_at: event.occurred_at,
        event,
    };

    assert_eq!(store.save(std::slice::from_ref(&r)).await.unwrap().inserted, 1);

    let events = store.events_after((t0() - minutes(1), ""), 10).await.unwrap();
    assert_eq!(events, [r.event]);
}

async fn saving_the_same_batch_twice_stores_each_event_once(s: Subject) {
    let store = s.store;
    let batch = vec![
        record("e-1", "01012345678", 0, Action::Allow),
        record("e-2", "01012345678", 1, Action::Review),
        record("e-3", "01099998888", 2, Action::Block),
    ];

    let first = store.save(&batch).await.unwrap();
    let second = store.save(&batch).await.unwrap();

    assert_eq!(first, SaveSummary { inserted: 3, duplicates: 0 });
    assert_eq!(second, SaveSummary { inserted: 0, duplicates: 3 });
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (3, 3, 1));
}

async fn a_batch_lookup_by_event_ids_returns_only_the_stored_decisions(s: Subject) {
    let store = s.store;
    let batch = vec![
        record("e-1", "01012345678", 0, Action::Allow),
        record("e-2", "01012345678", 1, Action::Review),
        record("e-3", "01099998888", 2, Action::Block),
    ];
    store.save(&batch).await.unwrap();

    let mut found = store.decisions_for_events(&["e-3", "never-stored", "e-1"]).await.unwrap();
    found.sort_by(|a, b| a.event_id.cmp(&b.event_id));

    assert_eq!(found, vec![batch[0].decision.clone(), batch[2].decision.clone()]);
    assert!(store.decisions_for_events(&[]).await.unwrap().is_empty());
    assert!(store.decisions_for_events(&["never-stored"]).await.unwrap().is_empty());
}

async fn a_repeat_inside_one_batch_is_a_duplicate_and_the_first_copy_wins(s: Subject) {
    let store = s.store;
    let first = record("e-1", "01012345678", 0, Action::Review);
    let repeat = record("e-1", "01012345678", 0, Action::Block);
    let other = record("e-2", "01012345678", 1, Action::Allow);

    let summary = store.save(&[first.clone(), other, repeat]).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 2, duplicates: 1 });
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(first.decision));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (2, 2, 0));
}

async fn an_empty_batch_saves_nothing(s: Subject) {
    let store = s.store;
    assert_eq!(store.save(&[]).await.unwrap(), SaveSummary::default());
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

async fn a_batch_that_fails_part_way_stores_nothing(s: Subject) {
    let store = s.store;
    let existing = record("e-1", "01012345678", 0, Action::Block);
    store.save(std::slice::from_ref(&existing)).await.unwrap();
    // A new event whose block id clashes with the stored block: the block insert,
    // the last statement of the transaction, fails.
    let fresh = record("e-2", "01012345678", 1, Action::Allow);
    let mut clashing = record("e-3", "01012345678", 2, Action::Block);
    if let Some(block) = clashing.decision.block.as_mut() {
        block.block_id = existing.decision.block.clone().unwrap().block_id;
    }

    let result = store.save(&[fresh, clashing]).await;

    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(store.decision_for_event("e-2").await.unwrap(), None);
    assert_eq!(store.decision_for_event("e-3").await.unwrap(), None);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (1, 1, 1));
}

async fn a_batch_larger_than_one_statement_is_saved_whole(s: Subject) {
    let store = s.store;
    // More rows than fit the bound-parameter limit of one SQLite events insert.
    let n = crate::sqlite::EVENTS_PER_STATEMENT + 10;
    let batch: Vec<Record> =
        (0..n).map(|i| record(&format!("e-{i}"), "01012345678", (i % 600) as i64, Action::Block)).collect();

    let summary = store.save(&batch).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: n as u64, duplicates: 0 });
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (n as u64, n as u64, n as u64));
    let last = format!("e-{}", n - 1);
    assert_eq!(store.decision_for_event(&last).await.unwrap(), Some(batch[n - 1].decision.clone()));
}

async fn decisions_for_a_subscriber_come_newest_first_up_to_the_limit(s: Subject) {
    let store = s.store;
    let batch = vec![
        record("e-1", "01012345678", 1, Action::Allow),
        record("e-3", "01012345678", 3, Action::Review),
        record("e-2", "01012345678", 2, Action::Allow),
        record("e-9", "01099998888", 9, Action::Block),
    ];
    store.save(&batch).await.unwrap();

    let ids = |ds: Vec<Decision>| ds.into_iter().map(|d| d.event_id).collect::<Vec<_>>();
    assert_eq!(ids(store.decisions_for_subscriber("01012345678", 2).await.unwrap()), ["e-3", "e-2"]);
    assert_eq!(ids(store.decisions_for_subscriber("01012345678", 10).await.unwrap()), ["e-3", "e-2", "e-1"]);
    assert!(store.decisions_for_subscriber("01000000000", 10).await.unwrap().is_empty());
}

async fn active_blocks_respect_since_and_until(s: Subject) {
    let store = s.store;
    let blocked = record("e-1", "01012345678", 0, Action::Block);
    let allowed = record("e-2", "01012345678", 1, Action::Allow);
    store.save(&[blocked.clone(), allowed]).await.unwrap();
    let block = blocked.decision.block.clone().unwrap();
    let micro = chrono::Duration::microseconds(1);

    assert!(store.active_blocks(block.since - micro).await.unwrap().is_empty());
    assert_eq!(store.active_blocks(block.since).await.unwrap(), std::slice::from_ref(&block));
    assert_eq!(store.active_blocks(block.until - micro).await.unwrap(), std::slice::from_ref(&block));
    assert!(store.active_blocks(block.until).await.unwrap().is_empty());
}

async fn active_blocks_for_a_subscriber_leave_out_other_subscribers(s: Subject) {
    let store = s.store;
    let mine = record("e-1", "01012345678", 0, Action::Block);
    let theirs = record("e-2", "01099998888", 0, Action::Block);
    store.save(&[mine.clone(), theirs]).await.unwrap();
    let at = t0() + minutes(5);

    assert_eq!(store.active_blocks(at).await.unwrap().len(), 2);
    assert_eq!(
        store.active_blocks_for_subscriber("01012345678", at).await.unwrap(),
        [mine.decision.block.unwrap()]
    );
    assert!(store.active_blocks_for_subscriber("01000000000", at).await.unwrap().is_empty());
}

async fn a_released_block_is_no_longer_active(s: Subject) {
    let store = s.store;
    let blocked = record("e-1", "01012345678", 0, Action::Block);
    store.save(std::slice::from_ref(&blocked)).await.unwrap();
    let at = t0() + minutes(5);
    assert_eq!(store.active_blocks(at).await.unwrap().len(), 1);

    s.raw.release_all_blocks(at).await;

    assert!(store.active_blocks(at).await.unwrap().is_empty());
    assert!(store.active_blocks_for_subscriber("01012345678", at).await.unwrap().is_empty());
}

fn label(id: &str, minute: i64, note: &str) -> Label {
    Label {
        label_id: id.into(),
        event_id: Some("e-1".into()),
        subscriber: None,
        outcome: Outcome::Fraud,
        note: Some(note.into()),
        labelled_by: "analyst-kim".into(),
        labelled_at: t0() + minutes(minute),
    }
}

async fn labels_round_trip_newest_first(s: Subject) {
    let store = s.store;
    let on_event = label("l-1", 10, "confirmed by the victim");
    let on_subscriber = Label {
        label_id: "l-2".into(),
        event_id: None,
        subscriber: Some(Pii::new("01012345678")),
        outcome: Outcome::Legit,
        note: None,
        labelled_by: "chargeback-feed".into(),
        labelled_at: t0() + minutes(20),
    };

    store.save_label(&on_event).await.unwrap();
    store.save_label(&on_subscriber).await.unwrap();

    assert_eq!(store.labels(10).await.unwrap(), [on_subscriber.clone(), on_event]);
    assert_eq!(store.labels(1).await.unwrap(), [on_subscriber]);
}

async fn saving_a_label_again_changes_nothing(s: Subject) {
    let store = s.store;
    let original = label("l-1", 10, "confirmed by the victim");

    store.save_label(&original).await.unwrap();
    store.save_label(&label("l-1", 30, "a second opinion")).await.unwrap();

    assert_eq!(store.labels(10).await.unwrap(), [original]);
    assert_eq!(store.counts().await.unwrap().labels, 1);
}

async fn counts_split_decisions_by_action(s: Subject) {
    let store = s.store;
    let batch = vec![
        record("e-1", "01012345678", 0, Action::Allow),
        record("e-2", "01012345678", 1, Action::Allow),
        record("e-3", "01012345678", 2, Action::Review),
        record("e-4", "01099998888", 3, Action::Block),
    ];
    store.save(&batch).await.unwrap();
    store.save_label(&label("l-1", 10, "confirmed")).await.unwrap();

    let counts = store.counts().await.unwrap();

    assert_eq!(
        counts,
        Counts {
            events: 4,
            decisions: 4,
            blocks: 1,
            labels: 1,
            decisions_by_action: ActionCounts { allow: 2, review: 1, block: 1 },
        }
    );
    assert_eq!(counts.decisions_by_action.get(Action::Review), 1);
}

async fn events_page_out_in_event_time_order_from_a_cursor(s: Subject) {
    let store = s.store;
    // Saved out of order, with two events at the same instant.
    let batch = vec![
        record("c", "01011110000", 3, Action::Allow),
        record("a", "01011110000", 1, Action::Allow),
        record("b2", "01022220000", 2, Action::Allow),
        record("b1", "01011110000", 2, Action::Allow),
    ];
    store.save(&batch).await.unwrap();

    let first = store.events_after((t0(), ""), 2).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["a", "b1"]);
    let last = first.last().unwrap();
    let rest = store.events_after((last.occurred_at, &last.event_id), 10).await.unwrap();
    let ids: Vec<&str> = rest.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["b2", "c"]);
    assert_eq!(rest[0], batch[2].event);

    let later = store.events_after((t0() + minutes(2), "~"), 10).await.unwrap();
    assert_eq!(later.len(), 1);
}

async fn timestamps_are_kept_to_the_microsecond(s: Subject) {
    let store = s.store;
    let mut r = record("e-1", "01012345678", 0, Action::Block);
    let fine = chrono::Duration::nanoseconds(123_456_789);
    let micros = chrono::Duration::microseconds(123_456);
    r.received_at += fine;
    if let Some(block) = r.decision.block.as_mut() {
        block.since += fine;
    }
    store.save(std::slice::from_ref(&r)).await.unwrap();

    let row = s.raw.stored_event("e-1").await;
    assert_eq!(row.received_at, r.received_at - fine + micros);
    let since = r.decision.block.as_ref().unwrap().since - fine + micros;
    assert!(store.active_blocks(since - chrono::Duration::nanoseconds(1)).await.unwrap().is_empty());
    let active = store.active_blocks(since).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].since, since);
}

fn audit_entry(n: u32) -> AuditEntry {
    AuditEntry {
        actor: format!("analyst-{n}"),
        action: actions::BLOCK_RELEASE.into(),
        target: format!("block:b-{n}"),
        before: Some(serde_json::json!({"released": false, "n": n})),
        after: Some(serde_json::json!({"released": true, "reason": "verified", "n": n})),
        at: t0() + minutes(i64::from(n)) + chrono::Duration::nanoseconds(1_500),
    }
}

/// Appends `n` records one after the other.
async fn append_records(store: &dyn crate::Store, n: u32) {
    for i in 1..=n {
        store.append_audit(audit_entry(i)).await.unwrap();
    }
}

async fn audit_records_chain_from_the_genesis_hash(s: Subject) {
    let store = s.store;

    let first = store.append_audit(audit_entry(1)).await.unwrap();
    let second = store.append_audit(audit_entry(2)).await.unwrap();

    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.prev_hash, GENESIS_HASH);
    assert_eq!(second.prev_hash, first.hash);
    assert_eq!(
        first.entry.at,
        t0() + minutes(1) + chrono::Duration::microseconds(1),
        "kept to the microsecond"
    );
    let stored = store.audit_records(0, 10).await.unwrap();
    assert_eq!(stored, [first, second], "records read back exactly as appended");
    assert_eq!(verify_chain(&stored), Ok(2));
}

async fn audit_records_page_out_in_sequence_order(s: Subject) {
    let store = s.store;
    append_records(store.as_ref(), 5).await;

    let page = store.audit_records(0, 2).await.unwrap();
    let rest = store.audit_records(page[1].seq, 10).await.unwrap();

    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rest.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(rest[0].entry, audit_entry(3).normalised());
    assert!(store.audit_records(5, 10).await.unwrap().is_empty());
}

async fn concurrent_audit_appends_give_a_gap_free_valid_chain(s: Subject) {
    let tasks: Vec<_> = (0..6u32)
        .map(|task| {
            let store = s.store.clone();
            tokio::spawn(async move {
                for i in 0..10 {
                    store.append_audit(audit_entry(task * 100 + i)).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    let records = s.store.audit_records(0, 1000).await.unwrap();

    assert_eq!(records.len(), 60);
    assert_eq!(verify_chain(&records), Ok(60));
}

async fn the_audit_log_refuses_update_and_delete(s: Subject) {
    append_records(s.store.as_ref(), 2).await;

    let update = s.raw.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1").await;
    let delete = s.raw.execute("DELETE FROM audit_log WHERE seq = 2").await;

    for result in [update, delete] {
        let error = result.expect_err("the append-only guard refuses");
        assert!(error.to_string().contains("audit_log is append-only"), "{error}");
    }
    assert_eq!(verify_chain(&s.store.audit_records(0, 10).await.unwrap()), Ok(2));
}

async fn an_audit_record_edited_in_sql_is_found_by_verify_at_its_seq(s: Subject) {
    append_records(s.store.as_ref(), 5).await;
    s.raw.disable_audit_guard().await;

    let touched = s.raw.execute("UPDATE audit_log SET target = 'block:b-999' WHERE seq = 3").await.unwrap();

    assert_eq!(touched, 1);
    let records = s.store.audit_records(0, 10).await.unwrap();
    assert_eq!(verify_chain(&records), Err(ChainBreak { seq: 3, reason: BreakReason::HashMismatch }));
}

async fn an_audit_record_deleted_in_sql_is_found_by_verify_at_its_seq(s: Subject) {
    append_records(s.store.as_ref(), 5).await;
    s.raw.disable_audit_guard().await;

    let touched = s.raw.execute("DELETE FROM audit_log WHERE seq = 2").await.unwrap();

    assert_eq!(touched, 1);
    let records = s.store.audit_records(0, 10).await.unwrap();
    assert_eq!(verify_chain(&records), Err(ChainBreak { seq: 2, reason: BreakReason::Missing { next: 3 } }));
}

async fn a_new_label_is_saved_with_its_audit_record_and_a_repeat_with_none(s: Subject) {
    let store = s.store;
    let label = Label {
        label_id: "l-1".into(),
        event_id: Some("e-1".into()),
        subscriber: None,
        outcome: Outcome::Fraud,
        note: None,
        labelled_by: "ana".into(),
        labelled_at: t0(),
    };
    let entry = AuditEntry {
        actor: "ana".into(),
        action: actions::LABEL_CREATE.into(),
        target: "label:l-1".into(),
        before: None,
        after: Some(serde_json::to_value(&label).unwrap()),
        at: t0(),
    };

    let first = store.save_label_audited(&label, entry.clone()).await.unwrap();
    let again = store.save_label_audited(&label, entry.clone()).await.unwrap();

    assert_eq!(first.map(|r| (r.seq, r.entry)), Some((1, entry)));
    assert_eq!(again, None, "a repeat changes nothing and is not audited");
    assert_eq!(store.labels(10).await.unwrap(), [label]);
    assert_eq!(store.audit_records(0, 10).await.unwrap().len(), 1);
}

async fn the_schema_version_is_the_newest_migration(s: Subject) {
    // Postgres has migrations of its own (leaner indexes, daily rollups); then both
    // gained the rule packs (6 / 8), the model registry (7 / 9) and the console's
    // accounts and sessions (8 / 10), then two-person releases and allow entries (9 / 11)
    // and the subscriber page's notes (10 / 12); Postgres then dropped the events'
    // index by subscriber (13).
    let newest = if s.url.starts_with("postgres") { 13 } else { 10 };
    assert_eq!(s.store.schema_version().await.unwrap(), newest);
}

async fn the_newest_audit_record_deleted_in_sql_is_found_against_the_head(s: Subject) {
    assert_eq!(s.store.audit_head().await.unwrap(), AuditHead { seq: 0, hash: GENESIS_HASH.into() });
    append_records(s.store.as_ref(), 3).await;
    s.raw.disable_audit_guard().await;
    s.raw.execute("DELETE FROM audit_log WHERE seq = 3").await.unwrap();

    let head = s.store.audit_head().await.unwrap();
    let records = s.store.audit_records(0, 10).await.unwrap();
    let mut verifier = ChainVerifier::new();
    for record in &records {
        verifier.push(record).unwrap();
    }

    assert_eq!(head.seq, 3);
    assert_eq!(verify_chain(&records), Ok(2), "the chain alone cannot tell");
    assert_eq!(
        verifier.finish(&head),
        Err(ChainBreak { seq: 3, reason: BreakReason::TailMissing { head: 3 } })
    );
}

// Retention and legal holds. The run is at `t0()` (2026-11-21 12:00 UTC): decisions
// before 2025-11-01 go (the current month and the 12 before it stay), events
// before 2026-08-23 12:00 go (90 days).

const HELD: &str = "01011112222";
const UNHELD: &str = "01033334444";

fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> fds_core::Timestamp {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(year, month, day, hour, minute, 0).unwrap()
}

/// Decisions on both sides of both cut-offs, for a held and an unheld subscriber.
fn retention_batch() -> Vec<Record> {
    vec![
        record_at("h-old", HELD, utc(2025, 3, 10, 9, 0), Action::Block),
        record_at("u-old", UNHELD, utc(2025, 3, 10, 9, 5), Action::Review),
        record_at("u-oct", UNHELD, utc(2025, 10, 31, 23, 59), Action::Allow),
        record_at("u-nov", UNHELD, utc(2025, 11, 1, 0, 0), Action::Allow),
        record_at("h-jan", HELD, utc(2026, 1, 10, 8, 0), Action::Allow),
        record_at("u-aug", UNHELD, utc(2026, 8, 23, 11, 0), Action::Allow),
        record_at("u-aug2", UNHELD, utc(2026, 8, 23, 13, 0), Action::Allow),
        record_at("u-now", UNHELD, utc(2026, 11, 5, 10, 0), Action::Review),
    ]
}

/// Saves [`retention_batch`] and holds [`HELD`] for a case; returns the hold id.
async fn retention_setup(store: &dyn crate::Store) -> i64 {
    store.save(&retention_batch()).await.unwrap();
    let hold = store.place_hold(HELD, Some("case-42"), "police request", "legal-lee", t0()).await.unwrap();
    hold.hold_id
}

fn removed(table: &str, month: &str, rows: u64, held: u64) -> RemovedRows {
    RemovedRows { table: table.into(), month: month.into(), rows, held }
}

/// What a run at `t0()` removes from [`retention_batch`] with [`HELD`] on hold.
fn expected_removals() -> Vec<RemovedRows> {
    vec![
        removed(DECISIONS, "2025-03", 1, 1),
        removed(DECISIONS, "2025-10", 1, 0),
        removed(EVENTS, "2025-03", 1, 1),
        removed(EVENTS, "2025-10", 1, 0),
        removed(EVENTS, "2025-11", 1, 0),
        removed(EVENTS, "2026-01", 0, 1),
        removed(EVENTS, "2026-08", 1, 0),
    ]
}

async fn decided_events(store: &dyn crate::Store, ids: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for id in ids {
        if let Some(decision) = store.decision_for_event(id).await.unwrap() {
            found.push(decision.event_id);
        }
    }
    found
}

async fn stored_event_ids(store: &dyn crate::Store) -> Vec<String> {
    let events = store.events_after((utc(2000, 1, 1, 0, 0), ""), 100).await.unwrap();
    events.into_iter().map(|e| e.event_id).collect()
}

const ALL_IDS: [&str; 8] = ["h-old", "u-old", "u-oct", "u-nov", "h-jan", "u-aug", "u-aug2", "u-now"];

async fn a_held_decision_older_than_a_year_survives_retention_and_an_unheld_one_goes(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    let batch = retention_batch();

    let report = store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();

    assert!(!report.dry_run);
    assert_eq!(report.decisions_cutoff, utc(2025, 11, 1, 0, 0));
    assert_eq!(report.events_cutoff, utc(2026, 8, 23, 12, 0));
    assert_eq!(report.removed, expected_removals());
    assert_eq!(
        decided_events(store, &ALL_IDS).await,
        ["h-old", "u-nov", "h-jan", "u-aug", "u-aug2", "u-now"],
        "the held decision and the current month with the 12 before it stay"
    );
    assert_eq!(store.decision_for_event("h-old").await.unwrap(), Some(batch[0].decision.clone()));
    let held: Vec<String> =
        store.decisions_for_subscriber(HELD, 10).await.unwrap().into_iter().map(|d| d.event_id).collect();
    assert_eq!(held, ["h-jan", "h-old"]);
    let unheld: Vec<String> =
        store.decisions_for_subscriber(UNHELD, 10).await.unwrap().into_iter().map(|d| d.event_id).collect();
    assert_eq!(unheld, ["u-now", "u-aug2", "u-aug", "u-nov"]);
    assert_eq!(stored_event_ids(store).await, ["h-old", "h-jan", "u-aug2", "u-now"]);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.decisions, counts.events, counts.decisions_by_action.block), (6, 4, 1));

    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(
        audit.iter().map(|r| r.entry.action.as_str()).collect::<Vec<_>>(),
        ["hold.place", "retention.run"]
    );
    let run = &audit[1].entry;
    assert_eq!(run.actor, "retention");
    assert_eq!(run.after, Some(serde_json::to_value(&report).unwrap()));
    assert_eq!(verify_chain(&audit), Ok(2));
}

async fn a_dry_run_removes_nothing_and_reports_what_the_real_run_then_removes(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    let before = store.counts().await.unwrap();

    let dry = store.retention(RetentionPolicy::default(), t0(), true).await.unwrap();

    assert!(dry.dry_run);
    assert_eq!(dry.removed, expected_removals());
    assert_eq!(store.counts().await.unwrap(), before);
    assert_eq!(decided_events(store, &ALL_IDS).await.len(), 8);
    assert_eq!(stored_event_ids(store).await.len(), 8);
    assert_eq!(store.audit_records(0, 10).await.unwrap().len(), 1, "only the hold is audited");

    let real = store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();

    assert_eq!(real.removed, dry.removed);
    assert_eq!(real.partitions_dropped, dry.partitions_dropped);
    let after = store.counts().await.unwrap();
    assert_eq!(before.decisions - after.decisions, dry.rows_removed(DECISIONS));
    assert_eq!(before.events - after.events, dry.rows_removed(EVENTS));
}

async fn lifting_the_hold_lets_the_next_retention_run_remove_what_it_kept(s: Subject) {
    let store = s.store.as_ref();
    let hold_id = retention_setup(store).await;
    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();

    let lifted = store.lift_hold(hold_id, "legal-lee", "case closed", t0() + minutes(5)).await.unwrap();
    let report = store.retention(RetentionPolicy::default(), t0() + minutes(10), false).await.unwrap();

    assert_eq!(lifted.map(|h| h.hold_id), Some(hold_id));
    assert!(store.holds().await.unwrap().is_empty());
    assert_eq!(
        report.removed,
        [
            removed(DECISIONS, "2025-03", 1, 0),
            removed(EVENTS, "2025-03", 1, 0),
            removed(EVENTS, "2026-01", 1, 0)
        ]
    );
    assert_eq!(store.decision_for_event("h-old").await.unwrap(), None);
    assert_eq!(decided_events(store, &["h-old", "h-jan"]).await, ["h-jan"], "h-jan is within the year");
    assert_eq!(stored_event_ids(store).await, ["u-aug2", "u-now"]);
}

async fn running_retention_twice_removes_nothing_more(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    let counts = store.counts().await.unwrap();

    let again = store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();

    assert_eq!(again.rows_removed(DECISIONS) + again.rows_removed(EVENTS), 0);
    assert_eq!((again.rows_held(DECISIONS), again.rows_held(EVENTS)), (1, 2), "the held rows are still held");
    assert!(again.partitions_dropped.is_empty());
    assert_eq!(store.counts().await.unwrap(), counts);
    assert_eq!(decided_events(store, &ALL_IDS).await.len(), 6);
    assert_eq!(verify_chain(&store.audit_records(0, 10).await.unwrap()), Ok(3));
}

async fn placing_and_lifting_a_hold_are_audited_and_a_lifted_hold_cannot_be_lifted_again(s: Subject) {
    let store = s.store.as_ref();

    let first = store.place_hold(HELD, Some("case-42"), "police request", "legal-lee", t0()).await.unwrap();
    let second =
        store.place_hold(HELD, None, "regulator inquiry", "legal-kim", t0() + minutes(1)).await.unwrap();

    assert_eq!(first.subscriber, Pii::new(HELD));
    assert_eq!(first.case_id.as_deref(), Some("case-42"));
    assert_eq!(store.holds().await.unwrap(), [first.clone(), second.clone()]);

    let lifted = store.lift_hold(first.hold_id, "legal-lee", "case closed", t0() + minutes(2)).await.unwrap();
    let again = store.lift_hold(first.hold_id, "legal-lee", "case closed", t0() + minutes(3)).await.unwrap();

    assert_eq!(lifted, Some(first.clone()));
    assert_eq!(again, None);
    assert_eq!(
        store.holds().await.unwrap(),
        std::slice::from_ref(&second),
        "the other hold still holds the subscriber"
    );
    let audit = store.audit_records(0, 10).await.unwrap();
    let summary: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|r| (r.entry.actor.as_str(), r.entry.action.as_str(), r.entry.target.as_str()))
        .collect();
    let (t1, t2) = (format!("hold:{}", first.hold_id), format!("hold:{}", second.hold_id));
    assert_eq!(
        summary,
        [
            ("legal-lee", "hold.place", t1.as_str()),
            ("legal-kim", "hold.place", t2.as_str()),
            ("legal-lee", "hold.lift", t1.as_str())
        ]
    );
    let mut before = audit[2].entry.before.clone().expect("the lifted hold");
    assert_ne!(before["subscriber"], HELD, "the audit log holds the subscriber sealed");
    crate::pii::open_json(&crate::fixtures::vault(), "audit_log", &mut before).unwrap();
    assert_eq!(before, serde_json::to_value(&first).unwrap());
    assert_eq!(
        audit[2].entry.after,
        Some(serde_json::json!({"lifted_by": "legal-lee", "reason": "case closed"})),
        "the lift records who and why"
    );
    assert_eq!(verify_chain(&audit), Ok(3));

    // Still held by the second hold: nothing of the subscriber goes.
    store.save(&[record_at("h-old", HELD, utc(2025, 3, 10, 9, 0), Action::Block)]).await.unwrap();
    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    assert!(store.decision_for_event("h-old").await.unwrap().is_some());
}

async fn after_retention_an_expired_event_is_stored_again_and_a_held_one_stays_a_duplicate(s: Subject) {
    let store = s.store.as_ref();
    retention_setup(store).await;
    store.retention(RetentionPolicy::default(), t0(), false).await.unwrap();
    let batch = retention_batch();

    let held = store.save(&batch[0..1]).await.unwrap();
    let expired = store.save(&batch[1..2]).await.unwrap();

    assert_eq!(held, SaveSummary { inserted: 0, duplicates: 1 });
    assert_eq!(expired, SaveSummary { inserted: 1, duplicates: 0 });
    assert_eq!(store.decision_for_event("u-old").await.unwrap(), Some(batch[1].decision.clone()));
}

const KNOWN_SUBSCRIBER: &str = "01055501234";
const KNOWN_CARD: &str = "4111222233334444";

/// A card payment by [`KNOWN_SUBSCRIBER`] with [`KNOWN_CARD`], blocked.
fn card_payment(event_id: &str) -> Record {
    let event = fds_core::Event::from_value(
        serde_json::json!({
            "event_id": event_id, "occurred_at": t0().to_rfc3339(), "subscriber": KNOWN_SUBSCRIBER,
            "type": "payment", "amount": 49_000, "method": "card", "card_number": KNOWN_CARD,
            "merchant_id": "m-77", "merchant_category": "gift_card"
        }),
        None,
    )
    .expect("a valid card payment");
    Record {
        decision: crate::fixtures::decision(&event, Action::Block, 90.0),
        received_at: event.occurred_at,
        event,
    }
}

pub(super) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn no_plaintext_pii_reaches_the_raw_storage_while_lookups_by_subscriber_still_work(s: Subject) {
    let store = &s.store;
    let r = card_payment("e-1");
    store.save(std::slice::from_ref(&r)).await.unwrap();
    store.save(&[record("e-2", KNOWN_SUBSCRIBER, 1, Action::Review)]).await.unwrap();
    let label = Label {
        label_id: "l-1".into(),
        event_id: Some("e-1".into()),
        subscriber: Some(Pii::new(KNOWN_SUBSCRIBER)),
        outcome: Outcome::Fraud,
        note: None,
        labelled_by: "ana".into(),
        labelled_at: t0(),
    };
    store.save_label(&label).await.unwrap();
    store.place_hold(KNOWN_SUBSCRIBER, Some("case-7"), "police request", "legal-lee", t0()).await.unwrap();
    let entry = AuditEntry {
        actor: "ana".into(),
        action: "pii.reveal".into(),
        target: "event:e-1".into(),
        before: None,
        after: Some(serde_json::json!({"subscriber": KNOWN_SUBSCRIBER, "card_number": KNOWN_CARD})),
        at: t0(),
    };
    store.append_audit(entry).await.unwrap();

    let raw = s.raw_storage().await;
    assert!(contains(&raw, "m-77"), "the raw storage is readable where it is not PII");
    assert!(!contains(&raw, KNOWN_SUBSCRIBER), "the subscriber number is stored in plaintext");
    assert!(!contains(&raw, KNOWN_CARD), "the card number is stored in plaintext");

    let decisions = store.decisions_for_subscriber(KNOWN_SUBSCRIBER, 10).await.unwrap();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|d| d.subscriber.expose() == KNOWN_SUBSCRIBER));
    let since = r.decision.block.as_ref().expect("a block").since;
    let blocks = store.active_blocks_for_subscriber(KNOWN_SUBSCRIBER, since).await.unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].subscriber, Pii::new(KNOWN_SUBSCRIBER));
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(r.decision));
    let events = store.events_after((t0() - minutes(1), ""), 10).await.unwrap();
    assert_eq!(events[0], r.event);
    assert_eq!(store.labels(10).await.unwrap(), [label]);
    assert_eq!(store.holds().await.unwrap()[0].subscriber, Pii::new(KNOWN_SUBSCRIBER));
    let audit = store.audit_records(0, 10).await.unwrap();
    assert_eq!(verify_chain(&audit), Ok(2));
}

async fn a_tampered_sealed_value_fails_the_read_with_the_stores_error(s: Subject) {
    let r = card_payment("e-1");
    s.store.save(std::slice::from_ref(&r)).await.unwrap();
    let since = r.decision.block.as_ref().expect("a block").since;

    // One character of the ciphertext changed, as a raw UPDATE could.
    let touched = s
        .raw
        .execute(
            "UPDATE blocks SET subscriber_sealed = substr(subscriber_sealed, 1, length(subscriber_sealed) - 6) \
             || CASE WHEN substr(subscriber_sealed, length(subscriber_sealed) - 5, 1) = 'A' THEN 'B' ELSE 'A' END \
             || substr(subscriber_sealed, length(subscriber_sealed) - 4)",
        )
        .await
        .unwrap();
    assert_eq!(touched, 1);

    let err = s.store.active_blocks(since).await.expect_err("the tampered value is refused");
    let shown = err.to_string();
    assert!(
        matches!(&err, StoreError::Sealed { table: "blocks", key_id, .. } if key_id == "local"),
        "{shown}"
    );
    assert!(!shown.contains(KNOWN_SUBSCRIBER), "{shown}");
    assert!(s.store.active_blocks_for_subscriber(KNOWN_SUBSCRIBER, since).await.is_err());
    assert_eq!(s.store.decision_for_event("e-1").await.unwrap(), Some(r.decision), "the rest reads on");
}

fn ring(active: &str) -> std::sync::Arc<fds_vault::Vault> {
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let index = "c".repeat(64);
    let keys: Vec<(&str, &str)> = if active == "a" { vec![("a", &a)] } else { vec![("a", &a), ("b", &b)] };
    let ring = fds_vault::KeyRing::from_config(active, keys, &index).expect("valid test keys");
    std::sync::Arc::new(fds_vault::Vault::new(ring))
}

async fn after_key_rotation(url: &str) {
    let old = crate::open(url, ring("a")).await.unwrap();
    let first = card_payment("e-1");
    old.save(std::slice::from_ref(&first)).await.unwrap();
    let hold = old.place_hold(KNOWN_SUBSCRIBER, None, "regulator inquiry", "legal-kim", t0()).await.unwrap();

    let store = crate::open(url, ring("b")).await.unwrap();
    let second = record("e-2", KNOWN_SUBSCRIBER, 1, Action::Block);
    store.save(std::slice::from_ref(&second)).await.unwrap();

    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(first.decision.clone()));
    let decisions = store.decisions_for_subscriber(KNOWN_SUBSCRIBER, 10).await.unwrap();
    assert_eq!(decisions, [second.decision.clone(), first.decision.clone()]);
    let events = store.events_after((t0() - minutes(1), ""), 10).await.unwrap();
    assert_eq!(events, [first.event, second.event]);
    let at = second.decision.block.as_ref().expect("a block").since;
    assert_eq!(store.active_blocks_for_subscriber(KNOWN_SUBSCRIBER, at).await.unwrap().len(), 2);
    assert_eq!(store.holds().await.unwrap(), [hold]);

    let raw = crate::test_db::Raw::connect(url).await;
    let mut sealed = raw.texts("SELECT subscriber_sealed FROM blocks ORDER BY since").await;
    sealed.iter_mut().for_each(|text| text.truncate(5));
    assert_eq!(sealed, ["v1.a.", "v1.b."], "the old block keeps key a, the new one has key b");
}
