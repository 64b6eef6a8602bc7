//! Dashboards on SQLite: the hourly rollups (migration 0004) kept up to date by
//! each save and by retention, and the dashboard read from them. Hours are
//! stored as the integer microseconds of their start, like every timestamp.

use crate::dashboard::{Bucket, Dashboard, Rollup, Row};
use crate::time::{from_micros, to_micros};
use crate::StoreError;
use fds_core::Timestamp;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::BTreeMap;

/// Rollup rows per upsert: five bound parameters each, under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 32_766 / 5;

/// Adds `rollup` (the decisions a save is storing) to the rollup tables, in the
/// save's transaction.
pub(super) async fn add(conn: &mut SqliteConnection, rollup: &Rollup) -> Result<(), StoreError> {
    upsert(conn, "decision_rollup", "event_type", &rollup.by_event_type).await?;
    upsert(conn, "decision_family_rollup", "family", &rollup.by_family).await?;
    upsert(conn, "decision_rule_rollup", "rule_id", &rollup.by_rule).await
}

/// Adds `rows` to the hourly rollup `table` keyed by `key`.
async fn upsert<K: AsRef<str>>(
    conn: &mut SqliteConnection,
    table: &str,
    key: &str,
    rows: &BTreeMap<(Timestamp, K, &'static str), (i64, i64)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = rows.iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = QueryBuilder::<Sqlite>::new(format!(
            "INSERT INTO {table} (hour, {key}, action, decisions, amount) "
        ));
        upsert.push_values(chunk, |mut row, ((hour, name, action), (decisions, amount))| {
            row.push_bind(to_micros(*hour))
                .push_bind(name.as_ref())
                .push_bind(*action)
                .push_bind(*decisions)
                .push_bind(*amount);
        });
        upsert.push(format!(
            " ON CONFLICT (hour, {key}, action) DO UPDATE \
             SET decisions = decisions + excluded.decisions, amount = amount + excluded.amount"
        ));
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Removes the rollup hours before `cutoff` (hour aligned: retention cut-offs
/// are month starts), in the retention transaction that removes their decisions.
pub(super) async fn forget_before(conn: &mut SqliteConnection, cutoff: Timestamp) -> Result<(), StoreError> {
    for table in ["decision_rollup", "decision_family_rollup", "decision_rule_rollup"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE hour < ?"))
            .bind(to_micros(cutoff))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `micros` floored to a multiple of `step` (also before 1970).
fn floor(micros: i64, step: i64) -> i64 {
    micros - micros.rem_euclid(step)
}

pub(super) async fn read(
    pool: &SqlitePool,
    from: Timestamp,
    to: Timestamp,
    bucket: Bucket,
) -> Result<Dashboard, StoreError> {
    let hour = Bucket::Hour.seconds() * 1_000_000;
    let step = bucket.seconds() * 1_000_000;
    let (start, end) = (floor(to_micros(from), hour), to_micros(to));
    // One read transaction, so series, types and families agree.
    let mut tx = pool.begin().await?;
    let series: Vec<Row<i64>> = sqlx::query_as(
        "SELECT hour - (((hour % ?1) + ?1) % ?1) AS bucket, action, SUM(decisions), SUM(amount) \
         FROM decision_rollup WHERE hour >= ?2 AND hour < ?3 GROUP BY 1, 2",
    )
    .bind(step)
    .bind(start)
    .bind(end)
    .fetch_all(&mut *tx)
    .await?;
    let by_event_type: Vec<Row<String>> = sqlx::query_as(
        "SELECT event_type, action, SUM(decisions), SUM(amount) \
         FROM decision_rollup WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *tx)
    .await?;
    let by_family: Vec<Row<String>> = sqlx::query_as(
        "SELECT family, action, SUM(decisions), SUM(amount) \
         FROM decision_family_rollup WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let series = series
        .into_iter()
        .map(|(start, action, decisions, amount)| {
            Ok((from_micros(start, "decision_rollup")?, action, decisions, amount))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Dashboard::from_rows(from, to, bucket, series, by_event_type, by_family)
}

pub(super) async fn rule_hits(
    pool: &SqlitePool,
    from: Timestamp,
    to: Timestamp,
) -> Result<crate::RuleHits, StoreError> {
    let hour = Bucket::Hour.seconds() * 1_000_000;
    let rows: Vec<Row<String>> = sqlx::query_as(
        "SELECT rule_id, action, SUM(decisions), SUM(amount) \
         FROM decision_rule_rollup WHERE hour >= ? AND hour < ? GROUP BY 1, 2",
    )
    .bind(floor(to_micros(from), hour))
    .bind(to_micros(to))
    .fetch_all(pool)
    .await?;
    crate::dashboard::rule_hits(rows)
}

#[cfg(test)]
mod tests {
    use super::floor;

    #[test]
    fn hours_floor_towards_the_past_on_both_sides_of_1970() {
        assert_eq!(floor(7_200_000_001, 3_600_000_000), 7_200_000_000);
        assert_eq!(floor(-1, 3_600_000_000), -3_600_000_000);
        assert_eq!(floor(0, 3_600_000_000), 0);
    }
}
