use super::*;
use crate::fixtures::{file_store, minutes, record, t0};
use fds_core::{Action, Outcome};

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

    let reopened = SqliteStore::open(&url, crate::fixtures::vault()).await.unwrap();

    assert_eq!(reopened.decision_for_event("e-1").await.unwrap(), Some(r.decision.clone()));
    let counts = reopened.counts().await.unwrap();
    assert_eq!((counts.events, counts.blocks, counts.labels), (1, 1, 1));
    assert_eq!(reopened.save(&[r]).await.unwrap().duplicates, 1);
}

#[tokio::test]
async fn an_in_memory_store_keeps_data_across_calls() {
    let store = SqliteStore::open("sqlite::memory:", crate::fixtures::vault()).await.unwrap();
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
async fn a_database_migrated_by_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = file_store(&dir).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231000000, 'from a newer build', TRUE, x'00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await;

    let err = SqliteStore::open(&url, crate::fixtures::vault()).await.unwrap_err();

    let newest = super::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    assert!(
        matches!(err, StoreError::SchemaTooNew { unknown: 20991231000000, newest_known } if newest_known == newest),
        "{err}"
    );
}
