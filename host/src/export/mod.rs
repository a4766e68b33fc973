//! Exports of a trained head: the ONNX model ([`onnx`]), the model card
//! ([`card`]), SVG plots ([`plots`]) and the run ledger ([`ledger`]);
//! manifest strings enter documents only through [`escape`].
//!
//! Every artefact is derived from the [`Manifest`] alone (plus, for the
//! validation scatter plots, the per-row validation predictions), so
//! `moshead export` can regenerate them from a manifest and they can never
//! drift from it. Files written beside the manifest `<id>.json`:
//!
//! | file | what | recorded in `exports` |
//! |---|---|---|
//! | `<id>.onnx` | the ship head, see [`onnx`] | `onnx` (path, sha256) |
//! | `<id>_vmaf.json` | the head as a libvmaf model, when libvmaf can evaluate it, see [`vmaf`] | `vmaf` |
//! | `<id>_validation.jsonl` | one [`ValidationRow`] per validation row: fold, id, content group, split, MOS and prediction (1-5 and native scale) | `validation_predictions` |
//! | `<id>_card.md` | the model card, see [`card`] | no (a view of the manifest) |
//! | `<id>_validation.svg`, `<id>_loss.svg` | the plots, see [`plots`] | no (views) |
//!
//! The validation predictions live in a sidecar rather than in the
//! manifest: they are data (one line per evaluation row, thousands on a
//! real corpus), the manifest stays a compact description of the model, and
//! the manifest pins the sidecar by sha256, so a re-export refuses a
//! sidecar that is not the one the run wrote.
//!
//! The files are written as one set, all or nothing ([`crate::commit`]):
//! after any interruption the directory holds the previous run's set or
//! this one's, never a mix.

pub mod card;
pub mod escape;
pub mod ledger;
pub mod onnx;
pub mod plots;
pub mod reexport;
pub mod report;
pub mod vmaf;

pub use reexport::{export, ExportRequest, Exported, ReexportError};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::sha256_hex;
use crate::manifest::{FileRecord, Manifest};
use crate::validation::oof::{OofPredictions, OofRow};

/// The `exports` key of the ONNX model.
pub const EXPORT_ONNX: &str = "onnx";
/// The `exports` key of the validation-prediction sidecar.
pub const EXPORT_VALIDATION: &str = "validation_predictions";

/// Errors of exporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The manifest's head cannot be exported as it stands.
    #[error("cannot export the head: {0}")]
    Head(String),
    /// A file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Serialising JSON failed.
    #[error("cannot serialise: {0}")]
    Json(#[from] serde_json::Error),
    /// Drawing a plot failed.
    #[error("cannot draw {what}: {message}")]
    Plot {
        /// The plot.
        what: String,
        /// The backend's message.
        message: String,
    },
    /// A line of the validation sidecar is malformed or inconsistent with
    /// the manifest.
    #[error("{path}:{line}: {message}")]
    Sidecar {
        /// The sidecar.
        path: PathBuf,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Committing the set failed (see [`crate::commit`]).
    #[error(transparent)]
    Commit(#[from] crate::commit::CommitError),
    /// The ledger line cannot be made.
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    /// A file does not have the sha256 the manifest records.
    #[error("{path}: sha256 {found} is not the {recorded} the manifest records")]
    Hash {
        /// The file.
        path: PathBuf,
        /// The recorded hash.
        recorded: String,
        /// The file's hash.
        found: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file names of a model's artefacts (all relative to its directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The model id.
    pub id: String,
}

impl Names {
    /// The names for model `id`.
    pub fn new(id: &str) -> Self {
        Names { id: id.to_owned() }
    }
    /// `<id>.json`.
    pub fn manifest(&self) -> String {
        format!("{}.json", self.id)
    }
    /// `<id>.onnx`.
    pub fn onnx(&self) -> String {
        format!("{}.onnx", self.id)
    }
    /// `<id>_vmaf.json`: the libvmaf model.
    pub fn vmaf(&self) -> String {
        format!("{}_vmaf.json", self.id)
    }
    /// `<id>_validation.jsonl`.
    pub fn validation(&self) -> String {
        format!("{}_validation.jsonl", self.id)
    }
    /// `<id>_card.md`.
    pub fn card(&self) -> String {
        format!("{}_card.md", self.id)
    }
    /// `<id>_validation.svg`: predicted vs MOS per fold.
    pub fn scatter_plot(&self) -> String {
        format!("{}_validation.svg", self.id)
    }
    /// `<id>_loss.svg`: solver loss per iteration.
    pub fn loss_plot(&self) -> String {
        format!("{}_loss.svg", self.id)
    }
    /// `<id>_report.html`: the self-contained report.
    pub fn report(&self) -> String {
        format!("{}_report.html", self.id)
    }
    /// Every file of the set but the manifest: the names moshead writes
    /// for this id, and so the only ones it replaces or removes (never a
    /// name read from a manifest).
    pub fn outputs(&self) -> [String; 7] {
        [
            self.onnx(),
            self.vmaf(),
            self.validation(),
            self.card(),
            self.scatter_plot(),
            self.loss_plot(),
            self.report(),
        ]
    }
    /// Whether `name` is one of this id's files ([`Names::outputs`] or the
    /// manifest).
    pub fn owns(&self, name: &str) -> bool {
        name == self.manifest() || self.outputs().iter().any(|n| n == name)
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
    let names = Names::new(&m.id);
    let recorded = m.exports.get(EXPORT_VALIDATION).cloned();
    let name = recorded
        .as_ref()
        .map_or_else(|| names.validation(), |r| r.path.clone());
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

/// What [`write_bundle`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The directory.
    pub dir: PathBuf,
    /// The manifest.
    pub manifest: PathBuf,
    /// sha256 of the manifest as written.
    pub manifest_sha256: String,
    /// The ONNX model.
    pub onnx: PathBuf,
    /// The validation sidecar, when the folds held predictions.
    pub validation: Option<PathBuf>,
    /// The model card.
    pub card: PathBuf,
    /// The predicted-vs-MOS plot, when the folds held predictions.
    pub validation_plot: Option<PathBuf>,
    /// The solver-loss plot, when a solve iterated.
    pub loss_plot: Option<PathBuf>,
    /// The self-contained HTML report.
    pub report: PathBuf,
    /// The libvmaf model, or why libvmaf cannot evaluate the head.
    pub vmaf: Result<PathBuf, vmaf::Refusal>,
}

impl Bundle {
    /// Every file, by role (`manifest`, `onnx`, ...), as names relative to
    /// [`Bundle::dir`].
    pub fn outputs(&self) -> std::collections::BTreeMap<String, String> {
        let name = |p: &Path| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        let mut out = std::collections::BTreeMap::new();
        out.insert("manifest".into(), name(&self.manifest));
        out.insert("onnx".into(), name(&self.onnx));
        out.insert("card".into(), name(&self.card));
        out.insert("report".into(), name(&self.report));
        if let Some(l) = &self.loss_plot {
            out.insert("loss_plot".into(), name(l));
        }
        if let Some(v) = &self.validation {
            out.insert("validation".into(), name(v));
        }
        if let Some(v) = &self.validation_plot {
            out.insert("validation_plot".into(), name(v));
        }
        if let Ok(v) = &self.vmaf {
            out.insert(vmaf::EXPORT_VMAF.into(), name(v));
        }
        out
    }
}

/// Writes a model's files into `dir` as one set ([`crate::commit`]): the
/// ONNX model and the validation sidecar (the sidecar only when
/// `predictions` hold every fold's rows, see [`has_predictions`]), the
/// plots, the card and the manifest `<id>.json`: `m` with the `exports`
/// it records for the files written, which is returned with the set.
/// Files of the previous set under this id that the new set does not
/// replace (a sidecar, a plot, the libvmaf model: names of
/// [`Names::outputs`], never names read from the old manifest) are
/// removed in the same commit. `dir` must exist and be locked
/// ([`crate::manifest::OutputLock`]).
pub fn write_bundle(
    m: &Manifest,
    predictions: &OofPredictions,
    dir: &Path,
) -> Result<(Manifest, Bundle), ExportError> {
    write_set(m, predictions, dir, false)
}

/// [`write_bundle`], with the run's ledger line ([`ledger::LEDGER_FILE`])
/// appended in the same commit.
pub fn write_bundle_with_ledger(
    m: &Manifest,
    predictions: &OofPredictions,
    dir: &Path,
) -> Result<(Manifest, Bundle), ExportError> {
    write_set(m, predictions, dir, true)
}

fn write_set(
    run: &Manifest,
    predictions: &OofPredictions,
    dir: &Path,
    with_ledger: bool,
) -> Result<(Manifest, Bundle), ExportError> {
    let mut written = run.clone();
    let m = &mut written;
    // `exports` records what this set writes, nothing else: an entry a
    // manifest brought (edited, or from another build) is not carried.
    m.exports.clear();
    let names = Names::new(&m.id);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let onnx_bytes = onnx::to_bytes(m)?;
    m.exports.insert(
        EXPORT_ONNX.into(),
        FileRecord {
            path: names.onnx(),
            sha256: sha256_hex(&onnx_bytes),
        },
    );
    files.push((names.onnx(), onnx_bytes));
    let vmaf = match vmaf::check(m) {
        Ok(_) => {
            let bytes = vmaf::to_bytes(m)?;
            m.exports.insert(
                vmaf::EXPORT_VMAF.into(),
                FileRecord {
                    path: names.vmaf(),
                    sha256: sha256_hex(&bytes),
                },
            );
            files.push((names.vmaf(), bytes));
            Ok(dir.join(names.vmaf()))
        }
        Err(refusal) => {
            m.exports.remove(vmaf::EXPORT_VMAF);
            Err(refusal)
        }
    };
    let validation = if has_predictions(m, predictions) {
        let bytes = validation_jsonl(m, predictions)?;
        m.exports.insert(
            EXPORT_VALIDATION.into(),
            FileRecord {
                path: names.validation(),
                sha256: sha256_hex(&bytes),
            },
        );
        files.push((names.validation(), bytes));
        Some(dir.join(names.validation()))
    } else {
        m.exports.remove(EXPORT_VALIDATION);
        None
    };
    let scatter = plots::validation_svg(m, predictions)?;
    let loss = plots::loss_svg(m)?;
    let mut inline: Vec<(&str, &str)> = Vec::new();
    if let Some(svg) = &scatter {
        inline.push((plots::SCATTER_CAPTION, svg));
    }
    if let Some(svg) = &loss {
        inline.push((plots::LOSS_CAPTION, svg));
    }
    files.push((names.report(), report::render(m, &inline).into_bytes()));
    files.push((
        names.card(),
        card::render(m, scatter.is_some(), loss.is_some()).into_bytes(),
    ));
    let validation_plot = scatter.map(|svg| {
        files.push((names.scatter_plot(), svg.into_bytes()));
        dir.join(names.scatter_plot())
    });
    let loss_plot = loss.map(|svg| {
        files.push((names.loss_plot(), svg.into_bytes()));
        dir.join(names.loss_plot())
    });
    let manifest_bytes = m.to_bytes()?;
    let bundle = Bundle {
        dir: dir.to_path_buf(),
        manifest: dir.join(names.manifest()),
        manifest_sha256: sha256_hex(&manifest_bytes),
        onnx: dir.join(names.onnx()),
        validation,
        card: dir.join(names.card()),
        validation_plot,
        loss_plot,
        report: dir.join(names.report()),
        vmaf,
    };
    // The previous set's files this one does not replace: names derived
    // from the id by moshead's own rule, never names read from the old
    // manifest (which anyone may have edited).
    let remove = names.outputs().to_vec();
    files.push((names.manifest(), manifest_bytes));
    let mut append = Vec::new();
    if with_ledger {
        let entry = ledger::LedgerEntry::new(m, &bundle);
        append.push((ledger::LEDGER_FILE.to_owned(), ledger::line(&entry)?));
    }
    crate::commit::commit(
        dir,
        &crate::commit::Set {
            id: m.id.clone(),
            files,
            remove,
            append,
        },
    )?;
    Ok((written, bundle))
}
