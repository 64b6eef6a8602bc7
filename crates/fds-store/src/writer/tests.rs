use super::*;
use crate::fixtures::{file_store, record};
use crate::SqliteStore;
use fds_core::Action;
use sqlx::{Connection, SqliteConnection};
use std::future::Future;
use std::task::Poll;

/// A batch that never fills up and never times out within a test: only `flush` and
/// `shutdown` make it save.
fn held_config(capacity: usize) -> WriterConfig {
    WriterConfig {
        capacity,
        max_batch: 100_000,
        max_delay: Duration::from_secs(3600),
        concurrency: 2,
        ordered: false,
    }
}

async fn writer_on_file(
    dir: &tempfile::TempDir,
    config: WriterConfig,
) -> (BatchWriter, Arc<SqliteStore>, String) {
    let (store, url) = file_store(dir).await;
    let store = Arc::new(store);
    let writer = BatchWriter::spawn(Arc::clone(&store) as Arc<dyn Store>, config);
    (writer, store, url)
}

/// Whether `future` is still waiting after one poll.
async fn still_waiting<F: Future>(future: std::pin::Pin<&mut F>) -> bool {
    let mut future = future;
    std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_pending())).await
}

/// Polls `done` until it holds; fails the test instead of hanging if it never does.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(tokio::time::Instant::now() < give_up, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A writer (batches of up to 10, saved at once, two in flight) on a file store that
/// already holds a block, which [`clashing`] records clash with.
async fn writer_with_a_stored_block(
    dir: &tempfile::TempDir,
    ordered: bool,
) -> (BatchWriter, Arc<SqliteStore>, String, Record) {
    let config =
        WriterConfig { capacity: 10, max_batch: 10, max_delay: Duration::ZERO, concurrency: 2, ordered };
    let (writer, store, url) = writer_on_file(dir, config).await;
    let existing = record("e-1", "01012345678", 0, Action::Block);
    writer.send(existing.clone()).await.unwrap();
    writer.flush().await.unwrap();
    (writer, store, url, existing)
}

/// A block record whose block id clashes with `existing`'s stored block: every save of
/// it fails until `unclash` removes the stored block.
fn clashing(existing: &Record, event_id: &str, at: i64) -> Record {
    let mut r = record(event_id, "01012345678", at, Action::Block);
    if let (Some(block), Some(stored)) = (r.decision.block.as_mut(), existing.decision.block.as_ref()) {
        block.block_id = stored.block_id.clone();
    }
    r
}

/// Removes the stored block `clashing` records clash with, as an operator would.
async fn unclash(url: &str, existing: &Record) {
    let block_id = existing.decision.block.clone().unwrap().block_id;
    let mut operator = SqliteConnection::connect(url).await.unwrap();
    sqlx::query("DELETE FROM blocks WHERE block_id = ?")
        .bind(&block_id)
        .execute(&mut operator)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_many_concurrent_senders_are_all_saved() {
    let dir = tempfile::tempdir().unwrap();
    let config = WriterConfig {
        capacity: 64,
        max_batch: 100,
        max_delay: Duration::from_millis(20),
        concurrency: 2,
        ordered: false,
    };
    let (writer, store, _) = writer_on_file(&dir, config).await;

    let senders: Vec<_> = (0..8)
        .map(|s| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let subscriber = format!("0101234000{s}");
                for i in 0..200 {
                    let r = record(&format!("e-{s}-{i}"), &subscriber, i, Action::Allow);
                    writer.send(r).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    writer.flush().await.unwrap();

    let stats = writer.stats();
    assert_eq!((stats.saved, stats.duplicates, stats.failures, stats.queued), (1600, 0, 0, 0));
    assert!(stats.batches >= 16, "at most 100 records per batch, got {} batches", stats.batches);
    assert_eq!(store.counts().await.unwrap().events, 1600);
    for s in 0..8 {
        let subscriber = format!("0101234000{s}");
        assert_eq!(store.decisions_for_subscriber(&subscriber, 1000).await.unwrap().len(), 200);
    }
}

#[tokio::test]
async fn flush_saves_a_partial_batch_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, _) = writer_on_file(&dir, held_config(100)).await;
    for i in 0..10 {
        writer.send(record(&format!("e-{i}"), "01012345678", i, Action::Review)).await.unwrap();
    }

    writer.flush().await.unwrap();

    assert_eq!(store.counts().await.unwrap().decisions, 10);
    assert_eq!(writer.stats(), WriterStats { saved: 10, batches: 1, ..WriterStats::default() });
}

#[tokio::test]
async fn a_record_sent_twice_is_saved_once_and_counted_as_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, _) = writer_on_file(&dir, held_config(100)).await;
    let r = record("e-1", "01012345678", 0, Action::Block);

    writer.send(r.clone()).await.unwrap();
    writer.flush().await.unwrap();
    writer.send(r.clone()).await.unwrap();
    writer.send(r).await.unwrap();
    writer.flush().await.unwrap();

    let stats = writer.stats();
    assert_eq!((stats.saved, stats.duplicates, stats.queued), (1, 2, 0));
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.blocks), (1, 1));
}

#[tokio::test]
async fn shutdown_saves_everything_accepted_and_then_refuses_more() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, _) = writer_on_file(&dir, held_config(100)).await;
    let other_handle = writer.clone();
    for i in 0..50 {
        writer.send(record(&format!("e-{i}"), "01012345678", i, Action::Allow)).await.unwrap();
    }

    let stats = writer.shutdown().await.unwrap();

    assert_eq!((stats.saved, stats.queued, stats.failures), (50, 0, 0));
    assert_eq!(store.counts().await.unwrap().events, 50);
    let late = other_handle.send(record("e-late", "01012345678", 0, Action::Allow)).await;
    assert!(matches!(late, Err(StoreError::Closed)), "{late:?}");
    assert!(matches!(other_handle.flush().await, Err(StoreError::Closed)));
}

#[tokio::test]
async fn dropping_every_handle_still_saves_what_was_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = file_store(&dir).await;
    let writer = BatchWriter::spawn(Arc::new(store), held_config(100));
    writer.send(record("e-1", "01012345678", 0, Action::Allow)).await.unwrap();
    let observer = Arc::clone(&writer.counters);

    drop(writer);

    wait_until("the writer saved its last record", || observer.saved.load(Ordering::Relaxed) == 1).await;
    let reopened = SqliteStore::open(&url, crate::fixtures::vault()).await.unwrap();
    assert!(reopened.decision_for_event("e-1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_full_queue_makes_senders_wait_until_the_store_catches_up() {
    for concurrency in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let config = WriterConfig {
            capacity: 1,
            max_batch: 1,
            max_delay: Duration::from_secs(3600),
            concurrency,
            ordered: false,
        };
        let (writer, store, url) = writer_on_file(&dir, config).await;
        // Another connection holds the database's write lock: no save can finish,
        // so once `concurrency` saves are stuck the writer stops taking records.
        let mut lock = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();

        // Each stuck save holds one record (batches of one), the next fills the
        // queue, and the one after has to wait.
        let held = concurrency as u64 + 1;
        for i in 0..held {
            writer.send(record(&format!("e-{i}"), "01012345678", i as i64, Action::Allow)).await.unwrap();
            if i < concurrency as u64 {
                // Taken off the queue into a save before the next send.
                wait_until("the writer took the record", || {
                    writer.stats().queued == i + 1 && writer.tx.capacity() == 1
                })
                .await;
            }
        }
        let mut last = std::pin::pin!(writer.send(record("e-last", "01012345678", 9, Action::Allow)));
        assert!(
            still_waiting(last.as_mut()).await,
            "a send into a full queue must wait ({concurrency} saves)"
        );
        assert_eq!((writer.stats().queued, writer.stats().saved), (held, 0));

        sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
        last.await.unwrap();
        writer.flush().await.unwrap();

        assert_eq!(store.counts().await.unwrap().events, held + 1);
        assert_eq!((writer.stats().saved, writer.stats().queued), (held + 1, 0));
    }
}

#[tokio::test]
async fn a_failed_save_is_retried_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, url, existing) = writer_with_a_stored_block(&dir, false).await;
    // A new event whose block id clashes with the stored block: every save of it
    // fails until an operator removes the clash.
    let clashing = clashing(&existing, "e-2", 1);

    writer.send(clashing.clone()).await.unwrap();
    wait_until("a save has failed", || writer.stats().failures >= 1).await;
    assert_eq!(store.decision_for_event("e-2").await.unwrap(), None);
    assert_eq!(writer.stats().queued, 1, "the failed record is kept");

    unclash(&url, &existing).await;
    writer.flush().await.unwrap();

    assert_eq!(store.decision_for_event("e-2").await.unwrap(), Some(clashing.decision));
    let stats = writer.stats();
    assert_eq!((stats.saved, stats.queued), (2, 0));
    assert!(stats.failures >= 1);
}

#[tokio::test]
async fn a_zero_capacity_batch_size_or_concurrency_is_raised_to_one() {
    let store = SqliteStore::open("sqlite::memory:", crate::fixtures::vault()).await.unwrap();
    let config =
        WriterConfig { capacity: 0, max_batch: 0, max_delay: Duration::ZERO, concurrency: 0, ordered: false };
    let writer = BatchWriter::spawn(Arc::new(store), config);

    writer.send(record("e-1", "01012345678", 0, Action::Allow)).await.unwrap();
    let stats = writer.shutdown().await.unwrap();

    assert_eq!((stats.saved, stats.batches), (1, 1));
}

#[tokio::test]
async fn a_mark_waits_for_the_records_before_it_and_not_for_those_after() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, url, existing) = writer_with_a_stored_block(&dir, false).await;

    let first = record("e-first", "01099990000", 1, Action::Allow);
    writer.send(first.clone()).await.unwrap();
    let before = writer.mark().await.unwrap();
    // A record whose every save fails (its block id clashes with the stored block)
    // until an operator removes the clash.
    let stuck = clashing(&existing, "e-stuck", 2);
    writer.send(stuck.clone()).await.unwrap();
    let after = writer.mark().await.unwrap();

    before.await.unwrap();
    assert_eq!(store.decision_for_event("e-first").await.unwrap(), Some(first.decision));
    wait_until("a save of the stuck record has failed", || writer.stats().failures >= 1).await;
    let mut after = std::pin::pin!(after);
    assert!(still_waiting(after.as_mut()).await, "the later mark waits for the stuck record");
    // Records keep flowing while it is stuck, and a mark behind them waits too.
    writer.send(record("e-later", "01099990001", 3, Action::Allow)).await.unwrap();
    wait_until("the later record saved", || writer.stats().saved == 3).await;
    assert!(still_waiting(after.as_mut()).await);

    unclash(&url, &existing).await;
    after.await.unwrap();
    assert_eq!(store.decision_for_event("e-stuck").await.unwrap(), Some(stuck.decision));
}

#[tokio::test]
async fn ordered_saves_commit_in_the_order_records_were_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, store, url, existing) = writer_with_a_stored_block(&dir, true).await;

    // A save stuck retrying (its block id clashes with the stored block), then a
    // later record: unordered, the later one would be saved meanwhile (see above).
    let stuck = clashing(&existing, "e-stuck", 1);
    writer.send(stuck.clone()).await.unwrap();
    let _stuck = writer.mark().await.unwrap();
    writer.send(record("e-later", "01099990001", 2, Action::Allow)).await.unwrap();
    let later = writer.mark().await.unwrap();
    wait_until("a save of the stuck record has failed twice", || writer.stats().failures >= 2).await;
    let mut later = std::pin::pin!(later);
    assert!(still_waiting(later.as_mut()).await);
    assert_eq!(store.decision_for_event("e-later").await.unwrap(), None, "nothing overtakes the stuck save");

    unclash(&url, &existing).await;
    later.await.unwrap();
    assert!(store.decision_for_event("e-stuck").await.unwrap().is_some());
    assert!(store.decision_for_event("e-later").await.unwrap().is_some());
}
