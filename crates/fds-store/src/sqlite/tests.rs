use super::*;
use crate::fixtures::{file_store, minutes, record, t0};
use fds_core::{Outcome, Pii};

#[tokio::test]
async fn a_saved_decision_reads_back_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    let r = record("e-1", "01012345678", 0, Action::Block);

    let summary = store.save(std::slice::from_ref(&r)).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 1, duplicates: 0 });
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(r.decision));
    assert_eq!(store.decision_for_event("e-2").await.unwrap(), None);
}

#[tokio::test]
async fn the_event_is_kept_in_the_data_mart_as_its_contract_json() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    let r = record("e-1", "01012345678", 0, Action::Allow);
    store.save(std::slice::from_ref(&r)).await.unwrap();

    let (subscriber, event_type, occurred_at, received_at, payload): (String, String, i64, i64, String) =
        sqlx::query_as(
            "SELECT subscriber, event_type, occurred_at, received_at, payload FROM events \
             WHERE event_id = 'e-1'",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();

    assert_eq!(subscriber, "01012345678");
    assert_eq!(event_type, "payment");
    assert_eq!(occurred_at, crate::time::to_micros(r.event.occurred_at));
    assert_eq!(received_at, crate::time::to_micros(r.received_at));
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload, r.event.to_json());
    assert_eq!(payload["legacy_batch"], "B-20261121", "unknown fields are kept too");
}

#[tokio::test]
async fn saving_the_same_batch_twice_stores_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn a_repeat_inside_one_batch_is_a_duplicate_and_the_first_copy_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    let first = record("e-1", "01012345678", 0, Action::Review);
    let repeat = record("e-1", "01012345678", 0, Action::Block);
    let other = record("e-2", "01012345678", 1, Action::Allow);

    let summary = store.save(&[first.clone(), other, repeat]).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 2, duplicates: 1 });
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(first.decision));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (2, 2, 0));
}

#[tokio::test]
async fn an_empty_batch_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    assert_eq!(store.save(&[]).await.unwrap(), SaveSummary::default());
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

#[tokio::test]
async fn a_batch_that_fails_part_way_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn a_batch_larger_than_one_statement_is_saved_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    // More rows than fit the bound-parameter limit of one events insert.
    let n = save::EVENTS_PER_STATEMENT + 10;
    let batch: Vec<Record> =
        (0..n).map(|i| record(&format!("e-{i}"), "01012345678", (i % 600) as i64, Action::Block)).collect();

    let summary = store.save(&batch).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: n as u64, duplicates: 0 });
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (n as u64, n as u64, n as u64));
    let last = format!("e-{}", n - 1);
    assert_eq!(store.decision_for_event(&last).await.unwrap(), Some(batch[n - 1].decision.clone()));
}

#[tokio::test]
async fn decisions_for_a_subscriber_come_newest_first_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn active_blocks_respect_since_and_until() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn active_blocks_for_a_subscriber_leave_out_other_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn a_released_block_is_no_longer_active() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    let blocked = record("e-1", "01012345678", 0, Action::Block);
    store.save(std::slice::from_ref(&blocked)).await.unwrap();
    let at = t0() + minutes(5);
    assert_eq!(store.active_blocks(at).await.unwrap().len(), 1);

    // The release flow is a later issue; its columns exist already.
    sqlx::query("UPDATE blocks SET released_at = ?, released_by = 'ana', release_reason = 'verified'")
        .bind(crate::time::to_micros(at))
        .execute(&store.pool)
        .await
        .unwrap();

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

#[tokio::test]
async fn labels_round_trip_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn saving_a_label_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
    let original = label("l-1", 10, "confirmed by the victim");

    store.save_label(&original).await.unwrap();
    store.save_label(&label("l-1", 30, "a second opinion")).await.unwrap();

    assert_eq!(store.labels(10).await.unwrap(), [original]);
    assert_eq!(store.counts().await.unwrap().labels, 1);
}

#[tokio::test]
async fn counts_split_decisions_by_action() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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

#[tokio::test]
async fn a_file_store_creates_its_directory_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;

    assert!(dir.path().join("data/fds.db").is_file());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&store.pool).await.unwrap();
    assert_eq!(mode, "wal");
    let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(&store.pool).await.unwrap();
    assert_eq!(sync, 1, "synchronous=NORMAL");
}

#[tokio::test]
async fn a_reopened_file_store_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = file_store(&dir).await;
    let r = record("e-1", "01012345678", 0, Action::Block);
    store.save(std::slice::from_ref(&r)).await.unwrap();
    store.save_label(&label("l-1", 10, "confirmed")).await.unwrap();
    store.close().await;

    let reopened = SqliteStore::open(&url).await.unwrap();

    assert_eq!(reopened.decision_for_event("e-1").await.unwrap(), Some(r.decision.clone()));
    let counts = reopened.counts().await.unwrap();
    assert_eq!((counts.events, counts.blocks, counts.labels), (1, 1, 1));
    assert_eq!(reopened.save(&[r]).await.unwrap().duplicates, 1);
}

#[tokio::test]
async fn an_in_memory_store_keeps_data_across_calls() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    let r = record("e-1", "01012345678", 0, Action::Review);
    store.save(std::slice::from_ref(&r)).await.unwrap();
    store.ping().await.unwrap();

    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(r.decision));
}

#[test]
fn sqlite_urls_name_a_file_or_memory() {
    assert_eq!(Target::of("sqlite::memory:").unwrap(), Target::Memory);
    assert_eq!(Target::of("sqlite://:memory:").unwrap(), Target::Memory);
    assert_eq!(Target::of("sqlite://?mode=memory").unwrap(), Target::Memory);
    assert_eq!(Target::of("sqlite://data/fds.db").unwrap(), Target::File);
    assert_eq!(Target::of("sqlite:///var/lib/fds/fds.db").unwrap(), Target::File);
    assert!(matches!(Target::of("sqlite://"), Err(StoreError::InvalidUrl(_))));
    assert!(matches!(Target::of("postgres://db/fds"), Err(StoreError::InvalidUrl(_))));
}

#[tokio::test]
async fn events_page_out_in_event_time_order_from_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = file_store(&dir).await;
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
