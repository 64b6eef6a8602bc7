//! The one error type of the store, with variants only where callers branch.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one the store understands. Never carries the URL itself,
    /// which may hold a password.
    #[error("invalid store url: {0}")]
    InvalidUrl(String),
    /// The database refused or failed (I/O, locks, constraints, connection).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database has a migration this build does not know: it was migrated by a
    /// newer release. Nothing is migrated or written; run a release that knows it.
    #[error(
        "the database schema has migration {unknown}, which this build does not know \
         (it knows up to {newest_known}): upgrade fds before opening this database"
    )]
    SchemaTooNew { unknown: i64, newest_known: i64 },
    /// Migrating the schema at open failed.
    #[error("migrating the database schema failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A value to store could not be encoded (e.g. a record that does not serialise).
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// A stored row could not be read back into its type.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    /// A stored sealed value could not be opened: malformed, sealed under a key the
    /// vault does not hold, or altered. Names the table and the key id, never the value.
    #[error("cannot open a sealed value in {table} (key id {key_id}): {reason}")]
    Sealed { table: &'static str, key_id: String, reason: String },
    /// The store refused a change that would break one of its rules (a publish by
    /// the change's own author, a change that is no longer a draft, a stale check).
    /// Says why; nothing was written.
    #[error("refused: {0}")]
    Refused(String),
    /// The batch writer has stopped and accepts nothing more.
    #[error("the batch writer has stopped")]
    Closed,
    /// Another service scoring depends on could not be reached (the shared velocity
    /// feature store); nothing was decided or written. Says which and why.
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> Self {
        StoreError::Corrupt { table, reason: reason.into() }
    }
}
