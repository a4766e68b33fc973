//! What a model selection records: the inner-CV table behind one choice.

use serde::{Deserialize, Serialize};

/// One candidate's inner cross-validation score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateScore {
    /// The candidate (`ridge(alpha=1)`, `mlp(decay=1e-3)`, ...).
    pub name: String,
    /// RMSE of its pooled inner out-of-fold predictions (1-5 scale): the
    /// selection criterion.
    pub rmse: Option<f64>,
    /// PLCC of the pooled inner out-of-fold predictions.
    pub plcc: Option<f64>,
    /// SROCC of the pooled inner out-of-fold predictions.
    pub srocc: Option<f64>,
    /// RMSE of each inner fold.
    pub fold_rmse: Vec<Option<f64>>,
    /// Why the candidate could not be scored (a fit failed on an inner fold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A mean of SVRs: the candidates it averages (each the best of its
    /// RBF width by this table's RMSE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// One model selection: which candidate won on which rows, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionRecord {
    /// The head asked for: `auto`, or a fixed head whose stopping and
    /// decay had to be chosen (a small corpus).
    pub requested: String,
    /// The rule: the lowest RMSE of the pooled inner out-of-fold
    /// predictions; ties go to the earlier (simpler) candidate.
    pub criterion: String,
    /// Rows the choice was made for (the outer fold's training rows, or the
    /// ship model's).
    pub rows: usize,
    /// Rows the inner cross-validation used (all of `rows`, or a seeded
    /// subset of whole contents on large corpora).
    pub inner_rows: usize,
    /// Content groups among the inner rows.
    pub inner_groups: usize,
    /// Inner content-grouped folds.
    pub inner_folds: usize,
    /// Rows the SVR candidates were fitted from when fewer than `rows`: a
    /// seeded uniform sample of the inner rows (each inner fold's SVRs
    /// train on its training rows within it and predict all of its held-out
    /// rows); a chosen SVR is refitted on the same rows. The SVR is
    /// quadratic in rows; the other candidates use every inner row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svr_rows: Option<usize>,
    /// The winner, refitted on all `rows`.
    pub chosen: String,
    /// Every candidate's score, in candidate order.
    pub table: Vec<CandidateScore>,
    /// Anything unusual (too few contents for inner folds, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
