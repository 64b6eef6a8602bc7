//! Key rotation on SQLite: one batch of one table per write transaction, keyed by
//! `rowid` (stable, indexed, present on every table here).

use crate::rotation::{active_prefix, ResealBatch};
use crate::StoreError;
use fds_vault::{Field, Vault};
use sqlx::SqlitePool;

/// A table holding sealed values: the column and what it holds (`None`: JSON
/// with sealed values under its PII keys; `Some(field)`: one sealed value).
struct Sealed {
    table: &'static str,
    column: &'static str,
    field: Option<Field>,
}

const TABLES: [Sealed; 8] = [
    Sealed { table: "events", column: "payload", field: None },
    Sealed { table: "decisions", column: "decision", field: None },
    Sealed { table: "blocks", column: "subscriber_sealed", field: Some(Field::Subscriber) },
    Sealed { table: "labels", column: "subscriber_sealed", field: Some(Field::Subscriber) },
    Sealed { table: "legal_holds", column: "subscriber_sealed", field: Some(Field::Subscriber) },
    Sealed { table: "rule_suppressions", column: "entity", field: None },
    Sealed { table: "console_users", column: "totp_secret", field: Some(Field::TotpSecret) },
    Sealed { table: "subscriber_notes", column: "text_sealed", field: Some(Field::Note) },
];

pub(super) fn tables() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.table).collect()
}

pub(super) async fn reseal_batch(
    pool: &SqlitePool,
    vault: &Vault,
    table: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<ResealBatch, StoreError> {
    let spec = TABLES.iter().find(|t| t.table == table).ok_or_else(|| StoreError::Encode {
        what: "key rotation",
        reason: "no such table holds sealed values".into(),
    })?;
    let after: i64 = match after {
        None => 0,
        Some(cursor) => cursor.parse().map_err(|_| StoreError::Encode {
            what: "key rotation",
            reason: "the cursor is not a sqlite rowid".into(),
        })?,
    };
    let mut tx = pool.begin().await?;
    // A write first, so the transaction holds the write lock before it reads:
    // nothing changes the rows between the read and the updates.
    sqlx::query(&format!("UPDATE {} SET rowid = rowid WHERE 0", spec.table)).execute(&mut *tx).await?;
    let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT rowid, {column} FROM {table} \
         WHERE rowid > ? AND replace('\"' || {column}, ?, '') LIKE '%\"v1.%' \
         ORDER BY rowid LIMIT ?",
        column = spec.column,
        table = spec.table,
    ))
    .bind(after)
    .bind(active_prefix(vault))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;

    let mut found = crate::pii::Resealed::default();
    let mut batch = ResealBatch {
        rows_read: rows.len() as u64,
        last: rows.last().map(|(rowid, _)| rowid.to_string()),
        ..ResealBatch::default()
    };
    for (rowid, stored) in rows {
        let Some(new) = crate::rotation::reseal_value(vault, spec.table, spec.field, &stored, &mut found)?
        else {
            continue;
        };
        sqlx::query(&format!("UPDATE {} SET {} = ? WHERE rowid = ?", spec.table, spec.column))
            .bind(new)
            .bind(rowid)
            .execute(&mut *tx)
            .await?;
        batch.rows_rewritten += 1;
    }
    tx.commit().await?;
    batch.from_keys = found.from_keys;
    Ok(batch)
}
