//! Dashboards on Postgres: the hourly rollups (migration 0004) kept up to date by
//! each save and by retention, and the dashboard read from them.

use crate::dashboard::{Bucket, Dashboard, Rollup, Row};
use crate::StoreError;
use fds_core::Timestamp;
use sqlx::{PgConnection, PgPool};

/// Adds `rollup` (the decisions a save is storing) to the rollup tables, in the
/// save's transaction. Rows are upserted in key order (see [`Rollup`]); the save
/// runs this last, so the hot rows of the current hour are locked only until the
/// commit.
pub(super) async fn add(conn: &mut PgConnection, rollup: &Rollup) -> Result<(), StoreError> {
    if rollup.by_event_type.is_empty() {
        return Ok(());
    }
    let rows = &rollup.by_event_type;
    sqlx::query(
        "INSERT INTO decision_rollup AS r (hour, event_type, action, decisions, amount) \
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
         ON CONFLICT (hour, event_type, action) DO UPDATE \
         SET decisions = r.decisions + EXCLUDED.decisions, amount = r.amount + EXCLUDED.amount",
    )
    .bind(rows.keys().map(|(hour, _, _)| *hour).collect::<Vec<_>>())
    .bind(rows.keys().map(|(_, event_type, _)| *event_type).collect::<Vec<_>>())
    .bind(rows.keys().map(|(_, _, action)| *action).collect::<Vec<_>>())
    .bind(rows.values().map(|(decisions, _)| *decisions).collect::<Vec<_>>())
    .bind(rows.values().map(|(_, amount)| *amount).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    let rows = &rollup.by_family;
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO decision_family_rollup AS r (hour, family, action, decisions, amount) \
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
         ON CONFLICT (hour, family, action) DO UPDATE \
         SET decisions = r.decisions + EXCLUDED.decisions, amount = r.amount + EXCLUDED.amount",
    )
    .bind(rows.keys().map(|(hour, _, _)| *hour).collect::<Vec<_>>())
    .bind(rows.keys().map(|(_, family, _)| family.as_str()).collect::<Vec<_>>())
    .bind(rows.keys().map(|(_, _, action)| *action).collect::<Vec<_>>())
    .bind(rows.values().map(|(decisions, _)| *decisions).collect::<Vec<_>>())
    .bind(rows.values().map(|(_, amount)| *amount).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the rollup hours before `cutoff` (hour aligned: retention cut-offs
/// are month starts), in the retention transaction that removes their decisions.
pub(super) async fn forget_before(conn: &mut PgConnection, cutoff: Timestamp) -> Result<(), StoreError> {
    for table in ["decision_rollup", "decision_family_rollup"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE hour < $1")).bind(cutoff).execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn read(
    pool: &PgPool,
    from: Timestamp,
    to: Timestamp,
    bucket: Bucket,
) -> Result<Dashboard, StoreError> {
    // One snapshot for the three statements, so series, types and families agree.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    const WINDOW: &str = "hour >= date_trunc('hour', $1::timestamptz, 'UTC') AND hour < $2";
    let series: Vec<Row<Timestamp>> = sqlx::query_as(&format!(
        "SELECT date_trunc($3, hour, 'UTC') AS bucket, action, SUM(decisions)::int8, SUM(amount)::int8 \
         FROM decision_rollup WHERE {WINDOW} GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .bind(bucket.unit())
    .fetch_all(&mut *tx)
    .await?;
    let by_event_type: Vec<Row<String>> = sqlx::query_as(&format!(
        "SELECT event_type, action, SUM(decisions)::int8, SUM(amount)::int8 \
         FROM decision_rollup WHERE {WINDOW} GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    let by_family: Vec<Row<String>> = sqlx::query_as(&format!(
        "SELECT family, action, SUM(decisions)::int8, SUM(amount)::int8 \
         FROM decision_family_rollup WHERE {WINDOW} GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Dashboard::from_rows(from, to, bucket, series, by_event_type, by_family)
}
