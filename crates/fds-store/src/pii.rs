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

/// `value` as JSON text with every string held under a PII key sealed, written in
/// one pass: what [`seal_json`] does to `value`'s `Value` form, without building that
/// tree (the save path's largest cost per record after scoring). Keys come in the
/// order `value` serializes them.
pub(crate) fn sealed_json_text<T: serde::Serialize + ?Sized>(
    vault: &Vault,
    value: &T,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(1024);
    let sealing = Sealing {
        vault,
        in_key: false,
        key: String::new(),
        armed: None,
        sealing: None,
        plain: String::new(),
    };
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, sealing))?;
    // serde_json writes UTF-8 only; the check is a formality.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.utf8_error()))
}

/// The compact formatter, but a string written directly as the value of a PII key
/// is collected and written sealed instead.
struct Sealing<'v> {
    vault: &'v Vault,
    /// Between the start and the end of an object key; `key` holds its text.
    in_key: bool,
    key: String,
    /// The field of the key whose value comes next, until that value starts.
    armed: Option<Field>,
    /// The field of the string being collected into `plain`.
    sealing: Option<Field>,
    plain: String,
}

impl serde_json::ser::Formatter for Sealing<'_> {
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.in_key = true;
        self.key.clear();
        serde_json::ser::CompactFormatter.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.in_key = false;
        serde_json::ser::CompactFormatter.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.armed = field_of(&self.key);
        serde_json::ser::CompactFormatter.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.armed = None;
        serde_json::ser::CompactFormatter.end_object_value(writer)
    }

    // An object or array under a PII key is searched, not sealed (as `seal_json`).
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.armed = None;
        serde_json::ser::CompactFormatter.begin_object(writer)
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.armed = None;
        serde_json::ser::CompactFormatter.begin_array(writer)
    }

    fn begin_string<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        match self.armed.take() {
            Some(field) => {
                self.sealing = Some(field);
                self.plain.clear();
                Ok(())
            }
            None => serde_json::ser::CompactFormatter.begin_string(writer),
        }
    }

    fn end_string<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        match self.sealing.take() {
            Some(field) => {
                let sealed = self.vault.encrypt(field, &self.plain).to_string();
                serde_json::to_writer(writer, &sealed).map_err(std::io::Error::other)
            }
            None => serde_json::ser::CompactFormatter.end_string(writer),
        }
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if self.sealing.is_some() {
            self.plain.push_str(fragment);
            return Ok(());
        }
        if self.in_key {
            self.key.push_str(fragment);
        }
        writer.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape;
        let plain = match escape {
            CharEscape::Quote => '"',
            CharEscape::ReverseSolidus => '\\',
            CharEscape::Solidus => '/',
            CharEscape::Backspace => '\u{8}',
            CharEscape::FormFeed => '\u{c}',
            CharEscape::LineFeed => '\n',
            CharEscape::CarriageReturn => '\r',
            CharEscape::Tab => '\t',
            CharEscape::AsciiControl(byte) => char::from(byte),
        };
        if self.sealing.is_some() {
            self.plain.push(plain);
            return Ok(());
        }
        if self.in_key {
            self.key.push(plain);
        }
        serde_json::ser::CompactFormatter.write_char_escape(writer, escape)
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
    fn sealed_text_seals_what_seal_json_seals_and_opens_back() {
        let vault = Vault::new(KeyRing::generate_local());
        let plain = serde_json::json!({
            "subscriber": "010\"9876\\5432\n\u{1}",
            "amount": 5000,
            "imei": null,
            "account": 7,
            "callee": ["01099998888"],
            "block": {"subscriber": "01012345678", "reason": "r \"quoted\""},
            "items": [{"card_number": "4111111111111111"}, "01012345678"],
            "quote\"d": {"recipient": "01055556666"},
        });
        let text = sealed_json_text(&vault, &plain).unwrap();
        for secret in ["9876", "4111111111111111", "01055556666"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // Only the array item, which is under no key, stays plain (as with `seal_json`).
        assert_eq!(text.matches("01012345678").count(), 1, "{text}");
        assert!(
            text.contains("[\"01099998888\"]"),
            "an array under a PII key is searched, not sealed: {text}"
        );
        let mut stored: Value = serde_json::from_str(&text).unwrap();
        let mut by_value = plain.clone();
        seal_json(&vault, &mut by_value);
        let sealed_at = |v: &Value| v.to_string().matches("\"v1.").count();
        assert_eq!(sealed_at(&stored), sealed_at(&by_value));
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
