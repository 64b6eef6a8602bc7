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
}
