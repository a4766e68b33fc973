//! Exports of a trained head: every file of a model's set but the
//! manifest is an [`Export`], a type behind one trait (its file name from
//! the model id, whether it applies to a model and run, how it is written,
//! what it adds to the card), listed once in [`EXPORTS`]. The commit
//! journal ([`Names::owns`]), `predict`'s output guard
//! ([`crate::scoring::guard`]), the set written here ([`write_bundle`],
//! [`Bundle`]), re-export ([`reexport`]), `--export` and the card all
//! iterate that list; adding an export is one new file and one line in it.
//! Manifest strings enter documents only through [`escape`].
//!
//! Every artefact is derived from the [`Manifest`] alone (plus, for the
//! validation sidecar and scatter plot, the per-row validation
//! predictions), so `moshead export` can regenerate them from a manifest
//! and they can never drift from it. Files written beside the manifest
//! `<id>.json`:
//!
//! | file | what | recorded in `exports` |
//! |---|---|---|
//! | `<id>.onnx` | the ship head, see [`onnx`] | `onnx` (path, sha256) |
//! | `<id>_vmaf.json` | the head as a libvmaf model, when libvmaf can evaluate it, see [`vmaf`] | `vmaf` |
//! | `<id>_vmaf_b.json` | a libvmaf model collection: the head and N heads refitted on resamples of contents (`--export vmaf-bootstrap`), see [`vmaf_bootstrap`] | `vmaf-bootstrap` |
//! | `<id>_validation.jsonl` | one [`ValidationRow`] per validation row, see [`validation`] | `validation_predictions` |
//! | `<id>_validation.svg`, `<id>_loss.svg` | the plots, see [`plots`] | no (views) |
//! | `<id>_selection.svg` | the ship model's selection as a plot, see [`selection_plot`] | no (a view) |
//! | `<id>_report.html` | the self-contained report, see [`report`] | no (a view) |
//! | `<id>_card.md` | the model card, see [`card`] | no (a view of the manifest) |
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
pub mod selection_plot;
pub mod validation;
pub mod vmaf;
pub mod vmaf_bootstrap;

pub use onnx::EXPORT_ONNX;
pub use reexport::{export, export_requiring, ExportRequest, Exported, ReexportError};
pub use validation::{
    has_predictions, load_predictions, validation_jsonl, ValidationRow, EXPORT_VALIDATION,
    VALIDATION_MAX_BYTES,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::manifest::{FileRecord, Manifest};
use crate::validation::oof::OofPredictions;

/// Every export of a model's set, in the order they are made: an export
/// sees the files made before it ([`SetContext::written`]) and the
/// manifest's `exports` as recorded so far, so the views (plots, report,
/// card) come after the files they describe.
pub static EXPORTS: &[&dyn Export] = &[
    &onnx::Onnx,
    &vmaf::Vmaf,
    &vmaf_bootstrap::VmafBootstrap,
    &validation::Sidecar,
    &plots::Scatter,
    &plots::Loss,
    &selection_plot::SelectionPlot,
    &report::Report,
    &card::Card,
];

/// The export asked for by `--export flag`, if any.
pub fn by_flag(flag: &str) -> Option<&'static dyn Export> {
    EXPORTS.iter().copied().find(|e| e.flag() == Some(flag))
}

/// The values `--export` takes: the flags of [`EXPORTS`].
pub fn flags() -> Vec<&'static str> {
    EXPORTS.iter().filter_map(|e| e.flag()).collect()
}

/// What an export made of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// Nothing, with nothing to say (no predictions to plot, no solve that
    /// iterated, an export the run did not ask for).
    Skipped,
    /// Nothing, because the model cannot be expressed in it: why (said in
    /// a note when the export was not asked for, an error when it was).
    Refused(String),
}

/// What an export is made from: the manifest as recorded so far (its
/// `exports` hold every recorded export listed before this one), the run's
/// validation predictions, and the files made before it, by role.
#[derive(Debug, Clone, Copy)]
pub struct SetContext<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// The validation predictions (empty when there are none).
    pub predictions: &'a OofPredictions,
    written: &'a BTreeMap<&'static str, Vec<u8>>,
}

impl SetContext<'_> {
    /// The bytes of the export of `role` made before this one, if it was.
    pub fn written(&self, role: &str) -> Option<&[u8]> {
        self.written.get(role).map(Vec::as_slice)
    }
}

/// What an export asked for at `train` may read to record what it needs
/// in the manifest ([`Export::train`]), beside the trained manifest.
#[derive(Debug, Clone, Copy)]
pub struct TrainContext<'a> {
    /// The run's rows.
    pub dataset: &'a crate::corpus::Dataset,
    /// How many heads the libvmaf bootstrap collection refits
    /// ([`vmaf_bootstrap`]).
    pub bootstrap_models: usize,
    /// Progress.
    pub status: &'a crate::training::Status,
}

/// One file of a model's set (every file but the manifest). Implement it
/// in a file of its own and list it once in [`EXPORTS`]: the set, the
/// commit journal, `predict`'s output guard, re-export, `--export` and the
/// card take it from there.
pub trait Export: Sync {
    /// Its role: the key of [`Bundle::outputs`] (and of the ledger's
    /// `outputs`), e.g. `onnx`, `validation_plot`.
    fn role(&self) -> &'static str;
    /// The key under which the manifest's `exports` records its path and
    /// sha256, or `None` for a view (the card, the plots, the report).
    fn recorded(&self) -> Option<&'static str> {
        None
    }
    /// The `--export` value that requires it, for an export that may be
    /// refused or must be asked for.
    fn flag(&self) -> Option<&'static str> {
        None
    }
    /// Its file name for model `id` (the only name moshead writes, replaces
    /// or removes for it: never a name read from a manifest).
    fn file_name(&self, id: &str) -> String;
    /// What the file is, for messages (`the model's ONNX export`).
    fn what(&self) -> &'static str;
    /// Why a head of type `kind` can never be expressed in it (checked
    /// before any work when `--export` requires it).
    fn head_refusal(&self, _kind: crate::training::HeadKind) -> Option<String> {
        None
    }
    /// Whether it can be made for `m` as `--export` requires it: why not.
    fn check(&self, _m: &Manifest) -> Result<(), String> {
        Ok(())
    }
    /// At `train`, when `--export` asks for it: records in `m` what it
    /// needs from the training rows (its file is made from the manifest
    /// alone, so `moshead export` makes it again).
    fn train(&self, _m: &mut Manifest, _cx: &TrainContext<'_>) -> Result<(), ExportError> {
        Ok(())
    }
    /// Makes it (or says why not).
    fn write(&self, cx: &SetContext<'_>) -> Result<Written, ExportError>;
    /// A caption, for a figure the HTML report shows inline.
    fn caption(&self) -> Option<&'static str> {
        None
    }
    /// Rows `[what, value]` of the card's model table.
    fn card_rows(&self, _m: &Manifest) -> Vec<[String; 2]> {
        Vec::new()
    }
}

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

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file names of a model's set (all relative to its directory).
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
    /// The file of `export`.
    pub fn of(&self, export: &dyn Export) -> String {
        export.file_name(&self.id)
    }
    /// The file of the listed export of role `role` ([`Export::role`]),
    /// or `""` when none is listed.
    pub fn by_role(&self, role: &str) -> String {
        EXPORTS
            .iter()
            .find(|e| e.role() == role)
            .map_or_else(String::new, |e| self.of(*e))
    }
    /// Every file of the set but the manifest ([`EXPORTS`]): the names
    /// moshead writes for this id, and so the only ones it replaces or
    /// removes (never a name read from a manifest).
    pub fn outputs(&self) -> Vec<String> {
        EXPORTS.iter().map(|e| self.of(*e)).collect()
    }
    /// Whether `name` is one of this id's files ([`Names::outputs`] or the
    /// manifest).
    pub fn owns(&self, name: &str) -> bool {
        name == self.manifest() || EXPORTS.iter().any(|e| self.of(*e) == name)
    }
}

/// An export the set does not hold because the model cannot be expressed
/// in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The export's role.
    pub role: &'static str,
    /// The file it would have been.
    pub file: String,
    /// Why not.
    pub reason: String,
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
    /// Every other file written, by role ([`Export::role`]).
    pub files: BTreeMap<&'static str, PathBuf>,
    /// The exports the model cannot be expressed in, in list order.
    pub refused: Vec<Refused>,
}

impl Bundle {
    /// Every file, by role (`manifest`, `onnx`, ...), as names relative to
    /// [`Bundle::dir`].
    pub fn outputs(&self) -> BTreeMap<String, String> {
        let name = |p: &Path| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        };
        let mut out = BTreeMap::new();
        out.insert("manifest".into(), name(&self.manifest));
        for (role, path) in &self.files {
            out.insert((*role).to_owned(), name(path));
        }
        out
    }

    /// The file written for the export of `role`, if it was.
    pub fn file(&self, role: &str) -> Option<&Path> {
        self.files.get(role).map(PathBuf::as_path)
    }
}

/// Writes a model's files into `dir` as one set ([`crate::commit`]): every
/// export of [`EXPORTS`] that applies (the validation sidecar only when
/// `predictions` hold every fold's rows, see [`has_predictions`]) and the
/// manifest `<id>.json`: `m` with the `exports` it records for the files
/// written, which is returned with the set. Files of the previous set
/// under this id that the new set does not replace (a sidecar, a plot, the
/// libvmaf model: names of [`Names::outputs`], never names read from the
/// old manifest) are removed in the same commit. `dir` must exist and be
/// locked ([`crate::manifest::OutputLock`]).
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
    let mut m = run.clone();
    // `exports` records what this set writes, nothing else: an entry a
    // manifest brought (edited, or from another build) is not carried.
    m.exports.clear();
    let names = Names::new(&m.id);
    let mut written: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
    let mut order: Vec<(String, &'static str)> = Vec::new();
    let mut refused = Vec::new();
    for e in EXPORTS {
        let cx = SetContext {
            manifest: &m,
            predictions,
            written: &written,
        };
        let name = names.of(*e);
        match e.write(&cx)? {
            Written::Bytes(bytes) => {
                if let Some(key) = e.recorded() {
                    let sha256 = sha256_hex(&bytes);
                    let path = name.clone();
                    m.exports.insert(key.into(), FileRecord { path, sha256 });
                }
                written.insert(e.role(), bytes);
                order.push((name, e.role()));
            }
            Written::Skipped => {}
            Written::Refused(reason) => refused.push(Refused {
                role: e.role(),
                file: name,
                reason,
            }),
        }
    }
    let files_by_role = order
        .iter()
        .map(|(name, role)| (*role, dir.join(name)))
        .collect();
    let mut files: Vec<(String, Vec<u8>)> = order
        .into_iter()
        .map(|(name, role)| (name, written.remove(role).unwrap_or_default()))
        .collect();
    let manifest_bytes = m.to_bytes()?;
    let bundle = Bundle {
        dir: dir.to_path_buf(),
        manifest: dir.join(names.manifest()),
        manifest_sha256: sha256_hex(&manifest_bytes),
        files: files_by_role,
        refused,
    };
    // The previous set's files this one does not replace: names derived
    // from the id by moshead's own rule, never names read from the old
    // manifest (which anyone may have edited).
    let remove = names.outputs();
    files.push((names.manifest(), manifest_bytes));
    let mut append = Vec::new();
    if with_ledger {
        let entry = ledger::LedgerEntry::new(&m, &bundle);
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
    Ok((m, bundle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list is what the journal, the guard and the set rely on: every
    /// export has a file, a role and (if recorded) a key of its own, each
    /// a plain name of the id it is derived from.
    #[test]
    fn every_export_has_its_own_file_role_and_key() {
        let names = Names::new("m");
        let files = names.outputs();
        let roles: Vec<&str> = EXPORTS.iter().map(|e| e.role()).collect();
        let keys: Vec<&str> = EXPORTS.iter().filter_map(|e| e.recorded()).collect();
        for list in [
            files.iter().map(String::as_str).collect::<Vec<_>>(),
            roles.clone(),
            keys,
            flags(),
        ] {
            let mut sorted = list.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len(), "{list:?}");
        }
        assert!(!roles.contains(&"manifest"), "{roles:?}");
        for f in &files {
            assert!(crate::commit::is_plain_name(f) && f.starts_with('m'), "{f}");
            assert!(names.owns(f) && *f != names.manifest(), "{f}");
        }
        assert!(names.owns("m.json") && !names.owns("n.onnx") && !names.owns("ledger.jsonl"));
        assert_eq!(flags(), ["vmaf", "vmaf-bootstrap"]);
        assert!(by_flag("vmaf-bootstrap").is_some() && by_flag("onnx").is_none());
    }
}
