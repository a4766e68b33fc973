//! The one trait every head implements ([`Head`]), and the head-neutral
//! shapes it answers in: the rows of a fit ([`Rows`]), the graph an ONNX
//! export builds ([`Form`]) and the libsvm model a libvmaf export writes
//! ([`Libsvm`]).
//!
//! The flow is linfa's `Params -> check -> Fit -> Predict`: a
//! [`super::super::HeadSpec`] holds the requested hyper-parameters,
//! [`Head::check`] validates them, [`Head::fit`] turns them and the rows
//! into a [`FittedHead`], and [`Head::predict`] scores rows with it. The
//! rest of the host asks a head (through [`super::HeadKind::head`]) for what
//! it needs instead of matching on its kind; the optional capabilities (an
//! iterative solve with a loss curve, a libvmaf model, a card summary) have
//! defaults that say "not supported".

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};

use super::candidate::{Candidate, Rank};
use super::{Model, Precision};
use crate::training::{
    gradient, solver, FittedHead, HeadSpec, ResolvedSpec, SolveReport, Status, Termination,
    TrainError, MOS_RANGE,
};

/// The rows of one fit: rows `idx` of `x` / `y`, grouped by `groups` (for a
/// head's inner splits), with `seed` for initialisation and splits. The
/// caller has checked them (finite, a MOS that varies, `idx` not empty).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// Raw (unstandardised) features, one row per clip.
    pub x: ArrayView2<'a, f64>,
    /// MOS on 1-5, one per row of `x`.
    pub y: &'a [f64],
    /// Content group of each row of `x`.
    pub groups: &'a [u32],
    /// The rows to fit on.
    pub idx: &'a [usize],
    /// The seed of initialisation and inner splits.
    pub seed: u64,
}

/// A fitted head as the graph the ONNX export builds from the standardised
/// features `x_std` (see `export::onnx`). Each variant is a graph shape, not
/// a head: a new head picks the one it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// `1 + 4 sigmoid(z)` of dense tanh layers with a linear skip path from
    /// the standardised features to the output.
    Dense {
        /// Hidden layers `(weights out x in, bias, out)`; empty for a
        /// single affine map.
        hidden: Vec<(Vec<f64>, Vec<f64>, usize)>,
        /// Output weights over `[last hidden, standardised features]`.
        out_w: Vec<f64>,
        /// Output bias.
        out_b: f64,
    },
    /// `w . x_std + b`, clipped to the MOS range.
    Affine {
        /// One weight per feature.
        w: Vec<f64>,
        /// The bias.
        b: f64,
    },
    /// A kernel expansion `sum_i coef_i K(x_std, sv_i) - rho`, clipped to
    /// the MOS range.
    Expansion {
        /// The offset subtracted.
        rho: f64,
        /// One coefficient per support vector (at least one).
        coef: Vec<f64>,
        /// The support vectors, row-major, `coef.len()` x features.
        sv: Vec<f64>,
        /// The kernel.
        kernel: KernelForm,
    },
}

/// The kernel of a [`Form::Expansion`].
#[derive(Debug, Clone, PartialEq)]
pub enum KernelForm {
    /// `exp(-gamma |x - sv|^2)`: one width for every support vector, or
    /// one per support vector.
    Rbf(Widths),
    /// `x . sv`.
    Linear,
}

/// The RBF widths of a [`KernelForm::Rbf`].
#[derive(Debug, Clone, PartialEq)]
pub enum Widths {
    /// One gamma for every support vector.
    One(f64),
    /// One gamma per support vector.
    Each(Vec<f64>),
}

/// A head as one libsvm model for libvmaf (`LIBSVMNUSVR`): its model text's
/// parts and the hyper-parameters its `param_dict` records.
#[derive(Debug, Clone, PartialEq)]
pub struct Libsvm {
    /// libsvm's `svm_type`.
    pub svm_type: &'static str,
    /// libsvm's `kernel_type` (`linear` or `rbf`).
    pub kernel: &'static str,
    /// The RBF width (written for the `rbf` kernel only).
    pub gamma: f64,
    /// The offset subtracted.
    pub rho: f64,
    /// One coefficient per support vector.
    pub coef: Vec<f64>,
    /// The support vectors, row-major.
    pub sv: Vec<f64>,
    /// `param_dict`'s `C`.
    pub c: Option<f64>,
    /// `param_dict`'s `gamma`.
    pub param_gamma: Option<f64>,
    /// `param_dict`'s `nu`.
    pub nu: Option<f64>,
    /// `param_dict`'s `epsilon`.
    pub epsilon: Option<f64>,
    /// `param_dict`'s `ridge_alpha`.
    pub ridge_alpha: Option<f64>,
}

/// Why libvmaf cannot evaluate a head, in the words of the export's
/// refusal: `libvmaf cannot evaluate the {head} head: {why}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibvmafRefusal {
    /// The head as named in the message.
    pub head: &'static str,
    /// The reason.
    pub why: &'static str,
}

/// A head type: its defaults, checks, fit, predictions, shape, summary and
/// exports. Implemented once per head in `training/heads/<name>/` and listed
/// once in [`super::HeadKind`]'s list.
pub trait Head: Send + Sync {
    /// The head's name, as `--head` takes it and the manifest records it.
    fn name(&self) -> &'static str;

    /// One line for `--head`'s help.
    fn about(&self) -> &'static str;

    /// The default iteration cap.
    fn default_max_iters(&self) -> u64 {
        200
    }

    /// The weight decay a fit on `rows` rows uses when none is given (0:
    /// the head has none, or chooses its own).
    fn default_decay(&self, _rows: usize) -> f64 {
        0.0
    }

    /// The arithmetic of a fit on `rows` rows, given the requested one
    /// (only the MLP has a choice; every other head computes in `f64`).
    fn precision(&self, _requested: Option<Precision>, _rows: usize) -> Precision {
        Precision::F64
    }

    /// Checks the head's own hyper-parameters (values, not data); the shared
    /// ones are checked by [`HeadSpec::check`].
    fn check(&self, _spec: &HeadSpec) -> Result<(), TrainError> {
        Ok(())
    }

    /// Whether validation fits this head, with its defaults, beside every
    /// other head as a baseline on each fold (the linear and ridge heads:
    /// a head that cannot beat them has learnt little).
    fn baseline(&self) -> bool {
        false
    }

    /// The candidates `--head auto` tries of this head, each with its
    /// [`Rank`] in auto's list (none by default: the head is offered only
    /// by name).
    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        Vec::new()
    }

    /// Whether auto fits this head's candidates from the selection's capped,
    /// seeded sample of rows (a kernel head, whose cost grows with the rows
    /// squared, sharing kernel matrices between candidates), and refits a
    /// winner on that sample.
    fn sampled_in_selection(&self) -> bool {
        false
    }

    /// One head that predicts the mean of `fits` (heads of this type), for
    /// a candidate that is a mean of widths; refused by default.
    fn mean_of(&self, _fits: &[FittedHead]) -> Result<FittedHead, TrainError> {
        Err(TrainError::Params(format!(
            "the {} head has no mean of several fits",
            self.name()
        )))
    }

    /// Further baselines of this head type, `(name, spec)`, fitted on each
    /// fold beside [`Head::baseline`]'s (a published recipe, say); none by
    /// default.
    fn extra_baselines(&self) -> Vec<(&'static str, HeadSpec)> {
        Vec::new()
    }

    /// Whether the head is fitted by an iterative solve with a loss curve
    /// (the L-BFGS solve of a [`Model`]), so iteration caps, early stopping
    /// and loss plots apply to it.
    fn iterative(&self) -> bool {
        false
    }

    /// The differentiable model of `spec` over `f` features, for heads
    /// fitted by the L-BFGS solve.
    fn model(&self, _spec: &ResolvedSpec, _f: usize) -> Option<Arc<dyn Model>> {
        None
    }

    /// Sets the starting point `init` of an L-BFGS solve on the standardised
    /// rows `xs` / `ys` (mean MOS `mean`), which the model's seeded
    /// initialisation gave; the default keeps it.
    fn warm_start(
        &self,
        _spec: &ResolvedSpec,
        _xs: &Array2<f64>,
        _ys: &[f64],
        _mean: f64,
        _seed: u64,
        _init: &mut [f64],
    ) -> Result<(), TrainError> {
        Ok(())
    }

    /// Fits `spec` (the request, checked) on `rows`; `resolved` is its
    /// resolution for these rows, which the fitted head records (a head may
    /// complete it, e.g. with the penalty it chose). The default is the
    /// L-BFGS solve of [`Head::model`].
    fn fit(
        &self,
        _spec: &HeadSpec,
        resolved: ResolvedSpec,
        rows: Rows<'_>,
        status: &Status,
    ) -> Result<FittedHead, TrainError> {
        gradient::fit(
            &resolved,
            rows.x,
            rows.y,
            rows.groups,
            rows.idx,
            rows.seed,
            status,
            &[],
        )
        .map(|(head, _)| head)
    }

    /// Predicts MOS (1-5) for standardised rows `xs` (NaN for every row when
    /// the parameters do not fit). The default is [`Head::model`]'s forward
    /// pass.
    fn predict(&self, head: &FittedHead, xs: &Array2<f64>) -> Vec<f64> {
        match self.model(&head.spec, xs.ncols()) {
            Some(model) => solver::predict_chunked(model.as_ref(), &head.params, xs),
            None => vec![f64::NAN; xs.nrows()],
        }
    }

    /// The number of parameters `head` needs over `features` features, or
    /// why its record cannot hold any (guards hand-edited manifests). The
    /// default is [`Head::model`]'s count.
    fn n_params(&self, head: &FittedHead, features: usize) -> Result<usize, String> {
        self.model(&head.spec, features)
            .map(|m| m.n_params())
            .ok_or_else(|| "no gradient model".to_owned())
    }

    /// The head in a few words, for cards and summaries.
    fn summary(&self, _spec: &ResolvedSpec) -> String {
        self.name().to_owned()
    }

    /// The graph of `head` over `f` features (its shape checked).
    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String>;

    /// The spec that fits this head again with the hyper-parameters the
    /// fit recorded in `resolved` fixed, so a refit on other rows searches
    /// nothing (the libvmaf bootstrap export's members); `None` when the
    /// head has no such refit (the default).
    fn refit(&self, _resolved: &ResolvedSpec) -> Option<HeadSpec> {
        None
    }

    /// Why libvmaf cannot evaluate any head of this type; `None` when some
    /// can ([`Head::libsvm`]).
    fn libvmaf_refusal(&self) -> Option<&'static str> {
        Some("it has no libsvm form")
    }

    /// `spec`'s libsvm model over `f` features with parameters `params`,
    /// refused when this fitted head has none (the type may have one).
    fn libsvm(
        &self,
        _spec: &ResolvedSpec,
        _params: &[f64],
        _f: usize,
    ) -> Result<Libsvm, LibsvmError> {
        Err(LibsvmError::Refused(LibvmafRefusal {
            head: self.name(),
            why: self.libvmaf_refusal().unwrap_or("it has no libsvm form"),
        }))
    }
}

/// A head's own command-line flags: a clap `Args` group in the head's
/// folder, which the list of heads flattens into `moshead train`'s flags
/// ([`super::HeadFlags`]), and how they set the head's own settings.
pub trait Flags {
    /// The head's settings (a field of [`super::HeadSettings`]).
    type Settings;

    /// Sets `settings` from the flags given (a flag left out keeps the
    /// setting as it is).
    fn apply(&self, settings: &mut Self::Settings);

    /// The flags given that set a hyper-parameter model selection chooses,
    /// as written on the command line (`--head auto` refuses them).
    fn chosen_by_selection(&self) -> Vec<&'static str>;

    /// Sets in a candidate's `settings` what `--head auto` takes from the
    /// flags (the default: nothing).
    fn apply_to_candidate(&self, _settings: &mut Self::Settings) {}
}

/// Why [`Head::libsvm`] gave no model.
#[derive(Debug, Clone, PartialEq)]
pub enum LibsvmError {
    /// libvmaf cannot evaluate this head.
    Refused(LibvmafRefusal),
    /// The record does not hold a model (a hand-edited manifest).
    Bad(String),
}

/// The raw output `w . x + b` of an affine head (parameters `w` then `b`)
/// for standardised rows (NaN for every row when the parameters do not
/// fit the features).
pub fn affine(params: &[f64], xs: ndarray::ArrayView2<'_, f64>) -> Vec<f64> {
    let f = xs.ncols();
    if params.len() != f + 1 {
        return vec![f64::NAN; xs.nrows()];
    }
    let (w, b) = (ndarray::ArrayView1::from(&params[..f]), params[f]);
    xs.outer_iter().map(|row| row.dot(&w) + b).collect()
}

/// The graph of an affine head's parameters (`w` then `b`) over `f`
/// features, or why they do not fit (`head` names it).
pub fn affine_form(p: &[f64], f: usize, head: &str) -> Result<Form, String> {
    match (p.get(..f), p.get(f)) {
        (Some(w), Some(&b)) => Ok(Form::Affine { w: w.to_vec(), b }),
        _ => Err(format!("{head} parameters do not fit the features")),
    }
}

/// Clips predictions to the MOS range (for heads whose output is not
/// bounded by construction).
pub fn clip(v: Vec<f64>) -> Vec<f64> {
    v.into_iter()
        .map(|p| p.clamp(MOS_RANGE[0], MOS_RANGE[1]))
        .collect()
}

/// The solve report of a fit without L-BFGS iterations.
pub(crate) fn closed_form_report(
    solver: String,
    decay: f64,
    iterations: u64,
    converged: bool,
) -> SolveReport {
    SolveReport {
        termination: Termination::ClosedForm {
            method: solver.clone(),
        },
        solver,
        weight_decay: Some(decay),
        iterations,
        cost_evals: 0,
        gradient_evals: 0,
        converged,
        best_iteration: iterations,
        loss: Vec::new(),
        monitor_loss: Vec::new(),
    }
}
