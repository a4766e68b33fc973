//! Why a fit stopped, as a value: written to the manifest as a tagged
//! object (`{"kind": "early-stop", ...}`) and shown through [`Display`]
//! (the sentence) or [`Termination::short`] (a table cell), never parsed
//! back from text.
//!
//! [`Display`]: std::fmt::Display

use serde::{Deserialize, Serialize};

/// Why a fit stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Termination {
    /// No fit ran (an empty report).
    #[default]
    None,
    /// argmin's termination reason, in its words.
    Solver {
        /// The reason (`Solver converged`, `Maximum number of iterations reached`, ...).
        reason: String,
    },
    /// The monitor MSE did not improve for `patience` iterations.
    EarlyStop {
        /// The patience.
        patience: u64,
        /// The iteration of the best monitor MSE, whose parameters were kept.
        best_iteration: u64,
    },
    /// The cost-and-gradient evaluation cap of an L-BFGS solve.
    EvaluationCap {
        /// Evaluations allowed.
        evaluations: u64,
        /// Allowed per iteration of the cap.
        per_iteration: u64,
        /// The iteration cap.
        max_iters: u64,
    },
    /// A closed-form fit (no iterations).
    ClosedForm {
        /// How it was solved (`closed form (eigendecomposition), alpha ...`).
        method: String,
    },
    /// libsvm's SMO.
    Smo {
        /// Whether it met its tolerance before its iteration cap.
        converged: bool,
        /// The tolerance.
        tolerance: f64,
        /// Iterations run.
        iterations: u64,
        /// Support vectors of the solution.
        support_vectors: usize,
    },
    /// A mean of SVRs, each fitted by SMO.
    MeanOfSvrs {
        /// Whether every member's SMO converged.
        all_converged: bool,
        /// Support vectors of all members.
        support_vectors: usize,
    },
    /// A fixed number of epochs (the prior art's recipe).
    FixedEpochs {
        /// The epochs.
        epochs: u64,
    },
    /// The text a `moshead-manifest-v1` file recorded (read from such a
    /// file only).
    Recorded {
        /// The text.
        text: String,
    },
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Termination::None => write!(f, "no fit"),
            Termination::Solver { reason } => write!(f, "{reason}"),
            Termination::EarlyStop {
                patience,
                best_iteration,
            } => write!(
                f,
                "early stop: monitor MSE did not improve for {patience} iterations (best at iteration {best_iteration})"
            ),
            Termination::EvaluationCap {
                evaluations,
                per_iteration,
                max_iters,
            } => write!(
                f,
                "evaluation cap: {evaluations} cost and gradient evaluations ({per_iteration} per iteration of the cap {max_iters})"
            ),
            Termination::ClosedForm { method } => write!(f, "{method}"),
            Termination::Smo {
                converged: true,
                tolerance,
                support_vectors,
                ..
            } => write!(
                f,
                "SMO converged (tolerance {tolerance}): {support_vectors} support vectors"
            ),
            Termination::Smo {
                converged: false,
                iterations,
                ..
            } => write!(f, "SMO iteration cap ({iterations} iterations)"),
            Termination::MeanOfSvrs {
                all_converged,
                support_vectors,
            } => write!(
                f,
                "{}: {support_vectors} support vectors in all",
                if *all_converged {
                    "every member's SMO converged"
                } else {
                    "a member's SMO reached its iteration cap"
                }
            ),
            Termination::FixedEpochs { epochs } => write!(f, "fixed epochs ({epochs})"),
            Termination::Recorded { text } => write!(f, "{text}"),
        }
    }
}

impl Termination {
    /// A table cell: the kind of stop, at most 40 characters.
    pub fn short(&self) -> String {
        match self {
            Termination::EarlyStop { .. } => "early stop".into(),
            other => other.to_string().chars().take(40).collect(),
        }
    }
}
