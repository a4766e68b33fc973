//! Model manifests and safe output files.

use std::fs;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file of moshead's own
/// naming in the same directory (created with `O_EXCL`, never through a
/// link), flushed and synced, then renamed over the final name. A crash
/// leaves either the old file or the new one, never a half-written file
/// under the final name. (A run's output set is committed as a whole by
/// [`crate::commit`].)
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(crate::safe_fs::temp_name(name));
    let result = (|| {
        let mut f = crate::safe_fs::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::corpus::InputReport;
use crate::evaluation::folds::Policy;
use crate::evaluation::gate::GateReport;
use crate::evaluation::oof::Pooled;
use crate::evaluation::protocol::FoldResult;
use crate::evaluation::Aggregate;
use crate::selection::SelectionRecord;
use crate::training::{FittedHead, ResolvedSpec, SolveReport, Standardizer};

/// The adapter's default output directory: its environment override when
/// set and non-empty, else its declared directory.
pub fn default_output_dir(d: &moshead_protocol::Descriptor) -> PathBuf {
    d.output_env
        .as_deref()
        .and_then(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(&d.output_dir))
}

/// The manifest format version.
pub const MANIFEST_SCHEMA: &str = "moshead-manifest-v1";

/// Everything that produced a model, and the model itself.
///
/// Written as pretty JSON with a trailing newline; no wall-clock fields, so
/// the same inputs and seed give a byte-identical file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_SCHEMA`].
    pub manifest_schema: String,
    /// The model id of this run (the adapter's, or `--model-id`).
    pub id: String,
    /// The adapter's declared model id.
    pub adapter_model_id: String,
    /// Always `mos`.
    pub kind: String,
    /// The adapter that projected the rows.
    pub adapter: AdapterRecord,
    /// The host that trained.
    pub host: HostRecord,
    /// The feature schema name.
    pub feature_schema: String,
    /// Feature columns, in model order.
    pub feature_order: Vec<String>,
    /// Standardisation fitted on the ship model's training rows.
    pub standardization: Standardizer,
    /// The output range.
    pub mos_range: [f64; 2],
    /// The head: type, hyper-parameters, parameters.
    pub head: HeadRecord,
    /// How the ship model was trained.
    pub training: TrainingRecord,
    /// How the head was validated.
    pub validation: ValidationRecord,
    /// The gate verdict.
    pub gate: GateReport,
    /// The data the run read.
    pub data: DataRecord,
    /// Exported artefacts (name -> file), e.g. the ONNX model.
    #[serde(default)]
    pub exports: BTreeMap<String, FileRecord>,
    /// The command line of the run.
    pub command_line: Vec<String>,
}

/// Identity of the adapter plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterRecord {
    /// Adapter name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// sdk API version it was built against.
    pub api_version: String,
    /// sha256 of the library file.
    pub sha256: String,
    /// The adapter's one-line description of its corpus (empty in
    /// manifests written before it was recorded).
    #[serde(default)]
    pub description: String,
    /// The corpus licence note the adapter declares (empty in manifests
    /// written before it was recorded).
    #[serde(default)]
    pub licence: String,
    /// The adapter's native MOS scale and its map onto 1-5 (absent in
    /// manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mos_scale: Option<moshead_protocol::MosScale>,
    /// libvmaf's name of each feature column that has one (absent in
    /// manifests written before they were recorded); the libvmaf model
    /// export ([`crate::export::vmaf`]) needs one for every column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libvmaf_names: Option<BTreeMap<String, String>>,
    /// The model card's corpus-specific text, as the adapter declares it
    /// (absent in manifests written before it was recorded, and for
    /// adapters that declare none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<moshead_protocol::CardText>,
}

/// Identity of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    /// `moshead`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRecord {
    /// Type and hyper-parameters.
    pub spec: ResolvedSpec,
    /// Number of parameters.
    pub n_parameters: usize,
    /// The flat parameter vector (layout documented per head type).
    pub parameters: Vec<f64>,
}

/// The ship model's training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    /// The seed.
    pub seed: u64,
    /// `train rows` (explicit) or `all non-test rows` (kfold, repeated).
    pub trained_on: String,
    /// Rows it was trained on.
    pub n_rows: usize,
    /// Rows the solver fitted (the rest were the monitor set).
    pub n_fit: usize,
    /// Rows in the early-stopping monitor set.
    pub n_monitor: usize,
    /// The solve.
    pub solve: SolveReport,
    /// How the ship model's head was chosen by inner CV on its training
    /// rows (`--head auto`, or a small corpus's stopping and decay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionRecord>,
}

impl TrainingRecord {
    /// One line on how the ship model was trained, for summaries and cards:
    /// `train rows (456 rows: 408 fitted, 48 monitor); 21 iterations, ...`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} rows: {} fitted, {} early-stopping monitor); {} iterations, {}",
            self.trained_on,
            self.n_rows,
            self.n_fit,
            self.n_monitor,
            self.solve.iterations,
            self.solve.termination
        ) + &self.selection.as_ref().map_or_else(String::new, |s| {
            format!(
                "; chosen by {}-fold inner CV on {} rows: {}",
                s.inner_folds, s.inner_rows, s.chosen
            )
        })
    }
}

/// The validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRecord {
    /// The policy name (`explicit-corpus-split`, `5-fold-grouped`, ...).
    pub name: String,
    /// The policy.
    pub policy: Policy,
    /// Per fold.
    pub folds: Vec<FoldResult>,
    /// The head's aggregate over folds.
    pub aggregate: Aggregate,
    /// Each baseline's aggregate over the same folds.
    pub baselines: BTreeMap<String, Aggregate>,
    /// The metrics of the pooled out-of-fold predictions, the head's and
    /// each baseline's (absent in manifests written before they were
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooled: Option<Pooled>,
}

/// The data a run read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRecord {
    /// Whether every row was synthetic (the synthetic gate applies).
    pub synthetic: bool,
    /// Rows projected.
    pub rows: u64,
    /// Rows dropped.
    pub dropped: u64,
    /// Drops by reason.
    pub drops: BTreeMap<String, u64>,
    /// Rows per split.
    pub splits: BTreeMap<String, u64>,
    /// Content groups.
    pub groups: u64,
    /// Reference rows kept.
    pub include_references: bool,
    /// Each input.
    pub inputs: Vec<InputReport>,
    /// Context documents `(slot, path, sha256)`.
    pub context: Vec<(String, String, String)>,
    /// Per feature column, in feature order: the rows whose value was filled
    /// (missing or non-finite). Empty in manifests written before it was recorded.
    #[serde(default)]
    pub filled: Vec<ColumnFill>,
    /// The native MOS scale of each row slot read, by slot. Empty in
    /// manifests written before it was recorded.
    #[serde(default)]
    pub mos_scales: BTreeMap<String, moshead_protocol::MosScale>,
}

/// How many rows had one feature column filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnFill {
    /// The feature column.
    pub column: String,
    /// Rows whose value was filled with 0.0.
    pub filled: u64,
}

/// A file written beside the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// The file name (relative to the manifest).
    pub path: String,
    /// Its sha256.
    pub sha256: String,
}

/// Errors of reading a manifest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON does not match the manifest format.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The content is inconsistent (e.g. edited by hand).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// The manifest as written: pretty JSON and a trailing newline.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Reads and checks a manifest, first completing a commit interrupted
    /// in its directory (see [`crate::commit`]).
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        settle(dir).map_err(|message| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        let file = crate::safe_fs::open_read(path).map_err(|e| ManifestError::Io {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        let text = std::io::read_to_string(file).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks manifest text (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| ManifestError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if m.manifest_schema != MANIFEST_SCHEMA {
            return Err(invalid(format!(
                "manifest schema `{}` is not `{MANIFEST_SCHEMA}`",
                m.manifest_schema
            )));
        }
        crate::model_id::check(&m.id).map_err(|e| invalid(format!("`id`: {e}")))?;
        for (key, r) in &m.exports {
            if !crate::commit::is_plain_name(&r.path) || r.path.starts_with('.') {
                return Err(invalid(format!(
                    "export `{key}` names `{}`, which is not a plain file name beside the manifest",
                    r.path.escape_debug()
                )));
            }
        }
        if m.head.n_parameters != m.head.parameters.len() {
            return Err(invalid(format!(
                "n_parameters says {} but {} parameters are stored",
                m.head.n_parameters,
                m.head.parameters.len()
            )));
        }
        m.fitted()
            .check_shape(m.feature_order.len())
            .map_err(invalid)?;
        Ok(m)
    }

    /// The ship model as a [`FittedHead`].
    pub fn fitted(&self) -> FittedHead {
        FittedHead {
            spec: self.head.spec.clone(),
            standardizer: self.standardization.clone(),
            params: self.head.parameters.clone(),
            solve: self.training.solve.clone(),
            n_fit: self.training.n_fit,
            n_monitor: self.training.n_monitor,
        }
    }
}

/// An exclusive lock on an output directory, held for the life of a run, so
/// two runs into one directory cannot interleave their writes.
///
/// The lock is an OS file lock on `<dir>/.moshead.lock` (released by the OS
/// when the process dies, even by SIGKILL), opened without following a
/// link (a symbolic link there is an error naming it). While holding it,
/// a commit interrupted in the directory is completed ([`crate::commit`])
/// and the temporary files of moshead processes that no longer run are
/// removed (only names of moshead's own making, [`crate::safe_fs`]).
#[derive(Debug)]
pub struct OutputLock {
    _file: fs::File,
}

/// The lock file's name.
pub const LOCK_FILE: &str = ".moshead.lock";

impl OutputLock {
    /// Takes the lock on `dir` (created if needed), or fails at once with a
    /// message naming the directory and the holder's pid.
    pub fn acquire(dir: &Path) -> Result<OutputLock, String> {
        Self::acquire_within(dir, std::time::Duration::ZERO)
    }

    /// Like [`OutputLock::acquire`], retrying for up to `wait`.
    pub fn acquire_within(dir: &Path, wait: std::time::Duration) -> Result<OutputLock, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = crate::safe_fs::open_rw(&path, false).map_err(|e| e.to_string())?;
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = std::io::Read::read_to_string(&mut file, &mut holder);
                    return Err(format!(
                        "another moshead run is writing to {} (lock {} held by pid {}); wait for it or choose another --out",
                        dir.display(),
                        path.display(),
                        holder.trim()
                    ));
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(format!("{}: cannot lock: {e}", path.display()))
                }
            }
        }
        let _ = file.set_len(0);
        let _ = std::io::Seek::rewind(&mut file);
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        // First complete an interrupted commit (its staged files are
        // temporaries of a dead process), then clean the rest.
        crate::commit::recover(dir).map_err(|e| e.to_string())?;
        crate::safe_fs::remove_stale_temps(dir);
        Ok(OutputLock { _file: file })
    }
}

/// Completes a commit interrupted in `dir`, if any (taking the output lock
/// for it, waiting up to 10 s for a run that is committing there). A
/// directory without one is not touched.
pub fn settle(dir: &Path) -> Result<(), String> {
    if crate::commit::pending(dir) {
        OutputLock::acquire_within(dir, std::time::Duration::from_secs(10))?;
    }
    Ok(())
}
