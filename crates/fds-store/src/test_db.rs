//! Databases for tests: a fresh SQLite file or a fresh Postgres database per test,
//! and [`run`], which runs one behavioural test body against either.
//!
//! The Postgres server comes from `FDS_TEST_POSTGRES_URL` (default: the local
//! development server). A missing server fails the test with a message saying so;
//! it is never skipped.

use crate::{PgStore, SqliteStore, Store};
use fds_core::Timestamp;
use sqlx::{Connection, Executor, PgConnection, PgPool, SqlitePool};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where the Postgres backend tests find their server.
pub(crate) const POSTGRES_URL_VAR: &str = "FDS_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own for one test, created on the test server.
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates `fds_test_<random>` on the test server.
    pub(crate) async fn create() -> PgDatabase {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let mut admin = admin_connection(&admin_url).await;
        let name = format!("fds_test_{}", unique_suffix());
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create the test database");
        admin.close().await.expect("close the admin connection");
        let url = with_database(&admin_url, &name);
        PgDatabase { admin_url, name, url }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, closing any connection still open on it.
    pub(crate) async fn drop_database(self) {
        let mut admin = admin_connection(&self.admin_url).await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .expect("drop the test database");
        admin.close().await.expect("close the admin connection");
    }
}

async fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::connect(admin_url).await.unwrap_or_else(|error| {
        panic!(
            "the Postgres backend tests need a Postgres server and cannot reach {admin_url} \
             ({error}); start it (e.g. `pg_ctlcluster <version> main start`) or point \
             {POSTGRES_URL_VAR} at one"
        )
    })
}

/// `admin_url` with its database replaced by `database`.
fn with_database(admin_url: &str, database: &str) -> String {
    let (head, query) = match admin_url.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (scheme, rest) = head.split_once("://").expect("the test postgres url has a scheme");
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

/// A name part no other test of any concurrent run picks: the process id, a
/// per-process counter and per-process randomness.
fn unique_suffix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("{}_{}_{:08x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), random as u32)
}

/// The backends the behavioural suite runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// What a test body gets: the store under test, and raw access to its database
/// for what the store interface does not offer (yet).
#[derive(Clone)]
pub(crate) struct Subject {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) raw: Raw,
    /// The store's URL, to open it again (with another vault).
    pub(crate) url: String,
}

impl Subject {
    /// Everything the database holds on disk, as bytes: SQLite's file and its WAL
    /// after a checkpoint; for Postgres, a `pg_dump --data-only` of the database.
    pub(crate) async fn raw_storage(&self) -> Vec<u8> {
        match &self.raw {
            Raw::Sqlite(pool) => {
                sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(pool).await.expect("checkpoint");
                let path = self.url.strip_prefix("sqlite://").expect("a sqlite file url");
                let mut bytes = std::fs::read(path).expect("the database file");
                if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
                    bytes.extend(wal);
                }
                bytes
            }
            Raw::Postgres(_) => {
                let out = std::process::Command::new("pg_dump")
                    .args(["--data-only", "--dbname", &self.url])
                    .output()
                    .expect("pg_dump runs");
                assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
                out.stdout
            }
        }
    }
}

/// The database under the store, for checks and set-ups in plain SQL.
#[derive(Clone)]
pub(crate) enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An event row as the data mart keeps it.
#[derive(Debug, PartialEq)]
pub(crate) struct StoredEvent {
    pub(crate) subscriber: String,
    pub(crate) event_type: String,
    pub(crate) occurred_at: Timestamp,
    pub(crate) received_at: Timestamp,
    pub(crate) payload: serde_json::Value,
}

impl Raw {
    /// A connection pool of its own to the database at `url`.
    pub(crate) async fn connect(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(SqlitePool::connect(url).await.expect("the sqlite database opens"))
        } else {
            Raw::Postgres(PgPool::connect(url).await.expect("the postgres database opens"))
        }
    }

    /// The `events` row of `event_id`.
    pub(crate) async fn stored_event(&self, event_id: &str) -> StoredEvent {
        let (subscriber, event_type, occurred_at, received_at, payload) = match self {
            Raw::Sqlite(pool) => {
                let (s, t, o, r, p): (String, String, i64, i64, String) = sqlx::query_as(
                    "SELECT subscriber, event_type, occurred_at, received_at, payload FROM events \
                     WHERE event_id = ?",
                )
                .bind(event_id)
                .fetch_one(pool)
                .await
                .expect("the event row");
                let micros = |m| crate::time::from_micros(m, "events").expect("a stored timestamp");
                (s, t, micros(o), micros(r), p)
            }
            Raw::Postgres(pool) => sqlx::query_as(
                "SELECT subscriber, event_type, occurred_at, received_at, payload::text FROM events \
                 WHERE event_id = $1",
            )
            .bind(event_id)
            .fetch_one(pool)
            .await
            .expect("the event row"),
        };
        let payload = serde_json::from_str(&payload).expect("the payload is json");
        StoredEvent { subscriber, event_type, occurred_at, received_at, payload }
    }

    /// The first column of every row of `sql` (written the same for both
    /// backends, no parameters), as text.
    pub(crate) async fn texts(&self, sql: &str) -> Vec<String> {
        match self {
            Raw::Sqlite(pool) => sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar::<_, String>(sql).fetch_all(pool).await,
        }
        .expect("the query runs")
    }

    /// Runs one statement written the same for both backends (no parameters);
    /// returns the rows it touched.
    pub(crate) async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(pool) => pool.execute(sql).await.map(|done| done.rows_affected()),
            Raw::Postgres(pool) => pool.execute(sql).await.map(|done| done.rows_affected()),
        }
    }

    /// Switches off the append-only guard of `audit_log`, as someone with full
    /// rights on the database could.
    pub(crate) async fn disable_audit_guard(&self) {
        match self {
            Raw::Sqlite(pool) => pool
                .execute("DROP TRIGGER audit_log_refuses_update; DROP TRIGGER audit_log_refuses_delete;")
                .await
                .map(drop),
            Raw::Postgres(pool) => pool.execute("ALTER TABLE audit_log DISABLE TRIGGER USER").await.map(drop),
        }
        .expect("disable the audit guard");
    }

    /// Releases every block at `at`, as an analyst would (the release flow itself
    /// is not part of the store interface yet; its columns exist).
    pub(crate) async fn release_all_blocks(&self, at: Timestamp) {
        match self {
            Raw::Sqlite(pool) => sqlx::query(
                "UPDATE blocks SET released_at = ?, released_by = 'ana', release_reason = 'verified'",
            )
            .bind(crate::time::to_micros(at))
            .execute(pool)
            .await
            .map(drop),
            Raw::Postgres(pool) => sqlx::query(
                "UPDATE blocks SET released_at = $1, released_by = 'ana', release_reason = 'verified'",
            )
            .bind(at)
            .execute(pool)
            .await
            .map(drop),
        }
        .expect("release the blocks");
    }
}

/// Runs `body` against a fresh store of `backend`, then removes the database
/// (also when the body fails, whose panic is then passed on).
pub(crate) async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Subject) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}/fds.db", dir.path().display());
            let store =
                SqliteStore::open(&url, crate::fixtures::vault()).await.expect("the sqlite store opens");
            let subject =
                Subject { store: Arc::new(store.clone()), raw: Raw::Sqlite(store.pool().clone()), url };
            let outcome = tokio::spawn(body(subject)).await;
            store.close().await;
            pass_on(outcome);
        }
        Backend::Postgres => {
            let db = PgDatabase::create().await;
            let store =
                PgStore::open(db.url(), crate::fixtures::vault()).await.expect("the postgres store opens");
            let subject = Subject {
                store: Arc::new(store.clone()),
                raw: Raw::Postgres(store.pool().clone()),
                url: db.url().to_string(),
            };
            let outcome = tokio::spawn(body(subject)).await;
            store.close().await;
            db.drop_database().await;
            pass_on(outcome);
        }
    }
}

fn pass_on(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("the test body did not finish: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_database_replaces_the_database_of_the_admin_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "fds_test_1"),
            "postgres://postgres@127.0.0.1:5432/fds_test_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@db?sslmode=disable", "x"),
            "postgresql://u:p@db/x?sslmode=disable"
        );
    }

    #[test]
    fn test_database_names_do_not_repeat() {
        assert_ne!(unique_suffix(), unique_suffix());
    }
}
