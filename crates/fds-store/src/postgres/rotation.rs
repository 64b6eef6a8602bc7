//! Key rotation on Postgres: one batch of one table per transaction, rows locked
//! `FOR UPDATE` while they are re-sealed. Keyed by each table's own key; the
//! partitioned tables (`events`, `decisions`) also give `occurred_at`, so each
//! update touches one partition. The hold tables are covered like the others.

use crate::rotation::{active_prefix, ResealBatch};
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::{Field, Vault};
use sqlx::PgPool;

/// A table holding sealed values.
struct Sealed {
    table: &'static str,
    /// The key, as text that orders the rows (the cursor).
    key: &'static str,
    /// The update's condition on the key (`$2`) and, when partitioned, `occurred_at` (`$3`).
    matches: &'static str,
    column: &'static str,
    /// `None`: JSON with sealed values under its PII keys; `Some`: one sealed value.
    field: Option<Field>,
    /// Whether `json` needs a cast back from the text bound.
    json: bool,
    partitioned: bool,
}

const TABLES: [Sealed; 10] = [
    Sealed {
        table: "events",
        key: "event_id",
        matches: "event_id = $2 AND occurred_at = $3",
        column: "payload",
        field: None,
        json: true,
        partitioned: true,
    },
    Sealed {
        table: "decisions",
        key: "decision_id",
        matches: "decision_id = $2 AND occurred_at = $3",
        column: "decision",
        field: None,
        json: true,
        partitioned: true,
    },
    Sealed {
        table: "held_events",
        key: "event_id",
        matches: "event_id = $2",
        column: "payload",
        field: None,
        json: true,
        partitioned: false,
    },
    Sealed {
        table: "held_decisions",
        key: "decision_id",
        matches: "decision_id = $2",
        column: "decision",
        field: None,
        json: true,
        partitioned: false,
    },
    Sealed {
        table: "blocks",
        key: "block_id",
        matches: "block_id = $2",
        column: "subscriber_sealed",
        field: Some(Field::Subscriber),
        json: false,
        partitioned: false,
    },
    Sealed {
        table: "labels",
        key: "label_id",
        matches: "label_id = $2",
        column: "subscriber_sealed",
        field: Some(Field::Subscriber),
        json: false,
        partitioned: false,
    },
    Sealed {
        // Zero-padded, so the text order is the number order.
        table: "legal_holds",
        key: "lpad(hold_id::text, 20, '0')",
        matches: "hold_id = $2::bigint",
        column: "subscriber_sealed",
        field: Some(Field::Subscriber),
        json: false,
        partitioned: false,
    },
    Sealed {
        table: "rule_suppressions",
        key: "lpad(suppression_id::text, 20, '0')",
        matches: "suppression_id = $2::bigint",
        column: "entity",
        field: None,
        json: false,
        partitioned: false,
    },
    Sealed {
        table: "console_users",
        key: "lpad(user_id::text, 20, '0')",
        matches: "user_id = $2::bigint",
        column: "totp_secret",
        field: Some(Field::TotpSecret),
        json: false,
        partitioned: false,
    },
    Sealed {
        table: "subscriber_notes",
        key: "lpad(note_id::text, 20, '0')",
        matches: "note_id = $2::bigint",
        column: "text_sealed",
        field: Some(Field::Note),
        json: false,
        partitioned: false,
    },
];

pub(super) fn tables() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.table).collect()
}

pub(super) async fn reseal_batch(
    pool: &PgPool,
    vault: &Vault,
    table: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<ResealBatch, StoreError> {
    let spec = TABLES.iter().find(|t| t.table == table).ok_or_else(|| StoreError::Encode {
        what: "key rotation",
        reason: "no such table holds sealed values".into(),
    })?;
    let occurred_at = if spec.partitioned { "occurred_at" } else { "NULL::timestamptz" };
    let mut tx = pool.begin().await?;
    let rows: Vec<(String, Option<Timestamp>, String)> = sqlx::query_as(&format!(
        "SELECT {key}, {occurred_at}, {column}::text FROM {table} \
         WHERE {key} > $1 \
           AND replace('\"' || {column}::text, $2, '') LIKE '%\"v1.%' \
         ORDER BY {key} LIMIT $3 FOR UPDATE",
        key = spec.key,
        column = spec.column,
        table = spec.table,
    ))
    // Every key is non-empty, so "" starts before the first.
    .bind(after.unwrap_or(""))
    .bind(active_prefix(vault))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;

    let mut found = crate::pii::Resealed::default();
    let mut batch = ResealBatch {
        rows_read: rows.len() as u64,
        last: rows.last().map(|(key, _, _)| key.clone()),
        ..ResealBatch::default()
    };
    let cast = if spec.json { "::json" } else { "" };
    let update = format!("UPDATE {} SET {} = $1{cast} WHERE {}", spec.table, spec.column, spec.matches);
    for (key, occurred_at, stored) in rows {
        let Some(new) = crate::rotation::reseal_value(vault, spec.table, spec.field, &stored, &mut found)?
        else {
            continue;
        };
        let mut query = sqlx::query(&update).bind(new).bind(key);
        if spec.partitioned {
            query = query.bind(occurred_at);
        }
        query.execute(&mut *tx).await?;
        batch.rows_rewritten += 1;
    }
    tx.commit().await?;
    batch.from_keys = found.from_keys;
    Ok(batch)
}
