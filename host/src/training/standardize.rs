//! Feature scaling fitted on training rows only.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// Per-feature z-scoring with statistics of the training rows only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1.0 for a constant column).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits on the rows `idx` of `x`.
    pub fn fit(x: ArrayView2<'_, f64>, idx: &[usize]) -> Self {
        let f = x.ncols();
        let n = idx.len().max(1) as f64;
        let mut mean = vec![0.0; f];
        for &i in idx {
            for (m, v) in mean.iter_mut().zip(x.row(i)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; f];
        for &i in idx {
            for ((s, v), m) in var.iter_mut().zip(x.row(i)).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let std = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-12 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    /// Standardises the rows `idx` of `x` into a new matrix.
    pub fn apply_rows(&self, x: ArrayView2<'_, f64>, idx: &[usize]) -> Array2<f64> {
        let mut out = x.select(Axis(0), idx);
        self.apply_inplace(&mut out);
        out
    }

    /// Standardises `x` in place.
    pub fn apply_inplace(&self, x: &mut Array2<f64>) {
        for mut row in x.outer_iter_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }
}
