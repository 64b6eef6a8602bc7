//! Persistence for FDS: the [`Store`] trait, its SQLite backend (the embedded
//! default) and the [`BatchWriter`] that turns a stream of scored events into
//! batched, idempotent transactions.
//!
//! This crate owns the SQL, the schema and its migrations (`migrations/sqlite/`;
//! Postgres follows in `migrations/postgres/`). It must never contain business
//! rules: what to score, block or label is decided by the callers, and the store
//! only keeps and returns it. It never logs stored values (they hold PII).
//!
//! Timestamps are stored as integer microseconds since the Unix epoch, UTC (see
//! `time.rs`), so range and ordering queries are plain integer comparisons.

mod error;
mod sqlite;
mod store;
mod time;
mod writer;

pub use error::StoreError;
pub use sqlite::SqliteStore;
pub use store::{ActionCounts, Counts, Record, SaveSummary, Store};
pub use writer::{BatchWriter, WriterConfig, WriterStats};

use std::sync::Arc;

/// Opens the store named by `url`, chosen by its scheme: `sqlite://path/to/file.db`
/// or `sqlite::memory:` (see [`SqliteStore::open`]). `postgres://` URLs are refused
/// with [`StoreError::Unsupported`] until the Postgres backend lands.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Err(StoreError::Unsupported("the postgres store")),
        _ => Err(StoreError::InvalidUrl(
            "expected `sqlite://path/to/fds.db`, `sqlite::memory:` or a `postgres://` url".into(),
        )),
    }
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_postgres_url_is_refused_as_unsupported() {
        for url in ["postgres://fds@127.0.0.1:5432/fds", "postgresql://fds:secret@db/fds"] {
            let err = open(url).await.err().expect("postgres is not available yet");
            assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
            assert_eq!(err.to_string(), "the postgres store is not supported in this build yet");
        }
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_an_invalid_url_that_does_not_echo_the_url() {
        let err = open("mysql://root:hunter2@db/fds").await.err().expect("mysql is refused");
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn an_in_memory_store_opens_and_answers() {
        let store = open("sqlite::memory:").await.expect("memory store opens");
        store.ping().await.expect("ping");
        assert_eq!(store.counts().await.expect("counts"), Counts::default());
    }
}
