//! The subscriber page's reads and analysts' notes on SQLite (see `notes.rs`).

use super::audit;
use crate::codec;
use crate::console::{self, BlockRecord, BlockReleaseRow, BLOCK_COLUMNS};
use crate::notes::{self, NoteRow, SubscriberNote, NOTE_COLUMNS};
use crate::time::{from_micros, to_micros};
use crate::StoreError;
use fds_core::{Label, Timestamp};
use fds_vault::Vault;
use sqlx::SqlitePool;

pub(super) async fn blocks_for_subscriber(
    pool: &SqlitePool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<BlockRecord>, StoreError> {
    let rows: Vec<BlockReleaseRow<i64>> = sqlx::query_as(&format!(
        "SELECT {BLOCK_COLUMNS} FROM blocks WHERE subscriber = ? ORDER BY since DESC, block_id DESC LIMIT ?"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| console::block_record(vault, row, |m| from_micros(m, "blocks"))).collect()
}

pub(super) async fn labels_for_subscriber(
    pool: &SqlitePool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<Label>, StoreError> {
    let index = crate::pii::index(vault, subscriber);
    let rows: Vec<codec::LabelRow<i64>> = sqlx::query_as(
        "SELECT label_id, event_id, subscriber_sealed, outcome, note, labelled_by, labelled_at FROM labels \
         WHERE subscriber = ? OR event_id IN (SELECT event_id FROM decisions WHERE subscriber = ?) \
         ORDER BY labelled_at DESC, label_id DESC LIMIT ?",
    )
    .bind(&index)
    .bind(&index)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| codec::label(vault, row, |m| from_micros(m, "labels"))).collect()
}

pub(super) async fn add_note(
    pool: &SqlitePool,
    vault: &Vault,
    subscriber: &str,
    text: &str,
    actor: &str,
    at: Timestamp,
) -> Result<SubscriberNote, StoreError> {
    let text = notes::checked_text(text)?;
    let mut tx = pool.begin().await?;
    let row: NoteRow<i64> = sqlx::query_as(&format!(
        "INSERT INTO subscriber_notes (subscriber, text_sealed, written_by, written_at) VALUES (?, ?, ?, ?) \
         RETURNING {NOTE_COLUMNS}"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(notes::seal(vault, text))
    .bind(actor)
    .bind(to_micros(at))
    .fetch_one(&mut *tx)
    .await?;
    let note = notes::note(vault, row, |m| from_micros(m, "subscriber_notes"))?;
    audit::append(&mut tx, vault, notes::audit_note(subscriber, &note)).await?;
    tx.commit().await?;
    Ok(note)
}

pub(super) async fn notes_for_subscriber(
    pool: &SqlitePool,
    vault: &Vault,
    subscriber: &str,
    limit: u32,
) -> Result<Vec<SubscriberNote>, StoreError> {
    let rows: Vec<NoteRow<i64>> = sqlx::query_as(&format!(
        "SELECT {NOTE_COLUMNS} FROM subscriber_notes WHERE subscriber = ? \
         ORDER BY written_at DESC, note_id DESC LIMIT ?"
    ))
    .bind(crate::pii::index(vault, subscriber))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(|row| notes::note(vault, row, |m| from_micros(m, "subscriber_notes"))).collect()
}
