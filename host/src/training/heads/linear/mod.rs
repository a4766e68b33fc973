//! The bounded linear head: `1 + 4 sigmoid(w . x + b)` over standardised
//! features.

mod head;

pub use head::LinearHead;

use ndarray::{ArrayView1, ArrayView2};
use rand_chacha::ChaCha8Rng;

use super::{bounded_error, output_bias, sigmoid, Model};

/// `1 + 4 sigmoid(z) `: standardised features -> bounded linear output.
/// Parameters: `w` (F), then `b`.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    /// Number of features.
    pub f: usize,
}

impl Model for Linear {
    fn n_params(&self) -> usize {
        self.f + 1
    }

    fn is_decayed(&self, i: usize) -> bool {
        i < self.f
    }

    fn init(&self, _rng: &mut ChaCha8Rng, mean_mos: f64) -> Vec<f64> {
        let mut p = vec![0.0; self.f + 1];
        p[self.f] = output_bias(mean_mos);
        p
    }

    fn sse_grad(&self, p: &[f64], x: ArrayView2<'_, f64>, y: &[f64], grad: &mut [f64]) -> f64 {
        let (w, b) = (ArrayView1::from(&p[..self.f]), p[self.f]);
        let mut sse = 0.0;
        for (row, &t) in x.outer_iter().zip(y) {
            let (se, dz) = bounded_error(row.dot(&w) + b, t);
            sse += se;
            for (g, v) in grad[..self.f].iter_mut().zip(row.iter()) {
                *g += dz * v;
            }
            grad[self.f] += dz;
        }
        sse
    }

    fn predict(&self, p: &[f64], x: ArrayView2<'_, f64>) -> Vec<f64> {
        let (w, b) = (ArrayView1::from(&p[..self.f]), p[self.f]);
        x.outer_iter()
            .map(|row| 1.0 + 4.0 * sigmoid(row.dot(&w) + b))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::heads::testing::check_gradient;

    #[test]
    fn linear_gradient_matches_finite_differences() {
        check_gradient(&Linear { f: 5 }, 5);
    }
}
