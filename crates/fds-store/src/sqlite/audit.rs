//! The audit log on SQLite: appends inside a write transaction that moves the
//! chain head first, so concurrent appends queue on SQLite's single writer.

use crate::audit::{chain_hash, json_column, record_from_row, AuditEntry, AuditHead, AuditRecord, AuditRow};
use crate::time::{from_micros, to_micros};
use crate::StoreError;
use fds_vault::Vault;
use sqlx::{SqliteConnection, SqlitePool};

/// Appends `entry`, its PII sealed by `vault`, as the next record of the chain, inside the caller's
/// transaction (which must not have read anything before: the first statement
/// here is a write, so the transaction takes the write lock at once and waits
/// its turn instead of failing on a stale snapshot).
pub(super) async fn append(
    conn: &mut SqliteConnection,
    vault: &Vault,
    entry: AuditEntry,
) -> Result<AuditRecord, StoreError> {
    let entry = entry.normalised().sealed(vault);
    let (seq, prev_hash): (i64, String) =
        sqlx::query_as("UPDATE audit_chain_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await?;
    let seq = u64::try_from(seq).map_err(|_| StoreError::corrupt("audit_chain_head", "negative seq"))?;
    let hash = chain_hash(seq, &prev_hash, &entry);
    sqlx::query(
        "INSERT INTO audit_log \
         (seq, prev_hash, hash, actor, action, target, before_state, after_state, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq as i64)
    .bind(&prev_hash)
    .bind(&hash)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(json_column(&entry.before))
    .bind(json_column(&entry.after))
    .bind(to_micros(entry.at))
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_chain_head SET hash = ? WHERE id = 1").bind(&hash).execute(&mut *conn).await?;
    Ok(AuditRecord { seq, prev_hash, hash, entry })
}

pub(super) async fn records(
    pool: &SqlitePool,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows: Vec<AuditRow<i64>> = sqlx::query_as(
        "SELECT seq, prev_hash, hash, actor, action, target, before_state, after_state, at \
         FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| record_from_row(row, |m| from_micros(m, "audit_log"))).collect()
}

pub(super) async fn head(pool: &SqlitePool) -> Result<AuditHead, StoreError> {
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1").fetch_one(pool).await?;
    let seq = u64::try_from(seq).map_err(|_| StoreError::corrupt("audit_chain_head", "negative seq"))?;
    Ok(AuditHead { seq, hash })
}
