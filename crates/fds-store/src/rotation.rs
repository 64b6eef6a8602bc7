//! Data-key rotation at rest: re-sealing every stored PII value that is not under
//! the vault's active key, table by table and batch by batch (`fds keys rotate`).
//!
//! Each backend re-seals one batch of one table in one transaction
//! ([`Store::reseal_batch`]): it reads, in the table's key order after a cursor, up
//! to `batch_size` rows whose sealed text may name another key (a cheap textual
//! pre-filter on `"v1.<key id>.`, a superset of the rows to change), re-seals their
//! values under the active key with [`Vault::rotate`] and writes back the rows that
//! changed. [`rotate_keys`] drives the batches. Nothing is persisted between runs and
//! nothing needs to be: a run that is stopped (killed, or by `max_batches`) has
//! committed its finished batches, and the next run's pre-filter no longer selects
//! the rows they rewrote, so it picks up where the first stopped.
//!
//! What is not rewritten:
//! - the blind index (`subscriber` lookup columns): it is under the separate index
//!   key, which data-key rotation leaves alone;
//! - the audit log: its records are hashed as stored, sealed values included, so
//!   re-sealing them would break the chain that proves nothing was edited. The run
//!   counts the records holding values under other keys; those values stay readable
//!   only while their key stays in the ring. Removing the key leaves the chain
//!   verifiable (it never needs the keys) but their PII unreadable for good.

use crate::audit::actions;
use crate::{AuditEntry, Store, StoreError};
use fds_core::Timestamp;
use fds_vault::Vault;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Audit records read per page when counting those under old keys.
const AUDIT_PAGE: u32 = 1_000;

/// What one [`Store::reseal_batch`] did.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub struct ResealBatch {
    /// Rows read (those the pre-filter selected; some may have needed nothing).
    pub rows_read: u64,
    /// Rows written back with values re-sealed.
    pub rows_rewritten: u64,
    /// Values re-sealed, by the key id each was under before.
    pub from_keys: BTreeMap<String, u64>,
    /// The cursor to pass for the next batch: the key of the last row read (`None`
    /// when nothing was read).
    pub last: Option<String>,
}

/// How a rotation run proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationOptions {
    /// Rows per batch (one transaction each). At least 1.
    pub batch_size: u32,
    /// Stop after this many batches (over all tables), leaving the rest for the
    /// next run; `None` runs to the end.
    pub max_batches: Option<u64>,
}

impl Default for RotationOptions {
    /// Batches of 500 rows: short transactions, few round trips.
    fn default() -> Self {
        RotationOptions { batch_size: 500, max_batches: None }
    }
}

/// Progress and totals of one table.
#[derive(Default, Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRotation {
    pub table: String,
    /// Batches run on this table.
    pub batches: u64,
    pub rows_read: u64,
    pub rows_rewritten: u64,
    pub values_rewritten: u64,
    /// Whether the table was gone through to its end.
    pub done: bool,
}

/// What a rotation run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The key every rewritten value is now under.
    pub active_key: String,
    /// One entry per table, in the order they were visited.
    pub tables: Vec<TableRotation>,
    /// Values re-sealed, by the key id each was under before.
    pub from_keys: BTreeMap<String, u64>,
    /// Whether every table was gone through (false when `max_batches` stopped it).
    pub complete: bool,
    /// Audit records holding values under other keys (never rewritten, see the
    /// module documentation), and those keys.
    pub audit_records_on_old_keys: u64,
    pub audit_old_keys: BTreeSet<String>,
}

impl RotationReport {
    /// Rows rewritten over all tables.
    pub fn rows_rewritten(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_rewritten).sum()
    }

    /// The `key.rotate` audit entry of this run by `actor` at `at`: key ids and
    /// counts, nothing sealed.
    fn audit_entry(&self, actor: &str, at: Timestamp) -> AuditEntry {
        let rows: BTreeMap<&str, u64> =
            self.tables.iter().map(|t| (t.table.as_str(), t.rows_rewritten)).collect();
        AuditEntry {
            actor: actor.to_string(),
            action: actions::KEY_ROTATE.into(),
            target: format!("key:{}", self.active_key),
            before: Some(serde_json::json!({ "key_ids": self.from_keys.keys().collect::<Vec<_>>() })),
            after: Some(serde_json::json!({
                "key_id": self.active_key,
                "rows_rewritten": rows,
                "values_rewritten": self.from_keys.values().sum::<u64>(),
                "complete": self.complete,
                "audit_records_on_old_keys": self.audit_records_on_old_keys,
            })),
            at,
        }
    }
}

/// Re-seals every sealed value of `store` that is not under `vault`'s active key
/// (`vault` must be the one the store was opened with), table by table in batches,
/// calling `progress` after each batch; then counts the audit records under old
/// keys and appends one `key.rotate` audit record by `actor` at `at` with the counts.
///
/// A batch that fails stops the run: the batches before it stay committed, a
/// `key.rotate` record with `complete: false` is appended if the store still
/// answers, and the error is returned. Running again continues.
pub async fn rotate_keys(
    store: &dyn Store,
    vault: &Vault,
    actor: &str,
    at: Timestamp,
    options: RotationOptions,
    mut progress: impl FnMut(&TableRotation) + Send,
) -> Result<RotationReport, StoreError> {
    let mut report = RotationReport {
        active_key: vault.active_key_id().as_str().to_string(),
        tables: Vec::new(),
        from_keys: BTreeMap::new(),
        complete: false,
        audit_records_on_old_keys: 0,
        audit_old_keys: BTreeSet::new(),
    };
    match run_batches(store, options, &mut report, &mut progress).await {
        Ok(complete) => report.complete = complete,
        Err(error) => {
            // Best effort: the run did change rows, so say so in the log.
            let _ = store.append_audit(report.audit_entry(actor, at)).await;
            return Err(error);
        }
    }
    count_audit_records(store, vault, &mut report).await?;
    store.append_audit(report.audit_entry(actor, at)).await?;
    Ok(report)
}

/// The batches of every table; whether all tables were finished.
async fn run_batches(
    store: &dyn Store,
    options: RotationOptions,
    report: &mut RotationReport,
    progress: &mut (impl FnMut(&TableRotation) + Send),
) -> Result<bool, StoreError> {
    let limit = options.batch_size.max(1);
    let mut budget = options.max_batches;
    for table in store.sealed_tables() {
        report.tables.push(TableRotation { table: table.to_string(), ..TableRotation::default() });
        let index = report.tables.len() - 1;
        let mut after: Option<String> = None;
        loop {
            if budget == Some(0) {
                return Ok(false);
            }
            let batch = store.reseal_batch(table, after.as_deref(), limit).await?;
            budget = budget.map(|b| b - 1);
            let entry = &mut report.tables[index];
            entry.batches += 1;
            entry.rows_read += batch.rows_read;
            entry.rows_rewritten += batch.rows_rewritten;
            for (key, n) in batch.from_keys {
                entry.values_rewritten += n;
                *report.from_keys.entry(key).or_default() += n;
            }
            entry.done = batch.rows_read < u64::from(limit) || batch.last.is_none();
            progress(entry);
            if entry.done {
                break;
            }
            after = batch.last;
        }
    }
    Ok(true)
}

/// Counts the audit records holding values under keys other than the active one.
async fn count_audit_records(
    store: &dyn Store,
    vault: &Vault,
    report: &mut RotationReport,
) -> Result<(), StoreError> {
    let mut after = 0;
    loop {
        let page = store.audit_records(after, AUDIT_PAGE).await?;
        let Some(last) = page.last() else { return Ok(()) };
        after = last.seq;
        for record in &page {
            let mut keys = BTreeSet::new();
            for state in [&record.entry.before, &record.entry.after].into_iter().flatten() {
                crate::pii::old_key_ids(vault, state, &mut keys);
            }
            if !keys.is_empty() {
                report.audit_records_on_old_keys += 1;
                report.audit_old_keys.extend(keys);
            }
        }
    }
}

/// The pre-filter's pattern for `vault`'s active key: a sealed value under it
/// starts `"v1.<active>.` where it is quoted in JSON (plain columns are prefixed
/// with a quote to match the same way).
pub(crate) fn active_prefix(vault: &Vault) -> String {
    format!("\"v1.{}.", vault.active_key_id())
}

/// `stored` (the text of a column of `table`: JSON when `field` is `None`, else one
/// sealed value for `field`) with every sealed value under another key re-sealed
/// under the active one, or `None` when nothing needed it.
pub(crate) fn reseal_value(
    vault: &Vault,
    table: &'static str,
    field: Option<fds_vault::Field>,
    stored: &str,
    found: &mut crate::pii::Resealed,
) -> Result<Option<String>, StoreError> {
    match field {
        Some(field) => crate::pii::reseal(vault, field, table, stored, found),
        None => {
            let mut value: serde_json::Value = serde_json::from_str(stored).map_err(|e| {
                StoreError::corrupt(table, format!("stored json does not decode ({:?} error)", e.classify()))
            })?;
            Ok(crate::pii::reseal_json(vault, table, &mut value, found)?.then(|| value.to_string()))
        }
    }
}
