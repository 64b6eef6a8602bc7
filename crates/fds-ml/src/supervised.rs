//! The supervised model artifact: boosted trees trained on labelled rows (fraud / not
//! fraud), their Platt calibration, and everything needed to serve and audit them
//! (feature spec, parameters, training window, data hash, calibration and hold-out
//! metrics).
//!
//! Training splits the rows by time, oldest first: the trees are fitted on the oldest
//! rows, the calibration on the rows after them, and the hold-out (the newest rows) only
//! measures — so every figure in the artifact is about rows the step it judges never saw.
//! The score served is the calibrated fraud probability; explanations are the trees'
//! Saabas contributions scaled by the calibration slope, i.e. in calibrated log-odds.

use crate::artifact::TrainingInfo;
use crate::boost::{BoostParams, BoostedTrees};
use crate::calibration::{brier_score, reliability, Platt, ReliabilityBin};
use crate::error::{MetricError, MlError};
use crate::metrics::{average_precision, roc_auc};
use crate::spec::{FeatureSpec, SPEC_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// Version of the supervised artifact layout.
pub const SUPERVISED_FORMAT_VERSION: u32 = 1;

/// One time slice of the labelled rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// `occurred_at` of the slice's first row (RFC 3339).
    pub first_occurred_at: String,
    /// `occurred_at` of the slice's last row (RFC 3339).
    pub last_occurred_at: String,
    pub rows: u64,
    pub positives: u64,
}

/// Recall and false-positive rate when everything at or above `probability` is flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// What the threshold stands for, e.g. `review` or `block`.
    pub name: String,
    pub probability: f64,
    pub flagged: u64,
    /// Share of positive rows flagged.
    pub recall: f64,
    /// Share of negative rows flagged.
    pub false_positive_rate: f64,
    /// Share of flagged rows that are positive (0 when none is flagged).
    pub precision: f64,
}

/// How well probabilities rank and match labelled rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub rows: u64,
    pub positives: u64,
    pub roc_auc: f64,
    /// Average precision (area under the precision–recall curve).
    pub pr_auc: f64,
    /// Brier score of the calibrated probabilities.
    pub brier: f64,
    /// Brier score of `σ(margin)`, the class-weighted model's own probability.
    pub brier_uncalibrated: f64,
    pub reliability: Vec<ReliabilityBin>,
    pub operating_points: Vec<OperatingPoint>,
}

impl Evaluation {
    /// Measures `probabilities` (calibrated) and `uncalibrated` against `labels`, with
    /// recall and false-positive rate at each `(name, probability)` threshold.
    pub fn new(
        probabilities: &[f64],
        uncalibrated: &[f64],
        labels: &[bool],
        thresholds: &[(&str, f64)],
    ) -> Result<Evaluation, MetricError> {
        if uncalibrated.len() != labels.len() {
            return Err(MetricError::LengthMismatch { scores: uncalibrated.len(), labels: labels.len() });
        }
        let positives = labels.iter().filter(|l| **l).count() as u64;
        let negatives = labels.len() as u64 - positives;
        let operating_points = thresholds
            .iter()
            .map(|&(name, threshold)| {
                let (mut tp, mut fp) = (0u64, 0u64);
                for (&p, &y) in probabilities.iter().zip(labels) {
                    if p >= threshold {
                        if y {
                            tp += 1;
                        } else {
                            fp += 1;
                        }
                    }
                }
                let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
                OperatingPoint {
                    name: name.to_string(),
                    probability: threshold,
                    flagged: tp + fp,
                    recall: ratio(tp, positives),
                    false_positive_rate: ratio(fp, negatives),
                    precision: ratio(tp, tp + fp),
                }
            })
            .collect();
        Ok(Evaluation {
            rows: labels.len() as u64,
            positives,
            roc_auc: roc_auc(probabilities, labels)?,
            pr_auc: average_precision(probabilities, labels)?,
            brier: brier_score(probabilities, labels)?,
            brier_uncalibrated: brier_score(uncalibrated, labels)?,
            reliability: reliability(probabilities, labels)?,
            operating_points,
        })
    }
}

/// Rows (row-major, spec layout) with one label each.
#[derive(Clone, Copy, Debug)]
pub struct Labelled<'a> {
    pub data: &'a [f64],
    pub labels: &'a [bool],
}

/// A trained supervised model as stored on disk (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisedArtifact {
    pub format_version: u32,
    /// `supervised-` and the first 16 hex digits of the SHA-256 of the rest of the artifact.
    pub version: String,
    pub spec: FeatureSpec,
    /// The rows the trees were fitted on: window, counts, data hash.
    pub training: TrainingInfo,
    /// Positive rows among the training rows.
    pub training_positives: u64,
    /// The rows the calibration was fitted on (after the training rows in time).
    pub calibration_split: Split,
    pub calibration: Platt,
    /// Measured on the calibration rows: `brier` after, `brier_uncalibrated` before.
    pub calibration_metrics: Evaluation,
    /// The newest rows, never used for fitting, and the metrics measured on them.
    pub holdout_split: Option<Split>,
    pub holdout: Option<Evaluation>,
    pub model: BoostedTrees,
}

impl SupervisedArtifact {
    /// Fits the trees on `train` and the calibration on `calibrate` (newer rows), and
    /// measures the calibration on those rows at `thresholds`.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        spec: FeatureSpec,
        train: Labelled<'_>,
        calibrate: Labelled<'_>,
        params: &BoostParams,
        training: TrainingInfo,
        calibration_split: Split,
        thresholds: &[(&str, f64)],
    ) -> Result<SupervisedArtifact, MlError> {
        let model = BoostedTrees::fit(train.data, spec.n_columns(), train.labels, params)?
            .with_feature_names(spec.column_names())?;
        let margins = model.margins(calibrate.data)?;
        let calibration = Platt::fit(&margins, calibrate.labels)?;
        let calibrated: Vec<f64> = margins.iter().map(|&m| calibration.probability(m)).collect();
        let raw: Vec<f64> = margins.iter().map(|&m| Platt::IDENTITY.probability(m)).collect();
        let calibration_metrics = Evaluation::new(&calibrated, &raw, calibrate.labels, thresholds)?;
        let mut artifact = SupervisedArtifact {
            format_version: SUPERVISED_FORMAT_VERSION,
            version: String::new(),
            spec,
            training,
            training_positives: train.labels.iter().filter(|l| **l).count() as u64,
            calibration_split,
            calibration,
            calibration_metrics,
            holdout_split: None,
            holdout: None,
            model,
        };
        artifact.version = artifact.content_hash()?;
        Ok(artifact)
    }

    /// Measures the model on `holdout` (rows newer than the calibration rows), records
    /// the result in the artifact and returns it.
    pub fn evaluate_holdout(
        &mut self,
        holdout: Labelled<'_>,
        split: Split,
        thresholds: &[(&str, f64)],
    ) -> Result<&Evaluation, MlError> {
        let margins = self.model.margins(holdout.data)?;
        let calibrated: Vec<f64> = margins.iter().map(|&m| self.calibration.probability(m)).collect();
        let raw: Vec<f64> = margins.iter().map(|&m| Platt::IDENTITY.probability(m)).collect();
        let evaluation = Evaluation::new(&calibrated, &raw, holdout.labels, thresholds)?;
        self.holdout_split = Some(split);
        self.version = self.content_hash()?;
        Ok(self.holdout.insert(evaluation))
    }

    /// The calibrated fraud probability of `row` (spec layout).
    ///
    /// # Panics
    /// If `row` does not have the spec's number of columns (a programming error).
    pub fn probability(&self, row: &[f64]) -> f64 {
        self.calibration.probability(self.model.margin(row))
    }

    /// The `k` features that moved `row`'s calibrated log-odds most, largest magnitude
    /// first (ties in column order), signed: positive pushes toward fraud. Features with
    /// no contribution are left out.
    pub fn explain(&self, row: &[f64], k: usize) -> Vec<(&str, f64)> {
        let (_, contributions) = self.model.contributions(row);
        let mut ranked: Vec<(usize, f64)> = contributions
            .into_iter()
            .map(|c| c * self.calibration.a)
            .enumerate()
            .filter(|(_, c)| *c != 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        ranked.into_iter().take(k).map(|(i, c)| (self.model.feature_names()[i].as_str(), c)).collect()
    }

    pub fn write_json<W: Write>(&self, writer: W) -> Result<(), MlError> {
        serde_json::to_writer(writer, self)?;
        Ok(())
    }

    /// Reads an artifact, checking its versions, its trees and that the trees' columns are
    /// exactly the spec's.
    pub fn read_json<R: Read>(reader: R) -> Result<SupervisedArtifact, MlError> {
        let value: serde_json::Value = serde_json::from_reader(reader)?;
        let found = value.get("format_version").and_then(serde_json::Value::as_u64);
        if found != Some(u64::from(SUPERVISED_FORMAT_VERSION)) {
            let found = found.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            return Err(MlError::UnsupportedVersion { found, supported: SUPERVISED_FORMAT_VERSION });
        }
        let artifact: SupervisedArtifact = serde_json::from_value(value)?;
        if artifact.spec.version != SPEC_VERSION {
            return Err(MlError::CorruptArtifact(format!("feature spec version {}", artifact.spec.version)));
        }
        if artifact.model.feature_names() != artifact.spec.column_names().as_slice() {
            return Err(MlError::CorruptArtifact("model columns differ from the feature spec".to_string()));
        }
        if !(artifact.calibration.a.is_finite() && artifact.calibration.b.is_finite()) {
            return Err(MlError::CorruptArtifact("calibration is not finite".to_string()));
        }
        Ok(artifact)
    }

    fn content_hash(&self) -> Result<String, MlError> {
        let mut copy = self.clone();
        copy.version = String::new();
        let bytes = serde_json::to_vec(&copy)?;
        Ok(format!("supervised-{}", &hex::encode(Sha256::digest(&bytes))[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::data_hash;
    use crate::boost::sigmoid;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows in the layout of a spec with velocity features `count` and `noise`:
    /// `count, noise, amount, duration_s, local_hour, event_type`. Fraud
    /// (about 4 %) is driven by `count` alone: P(fraud) = σ(6·(count − 3.8)), count ∈ 0..4.
    fn rows(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut data, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let count = rng.gen::<f64>() * 4.0;
            let row = [
                count,
                rng.gen(),
                rng.gen::<f64>() * 10.0,
                rng.gen(),
                f64::from(rng.gen_range(0..24u32)),
                0.0,
            ];
            labels.push(rng.gen::<f64>() < sigmoid(6.0 * (count - 3.8)));
            data.extend(row);
        }
        (data, labels)
    }

    fn spec() -> FeatureSpec {
        FeatureSpec::new(vec!["count".to_string(), "noise".to_string()], vec!["payment".to_string()])
    }

    fn split(rows: usize, labels: &[bool]) -> Split {
        Split {
            first_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            last_occurred_at: "2026-11-02T00:00:00Z".to_string(),
            rows: rows as u64,
            positives: labels.iter().filter(|l| **l).count() as u64,
        }
    }

    const THRESHOLDS: [(&str, f64); 2] = [("review", 0.4), ("block", 0.8)];

    fn trained() -> (SupervisedArtifact, Vec<f64>, Vec<bool>) {
        let (train, train_labels) = rows(6_000, 1);
        let (cal, cal_labels) = rows(4_000, 2);
        let training = TrainingInfo {
            first_occurred_at: "2026-11-01T00:00:00Z".to_string(),
            last_occurred_at: "2026-11-01T12:00:00Z".to_string(),
            events: 6_000,
            rows: 6_000,
            data_hash: data_hash(&train),
        };
        let params = BoostParams { trees: 40, max_depth: 3, ..BoostParams::default() };
        let artifact = SupervisedArtifact::train(
            spec(),
            Labelled { data: &train, labels: &train_labels },
            Labelled { data: &cal, labels: &cal_labels },
            &params,
            training,
            split(4_000, &cal_labels),
            &THRESHOLDS,
        )
        .expect("trains");
        let (test, test_labels) = rows(4_000, 3);
        (artifact, test, test_labels)
    }

    #[test]
    fn a_separable_problem_is_learned_with_a_high_auc() {
        // Fraud only when one feature is high, noise elsewhere: near-perfect ranking.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (mut data, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..6_000 {
            let x: f64 = rng.gen();
            data.extend([rng.gen(), x, rng.gen()]);
            labels.push(x > 0.97);
        }
        let (train, test) = data.split_at(4_000 * 3);
        let (train_labels, test_labels) = labels.split_at(4_000);
        let model =
            BoostedTrees::fit(train, 3, train_labels, &BoostParams { trees: 20, ..BoostParams::default() })
                .expect("fits");
        let margins = model.margins(test).expect("scores");
        let auc = roc_auc(&margins, test_labels).expect("both classes");
        assert!(auc > 0.95, "{auc}");
    }

    #[test]
    fn calibration_improves_the_brier_score_of_the_class_weighted_model() {
        let (mut artifact, test, test_labels) = trained();
        let cal = &artifact.calibration_metrics;
        assert!(cal.brier < cal.brier_uncalibrated, "{} vs {}", cal.brier, cal.brier_uncalibrated);
        let holdout = artifact
            .evaluate_holdout(
                Labelled { data: &test, labels: &test_labels },
                split(4_000, &test_labels),
                &THRESHOLDS,
            )
            .expect("evaluates")
            .clone();
        // Balanced class weights make σ(margin) overstate fraud many times over; the
        // calibrated probability must beat it clearly and beat the base-rate forecast.
        let rate = holdout.positives as f64 / holdout.rows as f64;
        assert!(holdout.brier < 0.7 * holdout.brier_uncalibrated, "{holdout:?}");
        assert!(
            holdout.brier < rate * (1.0 - rate),
            "{} vs base rate {}",
            holdout.brier,
            rate * (1.0 - rate)
        );
        assert!(holdout.roc_auc > 0.9, "{}", holdout.roc_auc);
        // Reliability: the mean calibrated probability is close to the observed rate.
        let mean: f64 =
            test.chunks_exact(6).map(|r| artifact.probability(r)).sum::<f64>() / holdout.rows as f64;
        assert!((mean - rate).abs() < 0.35 * rate, "mean {mean} vs rate {rate}");
        assert!(artifact.holdout_split.is_some());
    }

    #[test]
    fn explanations_name_the_feature_that_drives_the_label() {
        let (artifact, _, _) = trained();
        let row = [3.95, 0.5, 5.0, 0.5, 12.0, 0.0];
        assert!(artifact.probability(&row) > 0.5, "{}", artifact.probability(&row));
        let top = artifact.explain(&row, 3);
        assert_eq!(top[0].0, "count", "{top:?}");
        assert!(top[0].1 > 0.0);
        let low = artifact.explain(&[0.5, 0.5, 5.0, 0.5, 12.0, 0.0], 1);
        assert_eq!(low[0].0, "count");
        assert!(low[0].1 < 0.0, "a low count pushes away from fraud: {low:?}");
        assert!(top.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()), "sorted by magnitude");
    }

    #[test]
    fn an_artifact_round_trips_and_scores_identically() {
        let (artifact, test, _) = trained();
        let mut bytes = Vec::new();
        artifact.write_json(&mut bytes).expect("writes");
        let back = SupervisedArtifact::read_json(bytes.as_slice()).expect("reads");
        assert!(back.version.starts_with("supervised-"), "{}", back.version);
        assert_eq!(back.version, artifact.version);
        assert_eq!(
            (&back.model, &back.calibration, &back.spec),
            (&artifact.model, &artifact.calibration, &artifact.spec)
        );
        for row in test.chunks_exact(6).take(500) {
            assert_eq!(back.probability(row), artifact.probability(row));
        }
    }

    #[test]
    fn an_artifact_whose_model_disagrees_with_its_spec_is_refused() {
        let (mut artifact, _, _) = trained();
        artifact.spec.velocity.push("extra".to_string());
        let mut bytes = Vec::new();
        artifact.write_json(&mut bytes).expect("writes");
        let error = SupervisedArtifact::read_json(bytes.as_slice()).expect_err("columns differ");
        assert!(matches!(error, MlError::CorruptArtifact(_)), "{error}");

        let (mut artifact, _, _) = trained();
        artifact.spec.velocity.swap(0, 1);
        let mut bytes = Vec::new();
        artifact.write_json(&mut bytes).expect("writes");
        assert!(SupervisedArtifact::read_json(bytes.as_slice()).is_err(), "same width, other order");
    }

    #[test]
    fn an_artifact_of_another_format_version_is_refused() {
        let (artifact, _, _) = trained();
        let mut value = serde_json::to_value(&artifact).expect("serialises");
        value["format_version"] = serde_json::json!(7);
        let error = SupervisedArtifact::read_json(value.to_string().as_bytes()).expect_err("refused");
        assert!(matches!(error, MlError::UnsupportedVersion { found: 7, supported: 1 }), "{error}");
    }

    #[test]
    fn operating_points_count_recall_and_false_positives() {
        let e = Evaluation::new(
            &[0.9, 0.5, 0.45, 0.1],
            &[0.9, 0.9, 0.9, 0.9],
            &[true, false, true, false],
            &[("review", 0.4), ("block", 0.8)],
        )
        .expect("defined");
        let review = &e.operating_points[0];
        assert_eq!((review.flagged, review.recall, review.false_positive_rate), (3, 1.0, 0.5));
        let block = &e.operating_points[1];
        assert_eq!(
            (block.flagged, block.recall, block.false_positive_rate, block.precision),
            (1, 0.5, 0.0, 1.0)
        );
    }
}
