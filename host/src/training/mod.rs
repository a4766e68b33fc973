//! Training: heads ([`heads`]), standardisation and the argmin solve.
//!
//! One interface for every head, linfa-style: a [`HeadSpec`] (the checked
//! hyper-parameters) is fitted on rows into a [`FittedHead`], which predicts.
//!
//! The objective is `mean((y_hat - y)^2) + weight_decay * sum(w^2)` over the
//! hidden-layer weights (not biases, not the MLP's linear skip path),
//! minimised full-batch with argmin's L-BFGS and a More-Thuente line search. Full-batch L-BFGS drives the
//! *training* loss down relentlessly and overfits small corpora, so two
//! things keep held-out accuracy, not training loss, in charge:
//!
//! - a warm start: the MLP begins at the bounded linear fit of the same
//!   rows (through its skip path), so early stopping can never leave it
//!   worse off than where the linear model already is on the training data;
//! - weight decay on the hidden layers that shrinks as the corpus grows:
//!   by default `min(1e-4, 1 / n)` for `n` training rows
//!   ([`MLP_DECAY_PER_ROW`], [`MLP_DECAY_MAX`]). `1 / n` is the
//!   maximum-a-posteriori penalty of a fixed Gaussian prior on each weight
//!   (with the mean-squared-error objective, a prior that stays the same
//!   costs `sigma^2 / (tau^2 n)`; `sigma^2 / tau^2 = 1` puts the prior's
//!   variance at the residual variance of MOS, ~0.1 on a 1-5 scale). The
//!   fixed 1e-4 it replaced was too strong for a large corpus: measured
//!   with `moshead bench train` on the KonVid-150k-sized corpus (123k
//!   training rows per fold) it stopped the MLP after ~20 iterations at
//!   held-out PLCC 0.9069, behind the prior art's AdamW recipe (0.9076),
//!   while `1 / n` (8e-6) reached PLCC 0.9077 and RMSE 0.3142 vs 0.3151
//!   (3e-6, 1e-5 and patience 40 gave the same to four decimals). The cap
//!   keeps small corpora where they were: above 1e-4 the penalty on the
//!   randomly initialised hidden weights outweighs a small corpus's error
//!   at the start and the solve spends its first iterations shrinking them
//!   (600-row demo corpus: `1 / n` = 2.2e-3 gave held-out PLCC 0.8357,
//!   1e-4 gave 0.8737; a CHUG-sized corpus did not move between 3e-5 and
//!   1e-3);
//! - early stopping on a **monitor** set: 10 % of the training *contents*
//!   (never rows of a content on both sides) are held out of the solve; the
//!   parameters with the lowest monitor loss are kept, and the solve stops
//!   when the monitor loss has not improved for `patience` iterations. The
//!   evaluation rows of a fold are never seen.
//!
//! Every solve records iterations, evaluation counts, the loss per
//! iteration and argmin's termination reason; a solve that did not converge
//! or stop early is reported as such.

pub mod adamw;
pub mod fastmath;
pub mod heads;
pub mod limits;
mod matmul;
pub(crate) mod memo;
mod solver;

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use heads::{HeadKind, Model, Precision};
pub use solver::SolveReport;

use crate::progress::Progress;

/// Errors of training.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// No rows to train on.
    #[error("no training rows")]
    Empty,
    /// Too few rows for the parameters requested.
    #[error("{rows} training rows are too few (at least {needed} needed)")]
    TooFew {
        /// Rows available.
        rows: usize,
        /// Rows needed.
        needed: usize,
    },
    /// Every MOS is the same value.
    #[error("every training MOS equals {0}: there is nothing to learn")]
    ConstantMos(f64),
    /// A feature or MOS is not finite.
    #[error("non-finite value in training row {row} ({what})")]
    NonFinite {
        /// The row index.
        row: usize,
        /// Which value.
        what: String,
    },
    /// The hyper-parameters are invalid.
    #[error("invalid hyper-parameters: {0}")]
    Params(String),
    /// The optimiser failed outright.
    #[error("solver failed: {0}")]
    Solver(String),
}

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

/// The MLP's default weight decay times the number of training rows.
pub const MLP_DECAY_PER_ROW: f64 = 1.0;
/// The MLP's largest default weight decay (reached below 10,000 rows).
pub const MLP_DECAY_MAX: f64 = 1e-4;

/// Hyper-parameters of a head and its solve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// The head type.
    #[serde(rename = "type")]
    pub kind: HeadKind,
    /// Width of each hidden layer (MLP only).
    pub hidden: usize,
    /// L2 penalty on weights; `None` picks it from the number of training
    /// rows at fit time ([`HeadSpec::default_decay`]) and the fitted head
    /// records the value used.
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// L-BFGS iteration cap.
    pub max_iters: u64,
    /// L-BFGS memory (correction pairs kept). The default, 40, is large
    /// for L-BFGS but cheap here (a few thousand parameters; each pair
    /// costs two vectors and one dot product per iteration): measured on
    /// the KonVid-150k-sized corpus, it cut the iterations of a 5-fold run
    /// plus ship model from 861 (memory 10) and 743 (20) to 589, with the
    /// same held-out metrics; 80 gave no further gain.
    pub lbfgs_memory: usize,
    /// Iterations without monitor improvement before stopping.
    pub patience: u64,
    /// Fraction of training contents held out as the monitor set (0 disables).
    pub monitor_fraction: f64,
    /// The MLP's arithmetic; `None` picks by corpus size at fit time
    /// ([`Precision::auto`]) and the fitted head records the choice.
    #[serde(default)]
    pub precision: Option<Precision>,
}

impl HeadSpec {
    /// The defaults for `kind`.
    pub fn new(kind: HeadKind) -> Self {
        HeadSpec {
            kind,
            hidden: 64,
            weight_decay: None,
            max_iters: match kind {
                HeadKind::Mlp => 400,
                HeadKind::Linear => 200,
            },
            lbfgs_memory: 40,
            patience: 20,
            monitor_fraction: 0.1,
            precision: None,
        }
    }

    fn check(&self) -> Result<(), TrainError> {
        if let Some(d) = self.weight_decay.filter(|d| !(d.is_finite() && *d >= 0.0)) {
            return Err(TrainError::Params(format!(
                "weight decay {d} must be finite and >= 0"
            )));
        }
        if self.hidden == 0 && self.kind == HeadKind::Mlp {
            return Err(TrainError::Params("hidden width must be positive".into()));
        }
        if self.max_iters == 0 || self.lbfgs_memory == 0 {
            return Err(TrainError::Params(
                "max_iters and lbfgs_memory must be positive".into(),
            ));
        }
        if !(0.0..0.5).contains(&self.monitor_fraction) {
            return Err(TrainError::Params(format!(
                "monitor fraction {} must be in [0, 0.5)",
                self.monitor_fraction
            )));
        }
        Ok(())
    }

    /// The model this spec describes, for `f` features.
    pub fn model(&self, f: usize) -> std::sync::Arc<dyn Model> {
        heads::model(
            self.kind,
            f,
            self.hidden,
            self.precision.unwrap_or_default(),
        )
    }

    /// The default weight decay of a fit on `rows` rows: `min(1e-4, 1 /
    /// rows)` for the MLP (see the module documentation), a fixed 1e-6 for
    /// the linear head
    /// (11-40 weights against thousands of rows; the penalty only keeps
    /// collinear features from trading off without bound).
    pub fn default_decay(kind: HeadKind, rows: usize) -> f64 {
        match kind {
            HeadKind::Mlp => (MLP_DECAY_PER_ROW / rows.max(1) as f64).min(MLP_DECAY_MAX),
            HeadKind::Linear => 1e-6,
        }
    }

    /// This spec with its weight decay and precision resolved for a fit on
    /// `rows` rows.
    pub fn resolved(&self, rows: usize) -> HeadSpec {
        let mut s = self.clone();
        s.weight_decay = Some(
            self.weight_decay
                .unwrap_or_else(|| Self::default_decay(self.kind, rows)),
        );
        if self.kind == HeadKind::Mlp {
            s.precision = Some(self.precision.unwrap_or_else(|| Precision::auto(rows)));
        } else {
            s.precision = Some(Precision::F64);
        }
        s
    }

    /// Fits on the rows `idx` of `x` / `y`, grouped by `groups` for the
    /// monitor split, with `seed` for initialisation and the monitor split.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        groups: &[u32],
        idx: &[usize],
        seed: u64,
        progress: &Progress,
    ) -> Result<FittedHead, TrainError> {
        self.check()?;
        if idx.is_empty() {
            return Err(TrainError::Empty);
        }
        let spec = self.resolved(idx.len());
        for &i in idx {
            if !y[i].is_finite() {
                return Err(TrainError::NonFinite {
                    row: i,
                    what: "MOS".into(),
                });
            }
            if let Some(j) = x.row(i).iter().position(|v| !v.is_finite()) {
                return Err(TrainError::NonFinite {
                    row: i,
                    what: format!("feature column {j}"),
                });
            }
        }
        if idx.iter().all(|&i| y[i] == y[idx[0]]) {
            return Err(TrainError::ConstantMos(y[idx[0]]));
        }
        let f = x.ncols();
        let model = spec.model(f);
        let needed = 8;
        if idx.len() < needed {
            return Err(TrainError::TooFew {
                rows: idx.len(),
                needed,
            });
        }
        let standardizer = Standardizer::fit(x, idx);
        let (fit_idx, monitor_idx) = monitor_split(groups, idx, self.monitor_fraction, seed);
        let xs = standardizer.apply_rows(x, &fit_idx);
        let ys: Vec<f64> = fit_idx.iter().map(|&i| y[i]).collect();
        let monitor = (!monitor_idx.is_empty()).then(|| {
            std::sync::Arc::new((
                standardizer.apply_rows(x, &monitor_idx),
                monitor_idx.iter().map(|&i| y[i]).collect::<Vec<f64>>(),
            ))
        });
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut init = model.init(&mut rng, mean);
        if spec.kind == HeadKind::Mlp {
            // Warm start: the MLP begins at the bounded linear fit of the
            // same rows (its skip path), with small hidden-to-output weights.
            let linear_spec = HeadSpec::new(HeadKind::Linear).resolved(fit_idx.len());
            let linear = heads::Linear { f };
            let lin_init = linear.init(&mut ChaCha8Rng::seed_from_u64(seed), mean);
            let (w, _) = solver::solve(
                std::sync::Arc::new(linear),
                &linear_spec,
                &xs,
                &ys,
                None,
                lin_init,
                &Progress::hidden(),
            )?;
            let mlp = heads::Mlp {
                f,
                h1: spec.hidden,
                h2: spec.hidden,
                precision: spec.precision.unwrap_or_default(),
            };
            mlp.set_linear_part(&mut init, &w[..f], w[f]);
        }
        let (params, solve) = solver::solve(model, &spec, &xs, &ys, monitor, init, progress)?;
        Ok(FittedHead {
            spec,
            standardizer,
            params,
            solve,
            n_fit: fit_idx.len(),
            n_monitor: monitor_idx.len(),
        })
    }
}

impl HeadSpec {
    /// Fits with the prior art's recipe ([`adamw::AdamW`]) instead of
    /// L-BFGS: every row of `idx` is fitted (no monitor set), for a fixed
    /// number of epochs. For comparisons (`moshead bench train`).
    pub fn fit_adamw(
        &self,
        recipe: &adamw::AdamW,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        idx: &[usize],
        seed: u64,
    ) -> Result<FittedHead, TrainError> {
        self.check()?;
        if idx.is_empty() {
            return Err(TrainError::Empty);
        }
        let spec = self.resolved(idx.len());
        let model = spec.model(x.ncols());
        let standardizer = Standardizer::fit(x, idx);
        let xs = standardizer.apply_rows(x, idx);
        let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let init = model.init(&mut ChaCha8Rng::seed_from_u64(seed), mean);
        let params = recipe.train(model.as_ref(), &xs, &ys, init, seed);
        Ok(FittedHead {
            spec,
            standardizer,
            params,
            solve: SolveReport {
                solver: format!(
                    "AdamW lr {} wd {} batch {} x {} epochs",
                    recipe.lr, recipe.weight_decay, recipe.batch, recipe.epochs
                ),
                weight_decay: Some(recipe.weight_decay),
                iterations: recipe.epochs as u64,
                cost_evals: 0,
                gradient_evals: (recipe.epochs * idx.len().div_ceil(recipe.batch)) as u64,
                termination: "fixed epochs".into(),
                converged: false,
                best_iteration: recipe.epochs as u64,
                loss: Vec::new(),
                monitor_loss: Vec::new(),
            },
            n_fit: idx.len(),
            n_monitor: 0,
        })
    }
}

/// Splits `idx` into fit and monitor rows by content group: a seeded hash of
/// the group id decides, so whole contents go one way. Disabled (everything
/// fits) when the fraction is 0 or fewer than 10 groups are present.
fn monitor_split(
    groups: &[u32],
    idx: &[usize],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut distinct: Vec<u32> = idx.iter().map(|&i| groups[i]).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if fraction <= 0.0 || distinct.len() < 10 {
        return (idx.to_vec(), Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_6f6e_6974_6f72);
    let mut order = distinct.clone();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
    let take = ((distinct.len() as f64 * fraction).round() as usize).max(1);
    let held: std::collections::HashSet<u32> = order[..take].iter().copied().collect();
    idx.iter().partition(|&&i| !held.contains(&groups[i]))
}

/// A trained head: the spec it was fitted with, the training-set
/// standardisation, the parameters and the solve report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedHead {
    /// The hyper-parameters.
    pub spec: HeadSpec,
    /// Standardisation of the training rows.
    pub standardizer: Standardizer,
    /// The flat parameter vector.
    pub params: Vec<f64>,
    /// How the solve went.
    pub solve: SolveReport,
    /// Rows the solver fitted.
    pub n_fit: usize,
    /// Rows held out as the monitor set.
    pub n_monitor: usize,
}

impl FittedHead {
    /// Predicts MOS (1-5) for every row of raw (unstandardised) `x`.
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        let all: Vec<usize> = (0..x.nrows()).collect();
        self.predict_rows(x, &all)
    }

    /// Predicts MOS for the rows `idx` of raw `x`.
    pub fn predict_rows(&self, x: ArrayView2<'_, f64>, idx: &[usize]) -> Vec<f64> {
        let model = self.spec.model(x.ncols());
        let xs = self.standardizer.apply_rows(x, idx);
        solver::predict_chunked(model.as_ref(), &self.params, &xs)
    }

    /// Checks that the parameters fit the head type and feature count
    /// (guards hand-edited manifests).
    pub fn check_shape(&self, features: usize) -> Result<(), String> {
        let want = self.spec.model(features).n_params();
        if self.params.len() != want {
            return Err(format!(
                "{} head over {features} features needs {want} parameters, found {}",
                self.spec.kind.as_str(),
                self.params.len()
            ));
        }
        if self.standardizer.mean.len() != features || self.standardizer.std.len() != features {
            return Err(format!("standardisation does not have {features} columns"));
        }
        if self
            .params
            .iter()
            .chain(&self.standardizer.mean)
            .chain(&self.standardizer.std)
            .any(|v| !v.is_finite())
        {
            return Err("non-finite parameter".into());
        }
        if self.standardizer.std.iter().any(|s| *s <= 0.0) {
            return Err("non-positive standard deviation".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_decay_is_one_over_rows_capped_for_the_mlp() {
        let mlp = HeadSpec::new(HeadKind::Mlp);
        assert_eq!(mlp.weight_decay, None, "resolved at fit time");
        assert_eq!(mlp.resolved(600).weight_decay, Some(MLP_DECAY_MAX));
        assert_eq!(mlp.resolved(10_000).weight_decay, Some(1e-4));
        assert_eq!(mlp.resolved(200_000).weight_decay, Some(5e-6));
        let linear = HeadSpec::new(HeadKind::Linear);
        assert_eq!(linear.resolved(200_000).weight_decay, Some(1e-6));
        let explicit = HeadSpec {
            weight_decay: Some(3e-5),
            ..mlp
        };
        assert_eq!(explicit.resolved(200_000).weight_decay, Some(3e-5));
    }
}
