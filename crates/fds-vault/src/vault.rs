//! Sealing and opening PII values, rotating them to the active key, and the keyed
//! blind index for equality search.

use crate::field::Field;
use crate::keys::{KeyId, KeyRing, Secret};
use crate::sealed::{Sealed, NONCE_BYTES};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use fds_core::Pii;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Bytes of the HMAC kept as the blind index: 128 bits leave no practical chance of two
/// values colliding while keeping the index column half the size of a full digest.
const BLIND_INDEX_BYTES: usize = 16;

/// Why a sealed value could not be opened. No variant ever carries the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The text form is not `v1.<key id>.<nonce>.<ciphertext>`.
    #[error("malformed sealed value: {reason}")]
    Malformed { reason: String },
    /// The value was sealed under a key this vault does not hold (removed too early, or
    /// the configuration lacks it).
    #[error("sealed value uses unknown key id {key_id}")]
    UnknownKey { key_id: KeyId },
    /// The value is intact but was sealed for another field kind (a value copied into
    /// the wrong column).
    #[error("sealed value belongs to field {sealed_for}, not {expected}")]
    WrongField { expected: Field, sealed_for: Field },
    /// Authentication failed: the nonce or ciphertext was altered, or another key
    /// with the same id sealed it.
    #[error("sealed value under key id {key_id} failed authentication: it was altered or sealed with other key material")]
    Tampered { key_id: KeyId },
}

/// Encrypts PII per value with AES-256-GCM and computes blind indexes.
///
/// Built from a validated [`KeyRing`]; it holds the expanded data keys (wiped on drop)
/// and the index key. All methods take `&self`, so one vault is shared across threads.
pub struct Vault {
    active: KeyId,
    ciphers: BTreeMap<KeyId, Aes256Gcm>,
    index_key: Secret,
}

impl Vault {
    pub fn new(keys: KeyRing) -> Vault {
        let ciphers = keys
            .data_keys
            .iter()
            .map(|(id, secret)| (id.clone(), Aes256Gcm::new(&(*secret.bytes()).into())))
            .collect();
        Vault { active: keys.active.clone(), ciphers, index_key: keys.index_key.clone() }
    }

    /// The data key that seals new values.
    pub fn active_key_id(&self) -> &KeyId {
        &self.active
    }

    /// Seals `plaintext` for `field` under the active key with a fresh random 96-bit
    /// nonce, so equal values give unrelated ciphertexts. The field kind and key id are
    /// bound as associated data.
    pub fn encrypt(&self, field: Field, plaintext: &str) -> Sealed {
        let mut nonce = [0u8; NONCE_BYTES];
        // The thread's CSPRNG (ChaCha12, seeded from the operating system and reseeded
        // every 64 KiB): a system call per value would cost more than sealing it.
        rand::thread_rng().fill_bytes(&mut nonce);
        let cipher = self.ciphers.get(&self.active).expect("a key ring always holds its active key");
        let aad = associated_data(field, &self.active);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: &aad })
            .expect("AES-GCM seals any value shorter than 64 GiB");
        Sealed { key_id: self.active.clone(), nonce, ciphertext }
    }

    /// Opens a value sealed for `field`. Fails with [`VaultError::UnknownKey`] when its
    /// key is not held, [`VaultError::WrongField`] when it was sealed for another field
    /// kind, and [`VaultError::Tampered`] when any byte was changed.
    pub fn decrypt(&self, field: Field, sealed: &Sealed) -> Result<String, VaultError> {
        let cipher = self
            .ciphers
            .get(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey { key_id: sealed.key_id.clone() })?;
        let open = |field: Field| {
            let aad = associated_data(field, &sealed.key_id);
            cipher.decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.ciphertext, aad: &aad })
        };
        match open(field) {
            Ok(bytes) => String::from_utf8(bytes).map_err(|err| {
                // Only this vault's keys seal, and they seal `&str`s: reaching here means
                // the key material was used elsewhere. Wipe what was opened.
                let mut bytes = err.into_bytes();
                bytes.zeroize();
                VaultError::Malformed { reason: "sealed content is not UTF-8 text".to_string() }
            }),
            Err(_) => {
                // Authentication failed. Only on this error path, find out whether the
                // value is intact but belongs to another field, to say so.
                for other in Field::ALL.into_iter().filter(|f| *f != field) {
                    if let Ok(bytes) = open(other) {
                        drop(Zeroizing::new(bytes));
                        return Err(VaultError::WrongField { expected: field, sealed_for: other });
                    }
                }
                Err(VaultError::Tampered { key_id: sealed.key_id.clone() })
            }
        }
    }

    /// [`decrypt`](Vault::decrypt) into the redacted [`Pii`] newtype, for callers that
    /// pass the value on and must not let it reach a log through `Debug`.
    pub fn decrypt_pii(&self, field: Field, sealed: &Sealed) -> Result<Pii, VaultError> {
        self.decrypt(field, sealed).map(Pii::new)
    }

    /// Whether `sealed` uses a key other than the active one.
    pub fn needs_rotation(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.active
    }

    /// Re-seals a value under the active key: `Ok(None)` when it already uses the
    /// active key (nothing to write back), `Ok(Some(new))` otherwise. Each value is
    /// handled on its own, so a `fds keys rotate` run can work in batches, stop, and
    /// resume by selecting values whose key id is not the active one.
    pub fn rotate(&self, field: Field, sealed: &Sealed) -> Result<Option<Sealed>, VaultError> {
        if !self.needs_rotation(sealed) {
            return Ok(None);
        }
        let plaintext = Zeroizing::new(self.decrypt(field, sealed)?);
        Ok(Some(self.encrypt(field, &plaintext)))
    }

    /// The blind index of `value` as `field`: HMAC-SHA256 under the index key over the
    /// field kind and the [normalised](Field::normalise) value, first 16 bytes in
    /// lowercase hex (32 characters).
    ///
    /// Equal values (after normalisation) give equal indexes, so a store can find rows
    /// by value without decrypting them; the same string in two field kinds gives
    /// unrelated indexes. It does not depend on the data keys, so rotating them leaves
    /// every index valid; changing the index key means recomputing every index.
    pub fn blind_index(&self, field: Field, value: &str) -> String {
        let normalised = Zeroizing::new(field.normalise(value));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.index_key.bytes())
            .expect("HMAC accepts a key of any length");
        mac.update(b"fds-vault/blind-index/v1/");
        mac.update(field.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        let digest = mac.finalize().into_bytes();
        hex::encode(&digest[..BLIND_INDEX_BYTES])
    }
}

impl Vault {
    /// A 32-byte key for `purpose`, derived from the index key (HMAC-SHA256 over a
    /// domain-separated label): for another component that must pseudonymise values
    /// the same way in every process sharing this key ring (the shared velocity store
    /// keys its Redis entries with it), without handing it the index key itself.
    /// Equal purposes give equal keys; distinct purposes, unrelated ones.
    pub fn derive_key(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.index_key.bytes())
            .expect("HMAC accepts a key of any length");
        mac.update(b"fds-vault/derived-key/v1/");
        mac.update(purpose.as_bytes());
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

impl From<KeyRing> for Vault {
    fn from(keys: KeyRing) -> Vault {
        Vault::new(keys)
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("active", &self.active.as_str())
            .field("data_keys", &self.ciphers.keys().map(KeyId::as_str).collect::<Vec<_>>())
            .field("index_key", &"<redacted>")
            .finish()
    }
}

/// What every ciphertext is bound to besides its key: the format version, the field
/// kind and the key id. Opening with any other field kind fails authentication.
fn associated_data(field: Field, key_id: &KeyId) -> Vec<u8> {
    format!("fds-vault/v1/{}/{}", field.as_str(), key_id.as_str()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const KEY_2: &str = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    const INDEX: &str = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
    const OTHER_INDEX: &str = "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
    const NUMBER: &str = "01012345678";

    fn vault_with(active: &str, keys: &[(&str, &str)], index: &str) -> Vault {
        Vault::new(KeyRing::from_config(active, keys.iter().copied(), index).expect("valid test keys"))
    }

    fn vault_1() -> Vault {
        vault_with("1", &[("1", KEY_1)], INDEX)
    }

    /// A sample value for each field kind.
    fn samples() -> [(Field, &'static str); 9] {
        [
            (Field::Subscriber, NUMBER),
            (Field::Identity, "900101-1234567"),
            (Field::Imei, "352099001761481"),
            (Field::Card, "4111111111111111"),
            (Field::Account, "DE89370400440532013000"),
            (Field::Callee, "+821098765432"),
            (Field::Iccid, "8982000000000000000001"),
            (Field::TotpSecret, "JBSWY3DPEHPK3PXP"),
            (Field::Note, "called back from 010-9876-5432, says the SIM swap was not theirs"),
        ]
    }

    #[test]
    fn derived_keys_follow_the_index_key_and_the_purpose() {
        let (a, b) = (vault_1(), vault_with("2", &[("2", KEY_2)], INDEX));
        assert_eq!(*a.derive_key("redis"), *b.derive_key("redis"), "the data keys play no part");
        assert_ne!(*a.derive_key("redis"), *a.derive_key("other"));
        let other = vault_with("1", &[("1", KEY_1)], OTHER_INDEX);
        assert_ne!(*a.derive_key("redis"), *other.derive_key("redis"));
        assert_ne!(hex::encode(&a.derive_key("redis")[..16]), a.blind_index(Field::Identity, "redis"));
    }

    #[test]
    fn every_field_round_trips_through_the_text_form() {
        let vault = vault_1();
        for (field, value) in
            samples().into_iter().chain([(Field::Identity, ""), (Field::Identity, "홍길동 ✓")])
        {
            let text = vault.encrypt(field, value).to_string();
            assert!(text.starts_with("v1.1."), "{text}");
            assert!(!text.contains(value) || value.is_empty());
            let sealed = Sealed::parse(&text).expect("own text form parses");
            assert_eq!(vault.decrypt(field, &sealed).expect("intact value opens"), value);
        }
    }

    #[test]
    fn a_value_sealed_by_another_aes_gcm_implementation_opens() {
        // Sealed outside this crate with AES-256-GCM, KEY_1, nonce 0x64..0x6f and the
        // associated data "fds-vault/v1/subscriber/1": pins the format for stored data.
        let sealed =
            Sealed::parse("v1.1.ZGVmZ2hpamtsbW5v.eCruV0vaYqsIVWe6n-Tlq_Nc8qnbwO09okjP").expect("parses");
        assert_eq!(vault_1().decrypt(Field::Subscriber, &sealed).expect("opens"), NUMBER);
    }

    #[test]
    fn equal_plaintexts_get_different_nonces_and_ciphertexts() {
        let vault = vault_1();
        let sealed: Vec<Sealed> = (0..64).map(|_| vault.encrypt(Field::Subscriber, NUMBER)).collect();
        for (i, a) in sealed.iter().enumerate() {
            for b in &sealed[i + 1..] {
                assert_ne!(a.nonce, b.nonce);
                assert_ne!(a.ciphertext, b.ciphertext);
            }
        }
    }

    #[test]
    fn changing_any_bit_of_nonce_or_ciphertext_is_rejected() {
        let vault = vault_1();
        let sealed = vault.encrypt(Field::Card, "4111111111111111");
        for byte in 0..NONCE_BYTES {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad.nonce[byte] ^= 1 << bit;
                assert_eq!(
                    vault.decrypt(Field::Card, &bad),
                    Err(VaultError::Tampered { key_id: sealed.key_id.clone() })
                );
            }
        }
        for byte in 0..sealed.ciphertext.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad.ciphertext[byte] ^= 1 << bit;
                assert_eq!(
                    vault.decrypt(Field::Card, &bad),
                    Err(VaultError::Tampered { key_id: sealed.key_id.clone() })
                );
            }
        }
    }

    #[test]
    fn truncated_or_extended_ciphertext_is_rejected() {
        let vault = vault_1();
        let sealed = vault.encrypt(Field::Account, "DE89370400440532013000");
        let mut shorter = sealed.clone();
        shorter.ciphertext.pop();
        let mut longer = sealed.clone();
        longer.ciphertext.push(0);
        for bad in [shorter, longer] {
            assert!(matches!(vault.decrypt(Field::Account, &bad), Err(VaultError::Tampered { .. })));
        }
    }

    #[test]
    fn changing_any_character_of_the_text_form_never_opens() {
        let vault = vault_with("1", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        let text = vault.encrypt(Field::Subscriber, NUMBER).to_string();
        for (i, original) in text.char_indices() {
            for replacement in ['A', 'b', '2', '-', '_', '.'] {
                if replacement == original {
                    continue;
                }
                let mut bad = text.clone();
                bad.replace_range(i..i + 1, &replacement.to_string());
                let opened = Sealed::parse(&bad).and_then(|s| vault.decrypt(Field::Subscriber, &s));
                assert!(opened.is_err(), "{bad} opened");
            }
        }
    }

    #[test]
    fn a_value_opened_as_another_field_is_refused_and_named() {
        let vault = vault_1();
        for (field, value) in samples() {
            let sealed = vault.encrypt(field, value);
            for other in Field::ALL.into_iter().filter(|f| *f != field) {
                assert_eq!(
                    vault.decrypt(other, &sealed),
                    Err(VaultError::WrongField { expected: other, sealed_for: field })
                );
            }
        }
    }

    #[test]
    fn relabelling_a_value_with_another_held_key_id_is_rejected() {
        let vault = vault_with("1", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        let mut sealed = vault.encrypt(Field::Subscriber, NUMBER);
        sealed.key_id = KeyId::parse("2").expect("valid id");
        assert_eq!(
            vault.decrypt(Field::Subscriber, &sealed),
            Err(VaultError::Tampered { key_id: KeyId::parse("2").expect("valid id") })
        );
    }

    #[test]
    fn a_value_sealed_under_a_key_not_held_reports_its_key_id() {
        let sealed = vault_1().encrypt(Field::Imei, "352099001761481");
        let other = vault_with("2", &[("2", KEY_2)], INDEX);
        assert_eq!(
            other.decrypt(Field::Imei, &sealed),
            Err(VaultError::UnknownKey { key_id: KeyId::parse("1").expect("valid id") })
        );
        assert_eq!(
            other.decrypt(Field::Imei, &sealed).expect_err("unknown").to_string(),
            "sealed value uses unknown key id 1"
        );
    }

    #[test]
    fn the_same_key_id_with_other_material_is_rejected() {
        let sealed = vault_1().encrypt(Field::Subscriber, NUMBER);
        let impostor = vault_with("1", &[("1", KEY_2)], INDEX);
        assert!(matches!(impostor.decrypt(Field::Subscriber, &sealed), Err(VaultError::Tampered { .. })));
    }

    #[test]
    fn rotation_moves_old_values_to_the_active_key_and_keeps_them_readable() {
        let before = vault_1();
        let old: Vec<(Field, &str, Sealed)> =
            samples().into_iter().map(|(f, v)| (f, v, before.encrypt(f, v))).collect();

        let after = vault_with("2", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        let mut rotated = Vec::new();
        for (field, value, sealed) in &old {
            assert!(after.needs_rotation(sealed));
            assert_eq!(after.decrypt(*field, sealed).expect("old value still opens"), *value);
            let new = after.rotate(*field, sealed).expect("rotates").expect("old key, so rewritten");
            assert_eq!(new.key_id().as_str(), "2");
            assert!(!after.needs_rotation(&new));
            assert_eq!(after.rotate(*field, &new), Ok(None), "already current: nothing to write");
            rotated.push((*field, *value, new));
        }

        // Once every value is rotated, the old key can be retired.
        let retired = vault_with("2", &[("2", KEY_2)], INDEX);
        for (field, value, sealed) in &rotated {
            assert_eq!(retired.decrypt(*field, sealed).expect("rotated value opens"), *value);
        }
        for (field, _, sealed) in &old {
            assert!(matches!(retired.decrypt(*field, sealed), Err(VaultError::UnknownKey { .. })));
        }
    }

    #[test]
    fn rotation_refuses_a_value_it_cannot_open() {
        let sealed = vault_1().encrypt(Field::Card, "4111111111111111");
        let after = vault_with("2", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        assert_eq!(
            after.rotate(Field::Account, &sealed),
            Err(VaultError::WrongField { expected: Field::Account, sealed_for: Field::Card })
        );
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(after.rotate(Field::Card, &tampered), Err(VaultError::Tampered { .. })));
    }

    #[test]
    fn the_blind_index_is_pinned_to_hmac_sha256_over_field_and_value() {
        // Computed outside this crate: HMAC-SHA256(INDEX, "fds-vault/blind-index/v1/"
        // + "subscriber" + "\0" + value), first 16 bytes. Stored indexes depend on it.
        assert_eq!(vault_1().blind_index(Field::Subscriber, NUMBER), "54648161de76024e1932e87f4bafa9ae");
    }

    #[test]
    fn equal_values_give_equal_blind_indexes_across_vaults() {
        let a = vault_1();
        let b = vault_1();
        for (field, value) in samples() {
            assert_eq!(a.blind_index(field, value), b.blind_index(field, value));
            assert_eq!(a.blind_index(field, value).len(), 32);
        }
        assert_eq!(
            a.blind_index(Field::Subscriber, " 010-1234-5678 "),
            a.blind_index(Field::Subscriber, NUMBER)
        );
        assert_eq!(
            a.blind_index(Field::Card, "4111 1111 1111 1111"),
            a.blind_index(Field::Card, "4111111111111111")
        );
        assert_ne!(a.blind_index(Field::Subscriber, "01012345679"), a.blind_index(Field::Subscriber, NUMBER));
    }

    #[test]
    fn the_same_string_indexes_differently_in_each_field() {
        let vault = vault_1();
        let indexes: std::collections::BTreeSet<String> =
            Field::ALL.into_iter().map(|f| vault.blind_index(f, "352099001761481")).collect();
        assert_eq!(indexes.len(), Field::ALL.len());
    }

    #[test]
    fn another_index_key_gives_other_blind_indexes() {
        let a = vault_1();
        let b = vault_with("1", &[("1", KEY_1)], OTHER_INDEX);
        for (field, value) in samples() {
            assert_ne!(a.blind_index(field, value), b.blind_index(field, value));
        }
    }

    #[test]
    fn rotating_data_keys_leaves_blind_indexes_unchanged() {
        let before = vault_1();
        let after = vault_with("2", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        let retired = vault_with("2", &[("2", KEY_2)], INDEX);
        for (field, value) in samples() {
            let index = before.blind_index(field, value);
            assert_eq!(after.blind_index(field, value), index);
            assert_eq!(retired.blind_index(field, value), index);
        }
    }

    #[test]
    fn debug_and_errors_never_show_keys_or_plaintext() {
        let vault = vault_with("1", &[("1", KEY_1), ("2", KEY_2)], INDEX);
        let sealed = vault.encrypt(Field::Subscriber, NUMBER);
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        let errors = [
            vault.decrypt(Field::Card, &sealed).expect_err("wrong field"),
            vault.decrypt(Field::Subscriber, &tampered).expect_err("tampered"),
            vault_1()
                .decrypt(
                    Field::Subscriber,
                    &vault_with("2", &[("2", KEY_2)], INDEX).encrypt(Field::Subscriber, NUMBER),
                )
                .expect_err("unknown key"),
            Sealed::parse(&format!("v1.1.{NUMBER}.{NUMBER}")).expect_err("malformed"),
        ];
        let mut shown =
            format!("{vault:?} {sealed:?} {:?}", KeyRing::from_config("1", [("1", KEY_1)], INDEX));
        for error in &errors {
            shown.push_str(&format!(" {error:?} {error}"));
        }
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains(NUMBER), "{shown}");
        for key in [KEY_1, KEY_2, INDEX] {
            assert!(!shown.contains(key), "{shown}");
            assert!(!shown.contains(&key[..16]), "{shown}");
        }
    }

    #[test]
    fn a_value_can_be_opened_into_the_redacted_pii_type() {
        let vault = vault_1();
        let pii =
            vault.decrypt_pii(Field::Subscriber, &vault.encrypt(Field::Subscriber, NUMBER)).expect("opens");
        assert_eq!(pii.expose(), NUMBER);
        assert!(!format!("{pii:?}").contains(NUMBER));
    }

    #[test]
    fn one_vault_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Vault>();
        shareable::<KeyRing>();
    }
}
