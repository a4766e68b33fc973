//! The ridge head: an exact, closed-form linear model on standardised
//! features, its penalty chosen by cross-validation over a log grid.
//!
//! Objective (scikit-learn's `Ridge`): `sum_i (y_i - b - w . x_i)^2 +
//! alpha |w|^2` over the training rows, the intercept `b` unpenalised. With
//! the features centred (they are standardised on the same rows),
//! `b = mean(y) - mean(x) . w` and `w = (X^T X + alpha I)^-1 X^T (y - mean y)`,
//! solved through the eigendecomposition `X^T X = V diag(l) V^T`
//! ([`symmetric_eigen`]): every penalty on the grid then costs `O(n F)`.
//!
//! The penalty (unless given) is chosen among [`ALPHA_GRID`] by the lowest
//! mean squared error of held-out predictions:
//!
//! - **leave-one-out** ([`RidgeSelect::Loo`]): exact and cheap through the
//!   hat matrix, `e_i = r_i / (1 - h_ii)` with
//!   `h_ii = 1/n + sum_k (x_i . v_k)^2 / (l_k + alpha)` (scikit-learn's
//!   `RidgeCV` default, reproduced to 1e-9 by the golden test);
//! - **content-grouped inner folds** ([`RidgeSelect::Grouped`]): the
//!   training contents dealt into `k` folds (seeded), each fold predicted
//!   by a ridge fitted on the others. Rows of one content are near
//!   duplicates in most corpora (encodes of one source), so leaving one row
//!   out leaks its content and favours too small a penalty;
//! - [`RidgeSelect::Auto`] (the default): leave-one-out when every content
//!   has a single training row (the two then coincide), grouped folds
//!   otherwise.
//!
//! Predictions are clipped to the MOS range 1-5, as the other heads' are
//! bounded by their sigmoid.

mod flags;
mod head;

pub use flags::{RidgeFlags, RidgeSelectArg};
pub use head::RidgeHead;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::training::compute::eigen::symmetric_eigen;
use crate::training::{Standardizer, TrainError};

/// The penalties searched: `10^-3 .. 10^5` in quarter decades (33 values).
pub const ALPHA_GRID: AlphaGrid = AlphaGrid {
    lo_exp: -3.0,
    hi_exp: 5.0,
    per_decade: 4,
};

/// A log-spaced grid of penalties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlphaGrid {
    /// `log10` of the smallest penalty.
    pub lo_exp: f64,
    /// `log10` of the largest penalty.
    pub hi_exp: f64,
    /// Values per decade.
    pub per_decade: u32,
}

impl AlphaGrid {
    /// The penalties, ascending.
    pub fn values(&self) -> Vec<f64> {
        let steps = ((self.hi_exp - self.lo_exp) * f64::from(self.per_decade)).round() as i64;
        (0..=steps)
            .map(|k| 10f64.powf(self.lo_exp + k as f64 / f64::from(self.per_decade)))
            .collect()
    }
}

/// How the ridge penalty is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RidgeSelect {
    /// Leave-one-out when each content has one row, else grouped folds.
    #[default]
    Auto,
    /// Efficient leave-one-out over rows.
    Loo,
    /// Content-grouped inner folds.
    Grouped,
}

/// The ridge head's requested hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RidgeSpec {
    /// A fixed penalty (skips the search), `> 0`.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// How the penalty is searched when not fixed.
    #[serde(default)]
    pub select: RidgeSelect,
    /// Inner folds of the grouped search.
    pub inner_folds: usize,
}

impl Default for RidgeSpec {
    fn default() -> Self {
        RidgeSpec {
            alpha: None,
            select: RidgeSelect::Auto,
            inner_folds: 5,
        }
    }
}

impl RidgeSpec {
    /// Checks the values.
    pub fn check(&self) -> Result<(), TrainError> {
        if let Some(a) = self.alpha.filter(|a| !(a.is_finite() && *a > 0.0)) {
            return Err(TrainError::Params(format!(
                "ridge penalty {a} must be finite and > 0"
            )));
        }
        if self.inner_folds < 2 {
            return Err(TrainError::Params(format!(
                "ridge inner folds {} must be at least 2",
                self.inner_folds
            )));
        }
        Ok(())
    }
}

/// How a fit chose its penalty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RidgeSelection {
    /// Given by the user.
    Fixed,
    /// Leave-one-out over rows.
    Loo,
    /// Content-grouped inner folds.
    GroupedFolds {
        /// Number of folds.
        k: usize,
    },
}

/// What a ridge fit chose, recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeRecord {
    /// The penalty of the fitted model (on the sum of squared errors).
    pub alpha: f64,
    /// How it was chosen.
    pub selection: RidgeSelection,
    /// The penalties searched (empty when fixed).
    pub grid: Vec<f64>,
    /// Held-out mean squared error of each searched penalty.
    pub cv_mse: Vec<f64>,
}

/// A ridge solution on centred data: eigenvectors, eigenvalues, the
/// projections of the rows and of the target.
struct Decomposed {
    x_mean: Array1<f64>,
    y_mean: f64,
    values: Vec<f64>,
    vectors: Array2<f64>,
    /// `V^T X_c^T y_c`.
    proj_y: Array1<f64>,
}

impl Decomposed {
    fn new(xs: ArrayView2<'_, f64>, ys: &[f64]) -> Result<Decomposed, TrainError> {
        let n = ys.len().max(1) as f64;
        let x_mean = xs.sum_axis(Axis(0)) / n;
        let y_mean = ys.iter().sum::<f64>() / n;
        let xc = &xs - &x_mean;
        let yc = Array1::from_iter(ys.iter().map(|y| y - y_mean));
        let gram = xc.t().dot(&xc);
        let eig = symmetric_eigen(&gram)
            .ok_or_else(|| TrainError::Solver("ridge: non-finite Gram matrix".into()))?;
        let proj_y = eig.vectors.t().dot(&xc.t().dot(&yc));
        Ok(Decomposed {
            x_mean,
            y_mean,
            values: eig.values,
            vectors: eig.vectors,
            proj_y,
        })
    }

    /// Weights and intercept at `alpha`.
    fn solve(&self, alpha: f64) -> (Array1<f64>, f64) {
        let scaled = Array1::from_iter(
            self.proj_y
                .iter()
                .zip(&self.values)
                .map(|(c, l)| c / (l.max(0.0) + alpha)),
        );
        let w = self.vectors.dot(&scaled);
        let b = self.y_mean - self.x_mean.dot(&w);
        (w, b)
    }

    /// Mean squared leave-one-out error at each of `alphas`, on the rows
    /// `xs` / `ys` this decomposition was made from.
    fn loo_mse(&self, xs: ArrayView2<'_, f64>, ys: &[f64], alphas: &[f64]) -> Vec<f64> {
        let n = ys.len() as f64;
        let p = (&xs - &self.x_mean).dot(&self.vectors);
        alphas
            .iter()
            .map(|&alpha| {
                let d: Vec<f64> = self
                    .values
                    .iter()
                    .map(|l| 1.0 / (l.max(0.0) + alpha))
                    .collect();
                let mut sse = 0.0;
                for (row, &y) in p.outer_iter().zip(ys) {
                    let (mut fit, mut h) = (0.0, 1.0 / n);
                    for ((pk, ck), dk) in row.iter().zip(&self.proj_y).zip(&d) {
                        fit += pk * ck * dk;
                        h += pk * pk * dk;
                    }
                    let r = y - self.y_mean - fit;
                    if 1.0 - h <= 1e-12 {
                        return f64::INFINITY;
                    }
                    let e = r / (1.0 - h);
                    sse += e * e;
                }
                sse / n
            })
            .collect()
    }
}

/// A fitted ridge head's parts.
pub struct RidgeFit {
    /// Standardisation of the training rows.
    pub standardizer: Standardizer,
    /// `w` (F) then `b`, on standardised features.
    pub params: Vec<f64>,
    /// What was chosen.
    pub record: RidgeRecord,
}

/// Deals the distinct groups of `idx` into `k` folds (seeded); returns each
/// row's fold.
fn group_folds(groups: &[u32], idx: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let mut distinct: Vec<u32> = idx.iter().map(|&i| groups[i]).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0072_6964_6765);
    rand::seq::SliceRandom::shuffle(distinct.as_mut_slice(), &mut rng);
    let fold_of: std::collections::HashMap<u32, usize> = distinct
        .iter()
        .enumerate()
        .map(|(r, g)| (*g, r % k))
        .collect();
    idx.iter()
        .map(|i| fold_of.get(&groups[*i]).copied().unwrap_or(0))
        .collect()
}

/// Fits the ridge head on the rows `idx` (checked by the caller).
pub fn fit(
    spec: &RidgeSpec,
    x: ArrayView2<'_, f64>,
    y: &[f64],
    groups: &[u32],
    idx: &[usize],
    seed: u64,
) -> Result<RidgeFit, TrainError> {
    spec.check()?;
    let needed = 3;
    if idx.len() < needed {
        return Err(TrainError::TooFew {
            rows: idx.len(),
            needed,
        });
    }
    let standardizer = Standardizer::fit(x, idx);
    let xs = standardizer.apply_rows(x, idx);
    let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
    let full = Decomposed::new(xs.view(), &ys)?;
    let record = match spec.alpha {
        Some(alpha) => RidgeRecord {
            alpha,
            selection: RidgeSelection::Fixed,
            grid: Vec::new(),
            cv_mse: Vec::new(),
        },
        None => {
            let grid = ALPHA_GRID.values();
            let mut distinct: Vec<u32> = idx.iter().map(|&i| groups[i]).collect();
            distinct.sort_unstable();
            distinct.dedup();
            let one_row_each = distinct.len() == idx.len();
            let grouped = match spec.select {
                RidgeSelect::Loo => false,
                RidgeSelect::Grouped => distinct.len() >= 2,
                RidgeSelect::Auto => !one_row_each && distinct.len() >= 2,
            };
            let (selection, cv_mse) = if grouped {
                let k = spec.inner_folds.min(distinct.len());
                let fold = group_folds(groups, idx, k, seed);
                (
                    RidgeSelection::GroupedFolds { k },
                    grouped_mse(xs.view(), &ys, &fold, k, &grid)?,
                )
            } else {
                (RidgeSelection::Loo, full.loo_mse(xs.view(), &ys, &grid))
            };
            // The first penalty with the lowest error (scikit-learn's rule).
            let mut best = 0;
            for (i, m) in cv_mse.iter().enumerate() {
                if *m < cv_mse[best] {
                    best = i;
                }
            }
            RidgeRecord {
                alpha: grid[best],
                selection,
                grid,
                cv_mse,
            }
        }
    };
    let (w, b) = full.solve(record.alpha);
    let mut params = w.to_vec();
    params.push(b);
    if params.iter().any(|v| !v.is_finite()) {
        return Err(TrainError::Solver("ridge: non-finite weights".into()));
    }
    Ok(RidgeFit {
        standardizer,
        params,
        record,
    })
}

/// Pooled held-out mean squared error of each penalty over the inner folds
/// `fold` (one entry per row of `xs`).
fn grouped_mse(
    xs: ArrayView2<'_, f64>,
    ys: &[f64],
    fold: &[usize],
    k: usize,
    alphas: &[f64],
) -> Result<Vec<f64>, TrainError> {
    let mut sse = vec![0.0; alphas.len()];
    for f in 0..k {
        let (train, held): (Vec<usize>, Vec<usize>) = (0..ys.len()).partition(|&i| fold[i] != f);
        if train.is_empty() || held.is_empty() {
            continue;
        }
        let xt = xs.select(Axis(0), &train);
        let yt: Vec<f64> = train.iter().map(|&i| ys[i]).collect();
        let xh = xs.select(Axis(0), &held);
        let d = Decomposed::new(xt.view(), &yt)?;
        for (s, &alpha) in sse.iter_mut().zip(alphas) {
            let (w, b) = d.solve(alpha);
            let pred = xh.dot(&w);
            *s += held
                .iter()
                .zip(pred.iter())
                .map(|(&i, p)| (ys[i] - b - p).powi(2))
                .sum::<f64>();
        }
    }
    Ok(sse.into_iter().map(|s| s / ys.len() as f64).collect())
}

/// The ridge head's raw output `w . x + b` for standardised rows.
pub use super::family::affine as decision;
