//! A fitted head: what it was fitted with and how, and its predictions.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::heads::Form;
use super::{ResolvedSpec, SolveReport, Standardizer};

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
        self.spec.kind.head().predict(self, &xs)
    }

    /// The graph of this head over `features` features, for the ONNX
    /// export (its shape checked first).
    pub fn form(&self, features: usize) -> Result<Form, String> {
        self.check_shape(features)?;
        self.spec.kind.head().form(self, features)
    }

    /// Checks that the parameters fit the head type and feature count
    /// (guards hand-edited manifests).
    pub fn check_shape(&self, features: usize) -> Result<(), String> {
        let want = self.spec.kind.head().n_params(self, features)?;
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
