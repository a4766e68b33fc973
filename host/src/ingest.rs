//! Ingestion as a library operation: from an adapter and what the caller
//! bound (files, the embedded demo corpus) to the projected rows and their
//! report.
//!
//! [`load`] resolves the bindings against the adapter's slots (or generates
//! the demo corpus), reads the context documents, and ingests every source
//! through [`corpus::ingest`], which builds the whole report: the
//! resolution notes and the context documents' digests included. The
//! `corpus`, `train`, `validate`, `predict` commands and the benches call
//! it; progress goes to a [`Status`] observer, and nothing is printed.

use std::path::PathBuf;
use std::sync::Arc;

use moshead_protocol::{Format, SynthRequest};

use crate::corpus::inputs::{self, Resolved};
use crate::corpus::{
    self, ContextDoc, CorpusError, Dataset, IngestOptions, IngestReport, Source, SourceData,
};
use crate::registry::Adapter;
use crate::training::Status;

/// Rows of the embedded demo corpus.
pub const DEMO_ROWS: usize = 600;
/// Seed of the embedded demo corpus.
pub const DEMO_SEED: u64 = 20260508;

/// What to read, and how.
#[derive(Debug, Clone, Default)]
pub struct IngestRequest {
    /// `(slot, path)` bindings; without a row slot among them, the adapter's
    /// defaults (and their environment overrides) are read.
    pub inputs: Vec<(String, PathBuf)>,
    /// Read the embedded demo corpus (synthetic, generated in memory)
    /// instead of files.
    pub demo: bool,
    /// The feature schema (the adapter's default when `None`).
    pub schema: Option<String>,
    /// Keep reference (undistorted) rows.
    pub include_references: bool,
    /// Fail on the first dropped row.
    pub strict: bool,
    /// Project rows without a MOS too (prediction only).
    pub unlabelled: bool,
    /// The subjective model for labels tables of raw votes.
    pub subjective_model: moshead_subjective::SubjectiveModel,
}

/// A loaded corpus with its provenance.
pub struct Loaded<'r> {
    /// The adapter.
    pub adapter: &'r Adapter,
    /// The projected rows.
    pub dataset: Dataset,
    /// The ingestion report.
    pub report: IngestReport,
}

/// The embedded demo corpus of `adapter`, as in-memory sources.
fn demo_sources(adapter: &Adapter) -> Result<Vec<Source>, CorpusError> {
    let out = adapter.synthesize(&SynthRequest {
        rows: DEMO_ROWS,
        seed: DEMO_SEED,
        variant: None,
    })?;
    let mut sources = Vec::new();
    for (slot, rel) in &out.inputs {
        let files = adapter
            .descriptor
            .slot(slot)
            .ok_or_else(|| format!("binds unknown slot `{slot}`"))
            .and_then(|s| out.bound_files(s, rel))
            .map_err(|reason| CorpusError::Demo {
                adapter: adapter.name().to_owned(),
                reason,
            })?;
        for (path, text) in files {
            sources.push(Source {
                slot: slot.clone(),
                display: format!("<demo:{}>/{path}", adapter.name()),
                format: Format::Jsonl,
                data: SourceData::Memory(Arc::new(text.clone())),
            });
        }
    }
    Ok(sources)
}

/// The files `req` binds, resolved against `adapter`'s slots (its defaults
/// and their environment overrides where no row slot is bound); `None` for
/// the embedded demo corpus, which reads no file.
pub fn resolve(adapter: &Adapter, req: &IngestRequest) -> Result<Option<Resolved>, CorpusError> {
    if req.demo {
        return Ok(None);
    }
    inputs::resolve(&adapter.descriptor, &req.inputs, &|v| std::env::var_os(v)).map(Some)
}

/// Resolves `req` against `adapter` and ingests it.
pub fn load<'r>(
    adapter: &'r Adapter,
    req: &IngestRequest,
    status: &Status,
) -> Result<Loaded<'r>, CorpusError> {
    let resolved = resolve(adapter, req)?;
    load_resolved(adapter, req, resolved, status)
}

/// Ingests `req` from the files [`resolve`] gave for it (a caller that
/// must see them first, as `predict` keeps its output off them, resolves
/// once).
pub fn load_resolved<'r>(
    adapter: &'r Adapter,
    req: &IngestRequest,
    resolved: Option<Resolved>,
    status: &Status,
) -> Result<Loaded<'r>, CorpusError> {
    let (sources, context, notes) = match resolved {
        None => (demo_sources(adapter)?, Vec::new(), Vec::new()),
        Some(resolved) => {
            let sources = resolved
                .labels
                .iter()
                .chain(&resolved.rows)
                .map(|f| Source {
                    slot: f.slot.clone(),
                    display: f.path.display().to_string(),
                    format: f.format,
                    data: SourceData::File(f.path.clone()),
                })
                .collect();
            let mut context = Vec::new();
            for c in &resolved.context {
                let text = std::fs::read_to_string(&c.path).map_err(|e| CorpusError::Input {
                    path: c.path.clone(),
                    reason: format!("cannot read {} input: {e}", c.slot),
                })?;
                context.push(ContextDoc {
                    slot: c.slot.clone(),
                    path: c.path.display().to_string(),
                    text,
                });
            }
            (sources, context, resolved.notes)
        }
    };
    let opts = IngestOptions {
        schema: req.schema.clone(),
        include_references: req.include_references,
        strict: req.strict,
        unlabelled: req.unlabelled,
        subjective_model: req.subjective_model,
        context,
        notes,
    };
    let (dataset, report) = corpus::ingest(adapter, &sources, &opts, status)?;
    Ok(Loaded {
        adapter,
        dataset,
        report,
    })
}
