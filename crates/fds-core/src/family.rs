//! The fraud families: the vocabulary shared by the rule library (one directory per
//! family under `rules/`), decisions' reasons and the simulator's ground truth.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A fraud pattern family. The rule library keeps each family's rules in
/// `rules/<family>/`, and a decision's reasons name the family of every rule that hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// New lines opened with a stolen identity (명의도용).
    IdentityTheft,
    /// Handsets bought on instalments and resold (폰깡).
    HandsetFraud,
    /// Voice phishing lines and their victims (보이스피싱).
    VoicePhishing,
    /// SIM swap or port-out followed by account takeover.
    SimSwapTakeover,
    /// Micro-payment abuse on the phone bill (소액결제).
    CarrierBillingAbuse,
    /// International revenue share fraud: calls to premium number ranges.
    Irsf,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::IdentityTheft,
        Family::HandsetFraud,
        Family::VoicePhishing,
        Family::SimSwapTakeover,
        Family::CarrierBillingAbuse,
        Family::Irsf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::IdentityTheft => "identity_theft",
            Family::HandsetFraud => "handset_fraud",
            Family::VoicePhishing => "voice_phishing",
            Family::SimSwapTakeover => "sim_swap_takeover",
            Family::CarrierBillingAbuse => "carrier_billing_abuse",
            Family::Irsf => "irsf",
        }
    }

    pub fn parse(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_parses_back_from_its_name() {
        for family in Family::ALL {
            assert_eq!(Family::parse(family.as_str()), Some(family));
        }
        assert_eq!(Family::parse("IRSF"), None);
    }
}
