//! Personally identifiable values (subscriber numbers, identity ids, IMEIs, card and
//! account numbers). The `Debug` form is redacted so PII cannot reach logs by accident.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A PII string. Serialises as the plain value (API clients and the store need it);
/// formats as `Pii(***1234)`-style redaction under `Debug`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii(String);

impl Pii {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain value. Callers that log must not use this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last two characters only, for operator-facing hints.
    pub fn redacted(&self) -> String {
        let tail: String = self.0.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
        format!("***{tail}")
    }
}

impl fmt::Debug for Pii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pii({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_form_never_shows_the_value() {
        let pii = Pii::new("01012345678");
        let shown = format!("{pii:?}");
        assert_eq!(shown, "Pii(***78)");
        assert!(!shown.contains("0101234"));
    }
}
