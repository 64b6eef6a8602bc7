//! The supervised model on the hot path: a boosted-trees artifact (from `fds-ml`) served
//! through the [`Model`] trait.
//!
//! Rows are built by [`feature_row`] over the artifact's own [`fds_ml::FeatureSpec`], as for
//! the anomaly model, so training and serving build the same rows. The score is the
//! calibrated fraud probability; a decision adds `scoring.supervised_weight` × that
//! probability (by default 50 × p, so with the default thresholds the model alone sends
//! an event to review from p ≥ 0.8 and blocks only together with rule points). Explanations are the
//! signed Saabas contributions in calibrated log-odds, largest magnitude first.

use crate::anomaly::feature_row;
use crate::model::{Model, ModelScore};
use crate::ScoringConfig;
use chrono::FixedOffset;
use fds_core::{Event, FeatureValue};
use fds_features::FeatureSet;
use fds_ml::{BoundSpec, SpecError, SupervisedArtifact};

/// How many features a supervised verdict names.
const TOP_FEATURES: usize = 3;

/// Below this probability a verdict carries no explanation: it adds under one point to
/// the score, and skipping the second walk of the trees keeps ordinary events cheap.
const EXPLAIN_FROM: f64 = 0.01;

/// A supervised artifact bound to the serving feature set.
pub struct SupervisedModel {
    artifact: SupervisedArtifact,
    spec: BoundSpec,
    utc_offset: FixedOffset,
}

impl SupervisedModel {
    /// Binds `artifact` to `features`; a spec naming a feature the set lacks is an error.
    pub fn new(artifact: SupervisedArtifact, features: &FeatureSet) -> Result<SupervisedModel, SpecError> {
        let spec = artifact.spec.bind(features.names())?;
        Ok(SupervisedModel { artifact, spec, utc_offset: features.utc_offset() })
    }

    pub fn artifact(&self) -> &SupervisedArtifact {
        &self.artifact
    }

    fn row(&self, event: &Event, features: &[FeatureValue]) -> Vec<f64> {
        let mut scratch = Vec::with_capacity(features.len());
        let mut row = Vec::with_capacity(self.spec.n_columns());
        feature_row(&self.spec, event, features, self.utc_offset, &mut scratch, &mut row);
        row
    }
}

impl Model for SupervisedModel {
    fn name(&self) -> &str {
        "supervised"
    }

    fn version(&self) -> &str {
        &self.artifact.version
    }

    fn weight(&self, config: &ScoringConfig) -> f64 {
        config.supervised_weight
    }

    fn score(&self, event: &Event, features: &[FeatureValue]) -> ModelScore {
        if features.len() < self.spec.n_inputs() {
            // The caller's feature state is not the one the model was bound to: no opinion.
            return ModelScore { score: 0.0, top_features: Vec::new() };
        }
        let row = self.row(event, features);
        let score = self.artifact.probability(&row);
        let top_features = if score >= EXPLAIN_FROM {
            self.artifact
                .explain(&row, TOP_FEATURES)
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
    use crate::{anomaly_spec, Scorer};
    use fds_core::{Action, Reason};
    use fds_ml::{data_hash, BoostParams, Labelled, Split, TrainingInfo};
    use fds_rules::RulePack;
    use std::sync::Arc;

    const FEATURES: &str = r#"
utc_offset = "+09:00"

[[feature]]
name = "payments_count_1h"
entity = "subscriber"
agg = "count"
window = "1h"
types = ["payment"]

[[feature]]
name = "payments_sum_24h"
entity = "subscriber"
agg = "sum"
field = "amount"
window = "24h"
types = ["payment"]
"#;

    fn feature_set() -> FeatureSet {
        FeatureSet::from_toml_str(FEATURES).expect("valid feature set")
    }

    fn payment(i: i64, amount: i64) -> Event {
        let json = serde_json::json!({
            "event_id": format!("e-{i}"),
            "type": "payment",
            "occurred_at": format!("2026-11-01T{:02}:{:02}:00+09:00", i % 24, i % 60),
            "subscriber": "01012345678",
            "amount": amount,
            "method": "carrier_billing",
            "merchant_id": "m-1",
            "merchant_category": "gift_card",
        });
        Event::from_value(json, None).expect("valid payment")
    }

    /// Fraud here is a burst of payments: 8 or more in the hour. Amounts and daily sums
    /// overlap between the classes.
    fn example(i: i64) -> (Event, [FeatureValue; 2], bool) {
        let count = 1 + (i * 7919) % 12;
        let amount = 1_000 + (i * 104_729) % 50_000;
        let values = [FeatureValue::Int(count), FeatureValue::Int(amount * (1 + i % 5))];
        (payment(i, amount), values, count >= 8)
    }

    fn model() -> SupervisedModel {
        let features = feature_set();
        let spec = anomaly_spec(&features);
        let bound = spec.bind(features.names()).expect("binds");
        let build = |range: std::ops::Range<i64>| {
            let (mut rows, mut labels, mut row, mut scratch) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for i in range {
                let (event, values, fraud) = example(i);
                feature_row(&bound, &event, &values, features.utc_offset(), &mut scratch, &mut row);
                rows.extend_from_slice(&row);
                labels.push(fraud);
            }
            (rows, labels)
        };
        let (train, train_labels) = build(0..3_000);
        let (cal, cal_labels) = build(3_000..5_000);
        let training = TrainingInfo {
            first_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            last_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            events: 3_000,
            rows: 3_000,
            data_hash: data_hash(&train),
        };
        let split = Split {
            first_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            last_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            rows: 2_000,
            positives: cal_labels.iter().filter(|l| **l).count() as u64,
        };
        let artifact = SupervisedArtifact::train(
            spec,
            Labelled { data: &train, labels: &train_labels },
            Labelled { data: &cal, labels: &cal_labels },
            &BoostParams { trees: 30, max_depth: 3, ..BoostParams::default() },
            training,
            split,
            &[("review", 0.4), ("block", 0.8)],
        )
        .expect("trains");
        SupervisedModel::new(artifact, &features).expect("binds")
    }

    #[test]
    fn a_burst_scores_high_and_names_the_hourly_count_first() {
        let model = model();
        assert_eq!(model.name(), "supervised");
        assert!(model.version().starts_with("supervised-"));
        let burst = model.score(&payment(1, 5_000), &[FeatureValue::Int(11), FeatureValue::Int(30_000)]);
        assert!(burst.score > 0.9, "{burst:?}");
        assert_eq!(burst.top_features[0].0, "payments_count_1h", "{burst:?}");
        assert!(burst.top_features[0].1 > 0.0);
        let calm = model.score(&payment(2, 5_000), &[FeatureValue::Int(2), FeatureValue::Int(30_000)]);
        assert!(calm.score < 0.05, "{calm:?}");
    }

    #[test]
    fn the_scorer_runs_both_models_and_the_supervised_one_uses_its_own_weight() {
        let features = Arc::new(feature_set());
        let pack =
            RulePack::from_sources(Vec::new(), Default::default(), features.names(), features.utc_offset())
                .expect("empty pack");
        struct Anomaly;
        impl Model for Anomaly {
            fn name(&self) -> &str {
                "anomaly"
            }
            fn version(&self) -> &str {
                "a1"
            }
            fn score(&self, _: &Event, _: &[FeatureValue]) -> ModelScore {
                ModelScore { score: 0.25, top_features: Vec::new() }
            }
        }
        let scorer = Scorer::new(Arc::new(pack), features, ScoringConfig::default())
            .with_models(vec![Arc::new(Anomaly) as Arc<dyn Model>, Arc::new(model())]);
        let event = payment(3, 5_000);
        let values = [FeatureValue::Int(11), FeatureValue::Int(30_000)];
        let decision = scorer.score(&event, &values, event.occurred_at).decision;
        let Reason::Model { model, score: p, contribution, top_features, .. } = &decision.reasons[0] else {
            panic!("the supervised reason comes first: {:?}", decision.reasons)
        };
        assert_eq!(model, "supervised");
        assert!((contribution - 50.0 * p).abs() < 1e-9, "weight 50: {contribution} for {p}");
        assert_eq!(top_features[0].0, "payments_count_1h");
        let Reason::Model { model, contribution, .. } = &decision.reasons[1] else {
            panic!("anomaly second")
        };
        assert_eq!((model.as_str(), *contribution), ("anomaly", 10.0));
        assert_eq!(decision.action, Action::Review, "score {}", decision.score);
        assert_eq!(decision.model_versions.len(), 2);
    }

    #[test]
    fn a_model_needing_a_feature_the_set_lacks_is_refused() {
        let model = model();
        let other = FeatureSet::from_toml_str(&FEATURES.replace("payments_sum_24h", "payments_sum_7d"))
            .expect("valid");
        let error = SupervisedModel::new(model.artifact().clone(), &other).err().expect("feature missing");
        assert_eq!(error, SpecError::MissingFeature("payments_sum_24h".to_string()));
    }
}
