//! Persistence for FDS: the [`Store`] trait, its SQLite backend (the embedded
//! default), its Postgres backend (production) and the [`BatchWriter`] that turns
//! a stream of scored events into batched, idempotent transactions.
//!
//! This crate owns the SQL, the schema and its migrations (`migrations/sqlite/`,
//! `migrations/postgres/`, applied at open; a database migrated by a newer build is
//! refused with [`StoreError::SchemaTooNew`]). It must never contain business
//! rules: what to score, block or label is decided by the callers, and the store
//! only keeps and returns it. It never logs stored values (they hold PII), and it
//! never stores PII in plaintext: a store is opened with a [`Vault`] that seals
//! every PII value it writes (in the event and decision JSON, the subscriber of
//! blocks, labels and holds, and the audit log's before / after) and opens what it
//! reads; lookup columns hold the subscriber's blind index. A value that does not
//! open is [`StoreError::Sealed`].
//!
//! Timestamps are kept to the microsecond: integer microseconds since the Unix
//! epoch, UTC, in SQLite (see `time.rs`), `timestamptz` in Postgres.
//!
//! Code map: `store.rs` (the trait and its values), `sqlite/` and `postgres/` (one
//! backend each; Postgres partitions `events` and `decisions` by month, see
//! `postgres/partitions.rs` and the migration), `codec.rs` (stored rows to core
//! types, shared), `pii.rs` (sealing, opening and blind indexing, shared), `schema.rs` (the newer-schema guard), `writer.rs` (the batch
//! writer), `audit.rs` (the hash-chained audit log: records, hashing, verification;
//! each backend's `audit.rs` appends and reads), `retention.rs` (retention policy,
//! report and legal holds; each backend's `retention.rs` runs it), `rotation.rs` (data-key
//! rotation: re-sealing stored values under the active key in resumable batches; each
//! backend's `rotation.rs` does one batch), `models.rs` (the model registry: artifacts,
//! roles, audited promotions, the registry version and hourly score histograms; each
//! backend's `models.rs` holds its SQL). Tests: `suite.rs` is the
//! behavioural suite run against both backends (`test_db.rs` gives each test a
//! fresh SQLite file or Postgres database). `dashboard.rs` holds the dashboard
//! aggregates and the hourly rollups saves maintain (each backend's
//! `dashboard.rs` writes and reads them).

pub mod api_keys;
pub mod audit;
mod codec;
pub mod console;
mod dashboard;
mod error;
pub mod models;
pub mod notes;
pub mod packs;
mod pii;
mod postgres;
pub mod releases;
pub mod retention;
pub mod rotation;
mod schema;
mod sqlite;
mod store;
mod time;
mod writer;

pub use api_keys::{ApiKeyRecord, ApiScope, NewApiKey};
pub use audit::{verify_chain, AuditEntry, AuditHead, AuditRecord, ChainBreak, ChainVerifier};
pub use console::{
    BlockRecord, BlockStatus, Escalation, Language, LoginFailure, NewSession, NewUser, QueueFilter, Role,
    Secret, Session, SessionStage, User, UserChange,
};
pub use dashboard::{Bucket, Dashboard, RuleHits, Tally};
pub use error::StoreError;
pub use fds_core::EntityKind;
/// The vault a store is opened with (see [`open`]), re-exported for callers.
pub use fds_vault::{KeyRing, Vault};
pub use models::{
    hour_of, score_bin, DriftReport, InputTally, ModelInfo, ModelKind, ModelRole, NewModel, ScoreTally,
    SCORE_BINS,
};
pub use notes::SubscriberNote;
pub use packs::{
    ChangeState, ChangedFile, NewSuppression, PackVersion, RuleChange, ShadowTally, Suppression,
};
pub use postgres::PgStore;
pub use releases::{AllowEntry, Decided, Release, ReleaseRequest, RequestState, MAX_ALLOW_DAYS};
pub use retention::{LegalHold, RemovedRows, RetentionPolicy, RetentionReport};
pub use rotation::{rotate_keys, ResealBatch, RotationOptions, RotationReport, TableRotation};
pub use sqlite::SqliteStore;
pub use store::{ActionCounts, Counts, Gate, Record, SaveSummary, Store};
pub use writer::{BatchWriter, Durable, WriterConfig, WriterStats};

use std::sync::Arc;

/// Opens the store named by `url`, chosen by its scheme: `sqlite://path/to/file.db`
/// or `sqlite::memory:` (see [`SqliteStore::open`]), `postgres://…` or
/// `postgresql://…` (see [`PgStore::open`]). `vault` seals the PII the store
/// writes (see `pii.rs`) and opens what it reads.
pub async fn open(url: &str, vault: Arc<fds_vault::Vault>) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url, vault).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::open(url, vault).await?)),
        _ => Err(StoreError::InvalidUrl(
            "expected `sqlite://path/to/fds.db`, `sqlite::memory:` or a `postgres://` url".into(),
        )),
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod suite;
#[cfg(test)]
mod test_db;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_postgres_url_opens_the_postgres_store() {
        let db = test_db::PgDatabase::create().await;
        for scheme in ["postgres", "postgresql"] {
            let url = db.url().replacen("postgres", scheme, 1);
            let store = open(&url, fixtures::vault()).await.expect("postgres store opens");
            store.ping().await.expect("ping");
            assert_eq!(store.counts().await.expect("counts"), Counts::default());
        }
        db.drop_database().await;
    }

    #[tokio::test]
    async fn a_malformed_postgres_url_is_an_invalid_url_that_does_not_echo_the_url() {
        let err = open("postgres://fds:hunter2@db:notaport/fds", fixtures::vault())
            .await
            .err()
            .expect("bad port is refused");
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_an_invalid_url_that_does_not_echo_the_url() {
        let err =
            open("mysql://root:hunter2@db/fds", fixtures::vault()).await.err().expect("mysql is refused");
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn an_in_memory_store_opens_and_answers() {
        let store = open("sqlite::memory:", fixtures::vault()).await.expect("memory store opens");
        store.ping().await.expect("ping");
        assert_eq!(store.counts().await.expect("counts"), Counts::default());
    }
}
