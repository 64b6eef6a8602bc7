//! Block releases (direct, or requested and approved by a second person) and the
//! allow entries they grant, on Postgres. A change that reads before it writes
//! locks the row it reads (`FOR UPDATE`).

use super::audit;
use super::console::block_in;
use crate::console;
use crate::releases::{
    self, AllowEntry, AllowRow, Decided, Release, ReleaseRequest, RequestRow, RequestState, ALLOW_COLUMNS,
    REQUEST_COLUMNS,
};
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::Vault;
use sqlx::{PgConnection, PgPool};

const REQUESTS: &str = "block_release_requests";

fn ts(_table: &'static str) -> impl Fn(Timestamp) -> Result<Timestamp, StoreError> {
    Ok
}

/// Releases block `block_id` inside the caller's transaction, with its audit
/// record, and grants the allow entry of `allow_days` (audited too). `None` when
/// there is no such unreleased block.
async fn release_in(
    conn: &mut PgConnection,
    vault: &Vault,
    block_id: &str,
    actor: &str,
    reason: &str,
    allow_days: Option<u32>,
    at: Timestamp,
) -> Result<Option<Release>, StoreError> {
    let done = sqlx::query(
        "UPDATE blocks SET released_at = $1, released_by = $2, release_reason = $3 \
         WHERE block_id = $4 AND released_at IS NULL",
    )
    .bind(at)
    .bind(actor)
    .bind(reason)
    .bind(block_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let Some(after) = block_in(&mut *conn, vault, block_id).await? else {
        return Ok(None);
    };
    let before =
        console::BlockRecord { released_at: None, released_by: None, release_reason: None, ..after.clone() };
    audit::append(&mut *conn, vault, console::audit_release(&before, &after)).await?;
    let allow = match allow_days {
        None => None,
        Some(days) => {
            let until = releases::allow_until(at, days);
            let (allow_id,): (i64,) = sqlx::query_as(
                "INSERT INTO allow_entries (block_id, since, until, created_by, reason) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING allow_id",
            )
            .bind(block_id)
            .bind(at)
            .bind(until)
            .bind(actor)
            .bind(reason)
            .fetch_one(&mut *conn)
            .await?;
            let entry = AllowEntry {
                allow_id,
                block_id: block_id.to_string(),
                subscriber: after.block.subscriber.clone(),
                since: at,
                until,
                created_by: actor.to_string(),
                reason: reason.to_string(),
            };
            audit::append(&mut *conn, vault, releases::audit_allow(&entry)).await?;
            Some(entry)
        }
    };
    Ok(Some(Release { block: after, allow }))
}

pub(super) async fn release_block(
    pool: &PgPool,
    vault: &Vault,
    block_id: &str,
    actor: &str,
    reason: &str,
    allow_days: Option<u32>,
    at: Timestamp,
) -> Result<Option<Release>, StoreError> {
    releases::check_release(reason, allow_days)?;
    let mut tx = pool.begin().await?;
    let released = release_in(&mut tx, vault, block_id, actor, reason, allow_days, at).await?;
    tx.commit().await?;
    Ok(released)
}

async fn request_in(conn: &mut PgConnection, request_id: i64) -> Result<Option<ReleaseRequest>, StoreError> {
    let row: Option<RequestRow<Timestamp>> =
        sqlx::query_as(&format!("SELECT {REQUEST_COLUMNS} FROM {REQUESTS} WHERE request_id = $1"))
            .bind(request_id)
            .fetch_optional(conn)
            .await?;
    row.map(|row| releases::request_from_row(row, ts(REQUESTS))).transpose()
}

pub(super) async fn request_release(
    pool: &PgPool,
    vault: &Vault,
    block_id: &str,
    actor: &str,
    reason: &str,
    allow_days: Option<u32>,
    at: Timestamp,
) -> Result<ReleaseRequest, StoreError> {
    releases::check_release(reason, allow_days)?;
    let mut tx = pool.begin().await?;
    // Lock the block: one request at a time per block.
    sqlx::query("SELECT 1 FROM blocks WHERE block_id = $1 FOR UPDATE")
        .bind(block_id)
        .execute(&mut *tx)
        .await?;
    match block_in(&mut tx, vault, block_id).await? {
        Some(block) if block.released_at.is_none() => {}
        _ => return Err(StoreError::Refused(format!("there is no unreleased block {block_id}"))),
    }
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO block_release_requests (block_id, reason, allow_days, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING request_id",
    )
    .bind(block_id)
    .bind(reason)
    .bind(allow_days.map(i64::from))
    .bind(actor)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((request_id,)) = inserted else {
        return Err(StoreError::Refused(format!(
            "block {block_id} already has a release waiting for approval"
        )));
    };
    let request = request_in(&mut tx, request_id)
        .await?
        .ok_or_else(|| StoreError::corrupt(REQUESTS, "a created request is not there"))?;
    audit::append(&mut tx, vault, releases::audit_request(&request)).await?;
    tx.commit().await?;
    Ok(request)
}

pub(super) async fn decide_release(
    pool: &PgPool,
    vault: &Vault,
    request_id: i64,
    actor: &str,
    approve: bool,
    note: &str,
    at: Timestamp,
) -> Result<Option<Decided>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM block_release_requests WHERE request_id = $1 FOR UPDATE")
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
    let Some(before) = request_in(&mut tx, request_id).await? else {
        return Ok(None);
    };
    releases::check_decision(&before, actor)?;
    let state = if approve { RequestState::Approved } else { RequestState::Rejected };
    sqlx::query(
        "UPDATE block_release_requests SET state = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
         WHERE request_id = $5 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(actor)
    .bind(at)
    .bind(note)
    .bind(request_id)
    .execute(&mut *tx)
    .await?;
    let after = request_in(&mut tx, request_id)
        .await?
        .ok_or_else(|| StoreError::corrupt(REQUESTS, "a decided request is not there"))?;
    audit::append(&mut tx, vault, releases::audit_decision(&before, &after)).await?;
    let release = if approve {
        // Released in the requester's words; the approver is in the request and the log.
        let reason = format!("{} (approved by {actor})", before.reason);
        let released = release_in(
            &mut tx,
            vault,
            &before.block_id,
            &before.requested_by,
            &reason,
            before.allow_days,
            at,
        )
        .await?;
        if released.is_none() {
            return Err(StoreError::Refused(format!("block {} is released already", before.block_id)));
        }
        released
    } else {
        None
    };
    tx.commit().await?;
    Ok(Some(Decided { request: after, release }))
}

pub(super) async fn release_requests(
    pool: &PgPool,
    pending_only: bool,
    limit: u32,
) -> Result<Vec<ReleaseRequest>, StoreError> {
    let filter = if pending_only { "WHERE state = 'pending'" } else { "" };
    let rows: Vec<RequestRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM {REQUESTS} {filter} ORDER BY request_id DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| releases::request_from_row(row, ts(REQUESTS))).collect()
}

pub(super) async fn allow_entries(
    pool: &PgPool,
    vault: &Vault,
    active_at: Timestamp,
) -> Result<Vec<AllowEntry>, StoreError> {
    let rows: Vec<AllowRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {ALLOW_COLUMNS} FROM allow_entries a JOIN blocks b ON b.block_id = a.block_id \
         WHERE a.until > $1 ORDER BY a.allow_id"
    ))
    .bind(active_at)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| releases::allow_from_row(vault, row, ts("allow_entries"))).collect()
}
