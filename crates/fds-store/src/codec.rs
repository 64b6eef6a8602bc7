//! Stored rows and their decoding into core types, shared by both backends.
//! Decoding errors name the table and what was wrong, never the stored value (it
//! may be PII).
//!
//! Row tuples are generic over the stored timestamp `T` (SQLite keeps integer
//! microseconds, Postgres `timestamptz`); the caller passes the conversion.

use crate::StoreError;
use fds_core::{Block, BlockScope, Decision, Label, Outcome, Pii, Timestamp};
use fds_vault::Vault;

/// A record with its stored encodings (blind index, sealed payload and decision JSON),
/// made before a save's transaction starts so locks are held only for the inserts.
pub(crate) struct EncodedRecord<'a> {
    pub(crate) record: &'a crate::Record,
    /// The blind index of the subscriber.
    pub(crate) subscriber: String,
    pub(crate) payload: String,
    pub(crate) decision: String,
    /// The decision's block: its subscriber's blind index and sealed form.
    pub(crate) block: Option<(&'a Block, String, String)>,
}

pub(crate) fn encode_record<'a>(
    vault: &Vault,
    record: &'a crate::Record,
) -> Result<EncodedRecord<'a>, StoreError> {
    let block = record.decision.block.as_ref().map(|b| {
        let subscriber = b.subscriber.expose();
        (b, crate::pii::index(vault, subscriber), crate::pii::seal_subscriber(vault, subscriber))
    });
    Ok(EncodedRecord {
        record,
        subscriber: crate::pii::index(vault, record.event.subscriber.expose()),
        payload: encode_event(vault, &record.event)?,
        decision: encode_decision(vault, &record.decision)?,
        block,
    })
}

/// `block_id, subscriber (sealed), scope, since, until, decision_id, reason`
pub(crate) type BlockRow<T> = (String, String, String, T, T, String, String);

/// `label_id, event_id, subscriber (sealed), outcome, note, labelled_by, labelled_at`
pub(crate) type LabelRow<T> = (String, Option<String>, Option<String>, String, Option<String>, String, T);

/// A decision's stored JSON: its PII sealed.
pub(crate) fn encode_decision(vault: &Vault, decision: &Decision) -> Result<String, StoreError> {
    crate::pii::sealed_json_text(vault, decision).map_err(|e| encode_error("decision", &e))
}

/// An event's stored contract JSON: its PII sealed.
pub(crate) fn encode_event(vault: &Vault, event: &fds_core::Event) -> Result<String, StoreError> {
    crate::pii::sealed_json_text(vault, event).map_err(|e| encode_error("event", &e))
}

fn encode_error(what: &'static str, e: &serde_json::Error) -> StoreError {
    StoreError::Encode { what, reason: format!("{:?} error", e.classify()) }
}

/// A decision from its stored JSON.
pub(crate) fn decision(vault: &Vault, json: &str) -> Result<Decision, StoreError> {
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| json_error(&e))?;
    crate::pii::open_json(vault, "decisions", &mut value)?;
    serde_json::from_value(value).map_err(|e| json_error(&e))
}

fn json_error(e: &serde_json::Error) -> StoreError {
    StoreError::corrupt(
        "decisions",
        format!(
            "decision json does not decode ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    )
}

/// A stored event from its contract JSON (validated again, without the future check).
pub(crate) fn event(vault: &Vault, json: &str) -> Result<fds_core::Event, StoreError> {
    let mut value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        StoreError::corrupt("events", format!("payload does not decode ({:?} error)", e.classify()))
    })?;
    crate::pii::open_json(vault, "events", &mut value)?;
    fds_core::Event::from_value(value, None).map_err(|e| {
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        StoreError::corrupt("events", format!("payload fails validation in {}", fields.join(", ")))
    })
}

pub(crate) fn block<T>(
    vault: &Vault,
    row: BlockRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<Block, StoreError> {
    let (block_id, subscriber, scope, since, until, decision_id, reason) = row;
    Ok(Block {
        block_id,
        subscriber: Pii::new(crate::pii::open_subscriber(vault, "blocks", &subscriber)?),
        scope: BlockScope::parse(&scope).ok_or_else(|| StoreError::corrupt("blocks", "unknown scope"))?,
        since: timestamp(since)?,
        until: timestamp(until)?,
        decision_id,
        reason,
    })
}

pub(crate) fn label<T>(
    vault: &Vault,
    row: LabelRow<T>,
    timestamp: impl Fn(T) -> Result<Timestamp, StoreError>,
) -> Result<Label, StoreError> {
    let (label_id, event_id, subscriber, outcome, note, labelled_by, labelled_at) = row;
    Ok(Label {
        label_id,
        event_id,
        subscriber: subscriber
            .map(|sealed| crate::pii::open_subscriber(vault, "labels", &sealed).map(Pii::new))
            .transpose()?,
        outcome: outcome_of(&outcome)?,
        note,
        labelled_by,
        labelled_at: timestamp(labelled_at)?,
    })
}

fn outcome_of(stored: &str) -> Result<Outcome, StoreError> {
    [Outcome::Fraud, Outcome::Legit]
        .into_iter()
        .find(|o| o.as_str() == stored)
        .ok_or_else(|| StoreError::corrupt("labels", "unknown outcome"))
}

/// A `COUNT(*)` result.
/// [`Counts`](crate::Counts) from the row counts of events, decisions, blocks and labels
/// and the `(action, rows)` pairs of decisions, as both backends read them.
pub(crate) fn counts(
    [events, decisions, blocks, labels]: [i64; 4],
    per_action: Vec<(String, i64)>,
) -> Result<crate::Counts, StoreError> {
    let mut decisions_by_action = crate::ActionCounts::default();
    for (action, n) in per_action {
        let action = fds_core::Action::parse(&action)
            .ok_or_else(|| StoreError::corrupt("decisions", "unknown action"))?;
        decisions_by_action.add(action, count(n, "decisions")?);
    }
    Ok(crate::Counts {
        events: count(events, "events")?,
        decisions: count(decisions, "decisions")?,
        blocks: count(blocks, "blocks")?,
        labels: count(labels, "labels")?,
        decisions_by_action,
    })
}

pub(crate) fn count(n: i64, table: &'static str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::corrupt(table, "negative count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(table: &'static str) -> impl Fn(i64) -> Result<Timestamp, StoreError> {
        move |m| crate::time::from_micros(m, table)
    }

    #[test]
    fn a_decision_that_does_not_decode_is_reported_without_its_content() {
        let vault = Vault::new(fds_vault::KeyRing::generate_local());
        let err = decision(&vault, r#"{"decision_id": "01012345678"}"#).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("corrupt row in decisions: decision json does not decode"));
        assert!(!shown.contains("01012345678"));
    }

    #[test]
    fn unknown_enum_values_are_corrupt_rows() {
        let vault = Vault::new(fds_vault::KeyRing::generate_local());
        let sealed = crate::pii::seal_subscriber(&vault, "010");
        let row: BlockRow<i64> = ("b".into(), sealed, "lines".into(), 0, 1, "d".into(), "r".into());
        assert!(matches!(
            block(&vault, row, micros("blocks")),
            Err(StoreError::Corrupt { table: "blocks", .. })
        ));
        let row: LabelRow<i64> = ("l".into(), None, None, "maybe".into(), None, "ana".into(), 0);
        assert!(matches!(
            label(&vault, row, micros("labels")),
            Err(StoreError::Corrupt { table: "labels", .. })
        ));
    }
}
