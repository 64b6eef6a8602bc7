//! The interface models implement to add their score to a decision.
//!
//! The scorer only needs a 0..1 score and the features that drove it; training,
//! artifacts, champion/challenger and drift live with the models themselves.

use crate::ScoringConfig;
use fds_core::{Event, FeatureValue};

/// A model's verdict on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelScore {
    /// 0 (normal) .. 1 (certainly fraud / maximally anomalous).
    pub score: f64,
    /// The features that drove the score most, with their contribution, largest first.
    pub top_features: Vec<(String, f64)>,
}

/// A scoring model: pure and fast (it runs on the hot path for every event).
pub trait Model: Send + Sync {
    /// A stable name, e.g. `anomaly` or `supervised`.
    fn name(&self) -> &str;
    /// The artifact version that produced the score.
    fn version(&self) -> &str;
    /// Points the model adds at score 1.0; by default `scoring.model_weight`.
    fn weight(&self, config: &ScoringConfig) -> f64 {
        config.model_weight
    }
    /// Scores `event` with its feature values (in the feature set's order).
    fn score(&self, event: &Event, features: &[FeatureValue]) -> ModelScore;
}
