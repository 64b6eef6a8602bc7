//! Retention and legal holds on Postgres.
//!
//! Whole month partitions are dropped: each in a transaction of its own that first
//! takes a SHARE lock on `legal_holds` (no hold is placed or lifted meanwhile),
//! copies the partition's held rows into `held_decisions` / `held_events`, drops
//! the partition and deletes the `event_ids` rows of that month nothing refers to
//! any more. The events partition holding the events cut-off loses its expired
//! unheld rows by DELETE. Rows in the hold tables whose hold was lifted are deleted
//! once past their cut-off.

use super::audit;
use super::partitions::{Month, Partitions};
use crate::codec::count;
use crate::retention::{LegalHold, RetentionPolicy, RetentionReport, DECISIONS, EVENTS};
use crate::StoreError;
use fds_core::{Pii, Timestamp};
use fds_vault::Vault;
use sqlx::{PgConnection, PgPool};

/// The subscribers with an active hold, as a sub-select.
const HELD: &str = "(SELECT subscriber FROM legal_holds WHERE lifted_at IS NULL)";

type HoldRow = (i64, String, Option<String>, String, String, Timestamp);

fn hold(vault: &Vault, row: HoldRow) -> Result<LegalHold, StoreError> {
    let (hold_id, subscriber, case_id, reason, placed_by, placed_at) = row;
    let subscriber = Pii::new(crate::pii::open_subscriber(vault, "legal_holds", &subscriber)?);
    Ok(LegalHold { hold_id, subscriber, case_id, reason, placed_by, placed_at })
}

pub(super) async fn place_hold(
    pool: &PgPool,
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
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at",
    )
    .bind(crate::pii::index(vault, subscriber))
    .bind(crate::pii::seal_subscriber(vault, subscriber))
    .bind(case_id)
    .bind(reason)
    .bind(actor)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    let hold = hold(vault, row)?;
    audit::append(&mut tx, vault, hold.placed_entry()).await?;
    tx.commit().await?;
    Ok(hold)
}

pub(super) async fn lift_hold(
    pool: &PgPool,
    vault: &Vault,
    hold_id: i64,
    actor: &str,
    reason: &str,
    at: Timestamp,
) -> Result<Option<LegalHold>, StoreError> {
    let mut tx = pool.begin().await?;
    let row: Option<HoldRow> = sqlx::query_as(
        "UPDATE legal_holds SET lifted_by = $1, lifted_at = $2 WHERE hold_id = $3 AND lifted_at IS NULL \
         RETURNING hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at",
    )
    .bind(actor)
    .bind(at)
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

pub(super) async fn holds(pool: &PgPool, vault: &Vault) -> Result<Vec<LegalHold>, StoreError> {
    let rows: Vec<HoldRow> = sqlx::query_as(
        "SELECT hold_id, subscriber_sealed, case_id, reason, placed_by, placed_at FROM legal_holds \
         WHERE lifted_at IS NULL ORDER BY hold_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| hold(vault, row)).collect()
}

/// A partitioned table retention works on, with its hold table.
struct Table {
    /// `decisions` or `events`, also the name the report uses.
    name: &'static str,
    held: &'static str,
    /// The columns of both, in the same order.
    columns: &'static str,
}

const TABLES: [Table; 2] = [
    Table {
        name: DECISIONS,
        held: "held_decisions",
        columns: "decision_id, event_id, subscriber, action, score, rules_version, occurred_at, \
                  decided_at, decision",
    },
    Table {
        name: EVENTS,
        held: "held_events",
        columns: "event_id, subscriber, event_type, occurred_at, received_at, payload",
    },
];

pub(super) async fn run(
    pool: &PgPool,
    vault: &Vault,
    partitions: &Partitions,
    policy: RetentionPolicy,
    now: Timestamp,
    dry_run: bool,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::new(policy, now, dry_run)?;
    for table in &TABLES {
        let cutoff = if table.name == DECISIONS { report.decisions_cutoff } else { report.events_cutoff };
        // Rows an earlier run kept for a hold (before this run copies more): still
        // held ones are reported as held, those whose hold was lifted go now.
        let mut tx = pool.begin().await?;
        lock_holds(&mut tx, dry_run).await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, \
                    COUNT(*) FILTER (WHERE NOT held), COUNT(*) FILTER (WHERE held) \
             FROM (SELECT occurred_at, subscriber IN {HELD} AS held FROM {held_table} \
                   WHERE occurred_at < $1) AS expired \
             GROUP BY month ORDER BY month",
            held_table = table.held
        ))
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        for (month, removed, held) in rows {
            report.add(table.name, &month, count(removed, table.held)?, count(held, table.held)?);
        }
        if !dry_run {
            let released: Vec<Timestamp> = sqlx::query_scalar(&format!(
                "DELETE FROM {held_table} WHERE occurred_at < $1 AND subscriber NOT IN {HELD} \
                 RETURNING occurred_at",
                held_table = table.held
            ))
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let months: std::collections::BTreeSet<Month> = released.into_iter().map(Month::of).collect();
            for month in months {
                prune_event_ids(&mut tx, month.start()?, month.next().start()?).await?;
            }
        }
        tx.commit().await?;
        for (name, month) in partitions_of(pool, table.name).await? {
            let (start, end) = (month.start()?, month.next().start()?);
            if end <= cutoff {
                let mut tx = pool.begin().await?;
                lock_holds(&mut tx, dry_run).await?;
                let (removed, held) = expired(&mut tx, &name, cutoff).await?;
                report.add(table.name, &month.label(), removed, held);
                if !dry_run {
                    sqlx::query(&format!(
                        "INSERT INTO {held_table} ({columns}) SELECT {columns} FROM \"{name}\" \
                         WHERE subscriber IN {HELD} ON CONFLICT DO NOTHING",
                        held_table = table.held,
                        columns = table.columns,
                    ))
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(&format!("DROP TABLE \"{name}\"")).execute(&mut *tx).await?;
                    prune_event_ids(&mut tx, start, end).await?;
                    if table.name == DECISIONS {
                        super::dashboard::forget_before(&mut tx, end).await?;
                    }
                }
                tx.commit().await?;
                report.partitions_dropped.push(name);
            } else if start < cutoff {
                // The month the cut-off falls in: only its older rows go.
                let mut tx = pool.begin().await?;
                lock_holds(&mut tx, dry_run).await?;
                let (removed, held) = expired(&mut tx, &name, cutoff).await?;
                report.add(table.name, &month.label(), removed, held);
                if !dry_run {
                    sqlx::query(&format!(
                        "DELETE FROM \"{name}\" WHERE occurred_at < $1 AND subscriber NOT IN {HELD}"
                    ))
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                    prune_event_ids(&mut tx, start, cutoff).await?;
                    if table.name == DECISIONS {
                        super::dashboard::forget_before(&mut tx, cutoff).await?;
                    }
                }
                tx.commit().await?;
            }
        }
    }
    if !dry_run {
        partitions.forget();
    }
    let report = report.sorted();
    if !dry_run {
        let mut tx = pool.begin().await?;
        audit::append(&mut tx, vault, report.audit_entry(now)).await?;
        tx.commit().await?;
    }
    Ok(report)
}

/// The partitions of `parent` and their months, oldest first. Tables whose name
/// is not `<parent>_YYYY_MM` are left alone.
async fn partitions_of(pool: &PgPool, parent: &str) -> Result<Vec<(String, Month)>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT child.relname::text FROM pg_inherits \
         JOIN pg_class child ON child.oid = pg_inherits.inhrelid \
         WHERE pg_inherits.inhparent = to_regclass($1) ORDER BY 1",
    )
    .bind(parent)
    .fetch_all(pool)
    .await?;
    Ok(names
        .into_iter()
        .filter_map(|name| Month::of_partition(parent, &name).map(|month| (name, month)))
        .collect())
}

/// In a real run, keeps holds from being placed or lifted until the transaction
/// ends, so what is copied aside is exactly what is held when the rows go.
async fn lock_holds(conn: &mut PgConnection, dry_run: bool) -> Result<(), StoreError> {
    if !dry_run {
        sqlx::query("LOCK TABLE legal_holds IN SHARE MODE").execute(conn).await?;
    }
    Ok(())
}

/// The rows of `partition` that occurred before `cutoff`: how many are not held
/// (to remove) and how many are held.
async fn expired(
    conn: &mut PgConnection,
    partition: &str,
    cutoff: Timestamp,
) -> Result<(u64, u64), StoreError> {
    let (removed, held): (i64, i64) = sqlx::query_as(&format!(
        "SELECT COUNT(*) FILTER (WHERE NOT held), COUNT(*) FILTER (WHERE held) \
         FROM (SELECT subscriber IN {HELD} AS held FROM \"{partition}\" WHERE occurred_at < $1) AS expired"
    ))
    .bind(cutoff)
    .fetch_one(conn)
    .await?;
    Ok((count(removed, "retention")?, count(held, "retention")?))
}

/// Deletes the `event_ids` rows of `[from, to)` whose event and decision are both
/// gone (from the partitions and the hold tables): a redelivery of such an event
/// would be stored again, which is what expiry means. Rows something still refers
/// to stay, so their event stays a duplicate.
async fn prune_event_ids(conn: &mut PgConnection, from: Timestamp, to: Timestamp) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM event_ids AS id WHERE id.occurred_at >= $1 AND id.occurred_at < $2 \
         AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.event_id = id.event_id \
                         AND d.occurred_at = id.occurred_at) \
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = id.event_id \
                         AND e.occurred_at = id.occurred_at) \
         AND NOT EXISTS (SELECT 1 FROM held_decisions h WHERE h.event_id = id.event_id) \
         AND NOT EXISTS (SELECT 1 FROM held_events h WHERE h.event_id = id.event_id)",
    )
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}
