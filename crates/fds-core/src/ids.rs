//! Deterministic identifiers derived from the event id, so a redelivered or replayed
//! event always maps to the same decision and block ids.

use sha2::{Digest, Sha256};

/// `<prefix>_<24 hex>`: a stable id derived from `key`.
pub fn derived(prefix: &str, key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    format!("{prefix}_{}", hex::encode(&hash[..12]))
}

/// The id of the decision made for `event_id`.
pub fn decision_id(event_id: &str) -> String {
    derived("dec", event_id)
}

/// The id of the block created by the decision for `event_id`.
pub fn block_id(event_id: &str) -> String {
    derived("blk", event_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct_per_kind() {
        assert_eq!(decision_id("e-1"), decision_id("e-1"));
        assert_ne!(decision_id("e-1"), decision_id("e-2"));
        // A block shares its decision's hash, so one can be traced to the other.
        assert_eq!(decision_id("e-1")[4..], block_id("e-1")[4..]);
        assert!(decision_id("e-1").starts_with("dec_"));
        assert_eq!(decision_id("e-1").len(), 4 + 24);
    }
}
