//! The tamper-evident audit log: what an audit record holds, how records are
//! hash-chained, and the pure check of a chain ([`verify_chain`], [`ChainVerifier`]).
//!
//! Every state-changing action appends one record through
//! [`Store::append_audit`](crate::Store::append_audit). The store assigns each record
//! the next sequence number (1, 2, …) and chains it: `prev_hash` is the previous
//! record's `hash` ([`GENESIS_HASH`] for record 1), and `hash` is SHA-256 over the
//! canonical encoding of `(seq, prev_hash, actor, action, target, before, after, at)`
//! (see [`chain_hash`]). Editing any column of a stored record breaks its hash;
//! deleting one leaves a gap in the sequence; re-hashing an edited record breaks the
//! link of the record after it. What a chain cannot show by itself is the loss of
//! its newest records: the store also keeps the chain head (last seq and hash,
//! moved in the same transaction as each append), and [`ChainVerifier::finish`]
//! checks the log against it. Someone able to rewrite the head as well can hide a
//! truncation; exporting the head elsewhere from time to time closes that.
//!
//! # Actions
//!
//! `action` is a dotted `<object>.<verb>` string; the vocabulary in use (constants in
//! [`actions`]):
//!
//! | action          | target             | before / after                       |
//! |-----------------|--------------------|--------------------------------------|
//! | `label.create`  | `label:<label id>` | after: the label                     |
//! | `block.create`  | `block:<block id>` | after: the block (manual blocks)     |
//! | `block.release` | `block:<block id>` | before / after: the block            |
//! | `rule.publish`  | `rules:<version>`  | before / after: the rule pack digest |
//! | `model.register`| `model:<kind>`     | before: the model it displaced; after: version, kind, role |
//! | `model.promote` | `model:<kind>`     | before / after: the champion's version, kind, role |
//! | `user.create`   | `user:<name>`      | after: the user (never a password)   |
//! | `user.update`   | `user:<name>`      | before / after: roles, state         |
//! | `key.create`    | `key:<key id>`     | after: key id and scope (no secret)  |
//! | `key.revoke`    | `key:<key id>`     | before: key id and scope             |
//! | `key.rotate`    | `key:<key id>`     | before / after: key ids              |
//! | `pii.reveal`    | `event:<event id>` | after: which fields were shown, the subscriber (sealed) |
//! | `user.login`, `user.login_failed`, `user.lockout`, `user.logout`, `user.logout_all`, `user.totp`, `case.escalate` | see `console.rs` | |
//! | `hold.place`    | `hold:<hold id>`   | after: the legal hold                |
//! | `hold.lift`     | `hold:<hold id>`   | before: the legal hold; after: who lifted it and why |
//! | `retention.run` | `retention:<time>` | after: the retention report (actor `retention`) |
//!
//! New actions follow the same shape; the store accepts any string and judges none.
//! `before` and `after` must never hold secrets; they may hold PII where the action
//! is about it, like every other table of the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev_hash` of record 1: 64 hex zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action strings in use (see the table in the module documentation).
pub mod actions {
    /// A label (confirmed outcome) was recorded.
    pub const LABEL_CREATE: &str = "label.create";
    /// An analyst blocked a subscriber by hand.
    pub const BLOCK_CREATE: &str = "block.create";
    /// A block was released before its end.
    pub const BLOCK_RELEASE: &str = "block.release";
    /// A rule pack version was published.
    pub const RULE_PUBLISH: &str = "rule.publish";
    /// A trained model was added to the registry (as champion, challenger or retired).
    pub const MODEL_REGISTER: &str = "model.register";
    /// A model version was promoted to score live traffic.
    pub const MODEL_PROMOTE: &str = "model.promote";
    /// A console user was created.
    pub const USER_CREATE: &str = "user.create";
    /// A console user's roles or state changed.
    pub const USER_UPDATE: &str = "user.update";
    /// An API key was issued.
    pub const KEY_CREATE: &str = "key.create";
    /// An API key was revoked.
    pub const KEY_REVOKE: &str = "key.revoke";
    /// An encryption or index key was rotated.
    pub const KEY_ROTATE: &str = "key.rotate";
    /// Someone was shown decrypted PII.
    pub const PII_REVEAL: &str = "pii.reveal";
    /// A legal hold was placed on a subscriber (or a case about one).
    pub const HOLD_PLACE: &str = "hold.place";
    /// A legal hold was lifted.
    pub const HOLD_LIFT: &str = "hold.lift";
    /// A retention run removed expired decisions and events.
    pub const RETENTION_RUN: &str = "retention.run";
}

/// What happened, as the caller reports it; the store adds the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who did it: an API client name or a console user.
    pub actor: String,
    /// What was done, e.g. `label.create` (see [`actions`]).
    pub action: String,
    /// What it was done to, e.g. `label:lbl-…`.
    pub target: String,
    /// The state before, for changes and removals.
    pub before: Option<Value>,
    /// The state after, for creations and changes.
    pub after: Option<Value>,
    /// When it happened (kept to the microsecond).
    pub at: DateTime<Utc>,
}

impl AuditEntry {
    /// This entry with `at` truncated to the microsecond, the precision both
    /// backends keep: the hash is computed over what is stored.
    pub(crate) fn normalised(mut self) -> AuditEntry {
        let micros = self.at.timestamp_micros();
        if let Some(at) = DateTime::from_timestamp_micros(micros) {
            self.at = at;
        }
        self
    }

    /// This entry with every value under a PII key of `before` and `after`
    /// sealed by `vault`, as the log stores (and hashes) it: it never holds
    /// plaintext PII.
    pub(crate) fn sealed(mut self, vault: &fds_vault::Vault) -> AuditEntry {
        for state in [&mut self.before, &mut self.after].into_iter().flatten() {
            crate::pii::seal_json(vault, state);
        }
        self
    }
}

/// A stored audit record: the entry and its place in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain: 1, 2, … without gaps.
    pub seq: u64,
    /// The `hash` of record `seq - 1`, or [`GENESIS_HASH`] for record 1.
    pub prev_hash: String,
    /// SHA-256 (lower-case hex) over the canonical encoding, see [`chain_hash`].
    pub hash: String,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// The chain head the store keeps beside the log: the last sequence number it
/// assigned and that record's hash. Checking the log against it shows the newest
/// records removed, which the chain alone cannot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHead {
    /// The last assigned `seq` (0 before the first append).
    pub seq: u64,
    /// That record's `hash` ([`GENESIS_HASH`] before the first append).
    pub hash: String,
}

/// The hash of record `seq` holding `entry` after `prev_hash`: lower-case hex of
/// SHA-256 over a canonical encoding.
///
/// The encoding is a domain tag `fds-audit-v1`, then `seq` as 8 big-endian bytes,
/// then each of `prev_hash`, `actor`, `action`, `target` as a length-prefixed UTF-8
/// string (8-byte big-endian length), then `before` and `after` each as a `0` byte
/// when absent or a `1` byte and the length-prefixed canonical JSON (object keys
/// sorted, no whitespace) when present, then `at` as microseconds since the Unix
/// epoch, 8 big-endian bytes. Length prefixes keep field boundaries unambiguous;
/// canonical JSON makes the hash independent of how a backend stores the JSON.
pub fn chain_hash(seq: u64, prev_hash: &str, entry: &AuditEntry) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"fds-audit-v1");
    hasher.update(seq.to_be_bytes());
    for text in [prev_hash, &entry.actor, &entry.action, &entry.target] {
        put_str(&mut hasher, text);
    }
    for json in [&entry.before, &entry.after] {
        match json {
            None => hasher.update([0u8]),
            Some(value) => {
                hasher.update([1u8]);
                put_str(&mut hasher, &canonical_json(value));
            }
        }
    }
    hasher.update(entry.at.timestamp_micros().to_be_bytes());
    hex::encode(hasher.finalize())
}

fn put_str(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

/// `value` as JSON text with object keys sorted by their UTF-8 bytes and no
/// whitespace, whatever order the value's map keeps.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An `audit_log` row as both backends read it; `T` is the stored time.
pub(crate) type AuditRow<T> =
    (i64, String, String, String, String, String, Option<String>, Option<String>, T);

/// The stored text of a `before` / `after` column: canonical JSON.
pub(crate) fn json_column(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(canonical_json)
}

/// A stored row back into its record; `at` converts the stored time.
pub(crate) fn record_from_row<T>(
    row: AuditRow<T>,
    at: impl FnOnce(T) -> Result<DateTime<Utc>, crate::StoreError>,
) -> Result<AuditRecord, crate::StoreError> {
    let (seq, prev_hash, hash, actor, action, target, before, after, stored_at) = row;
    let json = |text: Option<String>| {
        text.map(|t| serde_json::from_str::<Value>(&t))
            .transpose()
            .map_err(|e| crate::StoreError::corrupt("audit_log", format!("{:?} error in json", e.classify())))
    };
    Ok(AuditRecord {
        seq: u64::try_from(seq)
            .map_err(|_| crate::StoreError::corrupt("audit_log", format!("negative seq {seq}")))?,
        prev_hash,
        hash,
        entry: AuditEntry {
            actor,
            action,
            target,
            before: json(before)?,
            after: json(after)?,
            at: at(stored_at)?,
        },
    })
}

/// Where and why a chain stops verifying.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at record {seq}: {reason}")]
pub struct ChainBreak {
    /// The first sequence number that does not verify (for a missing record, the
    /// one that is missing).
    pub seq: u64,
    pub reason: BreakReason,
}

/// Why a record does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakReason {
    /// The record's content does not hash to its `hash`: it was edited.
    HashMismatch,
    /// The record's `prev_hash` is not the previous record's `hash`: a record
    /// before it was replaced (edited and re-hashed).
    BrokenLink,
    /// The record is missing: the next record present has sequence number `next`.
    Missing { next: u64 },
    /// The record and any after it up to the chain head's `head` are missing: the
    /// newest records were removed.
    TailMissing { head: u64 },
    /// The record is the chain head's but its hash is not the one the head holds.
    HeadMismatch,
    /// A record with sequence number `found` came where record `seq` was expected:
    /// the records are out of order or repeated.
    OutOfOrder { found: u64 },
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakReason::HashMismatch => f.write_str("its content does not match its hash (edited)"),
            BreakReason::BrokenLink => {
                f.write_str("its prev_hash does not match the hash of the record before it")
            }
            BreakReason::Missing { next } => write!(f, "the record is missing (the next one is {next})"),
            BreakReason::TailMissing { head } => {
                write!(f, "the record is missing (the chain head says records up to {head} exist)")
            }
            BreakReason::HeadMismatch => f.write_str("its hash does not match the one the chain head holds"),
            BreakReason::OutOfOrder { found } => {
                write!(f, "record {found} came in its place (out of order or repeated)")
            }
        }
    }
}

/// Checks a chain one record at a time, so a caller can page through a long log.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: u64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { next_seq: 1, prev_hash: GENESIS_HASH.to_string() }
    }
}

impl ChainVerifier {
    /// A verifier expecting record 1.
    pub fn new() -> ChainVerifier {
        ChainVerifier::default()
    }

    /// Checks the next record of the chain; records must come in sequence order.
    /// After a break the verifier's state is unchanged.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let expected = self.next_seq;
        if record.seq > expected {
            return Err(ChainBreak { seq: expected, reason: BreakReason::Missing { next: record.seq } });
        }
        if record.seq < expected {
            return Err(ChainBreak { seq: expected, reason: BreakReason::OutOfOrder { found: record.seq } });
        }
        if chain_hash(record.seq, &record.prev_hash, &record.entry) != record.hash {
            return Err(ChainBreak { seq: record.seq, reason: BreakReason::HashMismatch });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak { seq: record.seq, reason: BreakReason::BrokenLink });
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(&record.hash);
        Ok(())
    }

    /// Checks the records pushed so far against the chain `head`, read before
    /// them: every record up to `head.seq` must have been pushed, and record
    /// `head.seq` must carry the head's hash. Records pushed beyond the head were
    /// appended after it was read. Returns how many records verified.
    pub fn finish(&self, head: &AuditHead) -> Result<u64, ChainBreak> {
        let verified = self.verified();
        if verified < head.seq {
            return Err(ChainBreak {
                seq: verified + 1,
                reason: BreakReason::TailMissing { head: head.seq },
            });
        }
        if verified == head.seq && self.prev_hash != head.hash {
            return Err(ChainBreak { seq: head.seq, reason: BreakReason::HeadMismatch });
        }
        Ok(verified)
    }

    /// How many records verified so far.
    pub fn verified(&self) -> u64 {
        self.next_seq - 1
    }
}

/// Verifies a whole chain, given in sequence order from record 1; returns how many
/// records verified, or the first break.
pub fn verify_chain<'r>(records: impl IntoIterator<Item = &'r AuditRecord>) -> Result<u64, ChainBreak> {
    let mut verifier = ChainVerifier::new();
    for record in records {
        verifier.push(record)?;
    }
    Ok(verifier.verified())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            actor: "ana".into(),
            action: actions::LABEL_CREATE.into(),
            target: format!("label:l-{n}"),
            before: None,
            after: Some(json!({"label_id": format!("l-{n}"), "outcome": "fraud"})),
            at: Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap() + chrono::Duration::seconds(n),
        }
    }

    /// A chain of `n` records built as the store builds it.
    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let entry = entry(seq as i64);
                let hash = chain_hash(seq, &prev, &entry);
                let record = AuditRecord { seq, prev_hash: prev.clone(), hash: hash.clone(), entry };
                prev = hash;
                record
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_every_record() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&[]), Ok(0));
    }

    #[test]
    fn an_edited_record_fails_its_own_hash() {
        let mut records = chain(5);
        records[2].entry.actor = "mallory".into();

        let err = verify_chain(&records).unwrap_err();

        assert_eq!(err, ChainBreak { seq: 3, reason: BreakReason::HashMismatch });
        assert_eq!(
            err.to_string(),
            "audit chain broken at record 3: its content does not match its hash (edited)"
        );
    }

    #[test]
    fn an_edited_and_rehashed_record_breaks_the_link_of_the_next() {
        let mut records = chain(5);
        records[1].entry.after = Some(json!({"outcome": "legit"}));
        records[1].hash = chain_hash(2, &records[1].prev_hash, &records[1].entry);

        assert_eq!(verify_chain(&records), Err(ChainBreak { seq: 3, reason: BreakReason::BrokenLink }));
    }

    #[test]
    fn a_deleted_record_is_named_as_missing() {
        let mut records = chain(5);
        records.remove(3);

        assert_eq!(
            verify_chain(&records),
            Err(ChainBreak { seq: 4, reason: BreakReason::Missing { next: 5 } })
        );
    }

    #[test]
    fn deleting_the_first_record_is_detected() {
        let records = chain(3);

        assert_eq!(
            verify_chain(&records[1..]),
            Err(ChainBreak { seq: 1, reason: BreakReason::Missing { next: 2 } })
        );
    }

    #[test]
    fn reordered_records_are_detected() {
        let mut records = chain(4);
        records.swap(1, 2);

        assert_eq!(
            verify_chain(&records),
            Err(ChainBreak { seq: 2, reason: BreakReason::Missing { next: 3 } })
        );
    }

    #[test]
    fn swapping_the_contents_of_two_sequence_numbers_is_detected() {
        let mut records = chain(4);
        let (second, third) = (records[1].entry.clone(), records[2].entry.clone());
        records[1].entry = third;
        records[2].entry = second;

        assert_eq!(verify_chain(&records), Err(ChainBreak { seq: 2, reason: BreakReason::HashMismatch }));
    }

    #[test]
    fn a_repeated_record_is_out_of_order() {
        let mut records = chain(3);
        records.insert(2, records[1].clone());

        assert_eq!(
            verify_chain(&records),
            Err(ChainBreak { seq: 3, reason: BreakReason::OutOfOrder { found: 2 } })
        );
    }

    #[test]
    fn records_removed_from_the_end_are_found_against_the_head() {
        let records = chain(5);
        let head = AuditHead { seq: 5, hash: records[4].hash.clone() };
        let mut verifier = ChainVerifier::new();
        for record in &records[..3] {
            verifier.push(record).unwrap();
        }

        assert_eq!(
            verifier.finish(&head),
            Err(ChainBreak { seq: 4, reason: BreakReason::TailMissing { head: 5 } })
        );
    }

    #[test]
    fn a_chain_matching_its_head_verifies_and_later_records_are_allowed() {
        let records = chain(5);
        let mut verifier = ChainVerifier::new();
        for record in &records {
            verifier.push(record).unwrap();
        }

        assert_eq!(verifier.finish(&AuditHead { seq: 5, hash: records[4].hash.clone() }), Ok(5));
        assert_eq!(verifier.finish(&AuditHead { seq: 3, hash: records[2].hash.clone() }), Ok(5));
        assert_eq!(
            verifier.finish(&AuditHead { seq: 5, hash: GENESIS_HASH.into() }),
            Err(ChainBreak { seq: 5, reason: BreakReason::HeadMismatch })
        );
        assert_eq!(ChainVerifier::new().finish(&AuditHead { seq: 0, hash: GENESIS_HASH.into() }), Ok(0));
    }

    #[test]
    fn the_hash_covers_every_field() {
        let base = entry(1);
        let hash = chain_hash(1, GENESIS_HASH, &base);
        let variants = [
            AuditEntry { actor: "bob".into(), ..base.clone() },
            AuditEntry { action: "label.delete".into(), ..base.clone() },
            AuditEntry { target: "label:l-2".into(), ..base.clone() },
            AuditEntry { before: Some(json!(null)), ..base.clone() },
            AuditEntry { after: None, ..base.clone() },
            AuditEntry { at: base.at + chrono::Duration::microseconds(1), ..base.clone() },
        ];
        for variant in &variants {
            assert_ne!(chain_hash(1, GENESIS_HASH, variant), hash, "{variant:?}");
        }
        assert_ne!(chain_hash(2, GENESIS_HASH, &base), hash);
        assert_ne!(chain_hash(1, &"1".repeat(64), &base), hash);
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let a = AuditEntry { actor: "ab".into(), action: "c".into(), ..entry(1) };
        let b = AuditEntry { actor: "a".into(), action: "bc".into(), ..entry(1) };

        assert_ne!(chain_hash(1, GENESIS_HASH, &a), chain_hash(1, GENESIS_HASH, &b));
    }

    #[test]
    fn the_hash_does_not_depend_on_json_key_order() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2.5], "x": "é"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"é","y":[1,2.5]},"b":1}"#).unwrap();

        assert_eq!(canonical_json(&a), r#"{"a":{"x":"é","y":[1,2.5]},"b":1}"#);
        let with = |after: &Value| AuditEntry { after: Some(after.clone()), ..entry(1) };
        assert_eq!(chain_hash(1, GENESIS_HASH, &with(&a)), chain_hash(1, GENESIS_HASH, &with(&b)));
    }

    #[test]
    fn a_known_record_has_a_stable_hash() {
        // Pins the encoding: changing it would make every stored chain fail.
        let entry = AuditEntry {
            actor: "ana".into(),
            action: "label.create".into(),
            target: "label:l-1".into(),
            before: None,
            after: Some(json!({"outcome": "fraud"})),
            at: Utc.timestamp_micros(1_795_000_000_000_001).unwrap(),
        };
        let mut manual = Sha256::new();
        manual.update(b"fds-audit-v1");
        manual.update(1u64.to_be_bytes());
        for s in [GENESIS_HASH, "ana", "label.create", "label:l-1"] {
            manual.update((s.len() as u64).to_be_bytes());
            manual.update(s.as_bytes());
        }
        manual.update([0u8, 1u8]);
        manual.update((19u64).to_be_bytes());
        manual.update(br#"{"outcome":"fraud"}"#);
        manual.update(1_795_000_000_000_001i64.to_be_bytes());

        assert_eq!(chain_hash(1, GENESIS_HASH, &entry), hex::encode(manual.finalize()));
    }

    #[test]
    fn entries_are_kept_to_the_microsecond() {
        let mut e = entry(1);
        e.at += chrono::Duration::nanoseconds(1_999);

        assert_eq!(e.clone().normalised().at, entry(1).at + chrono::Duration::microseconds(1));
    }
}
