//! The subscriber page's reads and analysts' notes on Postgres (see `notes.rs`).

use super::audit;
use crate::codec;
use crate::console::{self, BlockRecord, BlockReleaseRow, BLOCK_COLUMNS};
use crate::notes::{self, NoteRow, SubscriberNote, NOTE_COLUMNS};
use crate::StoreError;
use fds_core::{Label, Timestamp};
use fds_vault::Vault;
use sqlx::PgPool;

pub(super) async fn blocks_for_subscriber(
    pool: &PgPool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<BlockRecord>, StoreError> {
    let rows: Vec<BlockReleaseRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {BLOCK_COLUMNS} FROM blocks WHERE subscriber = $1 ORDER BY since DESC, block_id DESC LIMIT $2"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| console::block_record(vault, row, Ok)).collect()
}

pub(super) async fn labels_for_subscriber(
    pool: &PgPool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<Label>, StoreError> {
    let rows: Vec<codec::LabelRow<Timestamp>> = sqlx::query_as(
        "SELECT label_id, event_id, subscriber_sealed, outcome, note, labelled_by, labelled_at FROM labels \
         WHERE subscriber = $1 \
            OR event_id IN (SELECT event_id FROM decisions WHERE subscriber = $1 \
                            UNION ALL SELECT event_id FROM held_decisions WHERE subscriber = $1) \
         ORDER BY labelled_at DESC, label_id DESC LIMIT $2",
    )
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| codec::label(vault, row, Ok)).collect()
}

pub(super) async fn add_note(
    pool: &PgPool,
    vault: &Vault,
    subscriber: &str,
    text: &str,
    actor: &str,
    at: Timestamp,
) -> Result<SubscriberNote, StoreError> {
    let text = notes::checked_text(text)?;
    let mut tx = pool.begin().await?;
    let row: NoteRow<Timestamp> = sqlx::query_as(&format!(
        "INSERT INTO subscriber_notes (subscriber, text_sealed, written_by, written_at) \
         VALUES ($1, $2, $3, $4) RETURNING {NOTE_COLUMNS}"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(notes::seal(vault, text))
    .bind(actor)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    let note = notes::note(vault, row, Ok)?;
    audit::append(&mut tx, vault, notes::audit_note(subscriber, &note)).await?;
    tx.commit().await?;
    Ok(note)
}

pub(super) async fn notes_for_subscriber(
    pool: &PgPool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<SubscriberNote>, StoreError> {
    let rows: Vec<NoteRow<Timestamp>> = sqlx::query_as(&format!(
        "SELECT {NOTE_COLUMNS} FROM subscriber_notes WHERE subscriber = $1 \
         ORDER BY written_at DESC, note_id DESC LIMIT $2"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| notes::note(vault, row, Ok)).collect()
}
