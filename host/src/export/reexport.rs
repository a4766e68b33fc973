//! Re-exporting a trained model as a library operation: a manifest in, its
//! whole output set (every export of [`super::EXPORTS`] that applies: ONNX,
//! libvmaf model where it can be expressed, validation sidecar, card,
//! plots, the manifest with its `exports` updated) written again into a
//! directory, and what was written out.

use std::path::{Path, PathBuf};

use super::{load_predictions, write_bundle, Bundle, ExportError, EXPORT_ONNX};
use crate::manifest::{Manifest, ManifestError, OutputLock};
use crate::validation::oof::OofPredictions;

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    /// The model manifest.
    pub model: &'a Path,
    /// The output directory (the manifest's own when `None`).
    pub out: Option<&'a Path>,
    /// Replace another model's files of the same id in the output directory.
    pub force: bool,
    /// The libvmaf model must be written (an error when the head or schema
    /// cannot be expressed in it); [`export_requiring`] requires any
    /// export by its `--export` value.
    pub require_vmaf: bool,
}

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    /// The manifest as written, its `exports` updated.
    pub manifest: Manifest,
    /// The files.
    pub bundle: Bundle,
    /// Whether the validation predictions were found beside the source
    /// manifest (without them the predicted-vs-MOS plot is not drawn).
    pub predictions_found: bool,
    /// The ONNX sha256 the manifest recorded and the new one, when they
    /// differ.
    pub onnx_changed: Option<(String, String)>,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReexportError {
    /// The manifest cannot be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// An export was required and cannot be written.
    #[error("{what} cannot be written: {reason}")]
    Refused {
        /// The export's `--export` value.
        flag: &'static str,
        /// What it is.
        what: &'static str,
        /// Why not.
        reason: String,
    },
    /// No export takes this `--export` value.
    #[error("no export is called `{0}`")]
    Unknown(String),
    /// The output directory is locked by another run, or cannot be locked.
    #[error("{0}")]
    Lock(#[from] crate::manifest::LockError),
    /// The output directory holds another model's manifest under this id.
    #[error("{target} holds another model's manifest (not {source_manifest}); pass --force to replace that model's files")]
    AnotherModel {
        /// The manifest there.
        target: PathBuf,
        /// The manifest exported.
        source_manifest: PathBuf,
    },
    /// Writing the set failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Exports the model `req.model` into `req.out` (locked for the time of
/// the export, as `moshead train` locks it).
pub fn export(req: &ExportRequest<'_>) -> Result<Exported, ReexportError> {
    let vmaf = [super::vmaf::EXPORT_VMAF];
    export_requiring(req, if req.require_vmaf { &vmaf } else { &[] })
}

/// [`export`], requiring the exports whose `--export` values are
/// `required` (each an error when the model cannot be expressed in it,
/// before anything is written).
pub fn export_requiring(
    req: &ExportRequest<'_>,
    required: &[&str],
) -> Result<Exported, ReexportError> {
    let required = required
        .iter()
        .map(|f| super::by_flag(f).ok_or_else(|| ReexportError::Unknown((*f).to_owned())))
        .collect::<Result<Vec<_>, _>>()?;
    let src = req
        .model
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let out = req.out.map_or_else(|| src.clone(), Path::to_path_buf);
    // An export rewrites the manifest, so it must not interleave with a run
    // writing into the same directory; taking the lock completes a commit
    // interrupted there, before the manifest is read. The manifest's own
    // directory is not locked when `out` is elsewhere: it may be
    // read-only (a commit pending there is reported, not applied).
    let _lock = OutputLock::acquire(&out)?;
    let m = Manifest::load(req.model)?;
    for e in required {
        e.check(&m).map_err(|reason| ReexportError::Refused {
            flag: e.flag().unwrap_or_default(),
            what: e.what(),
            reason,
        })?;
    }
    let target = out.join(super::Names::new(&m.id).manifest());
    if !req.force && holds_another_model(req.model, &m, &target) {
        return Err(ReexportError::AnotherModel {
            target,
            source_manifest: req.model.to_path_buf(),
        });
    }
    let predictions = load_predictions(&m, &src)?;
    let before = m.exports.get(EXPORT_ONNX).map(|r| r.sha256.clone());
    let (m, bundle) = write_bundle(
        &m,
        predictions.as_ref().unwrap_or(&OofPredictions::default()),
        &out,
    )?;
    let after = m.exports.get(EXPORT_ONNX).map(|r| r.sha256.clone());
    let onnx_changed = match (before, after) {
        (Some(b), Some(a)) if a != b => Some((b, a)),
        _ => None,
    };
    Ok(Exported {
        manifest: m,
        bundle,
        predictions_found: predictions.is_some(),
        onnx_changed,
    })
}

/// Whether `target` exists and holds another model than `m`: not the
/// manifest `source` itself, and not the same model (equal in everything
/// but the recorded exports, as an earlier export of `m` is).
fn holds_another_model(source: &Path, m: &Manifest, target: &Path) -> bool {
    let read = crate::safe_fs::read_bounded(
        target,
        crate::manifest::MANIFEST_MAX_BYTES,
        crate::safe_fs::Links::Follow,
    );
    let Some(text) = read.ok().and_then(|b| String::from_utf8(b).ok()) else {
        return std::fs::symlink_metadata(target).is_ok();
    };
    let same_file = match (std::fs::canonicalize(source), std::fs::canonicalize(target)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file {
        return false;
    }
    match Manifest::parse(target, &text) {
        Ok(mut there) => {
            let mut here = m.clone();
            there.exports.clear();
            here.exports.clear();
            there != here
        }
        Err(_) => true,
    }
}
