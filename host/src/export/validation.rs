//! The validation-prediction sidecar `<id>_validation.jsonl`: one
//! [`ValidationRow`] per validation row (fold, id, content group, split,
//! MOS and prediction on the 1-5 and native scales), pinned by sha256 in
//! the manifest's `exports` (`validation_predictions`), so a re-export
//! refuses a sidecar that is not the one the run wrote.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{io, Export, ExportError, SetContext, Written};
use crate::digest::sha256_hex;
use crate::manifest::Manifest;
use crate::validation::oof::{OofPredictions, OofRow};

/// The `exports` key of the validation-prediction sidecar.
pub const EXPORT_VALIDATION: &str = "validation_predictions";

/// The sidecar as an export of the set: written when the predictions hold
/// every fold's rows ([`has_predictions`]).
#[derive(Debug, Clone, Copy)]
pub struct Sidecar;

impl Export for Sidecar {
    fn role(&self) -> &'static str {
        "validation"
    }
    fn recorded(&self) -> Option<&'static str> {
        Some(EXPORT_VALIDATION)
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_validation.jsonl")
    }
    fn what(&self) -> &'static str {
        "the model's validation predictions"
    }
    fn write(&self, cx: &SetContext<'_>) -> Result<Written, ExportError> {
        if has_predictions(cx.manifest, cx.predictions) {
            validation_jsonl(cx.manifest, cx.predictions).map(Written::Bytes)
        } else {
            Ok(Written::Skipped)
        }
    }
}

/// One line of the validation sidecar: the fold, then the row
/// ([`OofRow`]: id, content group, corpus split label, MOS and prediction
/// on the head's 1-5 scale and on the native scale of the row's slot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRow {
    /// The fold index (as in `validation.folds[].fold`).
    pub fold: usize,
    /// The row's id.
    #[serde(default)]
    pub id: String,
    /// Its content group.
    #[serde(default)]
    pub group: String,
    /// Its corpus split label, if any.
    #[serde(default)]
    pub split: Option<String>,
    /// The row's MOS (1-5).
    pub mos: f64,
    /// The head's prediction (1-5).
    pub prediction: f64,
    /// The MOS on the native scale of the row's slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_native: Option<f64>,
    /// The prediction on the native scale of the row's slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_native: Option<f64>,
    /// The MOS standard error (1-5), where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_se: Option<f64>,
}

impl ValidationRow {
    fn new(fold: usize, r: &OofRow) -> Self {
        ValidationRow {
            fold,
            id: r.id.clone(),
            group: r.group.clone(),
            split: r.split.clone(),
            mos: r.mos,
            prediction: r.prediction,
            mos_native: r.mos_native,
            prediction_native: r.prediction_native,
            mos_se: r.mos_se,
        }
    }

    fn into_oof(self) -> OofRow {
        OofRow {
            id: self.id,
            group: self.group,
            split: self.split,
            mos: self.mos,
            prediction: self.prediction,
            mos_native: self.mos_native,
            prediction_native: self.prediction_native,
            mos_se: self.mos_se,
        }
    }
}

/// Whether `p` holds every fold's rows of `m` (a fresh run's, or a
/// sidecar read back with [`load_predictions`]).
pub fn has_predictions(m: &Manifest, p: &OofPredictions) -> bool {
    let folds = &m.validation.folds;
    !folds.is_empty()
        && folds.len() == p.folds.len()
        && folds
            .iter()
            .zip(&p.folds)
            .all(|(f, rows)| f.n_eval > 0 && rows.len() == f.n_eval)
}

/// The sidecar text: one [`ValidationRow`] per line, folds in order.
pub fn validation_jsonl(m: &Manifest, p: &OofPredictions) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    for (f, rows) in m.validation.folds.iter().zip(&p.folds) {
        for r in rows {
            serde_json::to_writer(&mut out, &ValidationRow::new(f.fold, r))?;
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// The most of a validation sidecar moshead reads.
pub const VALIDATION_MAX_BYTES: u64 = 1 << 30;

/// Reads the validation sidecar recorded in `m.exports` (or the default
/// name) from `dir`: each fold's rows. Returns `Ok(None)` when no sidecar
/// exists; a sidecar whose hash differs from the recorded one,
/// or whose rows do not match the folds, is an error naming file and line.
pub fn load_predictions(m: &Manifest, dir: &Path) -> Result<Option<OofPredictions>, ExportError> {
    let recorded = m.exports.get(EXPORT_VALIDATION).cloned();
    let name = recorded
        .as_ref()
        .map_or_else(|| Sidecar.file_name(&m.id), |r| r.path.clone());
    let path = dir.join(&name);
    let bytes = match crate::safe_fs::read_bounded(
        &path,
        VALIDATION_MAX_BYTES,
        crate::safe_fs::Links::Follow,
    ) {
        Ok(b) => b,
        Err(e) if e.kind == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e.into())),
    };
    if let Some(r) = &recorded {
        let found = sha256_hex(&bytes);
        if found != r.sha256 {
            return Err(ExportError::Hash {
                path,
                recorded: r.sha256.clone(),
                found,
            });
        }
    }
    let bad = |line: usize, message: String| ExportError::Sidecar {
        path: path.clone(),
        line,
        message,
    };
    let text = String::from_utf8(bytes).map_err(|e| bad(0, e.to_string()))?;
    let index: std::collections::BTreeMap<usize, usize> = m
        .validation
        .folds
        .iter()
        .enumerate()
        .map(|(i, f)| (f.fold, i))
        .collect();
    let mut got: Vec<Vec<OofRow>> = vec![Vec::new(); m.validation.folds.len()];
    for (n, line) in text.lines().enumerate() {
        let row: ValidationRow =
            serde_json::from_str(line).map_err(|e| bad(n + 1, e.to_string()))?;
        let i = *index
            .get(&row.fold)
            .ok_or_else(|| bad(n + 1, format!("fold {} is not in the manifest", row.fold)))?;
        got[i].push(row.into_oof());
    }
    for (f, pairs) in m.validation.folds.iter().zip(&got) {
        if pairs.len() != f.n_eval {
            return Err(bad(
                0,
                format!(
                    "fold {} has {} rows, the manifest says {}",
                    f.fold,
                    pairs.len(),
                    f.n_eval
                ),
            ));
        }
    }
    Ok(Some(OofPredictions { folds: got }))
}
