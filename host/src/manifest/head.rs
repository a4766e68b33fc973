//! The head as the manifest records it: its hyper-parameters
//! ([`SpecRecord`]), the standardisation of its inputs
//! ([`StandardizationRecord`]) and each solve ([`SolveRecord`]). These are
//! the manifest's own types: the training structs they are made from
//! ([`ResolvedSpec`], [`Standardizer`], [`SolveReport`]) may change without
//! changing the file format, and a change here is a format change
//! ([`super::MANIFEST_SCHEMA`]). The enums and the heads' own records they
//! hold ([`HeadKind`], [`Precision`], [`Termination`], [`HeadRecords`]:
//! each head's, from its folder) are part of the format as they stand.

use serde::{Deserialize, Serialize};

use crate::training::heads::HeadRecords;
use crate::training::{HeadKind, Precision, ResolvedSpec, SolveReport, Standardizer, Termination};

/// The hyper-parameters the ship model (or a fold's head) was fitted with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecRecord {
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
    /// The MLP's arithmetic (`f64` for every other head; absent in v1
    /// manifests written before it was recorded, which used `f64`).
    #[serde(default)]
    pub precision: Precision,
    /// What the head recorded of its own settings, a key named after the
    /// head (`ridge`: the chosen penalty and the search behind it; `svr`:
    /// its settings), present for that head only.
    #[serde(flatten)]
    pub records: HeadRecords,
}

impl From<&ResolvedSpec> for SpecRecord {
    fn from(s: &ResolvedSpec) -> Self {
        SpecRecord {
            kind: s.kind,
            hidden: s.hidden,
            weight_decay: s.weight_decay,
            max_iters: s.max_iters,
            lbfgs_memory: s.lbfgs_memory,
            patience: s.patience,
            monitor_fraction: s.monitor_fraction,
            precision: s.precision,
            records: s.records.clone(),
        }
    }
}

impl From<&SpecRecord> for ResolvedSpec {
    fn from(s: &SpecRecord) -> Self {
        ResolvedSpec {
            kind: s.kind,
            hidden: s.hidden,
            weight_decay: s.weight_decay,
            max_iters: s.max_iters,
            lbfgs_memory: s.lbfgs_memory,
            patience: s.patience,
            monitor_fraction: s.monitor_fraction,
            precision: s.precision,
            records: s.records.clone(),
        }
    }
}

/// The standardisation of the head's inputs, fitted on its training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardizationRecord {
    /// Column means, in feature order.
    pub mean: Vec<f64>,
    /// Column standard deviations (1.0 for a constant column).
    pub std: Vec<f64>,
}

impl From<&Standardizer> for StandardizationRecord {
    fn from(s: &Standardizer) -> Self {
        StandardizationRecord {
            mean: s.mean.clone(),
            std: s.std.clone(),
        }
    }
}

impl From<&StandardizationRecord> for Standardizer {
    fn from(s: &StandardizationRecord) -> Self {
        Standardizer {
            mean: s.mean.clone(),
            std: s.std.clone(),
        }
    }
}

/// How one solve went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolveRecord {
    /// The solver, in words.
    pub solver: String,
    /// The weight decay this solve minimised with (absent in v1 manifests
    /// written before it was recorded).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Iterations run.
    pub iterations: u64,
    /// Cost evaluations.
    pub cost_evals: u64,
    /// Gradient evaluations.
    pub gradient_evals: u64,
    /// Why it stopped (a v1 file's sentence reads as `recorded`).
    #[serde(deserialize_with = "super::read::termination")]
    pub termination: Termination,
    /// Whether it converged or early stopping chose the parameters.
    pub converged: bool,
    /// The iteration whose parameters were kept.
    pub best_iteration: u64,
    /// Training objective per iteration.
    pub loss: Vec<f64>,
    /// Monitor MSE per iteration (empty without a monitor set).
    pub monitor_loss: Vec<f64>,
}

impl From<&SolveReport> for SolveRecord {
    fn from(s: &SolveReport) -> Self {
        SolveRecord {
            solver: s.solver.clone(),
            weight_decay: s.weight_decay,
            iterations: s.iterations,
            cost_evals: s.cost_evals,
            gradient_evals: s.gradient_evals,
            termination: s.termination.clone(),
            converged: s.converged,
            best_iteration: s.best_iteration,
            loss: s.loss.clone(),
            monitor_loss: s.monitor_loss.clone(),
        }
    }
}

impl From<&SolveRecord> for SolveReport {
    fn from(s: &SolveRecord) -> Self {
        SolveReport {
            solver: s.solver.clone(),
            weight_decay: s.weight_decay,
            iterations: s.iterations,
            cost_evals: s.cost_evals,
            gradient_evals: s.gradient_evals,
            termination: s.termination.clone(),
            converged: s.converged,
            best_iteration: s.best_iteration,
            loss: s.loss.clone(),
            monitor_loss: s.monitor_loss.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ridge head's spec as the v1 build wrote it.
    fn v1_ridge_spec() -> serde_json::Value {
        let m: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/data/manifests-v1/ridge/v1_ridge.json"
        ))
        .unwrap();
        m["head"]["spec"].clone()
    }

    #[test]
    fn a_head_record_is_read_and_written_under_its_own_key() {
        let v = v1_ridge_spec();
        let r: SpecRecord = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.kind, HeadKind::Ridge);
        let ridge = r.records.ridge.as_ref().expect("the ridge key");
        assert_eq!(ridge.alpha, v["ridge"]["alpha"].as_f64().unwrap());
        assert_eq!(r.records.svr, None);
        // Written back: the same keys and values, no other head's.
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
        let resolved = ResolvedSpec::from(&r);
        assert_eq!(SpecRecord::from(&resolved), r);
    }

    #[test]
    fn a_spec_with_an_unknown_key_or_a_bad_head_record_is_refused() {
        let mut v = v1_ridge_spec();
        v["surprise"] = 1.into();
        let e = serde_json::from_value::<SpecRecord>(v).unwrap_err();
        assert!(e.to_string().contains("unknown field `surprise`"), "{e}");
        let mut v = v1_ridge_spec();
        v["ridge"]["alpha"] = "large".into();
        assert!(serde_json::from_value::<SpecRecord>(v).is_err());
    }
}
