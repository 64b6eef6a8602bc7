//! The kinds of PII field the vault protects, and how each is normalised before it is
//! put through the blind index.

use fds_core::EntityKind;
use std::fmt;
use std::str::FromStr;

/// A kind of PII field. Each kind is bound into the associated data of its ciphertexts
/// (a card number sealed for `Card` cannot be opened as `Identity`) and into its blind
/// index (equal strings in two kinds give unrelated indexes).
///
/// The kinds follow the PII fields of the event contract in `fds_core`: `subscriber`,
/// `identity`, `device_imei`/`imei`, `card_number`, `account`, `callee`/`recipient`
/// and `new_iccid`, plus two values that are not contract fields but are kept the
/// same way: a console user's TOTP secret (`totp_secret`) and an analyst's free-text
/// note on a subscriber (`note`), which routinely quotes numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The subscriber's own number (every event).
    Subscriber,
    /// An identity document number (subscription).
    Identity,
    /// A handset IMEI (`device_imei` or `imei`).
    Imei,
    /// A payment card number.
    Card,
    /// A bank or payment account.
    Account,
    /// The other party of a call or SMS (`callee`, `recipient`).
    Callee,
    /// A SIM serial (`new_iccid`).
    Iccid,
    /// A console user's TOTP (second factor) secret, sealed at rest like PII.
    TotpSecret,
    /// An analyst's note on a subscriber's page (free text that may quote PII).
    Note,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Subscriber,
        Field::Identity,
        Field::Imei,
        Field::Card,
        Field::Account,
        Field::Callee,
        Field::Iccid,
        Field::TotpSecret,
        Field::Note,
    ];

    /// The stable name, bound into ciphertexts and blind indexes: never rename one, or
    /// every stored value of that kind becomes unreadable.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Subscriber => "subscriber",
            Field::Identity => "identity",
            Field::Imei => "imei",
            Field::Card => "card",
            Field::Account => "account",
            Field::Callee => "callee",
            Field::Iccid => "iccid",
            Field::TotpSecret => "totp_secret",
            Field::Note => "note",
        }
    }

    /// The vault field for an entity key, `None` for entities that are not PII
    /// (merchant ids).
    pub fn for_entity(kind: EntityKind) -> Option<Field> {
        match kind {
            EntityKind::Subscriber => Some(Field::Subscriber),
            EntityKind::Identity => Some(Field::Identity),
            EntityKind::Imei => Some(Field::Imei),
            EntityKind::Card => Some(Field::Card),
            EntityKind::Account => Some(Field::Account),
            EntityKind::Callee => Some(Field::Callee),
            EntityKind::Merchant => None,
        }
    }

    /// The form a value takes before blind indexing, so that the ways people type one
    /// value index alike:
    ///
    /// - every kind: surrounding whitespace is trimmed;
    /// - phone numbers (`Subscriber`, `Callee`): spaces, dashes, dots and brackets are
    ///   removed (`010-1234-5678` = `01012345678`); a leading `+` is kept, so a national
    ///   and an international form of one number index differently — callers that want
    ///   them equal canonicalise the number first;
    /// - digit strings (`Imei`, `Card`, `Iccid`): spaces and dashes are removed;
    /// - `Account`: spaces and dashes are removed and letters upper-cased (IBAN style);
    /// - `Identity`: trimmed only, since its format varies by issuing country.
    ///
    /// Only the blind index uses this; encryption keeps the value exactly as given.
    pub fn normalise(self, value: &str) -> String {
        let value = value.trim();
        match self {
            Field::Subscriber | Field::Callee => {
                value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect()
            }
            Field::Imei | Field::Card | Field::Iccid => {
                value.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
            }
            Field::Account => {
                value.chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_uppercase()).collect()
            }
            Field::Identity | Field::TotpSecret | Field::Note => value.to_string(),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given is not one of the field kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown PII field {name:?}, expected one of subscriber, identity, imei, card, account, callee, iccid, totp_secret, note"
)]
pub struct UnknownField {
    pub name: String,
}

impl FromStr for Field {
    type Err = UnknownField;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| UnknownField { name: name.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_name_parses_back_to_its_field() {
        for field in Field::ALL {
            assert_eq!(field.as_str().parse::<Field>(), Ok(field));
        }
        assert!("merchant".parse::<Field>().is_err());
    }

    #[test]
    fn every_pii_entity_has_a_field_and_merchant_has_none() {
        for kind in EntityKind::ALL {
            match Field::for_entity(kind) {
                Some(field) => assert_eq!(field.as_str(), kind.as_str()),
                None => assert_eq!(kind, EntityKind::Merchant),
            }
        }
    }

    #[test]
    fn phone_numbers_lose_their_punctuation_but_keep_a_leading_plus() {
        assert_eq!(Field::Subscriber.normalise(" 010-1234 5678 "), "01012345678");
        assert_eq!(Field::Callee.normalise("+82 (10) 1234.5678"), "+821012345678");
    }

    #[test]
    fn digit_fields_lose_spaces_and_dashes() {
        assert_eq!(Field::Card.normalise("4111 1111-1111 1111"), "4111111111111111");
        assert_eq!(Field::Imei.normalise("35-209900-176148-1"), "352099001761481");
        assert_eq!(Field::Iccid.normalise(" 8982 0000 0000 0000 0001 "), "89820000000000000001");
    }

    #[test]
    fn accounts_are_compared_without_dashes_and_case() {
        assert_eq!(Field::Account.normalise("de89-3704 0044 0532 0130 00"), "DE89370400440532013000");
    }

    #[test]
    fn identities_are_only_trimmed() {
        assert_eq!(Field::Identity.normalise("  ab-12 cd \n"), "ab-12 cd");
    }
}
