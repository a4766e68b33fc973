//! Out-of-fold rows: one clip's MOS and the prediction of the fold that
//! held it out, what the metrics, the conformal intervals and the
//! validation sidecar (`<model_id>_validation.jsonl`) are computed from.

use serde::{Deserialize, Serialize};

/// One evaluation row of one fold. Sidecars written before ids, groups
/// and the native scale were recorded read back with those fields empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OofRow {
    /// The row's id.
    #[serde(default)]
    pub id: String,
    /// Its content group.
    #[serde(default)]
    pub group: String,
    /// Its corpus split label (`train`, `val`), if it has one.
    #[serde(default)]
    pub split: Option<String>,
    /// MOS on the head's 1-5 scale.
    pub mos: f64,
    /// The head's prediction on the 1-5 scale.
    pub prediction: f64,
    /// MOS on the native scale of the row's slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_native: Option<f64>,
    /// The prediction on the native scale of the row's slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_native: Option<f64>,
    /// The standard error of the MOS (head scale), where known (what
    /// `compare` counts P.1401 outliers with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_se: Option<f64>,
}
