//! Rule packs on Postgres (see `src/packs.rs`). Every write transaction starts by
//! locking the one `rule_epoch` row (`lock`), so pack transactions run one at a time.

use super::audit;
use crate::packs::{
    self, actions, change_from_row, suppression_from_row, version_from_row, version_to, ChangeRow,
    ChangeState, ChangedFile, NewSuppression, PackVersion, RuleChange, ShadowTally, Suppression,
    SuppressionRow, VersionRow, CHANGE_COLUMNS, SUPPRESSION_COLUMNS, VERSION_COLUMNS,
};
use crate::{AuditEntry, StoreError};
use fds_core::Timestamp;
use fds_rules::PackFiles;
use fds_vault::Vault;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

fn time(_table: &'static str) -> impl Fn(Timestamp) -> Result<Timestamp, StoreError> {
    Ok
}

/// Takes the write lock; with `bump`, also moves the epoch replicas poll.
async fn lock(conn: &mut PgConnection, bump: bool) -> Result<(), StoreError> {
    sqlx::query("UPDATE rule_epoch SET epoch = epoch + $1 WHERE id = 1")
        .bind(i64::from(bump))
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn epoch(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT epoch FROM rule_epoch WHERE id = 1").fetch_one(pool).await?)
}

pub(super) async fn versions(pool: &PgPool, limit: u32) -> Result<Vec<PackVersion>, StoreError> {
    let rows: Vec<VersionRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS} FROM rule_pack_versions ORDER BY version DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|r| version_from_row(r, time("rule_pack_versions"))).collect()
}

async fn head(conn: &mut PgConnection) -> Result<u64, StoreError> {
    let head: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM rule_pack_versions").fetch_one(conn).await?;
    packs::version_from(head.unwrap_or(0))
}

async fn files_at(conn: &mut PgConnection, version: u64) -> Result<PackFiles, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT f.path, f.body FROM rule_pack_files f \
         WHERE f.version = (SELECT max(g.version) FROM rule_pack_files g WHERE g.path = f.path AND g.version <= $1) \
         AND f.body IS NOT NULL ORDER BY f.path",
    )
    .bind(version_to(version))
    .fetch_all(conn)
    .await?;
    let mut files = PackFiles::new();
    for (path, body) in rows {
        files.insert(path, body).map_err(|e| StoreError::corrupt("rule_pack_files", e))?;
    }
    Ok(files)
}

pub(super) async fn pack_files(pool: &PgPool, version: u64) -> Result<PackFiles, StoreError> {
    let mut conn = pool.acquire().await?;
    files_at(&mut conn, version).await
}

async fn insert_version(
    conn: &mut PgConnection,
    version: &PackVersion,
    files: impl Iterator<Item = (&str, Option<&str>)>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO rule_pack_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(version_to(version.version))
    .bind(&version.content_hash)
    .bind(version.change_id)
    .bind(&version.published_by)
    .bind(version.published_at)
    .bind(&version.note)
    .execute(&mut *conn)
    .await?;
    for (path, body) in files {
        sqlx::query("INSERT INTO rule_pack_files (path, version, body) VALUES ($1, $2, $3)")
            .bind(path)
            .bind(version_to(version.version))
            .bind(body)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn seed(
    pool: &PgPool,
    vault: &Vault,
    files: &PackFiles,
    content_hash: &str,
    actor: &str,
    at: Timestamp,
) -> Result<Option<PackVersion>, StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    if head(&mut tx).await? != 0 {
        return Ok(None);
    }
    let version = PackVersion {
        version: 1,
        content_hash: content_hash.to_string(),
        change_id: None,
        published_by: actor.to_string(),
        published_at: at,
        note: "seeded from the rule files".to_string(),
    };
    insert_version(&mut tx, &version, files.iter().map(|(p, b)| (p, Some(b)))).await?;
    let entry = AuditEntry {
        actor: actor.to_string(),
        action: actions::SEED.into(),
        target: "rule_pack:v1".into(),
        before: None,
        after: Some(json!({ "version": 1, "content_hash": content_hash, "files": files.len() })),
        at,
    };
    audit::append(&mut tx, vault, entry).await?;
    tx.commit().await?;
    Ok(Some(version))
}

async fn change_files(conn: &mut PgConnection, change_id: i64) -> Result<Vec<ChangedFile>, StoreError> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT path, body FROM rule_change_files WHERE change_id = $1 ORDER BY path")
            .bind(change_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(path, body)| ChangedFile { path, body }).collect())
}

async fn load_change(conn: &mut PgConnection, change_id: i64) -> Result<Option<RuleChange>, StoreError> {
    let row: Option<ChangeRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {CHANGE_COLUMNS} FROM rule_changes WHERE change_id = $1"))
            .bind(change_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let files = change_files(conn, change_id).await?;
    change_from_row(row, files, time("rule_changes")).map(Some)
}

async fn existing_change(conn: &mut PgConnection, change_id: i64) -> Result<RuleChange, StoreError> {
    load_change(conn, change_id)
        .await?
        .ok_or_else(|| StoreError::Refused(format!("there is no change {change_id}")))
}

async fn put_files(conn: &mut PgConnection, change_id: i64, files: &[ChangedFile]) -> Result<(), StoreError> {
    for file in files {
        sqlx::query(
            "INSERT INTO rule_change_files (change_id, path, body) VALUES ($1, $2, $3) \
             ON CONFLICT (change_id, path) DO UPDATE SET body = excluded.body",
        )
        .bind(change_id)
        .bind(&file.path)
        .bind(file.body.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn change(pool: &PgPool, change_id: i64) -> Result<Option<RuleChange>, StoreError> {
    let mut conn = pool.acquire().await?;
    load_change(&mut conn, change_id).await
}

pub(super) async fn changes(
    pool: &PgPool,
    state: Option<ChangeState>,
) -> Result<Vec<RuleChange>, StoreError> {
    let mut conn = pool.acquire().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT change_id FROM rule_changes WHERE ($1::text IS NULL OR state = $1) ORDER BY change_id",
    )
    .bind(state.map(ChangeState::as_str))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(load_change(&mut conn, id).await?);
    }
    Ok(out)
}

pub(super) async fn create_change(
    pool: &PgPool,
    vault: &Vault,
    title: &str,
    author: &str,
    base_version: u64,
    files: &[ChangedFile],
    at: Timestamp,
) -> Result<RuleChange, StoreError> {
    packs::check_files(files)?;
    let mut tx = pool.begin().await?;
    lock(&mut tx, false).await?;
    let head = head(&mut tx).await?;
    if base_version == 0 || base_version > head {
        return Err(StoreError::Refused(format!(
            "there is no published version v{base_version} (live: v{head})"
        )));
    }
    let change_id: i64 = sqlx::query_scalar(
        "INSERT INTO rule_changes (title, author, base_version, state, shadow, created_at, updated_at) \
         VALUES ($1, $2, $3, 'draft', false, $4, $5) RETURNING change_id",
    )
    .bind(title)
    .bind(author)
    .bind(version_to(base_version))
    .bind(at)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    put_files(&mut tx, change_id, files).await?;
    let change = existing_change(&mut tx, change_id).await?;
    let base = files_at(&mut tx, base_version).await?;
    audit::append(&mut tx, vault, packs::draft_entry(&change, actions::DRAFT_CREATE, &base, files)).await?;
    tx.commit().await?;
    Ok(change)
}

pub(super) async fn update_change(
    pool: &PgPool,
    vault: &Vault,
    change_id: i64,
    actor: &str,
    files: &[ChangedFile],
    at: Timestamp,
) -> Result<RuleChange, StoreError> {
    packs::check_files(files)?;
    let mut tx = pool.begin().await?;
    lock(&mut tx, false).await?;
    let before = existing_change(&mut tx, change_id).await?;
    packs::check_edit(&before, actor)?;
    let bump = before.shadow;
    put_files(&mut tx, change_id, files).await?;
    sqlx::query("UPDATE rule_changes SET updated_at = $1 WHERE change_id = $2")
        .bind(at)
        .bind(change_id)
        .execute(&mut *tx)
        .await?;
    if bump {
        // A draft in shadow changed: replicas reload it.
        lock(&mut tx, true).await?;
    }
    let change = existing_change(&mut tx, change_id).await?;
    let base =
        before.apply_to(&files_at(&mut tx, before.base_version).await?).map_err(StoreError::Refused)?;
    audit::append(&mut tx, vault, packs::draft_entry(&change, actions::DRAFT_UPDATE, &base, files)).await?;
    tx.commit().await?;
    Ok(change)
}

pub(super) async fn publish(
    pool: &PgPool,
    vault: &Vault,
    change_id: i64,
    publisher: &str,
    expected_head: u64,
    content_hash: &str,
    at: Timestamp,
) -> Result<PackVersion, StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    let before = existing_change(&mut tx, change_id).await?;
    let head = head(&mut tx).await?;
    let touched: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT path FROM rule_pack_files WHERE version > $1 ORDER BY path")
            .bind(version_to(before.base_version))
            .fetch_all(&mut *tx)
            .await?;
    let touched = packs::touched_by(&before, &touched);
    packs::check_publish(&before, publisher, head, expected_head, &touched)?;
    let live = files_at(&mut tx, head).await?;
    let version = PackVersion {
        version: head + 1,
        content_hash: content_hash.to_string(),
        change_id: Some(change_id),
        published_by: publisher.to_string(),
        published_at: at,
        note: before.title.clone(),
    };
    insert_version(&mut tx, &version, before.files.iter().map(|f| (f.path.as_str(), f.body.as_deref())))
        .await?;
    sqlx::query(
        "UPDATE rule_changes SET state = 'published', shadow = false, published_version = $1, closed_by = $2, \
         closed_at = $3, updated_at = $4 WHERE change_id = $5",
    )
    .bind(version_to(version.version))
    .bind(publisher)
    .bind(at)
    .bind(at)
    .bind(change_id)
    .execute(&mut *tx)
    .await?;
    let after = existing_change(&mut tx, change_id).await?;
    let extra = json!({ "version": version.version, "content_hash": content_hash, "diff": packs::diff_json(&live, &before.files) });
    let entry = packs::transition_entry(&before, &after, actions::PUBLISH, publisher, at, Some(extra));
    audit::append(&mut tx, vault, entry).await?;
    tx.commit().await?;
    Ok(version)
}

pub(super) async fn withdraw(
    pool: &PgPool,
    vault: &Vault,
    change_id: i64,
    actor: &str,
    at: Timestamp,
) -> Result<RuleChange, StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    let before = existing_change(&mut tx, change_id).await?;
    packs::check_edit(&before, actor)?;
    sqlx::query(
        "UPDATE rule_changes SET state = 'withdrawn', shadow = false, closed_by = $1, closed_at = $2, updated_at = $3 \
         WHERE change_id = $4",
    )
    .bind(actor)
    .bind(at)
    .bind(at)
    .bind(change_id)
    .execute(&mut *tx)
    .await?;
    let after = existing_change(&mut tx, change_id).await?;
    let entry = packs::transition_entry(&before, &after, actions::DRAFT_WITHDRAW, actor, at, None);
    audit::append(&mut tx, vault, entry).await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn set_shadow(
    pool: &PgPool,
    vault: &Vault,
    change_id: i64,
    actor: &str,
    shadow: bool,
    at: Timestamp,
) -> Result<RuleChange, StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    let before = existing_change(&mut tx, change_id).await?;
    packs::check_shadow(&before)?;
    sqlx::query("UPDATE rule_changes SET shadow = $1, updated_at = $2 WHERE change_id = $3")
        .bind(shadow)
        .bind(at)
        .bind(change_id)
        .execute(&mut *tx)
        .await?;
    let after = existing_change(&mut tx, change_id).await?;
    let action = if shadow { actions::SHADOW_START } else { actions::SHADOW_STOP };
    audit::append(&mut tx, vault, packs::transition_entry(&before, &after, action, actor, at, None)).await?;
    tx.commit().await?;
    Ok(after)
}

pub(super) async fn add_suppression(
    pool: &PgPool,
    vault: &Vault,
    new: &NewSuppression,
) -> Result<Suppression, StoreError> {
    new.problems()?;
    let (index, entity) = packs::seal_entity(vault, new.kind, &new.value);
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    let row: SuppressionRow<Timestamp> = sqlx::query_as(&format!(
        "INSERT INTO rule_suppressions \
         (rule_id, entity_kind, entity_index, entity, reason, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SUPPRESSION_COLUMNS}"
    ))
    .bind(&new.rule_id)
    .bind(new.kind.as_str())
    .bind(index)
    .bind(entity)
    .bind(&new.reason)
    .bind(&new.created_by)
    .bind(new.created_at)
    .bind(new.expires_at)
    .fetch_one(&mut *tx)
    .await?;
    let suppression = suppression_from_row(vault, row, time("rule_suppressions"))?;
    audit::append(&mut tx, vault, suppression.added_entry()).await?;
    tx.commit().await?;
    Ok(suppression)
}

pub(super) async fn lift_suppression(
    pool: &PgPool,
    vault: &Vault,
    suppression_id: i64,
    actor: &str,
    reason: &str,
    at: Timestamp,
) -> Result<Option<Suppression>, StoreError> {
    let mut tx = pool.begin().await?;
    lock(&mut tx, true).await?;
    let row: Option<SuppressionRow<Timestamp>> = sqlx::query_as(&format!(
        "UPDATE rule_suppressions SET lifted_by = $1, lifted_at = $2 \
         WHERE suppression_id = $3 AND lifted_at IS NULL RETURNING {SUPPRESSION_COLUMNS}"
    ))
    .bind(actor)
    .bind(at)
    .bind(suppression_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let suppression = suppression_from_row(vault, row, time("rule_suppressions"))?;
    audit::append(&mut tx, vault, suppression.lifted_entry(actor, reason, at)).await?;
    tx.commit().await?;
    Ok(Some(suppression))
}

pub(super) async fn suppressions(
    pool: &PgPool,
    vault: &Vault,
    active_at: Option<Timestamp>,
) -> Result<Vec<Suppression>, StoreError> {
    let rows: Vec<SuppressionRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {SUPPRESSION_COLUMNS} FROM rule_suppressions \
         WHERE $1::timestamptz IS NULL OR (lifted_at IS NULL AND created_at <= $1 AND $1 < expires_at) ORDER BY suppression_id"
    ))
    .bind(active_at)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|r| suppression_from_row(vault, r, time("rule_suppressions"))).collect()
}

pub(super) async fn add_shadow_tallies(pool: &PgPool, tallies: &[ShadowTally]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    for t in tallies {
        sqlx::query(
            "INSERT INTO rule_shadow_tallies (change_id, rule_id, hour, evaluated, hits, overlap, changed) \
             VALUES ($1, $2, to_timestamp($3::double precision), $4, $5, $6, $7) ON CONFLICT (change_id, rule_id, hour) DO UPDATE SET \
             evaluated = rule_shadow_tallies.evaluated + excluded.evaluated, hits = rule_shadow_tallies.hits + excluded.hits, \
             overlap = rule_shadow_tallies.overlap + excluded.overlap, changed = rule_shadow_tallies.changed + excluded.changed",
        )
        .bind(t.change_id)
        .bind(&t.rule_id)
        .bind((t.hour * 3600) as f64)
        .bind(packs::count_to(t.evaluated))
        .bind(packs::count_to(t.hits))
        .bind(packs::count_to(t.overlap))
        .bind(packs::count_to(t.changed))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn shadow_tallies(pool: &PgPool, change_id: i64) -> Result<Vec<ShadowTally>, StoreError> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT rule_id, sum(evaluated)::bigint, sum(hits)::bigint, sum(overlap)::bigint, sum(changed)::bigint FROM rule_shadow_tallies \
         WHERE change_id = $1 GROUP BY rule_id ORDER BY rule_id",
    )
    .bind(change_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|row| packs::tally_from(change_id, row)).collect())
}
