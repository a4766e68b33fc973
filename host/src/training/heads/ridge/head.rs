//! The ridge head as a [`Head`]: its closed-form fit, clipped affine
//! predictions and graph, and its libsvm form (one linear-kernel support
//! vector, exact in libvmaf).

use ndarray::Array2;

use super::{RidgeRecord, RidgeSelection};
use crate::training::heads::{
    clip, family, rank, Candidate, Form, Head, HeadKind, Libsvm, LibsvmError, Rank, Rows,
};
use crate::training::{FittedHead, HeadSpec, ResolvedSpec, Status, TrainError};

/// Closed-form ridge regression, its penalty chosen by inner
/// cross-validation unless given.
#[derive(Debug, Clone, Copy)]
pub struct RidgeHead;

/// A one-line account of a ridge penalty choice.
fn describe(r: &RidgeRecord) -> String {
    match r.selection {
        RidgeSelection::Fixed => format!("alpha {:.4e} (given)", r.alpha),
        RidgeSelection::Loo => format!(
            "alpha {:.4e} chosen by leave-one-out over {} values",
            r.alpha,
            r.grid.len()
        ),
        RidgeSelection::GroupedFolds { k } => format!(
            "alpha {:.4e} chosen by {k} content-grouped inner folds over {} values",
            r.alpha,
            r.grid.len()
        ),
    }
}

impl Head for RidgeHead {
    fn name(&self) -> &'static str {
        "ridge"
    }

    fn about(&self) -> &'static str {
        "Closed-form ridge regression, penalty chosen by inner cross-validation"
    }

    fn check(&self, spec: &HeadSpec) -> Result<(), TrainError> {
        spec.ridge.check()
    }

    /// The chosen penalty, fixed.
    fn refit(&self, resolved: &ResolvedSpec) -> Option<HeadSpec> {
        let mut spec = HeadSpec::new(resolved.kind);
        spec.ridge.alpha = Some(resolved.ridge.as_ref()?.alpha);
        Some(spec)
    }

    /// Records the chosen penalty as `alpha / rows`, its weight decay on
    /// the mean squared error.
    fn fit(
        &self,
        spec: &HeadSpec,
        mut resolved: ResolvedSpec,
        rows: Rows<'_>,
        _status: &Status,
    ) -> Result<FittedHead, TrainError> {
        let fit = super::fit(
            &spec.ridge,
            rows.x,
            rows.y,
            rows.groups,
            rows.idx,
            rows.seed,
        )?;
        let r = &fit.record;
        resolved.weight_decay = r.alpha / rows.idx.len() as f64;
        let solve = family::closed_form_report(
            format!("closed form (eigendecomposition), {}", describe(r)),
            resolved.weight_decay,
            0,
            true,
        );
        resolved.ridge = Some(fit.record);
        Ok(FittedHead {
            spec: resolved,
            standardizer: fit.standardizer,
            params: fit.params,
            solve,
            n_fit: rows.idx.len(),
            n_monitor: 0,
        })
    }

    fn predict(&self, head: &FittedHead, xs: &Array2<f64>) -> Vec<f64> {
        clip(super::decision(&head.params, xs.view()))
    }

    fn n_params(&self, _head: &FittedHead, features: usize) -> Result<usize, String> {
        Ok(features + 1)
    }

    fn summary(&self, spec: &ResolvedSpec) -> String {
        match &spec.ridge {
            Some(r) => format!("ridge ({})", describe(r)),
            None => self.name().to_owned(),
        }
    }

    fn baseline(&self) -> bool {
        true
    }

    /// Ridge with its own inner-CV penalty, first: auto's baseline.
    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        vec![(rank::RIDGE, Candidate::default_of(HeadKind::Ridge))]
    }

    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        family::affine_form(&head.params, f, "ridge")
    }

    fn libvmaf_refusal(&self) -> Option<&'static str> {
        None
    }

    /// `w . x + b` as a nu-SVR with one linear-kernel support vector `w`
    /// of coefficient 1 and `rho = -b`.
    fn libsvm(&self, spec: &ResolvedSpec, p: &[f64], f: usize) -> Result<Libsvm, LibsvmError> {
        if p.len() != f + 1 {
            return Err(LibsvmError::Bad(
                "parameters do not fit the feature count".into(),
            ));
        }
        Ok(Libsvm {
            svm_type: "nu_svr",
            kernel: "linear",
            gamma: 0.0,
            rho: -p[f],
            coef: vec![1.0],
            sv: p[..f].to_vec(),
            c: None,
            param_gamma: None,
            nu: None,
            epsilon: None,
            ridge_alpha: spec.ridge.as_ref().map(|r| r.alpha),
        })
    }
}
