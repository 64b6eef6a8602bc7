//! One isolation tree, stored as a flat node array so that scoring is a tight loop over
//! a contiguous `Vec` (no pointers, no recursion).
//!
//! Children are allocated in pairs: an internal node at `left` has its right child at
//! `left + 1`, so a node needs one child index. A leaf points at itself (`left` is its own
//! index) and carries its whole path length (`depth + c(size)`) precomputed in `value`.
//! Because a step from a leaf stays on the leaf, a walk can run a fixed number of steps
//! without a branch per node, which lets [`total_path_length`] walk several trees in
//! lockstep and overlap their memory reads.

use crate::forest::average_path_length;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Trees walked in lockstep by [`total_path_length`]: enough independent reads in flight
/// to hide most of the cache latency, few enough to stay in registers.
const LANES: usize = 8;

/// One node: 16 bytes, so a 256-sample tree (at most 511 nodes) fits in 8 KiB.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Split feature (0 for a leaf, where it is read but not used).
    #[serde(rename = "f")]
    feature: u32,
    /// Index of the left child (the right child is `left + 1`); a leaf's own index.
    #[serde(rename = "l")]
    left: u32,
    /// Split threshold (a row goes left when `row[feature] <= value`), or for a leaf the
    /// path length `depth + c(size)`.
    #[serde(rename = "v", with = "exact_f64")]
    value: f64,
}

/// An isolation tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    /// Per node, `log2(parent size / node size)`: how much the split that led here
    /// narrowed down the training points (0 for the root). Summed along a path it is
    /// `log2(ψ / leaf size)`; it is what [`Tree::contribute`] attributes to features.
    isolation: Vec<f32>,
}

impl Tree {
    /// Builds a tree on the rows listed in `sample` (reordered in place). At each node the
    /// split feature is drawn uniformly among the features that are not constant on the
    /// node's rows (drawing without replacement until one varies, as scikit-learn does),
    /// so a node costs one pass over its rows for most draws, not one per feature.
    pub(crate) fn build<R: Rng>(
        data: &[f64],
        n_features: usize,
        sample: &mut [u32],
        height_limit: u32,
        rng: &mut R,
    ) -> Tree {
        let mut nodes = vec![Node { feature: 0, left: 0, value: 0.0 }];
        let mut isolation = vec![0.0f32];
        // (node index, start, end, depth) of nodes still to split, over `sample`.
        let mut stack = vec![(0usize, 0usize, sample.len(), 0u32)];
        // A permutation of the features, reshuffled partially at each node.
        let mut features: Vec<u32> = (0..n_features as u32).collect();
        while let Some((node, start, end, depth)) = stack.pop() {
            let rows = &mut sample[start..end];
            let size = rows.len();
            let split = if depth >= height_limit || size <= 1 {
                None
            } else {
                draw_split(data, n_features, rows, &mut features, rng)
            };
            // No split: the height limit, a single point, or all points identical (they
            // cannot be told apart, as in scikit-learn).
            let Some((feature, threshold)) = split else {
                nodes[node] = leaf(node, depth, size);
                continue;
            };
            let mid = partition(rows, |row| data[row as usize * n_features + feature as usize] <= threshold);
            let left = nodes.len();
            let placeholder = Node { feature: 0, left: 0, value: 0.0 };
            nodes.extend([placeholder, placeholder]);
            isolation.push((size as f64 / mid as f64).log2() as f32);
            isolation.push((size as f64 / (size - mid) as f64).log2() as f32);
            nodes[node] = Node { feature, left: left as u32, value: threshold };
            stack.push((left + 1, start + mid, end, depth + 1));
            stack.push((left, start, start + mid, depth + 1));
        }
        Tree { nodes, isolation }
    }

    /// One step of a walk: the child `row` goes to, or the same index at a leaf.
    #[inline(always)]
    fn step(&self, at: usize, row: &[f64]) -> usize {
        let node = self.nodes[at];
        let left = node.left as usize;
        let next = left + usize::from(goes_right(row[node.feature as usize], node.value));
        if left == at {
            at
        } else {
            next
        }
    }

    /// The path length h(x) of `row`, with the adjustment c(size) at the leaf.
    /// A NaN value goes right at every split on its feature.
    pub(crate) fn path_length(&self, row: &[f64]) -> f64 {
        let mut at = 0;
        loop {
            let next = self.step(at, row);
            if next == at {
                return self.nodes[at].value;
            }
            at = next;
        }
    }

    /// Adds to `out[feature]` the isolation (in bits) each split on `row`'s path achieved.
    pub(crate) fn contribute(&self, row: &[f64], out: &mut [f64]) {
        let mut at = 0;
        loop {
            let next = self.step(at, row);
            if next == at {
                return;
            }
            out[self.nodes[at].feature as usize] += f64::from(self.isolation[next]);
            at = next;
        }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Checks that a deserialised tree can be walked without going out of bounds or
    /// looping, and that every leaf is within `max_depth` steps of the root (what
    /// [`total_path_length`] relies on): children lie after their parent and inside the
    /// array, split features exist.
    pub(crate) fn validate(&self, n_features: usize, max_depth: u32) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err("tree without nodes".to_string());
        }
        if self.isolation.len() != self.nodes.len() {
            return Err("isolation weights do not match the nodes".to_string());
        }
        let mut depth = vec![0u32; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            if !node.value.is_finite() {
                return Err(format!("node {i} has a non-finite value"));
            }
            if node.feature as usize >= n_features {
                return Err(format!("node {i} reads feature {} of {n_features}", node.feature));
            }
            let left = node.left as usize;
            if left == i {
                continue;
            }
            if left < i || left + 1 >= self.nodes.len() {
                return Err(format!("node {i} has children out of order or out of bounds"));
            }
            if depth[i] >= max_depth {
                return Err(format!("node {i} splits below the depth limit {max_depth}"));
            }
            depth[left] = depth[i] + 1;
            depth[left + 1] = depth[i] + 1;
        }
        Ok(())
    }
}

/// The sum of `row`'s path lengths over `trees`, every leaf being at most `max_depth`
/// steps from its root. Walks [`LANES`] trees at a time for exactly `max_depth` steps
/// (a finished walk stays on its leaf), so the trees' dependent reads overlap.
pub(crate) fn total_path_length(trees: &[Tree], row: &[f64], max_depth: u32) -> f64 {
    let mut total = 0.0;
    let mut chunks = trees.chunks_exact(LANES);
    for chunk in &mut chunks {
        let mut at = [0usize; LANES];
        for _ in 0..max_depth {
            for (lane, tree) in at.iter_mut().zip(chunk) {
                *lane = tree.step(*lane, row);
            }
        }
        total += at.iter().zip(chunk).map(|(&i, tree)| tree.nodes[i].value).sum::<f64>();
    }
    total + chunks.remainder().iter().map(|tree| tree.path_length(row)).sum::<f64>()
}

/// Draws the split of a node: a feature uniformly among those not constant on `rows`,
/// and a threshold uniformly in its range; `None` when every feature is constant.
fn draw_split<R: Rng>(
    data: &[f64],
    n_features: usize,
    rows: &[u32],
    features: &mut [u32],
    rng: &mut R,
) -> Option<(u32, f64)> {
    for k in 0..features.len() {
        features.swap(k, rng.gen_range(k..features.len()));
        let feature = features[k];
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &row in rows {
            let x = data[row as usize * n_features + feature as usize];
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if hi > lo {
            return Some((feature, split_point(lo, hi, rng.gen::<f64>())));
        }
    }
    None
}

/// Whether a value goes to the right child: above the threshold, or NaN (so a missing
/// value always takes the same side).
#[inline(always)]
fn goes_right(x: f64, threshold: f64) -> bool {
    x > threshold || x.is_nan()
}

/// Writes an `f64` as its shortest round-trip decimal string. serde_json's default float
/// parser may be off by one unit in the last place, and an artifact must score exactly as
/// the model did before it was saved; Rust's own `f64` parser is correctly rounded.
pub(crate) mod exact_f64 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

fn leaf(index: usize, depth: u32, size: usize) -> Node {
    Node { feature: 0, left: index as u32, value: f64::from(depth) + average_path_length(size) }
}

/// A threshold drawn uniformly in `[lo, hi)` from `u` in `[0, 1)`. Interpolating rather
/// than `lo + u * (hi - lo)` avoids overflow when the range spans most of `f64`; a result
/// rounded onto `hi` falls back to `lo`, so both sides of the split are non-empty.
fn split_point(lo: f64, hi: f64, u: f64) -> f64 {
    let t = lo * (1.0 - u) + hi * u;
    if t >= lo && t < hi {
        t
    } else {
        lo
    }
}

/// Moves the rows for which `goes_left` holds to the front; returns how many there are.
fn partition(rows: &mut [u32], goes_left: impl Fn(u32) -> bool) -> usize {
    let mut mid = 0;
    for i in 0..rows.len() {
        if goes_left(rows[i]) {
            rows.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn tree_on(data: &[f64], n_features: usize, limit: u32) -> Tree {
        let mut sample: Vec<u32> = (0..(data.len() / n_features) as u32).collect();
        Tree::build(data, n_features, &mut sample, limit, &mut ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn an_unlimited_tree_isolates_every_distinct_point_in_its_own_leaf() {
        let data: Vec<f64> = (0..16).map(f64::from).collect();
        let tree = tree_on(&data, 1, 64);
        assert_eq!(tree.node_count(), 31, "16 leaves and 15 splits");
        for x in &data {
            let depth = tree.path_length(&[*x]);
            assert_eq!(depth.fract(), 0.0, "a single-point leaf adds c(1) = 0");
        }
        assert_eq!(tree.validate(1, 64), Ok(()));
        assert!(tree.validate(1, 3).is_err(), "leaves at depth 4 are below a limit of 3");
    }

    #[test]
    fn identical_points_end_in_one_leaf_with_the_size_adjustment() {
        let data = vec![3.0; 8];
        let tree = tree_on(&data, 1, 8);
        assert_eq!(tree.node_count(), 1);
        assert_eq!(tree.path_length(&[3.0]), average_path_length(8));
    }

    #[test]
    fn the_height_limit_stops_splitting_and_adds_c_of_the_leaf_size() {
        let data: Vec<f64> = (0..64).map(f64::from).collect();
        let tree = tree_on(&data, 1, 1);
        assert_eq!(tree.node_count(), 3);
        let h = tree.path_length(&[0.0]);
        assert!(h > 1.0, "depth 1 plus c(size > 1): {h}");
    }

    #[test]
    fn isolation_along_a_path_sums_to_log2_of_sample_over_leaf_size() {
        let data: Vec<f64> = (0..32).map(f64::from).collect();
        let tree = tree_on(&data, 1, 64);
        let mut out = [0.0];
        tree.contribute(&[7.0], &mut out);
        assert!((out[0] - 5.0).abs() < 1e-5, "log2(32 / 1) = 5, got {}", out[0]);
    }

    #[test]
    fn split_points_stay_inside_the_range_even_for_extreme_values() {
        assert_eq!(split_point(-f64::MAX, f64::MAX, 0.5), 0.0);
        assert_eq!(split_point(1.0, 2.0, 0.0), 1.0);
        let t = split_point(1.0, 1.0 + f64::EPSILON, 0.999_999_999);
        assert!((1.0..1.0 + f64::EPSILON).contains(&t));
    }

    #[test]
    fn validation_rejects_children_that_point_backwards() {
        let tree = Tree {
            nodes: vec![
                Node { feature: 0, left: 1, value: 1.0 },
                Node { feature: 0, left: 0, value: 1.0 },
                Node { feature: 0, left: 2, value: 1.0 },
            ],
            isolation: vec![0.0; 3],
        };
        assert!(tree.validate(1, 8).is_err());
    }

    #[test]
    fn the_lockstep_walk_adds_up_the_same_path_lengths_as_walking_one_tree_at_a_time() {
        let data: Vec<f64> = (0..600).map(|i| f64::from((i * 7919) % 1000)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let trees: Vec<Tree> = (0..19)
            .map(|_| {
                let mut sample: Vec<u32> = (0..200).collect();
                Tree::build(&data, 3, &mut sample, 8, &mut rng)
            })
            .collect();
        for row in data.chunks_exact(3).chain([[f64::NAN, -1e9, 1e9].as_slice()]) {
            let one_by_one: f64 = trees.iter().map(|t| t.path_length(row)).sum();
            // Equal up to the order of the additions.
            assert!((total_path_length(&trees, row, 8) - one_by_one).abs() < 1e-9);
        }
    }
}
