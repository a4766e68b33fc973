//! A fitted head: what it was fitted with and how, and its predictions.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::heads::{ridge, svr, HeadKind};
use super::{solver, ResolvedSpec, SolveReport, Standardizer};

/// The MOS range every head predicts in.
pub const MOS_RANGE: [f64; 2] = [1.0, 5.0];

/// A trained head: the spec it was fitted with, the training-set
/// standardisation, the parameters and the solve report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedHead {
    /// The hyper-parameters.
    pub spec: ResolvedSpec,
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

    /// Predicts MOS for the rows `idx` of raw `x` (NaN for every row when
    /// the parameters do not fit, which [`FittedHead::check_shape`] rules
    /// out for a loaded manifest).
    pub fn predict_rows(&self, x: ArrayView2<'_, f64>, idx: &[usize]) -> Vec<f64> {
        let xs = self.standardizer.apply_rows(x, idx);
        let clip = |v: Vec<f64>| -> Vec<f64> {
            v.into_iter()
                .map(|p| p.clamp(MOS_RANGE[0], MOS_RANGE[1]))
                .collect()
        };
        match self.spec.kind {
            HeadKind::Mlp | HeadKind::Linear => match self.spec.model(x.ncols()) {
                Some(model) => solver::predict_chunked(model.as_ref(), &self.params, &xs),
                None => vec![f64::NAN; idx.len()],
            },
            HeadKind::Ridge => clip(ridge::decision(&self.params, xs.view())),
            HeadKind::Svr => match &self.spec.svr {
                Some(s) => clip(svr::decision(
                    &self.params,
                    s.kernel,
                    &s.widths(),
                    xs.view(),
                )),
                None => vec![f64::NAN; idx.len()],
            },
        }
    }

    /// The number of parameters this head needs over `features` features
    /// (for the SVR, the count its stored support vectors imply).
    fn expected_params(&self, features: usize) -> Result<usize, String> {
        match self.spec.kind {
            HeadKind::Mlp | HeadKind::Linear => self
                .spec
                .model(features)
                .map(|m| m.n_params())
                .ok_or_else(|| "no gradient model".to_owned()),
            HeadKind::Ridge => Ok(features + 1),
            HeadKind::Svr => {
                let s = self
                    .spec
                    .svr
                    .as_ref()
                    .ok_or("an SVR head without its `svr` settings")?;
                s.check()?;
                if !s.members.is_empty() {
                    // Counts read from a file: their sum is checked, never
                    // wrapped (a hostile sum past `usize::MAX` is refused).
                    let members = s
                        .members
                        .iter()
                        .try_fold(0usize, |acc, m| acc.checked_add(m.n_support));
                    if members != Some(s.n_support) {
                        return Err(format!(
                            "a mean of SVRs records {} support vectors but its members {}",
                            s.n_support,
                            members.map_or_else(
                                || "more than the largest count".to_owned(),
                                |n| n.to_string()
                            )
                        ));
                    }
                }
                let m = self.params.len().saturating_sub(1) / (features + 1);
                if m != s.n_support {
                    return Err(format!(
                        "SVR records {} support vectors but its parameters hold {m}",
                        s.n_support
                    ));
                }
                Ok(1 + m * (features + 1))
            }
        }
    }

    /// Checks that the parameters fit the head type and feature count
    /// (guards hand-edited manifests).
    pub fn check_shape(&self, features: usize) -> Result<(), String> {
        let want = self.expected_params(features)?;
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
