//! Dashboards on Postgres: the hourly rollups (migration 0004) and the daily ones
//! (migration 0006), kept up to date by each save and by retention, and the
//! dashboard read from them.

use crate::dashboard::{Bucket, Dashboard, Rollup, Row};
use crate::StoreError;
use fds_core::Timestamp;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;

/// Adds `rollup` (the decisions a save is storing) to the rollup tables, in the
/// save's transaction. Rows are upserted in key order (see [`Rollup`]); the save
/// runs this last, so the hot rows of the current hour are locked only until the
/// commit.
pub(super) async fn add(conn: &mut PgConnection, rollup: &Rollup) -> Result<(), StoreError> {
    if rollup.by_event_type.is_empty() {
        return Ok(());
    }
    upsert(conn, &hourly("decision_rollup", "event_type"), &rollup.by_event_type).await?;
    upsert(conn, &hourly("decision_family_rollup", "family"), &rollup.by_family).await?;
    upsert(conn, &hourly("decision_rule_rollup", "rule_id"), &rollup.by_rule).await?;
    // The same rows summed per UTC day, upserted in key order like the hours.
    upsert(conn, &daily("decision_rollup_daily", "event_type"), &rollup.by_event_type).await?;
    upsert(conn, &daily("decision_family_rollup_daily", "family"), &rollup.by_family).await?;
    Ok(())
}

/// The upsert of rollup rows into the hourly `table` keyed by `key`.
fn hourly(table: &str, key: &str) -> String {
    format!(
        "INSERT INTO {table} AS r (hour, {key}, action, decisions, amount) \
         SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
         ON CONFLICT (hour, {key}, action) DO UPDATE \
         SET decisions = r.decisions + EXCLUDED.decisions, amount = r.amount + EXCLUDED.amount"
    )
}

/// The upsert of rollup rows, summed per UTC day, into the daily `table`.
fn daily(table: &str, key: &str) -> String {
    format!(
        "INSERT INTO {table} AS r (day, {key}, action, decisions, amount) \
         SELECT date_trunc('day', hour, 'UTC'), key, action, SUM(decisions), SUM(amount) \
         FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::int8[], $5::int8[]) \
              AS batch (hour, key, action, decisions, amount) \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 \
         ON CONFLICT (day, {key}, action) DO UPDATE \
         SET decisions = r.decisions + EXCLUDED.decisions, amount = r.amount + EXCLUDED.amount"
    )
}

/// Runs `sql` ([`hourly`] or [`daily`]) with `rows` bound as its five columns.
async fn upsert<K: AsRef<str>>(
    conn: &mut PgConnection,
    sql: &str,
    rows: &BTreeMap<(Timestamp, K, &'static str), (i64, i64)>,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(sql)
        .bind(rows.keys().map(|(hour, _, _)| *hour).collect::<Vec<_>>())
        .bind(rows.keys().map(|(_, key, _)| key.as_ref()).collect::<Vec<_>>())
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
    for (table, column) in [
        ("decision_rollup", "hour"),
        ("decision_family_rollup", "hour"),
        ("decision_rule_rollup", "hour"),
        ("decision_rollup_daily", "day"),
        ("decision_family_rollup_daily", "day"),
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} < $1"))
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
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
    // Daily buckets read the whole UTC days of the window from the daily rollups
    // and the hours before the first and after the last whole day from the hourly
    // ones; hourly buckets read hours only.
    let first_hour = crate::dashboard::hour_of(from);
    let (days_from, days_to) = match bucket {
        Bucket::Day => {
            let first_day = crate::dashboard::day_of(first_hour);
            let days_from =
                if first_day == first_hour { first_day } else { first_day + chrono::Duration::days(1) };
            (days_from, crate::dashboard::day_of(to).max(days_from))
        }
        Bucket::Hour => (first_hour, first_hour),
    };
    let source = |hourly: &str, daily: &str, key: &str| {
        format!(
            "(SELECT hour AS at, {key} AS key, action, decisions, amount FROM {hourly} \
              WHERE hour >= $1 AND hour < $2 AND NOT (hour >= $3 AND hour < $4) \
              UNION ALL \
              SELECT day, {key}, action, decisions, amount FROM {daily} WHERE day >= $3 AND day < $4) AS r"
        )
    };
    let decisions = source("decision_rollup", "decision_rollup_daily", "event_type");
    let families = source("decision_family_rollup", "decision_family_rollup_daily", "family");
    let series: Vec<Row<Timestamp>> = sqlx::query_as(&format!(
        "SELECT date_trunc($5, at, 'UTC') AS bucket, action, SUM(decisions)::int8, SUM(amount)::int8 \
         FROM {decisions} GROUP BY 1, 2"
    ))
    .bind(first_hour)
    .bind(to)
    .bind(days_from)
    .bind(days_to)
    .bind(bucket.unit())
    .fetch_all(&mut *tx)
    .await?;
    let by_event_type: Vec<Row<String>> = sqlx::query_as(&format!(
        "SELECT key, action, SUM(decisions)::int8, SUM(amount)::int8 FROM {decisions} GROUP BY 1, 2"
    ))
    .bind(first_hour)
    .bind(to)
    .bind(days_from)
    .bind(days_to)
    .fetch_all(&mut *tx)
    .await?;
    let by_family: Vec<Row<String>> = sqlx::query_as(&format!(
        "SELECT key, action, SUM(decisions)::int8, SUM(amount)::int8 FROM {families} GROUP BY 1, 2"
    ))
    .bind(first_hour)
    .bind(to)
    .bind(days_from)
    .bind(days_to)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Dashboard::from_rows(from, to, bucket, series, by_event_type, by_family)
}

pub(super) async fn rule_hits(
    pool: &PgPool,
    from: Timestamp,
    to: Timestamp,
) -> Result<crate::RuleHits, StoreError> {
    let rows: Vec<Row<String>> = sqlx::query_as(
        "SELECT rule_id, action, SUM(decisions)::int8, SUM(amount)::int8 FROM decision_rule_rollup \
         WHERE hour >= $1 AND hour < $2 GROUP BY 1, 2",
    )
    .bind(crate::dashboard::hour_of(from))
    .bind(to)
    .fetch_all(pool)
    .await?;
    crate::dashboard::rule_hits(rows)
}
