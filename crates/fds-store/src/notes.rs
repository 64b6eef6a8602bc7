//! Analysts' notes on a subscriber, shown on the console's subscriber page beside the
//! subscriber's decisions, blocks, releases and labels.
//!
//! A note is free text that routinely quotes numbers, so its text is sealed by the
//! vault (`Field::Note`) and covered by key rotation; the subscriber is kept only as
//! the blind index, the one thing a note is looked up by. Notes are never edited or
//! deleted: a correction is a new note. Each note is audited in the same transaction:
//!
//! | action             | target       | after                                           |
//! |--------------------|--------------|-------------------------------------------------|
//! | `subscriber.note`  | `note:<id>`  | the subscriber and the text (both sealed in the log) |

use crate::audit::AuditEntry;
use crate::StoreError;
use fds_core::Timestamp;
use fds_vault::{Field, Vault};
use serde_json::json;

/// The audit action of a note.
pub mod actions {
    pub const SUBSCRIBER_NOTE: &str = "subscriber.note";
}

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// An analyst's note on a subscriber.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriberNote {
    pub note_id: i64,
    pub text: String,
    pub written_by: String,
    pub written_at: Timestamp,
}

/// The note's text as stored: trimmed, refused when empty or longer than [`MAX_NOTE_CHARS`].
pub(crate) fn checked_text(text: &str) -> Result<&str, StoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StoreError::Refused("a note needs some text".into()));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(StoreError::Refused(format!("a note is at most {MAX_NOTE_CHARS} characters")));
    }
    Ok(text)
}

pub(crate) fn seal(vault: &Vault, text: &str) -> String {
    vault.encrypt(Field::Note, text).to_string()
}

/// `note_id, text (sealed), written_by, written_at`
pub(crate) type NoteRow<T> = (i64, String, String, T);

/// The columns of [`NoteRow`].
pub(crate) const NOTE_COLUMNS: &str = "note_id, text_sealed, written_by, written_at";

pub(crate) fn note<T>(
    vault: &Vault,
    row: NoteRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<SubscriberNote, StoreError> {
    let (note_id, sealed, written_by, written_at) = row;
    Ok(SubscriberNote {
        note_id,
        text: crate::pii::open_note(vault, &sealed)?,
        written_by,
        written_at: timestamp(written_at)?,
    })
}

pub(crate) fn audit_note(subscriber: &str, note: &SubscriberNote) -> AuditEntry {
    AuditEntry {
        actor: note.written_by.clone(),
        action: actions::SUBSCRIBER_NOTE.into(),
        target: format!("note:{}", note.note_id),
        before: None,
        // Both keys are PII keys: the audit log seals them.
        after: Some(json!({ "subscriber": subscriber, "note_text": note.text })),
        at: note.written_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_trimmed_and_an_empty_or_overlong_one_refused() {
        assert_eq!(checked_text("  called the customer \n").unwrap(), "called the customer");
        assert!(matches!(checked_text(" \n\t"), Err(StoreError::Refused(_))));
        let longest = "가".repeat(MAX_NOTE_CHARS);
        assert_eq!(checked_text(&longest).unwrap(), longest, "counted in characters, not bytes");
        assert!(matches!(checked_text(&format!("{longest}x")), Err(StoreError::Refused(_))));
    }
}
