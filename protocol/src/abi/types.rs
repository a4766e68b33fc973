// The `#[sabi_trait]` expansion defines impls inside a const block.
#![allow(non_local_definitions)]

//! The FFI-safe types that cross the boundary: errors, rows, outcomes, the
//! projector trait object and synthetic files. This file holds no root
//! module, so fixture plugins of other API minors can reuse it verbatim.

use abi_stable::{
    sabi_trait,
    std_types::{RBox, ROption, RStr, RString, RVec},
    StableAbi,
};

/// What went wrong inside a plugin entry point.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// The entry point panicked; the panic was caught at the boundary.
    Panic,
    /// The request was invalid (unknown schema, bad JSON, missing context).
    InvalidRequest,
    /// The plugin could not do what was asked for another reason.
    Failed,
}

/// An error returned by a plugin entry point.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The category.
    pub kind: PluginErrorKind,
    /// A human-readable message.
    pub message: RString,
}

impl PluginError {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: PluginErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: RString::from(message.into()),
        }
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            PluginErrorKind::Panic => "plugin panicked",
            PluginErrorKind::InvalidRequest => "invalid request",
            PluginErrorKind::Failed => "plugin failed",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for PluginError {}

/// A row's split label.
#[repr(u8)]
#[derive(
    StableAbi,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training rows.
    Train,
    /// Validation rows (model selection, explicit validation).
    Val,
    /// Held-out test rows, touched only by `moshead validate`.
    Test,
}

impl Split {
    /// The lowercase label (`train`, `val`, `test`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

/// Where a row's split came from.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitOrigin {
    /// The row has no split; the host assigns folds.
    None,
    /// The row carried an explicit label (or a corpus-defined alias of one).
    Explicit,
    /// The adapter's content-level split policy assigned it.
    Policy,
}

/// A projected training row as it crosses the boundary.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct FfiRow {
    /// A stable identifier of the row (clip id), for predictions.
    pub id: RString,
    /// The corpus tag the row was accepted under.
    pub corpus: RString,
    /// The feature vector, in the chosen schema's column order.
    pub features: RVec<f64>,
    /// Indices of columns that had no finite value and were filled.
    pub filled: RVec<u32>,
    /// MOS on the head's 1-5 scale. NaN only for a row without MOS from a
    /// projector opened with [`crate::ProjectorConfig::unlabelled`] (for
    /// prediction); otherwise always finite and within 1-5.
    pub mos: f64,
    /// Standard error of the MOS on the 1-5 scale, when known.
    pub mos_se: ROption<f64>,
    /// The split, when one is known.
    pub split: ROption<Split>,
    /// Where the split came from.
    pub split_origin: SplitOrigin,
    /// The content group (rows of one group never straddle folds).
    pub group: RString,
    /// The key of the adapter's group baseline (e.g. the ladder rung).
    pub baseline_key: ROption<RString>,
    /// The row comes from a synthetic corpus (`"synthetic": true`).
    pub synthetic: bool,
}

/// A row the adapter refused, with a stable reason code.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FfiRejection {
    /// A kebab-case reason code (see [`crate::codes`]).
    pub code: RString,
    /// A human-readable explanation.
    pub message: RString,
}

/// The outcome of projecting one raw row.
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum FfiOutcome {
    /// The projected row.
    Row(FfiRow),
    /// The row was refused.
    Rejected(FfiRejection),
    /// The projector failed (for example it panicked).
    Failed(PluginError),
}

/// A stateful row projector opened for one schema and context.
#[sabi_trait]
pub trait Projector: Send + Sync {
    /// Projects one raw row (a JSON object) read from input slot `slot`.
    #[sabi(last_prefix_field)]
    fn project(&self, slot: RStr<'_>, raw: RStr<'_>) -> FfiOutcome;
}

/// The boxed trait object type of a [`Projector`].
pub type ProjectorBox = Projector_TO<'static, RBox<()>>;

/// One generated file of a synthetic corpus.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FfiSynthFile {
    /// Path relative to the output directory (`/`-separated).
    pub path: RString,
    /// The file's full text.
    pub content: RString,
}

/// A synthetic corpus: its files and the slot bindings that read it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct FfiSynthOutput {
    /// The files to write.
    pub files: RVec<FfiSynthFile>,
    /// `(slot, relative path)` pairs to pass as `--input SLOT=PATH`.
    pub inputs: RVec<abi_stable::std_types::Tuple2<RString, RString>>,
}
