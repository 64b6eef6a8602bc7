//! PII at rest, shared by both backends: values sealed by the vault before they
//! are stored and opened when read, and the blind index that lookup columns hold.
//! Errors name the table and the key id, never the value.

use crate::StoreError;
use fds_vault::{Field, Sealed, Vault};
use serde_json::Value;

/// The vault field of a JSON key that holds PII (event contract fields, decision
/// and audit JSON), `None` for other keys.
fn field_of(key: &str) -> Option<Field> {
    match key {
        "subscriber" => Some(Field::Subscriber),
        "callee" | "recipient" => Some(Field::Callee),
        "identity" => Some(Field::Identity),
        "device_imei" | "imei" => Some(Field::Imei),
        "new_iccid" => Some(Field::Iccid),
        "card_number" => Some(Field::Card),
        "account" => Some(Field::Account),
        // An analyst's note quoted in an audit record (`notes.rs`).
        "note_text" => Some(Field::Note),
        _ => None,
    }
}

/// The blind index of a subscriber number, what lookup columns hold.
pub(crate) fn index(vault: &Vault, subscriber: &str) -> String {
    vault.blind_index(Field::Subscriber, subscriber)
}

/// A subscriber number sealed, in its stored text form.
pub(crate) fn seal_subscriber(vault: &Vault, subscriber: &str) -> String {
    vault.encrypt(Field::Subscriber, subscriber).to_string()
}

/// The subscriber number sealed in `stored`, read from `table`.
pub(crate) fn open_subscriber(
    vault: &Vault,
    table: &'static str,
    stored: &str,
) -> Result<String, StoreError> {
    open(vault, Field::Subscriber, table, stored)
}

/// A console user's TOTP secret sealed, in its stored text form.
pub(crate) fn seal_totp(vault: &Vault, secret: &str) -> String {
    vault.encrypt(Field::TotpSecret, secret).to_string()
}

/// The TOTP secret sealed in `stored`.
pub(crate) fn open_totp(vault: &Vault, stored: &str) -> Result<String, StoreError> {
    open(vault, Field::TotpSecret, "console_users", stored)
}

/// An analyst's note sealed in `stored` (table `subscriber_notes`).
pub(crate) fn open_note(vault: &Vault, stored: &str) -> Result<String, StoreError> {
    open(vault, Field::Note, "subscriber_notes", stored)
}

/// A reference to `subscriber` for a console link or form: the number sealed, so it
/// never shows in a URL or a page, and a new reference each time.
pub(crate) fn subscriber_ref(vault: &Vault, subscriber: &str) -> String {
    seal_subscriber(vault, subscriber)
}

/// The number a [`subscriber_ref`] stands for; refused when `reference` is not one
/// this vault made (under any key still in its ring).
pub(crate) fn open_subscriber_ref(vault: &Vault, reference: &str) -> Result<String, StoreError> {
    Sealed::parse(reference)
        .ok()
        .and_then(|sealed| vault.decrypt(Field::Subscriber, &sealed).ok())
        .ok_or_else(|| StoreError::Refused("not a subscriber reference".into()))
}

fn open(vault: &Vault, field: Field, table: &'static str, stored: &str) -> Result<String, StoreError> {
    let sealed = Sealed::parse(stored).map_err(|e| StoreError::Sealed {
        table,
        key_id: "unknown".into(),
        reason: e.to_string(),
    })?;
    vault.decrypt(field, &sealed).map_err(|e| StoreError::Sealed {
        table,
        key_id: sealed.key_id().as_str().to_string(),
        reason: e.to_string(),
    })
}

/// Seals, in place, every string held under a PII key anywhere in `value`.
pub(crate) fn seal_json(vault: &Vault, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match (field_of(key), item.as_str()) {
                    (Some(field), Some(plain)) => {
                        let sealed = vault.encrypt(field, plain).to_string();
                        *item = Value::String(sealed);
                    }
                    _ => seal_json(vault, item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| seal_json(vault, item)),
        _ => {}
    }
}

/// Opens, in place, every string held under a PII key anywhere in `value` (read
/// from `table`): the reverse of [`seal_json`].
pub(crate) fn open_json(vault: &Vault, table: &'static str, value: &mut Value) -> Result<(), StoreError> {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match (field_of(key), item.as_str()) {
                    (Some(field), Some(stored)) => {
                        let plain = open(vault, field, table, stored)?;
                        *item = Value::String(plain);
                    }
                    _ => open_json(vault, table, item)?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                open_json(vault, table, item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What re-sealing some stored values found: how many values moved to the
/// active key, counted by the key id each was under before.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resealed {
    pub(crate) from_keys: std::collections::BTreeMap<String, u64>,
}

/// `stored` (a sealed value for `field`, read from `table`) re-sealed under the
/// vault's active key, or `None` when it already uses it.
pub(crate) fn reseal(
    vault: &Vault,
    field: Field,
    table: &'static str,
    stored: &str,
    found: &mut Resealed,
) -> Result<Option<String>, StoreError> {
    let sealed = Sealed::parse(stored).map_err(|e| StoreError::Sealed {
        table,
        key_id: "unknown".into(),
        reason: e.to_string(),
    })?;
    let old_key = sealed.key_id().as_str().to_string();
    let rotated = vault.rotate(field, &sealed).map_err(|e| StoreError::Sealed {
        table,
        key_id: old_key.clone(),
        reason: e.to_string(),
    })?;
    Ok(rotated.map(|new| {
        *found.from_keys.entry(old_key).or_default() += 1;
        new.to_string()
    }))
}

/// Re-seals, in place, every value under a PII key anywhere in `value` (read
/// from `table`) that is not under the vault's active key; whether any changed.
pub(crate) fn reseal_json(
    vault: &Vault,
    table: &'static str,
    value: &mut Value,
    found: &mut Resealed,
) -> Result<bool, StoreError> {
    let mut changed = false;
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match (field_of(key), item.as_str()) {
                    (Some(field), Some(stored)) => {
                        if let Some(new) = reseal(vault, field, table, stored, found)? {
                            *item = Value::String(new);
                            changed = true;
                        }
                    }
                    _ => changed |= reseal_json(vault, table, item, found)?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= reseal_json(vault, table, item, found)?;
            }
        }
        _ => {}
    }
    Ok(changed)
}

/// The key ids, other than the vault's active one, of the sealed values under
/// PII keys anywhere in `value` (values that do not parse are skipped: this only
/// reports, it never opens anything).
pub(crate) fn old_key_ids(vault: &Vault, value: &Value, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (field_of(key), item.as_str()) {
                    (Some(_), Some(stored)) => {
                        if let Ok(sealed) = Sealed::parse(stored) {
                            if vault.needs_rotation(&sealed) {
                                out.insert(sealed.key_id().as_str().to_string());
                            }
                        }
                    }
                    _ => old_key_ids(vault, item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| old_key_ids(vault, item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fds_vault::KeyRing;

    #[test]
    fn pii_keys_are_sealed_at_any_depth_and_open_back() {
        let vault = Vault::new(KeyRing::generate_local());
        let plain = serde_json::json!({
            "subscriber": "01012345678",
            "amount": 5000,
            "block": {"subscriber": "01012345678", "reason": "r"},
            "items": [{"card_number": "4111111111111111"}],
        });
        let mut stored = plain.clone();
        seal_json(&vault, &mut stored);
        let text = stored.to_string();
        assert!(!text.contains("01012345678") && !text.contains("4111111111111111"), "{text}");
        assert_eq!(stored["amount"], 5000);
        open_json(&vault, "events", &mut stored).unwrap();
        assert_eq!(stored, plain);
    }

    #[test]
    fn a_value_that_does_not_open_names_the_table_and_key_but_not_the_value() {
        let vault = Vault::new(KeyRing::generate_local());
        let mut stored = serde_json::json!({"subscriber": "01012345678"});
        let err = open_json(&vault, "decisions", &mut stored).unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, StoreError::Sealed { table: "decisions", .. }), "{shown}");
        assert!(!shown.contains("01012345678"), "{shown}");
    }

    #[test]
    fn resealing_moves_only_values_under_other_keys_and_counts_them_by_key() {
        let ring = |active: &str| {
            let keys = [("a", "a".repeat(64)), ("b", "b".repeat(64))];
            Vault::new(KeyRing::from_config(active, keys, &"c".repeat(64)).expect("valid test keys"))
        };
        let (old, new) = (ring("a"), ring("b"));
        let mut stored = serde_json::json!({"subscriber": "01012345678", "x": [{"imei": "352099001761481"}]});
        seal_json(&old, &mut stored);
        stored["callee"] = serde_json::Value::String(new.encrypt(Field::Callee, "0101").to_string());
        let mut stale = std::collections::BTreeSet::new();
        old_key_ids(&new, &stored, &mut stale);
        assert_eq!(stale.into_iter().collect::<Vec<_>>(), ["a"]);

        let mut found = Resealed::default();
        assert!(reseal_json(&new, "events", &mut stored, &mut found).unwrap());
        assert_eq!(found.from_keys.get("a"), Some(&2));
        assert_eq!(found.from_keys.values().sum::<u64>(), 2);
        let text = stored.to_string();
        assert!(!text.contains("\"v1.a.") && text.contains("\"v1.b."), "{text}");
        assert!(!reseal_json(&new, "events", &mut stored, &mut found).unwrap(), "nothing left to move");
        open_json(&new, "events", &mut stored).unwrap();
        assert_eq!(stored["x"][0]["imei"], "352099001761481");
        assert_eq!(stored["callee"], "0101");
    }
}
