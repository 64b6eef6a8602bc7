//! Postgres-only behaviour: the schema guard, migrations, partitions and their retention. The store interface
//! itself is covered by the shared suite (`suite.rs`) against both backends.

use super::*;
use crate::fixtures::{record, record_at};
use crate::retention::RetentionPolicy;
use crate::test_db::PgDatabase;
use chrono::TimeZone;
use fds_core::Action;

#[tokio::test]
async fn opening_migrates_an_empty_database_and_reopening_keeps_its_data() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let r = record("e-1", "01012345678", 0, Action::Block);
    store.save(std::slice::from_ref(&r)).await.unwrap();
    store.close().await;

    let reopened = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();

    assert_eq!(reopened.decision_for_event("e-1").await.unwrap(), Some(r.decision.clone()));
    assert_eq!(reopened.save(&[r]).await.unwrap().duplicates, 1);
    let applied = applied_migrations(&mut reopened.pool.acquire().await.unwrap()).await.unwrap();
    assert_eq!(applied, MIGRATOR.iter().map(|m| m.version).collect::<Vec<_>>());
    reopened.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused_and_left_untouched() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let newest_known = MIGRATOR.iter().map(|m| m.version).max().unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (20991231000000, 'from a newer build', TRUE, '\\x00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await;

    let err = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap_err();

    assert!(
        matches!(err, StoreError::SchemaTooNew { unknown: 20991231000000, newest_known: n } if n == newest_known),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade fds"), "{err}");
    let err = crate::open(db.url(), crate::fixtures::vault()).await.err().expect("open() refuses it too");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
    db.drop_database().await;
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_a_database_error() {
    // Port 1 on loopback: nothing listens there.
    let err =
        PgStore::open("postgres://fds:hunter2@127.0.0.1:1/fds", crate::fixtures::vault()).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"));
}

/// The month partition (`<table>_YYYY_MM`) holding the row of `event_id` in `table`.
async fn partition_of(store: &PgStore, table: &str, event_id: &str) -> String {
    sqlx::query_scalar(&format!("SELECT tableoid::regclass::text FROM {table} WHERE event_id = $1"))
        .bind(event_id)
        .fetch_one(&store.pool)
        .await
        .unwrap()
}

/// The month partitions of `table`, oldest first.
async fn partitions_of(store: &PgStore, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = $1::regclass ORDER BY 1",
    )
    .bind(table)
    .fetch_all(&store.pool)
    .await
    .unwrap()
}

fn utc(year: i32, month: u32, day: u32, hour: u32) -> Timestamp {
    chrono::Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap()
}

#[tokio::test]
async fn events_of_several_months_land_in_their_month_partitions_created_on_demand() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let batch = vec![
        record_at("e-2019", "01012345678", utc(2019, 3, 15, 10), Action::Block),
        record_at("e-sep", "01012345678", utc(2026, 9, 30, 23), Action::Allow),
        // The last microsecond of October and the first instant of November, UTC.
        record_at(
            "e-oct",
            "01012345678",
            utc(2026, 11, 1, 0) - chrono::Duration::microseconds(1),
            Action::Review,
        ),
        record_at("e-nov", "01099998888", utc(2026, 11, 1, 0), Action::Allow),
    ];

    assert_eq!(store.save(&batch).await.unwrap(), SaveSummary { inserted: 4, duplicates: 0 });

    for (event_id, month) in
        [("e-2019", "2019_03"), ("e-sep", "2026_09"), ("e-oct", "2026_10"), ("e-nov", "2026_11")]
    {
        assert_eq!(partition_of(&store, "events", event_id).await, format!("events_{month}"));
        assert_eq!(partition_of(&store, "decisions", event_id).await, format!("decisions_{month}"));
    }
    for table in ["events", "decisions"] {
        let partitions = partitions_of(&store, table).await;
        for month in ["2019_03", "2026_09", "2026_10", "2026_11", "2026_12", "2027_01", "2027_02"] {
            assert!(partitions.contains(&format!("{table}_{month}")), "{table}_{month} in {partitions:?}");
        }
        // Only the months a batch needs and those after its newest: no gap filling.
        assert!(!partitions.contains(&format!("{table}_2019_04")), "{partitions:?}");
    }
    let read_back = store.events_after((utc(2000, 1, 1, 0), ""), 10).await.unwrap();
    let ids: Vec<&str> = read_back.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["e-2019", "e-sep", "e-oct", "e-nov"]);
    assert_eq!(store.decision_for_event("e-2019").await.unwrap(), Some(batch[0].decision.clone()));
    let ids: Vec<String> = store
        .decisions_for_subscriber("01012345678", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.event_id)
        .collect();
    assert_eq!(ids, ["e-oct", "e-sep", "e-2019"]);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn an_event_id_seen_before_is_a_duplicate_even_with_another_occurred_at() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let original = record_at("e-1", "01012345678", utc(2026, 11, 21, 12), Action::Block);
    // The same event id replayed with a corrected time, in another month: the
    // partitioned tables alone (unique on event id and occurred_at) would take it.
    let moved = record_at("e-1", "01012345678", utc(2026, 8, 2, 9), Action::Allow);
    store.save(std::slice::from_ref(&original)).await.unwrap();

    let summary = store.save(std::slice::from_ref(&moved)).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 0, duplicates: 1 });
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.events, counts.decisions, counts.blocks), (1, 1, 1));
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), Some(original.decision));
    store.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_saving_into_the_same_new_month_at_once_all_succeed() {
    let db = PgDatabase::create().await;
    // Separate stores: each has its own memory of ensured partitions, like replicas.
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap());
    }
    let savers: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(s, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                let batch: Vec<Record> = (0..50)
                    .map(|i| {
                        record_at(
                            &format!("e-{s}-{i}"),
                            "01012345678",
                            utc(2021, 6, 1 + i % 28, 8),
                            Action::Allow,
                        )
                    })
                    .collect();
                store.save(&batch).await
            })
        })
        .collect();
    for saver in savers {
        assert_eq!(saver.await.unwrap().unwrap().inserted, 50);
    }

    assert_eq!(stores[0].counts().await.unwrap().events, 200);
    assert!(partitions_of(&stores[0], "events").await.contains(&"events_2021_06".to_string()));
    for store in &stores {
        store.close().await;
    }
    db.drop_database().await;
}

#[tokio::test]
async fn a_partition_dropped_behind_the_stores_back_is_created_again_on_the_next_save() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let first = record_at("e-1", "01012345678", utc(2020, 2, 29, 12), Action::Allow);
    store.save(std::slice::from_ref(&first)).await.unwrap();
    // What a retention run does to a month: its partitions and guard rows go.
    for statement in [
        "DROP TABLE events_2020_02",
        "DROP TABLE decisions_2020_02",
        "DELETE FROM event_ids WHERE occurred_at < '2020-03-01T00:00:00Z'",
    ] {
        sqlx::query(statement).execute(&store.pool).await.unwrap();
    }

    let again = record_at("e-2", "01012345678", utc(2020, 2, 1, 0), Action::Review);
    let summary = store.save(std::slice::from_ref(&again)).await.unwrap();

    assert_eq!(summary, SaveSummary { inserted: 1, duplicates: 0 });
    assert_eq!(partition_of(&store, "events", "e-2").await, "events_2020_02");
    assert_eq!(store.decision_for_event("e-2").await.unwrap(), Some(again.decision));
    assert_eq!(store.decision_for_event("e-1").await.unwrap(), None);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn opening_creates_the_partitions_of_the_current_month_and_the_next_ones() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    // By the database clock, read in SQL: the test itself reads no clock.
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT 'events_' || to_char(m, 'YYYY_MM') FROM generate_series( \
             date_trunc('month', now() AT TIME ZONE 'UTC'), \
             date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => $1), \
             interval '1 month') AS m ORDER BY 1",
    )
    .bind(partitions::MONTHS_AHEAD as i32)
    .fetch_all(&store.pool)
    .await
    .unwrap();

    assert_eq!(expected.len(), partitions::MONTHS_AHEAD as usize + 1);
    assert_eq!(partitions_of(&store, "events").await, expected);
    let created_again: i32 = sqlx::query_scalar("SELECT fds_create_partitions_ahead($1)")
        .bind(partitions::MONTHS_AHEAD as i32)
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(created_again, 0, "existing partitions are left alone");
    store.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_writer_saves_everything_it_accepted_into_postgres_by_shutdown() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let config = crate::WriterConfig {
        capacity: 64,
        max_batch: 100,
        max_delay: Duration::from_millis(20),
        concurrency: 2,
        // The stream worker's mode: saves encode at once and commit in order.
        ordered: true,
    };
    let writer = crate::BatchWriter::spawn(Arc::new(store.clone()), config);

    let senders: Vec<_> = (0..4)
        .map(|s| {
            let writer = writer.clone();
            tokio::spawn(async move {
                for i in 0..250 {
                    // Events spread over four months, and every tenth one sent twice.
                    let at = utc(2026, 8 + s, 1 + (i % 28) as u32, 12);
                    let r = record_at(&format!("e-{s}-{i}"), "01012345678", at, Action::Allow);
                    if i % 10 == 0 {
                        writer.send(r.clone()).await.unwrap();
                    }
                    writer.send(r).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let stats = writer.shutdown().await.unwrap();

    assert_eq!((stats.saved, stats.duplicates, stats.queued), (1000, 100, 0));
    assert_eq!(store.counts().await.unwrap().events, 1000);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_save_lets_go_when_the_save_before_it_waits_on_its_locks() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let shared = record("e-shared", "01012345678", 0, Action::Review);
    let later = vec![shared.clone(), record("e-later", "01099990000", 1, Action::Allow)];
    let (before_saved, gate) = tokio::sync::oneshot::channel::<()>();

    // The later save inserts the shared id first and then waits, transaction open,
    // for the save before it to commit...
    let later_save = {
        let store = store.clone();
        tokio::spawn(async move {
            let gate: crate::store::Gate = Box::pin(async move {
                let _ = gate.await;
            });
            store.save_after(&later, gate).await
        })
    };
    let mut waiting = 0_i64;
    for _ in 0..200 {
        waiting = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state = 'idle in transaction'",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(waiting, 1, "the later save holds its transaction open at the gate");

    // ...which needs that id's key: without letting go, neither would ever finish.
    let before = tokio::time::timeout(Duration::from_secs(30), store.save(&[shared]))
        .await
        .expect("the save before finishes once the later one lets go")
        .unwrap();
    let _ = before_saved.send(());
    let later = tokio::time::timeout(Duration::from_secs(30), later_save)
        .await
        .expect("the later save finishes after the one before")
        .unwrap()
        .unwrap();

    assert_eq!((before.inserted, before.duplicates), (1, 0));
    assert_eq!((later.inserted, later.duplicates), (1, 1), "written again with the shared id stored");
    assert_eq!(store.counts().await.unwrap().events, 2);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn retention_drops_expired_month_partitions_and_keeps_held_rows_in_the_hold_tables() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let march = chrono::Utc.with_ymd_and_hms(2025, 3, 10, 9, 0, 0).unwrap();
    let now = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    store
        .save(&[
            record_at("held", "01011112222", march, Action::Block),
            record_at("gone", "01033334444", march, Action::Allow),
        ])
        .await
        .unwrap();
    store.place_hold("01011112222", None, "court order", "legal-lee", now).await.unwrap();

    let dry = store.retention(RetentionPolicy::default(), now, true).await.unwrap();
    assert!(partitions_of(&store, "decisions").await.contains(&"decisions_2025_03".to_string()));
    let report = store.retention(RetentionPolicy::default(), now, false).await.unwrap();

    assert_eq!(dry.partitions_dropped, report.partitions_dropped);
    assert!(report.partitions_dropped.contains(&"decisions_2025_03".to_string()));
    assert!(report.partitions_dropped.contains(&"events_2025_03".to_string()));
    assert!(!partitions_of(&store, "decisions").await.contains(&"decisions_2025_03".to_string()));
    assert!(!partitions_of(&store, "events").await.contains(&"events_2025_03".to_string()));
    let held: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM held_decisions").fetch_all(&store.pool).await.unwrap();
    assert_eq!(held, ["held"]);
    let held: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM held_events").fetch_all(&store.pool).await.unwrap();
    assert_eq!(held, ["held"]);
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM event_ids ORDER BY event_id")
        .fetch_all(&store.pool)
        .await
        .unwrap();
    assert_eq!(ids, ["held"], "the expired event's idempotency row goes with its month");
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn a_database_saved_before_the_daily_rollups_existed_gets_them_backfilled() {
    let db = PgDatabase::create().await;
    let store = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();
    let start = chrono::Utc.with_ymd_and_hms(2026, 10, 30, 17, 0, 0).unwrap();
    let records: Vec<_> = (0..120)
        .map(|i| {
            let action = [Action::Allow, Action::Review, Action::Block][i % 3];
            let at = start + chrono::Duration::minutes(53 * i as i64);
            record_at(&format!("e-{i}"), &format!("0101234{:04}", i % 7), at, action)
        })
        .collect();
    store.save(&records).await.unwrap();
    // Mid-day bounds: partial first and last days around whole ones.
    let (from, to) = (start + chrono::Duration::minutes(95), start + chrono::Duration::hours(90));
    let before = store.dashboard(from, to, crate::Bucket::Day).await.unwrap();
    // The database as it was before migration 0006.
    for sql in [
        "DROP TABLE decision_rollup_daily",
        "DROP TABLE decision_family_rollup_daily",
        "DELETE FROM _sqlx_migrations WHERE version = 6",
    ] {
        sqlx::query(sql).execute(&store.pool).await.unwrap();
    }
    store.close().await;

    let reopened = PgStore::open(db.url(), crate::fixtures::vault()).await.unwrap();

    let after = reopened.dashboard(from, to, crate::Bucket::Day).await.unwrap();
    assert_eq!(after, before);
    assert!(after.series.len() >= 4 && after.total.total() > 0 && after.total.total() < 120);
    let days: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT day) FROM decision_rollup_daily")
        .fetch_one(&reopened.pool)
        .await
        .unwrap();
    assert_eq!(days, 6, "2026-10-30 to 2026-11-04");
    reopened.close().await;
    db.drop_database().await;
}
