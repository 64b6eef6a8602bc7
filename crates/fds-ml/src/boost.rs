//! Gradient-boosted decision trees for binary classification: the supervised fraud model.
//!
//! Each tree is a Newton step on the (class-weighted) logistic loss, as in XGBoost and
//! LightGBM: per row the gradient `g = w·(p − y)` and hessian `h = w·p·(1 − p)` of the
//! loss at the current margin, a node's value `−lr · G / (H + λ)`, and a split kept where
//! it maximises `G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)`. Split candidates are at
//! most `bins − 1` thresholds per feature taken from the training column's quantiles
//! (histogram boosting), so building a level of a tree is one pass over the node's rows;
//! the larger child's histogram is the parent's minus the smaller child's.
//!
//! Heavy class imbalance is handled by weighting positive rows (by default the balanced
//! weight `negatives / positives`), so the trees learn the rare class rather than the
//! prior. The margin then overstates fraud odds; the probability is calibrated afterwards
//! on a held-out split (see `calibration`).
//!
//! Why in-house rather than smartcore's random forest or linfa's logistic regression:
//! - explanations need every node's value (Saabas path contributions: a tree's output is
//!   its root value plus, per split on the row's path, child value − parent value, which
//!   is credited to the split's feature), which neither crate exposes;
//! - imbalance needs per-row weights in the split criterion, which smartcore's random
//!   forest does not take, and a linear model cannot express the interactions the fraud
//!   patterns are made of (a new line *and* night *and* gift cards);
//! - serving must stay within a few microseconds: trees here are flat 24-byte node arrays
//!   walked without allocation, stored in the same versioned JSON as the anomaly model;
//! - no new dependencies: the workspace's cold compile does not grow (linfa brings
//!   ndarray and argmin, smartcore its own linear algebra layer).

use crate::error::MlError;
use crate::tree::exact_f64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Version of the boosted-trees layout; bumped whenever a field changes meaning.
pub const BOOST_FORMAT_VERSION: u32 = 1;

/// The most split candidates (plus one) a feature can have: bins are stored as `u8`.
const MAX_BINS: usize = 256;

/// Deepest tree allowed: deeper trees memorise individual actors and slow scoring.
const MAX_DEPTH: u32 = 12;

/// Training parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoostParams {
    /// Number of boosting rounds (trees).
    pub trees: usize,
    /// Splits from the root to a leaf at most; 4 gives up to 16 leaves per tree.
    pub max_depth: u32,
    /// Shrinkage of every tree's output: smaller steps generalise better per tree.
    pub learning_rate: f64,
    /// L2 penalty λ on leaf values: keeps leaves with little hessian mass near 0.
    pub l2: f64,
    /// A child needs at least this hessian mass (weighted rows × p(1 − p)).
    pub min_child_weight: f64,
    /// Histogram bins per feature (2..=256): split candidates are the bin edges.
    pub bins: usize,
    /// Share of rows (0..=1) each tree is grown on, drawn afresh per tree.
    pub subsample: f64,
    /// Weight of a positive row relative to a negative one; `None` is balanced
    /// (`negatives / positives`).
    pub positive_weight: Option<f64>,
    /// Seed of the row sampling; the same data, parameters and seed give the same model.
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        BoostParams {
            trees: 100,
            max_depth: 4,
            learning_rate: 0.1,
            l2: 1.0,
            min_child_weight: 1.0,
            bins: 64,
            subsample: 1.0,
            positive_weight: None,
            seed: 0,
        }
    }
}

impl BoostParams {
    fn check(&self) -> Result<(), MlError> {
        let bad = |why| Err(MlError::InvalidParams(why));
        if self.trees == 0 {
            return bad("trees must be at least 1");
        }
        if self.max_depth == 0 || self.max_depth > MAX_DEPTH {
            return bad("max_depth must be within 1..=12");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate must be within (0, 1]");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2 must be a non-negative number");
        }
        if !(self.min_child_weight.is_finite() && self.min_child_weight >= 0.0) {
            return bad("min_child_weight must be a non-negative number");
        }
        if !(2..=MAX_BINS).contains(&self.bins) {
            return bad("bins must be within 2..=256");
        }
        if !(self.subsample > 0.0 && self.subsample <= 1.0) {
            return bad("subsample must be within (0, 1]");
        }
        if let Some(w) = self.positive_weight {
            if !(w.is_finite() && w > 0.0) {
                return bad("positive_weight must be a positive number");
            }
        }
        Ok(())
    }
}

/// One node: 24 bytes. Children are allocated in pairs (the right child is `left + 1`);
/// `left == 0` marks a leaf (the root is never anyone's child).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    #[serde(rename = "f")]
    feature: u32,
    #[serde(rename = "l")]
    left: u32,
    /// A row goes left when `row[feature] <= threshold` (a NaN goes right).
    #[serde(rename = "t", with = "exact_f64")]
    threshold: f64,
    /// The node's output had it been a leaf: the margin step of its rows. At a leaf it is
    /// the tree's output; at an internal node it anchors the Saabas contributions.
    #[serde(rename = "v", with = "exact_f64")]
    value: f64,
}

/// A trained boosted-trees classifier. Deserialising by any route checks the format
/// version and the trees, so a loaded model never panics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedBoosted")]
pub struct BoostedTrees {
    format_version: u32,
    feature_names: Vec<String>,
    params: BoostParams,
    /// The positive-row weight actually used (resolved from `params.positive_weight`).
    #[serde(with = "exact_f64")]
    positive_weight: f64,
    /// The starting margin: the weighted log-odds of the training labels.
    #[serde(with = "exact_f64")]
    base: f64,
    trees: Vec<Vec<Node>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UncheckedBoosted {
    format_version: u32,
    feature_names: Vec<String>,
    params: BoostParams,
    #[serde(with = "exact_f64")]
    positive_weight: f64,
    #[serde(with = "exact_f64")]
    base: f64,
    trees: Vec<Vec<Node>>,
}

impl TryFrom<UncheckedBoosted> for BoostedTrees {
    type Error = MlError;

    fn try_from(raw: UncheckedBoosted) -> Result<Self, MlError> {
        if raw.format_version != BOOST_FORMAT_VERSION {
            return Err(MlError::UnsupportedVersion {
                found: raw.format_version,
                supported: BOOST_FORMAT_VERSION,
            });
        }
        let model = BoostedTrees {
            format_version: raw.format_version,
            feature_names: raw.feature_names,
            params: raw.params,
            positive_weight: raw.positive_weight,
            base: raw.base,
            trees: raw.trees,
        };
        model.validate()?;
        Ok(model)
    }
}

impl BoostedTrees {
    /// Trains on `data`, a row-major matrix of `n_features` columns, with one label per
    /// row (`true` = fraud). Features are named `f0`, `f1`, … until
    /// [`BoostedTrees::with_feature_names`] names them.
    pub fn fit(
        data: &[f64],
        n_features: usize,
        labels: &[bool],
        params: &BoostParams,
    ) -> Result<BoostedTrees, MlError> {
        params.check()?;
        if n_features == 0 {
            return Err(MlError::InvalidParams("at least one feature is needed"));
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
        if labels.len() != rows {
            return Err(MlError::LabelCount { rows, labels: labels.len() });
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(MlError::NonFinite { row: i / n_features, feature: i % n_features });
        }
        let positives = labels.iter().filter(|l| **l).count();
        let negatives = rows - positives;
        if positives == 0 || negatives == 0 {
            return Err(MlError::OneClass { positives, negatives });
        }
        let positive_weight = params.positive_weight.unwrap_or(negatives as f64 / positives as f64);
        let weights: Vec<f64> = labels.iter().map(|&y| if y { positive_weight } else { 1.0 }).collect();
        let base = (positive_weight * positives as f64 / negatives as f64).ln();

        let bins = Bins::new(data, n_features, params.bins);
        let mut margin = vec![base; rows];
        let mut grad = vec![0.0; rows];
        let mut hess = vec![0.0; rows];
        let mut trees = Vec::with_capacity(params.trees);
        let mut sample: Vec<u32> = Vec::with_capacity(rows);
        for index in 0..params.trees {
            for r in 0..rows {
                let p = sigmoid(margin[r]);
                let y = if labels[r] { 1.0 } else { 0.0 };
                grad[r] = weights[r] * (p - y);
                // A floor keeps the Newton step finite once rows are fitted confidently.
                hess[r] = weights[r] * (p * (1.0 - p)).max(1e-16);
            }
            sample.clear();
            if params.subsample < 1.0 {
                // One stream per tree, as in the isolation forest: tree i depends only on
                // (seed, i) and the margins so far.
                let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
                rng.set_stream(index as u64);
                sample.extend((0..rows as u32).filter(|_| rng.gen::<f64>() < params.subsample));
            }
            if sample.is_empty() {
                sample.extend(0..rows as u32);
            }
            let builder = Builder { bins: &bins, grad: &grad, hess: &hess, params };
            let (nodes, split_bins) = builder.build(&mut sample);
            for (r, m) in margin.iter_mut().enumerate() {
                *m += nodes[bins.leaf(&nodes, &split_bins, r)].value;
            }
            trees.push(nodes);
        }
        Ok(BoostedTrees {
            format_version: BOOST_FORMAT_VERSION,
            feature_names: (0..n_features).map(|i| format!("f{i}")).collect(),
            params: *params,
            positive_weight,
            base,
            trees,
        })
    }

    /// Names the features (in column order), for explanations and the artifact.
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<BoostedTrees, MlError> {
        if names.len() != self.feature_names.len() {
            return Err(MlError::FeatureNames { expected: self.feature_names.len(), got: names.len() });
        }
        self.feature_names = names;
        Ok(self)
    }

    /// The raw margin (log-odds under the training weights) of `row`.
    ///
    /// # Panics
    /// If `row` does not have [`BoostedTrees::n_features`] values — a schema mismatch
    /// between the caller and the model is a programming error, not an input error.
    pub fn margin(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.feature_names.len(), "row length must match the model's features");
        let mut total = self.base;
        for tree in &self.trees {
            let mut at = 0;
            loop {
                let node = tree[at];
                if node.left == 0 {
                    total += node.value;
                    break;
                }
                at = node.left as usize + usize::from(goes_right(row[node.feature as usize], node.threshold));
            }
        }
        total
    }

    /// Margins of every row of a row-major matrix.
    pub fn margins(&self, data: &[f64]) -> Result<Vec<f64>, MlError> {
        let n_features = self.n_features();
        if !data.len().is_multiple_of(n_features) {
            return Err(MlError::Ragged { len: data.len(), n_features });
        }
        Ok(data.chunks_exact(n_features).map(|row| self.margin(row)).collect())
    }

    /// Saabas path contributions: `(bias, per-feature)`, in margin units, such that
    /// `bias + Σ per-feature == margin(row)` (up to rounding). The bias is the base margin
    /// plus every tree's root value; each split on the row's path credits its feature
    /// with the child's value minus the parent's. Signed: positive pushes toward fraud.
    ///
    /// # Panics
    /// As [`BoostedTrees::margin`], if `row` has the wrong length.
    pub fn contributions(&self, row: &[f64]) -> (f64, Vec<f64>) {
        assert_eq!(row.len(), self.feature_names.len(), "row length must match the model's features");
        let mut out = vec![0.0; row.len()];
        let mut bias = self.base;
        for tree in &self.trees {
            let mut at = 0;
            bias += tree[0].value;
            loop {
                let node = tree[at];
                if node.left == 0 {
                    break;
                }
                let next =
                    node.left as usize + usize::from(goes_right(row[node.feature as usize], node.threshold));
                out[node.feature as usize] += tree[next].value - node.value;
                at = next;
            }
        }
        (bias, out)
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    pub fn params(&self) -> &BoostParams {
        &self.params
    }

    /// The weight positive rows were trained with.
    pub fn positive_weight(&self) -> f64 {
        self.positive_weight
    }

    /// Total nodes over all trees (a size measure for the artifact).
    pub fn node_count(&self) -> usize {
        self.trees.iter().map(Vec::len).sum()
    }

    fn validate(&self) -> Result<(), MlError> {
        let corrupt = |why: String| Err(MlError::CorruptArtifact(why));
        if self.feature_names.is_empty() {
            return corrupt("no features".to_string());
        }
        if self.trees.is_empty() || self.trees.len() != self.params.trees {
            return corrupt(format!("{} trees, the parameters say {}", self.trees.len(), self.params.trees));
        }
        if !(self.base.is_finite() && self.positive_weight.is_finite() && self.positive_weight > 0.0) {
            return corrupt("base margin and positive weight must be finite".to_string());
        }
        let n_features = self.feature_names.len();
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.is_empty() {
                return corrupt(format!("tree {t} has no nodes"));
            }
            for (i, node) in tree.iter().enumerate() {
                if !node.value.is_finite() {
                    return corrupt(format!("tree {t}, node {i}: value is not finite"));
                }
                if node.left == 0 {
                    continue;
                }
                let left = node.left as usize;
                // Children after their parent: every walk moves forward and ends.
                if left <= i || left + 1 >= tree.len() {
                    return corrupt(format!("tree {t}, node {i}: child {left} out of order or range"));
                }
                if node.feature as usize >= n_features || !node.threshold.is_finite() {
                    return corrupt(format!("tree {t}, node {i}: bad feature or threshold"));
                }
            }
        }
        Ok(())
    }
}

/// Whether a value goes to the right child: above the threshold, or NaN (so a missing
/// value always takes the same side).
#[inline(always)]
fn goes_right(x: f64, threshold: f64) -> bool {
    x > threshold || x.is_nan()
}

/// The logistic function, without overflow for large |x|.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The training matrix reduced to bin indices, with each feature's split candidates.
struct Bins {
    n_features: usize,
    /// Row-major bin indices: `value <= thresholds[f][k]` exactly when `bin <= k`.
    binned: Vec<u8>,
    thresholds: Vec<Vec<f64>>,
    /// Start of each feature's bins in a histogram; `offsets[n_features]` is the total.
    offsets: Vec<usize>,
}

impl Bins {
    fn new(data: &[f64], n_features: usize, bins: usize) -> Bins {
        let rows = data.len() / n_features;
        let mut thresholds = Vec::with_capacity(n_features);
        let mut column = Vec::with_capacity(rows);
        for f in 0..n_features {
            column.clear();
            column.extend(data.iter().skip(f).step_by(n_features));
            thresholds.push(split_candidates(&mut column, bins));
        }
        let mut binned = Vec::with_capacity(data.len());
        for row in data.chunks_exact(n_features) {
            for (x, t) in row.iter().zip(&thresholds) {
                // At most bins − 1 ≤ 255 thresholds, so the index fits in u8.
                binned.push(t.partition_point(|&c| c < *x) as u8);
            }
        }
        let mut offsets = Vec::with_capacity(n_features + 1);
        let mut total = 0;
        for t in &thresholds {
            offsets.push(total);
            total += t.len() + 1;
        }
        offsets.push(total);
        Bins { n_features, binned, thresholds, offsets }
    }

    fn bin(&self, row: usize, feature: usize) -> u8 {
        self.binned[row * self.n_features + feature]
    }

    /// The leaf training row `row` reaches in a tree under construction.
    fn leaf(&self, nodes: &[Node], split_bins: &[u8], row: usize) -> usize {
        let mut at = 0;
        while nodes[at].left != 0 {
            let node = nodes[at];
            at = node.left as usize + usize::from(self.bin(row, node.feature as usize) > split_bins[at]);
        }
        at
    }
}

/// Split candidates of one column (sorted in place): midpoints between consecutive
/// distinct values when there are at most `bins` of them, otherwise the values at the
/// `k / bins` quantiles (the column's maximum excluded, which would leave the right side empty).
fn split_candidates(column: &mut [f64], bins: usize) -> Vec<f64> {
    column.sort_by(f64::total_cmp);
    let mut distinct: Vec<f64> = Vec::new();
    for &x in column.iter() {
        if distinct.last() != Some(&x) {
            distinct.push(x);
        }
    }
    if distinct.len() <= bins {
        return distinct
            .windows(2)
            .map(|w| {
                let mid = w[0] / 2.0 + w[1] / 2.0;
                if mid >= w[0] && mid < w[1] {
                    mid
                } else {
                    w[0]
                }
            })
            .collect();
    }
    let max = column[column.len() - 1];
    let mut out: Vec<f64> = Vec::with_capacity(bins - 1);
    for k in 1..bins {
        let cut = column[k * column.len() / bins];
        if cut < max && out.last() != Some(&cut) {
            out.push(cut);
        }
    }
    out
}

/// Grows one tree on a set of rows from their gradients and hessians.
struct Builder<'a> {
    bins: &'a Bins,
    grad: &'a [f64],
    hess: &'a [f64],
    params: &'a BoostParams,
}

/// The best split of a node: feature, bin (rows with `bin <= k` go left), gain.
struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
}

/// Slots per histogram bin: gradient sum, hessian sum, row count.
const SLOTS: usize = 3;

impl Builder<'_> {
    /// The tree's nodes and, per node, the bin its split compares against (training only).
    fn build(&self, rows: &mut [u32]) -> (Vec<Node>, Vec<u8>) {
        let lr = self.params.learning_rate;
        let l2 = self.params.l2;
        let value = |g: f64, h: f64| -lr * g / (h + l2);
        let mut nodes = vec![Node { feature: 0, left: 0, threshold: 0.0, value: 0.0 }];
        let mut split_bins = vec![0u8];
        let root_hist = self.histogram(rows);
        let (g, h) = self.sums(rows);
        // (node, start, end, depth, histogram (None when the node cannot split), G, H)
        let mut stack = vec![(0usize, 0usize, rows.len(), 0u32, Some(root_hist), g, h)];
        while let Some((node, start, end, depth, hist, g, h)) = stack.pop() {
            nodes[node].value = value(g, h);
            let Some(mut hist) = hist else { continue };
            let Some(split) = self.best_split(&hist, g, h, end - start) else { continue };
            let feature = split.feature;
            let k = split.bin as u8;
            let part = &mut rows[start..end];
            let mid = partition(part, |r| self.bins.bin(r as usize, feature) <= k);
            let left = nodes.len();
            nodes.extend([Node { feature: 0, left: 0, threshold: 0.0, value: 0.0 }; 2]);
            split_bins.extend([0, 0]);
            nodes[node].feature = feature as u32;
            nodes[node].left = left as u32;
            nodes[node].threshold = self.bins.thresholds[feature][split.bin];
            split_bins[node] = k;
            let (left_rows, right_rows) = part.split_at(mid);
            let (gl, hl) = self.sums(left_rows);
            let (gr, hr) = (g - gl, h - hl);
            let children_split = depth + 1 < self.params.max_depth;
            let (left_hist, right_hist) = if children_split {
                // Histogram the smaller child; the larger one is the parent minus it.
                let small_is_left = left_rows.len() <= right_rows.len();
                let small = self.histogram(if small_is_left { left_rows } else { right_rows });
                hist.iter_mut().zip(&small).for_each(|(p, s)| *p -= s);
                if small_is_left {
                    (Some(small), Some(hist))
                } else {
                    (Some(hist), Some(small))
                }
            } else {
                (None, None)
            };
            stack.push((left + 1, start + mid, end, depth + 1, right_hist, gr, hr));
            stack.push((left, start, start + mid, depth + 1, left_hist, gl, hl));
        }
        (nodes, split_bins)
    }

    fn sums(&self, rows: &[u32]) -> (f64, f64) {
        rows.iter().fold((0.0, 0.0), |(g, h), &r| (g + self.grad[r as usize], h + self.hess[r as usize]))
    }

    fn histogram(&self, rows: &[u32]) -> Vec<f64> {
        let bins = self.bins;
        let mut hist = vec![0.0; SLOTS * bins.offsets[bins.n_features]];
        for &r in rows {
            let r = r as usize;
            let (g, h) = (self.grad[r], self.hess[r]);
            let binned = &bins.binned[r * bins.n_features..(r + 1) * bins.n_features];
            for (offset, &b) in bins.offsets.iter().zip(binned) {
                let slot = SLOTS * (offset + b as usize);
                hist[slot] += g;
                hist[slot + 1] += h;
                hist[slot + 2] += 1.0;
            }
        }
        hist
    }

    fn best_split(&self, hist: &[f64], g: f64, h: f64, rows: usize) -> Option<Split> {
        let (l2, min_child) = (self.params.l2, self.params.min_child_weight);
        let parent = g * g / (h + l2);
        let mut best: Option<Split> = None;
        for feature in 0..self.bins.n_features {
            let (from, to) = (self.bins.offsets[feature], self.bins.offsets[feature + 1]);
            let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0.0);
            for bin in 0..(to - from).saturating_sub(1) {
                let slot = SLOTS * (from + bin);
                gl += hist[slot];
                hl += hist[slot + 1];
                nl += hist[slot + 2];
                let (gr, hr) = (g - gl, h - hl);
                let nr = rows as f64 - nl;
                if nl < 0.5 || nr < 0.5 || hl < min_child || hr < min_child {
                    continue;
                }
                let gain = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent;
                // Ties keep the first candidate, so the tree does not depend on float noise
                // in the order features are scanned.
                if gain > 1e-12 && best.as_ref().is_none_or(|b| gain > b.gain) {
                    best = Some(Split { feature, bin, gain });
                }
            }
        }
        best
    }
}

/// Reorders `rows` so that those for which `left` holds come first; returns their count.
fn partition(rows: &mut [u32], left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for i in 0..rows.len() {
        if left(rows[i]) {
            rows.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of three features; the label is 1 when feature 1 is above 0.9 (about 10 %),
    /// flipped for 1 % of rows; features 0 and 2 are noise.
    fn synthetic(rows: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut data = Vec::with_capacity(rows * 3);
        let mut labels = Vec::with_capacity(rows);
        for _ in 0..rows {
            let row: [f64; 3] = [rng.gen(), rng.gen(), rng.gen()];
            let flip = rng.gen::<f64>() < 0.01;
            labels.push((row[1] > 0.9) != flip);
            data.extend(row);
        }
        (data, labels)
    }

    fn small() -> BoostParams {
        BoostParams { trees: 30, max_depth: 3, ..BoostParams::default() }
    }

    #[test]
    fn the_same_data_and_seed_give_the_same_model() {
        let (data, labels) = synthetic(1_000, 1);
        let params = BoostParams { subsample: 0.7, seed: 4, ..small() };
        let a = BoostedTrees::fit(&data, 3, &labels, &params).expect("fits");
        let b = BoostedTrees::fit(&data, 3, &labels, &params).expect("fits");
        assert_eq!(a, b);
        let c = BoostedTrees::fit(&data, 3, &labels, &BoostParams { seed: 5, ..params }).expect("fits");
        assert_ne!(a, c);
    }

    #[test]
    fn the_informative_feature_separates_the_classes() {
        let (data, labels) = synthetic(2_000, 2);
        let model = BoostedTrees::fit(&data, 3, &labels, &small()).expect("fits");
        assert!(model.margin(&[0.5, 0.95, 0.5]) > 0.0);
        assert!(model.margin(&[0.5, 0.2, 0.5]) < 0.0);
        // Balanced weighting: the base margin starts at even odds.
        assert!(model.base.abs() < 1e-9, "{}", model.base);
        assert!((model.positive_weight() - 9.0).abs() < 1.5, "{}", model.positive_weight());
    }

    #[test]
    fn contributions_add_up_to_the_margin_and_credit_the_informative_feature() {
        let (data, labels) = synthetic(2_000, 3);
        let model = BoostedTrees::fit(&data, 3, &labels, &small()).expect("fits");
        for row in data.chunks_exact(3).take(200) {
            let (bias, c) = model.contributions(row);
            let sum: f64 = bias + c.iter().sum::<f64>();
            assert!((sum - model.margin(row)).abs() < 1e-9, "{sum} vs {}", model.margin(row));
        }
        let (_, c) = model.contributions(&[0.5, 0.97, 0.5]);
        assert!(c[1] > 0.0 && c[1] > 5.0 * c[0].abs() && c[1] > 5.0 * c[2].abs(), "{c:?}");
    }

    #[test]
    fn split_candidates_fall_between_distinct_values_or_at_quantiles() {
        assert_eq!(split_candidates(&mut [3.0, 1.0, 1.0, 2.0], 8), [1.5, 2.5]);
        assert!(split_candidates(&mut [7.0; 5], 8).is_empty());
        let mut column: Vec<f64> = (0..1000).map(f64::from).collect();
        let cuts = split_candidates(&mut column, 4);
        assert_eq!(cuts, [250.0, 500.0, 750.0]);
    }

    #[test]
    fn a_loaded_model_whose_child_points_backwards_is_refused() {
        let (data, labels) = synthetic(500, 4);
        let model = BoostedTrees::fit(&data, 3, &labels, &small()).expect("fits");
        let mut value = serde_json::to_value(&model).expect("serialises");
        value["trees"][0][0]["l"] = serde_json::json!(0u32);
        value["trees"][0][1]["l"] = serde_json::json!(1u32);
        let error = serde_json::from_value::<BoostedTrees>(value).expect_err("refused");
        assert!(error.to_string().contains("corrupt artifact"), "{error}");
    }

    #[test]
    fn bad_input_is_reported_not_panicked_on() {
        let p = small();
        assert!(matches!(
            BoostedTrees::fit(&[1.0, 2.0], 1, &[true, true], &p),
            Err(MlError::OneClass { positives: 2, negatives: 0 })
        ));
        assert!(matches!(
            BoostedTrees::fit(&[1.0, 2.0], 1, &[true], &p),
            Err(MlError::LabelCount { rows: 2, labels: 1 })
        ));
        assert!(matches!(
            BoostedTrees::fit(&[1.0, f64::INFINITY], 1, &[true, false], &p),
            Err(MlError::NonFinite { row: 1, feature: 0 })
        ));
        assert!(matches!(
            BoostedTrees::fit(&[1.0, 2.0], 1, &[true, false], &BoostParams { bins: 1, ..p }),
            Err(MlError::InvalidParams(_))
        ));
    }
}
