//! The audit log on Postgres: an append updates the chain head row first, and
//! that row lock queues concurrent appends until the appending transaction
//! commits.

use crate::audit::{chain_hash, json_column, record_from_row, AuditEntry, AuditHead, AuditRecord, AuditRow};
use crate::StoreError;
use chrono::{DateTime, Utc};
use fds_vault::Vault;
use sqlx::{PgConnection, PgPool};

/// Appends `entry`, its PII sealed by `vault`, as the next record of the chain, inside the caller's
/// transaction. Under READ COMMITTED a waiting append re-reads the head row once
/// the one before it commits, so it takes the next seq and the new hash.
pub(super) async fn append(
    conn: &mut PgConnection,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9)",
    )
    .bind(seq as i64)
    .bind(&prev_hash)
    .bind(&hash)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(json_column(&entry.before))
    .bind(json_column(&entry.after))
    .bind(entry.at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_chain_head SET hash = $1 WHERE id = 1").bind(&hash).execute(&mut *conn).await?;
    Ok(AuditRecord { seq, prev_hash, hash, entry })
}

pub(super) async fn records(
    pool: &PgPool,
    after_seq: u64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows: Vec<AuditRow<DateTime<Utc>>> = sqlx::query_as(
        "SELECT seq, prev_hash, hash, actor, action, target, before_state::text, after_state::text, at \
         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| record_from_row(row, Ok)).collect()
}

pub(super) async fn head(pool: &PgPool) -> Result<AuditHead, StoreError> {
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1").fetch_one(pool).await?;
    let seq = u64::try_from(seq).map_err(|_| StoreError::corrupt("audit_chain_head", "negative seq"))?;
    Ok(AuditHead { seq, hash })
}
