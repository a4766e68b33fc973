//! # moshead-subjective
//!
//! Subjective models: from raw opinion scores (a vote matrix, clips x
//! subjects x sessions, missing votes allowed) to one recovered score per
//! clip with its standard error, CI95 and vote count, and per subject the
//! estimated bias and inconsistency or the screening verdict. One family per
//! crate, no dependency on the moshead host.
//!
//! - [`SubjectiveModel::Mean`]: the plain MOS and its Student-t CI95;
//! - [`SubjectiveModel::Bt500`]: ITU-R BT.500 subject screening (the
//!   kurtosis-based beta2 test and the P_i / Q_i rule, as SUREAL's
//!   `MosModel` with `subject_rejection=True`), then the mean;
//! - [`SubjectiveModel::Mle`]: the ITU-T P.910 maximum-likelihood model with
//!   subject bias and inconsistency, solved by alternating projection as
//!   SUREAL's `MLE_CO_AP2` (same initialisation, update order, convergence
//!   rule and CI95).
//!
//! [`differential()`] turns votes into differential scores (DMOS) against
//! each content's reference clip, as SUREAL's `dscore_mode`.
//!
//! Votes are read by [`VoteTableBuilder`] (wide rows or long records), which
//! counts what it drops by reason ([`DropReason`]) and refuses what cannot be
//! modelled ([`VoteError`]).
//!
//! ```
//! use moshead_subjective::{recover, SubjectiveModel, VoteTableBuilder};
//! let mut b = VoteTableBuilder::new(None);
//! b.wide_row(2, "clip-a", [("s1", "4"), ("s2", "5"), ("s3", "4")]);
//! b.wide_row(3, "clip-b", [("s1", "2"), ("s2", "3"), ("s3", "")]);
//! b.wide_row(4, "clip-c", [("s1", "x"), ("s2", "1"), ("s3", "2")]);
//! let (votes, ingest) = b.finish()?;
//! assert_eq!(ingest.drops[0].count, 1); // "x" is not a number (line 4)
//! let out = recover(&votes, SubjectiveModel::Mean);
//! assert!((out.clips[0].score - 13.0 / 3.0).abs() < 1e-12);
//! assert_eq!(out.clips[1].votes, 2);
//! # Ok::<(), moshead_subjective::VoteError>(())
//! ```
#![deny(missing_docs)]

pub mod differential;
mod mean;
mod mle;
pub mod special;
pub mod votes;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use differential::differential;
pub use votes::{Drop, DropExample, DropReason, Scale, VoteIngest, VoteMatrix, VoteTableBuilder};

/// Why votes could not be read or modelled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VoteError {
    /// No vote survived (of `read` read).
    #[error("no usable vote ({read} read, all dropped or empty)")]
    NoVotes {
        /// Votes read.
        read: usize,
    },
    /// Fewer than two subjects with two votes or more.
    #[error("{subjects} subject(s) with two votes or more: a subjective model needs at least two")]
    TooFewSubjects {
        /// Subjects left.
        subjects: usize,
    },
    /// Every clip's votes are all equal.
    #[error(
        "no disagreement: all {subjects} subjects gave the same score on each of the {clips} clips \
         (a column copied into the others?); there is nothing to model"
    )]
    NoDisagreement {
        /// Clips.
        clips: usize,
        /// Subjects.
        subjects: usize,
    },
    /// The matrix would be too big.
    #[error(
        "{clips} clips x {subjects} subjects x {sessions} sessions is over the limit of {} cells",
        votes::MAX_CELLS
    )]
    TooLarge {
        /// Clips.
        clips: usize,
        /// Subjects.
        subjects: usize,
        /// Sessions.
        sessions: usize,
    },
    /// A declared scale that is not a range.
    #[error("vote scale {min}..{max} is not a range (need finite min < max)")]
    BadScale {
        /// Declared minimum.
        min: f64,
        /// Declared maximum.
        max: f64,
    },
    /// Rows that do not match the names given.
    #[error("vote rows do not match {clips} clips x {subjects} subjects")]
    Shape {
        /// Clips named.
        clips: usize,
        /// Subjects named.
        subjects: usize,
    },
    /// Differential scores that cannot be formed: a content without exactly
    /// one rated reference clip, or a reference score that is not a number.
    #[error("differential scores (DMOS): content `{content}`: {reason}")]
    Reference {
        /// The content (empty when the reference score itself is wrong).
        content: String,
        /// What is wrong.
        reason: String,
    },
    /// An unknown model name.
    #[error("unknown subjective model {0:?} (known: mean, bt500, mle)")]
    UnknownModel(String),
}

/// A subjective model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectiveModel {
    /// The plain MOS and its Student-t CI95.
    Mean,
    /// BT.500 subject screening, then the mean.
    Bt500,
    /// The P.910 / SUREAL maximum-likelihood model (`MLE_CO_AP2`): the
    /// default, as in VMAF's trainer when a dataset carries raw votes.
    #[default]
    Mle,
}

impl SubjectiveModel {
    /// Every model, in the order the docs list them.
    pub const ALL: [SubjectiveModel; 3] = [
        SubjectiveModel::Mean,
        SubjectiveModel::Bt500,
        SubjectiveModel::Mle,
    ];

    /// The model's name (`mean`, `bt500`, `mle`).
    pub fn name(self) -> &'static str {
        match self {
            SubjectiveModel::Mean => "mean",
            SubjectiveModel::Bt500 => "bt500",
            SubjectiveModel::Mle => "mle",
        }
    }
}

impl fmt::Display for SubjectiveModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SubjectiveModel {
    type Err = VoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubjectiveModel::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| VoteError::UnknownModel(s.to_string()))
    }
}

/// One clip's recovered score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipScore {
    /// The clip.
    pub clip: String,
    /// The recovered score, on the votes' scale.
    pub score: f64,
    /// Its standard error (`None` for a plain mean of a single vote).
    pub std_err: Option<f64>,
    /// The half-width of its 95% confidence interval: Student-t for `mean`
    /// and `bt500`, 1.95996 standard errors for `mle` (as SUREAL).
    pub ci95: Option<f64>,
    /// The votes it rests on.
    pub votes: usize,
}

/// BT.500 screening figures of one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    /// P_i: votes at or above the clip's mean plus 2 (or √20) SD.
    pub p: usize,
    /// Q_i: votes at or below the clip's mean minus 2 (or √20) SD.
    pub q: usize,
    /// (P_i + Q_i) / (clips x sessions); rejection needs > 0.05.
    pub first_stat: f64,
    /// |P_i - Q_i| / (P_i + Q_i) (`None` when both are 0); rejection needs < 0.3.
    pub second_stat: Option<f64>,
    /// Whether the subject was rejected (never all: if every subject would
    /// be, none is).
    pub rejected: bool,
}

impl Screening {
    /// Why the subject was rejected, in words (`None` if kept).
    pub fn reason(&self) -> Option<String> {
        self.rejected.then(|| {
            format!(
                "BT.500: {} of their votes were outliers ((P+Q)/(clips x sessions) = {:.3} > 0.05), \
                 on both sides alike (|P-Q|/(P+Q) = {:.3} < 0.3)",
                self.p + self.q,
                self.first_stat,
                self.second_stat.unwrap_or(f64::NAN)
            )
        })
    }
}

/// One subject's estimates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectReport {
    /// The subject.
    pub subject: String,
    /// Votes given.
    pub votes: usize,
    /// `mle`: the estimated bias (zero mean over subjects).
    pub bias: Option<f64>,
    /// `mle`: the standard error of the bias.
    pub bias_std: Option<f64>,
    /// `mle`: the estimated inconsistency (the SD of the subject's noise).
    pub inconsistency: Option<f64>,
    /// `mle`: the standard error of the inconsistency.
    pub inconsistency_std: Option<f64>,
    /// `mle`: the 95% interval of the inconsistency as offsets below and
    /// above it (chi-square, as SUREAL).
    pub inconsistency_ci95: Option<(f64, f64)>,
    /// `bt500`: the screening figures and verdict.
    pub screening: Option<Screening>,
}

/// What a model recovered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovered {
    /// The model.
    pub model: SubjectiveModel,
    /// One score per clip that kept a vote, in the matrix's order.
    pub clips: Vec<ClipScore>,
    /// Clips left without a vote (after BT.500 rejection).
    pub unscored: Vec<String>,
    /// One report per subject, in the matrix's order.
    pub subjects: Vec<SubjectReport>,
    /// `mle`: the iterations run.
    pub iterations: Option<usize>,
    /// `mle`: whether the scores moved less than 1e-8 (L2) in the last
    /// iteration before the cap of 1000 (always true for the others).
    pub converged: bool,
}

impl Recovered {
    /// The subjects rejected, with the reason.
    pub fn rejected(&self) -> Vec<(&str, String)> {
        self.subjects
            .iter()
            .filter_map(|s| {
                let why = s.screening.as_ref().and_then(Screening::reason)?;
                Some((s.subject.as_str(), why))
            })
            .collect()
    }
}

/// The mean and SD (with `ddof`, as numpy's `nanmean` / `nanstd`) of the
/// non-missing values, and their count; `NaN` where undefined.
pub(crate) fn nan_mean_sd(
    values: impl Iterator<Item = f64> + Clone,
    ddof: usize,
) -> (f64, f64, usize) {
    let (sum, n) = values
        .clone()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    let mean = sum / n as f64;
    let ss: f64 = values
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean) * (v - mean))
        .sum();
    (mean, (ss / n.saturating_sub(ddof) as f64).sqrt(), n)
}

/// Recover per-clip scores from `votes` with `model`.
pub fn recover(votes: &VoteMatrix, model: SubjectiveModel) -> Recovered {
    match model {
        SubjectiveModel::Mean => mean::plain(votes),
        SubjectiveModel::Bt500 => mean::bt500(votes),
        SubjectiveModel::Mle => mle::mle_co_ap2(votes),
    }
}

/// Percentiles (nearest-rank) of the CI95 widths (twice the half-widths),
/// for reports: `(min, median, p90, max)`; `None` without any.
pub fn ci_width_summary(rec: &Recovered) -> Option<(f64, f64, f64, f64)> {
    let mut w: Vec<f64> = rec
        .clips
        .iter()
        .filter_map(|c| c.ci95.map(|h| 2.0 * h))
        .collect();
    if w.is_empty() {
        return None;
    }
    w.sort_by(f64::total_cmp);
    let at = |q: f64| w[((q * w.len() as f64).ceil() as usize).clamp(1, w.len()) - 1];
    Some((w[0], at(0.5), at(0.9), w[w.len() - 1]))
}
