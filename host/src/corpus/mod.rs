//! Corpus ingestion: read an adapter's inputs, project every row through
//! the plugin, and account for every line.
//!
//! Every line of every input ends as exactly one of: a projected row, or a
//! drop counted under a reason code with its first examples (file:line). A
//! plugin failure, or a projected row that breaks the contract (a corpus tag
//! its slot does not accept, a non-finite feature, a MOS outside 1-5), is an
//! error naming file and line. Raw text is held one chunk at a time.

mod dataset;
pub mod delimited;
pub mod duplicates;
pub mod inputs;
mod interner;
mod label_table;
pub mod labels;
pub mod libvmaf;
pub mod lines;
mod logs;
pub mod parquet;
mod record;
pub mod records;
mod report;
pub mod sniff;
pub mod strings;
mod text;
pub mod votes;

use std::collections::BTreeMap;
use std::path::PathBuf;

use moshead_protocol::{
    Descriptor, FfiRow, Format, ProjectorBox, ProjectorConfig, Split, SplitOrigin,
};
use ndarray::Array2;
use rayon::prelude::*;

use crate::registry::{Adapter, PluginError};
use crate::status::Status;
pub use dataset::Dataset;
use interner::Interner;
pub use report::{ColumnFill, ColumnReport, DropSummary, IngestReport, InputReport};
pub use strings::Strings;

/// Host-side drop reasons (the plugin's codes are in `moshead_protocol::codes`).
pub mod codes {
    /// The line is not valid UTF-8.
    pub const INVALID_UTF8: &str = "invalid-utf8";
    /// The line is empty or white space.
    pub const BLANK_LINE: &str = "blank-line";
    /// The line is longer than the reader's bound.
    pub const LINE_TOO_LONG: &str = "line-too-long";
    /// A CSV or TSV record with more or fewer fields than the header.
    pub const RAGGED_RECORD: &str = super::delimited::codes::RAGGED_RECORD;
    /// A CSV or TSV line whose open quote is not closed on it, and whose
    /// continuation makes no record of the header's width.
    pub const UNTERMINATED_QUOTE: &str = super::delimited::codes::UNTERMINATED_QUOTE;
    /// The line does not parse and holds carriage returns inside it: the
    /// file has CR-only (old Mac) line endings, and lines end at LF.
    pub const CR_LINE_ENDINGS: &str = "cr-line-endings";
}

/// How many examples are kept per drop reason.
pub const EXAMPLES: usize = 3;

/// Errors of ingestion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CorpusError {
    /// `--input` names a slot the adapter does not declare.
    #[error("adapter `{adapter}` has no input slot `{slot}`; allowed slots: {allowed}")]
    UnknownSlot {
        /// The adapter.
        adapter: String,
        /// The slot given.
        slot: String,
        /// The declared slots.
        allowed: String,
    },
    /// A required slot's default path does not exist.
    #[error("input slot `{slot}`: {} ({origin}) does not exist; pass --input {slot}=PATH", path.display())]
    MissingDefault {
        /// The slot.
        slot: String,
        /// The path tried.
        path: PathBuf,
        /// Where the path came from.
        origin: String,
    },
    /// No row input resolved.
    #[error("adapter `{adapter}` found no input rows; defaults tried: {tried}; pass {slots}, or use --demo")]
    NoRows {
        /// The adapter.
        adapter: String,
        /// The default bindings tried, with where each path came from.
        tried: String,
        /// How to bind each row slot (`--input shards=PATH or ...`).
        slots: String,
    },
    /// An input file or directory cannot be used.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `--strict` and a row was dropped.
    #[error("{file}:{line}: {code}: {message} (--strict)")]
    Strict {
        /// The file.
        file: String,
        /// The 1-based line (or parquet row).
        line: u64,
        /// The reason code.
        code: String,
        /// The explanation.
        message: String,
    },
    /// The plugin failed on a row, or returned a row that breaks the contract.
    #[error("{file}:{line}: adapter `{adapter}`: {message}")]
    Plugin {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The adapter.
        adapter: String,
        /// What happened.
        message: String,
    },
    /// Two rows with one id disagree (see [`duplicates`]).
    #[error("{place}: id `{id}` appears twice, {what}")]
    Duplicate {
        /// The second row's `file:line`.
        place: String,
        /// The first row's `file:line`.
        first: String,
        /// The id.
        id: String,
        /// How they disagree, naming both places.
        what: String,
    },
    /// One content in two splits (see [`duplicates`]).
    #[error("content `{content}` is in two splits: {first} and {second}; content-level splits would leak")]
    Leak {
        /// The content group.
        content: String,
        /// `split at file:line` of its first row in one split.
        first: String,
        /// `split at file:line` of its first row in the other.
        second: String,
    },
    /// Loading or calling the plugin failed.
    #[error(transparent)]
    Adapter(#[from] PluginError),
    /// The adapter's demo corpus does not read back through its own slots.
    #[error("adapter `{adapter}`: its demo corpus {reason}")]
    Demo {
        /// The adapter.
        adapter: String,
        /// Which binding reads nothing, and why.
        reason: String,
    },
    /// The adapter refused the schema or a context document; the message
    /// names every context file, since the plugin only knows their slots.
    #[error("cannot project schema `{schema}`{context}")]
    Configure {
        /// The schema asked for.
        schema: String,
        /// ` with SLOT = PATH` for each context document, or empty.
        context: String,
        /// The plugin's refusal.
        source: PluginError,
    },
}

/// Where a source's bytes come from.
#[derive(Debug, Clone)]
pub enum SourceData {
    /// A file on disk.
    File(PathBuf),
    /// In-memory text (the embedded demo corpus).
    Memory(std::sync::Arc<String>),
}

/// One input to ingest.
#[derive(Debug, Clone)]
pub struct Source {
    /// The slot it belongs to.
    pub slot: String,
    /// The name shown in reports and errors (the path, or `<demo>/...`).
    pub display: String,
    /// Its format.
    pub format: Format,
    /// Its bytes.
    pub data: SourceData,
}

/// Options of one ingestion.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The schema (the adapter's default when `None`).
    pub schema: Option<String>,
    /// Keep reference rows.
    pub include_references: bool,
    /// Fail on the first dropped row.
    pub strict: bool,
    /// Context documents.
    pub context: Vec<ContextDoc>,
    /// Project rows without a MOS too (prediction only; their MOS is NaN).
    /// Needs a plugin of API 1.1 or later; an older plugin drops them as
    /// `mos-missing` and the report says why.
    pub unlabelled: bool,
    /// Notes of resolving the inputs (defaults not found, files skipped),
    /// the first notes of the report.
    pub notes: Vec<String>,
    /// The subjective model that turns a labels table of raw votes into
    /// per-clip scores (only used where a slot declares votes).
    pub subjective_model: moshead_subjective::SubjectiveModel,
}

/// A context document for the projector (a display profile, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextDoc {
    /// The input slot.
    pub slot: String,
    /// Where it came from, for messages.
    pub path: String,
    /// Its JSON text.
    pub text: String,
}

enum Outcome {
    Row(FfiRow),
    Drop(String, String),
    /// A `foreign-corpus` drop, with the row's corpus tag.
    Foreign(String, String),
}

#[derive(Default)]
struct Builder {
    x: Vec<f64>,
    mos: Vec<f64>,
    se: Vec<Option<f64>>,
    split: Vec<Option<Split>>,
    /// Rows per split origin, indexed by [`origin_index`].
    origin: [u64; 3],
    group: Vec<u32>,
    groups: Interner,
    group_names: Strings,
    baseline: Vec<Option<u32>>,
    baselines: Interner,
    baseline_names: Strings,
    ids: Strings,
    /// Row ids interned into `ids`: an id's index is its row's.
    id_index: Interner,
    /// Where each kept row came from.
    places: duplicates::Places,
    locations: Vec<(u32, u64)>,
    synthetic: u64,
    filled: Vec<u64>,
    drops: BTreeMap<String, DropSummary>,
    foreign: BTreeMap<String, u64>,
}

/// The split origins in report order, indexed by [`origin_index`].
const ORIGINS: [&str; 3] = ["none", "explicit", "policy"];

fn origin_index(o: SplitOrigin) -> usize {
    match o {
        SplitOrigin::None => 0,
        SplitOrigin::Explicit => 1,
        SplitOrigin::Policy => 2,
    }
}

struct Ctx<'a> {
    adapter: &'a Adapter,
    projector: &'a ProjectorBox,
    width: usize,
    strict: bool,
    unlabelled: bool,
    subjective_model: moshead_subjective::SubjectiveModel,
    /// The index of the source being read (into [`Dataset::sources`]).
    source: u32,
}

/// Ingests `sources` through `adapter`.
pub fn ingest(
    adapter: &Adapter,
    sources: &[Source],
    opts: &IngestOptions,
    status: &Status,
) -> Result<(Dataset, IngestReport), CorpusError> {
    let d: &Descriptor = &adapter.descriptor;
    let (schema, config, projector) = open_projector(adapter, opts)?;
    let columns = d
        .schema(&schema)
        .map(|s| s.columns.clone())
        .unwrap_or_default();
    let mut ctx = Ctx {
        adapter,
        projector: &projector,
        width: columns.len(),
        strict: opts.strict,
        unlabelled: config.unlabelled,
        subjective_model: opts.subjective_model,
        source: 0,
    };
    let mut b = Builder {
        filled: vec![0; columns.len()],
        ..Builder::default()
    };
    let mut reports = Vec::new();
    // Labels tables first: the logs of libvmaf-log slots are joined with them.
    let mut joins = logs::Joins::default();
    let is_labels = |src: &Source| {
        d.slot(&src.slot)
            .is_some_and(|s| s.role == moshead_protocol::SlotRole::Labels)
    };
    for src in sources.iter().filter(|s| is_labels(s)) {
        joins.read(&ctx, &mut b, src)?;
    }
    let mut next = 0;
    while next < sources.len() {
        let k = next;
        let src = &sources[k];
        next += 1;
        if is_labels(src) {
            continue;
        }
        if src.format == Format::LibvmafLog {
            // The logs of one binding (one slot, one directory) are one input.
            let dir = |s: &Source| match &s.data {
                SourceData::File(p) => p.parent().map(|p| p.to_path_buf()),
                SourceData::Memory(_) => None,
            };
            let mut run = vec![(k as u32, src)];
            while let Some(more) = sources.get(next).filter(|s| {
                s.slot == src.slot && s.format == Format::LibvmafLog && dir(s) == dir(src)
            }) {
                run.push((next as u32, more));
                next += 1;
            }
            let display = match (run.len(), dir(src)) {
                (1, _) | (_, None) => src.display.clone(),
                (_, Some(p)) => p.display().to_string(),
            };
            let rep = joins.logs(&mut ctx, &mut b, &run, display)?;
            status.update(|| format!("ingest {}: {} rows", rep.path, b.mos.len()));
            reports.push(rep);
            continue;
        }
        ctx.source = k as u32;
        let ctx = &ctx;
        let mut rep = InputReport::new(&src.slot, &src.display);
        match src.format {
            Format::Parquet => read_parquet(ctx, &mut b, &mut rep, src, status)?,
            Format::LibvmafLog | Format::Unknown => {
                // Never reached: logs are pooled above, binding by binding,
                // and `inputs::format_of` never picks an unknown format.
                let why = match src.format {
                    Format::LibvmafLog => "a libvmaf log is read only through a libvmaf-log slot",
                    _ => "a format this build of moshead does not know",
                };
                return Err(CorpusError::Input {
                    path: PathBuf::from(&src.display),
                    reason: format!("slot `{}`: {why}", src.slot),
                });
            }
            Format::Jsonl | Format::Json => text::jsonl(ctx, &mut b, &mut rep, src, status)?,
            Format::Csv => text::delimited(ctx, &mut b, &mut rep, src, b',', status)?,
            Format::Tsv => text::delimited(ctx, &mut b, &mut rep, src, b'\t', status)?,
        }
        if rep.bytes == 0 {
            return Err(CorpusError::Input {
                path: PathBuf::from(&src.display),
                reason: format!("slot `{}`: empty file (0 bytes)", src.slot),
            });
        }
        duplicates::same_input(&reports, &rep)?;
        reports.push(rep);
    }
    let (label_reports, notes, subjective) = joins.finish(&ctx, &mut b)?;
    reports.extend(label_reports);
    duplicates::check_split_leakage(&b)?;
    status.clear();
    let (mut dataset, mut report) = finish(b, d, schema, columns, reports);
    annotate(&mut dataset, &mut report, d, sources, opts);
    report.notes = opts.notes.iter().cloned().chain(notes).collect();
    report.subjective = subjective;
    if opts.unlabelled && !config.unlabelled {
        report.notes.push(format!(
            "adapter `{}` is built against sdk API {}, which cannot project rows without a MOS for prediction (API {} can): rebuild it against a newer moshead-sdk to score them",
            adapter.name(),
            adapter.api_version,
            moshead_protocol::version::UNLABELLED_SINCE
        ));
    }
    Ok((dataset, report))
}

/// The schema read, the projector's configuration and the projector
/// `adapter` opens for `opts`.
fn open_projector(
    adapter: &Adapter,
    opts: &IngestOptions,
) -> Result<(String, ProjectorConfig, ProjectorBox), CorpusError> {
    let d = &adapter.descriptor;
    let schema = opts
        .schema
        .clone()
        .unwrap_or_else(|| d.default_schema.clone());
    let config = ProjectorConfig {
        schema: Some(schema.clone()),
        context: opts
            .context
            .iter()
            .map(|c| (c.slot.clone(), c.text.clone()))
            .collect(),
        include_references: opts.include_references,
        unlabelled: opts.unlabelled
            && moshead_protocol::version::supports_unlabelled(&adapter.api_version),
        // Added by the adapter when it serves a study file.
        study: None,
    };
    let projector = adapter
        .open_projector(&config)
        .map_err(|source| CorpusError::Configure {
            schema: schema.clone(),
            context: opts
                .context
                .iter()
                .map(|c| format!(" with {} = {}", c.slot, c.path))
                .collect(),
            source,
        })?;
    Ok((schema, config, projector))
}

/// Reads the Parquet input `src` (a file) into `b`, reporting in `rep`.
fn read_parquet(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    rep: &mut InputReport,
    src: &Source,
    status: &Status,
) -> Result<(), CorpusError> {
    let d = &ctx.adapter.descriptor;
    let SourceData::File(path) = &src.data else {
        return Err(CorpusError::Input {
            path: PathBuf::from(&src.display),
            reason: "parquet input must be a file".into(),
        });
    };
    if !ctx.unlabelled {
        check_parquet_columns(d, &src.slot, path)?;
    }
    rep.sha256 = crate::digest::sha256_file(path).map_err(|e| CorpusError::Input {
        path: path.clone(),
        reason: inputs::io_reason(&e),
    })?;
    rep.bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    parquet::for_each_batch(path, 8192, |batch| {
        let outcomes: Vec<Result<Outcome, String>> = batch
            .par_iter()
            .map(|(_, text)| ctx.project(&src.slot, text))
            .collect();
        for ((row_no, _), outcome) in batch.iter().zip(outcomes) {
            rep.lines += 1;
            ctx.record(b, rep, &src.display, *row_no, outcome)?;
        }
        status.update(|| format!("ingest {}: {} rows", src.display, b.mos.len()));
        Ok(())
    })?;
    Ok(())
}

/// Records where each source's rows came from (its name and MOS scale)
/// and the context files read.
fn annotate(
    dataset: &mut Dataset,
    report: &mut IngestReport,
    d: &Descriptor,
    sources: &[Source],
    opts: &IngestOptions,
) {
    dataset.sources = sources.iter().map(|s| s.display.clone()).collect();
    dataset.source_scales = sources
        .iter()
        .map(|s| {
            d.slot(&s.slot)
                .map_or(&d.mos_scale, |slot| slot.scale(d))
                .clone()
        })
        .collect();
    report.context = opts
        .context
        .iter()
        .map(|c| {
            (
                c.slot.clone(),
                c.path.clone(),
                crate::digest::sha256_hex(c.text.as_bytes()),
            )
        })
        .collect();
}

/// A parquet table must have a MOS column; anything else is up to the rows.
fn check_parquet_columns(
    d: &Descriptor,
    slot: &str,
    path: &std::path::Path,
) -> Result<(), CorpusError> {
    let cols = parquet::columns(path)?;
    let native = &d.slot(slot).map_or(&d.mos_scale, |s| s.scale(d)).native_key;
    if !cols.iter().any(|c| c == "mos" || c == native) {
        return Err(CorpusError::Input {
            path: path.to_path_buf(),
            reason: format!("no `mos` column (columns: {})", cols.join(", ")),
        });
    }
    Ok(())
}

fn finish(
    b: Builder,
    d: &Descriptor,
    schema: String,
    columns: Vec<String>,
    inputs: Vec<InputReport>,
) -> (Dataset, IngestReport) {
    let n = b.mos.len();
    let width = columns.len();
    let x = Array2::from_shape_vec((n, width), b.x).unwrap_or_else(|_| Array2::zeros((0, width)));
    // Rows per split label, and per group a bit per label it appears under.
    const LABELS: [&str; 4] = ["train", "val", "test", "none"];
    let label_index = |s: Option<Split>| match s {
        Some(Split::Train) => 0,
        Some(Split::Val) => 1,
        Some(Split::Test) => 2,
        None => 3,
    };
    let mut split_rows = [0u64; 4];
    let mut group_labels = vec![0u8; b.group_names.len()];
    for (s, g) in b.split.iter().zip(&b.group) {
        let k = label_index(*s);
        split_rows[k] += 1;
        group_labels[*g as usize] |= 1 << k;
    }
    let mut splits = BTreeMap::new();
    let mut groups_per_split = BTreeMap::new();
    for (k, label) in LABELS.iter().enumerate() {
        if split_rows[k] > 0 {
            splits.insert((*label).to_owned(), split_rows[k]);
            let groups = group_labels.iter().filter(|m| *m & (1 << k) != 0).count();
            groups_per_split.insert((*label).to_owned(), groups as u64);
        }
    }
    let mut sizes = vec![0u64; b.group_names.len()];
    for g in &b.group {
        sizes[*g as usize] += 1;
    }
    sizes.sort_unstable();
    let group_sizes =
        (!sizes.is_empty()).then(|| [sizes[0], sizes[sizes.len() / 2], sizes[sizes.len() - 1]]);
    // One row-major pass; each column's sum still runs in row order.
    let mut lo = vec![f64::INFINITY; width];
    let mut hi = vec![f64::NEG_INFINITY; width];
    let mut sum = vec![0.0f64; width];
    for row in x.rows() {
        for (j, v) in row.iter().enumerate() {
            lo[j] = lo[j].min(*v);
            hi[j] = hi[j].max(*v);
            sum[j] += v;
        }
    }
    let col_reports = columns
        .iter()
        .enumerate()
        .map(|(j, name)| ColumnReport {
            name: name.clone(),
            min: (n > 0).then_some(lo[j]),
            max: (n > 0).then_some(hi[j]),
            mean: (n > 0).then(|| sum[j] / n as f64),
            filled: b.filled[j],
        })
        .collect();
    let report = IngestReport {
        adapter: d.name.clone(),
        schema: schema.clone(),
        inputs,
        context: Vec::new(),
        rows: n as u64,
        splits,
        groups_per_split,
        groups: b.group_names.len() as u64,
        group_sizes,
        split_origins: ORIGINS
            .iter()
            .zip(b.origin)
            .filter(|(_, c)| *c > 0)
            .map(|(o, c)| ((*o).to_owned(), c))
            .collect(),
        drops: b.drops,
        synthetic_rows: b.synthetic,
        foreign_tags: b.foreign,
        columns: col_reports,
        notes: Vec::new(),
        subjective: Vec::new(),
    };
    let dataset = Dataset {
        schema,
        columns,
        x,
        mos: b.mos,
        se: b.se,
        split: b.split,
        group: b.group,
        group_names: b.group_names,
        baseline: b.baseline,
        baseline_names: b.baseline_names,
        ids: b.ids,
        locations: b.locations,
        sources: Vec::new(),
        source_scales: Vec::new(),
        synthetic: n > 0 && b.synthetic == n as u64,
    };
    (dataset, report)
}
