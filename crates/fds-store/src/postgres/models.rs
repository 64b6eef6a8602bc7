//! The model registry on Postgres: every change starts by bumping the registry
//! head row, whose lock queues concurrent changes until the first commits, so two
//! promotions of the same kind never race on the champion's unique index.

use super::audit;
use crate::audit::actions;
use crate::models::{
    audit_entry, audit_state, model_from_row, ModelInfo, ModelKind, ModelRole, ModelRow, NewModel,
    ScoreTally, MODEL_COLUMNS, SCORE_BINS,
};
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::Vault;
use sqlx::{PgConnection, PgPool};

async fn bump_head(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE model_registry_head SET version = version + 1 WHERE id = 1").execute(conn).await?;
    Ok(())
}

async fn model(conn: &mut PgConnection, version: &str) -> Result<Option<ModelInfo>, StoreError> {
    let row: Option<ModelRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE version = $1"))
            .bind(version)
            .fetch_optional(conn)
            .await?;
    row.map(|row| model_from_row(row, Ok)).transpose()
}

/// Retires the model holding `role` for `kind`, if any; returns its version.
async fn vacate(
    conn: &mut PgConnection,
    kind: ModelKind,
    role: ModelRole,
    at: Timestamp,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE models SET role = 'retired', role_changed_at = $1 WHERE kind = $2 AND role = $3 \
         RETURNING version",
    )
    .bind(at)
    .bind(kind.as_str())
    .bind(role.as_str())
    .fetch_optional(conn)
    .await?)
}

pub(super) async fn register(
    pool: &PgPool,
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
         VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $10)",
    )
    .bind(&new.version)
    .bind(new.kind.as_str())
    .bind(role.as_str())
    .bind(&new.artifact)
    .bind(new.metrics.to_string())
    .bind(new.trained_from)
    .bind(new.trained_to)
    .bind(&new.feature_schema_hash)
    .bind(&new.data_hash)
    .bind(new.created_at)
    .bind(&new.created_by)
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
    pool: &PgPool,
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
    sqlx::query("UPDATE models SET role = 'champion', role_changed_at = $1 WHERE version = $2")
        .bind(at)
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

pub(super) async fn list(pool: &PgPool) -> Result<Vec<ModelInfo>, StoreError> {
    let rows: Vec<ModelRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY created_at DESC, version"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(|row| model_from_row(row, Ok)).collect()
}

pub(super) async fn artifact(pool: &PgPool, version: &str) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT artifact FROM models WHERE version = $1")
        .bind(version)
        .fetch_optional(pool)
        .await?)
}

pub(super) async fn registry_version(pool: &PgPool) -> Result<u64, StoreError> {
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM model_registry_head WHERE id = 1").fetch_one(pool).await?;
    u64::try_from(version).map_err(|_| StoreError::corrupt("model_registry_head", "negative version"))
}

pub(super) async fn add_scores(pool: &PgPool, tallies: &[ScoreTally]) -> Result<(), StoreError> {
    let (mut versions, mut hours, mut bins, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for tally in tallies {
        for (bin, &n) in tally.bins.iter().enumerate().filter(|(_, n)| **n > 0) {
            versions.push(tally.model_version.as_str());
            hours.push(tally.hour);
            bins.push(bin as i16);
            counts.push(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    if versions.is_empty() {
        return Ok(());
    }
    // One statement; rows of the same key are summed first (an upsert may touch a
    // row once per statement).
    sqlx::query(
        "INSERT INTO model_score_rollup (model_version, hour, bin, scores) \
         SELECT v, h, b, SUM(n) FROM UNNEST($1::text[], $2::timestamptz[], $3::smallint[], $4::bigint[]) \
             AS t(v, h, b, n) GROUP BY v, h, b \
         ON CONFLICT (model_version, hour, bin) DO UPDATE \
             SET scores = model_score_rollup.scores + excluded.scores",
    )
    .bind(&versions)
    .bind(&hours)
    .bind(&bins)
    .bind(&counts)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn scores(
    pool: &PgPool,
    version: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<[u64; SCORE_BINS], StoreError> {
    let rows: Vec<(i16, i64)> = sqlx::query_as(
        "SELECT bin, SUM(scores)::bigint FROM model_score_rollup \
         WHERE model_version = $1 AND hour >= $2 AND hour < $3 GROUP BY bin",
    )
    .bind(version)
    .bind(crate::models::hour_of(from))
    .bind(to)
    .fetch_all(pool)
    .await?;
    crate::models::bins_from_rows(rows.into_iter().map(|(b, n)| (i64::from(b), n)).collect())
}

pub(super) async fn add_inputs(pool: &PgPool, tallies: &[crate::InputTally]) -> Result<(), StoreError> {
    let (mut versions, mut days, mut inputs, mut bins, mut counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for tally in tallies {
        for (bin, &n) in tally.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            versions.push(tally.model_version.as_str());
            days.push(tally.day);
            inputs.push(tally.input.as_str());
            bins.push(i16::try_from(bin).unwrap_or(i16::MAX));
            counts.push(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }
    if versions.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO model_input_rollup (model_version, day, input, bin, count) \
         SELECT v, d, i, b, SUM(n) \
         FROM UNNEST($1::text[], $2::date[], $3::text[], $4::smallint[], $5::bigint[]) AS t(v, d, i, b, n) \
         GROUP BY v, d, i, b \
         ON CONFLICT (model_version, day, input, bin) DO UPDATE \
             SET count = model_input_rollup.count + excluded.count",
    )
    .bind(&versions)
    .bind(&days)
    .bind(&inputs)
    .bind(&bins)
    .bind(&counts)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn inputs(
    pool: &PgPool,
    version: &str,
    day: chrono::NaiveDate,
) -> Result<std::collections::BTreeMap<String, Vec<u64>>, StoreError> {
    let rows: Vec<(String, i16, i64)> = sqlx::query_as(
        "SELECT input, bin, count FROM model_input_rollup WHERE model_version = $1 AND day = $2",
    )
    .bind(version)
    .bind(day)
    .fetch_all(pool)
    .await?;
    crate::models::inputs_from_rows(rows.into_iter().map(|(i, b, n)| (i, i64::from(b), n)).collect())
}

pub(super) async fn save_drift(pool: &PgPool, report: &crate::DriftReport) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM model_drift WHERE model_version = $1 AND day = $2")
        .bind(&report.model_version)
        .bind(report.day)
        .execute(&mut *tx)
        .await?;
    let (inputs, values): (Vec<&str>, Vec<f64>) = report.psi.iter().map(|(i, p)| (i.as_str(), *p)).unzip();
    sqlx::query(
        "INSERT INTO model_drift (model_version, day, input, psi) \
         SELECT $1, $2, i, p FROM UNNEST($3::text[], $4::float8[]) AS t(i, p)",
    )
    .bind(&report.model_version)
    .bind(report.day)
    .bind(&inputs)
    .bind(&values)
    .execute(&mut *tx)
    .await?;
    if report.needs_retraining {
        sqlx::query(
            "UPDATE models SET needs_retraining_since = COALESCE(needs_retraining_since, $1) WHERE version = $2",
        )
        .bind(report.at)
        .bind(&report.model_version)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn drift(
    pool: &PgPool,
    version: &str,
) -> Result<Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)>, StoreError> {
    let rows: Vec<(chrono::NaiveDate, String, f64)> = sqlx::query_as(
        "SELECT day, input, psi FROM model_drift WHERE model_version = $1 ORDER BY day DESC, input",
    )
    .bind(version)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<(chrono::NaiveDate, std::collections::BTreeMap<String, f64>)> = Vec::new();
    for (day, input, psi) in rows {
        match out.last_mut() {
            Some((last, values)) if *last == day => {
                values.insert(input, psi);
            }
            _ => out.push((day, [(input, psi)].into())),
        }
    }
    Ok(out)
}
