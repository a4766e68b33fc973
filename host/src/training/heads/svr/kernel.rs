//! The SVR's kernels and the cache of kernel rows the solver reads.

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
            KernelKind::Rbf => (-gamma * squared_distance(a, b)).exp(),
            KernelKind::Linear => a.dot(&b),
        }
    }
}

/// Lanes of [`squared_distance`]'s sum.
const LANES: usize = 8;

/// `|a - b|^2`, summed in [`LANES`] independent lanes (the compiler
/// vectorises them; a single running sum is bound by the latency of one
/// addition per feature), the lanes added pairwise, then the remaining
/// features in order. With fewer features than lanes this is the plain
/// sum in order.
fn squared_distance(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    fn lanes(a: &[f64], b: &[f64]) -> f64 {
        let mut acc = [0.0f64; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for l in 0..LANES {
                let d = x[l] - y[l];
                acc[l] += d * d;
            }
        }
        let mut tail = 0.0;
        for (x, y) in ra.iter().zip(rb) {
            let d = x - y;
            tail += d * d;
        }
        let [a0, a1, a2, a3, a4, a5, a6, a7] = acc;
        (((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) + tail
    }
    match (a.as_slice(), b.as_slice()) {
        (Some(a), Some(b)) => lanes(a, b),
        _ => lanes(&a.to_vec(), &b.to_vec()),
    }
}

/// One kernel row, shared between the cache and the solver.
pub type Row = Arc<[f32]>;

/// Kernel rows of the training rows, computed on demand and kept up to a
/// memory budget (least recently used rows are dropped first), or all
/// given up front ([`RowCache::precomputed`], rows gathered from a shared
/// [`Gram`] matrix).
///
/// Rows are stored in `f32`, as libsvm stores them (its `Qfloat`): the
/// solver's updates read these rounded values, so keeping libsvm's type is
/// what makes its path, and on an ill-conditioned kernel its solution,
/// reproducible. Everything else (gradients, coefficients, the kernel
/// diagonal and predictions) is `f64`.
pub struct RowCache<'a> {
    store: Store<'a>,
    diag: Vec<f64>,
    /// Rows computed (cache misses).
    pub computed: u64,
}

enum Store<'a> {
    /// Rows computed on demand from the scaled rows, least recently used
    /// dropped beyond `capacity`.
    Lazy {
        x: &'a Array2<f64>,
        kind: KernelKind,
        gamma: f64,
        capacity: usize,
        rows: Vec<Option<(Row, u64)>>,
        held: usize,
        clock: u64,
    },
    /// Every row, given up front.
    Full(Vec<Row>),
}

impl<'a> RowCache<'a> {
    /// A cache over the rows of `x` holding at most `budget_bytes` of rows
    /// (at least two rows, which the solver reads at once).
    pub fn new(x: &'a Array2<f64>, kind: KernelKind, gamma: f64, budget_bytes: usize) -> Self {
        let row_bytes = x.nrows().max(1) * std::mem::size_of::<f32>();
        let diag = x.outer_iter().map(|xi| kind.eval(gamma, xi, xi)).collect();
        RowCache {
            store: Store::Lazy {
                x,
                kind,
                gamma,
                capacity: (budget_bytes / row_bytes).max(2),
                rows: vec![None; x.nrows()],
                held: 0,
                clock: 0,
            },
            diag,
            computed: 0,
        }
    }

    /// A cache holding every row of `x`'s kernel, computed up front: one
    /// evaluation per unordered pair (half of what computing every row
    /// takes), the rows in parallel. The same values as [`RowCache::new`]'s
    /// (the kernel is symmetric to the bit), so a solve on it takes the same
    /// path; its memory is `n^2` `f32` (and half that again while it is
    /// built), where the lazy cache's is bounded by its budget.
    pub fn symmetric(x: &Array2<f64>, kind: KernelKind, gamma: f64) -> RowCache<'static> {
        let upper = upper_triangle(x, kind, gamma);
        let n = x.nrows();
        let rows = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        if j < i {
                            upper[j][i - j]
                        } else {
                            upper[i][j - i]
                        }
                    })
                    .collect::<Row>()
            })
            .collect();
        let diag = x.outer_iter().map(|xi| kind.eval(gamma, xi, xi)).collect();
        RowCache::precomputed(rows, diag)
    }

    /// A cache that already holds every row (`rows[i][j] = K(i, j)` in
    /// `f32`) and the `f64` diagonal.
    pub fn precomputed(rows: Vec<Row>, diag: Vec<f64>) -> RowCache<'static> {
        RowCache {
            store: Store::Full(rows),
            diag,
            computed: 0,
        }
    }

    /// Training rows.
    pub fn len(&self) -> usize {
        self.diag.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.diag.is_empty()
    }

    /// `K(i, j)` for every training row `j`.
    pub fn row(&mut self, i: usize) -> Row {
        let (x, kind, gamma, capacity, rows, held, clock) = match &mut self.store {
            Store::Full(rows) => return Arc::clone(&rows[i]),
            Store::Lazy {
                x,
                kind,
                gamma,
                capacity,
                rows,
                held,
                clock,
            } => (*x, *kind, *gamma, *capacity, rows, held, clock),
        };
        *clock += 1;
        let now = *clock;
        if let Some((row, used)) = &mut rows[i] {
            *used = now;
            return Arc::clone(row);
        }
        if *held >= capacity {
            if let Some(oldest) = (0..rows.len())
                .filter_map(|k| rows[k].as_ref().map(|(_, u)| (*u, k)))
                .min()
                .map(|(_, k)| k)
            {
                rows[oldest] = None;
                *held -= 1;
            }
        }
        let xi = x.row(i);
        let row: Row = x
            .outer_iter()
            .map(|xj| kind.eval(gamma, xi, xj) as f32)
            .collect();
        self.computed += 1;
        *held += 1;
        rows[i] = Some((Arc::clone(&row), now));
        row
    }

    /// Rows currently held.
    pub fn held(&self) -> usize {
        match &self.store {
            Store::Full(rows) => rows.len(),
            Store::Lazy { held, .. } => *held,
        }
    }

    /// `K(i, i)`.
    pub fn diagonal(&self, i: usize) -> f64 {
        self.diag[i]
    }
}

/// The kernel matrix of a set of scaled rows, computed once (in `f32`, as
/// the cache stores it, with the `f64` diagonal) and shared by every fit on
/// a subset of those rows: model selection fits each `C` and each inner
/// fold from one matrix per kernel width.
pub struct Gram {
    n: usize,
    values: Vec<f32>,
    diag: Vec<f64>,
}

impl Gram {
    /// `K(x_i, x_j)` for every pair of rows of `x` (the same values the
    /// cache computes: one evaluation per unordered pair).
    pub fn new(x: &Array2<f64>, kind: KernelKind, gamma: f64) -> Gram {
        let n = x.nrows();
        let upper = upper_triangle(x, kind, gamma);
        let mut values = vec![0f32; n * n];
        for (i, row) in upper.iter().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                values[i * n + i + k] = v;
                values[(i + k) * n + i] = v;
            }
        }
        let diag = x.outer_iter().map(|xi| kind.eval(gamma, xi, xi)).collect();
        Gram { n, values, diag }
    }

    /// `K(i, j)`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.values[i * self.n + j]
    }

    /// The cache of the rows `idx` (indices into this matrix), every row
    /// present.
    pub fn cache(&self, idx: &[usize]) -> RowCache<'static> {
        let rows = idx
            .iter()
            .map(|&i| {
                let r = &self.values[i * self.n..(i + 1) * self.n];
                idx.iter().map(|&j| r[j]).collect::<Row>()
            })
            .collect();
        RowCache::precomputed(rows, idx.iter().map(|&i| self.diag[i]).collect())
    }
}

/// `K(x_i, x_j)` in `f32` for `j >= i`, row `i` from `i` on (rows in
/// parallel).
fn upper_triangle(x: &Array2<f64>, kind: KernelKind, gamma: f64) -> Vec<Vec<f32>> {
    use rayon::prelude::*;
    let n = x.nrows();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = x.row(i);
            (i..n)
                .map(|j| kind.eval(gamma, xi, x.row(j)) as f32)
                .collect()
        })
        .collect()
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
        assert!(c.held() <= 2);
        assert!(c.computed >= 5, "evicted rows are recomputed");
        assert_eq!(c.diagonal(3), 1.0);
        let g = Gram::new(&x, KernelKind::Rbf, 0.5);
        let mut sub = g.cache(&[4, 1, 3]);
        let mut full = RowCache::new(&x, KernelKind::Rbf, 0.5, 1 << 20);
        for (a, &i) in [4usize, 1, 3].iter().enumerate() {
            let (r, f) = (sub.row(a), full.row(i));
            for (b, &j) in [4usize, 1, 3].iter().enumerate() {
                assert_eq!(r[b], f[j]);
            }
            assert_eq!(sub.diagonal(a), full.diagonal(i));
        }
        let mut whole = RowCache::symmetric(&x, KernelKind::Rbf, 0.5);
        for i in 0..5 {
            assert_eq!(whole.row(i), full.row(i), "row {i}");
            assert_eq!(whole.diagonal(i), full.diagonal(i));
        }
        assert_eq!(
            KernelKind::Linear.eval(0.0, x.row(1), x.row(2)),
            x.row(1).dot(&x.row(2))
        );
    }
}
