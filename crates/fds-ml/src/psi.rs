//! Population stability index: how far a current sample's distribution has moved from a
//! baseline (a feature or a score at training time), for drift monitoring.

use crate::error::MetricError;

/// Shares below this are raised to it, so that an empty bin gives a large but finite PSI
/// instead of an infinite one (the usual convention for PSI).
const MIN_SHARE: f64 = 1e-4;

/// PSI = Σ (cᵢ − bᵢ) · ln(cᵢ / bᵢ) over `bins` quantile bins of the baseline, where bᵢ and
/// cᵢ are the baseline's and the current sample's shares in bin i. Bins are left-closed
/// between cut points at the baseline's i/`bins` quantiles (the first and last are open
/// ended, so values outside the baseline's range still count); tied cut points merge, so a
/// baseline with few distinct values gets fewer bins. Common reading: < 0.1 stable,
/// 0.1–0.25 moderate shift, > 0.25 significant shift.
pub fn psi(baseline: &[f64], current: &[f64], bins: usize) -> Result<f64, MetricError> {
    if bins < 2 {
        return Err(MetricError::TooFewBins(bins));
    }
    if baseline.is_empty() || current.is_empty() {
        return Err(MetricError::Empty);
    }
    for sample in [baseline, current] {
        if let Some(index) = sample.iter().position(|x| !x.is_finite()) {
            return Err(MetricError::NonFinite { index });
        }
    }
    let cuts = quantile_cuts(baseline, bins);
    let b = shares(baseline, &cuts);
    let c = shares(current, &cuts);
    Ok(b.iter().zip(&c).map(|(b, c)| (c - b) * (c / b).ln()).sum())
}

/// PSI between two histograms over the same bins (counts per bin, e.g. the score
/// histograms kept per model and hour), shares floored as in [`psi`]. Serving keeps
/// counts, not samples: this is the form drift monitoring reads.
pub fn psi_of_counts(baseline: &[u64], current: &[u64]) -> Result<f64, MetricError> {
    if baseline.len() != current.len() {
        return Err(MetricError::LengthMismatch { scores: current.len(), labels: baseline.len() });
    }
    if baseline.len() < 2 {
        return Err(MetricError::TooFewBins(baseline.len()));
    }
    let shares = |counts: &[u64]| -> Result<Vec<f64>, MetricError> {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Err(MetricError::Empty);
        }
        Ok(counts.iter().map(|&n| (n as f64 / total as f64).max(MIN_SHARE)).collect())
    };
    let (b, c) = (shares(baseline)?, shares(current)?);
    Ok(b.iter().zip(&c).map(|(b, c)| (c - b) * (c / b).ln()).sum())
}

/// The cut points of `bins` quantile bins of `baseline` (finite, not empty): at the
/// i/`bins` quantiles, ties merged, a lowest cut equal to the minimum dropped. A value
/// `x` falls in bin `cuts.partition_point(|c| *c <= x)` of `cuts.len() + 1`.
pub(crate) fn quantile_cuts(baseline: &[f64], bins: usize) -> Vec<f64> {
    let mut sorted = baseline.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..bins).map(|i| sorted[i * sorted.len() / bins]).collect();
    cuts.dedup();
    // The lowest cut equal to the baseline minimum would leave the first bin empty by
    // construction; drop it.
    if !cuts.is_empty() && cuts.first() == sorted.first() {
        cuts.remove(0);
    }
    cuts
}

/// Share of `sample` in each bin, floored at [`MIN_SHARE`].
fn shares(sample: &[f64], cuts: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; cuts.len() + 1];
    for x in sample {
        counts[cuts.partition_point(|cut| cut <= x)] += 1;
    }
    counts.into_iter().map(|n| (n as f64 / sample.len() as f64).max(MIN_SHARE)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_distribution_has_zero_psi() {
        let baseline: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(psi(&baseline, &baseline, 10), Ok(0.0));
    }

    #[test]
    fn psi_matches_a_hand_computation() {
        // Baseline 0..9 in 2 bins cut at 5: shares ½, ½. Current [0, 1, 2, 6]: ¾, ¼.
        // PSI = (¾ − ½)·ln(3/2) + (¼ − ½)·ln(½) = ¼·ln 1.5 + ¼·ln 2 = ¼·ln 3.
        let baseline: Vec<f64> = (0..10).map(f64::from).collect();
        let value = psi(&baseline, &[0.0, 1.0, 2.0, 6.0], 2).expect("defined");
        assert!((value - 0.25 * 3f64.ln()).abs() < 1e-12, "{value}");
    }

    #[test]
    fn values_outside_the_baseline_range_fall_in_the_open_end_bins() {
        let baseline: Vec<f64> = (0..10).map(f64::from).collect();
        let below = psi(&baseline, &[-100.0, 1.0], 2).expect("defined");
        let inside = psi(&baseline, &[0.0, 1.0], 2).expect("defined");
        assert_eq!(below, inside);
    }

    #[test]
    fn an_empty_bin_gives_a_large_finite_psi() {
        // Current all in the upper bin: (1e-4 − ½)·ln(1e-4 / ½) + (1 − ½)·ln(2).
        let baseline: Vec<f64> = (0..10).map(f64::from).collect();
        let value = psi(&baseline, &[7.0, 8.0], 2).expect("defined");
        let expected = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + 0.5 * 2f64.ln();
        assert!((value - expected).abs() < 1e-12, "{value}");
    }

    #[test]
    fn a_baseline_with_few_distinct_values_merges_its_bins() {
        // Baseline 0,0,0,0,0,0,1,1,1,1 with 10 bins: cuts at 0 (dropped) and 1 → bins
        // (< 1) and (≥ 1), shares 0.6 and 0.4.
        let baseline = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let current = [0.0, 1.0];
        let expected = (0.5 - 0.6) * (0.5f64 / 0.6).ln() + (0.5 - 0.4) * (0.5f64 / 0.4).ln();
        let value = psi(&baseline, &current, 10).expect("defined");
        assert!((value - expected).abs() < 1e-12, "{value}");
    }

    #[test]
    fn psi_of_counts_agrees_with_psi_on_the_same_bins() {
        // The hand computation above, as counts: baseline 5 / 5, current 3 / 1.
        let value = psi_of_counts(&[5, 5], &[3, 1]).expect("defined");
        assert!((value - 0.25 * 3f64.ln()).abs() < 1e-12, "{value}");
        assert_eq!(psi_of_counts(&[2, 4, 6], &[1, 2, 3]), Ok(0.0));
        assert_eq!(psi_of_counts(&[1, 1], &[0, 0]), Err(MetricError::Empty));
        assert_eq!(psi_of_counts(&[1], &[1]), Err(MetricError::TooFewBins(1)));
        assert!(psi_of_counts(&[1, 1], &[1, 1, 1]).is_err());
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert_eq!(psi(&[1.0], &[1.0], 1), Err(MetricError::TooFewBins(1)));
        assert_eq!(psi(&[], &[1.0], 10), Err(MetricError::Empty));
        assert_eq!(psi(&[1.0], &[f64::INFINITY], 10), Err(MetricError::NonFinite { index: 0 }));
    }
}
