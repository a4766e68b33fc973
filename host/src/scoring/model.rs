//! What the scoring operations share: the adapter that trained a model and
//! the check that it is still the library that did, `--input` values bound
//! to the adapter's slots, the feature-order check, and their errors.

use std::path::{Path, PathBuf};

use moshead_protocol::SlotRole;

use super::{CrossError, GuardError, ScoreError};
use crate::corpus::{CorpusError, Dataset, IngestReport};
use crate::manifest::Manifest;
use crate::registry::{Adapter, Selector};

/// Why a model could not be scored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScoringError {
    /// The manifest's adapter record does not make an adapter selector.
    #[error("the manifest records adapter `{name}` version `{version}`, which selects no adapter: {reason}")]
    AdapterVersion {
        /// The adapter.
        name: String,
        /// The recorded version.
        version: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The adapter's library is not the one that trained the model.
    /// (The caller may allow it: see [`check_plugin`].)
    #[error("{0}")]
    PluginChanged(Box<PluginChange>),
    /// The adapter declares no row slot for a bare `--input PATH`.
    #[error("adapter `{0}` has no row slot to read `{1}` through")]
    NoRowSlot(String, PathBuf),
    /// The rows could not be read.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The adapter's schema no longer has the model's feature order.
    #[error("the adapter's schema `{0}` no longer has the manifest's feature order")]
    Columns(String),
    /// The output would replace an input or a file of the model.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// A prediction is not finite.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// The other adapter cannot score the model (cross-corpus).
    #[error(transparent)]
    Cross(#[from] CrossError),
    /// The model's bootstrap heads cannot be evaluated.
    #[error("the manifest's bootstrap models: {0}")]
    Bootstrap(#[from] crate::export::ExportError),
    /// Too few rows were left to score; the report says why (every drop
    /// with its reason), for the caller to explain.
    #[error("{what}")]
    TooFewRows {
        /// What is missing (`no row could be scored: 12 line(s) read, every one dropped`).
        what: String,
        /// The adapter that read the rows.
        adapter: String,
        /// How they were read.
        report: Box<IngestReport>,
    },
}

/// The selector of the exact adapter release that trained `m`
/// (`name@=version`).
pub fn model_selector(m: &Manifest) -> Result<Selector, ScoringError> {
    format!("{}@={}", m.adapter.name, m.adapter.version)
        .parse::<Selector>()
        .map_err(|reason| ScoringError::AdapterVersion {
            name: m.adapter.name.clone(),
            version: m.adapter.version.clone(),
            reason,
        })
}

/// The adapter's library differs from the one that trained the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("adapter `{adapter}` {version} changed since the model was trained: {library} has sha256 {found}, {model} records {recorded}")]
pub struct PluginChange {
    /// The adapter.
    pub adapter: String,
    /// Its version.
    pub version: String,
    /// The library loaded.
    pub library: PathBuf,
    /// Its sha256.
    pub found: String,
    /// The manifest.
    pub model: PathBuf,
    /// The sha256 the manifest records.
    pub recorded: String,
}

/// Checks that `adapter` is the library that trained `m` (read from
/// `model`): a different sha256 is an error, unless `allow_change`, when
/// the change is returned for the caller to warn about.
pub fn check_plugin(
    adapter: &Adapter,
    m: &Manifest,
    model: &Path,
    allow_change: bool,
) -> Result<Option<PluginChange>, ScoringError> {
    let change = |library: &Path, found: &str, recorded: &str| PluginChange {
        adapter: adapter.name().to_owned(),
        version: adapter.descriptor.version.clone(),
        library: library.to_path_buf(),
        found: found.to_owned(),
        model: model.to_path_buf(),
        recorded: recorded.to_owned(),
    };
    let study_change = match (&adapter.study, &m.adapter.study) {
        (None, None) => None,
        (Some(s), Some(r)) => (s.sha256 != r.sha256).then(|| change(&s.path, &s.sha256, &r.sha256)),
        (Some(s), None) => Some(change(&s.path, &s.sha256, "no study file")),
        (None, Some(r)) => Some(change(&adapter.path, "no study file", &r.sha256)),
    };
    let change = match study_change {
        Some(c) => c,
        None if adapter.sha256 == m.adapter.sha256 => return Ok(None),
        None => change(&adapter.path, &adapter.sha256, &m.adapter.sha256),
    };
    if allow_change {
        Ok(Some(change))
    } else {
        Err(ScoringError::PluginChanged(Box::new(change)))
    }
}

/// `--input` values bound to `adapter`'s slots: `SLOT=PATH` for a declared
/// slot, anything else a path read through the first row slot.
pub fn bind_inputs(
    adapter: &Adapter,
    inputs: &[String],
) -> Result<Vec<(String, PathBuf)>, ScoringError> {
    let mut out = Vec::new();
    for i in inputs {
        match crate::corpus::inputs::parse_binding(i) {
            Ok(b) if adapter.descriptor.slot(&b.0).is_some() => out.push(b),
            _ => {
                let slot = adapter
                    .descriptor
                    .inputs
                    .iter()
                    .find(|s| s.role == SlotRole::Rows)
                    .ok_or_else(|| {
                        ScoringError::NoRowSlot(adapter.name().to_owned(), PathBuf::from(i))
                    })?;
                out.push((slot.name.clone(), PathBuf::from(i)));
            }
        }
    }
    Ok(out)
}

/// Refuses a dataset whose columns are not the manifest's feature order.
pub fn check_columns(m: &Manifest, ds: &Dataset) -> Result<(), ScoringError> {
    if ds.columns != m.feature_order {
        return Err(ScoringError::Columns(m.feature_schema.clone()));
    }
    Ok(())
}
