//! The SVR head: epsilon-SVR or nu-SVR with an RBF or linear kernel, solved
//! by a port of libsvm's SMO ([`smo`]) so that its support vectors, dual
//! coefficients and `rho` are libsvm's (and scikit-learn's, which wraps
//! libsvm): the golden test checks them to 1e-6.
//!
//! - **Scaling.** Features are scaled on the training rows, min-max to
//!   [0, 1] by default (as VMAF's `linear_rescale` does), or standardised
//!   ([`SvrScaling`]). Either is an affine map `(x - offset) / scale`
//!   recorded as the manifest's standardisation, so libvmaf's
//!   `slopes = 1 / scale` and `intercepts = -offset / scale` are
//!   recoverable.
//! - **Defaults.** `C = 1`, `gamma = 1 / F` (libsvm's default, sensible on
//!   [0, 1]-scaled features), `epsilon = 0.1` (MOS units on 1-5), `nu =
//!   0.5`, tolerance `1e-3` (libsvm's).
//! - **Cost.** The dual has `2 n` variables and kernel rows of `n` values;
//!   kernel rows are computed up front (one evaluation per pair) when all
//!   of them fit [`KERNEL_CACHE_BYTES`], else cached up to it. Time and memory
//!   grow about quadratically with `n`, so at most
//!   [`SvrSpec::max_rows`] training rows (default [`DEFAULT_MAX_ROWS`]) are
//!   used: a larger training set is subsampled (seeded, uniformly) and the
//!   fitted head records how many rows it was fitted on.
//! - **Output.** `sum_i coef_i K(sv_i, x) - rho`, clipped to the MOS range
//!   1-5.
//!
//! Parameter layout in the manifest: `rho`, then the `m` dual coefficients,
//! then the `m` support vectors (each `F` scaled features), row-major;
//! `m = (len - 1) / (F + 1)`.

mod active;
mod flags;
mod head;
pub mod kernel;
mod loops;
pub mod mean;
pub mod smo;

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use flags::{KernelArg, ScalingArg, SvrFlags, SvrTypeArg};
pub use head::{vmaf_recipe, SvrHead, MEAN_OF_WIDTHS, SVR_C, SVR_GAMMA_PER_FEATURE, VMAF_RECIPE};
pub use kernel::KernelKind;
pub use mean::mean;
pub use smo::Formulation;

use crate::training::{Standardizer, TrainError};

/// Default cap on the rows an SVR is fitted on.
pub const DEFAULT_MAX_ROWS: usize = 4000;
/// Memory for cached kernel rows.
pub const KERNEL_CACHE_BYTES: usize = 256 << 20;

/// The smallest SMO stopping tolerance taken. The gap it bounds is a
/// difference of gradients of order 1 (MOS units) summed over up to
/// thousands of kernel terms, whose rounding is around 1e-12; a tolerance
/// below 1e-9 is met by no solve, which then runs to its iteration cap.
pub const MIN_TOL: f64 = 1e-9;

/// The SVR formulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SvrType {
    /// epsilon-SVR (libsvm `epsilon_svr`, scikit-learn `SVR`).
    #[default]
    Epsilon,
    /// nu-SVR (libsvm `nu_svr`, scikit-learn `NuSVR`; VMAF's).
    Nu,
}

/// How features are scaled before the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SvrScaling {
    /// Min-max to [0, 1] on the training rows (a constant column maps to 0).
    #[default]
    Minmax,
    /// z-scores on the training rows.
    Standard,
}

/// The SVR head's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SvrSpec {
    /// epsilon- or nu-SVR.
    pub svm_type: SvrType,
    /// The kernel.
    pub kernel: KernelKind,
    /// The penalty `C`, `> 0`.
    pub c: f64,
    /// The RBF width; `None` is `1 / F`.
    #[serde(default)]
    pub gamma: Option<f64>,
    /// epsilon-SVR's tube half-width, `>= 0`.
    pub epsilon: f64,
    /// nu-SVR's `nu`, in (0, 1].
    pub nu: f64,
    /// SMO stopping tolerance, at least [`MIN_TOL`].
    pub tol: f64,
    /// Feature scaling.
    pub scaling: SvrScaling,
    /// Most training rows fitted (a seeded subsample above it), `>= 2`.
    pub max_rows: usize,
    /// libsvm's shrinking (its default, `-h 1`; [`smo::Stop::shrinking`]).
    /// Off, the solver takes libsvm's exact path without shrinking (what
    /// the golden test compares with scikit-learn's `shrinking=False`).
    #[serde(default = "shrinking_default")]
    pub shrinking: bool,
}

/// Whether `b` is `false` (a flag left out of the JSON).
fn is_false(b: &bool) -> bool {
    !*b
}

/// [`SvrSpec::shrinking`]'s default (a spec written without it).
fn shrinking_default() -> bool {
    true
}

impl Default for SvrSpec {
    fn default() -> Self {
        SvrSpec {
            svm_type: SvrType::Epsilon,
            kernel: KernelKind::Rbf,
            c: 1.0,
            gamma: None,
            epsilon: 0.1,
            nu: 0.5,
            tol: 1e-3,
            scaling: SvrScaling::Minmax,
            max_rows: DEFAULT_MAX_ROWS,
            shrinking: true,
        }
    }
}

/// A value as a refusal shows it: plain where that is short, in
/// scientific notation otherwise (`1e-300`, never 300 digits).
fn shown(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

impl SvrSpec {
    /// Checks the values.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::Params(what));
        if !(self.c.is_finite() && self.c > 0.0) {
            return bad(format!("SVR C {} must be finite and > 0", shown(self.c)));
        }
        if let Some(g) = self.gamma.filter(|g| !(g.is_finite() && *g > 0.0)) {
            return bad(format!("SVR gamma {} must be finite and > 0", shown(g)));
        }
        if !(self.epsilon.is_finite() && self.epsilon >= 0.0) {
            return bad(format!(
                "SVR epsilon {} must be finite and >= 0",
                shown(self.epsilon)
            ));
        }
        if !(self.nu > 0.0 && self.nu <= 1.0) {
            return bad(format!("SVR nu {} must be in (0, 1]", shown(self.nu)));
        }
        if !(self.tol.is_finite() && self.tol >= MIN_TOL) {
            return bad(format!(
                "SVR tolerance {} must be finite and at least {MIN_TOL:e} (a smaller gap is rounding noise in the gradients: no solve meets it, and every one would run to its iteration cap)",
                shown(self.tol)
            ));
        }
        if self.max_rows < 2 {
            return bad(format!("SVR max rows {} must be at least 2", self.max_rows));
        }
        Ok(())
    }

    /// The candidate grid of model selection around this spec: `C` in
    /// `2^{-1, 1, 3, 5}` times `gamma` in `2^{-2, 0, 2} / F` (the RBF
    /// kernel; the linear kernel varies `C` only), the rest as given.
    pub fn grid(&self, f: usize) -> Vec<SvrSpec> {
        let base_gamma = 1.0 / f.max(1) as f64;
        let gammas: Vec<Option<f64>> = match self.kernel {
            KernelKind::Rbf => [0.25, 1.0, 4.0]
                .iter()
                .map(|m| Some(m * base_gamma))
                .collect(),
            KernelKind::Linear => vec![self.gamma],
        };
        let mut out = Vec::new();
        for c in [0.5, 2.0, 8.0, 32.0] {
            for g in &gammas {
                out.push(SvrSpec {
                    c,
                    gamma: *g,
                    ..*self
                });
            }
        }
        out
    }
}

/// What an SVR fit ran with, recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvrRecord {
    /// epsilon- or nu-SVR.
    pub svm_type: SvrType,
    /// The kernel.
    pub kernel: KernelKind,
    /// The penalty.
    pub c: f64,
    /// The RBF width used.
    pub gamma: f64,
    /// The tube half-width (given for epsilon-SVR, found for nu-SVR).
    pub epsilon: f64,
    /// nu (nu-SVR only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nu: Option<f64>,
    /// The stopping tolerance.
    pub tol: f64,
    /// The feature scaling.
    pub scaling: SvrScaling,
    /// The row cap.
    pub max_rows: usize,
    /// Whether the solve ran with libsvm's shrinking enabled (written only
    /// when it did: absent in manifests written before shrinking, whose
    /// solves did not shrink).
    #[serde(default, skip_serializing_if = "is_false")]
    pub shrinking: bool,
    /// Support vectors.
    pub n_support: usize,
    /// A mean of SVRs of different RBF widths ([`mod@mean`]): every member's
    /// settings, in the order of their support vectors in the parameters
    /// (`c`, `gamma` and `epsilon` above are the first member's). Empty
    /// for a single SVR.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<SvrMember>,
}

/// One member of a mean of SVRs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvrMember {
    /// Its penalty.
    pub c: f64,
    /// Its RBF width.
    pub gamma: f64,
    /// Its tube half-width.
    pub epsilon: f64,
    /// Its support vectors (a consecutive block of the head's).
    pub n_support: usize,
}

impl SvrRecord {
    /// Checks the settings a manifest records for what prediction and the
    /// exports use: every RBF width finite and positive (a zero width is a
    /// constant kernel, a negative one grows without bound), a nu-SVR's
    /// `nu` present and in (0, 1]. Zero support vectors stay allowed: a
    /// tube wider than the targets fits no vector, and the head predicts
    /// the constant `-rho`, as libsvm's does.
    pub fn check(&self) -> Result<(), String> {
        if self.kernel == KernelKind::Rbf {
            for (g, _) in self.widths() {
                if !(g.is_finite() && g > 0.0) {
                    return Err(format!("SVR gamma {g} must be finite and > 0"));
                }
            }
        }
        if self.svm_type == SvrType::Nu && !self.nu.is_some_and(|nu| nu > 0.0 && nu <= 1.0) {
            return Err(match self.nu {
                Some(nu) => format!("nu-SVR records nu {nu}, not in (0, 1]"),
                None => "a nu-SVR without its `nu`".to_owned(),
            });
        }
        Ok(())
    }

    /// `(gamma, support vectors)` per block of support vectors: one block
    /// for a single SVR, one per member for a mean.
    pub fn widths(&self) -> Vec<(f64, usize)> {
        if self.members.is_empty() {
            vec![(self.gamma, self.n_support)]
        } else {
            self.members
                .iter()
                .map(|m| (m.gamma, m.n_support))
                .collect()
        }
    }
}

/// A fitted SVR's parts.
pub struct SvrFit {
    /// The feature scaling.
    pub standardizer: Standardizer,
    /// `rho`, coefficients, support vectors (see the module documentation).
    pub params: Vec<f64>,
    /// What it ran with.
    pub record: SvrRecord,
    /// The solve.
    pub solution: smo::Solution,
    /// Rows fitted (after the cap).
    pub rows: usize,
}

/// Min-max scaling of the rows `idx` of `x` as `(x - min) / (max - min)`.
pub fn minmax(x: ArrayView2<'_, f64>, idx: &[usize]) -> Standardizer {
    let f = x.ncols();
    let (mut lo, mut hi) = (vec![f64::INFINITY; f], vec![f64::NEG_INFINITY; f]);
    for &i in idx {
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(x.row(i)) {
            *l = l.min(*v);
            *h = h.max(*v);
        }
    }
    let std = lo
        .iter()
        .zip(&hi)
        .map(|(l, h)| {
            let r = h - l;
            if r > 1e-12 && r.is_finite() {
                r
            } else {
                1.0
            }
        })
        .collect();
    let mean = lo
        .iter()
        .map(|l| if l.is_finite() { *l } else { 0.0 })
        .collect();
    Standardizer { mean, std }
}

/// The rows an SVR is fitted on: all of `idx`, or a seeded uniform
/// subsample of `max_rows` of them (in their original order).
pub(crate) fn capped(idx: &[usize], max_rows: usize, seed: u64) -> Vec<usize> {
    if idx.len() <= max_rows {
        return idx.to_vec();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0073_7672);
    let mut pick = rand::seq::index::sample(&mut rng, idx.len(), max_rows).into_vec();
    pick.sort_unstable();
    pick.into_iter().map(|k| idx[k]).collect()
}

/// Fits the SVR `spec` on the rows `idx` (checked by the caller).
pub fn fit(
    spec: &SvrSpec,
    x: ArrayView2<'_, f64>,
    y: &[f64],
    idx: &[usize],
    seed: u64,
) -> Result<SvrFit, TrainError> {
    spec.check()?;
    if idx.len() < 2 {
        return Err(TrainError::TooFew {
            rows: idx.len(),
            needed: 2,
        });
    }
    let rows = capped(idx, spec.max_rows, seed);
    let standardizer = match spec.scaling {
        SvrScaling::Minmax => minmax(x, &rows),
        SvrScaling::Standard => Standardizer::fit(x, &rows),
    };
    let xs = standardizer.apply_rows(x, &rows);
    let ys: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
    let f = x.ncols();
    let gamma = spec.gamma.unwrap_or(1.0 / f.max(1) as f64);
    let form = match spec.svm_type {
        SvrType::Epsilon => Formulation::Epsilon {
            epsilon: spec.epsilon,
        },
        SvrType::Nu => Formulation::Nu { nu: spec.nu },
    };
    // Every row up front when they fit the budget (one evaluation per
    // pair, in parallel; a large-C solve reads nearly every row), else
    // computed as the solver asks for them. The same values either way.
    let n = ys.len();
    let mut cache = if n
        .saturating_mul(n)
        .saturating_mul(std::mem::size_of::<f32>())
        <= KERNEL_CACHE_BYTES
    {
        kernel::RowCache::symmetric(&xs, spec.kernel, gamma)
    } else {
        kernel::RowCache::new(&xs, spec.kernel, gamma, KERNEL_CACHE_BYTES)
    };
    let stop = smo::Stop {
        tol: spec.tol,
        shrinking: spec.shrinking,
    };
    let solution = smo::solve(&mut cache, &ys, spec.c, form, stop);
    let support: Vec<usize> = (0..ys.len()).filter(|&i| solution.coef[i] != 0.0).collect();
    let mut params = Vec::with_capacity(1 + support.len() * (f + 1));
    params.push(solution.rho);
    params.extend(support.iter().map(|&i| solution.coef[i]));
    for &i in &support {
        params.extend(xs.row(i).iter());
    }
    if params.iter().any(|v| !v.is_finite()) {
        return Err(TrainError::Solver("SVR: non-finite solution".into()));
    }
    Ok(SvrFit {
        standardizer,
        params,
        record: SvrRecord {
            svm_type: spec.svm_type,
            kernel: spec.kernel,
            c: spec.c,
            gamma,
            epsilon: solution.epsilon,
            nu: (spec.svm_type == SvrType::Nu).then_some(spec.nu),
            tol: spec.tol,
            scaling: spec.scaling,
            max_rows: spec.max_rows,
            shrinking: spec.shrinking,
            n_support: support.len(),
            members: Vec::new(),
        },
        solution,
        rows: rows.len(),
    })
}

/// The parts of the flat parameters: `(rho, coefficients, support vectors)`;
/// `None` when the length does not fit `f` features.
pub fn unpack(params: &[f64], f: usize) -> Option<(f64, &[f64], ArrayView2<'_, f64>)> {
    let (&rho, rest) = params.split_first()?;
    if rest.len() % (f + 1) != 0 {
        return None;
    }
    let m = rest.len() / (f + 1);
    let (coef, sv) = rest.split_at(m);
    let sv = ArrayView2::from_shape((m, f), sv).ok()?;
    Some((rho, coef, sv))
}

/// The raw decision values `sum_i coef_i K(sv_i, x) - rho` for scaled rows
/// (NaN when the parameters do not fit); `widths` gives the RBF width of
/// each block of support vectors ([`SvrRecord::widths`]; the linear kernel
/// ignores it).
pub fn decision(
    params: &[f64],
    kernel: KernelKind,
    widths: &[(f64, usize)],
    xs: ArrayView2<'_, f64>,
) -> Vec<f64> {
    let Some((rho, coef, sv)) = unpack(params, xs.ncols()) else {
        return vec![f64::NAN; xs.nrows()];
    };
    let gamma: Vec<f64> = widths
        .iter()
        .flat_map(|&(g, m)| std::iter::repeat_n(g, m))
        .collect();
    if gamma.len() != coef.len() {
        return vec![f64::NAN; xs.nrows()];
    }
    let rows: Vec<ndarray::ArrayView1<'_, f64>> = xs.axis_iter(Axis(0)).collect();
    use rayon::prelude::*;
    rows.par_iter()
        .map(|x| {
            coef.iter()
                .zip(&gamma)
                .zip(sv.outer_iter())
                .map(|((c, g), s)| c * kernel.eval(*g, s, *x))
                .sum::<f64>()
                - rho
        })
        .collect()
}

/// The support vectors as a matrix (for exports).
pub fn support_vectors(params: &[f64], f: usize) -> Option<Array2<f64>> {
    unpack(params, f).map(|(_, _, sv)| sv.to_owned())
}
