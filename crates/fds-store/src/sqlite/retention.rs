//! Retention and legal holds on SQLite: plain deletes of the expired rows of
//! subscribers not on hold, in one write transaction with the audit record.

use super::audit;
use crate::retention::{LegalHold, RetentionPolicy, RetentionReport, DECISIONS, EVENTS};
use crate::time::{from_micros, to_micros};
use crate::StoreError;
use fds_core::{Pii, Timestamp};
use fds_vault::Vault;
use sqlx::{SqliteConnection, SqlitePool};

/// The subscribers with an active hold, as a sub-select.
const HELD: &str = "(SELECT subscriber FROM legal_holds WHERE lifted_at IS NULL)";

type HoldRow = (i64, String, Option<String>, String, String, i64);

fn hold(vault: &Vault, row: HoldRow) -> Result<LegalHold, StoreError> {
    let (hold_id, subscriber, case_id, reason, placed_by, placed_at) = row;
    Ok(LegalHold {
        hold_id,
        subscriber: Pii::new(crate::pii::open_subscriber(vault, "legal_holds", &subscriber)?),
        case_id,
        reason,
        placed_by,
        placed_at: from_micros(placed_at, "legal_holds")?,
    })
}

pub(super) async fn place_hold(
    pool: &SqlitePool,
    vault: &Vault,
    subscriber: &str,
    case_id: Option<&str>,
    reason: &str,
    actor: &str,
    at: Timestamp,
) -> Result<LegalHold, StoreError> {
    let mut tx = pool.begin().await?;
    let row: HoldRow = sqlx::query_as(
        "INSERT INTO legal_holds (subscriber, subscriber_sealed, case_id, reason, placed_by, placed_at) \
         VALUES (?, ?, ?, ?, ?, ?) \
         RETURNING hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at",
    )
    .bind(crate::pii::index(vault, subscriber))
    .bind(crate::pii::seal_subscriber(vault, subscriber))
    .bind(case_id)
    .bind(reason)
    .bind(actor)
    .bind(to_micros(at))
    .fetch_one(&mut *tx)
    .await?;
    let hold = hold(vault, row)?;
    audit::append(&mut tx, vault, hold.placed_entry()).await?;
    tx.commit().await?;
    Ok(hold)
}

pub(super) async fn lift_hold(
    pool: &SqlitePool,
    vault: &Vault,
    hold_id: i64,
    actor: &str,
    reason: &str,
    at: Timestamp,
) -> Result<Option<LegalHold>, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<HoldRow> = sqlx::query_as(
        "UPDATE legal_holds SET lifted_by = ?, lifted_at = ? WHERE hold_id = ? AND lifted_at IS NULL \
         RETURNING hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at",
    )
    .bind(actor)
    .bind(to_micros(at))
    .bind(hold_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let hold = hold(vault, row)?;
    audit::append(&mut tx, vault, hold.lifted_entry(actor, reason, at)).await?;
    tx.commit().await?;
    Ok(Some(hold))
}

pub(super) async fn holds(pool: &SqlitePool, vault: &Vault) -> Result<Vec<LegalHold>, StoreError> {
    let rows: Vec<HoldRow> = sqlx::query_as(
        "SELECT hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at FROM legal_holds \
         WHERE lifted_at IS NULL ORDER BY hold_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| hold(vault, row)).collect()
}

pub(super) async fn run(
    pool: &SqlitePool,
    vault: &Vault,
    policy: RetentionPolicy,
    now: Timestamp,
    dry_run: bool,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::new(policy, now, dry_run)?;
    let mut tx = pool.begin().await?;
    if !dry_run {
        // A write first, so the transaction takes the write lock before it counts:
        // the counts are then exactly what the deletes below remove.
        sqlx::query("UPDATE legal_holds SET hold_id = hold_id WHERE 0").execute(&mut *tx).await?;
    }
    for (table, cutoff) in [(DECISIONS, report.decisions_cutoff), (EVENTS, report.events_cutoff)] {
        let cutoff = to_micros(cutoff);
        for (month, removed, held) in expired(&mut tx, table, cutoff).await? {
            report.add(table, &month, removed, held);
        }
        if !dry_run {
            sqlx::query(&format!("DELETE FROM {table} WHERE occurred_at < ? AND subscriber NOT IN {HELD}"))
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            if table == DECISIONS {
                super::dashboard::forget_before(&mut tx, report.decisions_cutoff).await?;
            }
        }
    }
    let report = report.sorted();
    if !dry_run {
        audit::append(&mut tx, vault, report.audit_entry(now)).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Per UTC month, the rows of `table` that occurred before `cutoff`: how many are
/// not held (to remove) and how many are held.
async fn expired(
    conn: &mut SqliteConnection,
    table: &str,
    cutoff: i64,
) -> Result<Vec<(String, u64, u64)>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT strftime('%Y-%m', occurred_at / 1000000, 'unixepoch') AS month, \
                SUM(NOT held), SUM(held) \
         FROM (SELECT occurred_at, subscriber IN {HELD} AS held FROM {table} WHERE occurred_at < ?) \
         GROUP BY month ORDER BY month"
    ))
    .bind(cutoff)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(month, removed, held)| {
            Ok((month, crate::codec::count(removed, "retention")?, crate::codec::count(held, "retention")?))
        })
        .collect()
}
