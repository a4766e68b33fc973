//! The SVR's kernels and the cache of kernel rows the solver reads.

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

/// The kernel of an SVR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelKind {
    /// `exp(-gamma |a - b|^2)`.
    #[default]
    Rbf,
    /// `a . b`.
    Linear,
}

impl KernelKind {
    /// The lowercase name (libsvm's `kernel_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            KernelKind::Rbf => "rbf",
            KernelKind::Linear => "linear",
        }
    }

    /// The kernel of `a` and `b` (`gamma` is ignored by the linear kernel).
    #[inline]
    pub fn eval(self, gamma: f64, a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
        match self {
            KernelKind::Rbf => {
                let d2: f64 = a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum();
                (-gamma * d2).exp()
            }
            KernelKind::Linear => a.dot(&b),
        }
    }
}

/// Kernel rows of the training rows, computed on demand and kept up to a
/// memory budget (least recently used rows are dropped first).
///
/// Rows are stored in `f32`, as libsvm stores them (its `Qfloat`): the
/// solver's updates read these rounded values, so keeping libsvm's type is
/// what makes its path, and on an ill-conditioned kernel its solution,
/// reproducible. Everything else (gradients, coefficients, the kernel
/// diagonal and predictions) is `f64`.
pub struct RowCache<'a> {
    x: &'a Array2<f64>,
    kind: KernelKind,
    gamma: f64,
    capacity: usize,
    rows: HashMap<usize, (Arc<Vec<f32>>, u64)>,
    clock: u64,
    /// Rows computed (cache misses).
    pub computed: u64,
}

impl<'a> RowCache<'a> {
    /// A cache over the rows of `x` holding at most `budget_bytes` of rows
    /// (at least two rows, which the solver reads at once).
    pub fn new(x: &'a Array2<f64>, kind: KernelKind, gamma: f64, budget_bytes: usize) -> Self {
        let row_bytes = x.nrows().max(1) * std::mem::size_of::<f32>();
        RowCache {
            x,
            kind,
            gamma,
            capacity: (budget_bytes / row_bytes).max(2),
            rows: HashMap::new(),
            clock: 0,
            computed: 0,
        }
    }

    /// `K(i, j)` for every training row `j`.
    pub fn row(&mut self, i: usize) -> Arc<Vec<f32>> {
        self.clock += 1;
        let now = self.clock;
        if let Some((row, used)) = self.rows.get_mut(&i) {
            *used = now;
            return Arc::clone(row);
        }
        if self.rows.len() >= self.capacity {
            if let Some(oldest) = self
                .rows
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
            {
                self.rows.remove(&oldest);
            }
        }
        let xi = self.x.row(i);
        let row: Arc<Vec<f32>> = Arc::new(
            self.x
                .outer_iter()
                .map(|xj| self.kind.eval(self.gamma, xi, xj) as f32)
                .collect(),
        );
        self.computed += 1;
        self.rows.insert(i, (Arc::clone(&row), now));
        row
    }

    /// `K(i, i)`.
    pub fn diagonal(&self, i: usize) -> f64 {
        let xi = self.x.row(i);
        self.kind.eval(self.gamma, xi, xi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_the_kernel_and_survive_eviction() {
        let x = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 * 0.1);
        let mut c = RowCache::new(&x, KernelKind::Rbf, 0.5, 2 * 5 * 4);
        for i in [0, 1, 2, 0, 4, 1] {
            let r = c.row(i);
            for j in 0..5 {
                let d2: f64 = (0..3).map(|k| (x[[i, k]] - x[[j, k]]).powi(2)).sum();
                assert_eq!(r[j], (-0.5 * d2).exp() as f32);
            }
        }
        assert!(c.rows.len() <= 2);
        assert!(c.computed >= 5, "evicted rows are recomputed");
        assert_eq!(c.diagonal(3), 1.0);
        assert_eq!(
            KernelKind::Linear.eval(0.0, x.row(1), x.row(2)),
            x.row(1).dot(&x.row(2))
        );
    }
}
