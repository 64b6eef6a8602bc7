//! The model registry on SQLite: every change starts by bumping the registry head,
//! so its transaction holds the write lock before it reads the roles.

use super::audit;
use crate::audit::actions;
use crate::models::{
    audit_entry, audit_state, model_from_row, ModelInfo, ModelKind, ModelRole, ModelRow, NewModel,
    ScoreTally, MODEL_COLUMNS, SCORE_BINS,
};
use crate::time::{from_micros, to_micros};
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::Vault;
use sqlx::{SqliteConnection, SqlitePool};

fn time(micros: i64) -> Result<Timestamp, StoreError> {
    from_micros(micros, "models")
}

async fn bump_head(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE model_registry_head SET version = version + 1 WHERE id = 1").execute(conn).await?;
    Ok(())
}

async fn model(conn: &mut SqliteConnection, version: &str) -> Result<Option<ModelInfo>, StoreError> {
    let row: Option<ModelRow<i64>> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE version = ?"))
            .bind(version)
            .fetch_optional(conn)
            .await?;
    row.map(|row| model_from_row(row, time)).transpose()
}

/// Retires the model holding `role` for `kind`, if any; returns it as it was.
async fn vacate(
    conn: &mut SqliteConnection,
    kind: ModelKind,
    role: ModelRole,
    at: Timestamp,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE models SET role = 'retired', role_changed_at = ? WHERE kind = ? AND role = ? RETURNING version",
    )
    .bind(to_micros(at))
    .bind(kind.as_str())
    .bind(role.as_str())
    .fetch_optional(conn)
    .await?)
}

pub(super) async fn register(
    pool: &SqlitePool,
    vault: &Vault,
    new: &NewModel,
    role: ModelRole,
) -> Result<Option<ModelInfo>, StoreError> {
    let mut tx = pool.begin().await?;
    bump_head(&mut tx).await?;
    if model(&mut tx, &new.version).await?.is_some() {
        tx.rollback().await?;
        return Ok(None);
    }
    let displaced = match role {
        ModelRole::Retired => None,
        live => vacate(&mut tx, new.kind, live, new.created_at).await?,
    };
    sqlx::query(
        "INSERT INTO models (version, kind, role, artifact, metrics, trained_from, trained_to, \
         feature_schema_hash, data_hash, created_at, created_by, role_changed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&new.version)
    .bind(new.kind.as_str())
    .bind(role.as_str())
    .bind(&new.artifact)
    .bind(new.metrics.to_string())
    .bind(to_micros(new.trained_from))
    .bind(to_micros(new.trained_to))
    .bind(&new.feature_schema_hash)
    .bind(&new.data_hash)
    .bind(to_micros(new.created_at))
    .bind(&new.created_by)
    .bind(to_micros(new.created_at))
    .execute(&mut *tx)
    .await?;
    let before = displaced.map(|v| audit_state(&v, new.kind, role));
    let entry = audit_entry(
        actions::MODEL_REGISTER,
        &new.created_by,
        new.kind,
        before,
        audit_state(&new.version, new.kind, role),
        new.created_at,
    );
    audit::append(&mut tx, vault, entry).await?;
    let info = model(&mut tx, &new.version).await?;
    tx.commit().await?;
    Ok(info)
}

pub(super) async fn promote(
    pool: &SqlitePool,
    vault: &Vault,
    version: &str,
    actor: &str,
    at: Timestamp,
) -> Result<Option<ModelInfo>, StoreError> {
    let mut tx = pool.begin().await?;
    bump_head(&mut tx).await?;
    let Some(found) = model(&mut tx, version).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if found.role == ModelRole::Champion {
        tx.rollback().await?;
        return Ok(Some(found));
    }
    let old = vacate(&mut tx, found.kind, ModelRole::Champion, at).await?;
    sqlx::query("UPDATE models SET role = 'champion', role_changed_at = ? WHERE version = ?")
        .bind(to_micros(at))
        .bind(version)
        .execute(&mut *tx)
        .await?;
    let before = old.map(|v| audit_state(&v, found.kind, ModelRole::Champion));
    let entry = audit_entry(
        actions::MODEL_PROMOTE,
        actor,
        found.kind,
        before,
        audit_state(version, found.kind, ModelRole::Champion),
        at,
    );
    audit::append(&mut tx, vault, entry).await?;
    let info = model(&mut tx, version).await?;
    tx.commit().await?;
    Ok(info)
}

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<ModelInfo>, StoreError> {
    let rows: Vec<ModelRow<i64>> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY created_at DESC, version"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(|row| model_from_row(row, time)).collect()
}

pub(super) async fn artifact(pool: &SqlitePool, version: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT artifact FROM models WHERE version = ?")
        .bind(version)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn registry_version(pool: &SqlitePool) -> Result<u64, StoreError> {
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM model_registry_head WHERE id = 1").fetch_one(pool).await?;
    u64::try_from(version).map_err(|_| StoreError::corrupt("model_registry_head", "negative version"))
}

pub(super) async fn add_scores(pool: &SqlitePool, tallies: &[ScoreTally]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for tally in tallies {
        for (bin, &n) in tally.bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            sqlx::query(
                "INSERT INTO model_score_rollup (model_version, hour, bin, scores) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (model_version, hour, bin) DO UPDATE SET scores = scores + excluded.scores",
            )
            .bind(&tally.model_version)
            .bind(to_micros(tally.hour))
            .bind(bin as i64)
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn scores(
    pool: &SqlitePool,
    version: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<[u64; SCORE_BINS], StoreError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT bin, SUM(scores) FROM model_score_rollup \
         WHERE model_version = ? AND hour >= ? AND hour < ? GROUP BY bin",
    )
    .bind(version)
    .bind(to_micros(crate::models::hour_of(from)))
    .bind(to_micros(to))
    .fetch_all(pool)
    .await?;
    crate::models::bins_from_rows(rows)
}

/// A UTC day as stored: the microseconds of its midnight.
fn day_micros(day: chrono::NaiveDate) -> i64 {
    to_micros(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

pub(super) async fn add_inputs(pool: &SqlitePool, tallies: &[crate::InputTally]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for tally in tallies {
        for (bin, &n) in tally.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            sqlx::query(
                "INSERT INTO model_input_rollup (model_version, day, input, bin, count) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (model_version, day, input, bin) DO UPDATE SET count = count + excluded.count",
            )
            .bind(&tally.model_version)
            .bind(day_micros(tally.day))
            .bind(&tally.input)
            .bind(bin as i64)
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn inputs(
    pool: &SqlitePool,
    version: &str,
    day: chrono::NaiveDate,
) -> Result<std::collections::BTreeMap<String, Vec<u64>>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT input, bin, count FROM model_input_rollup WHERE model_version = ? AND day = ?",
    )
    .bind(version)
    .bind(day_micros(day))
    .fetch_all(pool)
    .await?;
    crate::models::inputs_from_rows(rows)
}

pub(super) async fn save_drift(pool: &SqlitePool, report: &crate::DriftReport) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM model_drift WHERE model_version = ? AND day = ?")
        .bind(&report.model_version)
        .bind(day_micros(report.day))
        .execute(&mut *tx)
        .await?;
    for (input, psi) in &report.psi {
        sqlx::query("INSERT INTO model_drift (model_version, day, input, psi) VALUES (?, ?, ?, ?)")
            .bind(&report.model_version)
            .bind(day_micros(report.day))
            .bind(input)
            .bind(psi)
            .execute(&mut *tx)
            .await?;
    }
    if report.needs_retraining {
        sqlx::query(
            "UPDATE models SET needs_retraining_since = COALESCE(needs_retraining_since, ?) WHERE version = ?",
        )
        .bind(to_micros(report.at))
        .bind(&report.model_version)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn drift(
    pool: &SqlitePool,
    version: &str,
) -> Result<Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)>, StoreError> {
    let rows: Vec<(i64, String, f64)> = sqlx::query_as(
        "SELECT day, input, psi FROM model_drift WHERE model_version = ? ORDER BY day DESC, input",
    )
    .bind(version)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)> = Vec::new();
    for (day, input, psi) in rows {
        let day = from_micros(day, "model_drift")?.date_naive();
        match out.last_mut() {
            Some((last, values)) if *last == day => {
                values.insert(input, psi);
            }
            _ => out.push((day, [(input, psi)].into())),
        }
    }
    Ok(out)
}
