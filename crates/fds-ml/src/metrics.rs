//! Ranking metrics for a score against binary labels (`true` = the rare, positive class:
//! fraud, outlier). Both treat tied scores as one threshold, so the result does not depend
//! on the order of tied rows.

use crate::error::MetricError;

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann–Whitney statistic). 0.5 is chance, 1 perfect.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64, MetricError> {
    let groups = tie_groups(scores, labels)?;
    let (positives, negatives) = totals(&groups);
    // Trapezoids between consecutive thresholds: a tie group moves the curve diagonally.
    let mut area = 0.0;
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(group_tp, group_fp) in &groups {
        area += group_fp * (tp + group_tp / 2.0);
        tp += group_tp;
        fp += group_fp;
    }
    debug_assert_eq!((tp, fp), (positives, negatives));
    Ok(area / (positives * negatives))
}

/// Area under the precision–recall curve as average precision: Σ (Rₖ − Rₖ₋₁) · Pₖ over the
/// distinct score thresholds, highest first (scikit-learn's `average_precision_score`,
/// without interpolation). Chance level is the share of positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Result<f64, MetricError> {
    let groups = tie_groups(scores, labels)?;
    let (positives, _) = totals(&groups);
    let mut ap = 0.0;
    let (mut tp, mut fp) = (0.0, 0.0);
    for &(group_tp, group_fp) in &groups {
        tp += group_tp;
        fp += group_fp;
        if group_tp > 0.0 {
            ap += (group_tp / positives) * (tp / (tp + fp));
        }
    }
    Ok(ap)
}

/// (positives, negatives) per distinct score, highest score first; checks the inputs.
fn tie_groups(scores: &[f64], labels: &[bool]) -> Result<Vec<(f64, f64)>, MetricError> {
    if scores.len() != labels.len() {
        return Err(MetricError::LengthMismatch { scores: scores.len(), labels: labels.len() });
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(MetricError::NonFinite { index });
    }
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricError::OneClass { positives, negatives });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut groups: Vec<(f64, f64)> = Vec::new();
    let mut previous = None;
    for i in order {
        // -0.0 and 0.0 are the same threshold.
        if previous != Some(scores[i]) {
            groups.push((0.0, 0.0));
            previous = Some(scores[i]);
        }
        if let Some(last) = groups.last_mut() {
            if labels[i] {
                last.0 += 1.0;
            } else {
                last.1 += 1.0;
            }
        }
    }
    Ok(groups)
}

fn totals(groups: &[(f64, f64)]) -> (f64, f64) {
    groups.iter().fold((0.0, 0.0), |(p, n), (gp, gn)| (p + gp, n + gn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn a_perfect_ranking_has_both_areas_one_and_a_reversed_one_auc_zero() {
        let scores = [0.9, 0.8, 0.3, 0.1];
        let labels = [true, true, false, false];
        assert_eq!(roc_auc(&scores, &labels), Ok(1.0));
        assert_eq!(average_precision(&scores, &labels), Ok(1.0));
        let reversed = [false, false, true, true];
        assert_eq!(roc_auc(&scores, &reversed), Ok(0.0));
    }

    #[test]
    fn roc_auc_counts_pairs_by_hand() {
        // Positives 0.8, 0.4; negatives 0.7, 0.3, 0.2. Pairs won: 0.8 beats all 3,
        // 0.4 beats 0.3 and 0.2 → 5 of 6.
        let scores = [0.8, 0.7, 0.4, 0.3, 0.2];
        let labels = [true, false, true, false, false];
        assert!(close(roc_auc(&scores, &labels).expect("defined"), 5.0 / 6.0));
    }

    #[test]
    fn tied_scores_count_one_half_whatever_the_row_order() {
        // Positive 0.5 ties negative 0.5 (½), beats 0.1 (1); positive 0.9 beats both (2):
        // 3.5 of 4.
        let a = roc_auc(&[0.9, 0.5, 0.5, 0.1], &[true, true, false, false]).expect("defined");
        let b = roc_auc(&[0.9, 0.5, 0.5, 0.1], &[true, false, true, false]).expect("defined");
        assert!(close(a, 0.875) && close(b, 0.875), "{a} {b}");
        // All scores equal: chance.
        assert_eq!(roc_auc(&[1.0; 4], &[true, false, false, true]), Ok(0.5));
    }

    #[test]
    fn average_precision_matches_a_hand_computation() {
        // Ranked: P N P N N. At the 1st positive: recall ½, precision 1; at the 2nd:
        // recall 1, precision 2/3. AP = ½·1 + ½·⅔ = 5/6.
        let scores = [0.8, 0.7, 0.4, 0.3, 0.2];
        let labels = [true, false, true, false, false];
        assert!(close(average_precision(&scores, &labels).expect("defined"), 5.0 / 6.0));
    }

    #[test]
    fn average_precision_treats_a_tie_as_one_threshold() {
        // Ranked: {P, N} tied at 0.9, then P. Threshold 0.9: recall ½, precision ½;
        // threshold 0.1: recall 1, precision ⅔. AP = ¼ + ⅓ = 7/12 (scikit-learn agrees).
        let ap = average_precision(&[0.9, 0.9, 0.1], &[false, true, true]).expect("defined");
        assert!(close(ap, 7.0 / 12.0), "{ap}");
        let swapped = average_precision(&[0.9, 0.9, 0.1], &[true, false, true]).expect("defined");
        assert!(close(swapped, ap));
    }

    #[test]
    fn undefined_cases_are_errors() {
        assert_eq!(
            roc_auc(&[0.1, 0.2], &[true, true]),
            Err(MetricError::OneClass { positives: 2, negatives: 0 })
        );
        assert_eq!(
            average_precision(&[0.1], &[true, false]),
            Err(MetricError::LengthMismatch { scores: 1, labels: 2 })
        );
        assert_eq!(roc_auc(&[0.1, f64::NAN], &[true, false]), Err(MetricError::NonFinite { index: 1 }));
    }
}
