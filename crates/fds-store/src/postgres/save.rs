//! Saving a batch: events, decisions and blocks in one transaction, one `UNNEST`
//! insert per table (column arrays, so one statement carries any number of rows
//! with a handful of bound parameters), idempotent by event id through the
//! `event_ids` guard table.
//!
//! Ordered saves (the batch writer's gate) overlap: a save encodes and inserts while
//! the save before it is still being written, and waits for that one to commit only
//! before its last statement (the dashboard rollup, whose rows every save updates)
//! and its own commit. Commits therefore stay in order while the inserts, most of the
//! database's work, run side by side on two connections. A save that has waited
//! [`GATE_PATIENCE`] with its transaction open rolls it back, waits for the save
//! before it with nothing held and writes again: the save before may be waiting on a
//! lock this one holds (creating a month's partition, or another process saving the
//! same event ids), which the database cannot see as a deadlock.

use super::partitions::{self, Partitions};
use crate::store::{Record, SaveSummary};
use crate::{codec, StoreError};
use fds_vault::Vault;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgPool};
use std::collections::HashSet;
use std::time::Duration;

/// How long a save holds its transaction open waiting for the save before it to
/// commit; beyond it, it lets go (see the module notes). Saves take tens of
/// milliseconds, so only a blocked or failing save before reaches this.
const GATE_PATIENCE: Duration = Duration::from_secs(2);

/// The writer's gate and whether it has opened yet (it can be waited on only once).
struct Turn {
    gate: crate::store::Gate,
    open: bool,
}

impl Turn {
    async fn wait(&mut self) {
        if !self.open {
            (&mut self.gate).await;
            self.open = true;
        }
    }

    /// Waits at most `patience`; whether the gate is open.
    async fn wait_at_most(&mut self, patience: Duration) -> bool {
        if !self.open && tokio::time::timeout(patience, &mut self.gate).await.is_ok() {
            self.open = true;
        }
        self.open
    }
}

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

    let mut turn = Turn { gate: after, open: false };
    let mut retried = false;
    let inserted = loop {
        partitions.ensure(pool, months.clone()).await?;
        match write(pool, &unique, &mut turn).await {
            Ok(Some(inserted)) => break inserted,
            // Rolled back after waiting too long for the save before; that one has
            // committed now, so the next attempt does not wait.
            Ok(None) => {}
            // A partition this store had ensured is gone (dropped by retention or
            // by hand): the transaction rolled back whole; ensure again, once.
            Err(StoreError::Database(error)) if !retried && partitions::is_missing_partition(&error) => {
                partitions.forget();
                retried = true;
            }
            Err(error) => return Err(error),
        }
    };
    Ok(SaveSummary { inserted, duplicates: batch.len() as u64 - inserted })
}

/// Writes `unique` (one record per event id) in one transaction, committed once
/// `turn` opens; returns how many were new, or `None` when it rolled back because
/// the gate stayed shut for [`GATE_PATIENCE`] (it has opened since).
async fn write(
    pool: &PgPool,
    unique: &[codec::EncodedRecord<'_>],
    turn: &mut Turn,
) -> Result<Option<u64>, StoreError> {
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
        turn.wait().await;
        return Ok(Some(0));
    }

    let mut args = arguments(
        6,
        fresh.iter().map(|e| {
            let event = &e.record.event;
            event.event_id.len() + e.subscriber.len() + event.event_type().as_str().len() + e.payload.len()
        }),
    );
    add(&mut args, column(&fresh, |e| e.record.event.event_id.as_str()))?;
    add(&mut args, column(&fresh, |e| e.subscriber.as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.event.event_type().as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.event.occurred_at))?;
    add(&mut args, column(&fresh, |e| e.record.received_at))?;
    add(&mut args, column(&fresh, |e| e.payload.as_str()))?;
    sqlx::query_with(
        "INSERT INTO events (event_id, subscriber, event_type, occurred_at, received_at, payload) \
         SELECT event_id, subscriber, event_type, occurred_at, received_at, payload::json \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[]) \
              AS batch (event_id, subscriber, event_type, occurred_at, received_at, payload)",
        args,
    )
    .execute(&mut *tx)
    .await?;

    // Filed under the event's `occurred_at`, the partition key of both tables,
    // so a decision always sits in its event's month.
    let mut args = arguments(
        9,
        fresh.iter().map(|e| {
            let decision = &e.record.decision;
            decision.decision_id.len()
                + e.record.event.event_id.len()
                + e.subscriber.len()
                + decision.action.as_str().len()
                + decision.rules_version.len()
                + e.decision.len()
        }),
    );
    add(&mut args, column(&fresh, |e| e.record.decision.decision_id.as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.event.event_id.as_str()))?;
    add(&mut args, column(&fresh, |e| e.subscriber.as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.decision.action.as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.decision.score))?;
    add(&mut args, column(&fresh, |e| e.record.decision.rules_version.as_str()))?;
    add(&mut args, column(&fresh, |e| e.record.event.occurred_at))?;
    add(&mut args, column(&fresh, |e| e.record.decision.decided_at))?;
    add(&mut args, column(&fresh, |e| e.decision.as_str()))?;
    sqlx::query_with(
        "INSERT INTO decisions (decision_id, event_id, subscriber, action, score, \
         rules_version, occurred_at, decided_at, decision) \
         SELECT decision_id, event_id, subscriber, action, score, rules_version, occurred_at, \
                decided_at, decision::json \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], \
                     $7::timestamptz[], $8::timestamptz[], $9::text[]) \
              AS batch (decision_id, event_id, subscriber, action, score, rules_version, \
                        occurred_at, decided_at, decision)",
        args,
    )
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

    // The save before commits first. Waiting here, with the inserts done, is what
    // lets two saves write side by side; nothing after this point touches rows
    // another save of this writer may hold.
    if !turn.wait_at_most(GATE_PATIENCE).await {
        tracing::warn!(
            patience_ms = GATE_PATIENCE.as_millis() as u64,
            "the save before this one is slow; rolling back and waiting for it"
        );
        tx.rollback().await?;
        turn.wait().await;
        return Ok(None);
    }

    // Last, so the rollup rows of the current hour stay locked only until the commit.
    super::dashboard::add(&mut tx, &crate::dashboard::Rollup::of(fresh.iter().map(|e| e.record))).await?;

    tx.commit().await?;
    Ok(Some(fresh.len() as u64))
}

/// Bound parameters for an insert of `columns` array columns, with room reserved for
/// all of them: `text_bytes` gives each row's text, to which a fixed allowance per value
/// (length prefixes, 8-byte numbers and timestamps) is added. A batch's parameters run
/// to hundreds of KiB; left to grow by doubling, the buffer was copied at each step and
/// its fresh pages faulted in (8 % of the Kafka worker's CPU in a profile).
fn arguments(columns: usize, text_bytes: impl Iterator<Item = usize>) -> PgArguments {
    const PER_VALUE: usize = 12;
    const PER_ARRAY: usize = 32;
    let (rows, text) = text_bytes.fold((0, 0), |(rows, text), bytes| (rows + 1, text + bytes));
    let mut args = PgArguments::default();
    args.reserve(columns, text + rows * columns * PER_VALUE + columns * PER_ARRAY);
    args
}

/// Adds one column to `args`.
fn add<'q, T>(args: &mut PgArguments, value: T) -> Result<(), StoreError>
where
    T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
{
    args.add(value).map_err(|e| StoreError::Encode { what: "batch column", reason: e.to_string() })
}

/// One column of `rows`, bound as a Postgres array.
fn column<'r, T, V>(rows: &'r [T], value: impl Fn(&'r T) -> V) -> Vec<V> {
    rows.iter().map(value).collect()
}
