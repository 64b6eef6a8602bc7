//! The anomaly model artifact: the forest plus everything needed to serve it and to
//! know where it came from (feature spec, score threshold, training window, data hash).
//!
//! Score mapping: the raw isolation-forest score `s` (0..1, ordinary points ≤ ~0.5) is
//! mapped to `clamp((s − threshold) / (saturation − threshold), 0, 1)`, where `threshold`
//! is a high quantile ([`DEFAULT_QUANTILE`], the 99.5th percentile) of the training rows'
//! scores and `saturation` a higher one ([`DEFAULT_SATURATION_QUANTILE`], the 99.99th).
//! Normal traffic therefore maps to 0, only the rarest ~0.5 % of training-like rows get a
//! positive score, and rows as anomalous as the rarest 0.01 % of training rows reach 1.
//! With `saturation` = 1 the mapping is the plain `max(0, (s − threshold) / (1 − threshold))`.

use crate::error::MlError;
use crate::forest::IsolationForest;
use crate::spec::{FeatureSpec, SPEC_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// Version of the anomaly artifact layout.
pub const ANOMALY_FORMAT_VERSION: u32 = 1;

/// The training-score quantile used as the threshold of the score mapping.
pub const DEFAULT_QUANTILE: f64 = 0.995;

/// The training-score quantile at which the mapped score reaches 1.
pub const DEFAULT_SATURATION_QUANTILE: f64 = 0.9999;

/// Where the training data came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    /// `occurred_at` of the first training event (RFC 3339).
    pub first_occurred_at: String,
    /// `occurred_at` of the last training event (RFC 3339).
    pub last_occurred_at: String,
    /// Events replayed to build rows.
    pub events: u64,
    /// Rows the forest and the threshold were fitted on (a sample of the events).
    pub rows: u64,
    /// SHA-256 (hex) of the fitted rows' values, little-endian f64 in row order.
    pub data_hash: String,
}

/// A trained anomaly model as stored on disk (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyArtifact {
    pub format_version: u32,
    /// `anomaly-` and the first 16 hex digits of the SHA-256 of the rest of the artifact.
    pub version: String,
    pub spec: FeatureSpec,
    /// Raw-score threshold of the mapping (see the module docs).
    pub threshold: f64,
    /// The quantile of training scores the threshold was taken at.
    pub quantile: f64,
    /// Raw score at which the mapped score reaches 1 (above `threshold`, at most 1).
    pub saturation: f64,
    /// The quantile of training scores the saturation was taken at.
    pub saturation_quantile: f64,
    pub training: TrainingInfo,
    pub forest: IsolationForest,
}

impl AnomalyArtifact {
    /// Builds the artifact for `forest` trained on `rows` (row-major, spec layout): the
    /// threshold is the `quantile` and the saturation the `saturation_quantile` of the
    /// forest's scores on those rows (a `saturation_quantile` of 1 means a raw score of 1).
    pub fn new(
        spec: FeatureSpec,
        forest: IsolationForest,
        rows: &[f64],
        quantile: f64,
        saturation_quantile: f64,
        training: TrainingInfo,
    ) -> Result<AnomalyArtifact, MlError> {
        if forest.n_features() != spec.n_columns() {
            return Err(MlError::FeatureNames { expected: spec.n_columns(), got: forest.n_features() });
        }
        if !(0.0..1.0).contains(&quantile) {
            return Err(MlError::InvalidParams("quantile must be within 0..1"));
        }
        if !(quantile..=1.0).contains(&saturation_quantile) {
            return Err(MlError::InvalidParams("saturation quantile must be within quantile..1"));
        }
        let mut scores = forest.score_all(rows)?;
        if scores.is_empty() {
            return Err(MlError::TooFewRows { rows: 0 });
        }
        scores.sort_by(f64::total_cmp);
        let at = |q: f64| scores[(((scores.len() - 1) as f64 * q).round() as usize).min(scores.len() - 1)];
        let threshold = at(quantile).min(0.99);
        let saturation = if saturation_quantile >= 1.0 { 1.0 } else { at(saturation_quantile) };
        // Keep the mapping's slope finite when the top scores tie.
        let saturation = saturation.clamp(threshold + 0.01, 1.0);
        let mut artifact = AnomalyArtifact {
            format_version: ANOMALY_FORMAT_VERSION,
            version: String::new(),
            spec,
            threshold,
            quantile,
            saturation,
            saturation_quantile,
            training,
            forest,
        };
        artifact.version = artifact.content_hash()?;
        Ok(artifact)
    }

    /// Maps a raw forest score to 0..1 (see the module docs).
    pub fn map_score(&self, raw: f64) -> f64 {
        ((raw - self.threshold) / (self.saturation - self.threshold)).clamp(0.0, 1.0)
    }

    pub fn write_json<W: Write>(&self, writer: W) -> Result<(), MlError> {
        serde_json::to_writer(writer, self)?;
        Ok(())
    }

    /// Reads an artifact, checking its versions, its forest and that the forest's columns
    /// are the spec's.
    pub fn read_json<R: Read>(reader: R) -> Result<AnomalyArtifact, MlError> {
        let value: serde_json::Value = serde_json::from_reader(reader)?;
        let found = value.get("format_version").and_then(serde_json::Value::as_u64);
        if found != Some(u64::from(ANOMALY_FORMAT_VERSION)) {
            let found = found.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            return Err(MlError::UnsupportedVersion { found, supported: ANOMALY_FORMAT_VERSION });
        }
        let artifact: AnomalyArtifact = serde_json::from_value(value)?;
        if artifact.spec.version != SPEC_VERSION {
            return Err(MlError::CorruptArtifact(format!("feature spec version {}", artifact.spec.version)));
        }
        if artifact.forest.feature_names() != artifact.spec.column_names().as_slice() {
            return Err(MlError::CorruptArtifact("forest columns differ from the feature spec".to_string()));
        }
        if !(artifact.threshold.is_finite()
            && artifact.threshold < artifact.saturation
            && artifact.saturation <= 1.0)
        {
            return Err(MlError::CorruptArtifact("need threshold < saturation <= 1".to_string()));
        }
        Ok(artifact)
    }

    fn content_hash(&self) -> Result<String, MlError> {
        let mut copy = self.clone();
        copy.version = String::new();
        let bytes = serde_json::to_vec(&copy)?;
        let digest = Sha256::digest(&bytes);
        Ok(format!("anomaly-{}", &hex::encode(digest)[..16]))
    }
}

/// SHA-256 (hex) of row-major values, little-endian f64: the artifact's data hash.
pub fn data_hash(rows: &[f64]) -> String {
    let mut hasher = Sha256::new();
    for v in rows {
        hasher.update(v.to_le_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::Params;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn trained() -> (AnomalyArtifact, Vec<f64>) {
        let spec = FeatureSpec::new(vec!["a".to_string()], vec!["payment".to_string()]);
        let mut rows = Vec::new();
        // A cloud dense around the origin: each coordinate a sum of four uniforms (Irwin–Hall).
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut bell = || (0..4).map(|_| rng.gen::<f64>()).sum::<f64>() - 2.0;
        for _ in 0..2000 {
            let (x, y) = (bell(), bell());
            rows.extend([x, y, 0.0, 12.0, 0.0]);
        }
        let forest = IsolationForest::fit(&rows, 5, &Params { trees: 50, sample_size: 128, seed: 3 })
            .expect("fits")
            .with_feature_names(spec.column_names())
            .expect("names");
        let training = TrainingInfo {
            first_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            last_occurred_at: "2026-11-02T00:00:00Z".to_string(),
            events: 2000,
            rows: 2000,
            data_hash: data_hash(&rows),
        };
        (AnomalyArtifact::new(spec, forest, &rows, DEFAULT_QUANTILE, 1.0, training).expect("builds"), rows)
    }

    #[test]
    fn an_artifact_survives_a_json_round_trip_with_its_version() {
        let (artifact, _) = trained();
        let mut bytes = Vec::new();
        artifact.write_json(&mut bytes).expect("writes");
        let back = AnomalyArtifact::read_json(bytes.as_slice()).expect("reads");
        assert_eq!(back, artifact);
        assert!(back.version.starts_with("anomaly-"), "{}", back.version);
    }

    #[test]
    fn training_rows_mostly_map_to_zero_and_a_far_row_maps_high() {
        let (artifact, rows) = trained();
        let zeros =
            rows.chunks_exact(5).filter(|r| artifact.map_score(artifact.forest.score(r)) == 0.0).count();
        assert!(zeros >= 1980, "{zeros} of 2000 map to 0");
        let far = artifact.map_score(artifact.forest.score(&[3.0, -3.0, 0.0, 12.0, 0.0]));
        let raw = artifact.forest.score(&[3.0, -3.0, 0.0, 12.0, 0.0]);
        assert!(far > 0.0, "{far} raw {raw} threshold {}", artifact.threshold);
    }

    #[test]
    fn an_artifact_whose_forest_disagrees_with_its_spec_is_refused() {
        let (mut artifact, _) = trained();
        artifact.spec.velocity.push("b".to_string());
        let mut bytes = Vec::new();
        artifact.write_json(&mut bytes).expect("writes");
        assert!(matches!(AnomalyArtifact::read_json(bytes.as_slice()), Err(MlError::CorruptArtifact(_))));
    }
}
