//! The training baseline that drift is measured against: for each input column of a
//! model, quantile bins of its training values and their counts, and the histogram of
//! the model's scores on the training rows. Serving counts live values into the same
//! bins, and [`psi_of_counts`](crate::psi_of_counts) compares the two.

use crate::psi::quantile_cuts;
use serde::{Deserialize, Serialize};

/// Quantile bins per input column (fewer when values tie).
pub const INPUT_BINS: usize = 10;

/// One input column's training distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputBaseline {
    pub name: String,
    /// Bin `i` holds values in `[cuts[i - 1], cuts[i])`; the first and last are open-ended.
    pub cuts: Vec<f64>,
    /// Training rows per bin (`cuts.len() + 1` of them).
    pub counts: Vec<u64>,
}

impl InputBaseline {
    /// The bin of `x` (not-a-number counts in the first).
    pub fn bin(&self, x: f64) -> usize {
        if x.is_nan() {
            return 0;
        }
        self.cuts.partition_point(|c| *c <= x)
    }
}

/// The distributions a model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The model's scores on the training rows, in the caller's score bins.
    pub score: Vec<u64>,
    pub inputs: Vec<InputBaseline>,
}

impl Baseline {
    /// The baseline of `rows` (row-major, one column per name; non-finite values are
    /// left out of the cuts and counted in the first bin) and the score histogram.
    pub fn new(names: &[String], rows: &[f64], score: Vec<u64>) -> Baseline {
        let width = names.len().max(1);
        let inputs = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let column: Vec<f64> = rows.iter().skip(i).step_by(width).copied().collect();
                let finite: Vec<f64> = column.iter().copied().filter(|x| x.is_finite()).collect();
                let cuts = if finite.is_empty() { Vec::new() } else { quantile_cuts(&finite, INPUT_BINS) };
                let mut input = InputBaseline { name: name.clone(), counts: vec![0; cuts.len() + 1], cuts };
                for x in column {
                    let bin = input.bin(x);
                    input.counts[bin] += 1;
                }
                input
            })
            .collect();
        Baseline { score, inputs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_column_gets_quantile_bins_holding_its_training_rows() {
        // Column a: 0..99; column b: constant 5.
        let rows: Vec<f64> = (0..100).flat_map(|i| [f64::from(i), 5.0]).collect();
        let baseline = Baseline::new(&["a".into(), "b".into()], &rows, vec![100, 0]);
        let a = &baseline.inputs[0];
        assert_eq!(a.cuts, [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]);
        assert_eq!(a.counts, [10; 10]);
        assert_eq!((a.bin(-1.0), a.bin(10.0), a.bin(1e9), a.bin(f64::NAN)), (0, 1, 9, 0));
        let b = &baseline.inputs[1];
        assert_eq!((b.cuts.as_slice(), b.counts.as_slice()), (&[][..], &[100][..]), "one bin for a constant");
        assert_eq!(baseline.score, [100, 0]);
    }

    #[test]
    fn the_same_values_counted_live_have_zero_psi_and_a_shift_does_not() {
        let rows: Vec<f64> = (0..1000).map(f64::from).collect();
        let baseline = Baseline::new(&["x".into()], &rows, Vec::new());
        let input = &baseline.inputs[0];
        let count = |values: &mut dyn Iterator<Item = f64>| {
            let mut counts = vec![0u64; input.counts.len()];
            values.for_each(|x| counts[input.bin(x)] += 1);
            counts
        };
        let same = count(&mut (0..1000).map(f64::from));
        let shifted = count(&mut (500..1500).map(f64::from));
        assert_eq!(crate::psi_of_counts(&input.counts, &same), Ok(0.0));
        assert!(crate::psi_of_counts(&input.counts, &shifted).unwrap() > 0.25);
    }
}
