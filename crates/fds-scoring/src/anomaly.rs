//! The anomaly model on the hot path: an isolation forest artifact (from `fds-ml`) served
//! through the [`Model`] trait.
//!
//! Rows are built here for both training (`fds model train`) and serving, by
//! [`feature_row`] over the artifact's own [`FeatureSpec`], so the two can never disagree.
//! The score is the artifact's mapping `clamp((s − threshold) / (saturation − threshold), 0, 1)` of the
//! raw forest score `s`, threshold and saturation being high quantiles (by default the 99.5th
//! and 99.99th percentiles) of the training rows' scores: ordinary traffic scores 0, clear
//! anomalies reach 1.

use crate::model::{Model, ModelScore};
use chrono::FixedOffset;
use fds_core::{Event, EventType, FeatureValue, Field};
use fds_features::FeatureSet;
use fds_ml::{AnomalyArtifact, BoundSpec, EventInputs, FeatureSpec, SpecError};

/// How many features an anomaly verdict names.
const TOP_FEATURES: usize = 3;

/// The version 1 spec for a feature set: every velocity feature, every event type.
pub fn anomaly_spec(features: &FeatureSet) -> FeatureSpec {
    FeatureSpec::new(
        features.names().to_vec(),
        EventType::ALL.iter().map(|t| t.as_str().to_string()).collect(),
    )
}

/// The numbers a row takes from `event`: amount and call duration (0 when absent), the
/// hour of day at `utc_offset` and the event type.
pub fn event_inputs(event: &Event, utc_offset: FixedOffset) -> EventInputs<'static> {
    let number = |name: &str| match event.field(name) {
        Some(Field::Int(v)) => v as f64,
        _ => 0.0,
    };
    let seconds = event.occurred_at.timestamp() + i64::from(utc_offset.local_minus_utc());
    // rem_euclid keeps 0..86_399, so the hour is 0..23 and fits in u32.
    let local_hour = u32::try_from(seconds.rem_euclid(86_400) / 3_600).unwrap_or(0);
    EventInputs {
        amount: number("amount"),
        duration_s: number("duration_s"),
        local_hour,
        event_type: event.event_type().as_str(),
    }
}

/// Writes the model row of `event` with its feature values (in the bound feature set's
/// order) into `out`, reusing `scratch` for the values as `f64`.
pub fn feature_row(
    spec: &BoundSpec,
    event: &Event,
    values: &[FeatureValue],
    utc_offset: FixedOffset,
    scratch: &mut Vec<f64>,
    out: &mut Vec<f64>,
) {
    scratch.clear();
    scratch.extend(values.iter().map(|v| v.as_f64()));
    spec.row_into(scratch, &event_inputs(event, utc_offset), out);
}

/// An isolation forest artifact bound to the serving feature set.
pub struct AnomalyModel {
    artifact: AnomalyArtifact,
    spec: BoundSpec,
    utc_offset: FixedOffset,
}

impl AnomalyModel {
    /// Binds `artifact` to `features`; a spec naming a feature the set lacks is an error.
    pub fn new(artifact: AnomalyArtifact, features: &FeatureSet) -> Result<AnomalyModel, SpecError> {
        let spec = artifact.spec.bind(features.names())?;
        Ok(AnomalyModel { artifact, spec, utc_offset: features.utc_offset() })
    }

    pub fn artifact(&self) -> &AnomalyArtifact {
        &self.artifact
    }

    /// The raw forest score (0..1, ordinary points ≤ ~0.5) of `event`, before mapping.
    pub fn raw_score(&self, event: &Event, features: &[FeatureValue]) -> f64 {
        let row = self.row(event, features);
        self.artifact.forest.score(&row)
    }

    fn row(&self, event: &Event, features: &[FeatureValue]) -> Vec<f64> {
        let mut scratch = Vec::with_capacity(features.len());
        let mut row = Vec::with_capacity(self.spec.n_columns());
        feature_row(&self.spec, event, features, self.utc_offset, &mut scratch, &mut row);
        row
    }
}

impl Model for AnomalyModel {
    fn name(&self) -> &str {
        "anomaly"
    }

    fn version(&self) -> &str {
        &self.artifact.version
    }

    fn score(&self, event: &Event, features: &[FeatureValue]) -> ModelScore {
        if features.len() < self.spec.n_inputs() {
            // The caller's feature state is not the one the model was bound to: no opinion.
            return ModelScore { score: 0.0, top_features: Vec::new() };
        }
        let row = self.row(event, features);
        let score = self.artifact.map_score(self.artifact.forest.score(&row));
        // Explanations cost a second walk of the trees: only for events that score.
        let top_features = if score > 0.0 {
            self.artifact
                .forest
                .top_features(&row, TOP_FEATURES)
                .into_iter()
                .map(|(name, c)| (name.to_string(), c))
                .collect()
        } else {
            Vec::new()
        };
        ModelScore { score, top_features }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fds_ml::{data_hash, IsolationForest, Params, TrainingInfo};

    const FEATURES: &str = r#"
utc_offset = "+09:00"

[[feature]]
name = "payments_count_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]
"#;

    fn feature_set(text: &str) -> FeatureSet {
        FeatureSet::from_toml_str(text).expect("valid feature set")
    }

    fn payment(amount: i64, at: &str) -> Event {
        let json = serde_json::json!({
            "event_id": format!("e-{amount}-{at}"),
            "type": "payment",
            "occurred_at": at,
            "subscriber": "01012345678",
            "amount": amount,
            "method": "carrier_billing",
            "merchant_id": "m-1",
            "merchant_category": "gift_card",
        });
        Event::from_value(json, None).expect("valid payment")
    }

    /// A forest (threshold at the 90th percentile: the tiny set has few rare rows) trained on payments of about 1,000..1,800 around midday, 1..3 payments an hour.
    fn model() -> AnomalyModel {
        let features = feature_set(FEATURES);
        let spec = anomaly_spec(&features);
        let bound = spec.bind(features.names()).expect("binds");
        let (mut rows, mut row, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
        // Bell-shaped around 1,500 (sums of four spread sequences), hours 10..14, 1..3 per hour.
        let spread = |i: i64, k: i64| (i * k) % 101;
        for i in 0..600i64 {
            let amount = 1_000 + 2 * (spread(i, 7) + spread(i, 13) + spread(i, 29) + spread(i, 53));
            let hour = 10 + (spread(i, 3) + spread(i, 41)) / 50;
            let event = payment(amount, &format!("2026-11-01T{hour:02}:30:00+09:00"));
            let values = [FeatureValue::Int(1 + i % 3)];
            feature_row(&bound, &event, &values, features.utc_offset(), &mut scratch, &mut row);
            rows.extend_from_slice(&row);
        }
        let forest =
            IsolationForest::fit(&rows, spec.n_columns(), &Params { trees: 50, sample_size: 256, seed: 5 })
                .expect("fits")
                .with_feature_names(spec.column_names())
                .expect("names");
        let training = TrainingInfo {
            first_occurred_at: "2026-11-01T03:30:00Z".to_string(),
            last_occurred_at: "2026-11-01T03:30:00Z".to_string(),
            events: 600,
            rows: 600,
            data_hash: data_hash(&rows),
        };
        let artifact = AnomalyArtifact::new(spec, forest, &rows, 0.9, 1.0, training).expect("artifact");
        AnomalyModel::new(artifact, &features).expect("binds")
    }

    #[test]
    fn event_inputs_take_the_amount_and_the_local_hour() {
        let inputs = event_inputs(
            &payment(500, "2026-11-01T23:10:00Z"),
            FixedOffset::east_opt(9 * 3600).expect("offset"),
        );
        assert_eq!(
            inputs,
            EventInputs { amount: 500.0, duration_s: 0.0, local_hour: 8, event_type: "payment" }
        );
    }

    #[test]
    fn ordinary_payments_score_zero_and_a_burst_of_large_night_payments_scores_high() {
        let model = model();
        assert_eq!(model.name(), "anomaly");
        assert!(model.version().starts_with("anomaly-"));
        let normal = model.score(&payment(1_500, "2026-11-02T12:00:00+09:00"), &[FeatureValue::Int(2)]);
        assert_eq!(normal, ModelScore { score: 0.0, top_features: Vec::new() });
        let odd = model.score(&payment(900_000, "2026-11-02T03:00:00+09:00"), &[FeatureValue::Int(40)]);
        let raw = model.raw_score(&payment(900_000, "2026-11-02T03:00:00+09:00"), &[FeatureValue::Int(40)]);
        assert!(odd.score > 0.0, "{odd:?} raw {raw} t {}", model.artifact().threshold);
        assert_eq!(odd.top_features.len(), TOP_FEATURES);
        assert!(odd.top_features.iter().all(|(_, c)| *c >= 0.0));
    }

    #[test]
    fn a_model_needing_a_feature_the_set_lacks_is_refused() {
        let model = model();
        let other = feature_set(&FEATURES.replace("payments_count_1h", "calls_count_1h"));
        let error = AnomalyModel::new(model.artifact().clone(), &other).err().expect("feature missing");
        assert_eq!(error, SpecError::MissingFeature("payments_count_1h".to_string()));
    }
}
