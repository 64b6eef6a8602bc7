//! Saving a batch: events, decisions and blocks in one transaction, one `UNNEST`
//! insert per table (column arrays, so one statement carries any number of rows
//! with a handful of bound parameters), idempotent by event id through the
//! `event_ids` guard table.

use super::partitions::{self, Partitions};
use crate::store::{Record, SaveSummary};
use crate::{codec, StoreError};
use fds_vault::Vault;
use sqlx::PgPool;
use std::collections::HashSet;

pub(super) async fn save(
    pool: &PgPool,
    vault: &Vault,
    partitions: &Partitions,
    batch: &[Record],
    after: crate::store::Gate,
) -> Result<SaveSummary, StoreError> {
    if batch.is_empty() {
        after.await;
        return Ok(SaveSummary::default());
    }
    // The first record of each event id, in batch order: later repeats are
    // duplicates whatever the database holds.
    let mut seen: HashSet<&str> = HashSet::with_capacity(batch.len());
    let unique = batch
        .iter()
        .filter(|r| seen.insert(r.event.event_id.as_str()))
        .map(|r| codec::encode_record(vault, r))
        .collect::<Result<Vec<_>, _>>()?;
    let months = partitions::months_for(unique.iter().map(|e| e.record.event.occurred_at));
    // Encoded (the CPU-heavy part: sealing, JSON) before waiting; written after.
    after.await;

    let mut retried = false;
    let inserted = loop {
        partitions.ensure(pool, months.clone()).await?;
        match write(pool, &unique).await {
            // A partition this store had ensured is gone (dropped by retention or
            // by hand): the transaction rolled back whole; ensure again, once.
            Err(StoreError::Database(error)) if !retried && partitions::is_missing_partition(&error) => {
                partitions.forget();
                retried = true;
            }
            result => break result?,
        }
    };
    Ok(SaveSummary { inserted, duplicates: batch.len() as u64 - inserted })
}

/// Writes `unique` (one record per event id) in one transaction; returns how many
/// were new.
async fn write(pool: &PgPool, unique: &[codec::EncodedRecord<'_>]) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;

    // The guard first: `ON CONFLICT DO NOTHING` skips ids already stored, and
    // `RETURNING` tells which are new. Only those get their event, decision and
    // block written. A concurrent saver of the same id waits on the key, then
    // skips it once the first commits; keys are taken in id order, so two batches
    // sharing ids (a redelivery racing the original) queue instead of deadlocking.
    let new_ids: HashSet<String> = sqlx::query_scalar(
        "INSERT INTO event_ids (event_id, occurred_at) \
         SELECT * FROM UNNEST($1::text[], $2::timestamptz[]) AS batch (event_id, occurred_at) \
         ORDER BY event_id \
         ON CONFLICT DO NOTHING RETURNING event_id",
    )
    .bind(column(unique, |e| e.record.event.event_id.as_str()))
    .bind(column(unique, |e| e.record.event.occurred_at))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();

    let fresh: Vec<&codec::EncodedRecord<'_>> =
        unique.iter().filter(|e| new_ids.contains(e.record.event.event_id.as_str())).collect();
    if fresh.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }

    sqlx::query(
        "INSERT INTO events (event_id, subscriber, event_type, occurred_at, received_at, payload) \
         SELECT event_id, subscriber, event_type, occurred_at, received_at, payload::json \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[]) \
              AS batch (event_id, subscriber, event_type, occurred_at, received_at, payload)",
    )
    .bind(column(&fresh, |e| e.record.event.event_id.as_str()))
    .bind(column(&fresh, |e| e.subscriber.as_str()))
    .bind(column(&fresh, |e| e.record.event.event_type().as_str()))
    .bind(column(&fresh, |e| e.record.event.occurred_at))
    .bind(column(&fresh, |e| e.record.received_at))
    .bind(column(&fresh, |e| e.payload.as_str()))
    .execute(&mut *tx)
    .await?;

    // Filed under the event's `occurred_at`, the partition key of both tables,
    // so a decision always sits in its event's month.
    sqlx::query(
        "INSERT INTO decisions (decision_id, event_id, subscriber, action, score, \
         rules_version, occurred_at, decided_at, decision) \
         SELECT decision_id, event_id, subscriber, action, score, rules_version, occurred_at, \
                decided_at, decision::json \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], \
                     $7::timestamptz[], $8::timestamptz[], $9::text[]) \
              AS batch (decision_id, event_id, subscriber, action, score, rules_version, \
                        occurred_at, decided_at, decision)",
    )
    .bind(column(&fresh, |e| e.record.decision.decision_id.as_str()))
    .bind(column(&fresh, |e| e.record.event.event_id.as_str()))
    .bind(column(&fresh, |e| e.subscriber.as_str()))
    .bind(column(&fresh, |e| e.record.decision.action.as_str()))
    .bind(column(&fresh, |e| e.record.decision.score))
    .bind(column(&fresh, |e| e.record.decision.rules_version.as_str()))
    .bind(column(&fresh, |e| e.record.event.occurred_at))
    .bind(column(&fresh, |e| e.record.decision.decided_at))
    .bind(column(&fresh, |e| e.decision.as_str()))
    .execute(&mut *tx)
    .await?;

    let blocks: Vec<&(&fds_core::Block, String, String)> =
        fresh.iter().filter_map(|e| e.block.as_ref()).collect();
    if !blocks.is_empty() {
        sqlx::query(
            "INSERT INTO blocks \
             (block_id, subscriber, subscriber_sealed, scope, since, until, decision_id, reason) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
                                  $6::timestamptz[], $7::text[], $8::text[])",
        )
        .bind(column(&blocks, |(b, _, _)| b.block_id.as_str()))
        .bind(column(&blocks, |(_, index, _)| index.as_str()))
        .bind(column(&blocks, |(_, _, sealed)| sealed.as_str()))
        .bind(column(&blocks, |(b, _, _)| b.scope.as_str()))
        .bind(column(&blocks, |(b, _, _)| b.since))
        .bind(column(&blocks, |(b, _, _)| b.until))
        .bind(column(&blocks, |(b, _, _)| b.decision_id.as_str()))
        .bind(column(&blocks, |(b, _, _)| b.reason.as_str()))
        .execute(&mut *tx)
        .await?;
    }

    // Last, so the rollup rows of the current hour stay locked only until the commit.
    super::dashboard::add(&mut tx, &crate::dashboard::Rollup::of(fresh.iter().map(|e| e.record))).await?;

    tx.commit().await?;
    Ok(fresh.len() as u64)
}

/// One column of `rows`, bound as a Postgres array.
fn column<'r, T, V>(rows: &'r [T], value: impl Fn(&'r T) -> V) -> Vec<V> {
    rows.iter().map(value).collect()
}
