//! Probability calibration and the measures that judge it.
//!
//! [`Platt`] scaling maps a classifier's margin `m` to `σ(a·m + b)`, with `a` and `b`
//! fitted by maximum likelihood on rows the classifier was not trained on (Platt 1999,
//! with the Newton method and safeguards of Lin, Lin and Weng 2007, and Platt's smoothed
//! targets `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)` that keep a perfectly separated split from
//! pushing `a` to infinity). Two parameters suit the supervised model: class weighting
//! shifts its log-odds by roughly a constant and boosting stretches them, which is the
//! shape Platt scaling corrects, and two parameters are estimated reliably from the few
//! positives a calibration split of fraud traffic holds (isotonic regression would need
//! many more).
//!
//! [`brier_score`] (mean squared error of the probabilities) and [`reliability`] (mean
//! predicted probability against the observed rate, per probability bin) say how well
//! the calibrated probabilities can be read as probabilities.

use crate::boost::sigmoid;
use crate::error::{MetricError, MlError};
use crate::tree::exact_f64;
use serde::{Deserialize, Serialize};

/// Newton iterations before giving up (the fit converges in well under 20 in practice).
const MAX_ITERATIONS: usize = 100;

/// Platt scaling: probability `σ(a·margin + b)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platt {
    /// Slope on the margin.
    #[serde(with = "exact_f64")]
    pub a: f64,
    /// Intercept.
    #[serde(with = "exact_f64")]
    pub b: f64,
}

impl Platt {
    /// The identity mapping: `σ(margin)`.
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    /// Fits `a` and `b` on held-out `margins` and their labels (see the module docs).
    pub fn fit(margins: &[f64], labels: &[bool]) -> Result<Platt, MlError> {
        if margins.len() != labels.len() {
            return Err(MlError::LabelCount { rows: margins.len(), labels: labels.len() });
        }
        if let Some(row) = margins.iter().position(|m| !m.is_finite()) {
            return Err(MlError::NonFinite { row, feature: 0 });
        }
        let positives = labels.iter().filter(|l| **l).count();
        let negatives = labels.len() - positives;
        if positives == 0 || negatives == 0 {
            return Err(MlError::OneClass { positives, negatives });
        }
        let high = (positives as f64 + 1.0) / (positives as f64 + 2.0);
        let low = 1.0 / (negatives as f64 + 2.0);
        let targets: Vec<f64> = labels.iter().map(|&l| if l { high } else { low }).collect();
        // Cross-entropy against the smoothed targets; softplus(z) − t·z, overflow-free.
        let loss = |a: f64, b: f64| -> f64 {
            margins.iter().zip(&targets).map(|(&m, &t)| softplus(a * m + b) - t * (a * m + b)).sum()
        };
        let (mut a, mut b) = (0.0, ((positives as f64 + 1.0) / (negatives as f64 + 1.0)).ln());
        let mut current = loss(a, b);
        for _ in 0..MAX_ITERATIONS {
            // Gradient and Hessian of the loss in (a, b); a tiny ridge keeps H invertible.
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12);
            for (&m, &t) in margins.iter().zip(&targets) {
                let p = sigmoid(a * m + b);
                let d = p - t;
                let w = p * (1.0 - p);
                ga += d * m;
                gb += d;
                haa += w * m * m;
                hab += w * m;
                hbb += w;
            }
            if ga.abs() < 1e-9 * margins.len() as f64 && gb.abs() < 1e-9 * margins.len() as f64 {
                break;
            }
            let det = haa * hbb - hab * hab;
            let (da, db) = (-(hbb * ga - hab * gb) / det, -(haa * gb - hab * ga) / det);
            // Backtracking: halve the Newton step until the loss drops enough.
            let mut step = 1.0;
            let mut improved = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let next = loss(na, nb);
                if next.is_finite() && next <= current + 1e-4 * step * (ga * da + gb * db) {
                    (a, b, current) = (na, nb, next);
                    improved = true;
                    break;
                }
                step /= 2.0;
            }
            if !improved {
                break;
            }
        }
        if !(a.is_finite() && b.is_finite()) {
            return Err(MlError::InvalidParams("calibration did not converge"));
        }
        Ok(Platt { a, b })
    }

    /// The calibrated probability of a margin.
    pub fn probability(&self, margin: f64) -> f64 {
        sigmoid(self.a * margin + self.b)
    }
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Mean squared difference between probabilities and outcomes (0 perfect; predicting the
/// base rate `π` everywhere scores `π(1 − π)`).
pub fn brier_score(probabilities: &[f64], labels: &[bool]) -> Result<f64, MetricError> {
    check(probabilities, labels)?;
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let d = p - if y { 1.0 } else { 0.0 };
            d * d
        })
        .sum();
    Ok(sum / probabilities.len() as f64)
}

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliabilityBin {
    /// Probabilities in `[lower, upper)` (the last bin includes 1).
    pub lower: f64,
    pub upper: f64,
    pub rows: u64,
    /// Mean predicted probability of the bin's rows.
    pub mean_predicted: f64,
    /// Share of the bin's rows that are positive.
    pub observed_rate: f64,
}

/// Rows grouped by predicted probability into bins with edges at
/// `0, 10⁻ᵏ⁺¹, …, 10⁻², 10⁻¹, 0.2, 0.3, …, 0.9, 1`: fraud probabilities crowd near 0, so
/// the low end gets decades and the rest tenths. Empty bins are left out.
pub fn reliability(probabilities: &[f64], labels: &[bool]) -> Result<Vec<ReliabilityBin>, MetricError> {
    check(probabilities, labels)?;
    let edges = [0.0, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    let mut sums = vec![(0u64, 0.0f64, 0u64); edges.len() - 1];
    for (&p, &y) in probabilities.iter().zip(labels) {
        let i = edges[1..].partition_point(|&e| e <= p).min(sums.len() - 1);
        sums[i].0 += 1;
        sums[i].1 += p;
        sums[i].2 += u64::from(y);
    }
    Ok(sums
        .iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(i, &(rows, sum, positives))| ReliabilityBin {
            lower: edges[i],
            upper: edges[i + 1],
            rows,
            mean_predicted: sum / rows as f64,
            observed_rate: positives as f64 / rows as f64,
        })
        .collect())
}

fn check(probabilities: &[f64], labels: &[bool]) -> Result<(), MetricError> {
    if probabilities.len() != labels.len() {
        return Err(MetricError::LengthMismatch { scores: probabilities.len(), labels: labels.len() });
    }
    if probabilities.is_empty() {
        return Err(MetricError::Empty);
    }
    if let Some(index) = probabilities.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(MetricError::NotProbability { index });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn platt_recovers_a_known_slope_and_intercept() {
        // Labels drawn with P(y) = σ(2m − 3): the fit should land near (2, −3).
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let margins: Vec<f64> = (0..20_000).map(|_| rng.gen::<f64>() * 6.0 - 1.0).collect();
        let labels: Vec<bool> = margins.iter().map(|&m| rng.gen::<f64>() < sigmoid(2.0 * m - 3.0)).collect();
        let platt = Platt::fit(&margins, &labels).expect("fits");
        assert!((platt.a - 2.0).abs() < 0.15 && (platt.b + 3.0).abs() < 0.25, "{platt:?}");
    }

    #[test]
    fn platt_stays_finite_on_perfectly_separated_margins() {
        let margins = [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0];
        let labels = [false, false, false, true, true, true];
        let platt = Platt::fit(&margins, &labels).expect("fits");
        assert!(platt.a > 0.0 && platt.a.is_finite(), "{platt:?}");
        assert!(platt.probability(3.0) > 0.7 && platt.probability(-3.0) < 0.3);
    }

    #[test]
    fn brier_score_matches_a_hand_computation() {
        // (0.9−1)² + (0.2−0)² + (0.6−1)² + (0−0)² = 0.01 + 0.04 + 0.16 = 0.21 over 4.
        let b = brier_score(&[0.9, 0.2, 0.6, 0.0], &[true, false, true, false]).expect("defined");
        assert!((b - 0.0525).abs() < 1e-12, "{b}");
        assert_eq!(brier_score(&[1.5], &[true]), Err(MetricError::NotProbability { index: 0 }));
    }

    #[test]
    fn reliability_bins_report_predicted_against_observed() {
        let probabilities = [0.05, 0.05, 0.95, 0.95, 0.95, 1.0];
        let labels = [false, true, true, true, false, true];
        let bins = reliability(&probabilities, &labels).expect("defined");
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].lower, bins[0].upper, bins[0].rows), (0.01, 0.1, 2));
        assert!((bins[0].observed_rate - 0.5).abs() < 1e-12);
        assert_eq!((bins[1].lower, bins[1].rows), (0.9, 4), "1.0 falls in the last bin");
        assert!((bins[1].mean_predicted - 0.9625).abs() < 1e-12);
    }
}
