//! API keys on Postgres.

use super::audit;
use crate::api_keys::{self, ApiKeyRecord, KeyRow, NewApiKey, KEY_COLUMNS};
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::Vault;
use sqlx::{PgConnection, PgPool};

fn ts(at: Timestamp) -> Result<Timestamp, StoreError> {
    Ok(at)
}

async fn key_in(conn: &mut PgConnection, key_id: i64) -> Result<Option<ApiKeyRecord>, StoreError> {
    let row: Option<KeyRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = $1"))
            .bind(key_id)
            .fetch_optional(conn)
            .await?;
    row.map(|row| api_keys::key_from_row(row, ts)).transpose()
}

pub(super) async fn create(
    pool: &PgPool,
    vault: &Vault,
    new: &NewApiKey,
) -> Result<ApiKeyRecord, StoreError> {
    new.check()?;
    let mut tx = pool.begin().await?;
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO api_keys (name, scopes, digest, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (digest) DO NOTHING RETURNING key_id",
    )
    .bind(new.name.trim())
    .bind(api_keys::scopes_column(&new.scopes))
    .bind(&new.digest)
    .bind(&new.created_by)
    .bind(new.created_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((key_id,)) = inserted else {
        return Err(StoreError::Refused("this key is stored already".into()));
    };
    let key = key_in(&mut tx, key_id)
        .await?
        .ok_or_else(|| StoreError::corrupt("api_keys", "a created key is not there"))?;
    audit::append(&mut tx, vault, api_keys::audit_create(&key)).await?;
    tx.commit().await?;
    Ok(key)
}

pub(super) async fn revoke(
    pool: &PgPool,
    vault: &Vault,
    key_id: i64,
    actor: &str,
    at: Timestamp,
) -> Result<Option<ApiKeyRecord>, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_by = $1, revoked_at = $2 WHERE key_id = $3 AND revoked_at IS NULL",
    )
    .bind(actor)
    .bind(at)
    .bind(key_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let after = key_in(&mut tx, key_id)
        .await?
        .ok_or_else(|| StoreError::corrupt("api_keys", "a revoked key is not there"))?;
    let before = ApiKeyRecord { revoked_by: None, revoked_at: None, ..after.clone() };
    audit::append(&mut tx, vault, api_keys::audit_revoke(&before, &after)).await?;
    tx.commit().await?;
    Ok(Some(after))
}

pub(super) async fn list(pool: &PgPool) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows: Vec<KeyRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY key_id"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(|row| api_keys::key_from_row(row, ts)).collect()
}
