//! The model manifest, the on-disk record of a run and its model
//! ([`MANIFEST_SCHEMA`]); reading it, including files of the previous
//! format ([`read`]); and safe output files (atomic writes, the output lock).
//!
//! The records are the manifest's own types ([`SpecRecord`],
//! [`StandardizationRecord`], [`SolveRecord`], [`FoldRecord`], the records
//! below), built by [`crate::pipeline`] in one place from the training
//! structs, which may change without changing the format; `export` adds
//! only the `exports` entries of the files it writes. Value types the
//! format embeds as they are (the metrics and aggregates, the gate report,
//! the validation policy, the input reports, the selection and SVR/ridge
//! records, [`crate::training::Termination`]) are part of it: the golden
//! skeleton test pins their shape, and a change that an older reader would
//! refuse bumps [`MANIFEST_SCHEMA`], with the previous version read as
//! [`read`] says.

mod files;
pub mod head;
pub mod read;
pub mod warnings;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::corpus::ColumnFill;
use crate::corpus::InputReport;
use crate::evaluation::folds::Policy;
use crate::evaluation::gate::GateReport;
use crate::evaluation::{Aggregate, Metrics};
use crate::selection::SelectionRecord;
use crate::validation::oof::Pooled;
use crate::validation::protocol::FoldResult;

pub use files::{default_output_dir, settle, write_atomic, LockError, OutputLock, LOCK_FILE};
pub use head::{SolveRecord, SpecRecord, StandardizationRecord};
pub use read::MANIFEST_MAX_BYTES;

/// The manifest format this build writes.
pub const MANIFEST_SCHEMA: &str = "moshead-manifest-v2";
/// The previous format, read and migrated (see [`read`]).
pub const MANIFEST_SCHEMA_V1: &str = "moshead-manifest-v1";

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
    /// What the model predicts.
    pub kind: ModelKind,
    /// The adapter that projected the rows.
    pub adapter: AdapterRecord,
    /// The host that trained.
    pub host: HostRecord,
    /// The feature schema name.
    pub feature_schema: String,
    /// Feature columns, in model order.
    pub feature_order: Vec<String>,
    /// Standardisation fitted on the ship model's training rows.
    pub standardization: StandardizationRecord,
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
    /// The per-clip prediction intervals `predict` writes (absent in
    /// manifests written before they were recorded, and where too few
    /// contents calibrate them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction_intervals: Option<crate::evaluation::conformal::PredictionIntervalRecord>,
    /// Heads refitted on resamples of contents, for the libvmaf bootstrap
    /// collection (`--export vmaf-bootstrap`; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapRecord>,
    /// What the reader should know about the run's figures (empty in
    /// manifests written before warnings were recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::manifest::warnings::Warning>,
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
    /// The study file the adapter served, when it is one (the built-in
    /// study plugin's `sha256` is the library's above): `predict` and
    /// `validate` refuse a changed study file as they refuse a changed
    /// plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<StudyRecord>,
}

/// A study file as a model records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyRecord {
    /// Where it was read (absolute when it could be made so).
    pub path: PathBuf,
    /// sha256 of its bytes.
    pub sha256: String,
    /// Its text, as trained on.
    pub text: String,
}

impl From<&crate::registry::StudySource> for StudyRecord {
    fn from(s: &crate::registry::StudySource) -> Self {
        StudyRecord {
            path: std::path::absolute(&s.path).unwrap_or_else(|_| s.path.clone()),
            sha256: s.sha256.clone(),
            text: s.text.clone(),
        }
    }
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
    pub spec: SpecRecord,
    /// Number of parameters.
    pub n_parameters: usize,
    /// The flat parameter vector (layout documented per head type).
    pub parameters: Vec<f64>,
}

/// Heads refitted on cluster-bootstrap resamples of the ship model's
/// training contents, with the ship head's hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapRecord {
    /// How the resamples were drawn and the heads refitted.
    pub method: String,
    /// The seed of the resamples (model `b`, 1-based, is fitted with
    /// seed + b).
    pub seed: u64,
    /// The refitted heads, in order (libvmaf's models 1..N).
    pub models: Vec<BootstrapModel>,
}

/// One refitted head of a [`BootstrapRecord`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapModel {
    /// The standardisation of its resample.
    pub standardization: StandardizationRecord,
    /// The head.
    pub head: HeadRecord,
}

/// The ship model's training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    /// The seed.
    pub seed: u64,
    /// Which rows the ship model was trained on.
    pub trained_on: TrainedOn,
    /// Rows it was trained on.
    pub n_rows: usize,
    /// Rows the solver fitted (the rest were the monitor set).
    pub n_fit: usize,
    /// Rows in the early-stopping monitor set.
    pub n_monitor: usize,
    /// The solve.
    pub solve: SolveRecord,
    /// How the ship model's head was chosen by inner CV on its training
    /// rows (`--head auto`, or a small corpus's stopping and decay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionRecord>,
    /// The consumer the head was trained for (`--for libvmaf`): which
    /// candidates `auto` could not choose because of it. Absent when the
    /// head was chosen among every candidate (and in manifests written
    /// before this was recorded, where `--export vmaf` restricted `auto`
    /// without saying so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_for: Option<TrainedFor>,
}

/// A restriction of the heads a run could choose, named by its consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainedFor {
    /// The consumer (`libvmaf`).
    pub target: String,
    /// Why: what the consumer can evaluate.
    pub rule: String,
    /// The `auto` candidates left out (empty for a fixed head the consumer
    /// accepts).
    pub excluded: Vec<String>,
}

impl TrainedFor {
    /// One line for summaries and cards.
    pub fn describe(&self) -> String {
        let left = if self.excluded.is_empty() {
            String::new()
        } else {
            format!(
                "; left out {} candidate(s): {}",
                self.excluded.len(),
                self.excluded.join(", ")
            )
        };
        format!("trained for {} ({}){left}", self.target, self.rule)
    }
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
    pub folds: Vec<FoldRecord>,
    /// The head's aggregate over folds.
    pub aggregate: Aggregate,
    /// Each baseline's aggregate over the same folds.
    pub baselines: BTreeMap<String, Aggregate>,
    /// The metrics of the pooled out-of-fold predictions, the head's and
    /// each baseline's (absent in manifests written before they were
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooled: Option<Pooled>,
    /// The RMSE figures on each row slot's native MOS scale (absent in
    /// manifests written before they were recorded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub native_rmse: BTreeMap<String, crate::evaluation::native::NativeRmse>,
}

impl ValidationRecord {
    /// The native-scale RMSE record when the rows have one native scale
    /// (one slot with a scale); `None` with none or several.
    pub fn single_native(&self) -> Option<&crate::evaluation::native::NativeRmse> {
        match self.native_rmse.values().collect::<Vec<_>>()[..] {
            [n] => Some(n),
            _ => None,
        }
    }
}

/// One validation fold as recorded: its sizes, the head's and baselines'
/// metrics, the solve and how the head was chosen (its out-of-fold
/// predictions go to the validation sidecar, not here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldRecord {
    /// 0-based index.
    pub fold: usize,
    /// The fold's seed.
    pub seed: u64,
    /// Training rows.
    pub n_train: usize,
    /// Evaluation rows.
    pub n_eval: usize,
    /// Content groups trained on.
    pub groups_train: usize,
    /// Content groups evaluated.
    pub groups_eval: usize,
    /// The head's metrics.
    pub head: Metrics,
    /// Baseline metrics by name.
    pub baselines: BTreeMap<String, Metrics>,
    /// The head's solve.
    pub solve: SolveRecord,
    /// How this fold's head was chosen by inner CV on the fold's training
    /// rows (`--head auto`, or a small corpus's stopping and decay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionRecord>,
}

impl From<&FoldResult> for FoldRecord {
    fn from(f: &FoldResult) -> Self {
        FoldRecord {
            fold: f.fold,
            seed: f.seed,
            n_train: f.n_train,
            n_eval: f.n_eval,
            groups_train: f.groups_train,
            groups_eval: f.groups_eval,
            head: f.head.clone(),
            baselines: f.baselines.clone(),
            solve: SolveRecord::from(&f.solve),
            selection: f.selection.clone(),
        }
    }
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
    /// Context documents (a v1 file's `[slot, path, sha256]` arrays read
    /// as records).
    #[serde(deserialize_with = "read::context")]
    pub context: Vec<ContextRecord>,
    /// Per feature column, in feature order: the rows whose value was filled
    /// (missing or non-finite). Empty in manifests written before it was recorded.
    #[serde(default)]
    pub filled: Vec<ColumnFill>,
    /// The native MOS scale of each row slot read, by slot. Empty in
    /// manifests written before it was recorded.
    #[serde(default)]
    pub mos_scales: BTreeMap<String, moshead_protocol::MosScale>,
    /// How frames were pooled, for rows read from libvmaf logs: the head
    /// saw each clip's frame-averaged features, while libvmaf scores each
    /// frame and averages the scores. Absent for other inputs (and in
    /// manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_pooling: Option<String>,
    /// When no two rows share a content (no grouping key, or one that
    /// groups nothing): [`EACH_ROW_CONTENT`], what that means for the
    /// folds. Absent when rows are grouped (and in manifests written before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each_row_content: Option<String>,
    /// Per labels table of raw votes: the subjective model and its account.
    /// Absent when the labels held a MOS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjective: Vec<crate::corpus::labels::SubjectiveReport>,
}

impl DataRecord {
    /// The subjective model the run recovered its MOS with (the default
    /// when it read no votes): `validate` and `predict` read votes the same way.
    pub fn subjective_model(&self) -> moshead_subjective::SubjectiveModel {
        self.subjective
            .first()
            .and_then(|s| s.model.parse().ok())
            .unwrap_or_default()
    }
}

/// [`DataRecord::each_row_content`]'s statement.
pub const EACH_ROW_CONTENT: &str = "every row is its own content (no two rows share one): \
     encodes of one source can fall on both sides of a fold, so the validation figures can be \
     optimistic; name the content (a study file's `columns.content` or `contents.id_before_last`)";

impl DataRecord {
    /// [`DataRecord::each_row_content`] for `rows` rows in `groups` groups.
    pub fn each_row_statement(rows: u64, groups: u64) -> Option<String> {
        (rows > 1 && groups == rows).then(|| EACH_ROW_CONTENT.to_owned())
    }
}

/// [`DataRecord::frame_pooling`]'s statement.
pub const FRAME_POOLING: &str = "trained and validated on features averaged over each clip's \
    frames (the libvmaf log's pooled means); libvmaf's `--model` scores every frame and averages \
    the scores, which equals the head on averaged features for a ridge head and differs slightly \
    for an SVR; the validation figures describe the head on frame-averaged features, as \
    `moshead predict` computes it";

/// A context document a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRecord {
    /// Its slot.
    pub slot: String,
    /// Its path, as given.
    pub path: String,
    /// Its sha256.
    pub sha256: String,
}

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A mean opinion score.
    Mos,
}

/// Which rows a ship model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainedOn {
    /// The `train` rows of the corpus's explicit split (the validated
    /// fold's head).
    #[serde(rename = "train rows")]
    TrainRows,
    /// Every row not in split `test` (a refit after k-fold validation).
    #[serde(rename = "all non-test rows")]
    AllNonTestRows,
}

impl TrainedOn {
    /// `train rows` or `all non-test rows`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrainedOn::TrainRows => "train rows",
            TrainedOn::AllNonTestRows => "all non-test rows",
        }
    }
}

impl std::fmt::Display for TrainedOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// The native RMSE of each slot in `scales`, from the head-scale figures.
pub fn native_rmse(
    scales: &BTreeMap<String, moshead_protocol::MosScale>,
    v: &ValidationRecord,
) -> BTreeMap<String, crate::evaluation::native::NativeRmse> {
    scales
        .iter()
        .filter(|(_, s)| s.to_head_scale.is_finite() && s.to_head_scale > 0.0)
        .map(|(slot, s)| {
            let k = 1.0 / s.to_head_scale;
            let of = |r: Option<f64>| r.map(|r| r * k);
            (
                slot.clone(),
                crate::evaluation::native::NativeRmse {
                    native_min: s.native_min,
                    native_max: s.native_max,
                    per_head_unit: k,
                    mean: of(v.aggregate.mean.rmse),
                    median: of(v.aggregate.median.rmse),
                    pooled: of(v.pooled.as_ref().and_then(|p| p.head.rmse)),
                    baselines: v
                        .baselines
                        .iter()
                        .map(|(n, b)| (n.clone(), of(b.mean.rmse)))
                        .collect(),
                },
            )
        })
        .collect()
}
