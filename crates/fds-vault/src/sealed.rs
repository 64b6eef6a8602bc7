//! A sealed (encrypted) value and its self-describing text form.

use crate::keys::KeyId;
use crate::vault::VaultError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Bytes in an AES-GCM nonce (96 bits, random per value).
pub(crate) const NONCE_BYTES: usize = 12;

/// Bytes of the authentication tag at the end of every ciphertext.
pub(crate) const TAG_BYTES: usize = 16;

/// The version tag of the only text form so far.
const VERSION: &str = "v1";

/// One encrypted PII value, as stored.
///
/// Its text form (`Display`, [`Sealed::parse`], and serde as a string) is
///
/// ```text
/// v1.<key id>.<nonce>.<ciphertext>
/// ```
///
/// - `v1`: the format version (AES-256-GCM, associated data binding the field kind and
///   key id);
/// - `<key id>`: the [`KeyId`] of the data key that sealed it, so a value stays readable
///   after the active key changes and a rotation job can find what to re-encrypt;
/// - `<nonce>`: the 12-byte random nonce, unpadded URL-safe base64 (16 characters);
/// - `<ciphertext>`: the AES-GCM output (the value's UTF-8 bytes followed by the 16-byte
///   tag), unpadded URL-safe base64.
///
/// Nothing in it needs quoting in SQL, JSON or URLs. The ciphertext is as long as the
/// value plus 16 bytes, so it shows the length of the value, not its content.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub(crate) key_id: KeyId,
    pub(crate) nonce: [u8; NONCE_BYTES],
    pub(crate) ciphertext: Vec<u8>,
}

impl Sealed {
    /// Reads the text form, checking its shape (version, key id, nonce length,
    /// canonical base64, room for the tag). Authenticity is checked only on decryption.
    pub fn parse(text: &str) -> Result<Sealed, VaultError> {
        let malformed = |reason: &str| VaultError::Malformed { reason: reason.to_string() };
        let mut parts = text.split('.');
        let (Some(version), Some(key_id), Some(nonce), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected four dot-separated parts: v1.<key id>.<nonce>.<ciphertext>"));
        };
        if version != VERSION {
            return Err(malformed("unsupported version, expected v1"));
        }
        let key_id = KeyId::parse(key_id).ok_or_else(|| malformed("invalid key id"))?;
        let nonce: [u8; NONCE_BYTES] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| malformed("nonce is not 12 bytes of unpadded URL-safe base64"))?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| malformed("ciphertext is not unpadded URL-safe base64"))?;
        if ciphertext.len() < TAG_BYTES {
            return Err(malformed("ciphertext is shorter than its authentication tag"));
        }
        Ok(Sealed { key_id, nonce, ciphertext })
    }

    /// The data key this value was sealed under.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}.{}.{}.{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }
}

/// Shows the key id and size only: enough to tell values apart in a test failure.
impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id.as_str())
            .field("ciphertext_bytes", &self.ciphertext.len())
            .finish()
    }
}

impl FromStr for Sealed {
    type Err = VaultError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Sealed::parse(text)
    }
}

impl Serialize for Sealed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Sealed::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sealed {
        Sealed {
            key_id: KeyId::parse("2026-11").expect("valid id"),
            nonce: [0xfb; NONCE_BYTES],
            ciphertext: (0u8..20).collect(),
        }
    }

    #[test]
    fn the_text_form_has_four_parts_and_parses_back() {
        let sealed = sample();
        let text = sealed.to_string();
        assert_eq!(text, "v1.2026-11.-_v7-_v7-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhM");
        assert_eq!(Sealed::parse(&text).expect("own text form parses"), sealed);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let sealed = sample();
        let json = serde_json::to_string(&sealed).expect("serialises");
        assert_eq!(json, format!("\"{sealed}\""));
        assert_eq!(serde_json::from_str::<Sealed>(&json).expect("deserialises"), sealed);
        assert!(serde_json::from_str::<Sealed>("\"v1.x\"").is_err());
    }

    #[test]
    fn malformed_text_is_rejected_with_a_reason() {
        let cases = [
            ("", "expected four dot-separated parts"),
            ("v1.1.AAAA", "expected four dot-separated parts"),
            ("v1.1.AAAA.AAAA.AAAA", "expected four dot-separated parts"),
            ("v2.1.-_v7-_v7-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhM", "unsupported version"),
            ("v1.a b.-_v7-_v7-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhM", "invalid key id"),
            ("v1.1.-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhM", "nonce is not 12 bytes"),
            ("v1.1.-_v7-_v7-_v7-_v7.AAEC+wQF", "ciphertext is not unpadded"),
            ("v1.1.-_v7-_v7-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhM=", "ciphertext is not unpadded"),
            ("v1.1.-_v7-_v7-_v7-_v7.AAECAwQF", "shorter than its authentication tag"),
        ];
        for (text, expected) in cases {
            match Sealed::parse(text) {
                Err(VaultError::Malformed { reason }) => {
                    assert!(reason.contains(expected), "{text}: {reason}")
                }
                other => panic!("{text}: expected a malformed error, got {other:?}"),
            }
        }
    }

    #[test]
    fn non_canonical_base64_is_rejected() {
        // "AAECAwQFBgcICQoLDA0ODxAREhM" ends in 'M'; 'N' differs only in bits that the
        // decoder would otherwise drop, so two texts would name one ciphertext.
        let text = "v1.1.-_v7-_v7-_v7-_v7.AAECAwQFBgcICQoLDA0ODxAREhN";
        assert!(matches!(Sealed::parse(text), Err(VaultError::Malformed { .. })));
    }

    #[test]
    fn debug_shows_only_the_key_id_and_size() {
        assert_eq!(format!("{:?}", sample()), r#"Sealed { key_id: "2026-11", ciphertext_bytes: 20 }"#);
    }
}
