//! Head hyper-parameters: the requested [`HeadSpec`] (defaults left open)
//! and the [`ResolvedSpec`] a fit runs with and a manifest records.
//!
//! The flow is linfa's: a spec is built (defaults, then overrides), checked
//! ([`HeadSpec::check`]), resolved for the rows of one fit
//! ([`HeadSpec::resolved`]: every default that depends on the corpus is
//! fixed), and fitted ([`HeadSpec::fit`]) into a [`FittedHead`] that
//! predicts. Solvers only ever see a [`ResolvedSpec`], so an unresolved
//! value cannot reach them.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use std::ops::{Deref, DerefMut};

use super::heads::{HeadKind, HeadRecords, HeadSettings, Model, Precision, Rows};
use super::{gradient, FittedHead, Status, TrainError};

/// Hyper-parameters of a head and its solve, as requested: `None` fields
/// are resolved per fit.
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
    /// Each head's own settings, read as `spec.<head>` (`spec.svr`)
    /// through [`Deref`]; a fit reads only its own head's. Written in line
    /// with the shared ones (a key per head).
    #[serde(flatten)]
    pub settings: HeadSettings,
}

/// The hyper-parameters one fit ran with: [`HeadSpec`] with every default
/// resolved. A fitted head holds it; the manifest records it as its own
/// [`crate::manifest::SpecRecord`] (the same JSON shape as [`HeadSpec`],
/// with numbers where it may have `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedSpec {
    /// The head type.
    #[serde(rename = "type")]
    pub kind: HeadKind,
    /// Width of each hidden layer (MLP only).
    pub hidden: usize,
    /// The L2 penalty the solve minimised with.
    pub weight_decay: f64,
    /// L-BFGS iteration cap.
    pub max_iters: u64,
    /// L-BFGS memory.
    pub lbfgs_memory: usize,
    /// Iterations without monitor improvement before stopping.
    pub patience: u64,
    /// Fraction of training contents held out as the monitor set.
    pub monitor_fraction: f64,
    /// The MLP's arithmetic (`f64` for every other head; absent in
    /// manifests written before it was recorded, which used `f64`).
    #[serde(default)]
    pub precision: Precision,
    /// What the fitted head recorded of its own settings (only its own
    /// head's key is present), read as `spec.<head>` through [`Deref`].
    #[serde(flatten)]
    pub records: HeadRecords,
}

impl Deref for HeadSpec {
    type Target = HeadSettings;

    fn deref(&self) -> &HeadSettings {
        &self.settings
    }
}

impl DerefMut for HeadSpec {
    fn deref_mut(&mut self) -> &mut HeadSettings {
        &mut self.settings
    }
}

impl Deref for ResolvedSpec {
    type Target = HeadRecords;

    fn deref(&self) -> &HeadRecords {
        &self.records
    }
}

impl DerefMut for ResolvedSpec {
    fn deref_mut(&mut self) -> &mut HeadRecords {
        &mut self.records
    }
}

impl HeadSpec {
    /// The defaults for `kind`.
    pub fn new(kind: HeadKind) -> Self {
        HeadSpec {
            kind,
            hidden: 64,
            weight_decay: None,
            max_iters: kind.head().default_max_iters(),
            lbfgs_memory: 40,
            patience: 20,
            monitor_fraction: 0.1,
            precision: None,
            settings: HeadSettings::default(),
        }
    }

    /// Checks the hyper-parameters (values, not data).
    pub fn check(&self) -> Result<(), TrainError> {
        // The ranges of weight decay, iteration cap and patience.
        super::limits::check_spec(self)?;
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
        self.kind.head().check(self)
    }

    /// The default weight decay of a fit of `kind` on `rows` rows
    /// ([`super::heads::Head::default_decay`]): `min(1e-4, 1 / rows)` for
    /// the MLP (see the [module documentation](super)), a fixed 1e-6 for the
    /// linear head. The ridge head chooses its own penalty (recorded as
    /// `alpha / rows`, its weight decay on the mean squared error); the SVR
    /// has none (0).
    pub fn default_decay(kind: HeadKind, rows: usize) -> f64 {
        kind.head().default_decay(rows)
    }

    /// This spec with its weight decay and precision resolved for a fit on
    /// `rows` rows.
    pub fn resolved(&self, rows: usize) -> ResolvedSpec {
        ResolvedSpec {
            kind: self.kind,
            hidden: self.hidden,
            weight_decay: self
                .weight_decay
                .unwrap_or_else(|| Self::default_decay(self.kind, rows)),
            max_iters: self.max_iters,
            lbfgs_memory: self.lbfgs_memory,
            patience: self.patience,
            monitor_fraction: self.monitor_fraction,
            precision: self.kind.head().precision(self.precision, rows),
            records: HeadRecords::default(),
        }
    }

    /// Fits on the rows `idx` of `x` / `y`, grouped by `groups` (for the
    /// heads' inner splits), with `seed` for initialisation and splits.
    pub fn fit(
        &self,
        x: ArrayView2<'_, f64>,
        y: &[f64],
        groups: &[u32],
        idx: &[usize],
        seed: u64,
        status: &Status,
    ) -> Result<FittedHead, TrainError> {
        self.check()?;
        if idx.is_empty() {
            return Err(TrainError::Empty);
        }
        let spec = self.resolved(idx.len());
        check_rows(x, y, idx)?;
        let rows = Rows {
            x: x.reborrow(),
            y,
            groups,
            idx,
            seed,
        };
        self.kind.head().fit(self, spec, rows, status)
    }
}

impl HeadSpec {
    /// [`HeadSpec::fit`], which also returns, for each iteration cap of
    /// `caps`, the head this spec with that cap fits on the same rows,
    /// where one solve shows it exactly (a gradient head without a monitor
    /// set: see `training::solver::solve`); `None` where it
    /// does not (fit that cap on its own). The small-corpus stopping grid
    /// runs one solve per decay this way.
    #[allow(clippy::too_many_arguments)]
    pub fn fit_with_prefixes(
        &self,
        caps: &[u64],
        x: ArrayView2<'_, f64>,
        y: &[f64],
        groups: &[u32],
        idx: &[usize],
        seed: u64,
        status: &Status,
    ) -> Result<(FittedHead, Vec<Option<FittedHead>>), TrainError> {
        if self.kind.head().iterative() && !idx.is_empty() {
            self.check()?;
            let spec = self.resolved(idx.len());
            check_rows(x, y, idx)?;
            return gradient::fit(&spec, x, y, groups, idx, seed, status, caps);
        }
        Ok((
            self.fit(x, y, groups, idx, seed, status)?,
            vec![None; caps.len()],
        ))
    }
}

/// Refuses rows no head can be fitted on: a non-finite value, or a MOS that
/// never varies.
pub(crate) fn check_rows(
    x: ArrayView2<'_, f64>,
    y: &[f64],
    idx: &[usize],
) -> Result<(), TrainError> {
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
    match idx.first() {
        Some(&first) if idx.iter().all(|&i| y[i] == y[first]) => {
            Err(TrainError::ConstantMos(y[first]))
        }
        _ => Ok(()),
    }
}

impl ResolvedSpec {
    /// The head in a few words, for cards and summaries: `mlp (2 x 64
    /// tanh, linear skip path)`, `ridge (alpha 5.6e0 chosen by ...)`,
    /// `svr (epsilon-SVR, rbf kernel, C 1, gamma 0.25, ...)`.
    pub fn summary(&self) -> String {
        self.kind.head().summary(self)
    }

    /// The gradient model this spec describes, for `f` features (`None`
    /// for a head not fitted by the L-BFGS solve).
    pub fn model(&self, f: usize) -> Option<std::sync::Arc<dyn Model>> {
        self.kind.head().model(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::MLP_DECAY_MAX;

    #[test]
    fn default_decay_is_one_over_rows_capped_for_the_mlp() {
        let mlp = HeadSpec::new(HeadKind::Mlp);
        assert_eq!(mlp.weight_decay, None, "resolved at fit time");
        assert_eq!(mlp.resolved(600).weight_decay, MLP_DECAY_MAX);
        assert_eq!(mlp.resolved(10_000).weight_decay, 1e-4);
        assert_eq!(mlp.resolved(200_000).weight_decay, 5e-6);
        let linear = HeadSpec::new(HeadKind::Linear);
        assert_eq!(linear.resolved(200_000).weight_decay, 1e-6);
        let explicit = HeadSpec {
            weight_decay: Some(3e-5),
            ..mlp
        };
        assert_eq!(explicit.resolved(200_000).weight_decay, 3e-5);
    }

    #[test]
    fn a_resolved_spec_serialises_like_the_request_with_numbers() {
        let mlp = HeadSpec {
            weight_decay: Some(1e-4),
            precision: Some(Precision::F64),
            ..HeadSpec::new(HeadKind::Mlp)
        };
        // The request also carries the (unused) settings of the other heads.
        let mut want = serde_json::to_value(&mlp).unwrap();
        let obj = want.as_object_mut().unwrap();
        for key in serde_json::to_value(HeadSettings::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
        {
            obj.remove(key);
        }
        assert_eq!(want, serde_json::to_value(mlp.resolved(600)).unwrap());
    }
}
