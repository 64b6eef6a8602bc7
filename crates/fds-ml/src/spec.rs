//! The feature-vector spec: which inputs make a model's row and how they are transformed.
//!
//! A spec is stored inside every model artifact, so the rows a model was trained on and
//! the rows it scores are built by the same code from the same declaration. Version 1
//! rows are, in order: the named velocity features (as declared in the spec, looked up by
//! name in the serving feature set), then `amount`, `duration_s`, `local_hour` and
//! `event_type` taken from the event.
//!
//! Transforms: every velocity value is first capped at `never_cap` (the `1e9` "never"
//! sentinel of `since_*` features would otherwise dwarf every real elapsed time), clamped
//! at 0, then passed through `ln(1 + x)` so that counts, sums and elapsed times spread
//! over a few units rather than several orders of magnitude. `amount` and `duration_s`
//! (0 when the event has none) get `ln(1 + x)` too; `local_hour` is the hour 0..23 and
//! `event_type` the index of the type in the spec's list (the list's length for a type
//! the spec does not know).

use crate::error::SpecError;
use serde::{Deserialize, Serialize};

/// Version of the row layout described in the module docs.
pub const SPEC_VERSION: u32 = 1;

/// The default cap for velocity values: one year in hours. `since_*` features in hours
/// or days never legitimately exceed it by much, while the 1e9 sentinel drops to it.
pub const NEVER_CAP: f64 = 24.0 * 365.0;

/// The event-derived columns of a version 1 row, after the velocity features.
pub const EVENT_COLUMNS: [&str; 4] = ["amount", "duration_s", "local_hour", "event_type"];

/// Which inputs make a model's row (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// Row layout version ([`SPEC_VERSION`]).
    pub version: u32,
    /// Velocity feature names, in row order.
    pub velocity: Vec<String>,
    /// Cap applied to velocity values before `ln(1 + x)`.
    pub never_cap: f64,
    /// Event type names; the `event_type` column is the index in this list.
    pub event_types: Vec<String>,
}

/// The numbers a row takes from the event itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EventInputs<'a> {
    /// The payment amount, 0 for events without one.
    pub amount: f64,
    /// The call duration in seconds, 0 for events without one.
    pub duration_s: f64,
    /// Hour of day 0..23 at the feature set's UTC offset.
    pub local_hour: u32,
    /// The event type's name, e.g. `payment`.
    pub event_type: &'a str,
}

impl FeatureSpec {
    /// A version 1 spec over `velocity` features and `event_types`, with [`NEVER_CAP`].
    pub fn new(velocity: Vec<String>, event_types: Vec<String>) -> FeatureSpec {
        FeatureSpec { version: SPEC_VERSION, velocity, never_cap: NEVER_CAP, event_types }
    }

    /// Column names of the row, in order (velocity features, then [`EVENT_COLUMNS`]).
    pub fn column_names(&self) -> Vec<String> {
        self.velocity.iter().cloned().chain(EVENT_COLUMNS.iter().map(|c| c.to_string())).collect()
    }

    /// Number of columns in a row.
    pub fn n_columns(&self) -> usize {
        self.velocity.len() + EVENT_COLUMNS.len()
    }

    /// Checks the spec and resolves its velocity features against `available`, the
    /// serving feature set's names in the order its values are handed over.
    pub fn bind(&self, available: &[String]) -> Result<BoundSpec, SpecError> {
        if self.version != SPEC_VERSION {
            return Err(SpecError::UnsupportedVersion { found: self.version, supported: SPEC_VERSION });
        }
        if !(self.never_cap.is_finite() && self.never_cap > 0.0) {
            return Err(SpecError::InvalidCap);
        }
        let mut indices = Vec::with_capacity(self.velocity.len());
        for (i, name) in self.velocity.iter().enumerate() {
            if self.velocity[..i].contains(name) {
                return Err(SpecError::Duplicate(name.clone()));
            }
            let index = available
                .iter()
                .position(|a| a == name)
                .ok_or_else(|| SpecError::MissingFeature(name.clone()))?;
            indices.push(index);
        }
        Ok(BoundSpec {
            indices,
            available: available.len(),
            never_cap: self.never_cap,
            event_types: self.event_types.clone(),
        })
    }
}

/// A spec resolved against one feature set: builds rows from that set's values.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundSpec {
    indices: Vec<usize>,
    available: usize,
    never_cap: f64,
    event_types: Vec<String>,
}

impl BoundSpec {
    /// Number of columns in a row.
    pub fn n_columns(&self) -> usize {
        self.indices.len() + EVENT_COLUMNS.len()
    }

    /// Number of feature values [`BoundSpec::row_into`] expects.
    pub fn n_inputs(&self) -> usize {
        self.available
    }

    /// Clears `out` and writes the row for `values` (all of the bound feature set's
    /// values, in its order) and `event`.
    ///
    /// # Panics
    /// If `values` is shorter than the feature set the spec was bound to: the caller's
    /// feature state and the bound feature set disagreeing is a programming error.
    pub fn row_into(&self, values: &[f64], event: &EventInputs<'_>, out: &mut Vec<f64>) {
        assert!(values.len() >= self.available, "feature values must cover the bound feature set");
        out.clear();
        out.extend(self.indices.iter().map(|&i| transform(values[i], self.never_cap)));
        out.push(log1p_non_negative(event.amount));
        out.push(log1p_non_negative(event.duration_s));
        out.push(f64::from(event.local_hour.min(23)));
        let index =
            self.event_types.iter().position(|t| t == event.event_type).unwrap_or(self.event_types.len());
        out.push(index as f64);
    }
}

/// Caps at `cap`, clamps at 0 and takes `ln(1 + x)`; a NaN reads as 0.
fn transform(value: f64, cap: f64) -> f64 {
    log1p_non_negative(value.min(cap))
}

fn log1p_non_negative(value: f64) -> f64 {
    if value.is_nan() {
        return 0.0;
    }
    value.max(0.0).ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn spec() -> FeatureSpec {
        FeatureSpec::new(names(&["count_1h", "since_swap_h"]), names(&["call", "payment"]))
    }

    #[test]
    fn a_spec_survives_a_json_round_trip() {
        let text = serde_json::to_string(&spec()).expect("serialises");
        let back: FeatureSpec = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, spec());
    }

    #[test]
    fn rows_follow_the_spec_order_whatever_the_feature_set_order() {
        let bound = spec().bind(&names(&["other", "since_swap_h", "count_1h"])).expect("binds");
        let mut row = Vec::new();
        let event = EventInputs { amount: 0.0, duration_s: 30.0, local_hour: 3, event_type: "payment" };
        bound.row_into(&[5.0, 1.0e9, 3.0], &event, &mut row);
        assert_eq!(row.len(), spec().n_columns());
        assert_eq!(row[0], 3.0f64.ln_1p());
        assert_eq!(row[1], NEVER_CAP.ln_1p(), "the never sentinel is capped");
        assert_eq!(row[2..], [0.0, 30.0f64.ln_1p(), 3.0, 1.0]);
    }

    #[test]
    fn an_unknown_event_type_gets_the_index_past_the_list() {
        let bound = spec().bind(&names(&["count_1h", "since_swap_h"])).expect("binds");
        let mut row = Vec::new();
        let event = EventInputs { amount: 10.0, duration_s: 0.0, local_hour: 23, event_type: "sms" };
        bound.row_into(&[0.0, 0.0], &event, &mut row);
        assert_eq!(row[5], 2.0);
    }

    #[test]
    fn a_spec_naming_a_feature_the_set_lacks_is_refused() {
        let error = spec().bind(&names(&["count_1h"])).expect_err("since_swap_h is missing");
        assert_eq!(error.to_string(), "the model needs feature `since_swap_h`, which the feature set lacks");
    }

    #[test]
    fn a_spec_of_another_version_is_refused() {
        let mut s = spec();
        s.version = 2;
        assert!(matches!(
            s.bind(&names(&["count_1h", "since_swap_h"])),
            Err(SpecError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn column_names_end_with_the_event_columns() {
        assert_eq!(
            spec().column_names(),
            ["count_1h", "since_swap_h", "amount", "duration_s", "local_hour", "event_type"]
        );
    }
}
