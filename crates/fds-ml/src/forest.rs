//! The isolation forest (Liu, Ting and Zhou, "Isolation Forest", ICDM 2008) and its
//! serialised artifact.
//!
//! Each tree is grown on a random sub-sample of ψ rows (without replacement) by splitting
//! on a random feature at a random value between the node's minimum and maximum, up to
//! the height limit ⌈log2 ψ⌉. Anomalies are few and different, so they are isolated close
//! to the root. The anomaly score of a row is s(x, ψ) = 2^(−E[h(x)] / c(ψ)), where h(x) is
//! its path length (plus c(size) at a leaf that still holds several points) and c(n) the
//! average path length of an unsuccessful search in a binary search tree of n points:
//! s → 1 for clear anomalies, s ≤ 0.5 for ordinary points.

use crate::error::MlError;
use crate::tree::{total_path_length, Tree};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Version of the artifact layout; bumped whenever a field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// Euler–Mascheroni constant, for the harmonic number estimate H(i) ≈ ln(i) + γ.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Training parameters. The defaults are the paper's (and scikit-learn's): 100 trees on
/// sub-samples of 256 rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Number of trees; more trees give a steadier score at a linear cost.
    pub trees: usize,
    /// Rows per tree (ψ); capped at the number of rows. Small sub-samples are the point of
    /// the method: they limit swamping and masking by dense normal data.
    pub sample_size: usize,
    /// Seed of the random generator; the same data, parameters and seed give the same model.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params { trees: 100, sample_size: 256, seed: 0 }
    }
}

/// c(n): the average path length of an unsuccessful search in a binary search tree of
/// `n` points, used to normalise path lengths and to account for the points left in a
/// leaf when the height limit stops the split. c(0) = c(1) = 0 and c(2) = 1 exactly;
/// otherwise 2·H(n−1) − 2(n−1)/n with H(i) ≈ ln(i) + γ.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// The depth at which trees stop growing, ⌈log2 ψ⌉: about the average depth of a tree of
/// ψ points, below which only ordinary points would be told apart.
fn height_limit(sample_size: usize) -> u32 {
    sample_size.max(2).next_power_of_two().trailing_zeros()
}

/// A trained isolation forest; also the serialised artifact (JSON through
/// [`IsolationForest::write_json`] / [`IsolationForest::read_json`]). Deserialising by any
/// route checks the format version and the trees, so a loaded model never panics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedForest")]
pub struct IsolationForest {
    format_version: u32,
    feature_names: Vec<String>,
    params: Params,
    /// The sub-sample size actually used (ψ = min(sample_size, rows)).
    sample_size: usize,
    trees: Vec<Tree>,
}

/// The artifact as read, before the version and tree checks accept it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedForest {
    format_version: u32,
    feature_names: Vec<String>,
    params: Params,
    sample_size: usize,
    trees: Vec<Tree>,
}

impl TryFrom<UncheckedForest> for IsolationForest {
    type Error = MlError;

    fn try_from(raw: UncheckedForest) -> Result<Self, MlError> {
        if raw.format_version != FORMAT_VERSION {
            return Err(MlError::UnsupportedVersion { found: raw.format_version, supported: FORMAT_VERSION });
        }
        let forest = IsolationForest {
            format_version: raw.format_version,
            feature_names: raw.feature_names,
            params: raw.params,
            sample_size: raw.sample_size,
            trees: raw.trees,
        };
        forest.validate()?;
        Ok(forest)
    }
}

impl IsolationForest {
    /// Trains a forest on `data`, a row-major matrix of `n_features` columns. Features are
    /// named `f0`, `f1`, … until [`IsolationForest::with_feature_names`] names them.
    pub fn fit(data: &[f64], n_features: usize, params: &Params) -> Result<IsolationForest, MlError> {
        if n_features == 0 {
            return Err(MlError::InvalidParams("at least one feature is needed"));
        }
        if params.trees == 0 {
            return Err(MlError::InvalidParams("trees must be at least 1"));
        }
        if params.sample_size < 2 {
            return Err(MlError::InvalidParams("sample_size must be at least 2"));
        }
        if !data.len().is_multiple_of(n_features) {
            return Err(MlError::Ragged { len: data.len(), n_features });
        }
        let rows = data.len() / n_features;
        if rows < 2 {
            return Err(MlError::TooFewRows { rows });
        }
        if u32::try_from(rows).is_err() {
            return Err(MlError::InvalidParams("at most u32::MAX rows are supported"));
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(MlError::NonFinite { row: i / n_features, feature: i % n_features });
        }
        let sample_size = params.sample_size.min(rows);
        let height_limit = height_limit(sample_size);
        let mut sample = Vec::with_capacity(sample_size);
        let mut trees = Vec::with_capacity(params.trees);
        for index in 0..params.trees {
            // One stream per tree: tree i depends only on (seed, i), never on the others,
            // so trees could be grown in any order or in parallel with the same result.
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(index as u64);
            sample.clear();
            // Checked above: rows fit in u32.
            sample.extend(rand::seq::index::sample(&mut rng, rows, sample_size).iter().map(|i| i as u32));
            trees.push(Tree::build(data, n_features, &mut sample, height_limit, &mut rng));
        }
        Ok(IsolationForest {
            format_version: FORMAT_VERSION,
            feature_names: (0..n_features).map(|i| format!("f{i}")).collect(),
            params: *params,
            sample_size,
            trees,
        })
    }

    /// Names the features (in column order), for explanations and the artifact.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<IsolationForest, MlError> {
        if names.len() != self.feature_names.len() {
            return Err(MlError::FeatureNames { expected: self.feature_names.len(), got: names.len() });
        }
        self.feature_names = names;
        Ok(self)
    }

    /// The anomaly score of `row` in 0..1: 2^(−mean path length / c(ψ)). Above 0.5 leans
    /// anomalous; near 1 is a clear anomaly. A NaN value goes right at every split on it.
    ///
    /// # Panics
    /// If `row` does not have [`IsolationForest::n_features`] values — a schema mismatch
    /// between the caller and the model is a programming error, not an input error.
    pub fn score(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.feature_names.len(), "row length must match the model's features");
        let total = total_path_length(&self.trees, row, height_limit(self.sample_size));
        let mean = total / self.trees.len() as f64;
        (-mean / average_path_length(self.sample_size)).exp2()
    }

    /// Scores every row of a row-major matrix.
    pub fn score_all(&self, data: &[f64]) -> Result<Vec<f64>, MlError> {
        let n_features = self.n_features();
        if !data.len().is_multiple_of(n_features) {
            return Err(MlError::Ragged { len: data.len(), n_features });
        }
        Ok(data.chunks_exact(n_features).map(|row| self.score(row)).collect())
    }

    /// Per feature, the mean over trees of how much the splits on that feature isolated
    /// `row`: each split on the row's path adds log2(parent size / child size) — in bits,
    /// the share of training points the split cut away from the row — to its feature. A
    /// feature that separates a point from almost all others near the root gets a large
    /// value; the values of a row sum to the mean of log2(ψ / leaf size) over the trees.
    ///
    /// # Panics
    /// As [`IsolationForest::score`], if `row` has the wrong length.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        assert_eq!(row.len(), self.feature_names.len(), "row length must match the model's features");
        let mut out = vec![0.0; row.len()];
        for tree in &self.trees {
            tree.contribute(row, &mut out);
        }
        let trees = self.trees.len() as f64;
        out.iter_mut().for_each(|c| *c /= trees);
        out
    }

    /// The `k` features with the largest [`IsolationForest::contributions`], largest first
    /// (ties in column order).
    pub fn top_features(&self, row: &[f64], k: usize) -> Vec<(&str, f64)> {
        let contributions = self.contributions(row);
        let mut ranked: Vec<(usize, f64)> = contributions.into_iter().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.into_iter().take(k).map(|(i, c)| (self.feature_names[i].as_str(), c)).collect()
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The sub-sample size actually used: min(`params.sample_size`, training rows).
    pub fn sample_size(&self) -> usize {
        self.sample_size
    }

    /// Total nodes over all trees (a size measure for the artifact).
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(Tree::node_count).sum()
    }

    /// Writes the artifact as JSON.
    pub fn write_json<W: Write>(&self, writer: W) -> Result<(), MlError> {
        serde_json::to_writer(writer, self)?;
        Ok(())
    }

    /// Reads an artifact written by [`IsolationForest::write_json`], checking its format
    /// version and that every tree can be walked safely.
    pub fn read_json<R: Read>(reader: R) -> Result<IsolationForest, MlError> {
        let value: serde_json::Value = serde_json::from_reader(reader)?;
        let found = value.get("format_version").and_then(serde_json::Value::as_u64);
        if found != Some(u64::from(FORMAT_VERSION)) {
            let found = found.and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            return Err(MlError::UnsupportedVersion { found, supported: FORMAT_VERSION });
        }
        // Converted here rather than through serde so the error stays typed.
        let raw: UncheckedForest = serde_json::from_value(value)?;
        IsolationForest::try_from(raw)
    }

    fn validate(&self) -> Result<(), MlError> {
        let corrupt = |why: String| Err(MlError::CorruptArtifact(why));
        if self.feature_names.is_empty() {
            return corrupt("no features".to_string());
        }
        if self.trees.is_empty() || self.trees.len() != self.params.trees {
            return corrupt(format!("{} trees, the parameters say {}", self.trees.len(), self.params.trees));
        }
        if self.sample_size < 2 {
            return corrupt(format!("sample size {} is below 2", self.sample_size));
        }
        for (i, tree) in self.trees.iter().enumerate() {
            if let Err(why) = tree.validate(self.feature_names.len(), height_limit(self.sample_size)) {
                return corrupt(format!("tree {i}: {why}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// 500 points from a 2-d Gaussian blob around the origin, then the given extra rows.
    fn blob_with(extra: &[[f64; 2]], seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut data = Vec::new();
        for _ in 0..500 {
            // Sum of uniforms: close enough to normal for a test, no extra crate needed.
            let x: f64 = (0..6).map(|_| rng.gen::<f64>() - 0.5).sum();
            let y: f64 = (0..6).map(|_| rng.gen::<f64>() - 0.5).sum();
            data.extend([x, y]);
        }
        for row in extra {
            data.extend(row);
        }
        data
    }

    #[test]
    fn c_of_n_matches_the_paper_values() {
        assert_eq!(average_path_length(0), 0.0);
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // 2(ln 2 + γ) − 4/3
        assert!((average_path_length(3) - 1.207_392_357_589_063).abs() < 1e-12);
        // 2(ln 255 + γ) − 510/256, the normaliser for ψ = 256.
        assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
    }

    #[test]
    fn the_same_seed_gives_the_same_model_and_a_different_seed_a_different_one() {
        let data = blob_with(&[], 3);
        let params = Params { seed: 42, ..Params::default() };
        let a = IsolationForest::fit(&data, 2, &params).expect("fits");
        let b = IsolationForest::fit(&data, 2, &params).expect("fits");
        assert_eq!(a, b);
        let c = IsolationForest::fit(&data, 2, &Params { seed: 43, ..params }).expect("fits");
        assert_ne!(a, c);
    }

    #[test]
    fn scores_stay_between_zero_and_one() {
        let data = blob_with(&[[50.0, -50.0]], 4);
        let forest = IsolationForest::fit(&data, 2, &Params::default()).expect("fits");
        for row in data.chunks_exact(2).chain([[1e300, -1e300].as_slice(), &[f64::NAN, 0.0]]) {
            let s = forest.score(row);
            assert!(s > 0.0 && s < 1.0, "score {s} for {row:?}");
        }
    }

    #[test]
    fn obvious_outliers_score_higher_than_every_inlier() {
        let outliers = [[6.0, 6.0], [-7.0, 0.0], [0.0, 8.0]];
        let data = blob_with(&outliers, 5);
        let forest = IsolationForest::fit(&data, 2, &Params { seed: 9, ..Params::default() }).expect("fits");
        let scores = forest.score_all(&data).expect("same width");
        let (inliers, outlier_scores) = scores.split_at(500);
        let max_inlier = inliers.iter().copied().fold(f64::MIN, f64::max);
        for s in outlier_scores {
            assert!(*s > max_inlier, "outlier {s} vs best inlier {max_inlier}");
            assert!(*s > 0.6, "a clear anomaly scores well above 0.5: {s}");
        }
        assert!(forest.score(&[0.0, 0.0]) < 0.5, "the centre of the blob is normal");
    }

    #[test]
    fn the_feature_that_isolates_a_point_gets_the_largest_contribution() {
        let data = blob_with(&[[0.0, 9.0]], 6);
        let forest = IsolationForest::fit(&data, 2, &Params::default())
            .expect("fits")
            .with_feature_names(vec!["calls".to_string(), "amount".to_string()])
            .expect("two names");
        let row = [0.0, 9.0];
        let contributions = forest.contributions(&row);
        assert!(contributions[1] > 2.0 * contributions[0], "{contributions:?}");
        assert_eq!(forest.top_features(&row, 1)[0].0, "amount");
    }

    #[test]
    fn contributions_are_bounded_by_the_sample_bits_and_larger_for_an_outlier() {
        let data = blob_with(&[], 7);
        let forest =
            IsolationForest::fit(&data, 2, &Params { trees: 10, ..Params::default() }).expect("fits");
        let outlier: f64 = forest.contributions(&[10.0, 10.0]).iter().sum();
        let inlier: f64 = forest.contributions(&[0.0, 0.0]).iter().sum();
        // Per tree the bits sum to log2(256 / leaf size): at most 8, reached when the point
        // ends alone in its leaf, as a far outlier does in most trees.
        assert!(outlier <= 8.0 + 1e-4 && outlier > 7.0, "{outlier}");
        assert!(inlier < outlier, "{inlier} vs {outlier}");
    }

    #[test]
    fn the_sample_size_is_capped_at_the_number_of_rows() {
        let data = [0.0, 1.0, 2.0, 3.0];
        let forest = IsolationForest::fit(&data, 1, &Params::default()).expect("fits");
        assert_eq!(forest.sample_size(), 4);
    }

    #[test]
    fn the_artifact_round_trips_through_json_and_scores_identically() {
        let data = blob_with(&[[5.0, 5.0]], 8);
        let forest = IsolationForest::fit(&data, 2, &Params { trees: 20, sample_size: 64, seed: 1 })
            .expect("fits")
            .with_feature_names(vec!["a".to_string(), "b".to_string()])
            .expect("two names");
        let mut bytes = Vec::new();
        forest.write_json(&mut bytes).expect("writes");
        let back = IsolationForest::read_json(bytes.as_slice()).expect("reads");
        assert_eq!(back, forest);
        assert_eq!(back.score(&[5.0, 5.0]), forest.score(&[5.0, 5.0]));
        assert_eq!(back.feature_names(), ["a", "b"]);
        assert_eq!(back.params().sample_size, 64);
    }

    #[test]
    fn an_artifact_of_another_format_version_is_refused() {
        let data = blob_with(&[], 9);
        let forest = IsolationForest::fit(&data, 2, &Params { trees: 2, ..Params::default() }).expect("fits");
        let mut value = serde_json::to_value(&forest).expect("serialises");
        value["format_version"] = serde_json::json!(99);
        let error = IsolationForest::read_json(value.to_string().as_bytes()).expect_err("refused");
        assert!(matches!(error, MlError::UnsupportedVersion { found: 99, supported: 1 }), "{error}");
    }

    #[test]
    fn an_artifact_whose_tree_points_at_a_missing_feature_is_refused() {
        let data = [0.0, 1.0, 2.0, 3.0];
        let forest = IsolationForest::fit(&data, 1, &Params { trees: 1, ..Params::default() }).expect("fits");
        let mut value = serde_json::to_value(&forest).expect("serialises");
        value["trees"][0]["nodes"][0]["f"] = serde_json::json!(5);
        let error = IsolationForest::read_json(value.to_string().as_bytes()).expect_err("refused");
        assert!(matches!(error, MlError::CorruptArtifact(_)), "{error}");
        let through_serde = serde_json::from_value::<IsolationForest>(value).expect_err("refused too");
        assert!(through_serde.to_string().contains("corrupt artifact"), "{through_serde}");
    }

    #[test]
    fn bad_input_is_reported_not_panicked_on() {
        let p = Params::default();
        assert!(matches!(IsolationForest::fit(&[1.0], 1, &p), Err(MlError::TooFewRows { rows: 1 })));
        assert!(matches!(IsolationForest::fit(&[1.0, 2.0, 3.0], 2, &p), Err(MlError::Ragged { .. })));
        assert!(matches!(
            IsolationForest::fit(&[1.0, 2.0, f64::NAN, 4.0], 2, &p),
            Err(MlError::NonFinite { row: 1, feature: 0 })
        ));
        assert!(matches!(
            IsolationForest::fit(&[1.0, 2.0], 1, &Params { trees: 0, ..p }),
            Err(MlError::InvalidParams(_))
        ));
        let forest = IsolationForest::fit(&[1.0, 2.0], 1, &p).expect("fits");
        assert!(matches!(
            forest.clone().with_feature_names(vec![]),
            Err(MlError::FeatureNames { expected: 1, got: 0 })
        ));
        assert!(matches!(forest.score_all(&[1.0, 2.0, 3.0]), Ok(scores) if scores.len() == 3));
    }
}
