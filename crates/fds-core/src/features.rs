//! Feature values as the scorer and the rules see them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One velocity feature's value for one event. Counts, sums and distinct counts are
/// integers; elapsed-time features (`hours_since_*`, `*_age_days`) are fractional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FeatureValue {
    Int(i64),
    Float(f64),
}

impl FeatureValue {
    /// Elapsed-time features report this when the entity has never been seen doing
    /// the thing (e.g. no SIM swap on record): "a very long time ago", so that
    /// `hours_since_sim_swap < 24` is false rather than an error.
    pub const NEVER: FeatureValue = FeatureValue::Float(1.0e9);

    pub fn as_f64(self) -> f64 {
        match self {
            FeatureValue::Int(v) => v as f64,
            FeatureValue::Float(v) => v,
        }
    }
}

impl fmt::Display for FeatureValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureValue::Int(v) => write!(f, "{v}"),
            FeatureValue::Float(v) => write!(f, "{v:.2}"),
        }
    }
}
