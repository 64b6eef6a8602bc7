//! Rows as SQLite returns them, and their decoding into core types. Decoding errors
//! name the table and what was wrong, never the stored value (it may be PII).

use crate::time::from_micros;
use crate::StoreError;
use fds_core::{Block, BlockScope, Decision, Label, Outcome, Pii};

/// `block_id, subscriber, scope, since, until, decision_id, reason`
pub(super) type BlockRow = (String, String, String, i64, i64, String, String);

/// `label_id, event_id, subscriber, outcome, note, labelled_by, labelled_at`
pub(super) type LabelRow = (String, Option<String>, Option<String>, String, Option<String>, String, i64);

/// A decision from its stored JSON.
pub(super) fn decision(json: &str) -> Result<Decision, StoreError> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::corrupt(
            "decisions",
            format!(
                "decision json does not decode ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        )
    })
}

/// A stored event from its contract JSON (validated again, without the future check).
pub(super) fn event(json: &str) -> Result<fds_core::Event, StoreError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        StoreError::corrupt("events", format!("payload does not decode ({:?} error)", e.classify()))
    })?;
    fds_core::Event::from_value(value, None).map_err(|e| {
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        StoreError::corrupt("events", format!("payload fails validation in {}", fields.join(", ")))
    })
}

pub(super) fn block(row: BlockRow) -> Result<Block, StoreError> {
    let (block_id, subscriber, scope, since, until, decision_id, reason) = row;
    Ok(Block {
        block_id,
        subscriber: Pii::new(subscriber),
        scope: BlockScope::parse(&scope).ok_or_else(|| StoreError::corrupt("blocks", "unknown scope"))?,
        since: from_micros(since, "blocks")?,
        until: from_micros(until, "blocks")?,
        decision_id,
        reason,
    })
}

pub(super) fn label(row: LabelRow) -> Result<Label, StoreError> {
    let (label_id, event_id, subscriber, outcome, note, labelled_by, labelled_at) = row;
    Ok(Label {
        label_id,
        event_id,
        subscriber: subscriber.map(Pii::new),
        outcome: outcome_of(&outcome)?,
        note,
        labelled_by,
        labelled_at: from_micros(labelled_at, "labels")?,
    })
}

fn outcome_of(stored: &str) -> Result<Outcome, StoreError> {
    [Outcome::Fraud, Outcome::Legit]
        .into_iter()
        .find(|o| o.as_str() == stored)
        .ok_or_else(|| StoreError::corrupt("labels", "unknown outcome"))
}

/// A `COUNT(*)` result.
pub(super) fn count(n: i64, table: &'static str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::corrupt(table, "negative count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_that_does_not_decode_is_reported_without_its_content() {
        let err = decision(r#"{"decision_id": "01012345678"}"#).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("corrupt row in decisions: decision json does not decode"));
        assert!(!shown.contains("01012345678"));
    }

    #[test]
    fn unknown_enum_values_are_corrupt_rows() {
        let row: BlockRow = ("b".into(), "010".into(), "lines".into(), 0, 1, "d".into(), "r".into());
        assert!(matches!(block(row), Err(StoreError::Corrupt { table: "blocks", .. })));
        let row: LabelRow = ("l".into(), None, None, "maybe".into(), None, "ana".into(), 0);
        assert!(matches!(label(row), Err(StoreError::Corrupt { table: "labels", .. })));
    }
}
