//! Saving a batch: events, decisions and blocks in one transaction, multi-row
//! inserts, idempotent by event id.

use crate::store::{Record, SaveSummary};
use crate::time::to_micros;
use crate::{codec, StoreError};
use fds_vault::Vault;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use std::collections::HashSet;

/// The most bound parameters one statement may carry (`SQLITE_MAX_VARIABLE_NUMBER`
/// of the bundled SQLite). Batches larger than fits are split into several
/// statements inside the same transaction.
const MAX_BIND_PARAMS: usize = 32_766;

/// Rows per multi-row insert, by the table's column count.
pub(crate) const EVENTS_PER_STATEMENT: usize = MAX_BIND_PARAMS / 6;
const DECISIONS_PER_STATEMENT: usize = MAX_BIND_PARAMS / 9;
const BLOCKS_PER_STATEMENT: usize = MAX_BIND_PARAMS / 8;

pub(super) async fn save(
    pool: &SqlitePool,
    vault: &Vault,
    batch: &[Record],
) -> Result<SaveSummary, StoreError> {
    if batch.is_empty() {
        return Ok(SaveSummary::default());
    }
    let encoded = batch.iter().map(|r| codec::encode_record(vault, r)).collect::<Result<Vec<_>, _>>()?;

    let mut tx = pool.begin().await?;

    // Events first: `ON CONFLICT DO NOTHING` skips ids already stored and repeats
    // within the batch (the first occurrence wins), and `RETURNING` tells which
    // rows are new. Only those get their decision and block written.
    let mut new_ids: HashSet<String> = HashSet::with_capacity(batch.len());
    for chunk in encoded.chunks(EVENTS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (event_id, subscriber, event_type, occurred_at, received_at, payload) ",
        );
        insert.push_values(chunk, |mut row, e| {
            let event = &e.record.event;
            row.push_bind(event.event_id.as_str())
                .push_bind(e.subscriber.as_str())
                .push_bind(event.event_type().as_str())
                .push_bind(to_micros(event.occurred_at))
                .push_bind(to_micros(e.record.received_at))
                .push_bind(e.payload.as_str());
        });
        insert.push(" ON CONFLICT (event_id) DO NOTHING RETURNING event_id");
        let ids: Vec<String> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
        new_ids.extend(ids);
    }

    // The first record of each new event id, in batch order.
    let fresh: Vec<&codec::EncodedRecord<'_>> =
        encoded.iter().filter(|e| new_ids.remove(e.record.event.event_id.as_str())).collect();

    for chunk in fresh.chunks(DECISIONS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO decisions (decision_id, event_id, subscriber, action, score, \
             rules_version, occurred_at, decided_at, decision) ",
        );
        insert.push_values(chunk, |mut row, e| {
            let d = &e.record.decision;
            row.push_bind(d.decision_id.as_str())
                .push_bind(e.record.event.event_id.as_str())
                .push_bind(e.subscriber.as_str())
                .push_bind(d.action.as_str())
                .push_bind(d.score)
                .push_bind(d.rules_version.as_str())
                .push_bind(to_micros(d.occurred_at))
                .push_bind(to_micros(d.decided_at))
                .push_bind(e.decision.as_str());
        });
        insert.build().execute(&mut *tx).await?;
    }

    let blocks: Vec<&(&fds_core::Block, String, String)> =
        fresh.iter().filter_map(|e| e.block.as_ref()).collect();
    for chunk in blocks.chunks(BLOCKS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO blocks \
             (block_id, subscriber, subscriber_sealed, scope, since, until, decision_id, reason) ",
        );
        insert.push_values(chunk, |mut row, (b, index, sealed)| {
            row.push_bind(b.block_id.as_str())
                .push_bind(index.as_str())
                .push_bind(sealed.as_str())
                .push_bind(b.scope.as_str())
                .push_bind(to_micros(b.since))
                .push_bind(to_micros(b.until))
                .push_bind(b.decision_id.as_str())
                .push_bind(b.reason.as_str());
        });
        insert.build().execute(&mut *tx).await?;
    }

    super::dashboard::add(&mut tx, &crate::dashboard::Rollup::of(fresh.iter().map(|e| e.record))).await?;

    tx.commit().await?;

    let inserted = fresh.len() as u64;
    Ok(SaveSummary { inserted, duplicates: batch.len() as u64 - inserted })
}
