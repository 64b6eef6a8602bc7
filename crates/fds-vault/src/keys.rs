//! Key material: the AES-256-GCM data keys by id (one active, older ones kept for
//! decryption while values are rotated) and the separate HMAC key of the blind index.
//! Built from configuration strings and validated with every problem listed at once.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Bytes in every key: AES-256 data keys and the HMAC-SHA256 index key alike.
pub(crate) const KEY_BYTES: usize = 32;

/// The longest key id. Every sealed value carries its key id, so ids stay short.
const MAX_KEY_ID_LEN: usize = 16;

/// The name of a data key, stored in every sealed value so that the key can be found
/// again after rotation: 1 to 16 ASCII letters, digits, `-` or `_` (never a `.`, which
/// separates the parts of the sealed text form). Numbers (`"1"`, `"2"`) and dates
/// (`"2026-11"`) both work.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The id, or `None` when `id` is empty, too long or holds another character.
    pub fn parse(id: &str) -> Option<KeyId> {
        let ok = !id.is_empty()
            && id.len() <= MAX_KEY_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| KeyId(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 32 bytes of key material. `Debug` never shows it and it is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret([u8; KEY_BYTES]);

impl Secret {
    fn random() -> Secret {
        let mut bytes = [0u8; KEY_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Secret(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// Reads a key given as 64 hex digits or as base64 (standard or URL-safe, padded
    /// or not). The message names what is wrong, never the material.
    fn decode(text: &str) -> Result<Secret, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".to_string());
        }
        let decoded: Zeroizing<Vec<u8>> =
            if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                Zeroizing::new(hex::decode(text).map_err(|_| "is not valid hex".to_string())?)
            } else {
                let mut found = None;
                for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                    if let Ok(bytes) = engine.decode(text) {
                        found = Some(Zeroizing::new(bytes));
                        break;
                    }
                }
                found.ok_or_else(|| "is neither 64 hex digits nor base64".to_string())?
            };
        let bytes: [u8; KEY_BYTES] = decoded.as_slice().try_into().map_err(|_| {
            format!(
                "must be {KEY_BYTES} bytes (64 hex digits or 44 base64 characters), got {} bytes",
                decoded.len()
            )
        })?;
        Ok(Secret(bytes))
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The configured keys were not usable; `problems` lists every one found, never the
/// key material itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid vault keys: {}", problems.join("; "))]
pub struct KeyRingError {
    pub problems: Vec<String>,
}

/// Validated key material for a [`Vault`](crate::Vault): data keys by id, the id of the
/// one that encrypts new values, and the blind-index key. Keys come from configuration
/// (a k8s Secret in production), never from the database.
#[derive(Clone)]
pub struct KeyRing {
    pub(crate) active: KeyId,
    pub(crate) data_keys: BTreeMap<KeyId, Secret>,
    pub(crate) index_key: Secret,
}

impl KeyRing {
    /// Builds a key ring from configuration strings: `active` names the data key that
    /// encrypts new values, `keys` lists every data key as `(id, material)` (the active
    /// one and older ones still needed to read values not yet rotated), and `index_key`
    /// is the separate blind-index key. Material is 32 bytes given as 64 hex digits or
    /// base64 (standard or URL-safe, padding optional).
    ///
    /// Every problem is reported at once: malformed ids, ids listed twice, material of
    /// the wrong length or encoding, an active id that is not among the keys, an index
    /// key missing or equal to a data key.
    pub fn from_config<I, K, V>(active: &str, keys: I, index_key: &str) -> Result<KeyRing, KeyRingError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut problems = Vec::new();
        let mut data_keys = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for (id, material) in keys {
            let id = id.as_ref();
            if !seen.insert(id.to_string()) {
                problems.push(format!("data key id {id:?} is listed more than once"));
                continue;
            }
            let key_id = KeyId::parse(id);
            if key_id.is_none() {
                problems.push(format!(
                    "data key id {id:?} must be 1 to {MAX_KEY_ID_LEN} ASCII letters, digits, '-' or '_'"
                ));
            }
            match Secret::decode(material.as_ref()) {
                Ok(secret) => {
                    if let Some(key_id) = key_id {
                        data_keys.insert(key_id, secret);
                    }
                }
                Err(why) => problems.push(format!("data key {id:?} {why}")),
            }
        }
        if seen.is_empty() {
            problems.push("no data keys are configured".to_string());
        }

        let active_id = KeyId::parse(active);
        match &active_id {
            None => problems.push(format!(
                "active key id {active:?} must be 1 to {MAX_KEY_ID_LEN} ASCII letters, digits, '-' or '_'"
            )),
            Some(id) if !seen.contains(id.as_str()) => {
                let known: Vec<&str> = seen.iter().map(String::as_str).collect();
                problems.push(format!(
                    "active key id {active:?} is not among the data keys ({})",
                    known.join(", ")
                ));
            }
            Some(_) => {}
        }

        let index = match Secret::decode(index_key) {
            Ok(secret) => {
                for (id, key) in &data_keys {
                    if *key == secret {
                        problems.push(format!("index key must differ from data key {:?}", id.as_str()));
                    }
                }
                Some(secret)
            }
            Err(why) => {
                problems.push(format!("index key {why}"));
                None
            }
        };

        match (active_id, index) {
            (Some(active), Some(index_key)) if problems.is_empty() => {
                Ok(KeyRing { active, data_keys, index_key })
            }
            _ => Err(KeyRingError { problems }),
        }
    }

    /// Fresh random keys (data key id `local`) for `fds demo` and tests **only**: they
    /// live in memory, so whatever they sealed is unreadable once the process ends.
    /// Production keys always come from configuration through
    /// [`from_config`](KeyRing::from_config).
    pub fn generate_local() -> KeyRing {
        let active = KeyId("local".to_string());
        let data_keys = BTreeMap::from([(active.clone(), Secret::random())]);
        KeyRing { active, data_keys, index_key: Secret::random() }
    }

    /// The id of the data key that encrypts new values.
    pub fn active_key_id(&self) -> &KeyId {
        &self.active
    }

    /// Every data key id, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.data_keys.keys()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("active", &self.active.as_str())
            .field("data_keys", &self.data_keys.keys().map(KeyId::as_str).collect::<Vec<_>>())
            .field("index_key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const HEX_B: &str = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    const HEX_INDEX: &str = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";

    #[test]
    fn key_ids_are_short_names_without_dots() {
        assert!(KeyId::parse("1").is_some());
        assert!(KeyId::parse("2026-11_b").is_some());
        assert!(KeyId::parse("").is_none());
        assert!(KeyId::parse("a.b").is_none());
        assert!(KeyId::parse("seventeen-chars-x").is_none());
    }

    #[test]
    fn hex_and_every_base64_flavour_decode_to_the_same_key() {
        let bytes = hex::decode(HEX_B).expect("test constant is hex");
        let expected = Secret::decode(HEX_B).expect("hex key decodes");
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&bytes);
            assert_eq!(Secret::decode(&text).expect("base64 key decodes"), expected, "{text}");
        }
    }

    #[test]
    fn a_valid_config_builds_a_ring_with_every_key() {
        let ring = KeyRing::from_config("2", [("1", HEX_A), ("2", HEX_B)], HEX_INDEX).expect("valid config");
        assert_eq!(ring.active_key_id().as_str(), "2");
        assert_eq!(ring.key_ids().map(KeyId::as_str).collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn config_validation_lists_every_problem_at_once() {
        let short = STANDARD.encode([7u8; 16]);
        let keys = vec![
            ("1".to_string(), HEX_A.to_string()),
            ("1".to_string(), HEX_B.to_string()),
            ("2".to_string(), short),
            ("bad.id".to_string(), HEX_B.to_string()),
            ("3".to_string(), "not a key!".to_string()),
        ];
        let err = KeyRing::from_config("9", keys, HEX_A).expect_err("config is invalid");
        assert_eq!(
            err.problems,
            [
                "data key id \"1\" is listed more than once",
                "data key \"2\" must be 32 bytes (64 hex digits or 44 base64 characters), got 16 bytes",
                "data key id \"bad.id\" must be 1 to 16 ASCII letters, digits, '-' or '_'",
                "data key \"3\" is neither 64 hex digits nor base64",
                "active key id \"9\" is not among the data keys (1, 2, 3, bad.id)",
                "index key must differ from data key \"1\"",
            ]
        );
    }

    #[test]
    fn an_empty_config_reports_missing_keys_and_index_key() {
        let err = KeyRing::from_config("", Vec::<(&str, &str)>::new(), "").expect_err("config is empty");
        assert_eq!(
            err.problems,
            [
                "no data keys are configured",
                "active key id \"\" must be 1 to 16 ASCII letters, digits, '-' or '_'",
                "index key is empty",
            ]
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let ring = KeyRing::from_config("1", [("1", HEX_A)], HEX_INDEX).expect("valid config");
        let shown = format!("{ring:?} {:?}", ring.data_keys);
        assert_eq!(
            format!("{ring:?}"),
            r#"KeyRing { active: "1", data_keys: ["1"], index_key: "<redacted>" }"#
        );
        for material in [HEX_A, HEX_INDEX] {
            let bytes = hex::decode(material).expect("test constant is hex");
            assert!(!shown.contains(material));
            assert!(!shown.contains(&STANDARD_NO_PAD.encode(&bytes)));
            assert!(!shown.contains(&format!("{:?}", &bytes[..4])));
        }
    }

    #[test]
    fn local_keys_are_fresh_each_time() {
        let a = KeyRing::generate_local();
        let b = KeyRing::generate_local();
        assert_eq!(a.active_key_id().as_str(), "local");
        assert_ne!(a.data_keys[a.active_key_id()], b.data_keys[b.active_key_id()]);
        assert_ne!(a.index_key, a.data_keys[a.active_key_id()]);
    }
}
