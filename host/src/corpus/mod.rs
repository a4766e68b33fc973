//! Corpus ingestion: read an adapter's inputs, project every row through
//! the plugin, and account for every line.
//!
//! Every line of every input ends as exactly one of: a projected row, or a
//! drop counted under a reason code with its first examples (file:line). A
//! plugin failure, or a projected row that breaks the contract (a corpus tag
//! its slot does not accept, a non-finite feature, a MOS outside 1-5), is an
//! error naming file and line. Raw text is held one chunk at a time.

pub mod inputs;
pub mod lines;
pub mod parquet;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use moshead_sdk::{
    Descriptor, FfiOutcome, FfiRow, Format, ProjectorBox, ProjectorConfig, Split, SplitOrigin,
};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use crate::progress::Progress;
use crate::registry::{Adapter, PluginError};
use lines::{Chunk, Line, LineReader};

/// Host-side drop reasons (the plugin's codes are in `moshead_sdk::codes`).
pub mod codes {
    /// The line is not valid UTF-8.
    pub const INVALID_UTF8: &str = "invalid-utf8";
    /// The line is empty or white space.
    pub const BLANK_LINE: &str = "blank-line";
    /// The line is longer than the reader's bound.
    pub const LINE_TOO_LONG: &str = "line-too-long";
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
    /// Loading or calling the plugin failed.
    #[error(transparent)]
    Adapter(#[from] PluginError),
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
    /// Context documents `(slot, JSON text)`.
    pub context: Vec<(String, String)>,
}

/// Drops of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DropSummary {
    /// How many rows.
    pub count: u64,
    /// The first few, as `file:line: message`.
    pub examples: Vec<String>,
}

/// What one input contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct InputReport {
    /// The slot.
    pub slot: String,
    /// The path (or demo name).
    pub path: String,
    /// sha256 of the bytes read, hex.
    pub sha256: String,
    /// Bytes read.
    pub bytes: u64,
    /// Lines (or parquet rows) read.
    pub lines: u64,
    /// Rows projected.
    pub rows: u64,
    /// Drops by reason.
    pub drops: BTreeMap<String, u64>,
}

/// Range and fill count of one feature column.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ColumnReport {
    /// The column.
    pub name: String,
    /// Minimum over rows.
    pub min: Option<f64>,
    /// Maximum over rows.
    pub max: Option<f64>,
    /// Mean over rows.
    pub mean: Option<f64>,
    /// Rows in which the value was filled.
    pub filled: u64,
}

/// Everything a trainer should see before it trusts the data.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// The adapter.
    pub adapter: String,
    /// The schema.
    pub schema: String,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// Context documents `(slot, path, sha256)`.
    pub context: Vec<(String, String, String)>,
    /// Rows projected in total.
    pub rows: u64,
    /// Rows per split (`train`, `val`, `test`, `none`).
    pub splits: BTreeMap<String, u64>,
    /// Content groups per split.
    pub groups_per_split: BTreeMap<String, u64>,
    /// Distinct content groups.
    pub groups: u64,
    /// Smallest, median and largest group size.
    pub group_sizes: Option<[u64; 3]>,
    /// Where splits came from: `explicit`, `policy`, `none`.
    pub split_origins: BTreeMap<String, u64>,
    /// Drops by reason, with examples.
    pub drops: BTreeMap<String, DropSummary>,
    /// Synthetic rows among the projected rows.
    pub synthetic_rows: u64,
    /// Per feature column.
    pub columns: Vec<ColumnReport>,
    /// Notes (defaults not found, unrelated files).
    pub notes: Vec<String>,
}

impl IngestReport {
    /// Total dropped rows.
    pub fn dropped(&self) -> u64 {
        self.drops.values().map(|d| d.count).sum()
    }
}

/// The projected corpus: the matrix a head trains on and everything needed
/// to split and score it.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The schema name.
    pub schema: String,
    /// The feature columns in order.
    pub columns: Vec<String>,
    /// Features, one row per clip.
    pub x: Array2<f64>,
    /// MOS on 1-5.
    pub mos: Vec<f64>,
    /// MOS standard errors on 1-5, where known.
    pub se: Vec<Option<f64>>,
    /// Splits.
    pub split: Vec<Option<Split>>,
    /// Content group index per row.
    pub group: Vec<u32>,
    /// Content group names.
    pub group_names: Vec<String>,
    /// Baseline key index per row.
    pub baseline: Vec<Option<u32>>,
    /// Baseline key names.
    pub baseline_names: Vec<String>,
    /// Row ids.
    pub ids: Vec<String>,
    /// Whether every row is synthetic.
    pub synthetic: bool,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.mos.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.mos.is_empty()
    }

    /// Indices of the rows in `split`.
    pub fn rows_in(&self, split: Split) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.split[i] == Some(split))
            .collect()
    }
}

enum Outcome {
    Row(FfiRow),
    Drop(String, String),
}

#[derive(Default)]
struct Builder {
    x: Vec<f64>,
    mos: Vec<f64>,
    se: Vec<Option<f64>>,
    split: Vec<Option<Split>>,
    origin: BTreeMap<String, u64>,
    group: Vec<u32>,
    groups: HashMap<String, u32>,
    group_names: Vec<String>,
    baseline: Vec<Option<u32>>,
    baselines: HashMap<String, u32>,
    baseline_names: Vec<String>,
    ids: Vec<String>,
    synthetic: u64,
    filled: Vec<u64>,
    drops: BTreeMap<String, DropSummary>,
}

fn intern(map: &mut HashMap<String, u32>, names: &mut Vec<String>, key: &str) -> u32 {
    if let Some(i) = map.get(key) {
        return *i;
    }
    let i = names.len() as u32;
    map.insert(key.to_owned(), i);
    names.push(key.to_owned());
    i
}

struct Ctx<'a> {
    adapter: &'a Adapter,
    projector: &'a ProjectorBox,
    width: usize,
    strict: bool,
}

impl Ctx<'_> {
    fn project(&self, slot: &str, text: &str) -> Result<Outcome, String> {
        match self.projector.project(slot.into(), text.into()) {
            FfiOutcome::Row(r) => Ok(Outcome::Row(r)),
            FfiOutcome::Rejected(r) => {
                Ok(Outcome::Drop(r.code.into_string(), r.message.into_string()))
            }
            FfiOutcome::Failed(e) => Err(e.to_string()),
        }
    }

    /// Checks the plugin kept its side of the contract.
    fn check(&self, slot: &str, r: &FfiRow) -> Result<(), String> {
        let accepts = self
            .adapter
            .descriptor
            .slot(slot)
            .map(|s| s.accepts.as_slice())
            .unwrap_or(&[]);
        if !accepts.iter().any(|a| a.as_str() == r.corpus.as_str()) {
            return Err(format!(
                "returned a row tagged `{}`, which slot `{slot}` does not accept",
                r.corpus
            ));
        }
        if r.features.len() != self.width {
            return Err(format!(
                "returned {} features for a {}-column schema",
                r.features.len(),
                self.width
            ));
        }
        if let Some(i) = r.features.iter().position(|v| !v.is_finite()) {
            return Err(format!("returned a non-finite value in feature column {i}"));
        }
        if !r.mos.is_finite() || !(1.0..=5.0).contains(&r.mos) {
            return Err(format!("returned MOS {} outside 1-5", r.mos));
        }
        if r.filled.iter().any(|i| *i as usize >= self.width) {
            return Err("returned a fill index outside the schema".into());
        }
        Ok(())
    }

    fn record(
        &self,
        b: &mut Builder,
        rep: &mut InputReport,
        file: &str,
        line: u64,
        outcome: Result<Outcome, String>,
    ) -> Result<(), CorpusError> {
        let plugin_err = |message: String| CorpusError::Plugin {
            file: file.to_owned(),
            line,
            adapter: self.adapter.name().to_owned(),
            message,
        };
        match outcome.map_err(plugin_err)? {
            Outcome::Row(r) => {
                self.check(&rep.slot, &r).map_err(|m| CorpusError::Plugin {
                    file: file.to_owned(),
                    line,
                    adapter: self.adapter.name().to_owned(),
                    message: m,
                })?;
                b.x.extend_from_slice(r.features.as_slice());
                for i in r.filled.iter() {
                    b.filled[*i as usize] += 1;
                }
                b.mos.push(r.mos);
                b.se.push(r.mos_se.into_option());
                b.split.push(r.split.into_option());
                let origin = match r.split_origin {
                    SplitOrigin::None => "none",
                    SplitOrigin::Explicit => "explicit",
                    SplitOrigin::Policy => "policy",
                };
                *b.origin.entry(origin.into()).or_default() += 1;
                let g = intern(&mut b.groups, &mut b.group_names, r.group.as_str());
                b.group.push(g);
                let bl = r
                    .baseline_key
                    .as_ref()
                    .map(|k| intern(&mut b.baselines, &mut b.baseline_names, k.as_str()))
                    .into_option();
                b.baseline.push(bl);
                b.ids.push(r.id.into_string());
                b.synthetic += u64::from(r.synthetic);
                rep.rows += 1;
            }
            Outcome::Drop(code, message) => {
                if self.strict {
                    return Err(CorpusError::Strict {
                        file: file.to_owned(),
                        line,
                        code,
                        message,
                    });
                }
                *rep.drops.entry(code.clone()).or_default() += 1;
                let d = b.drops.entry(code).or_default();
                d.count += 1;
                if d.examples.len() < EXAMPLES {
                    d.examples.push(format!("{file}:{line}: {message}"));
                }
            }
        }
        Ok(())
    }
}

/// Ingests `sources` through `adapter`.
pub fn ingest(
    adapter: &Adapter,
    sources: &[Source],
    opts: &IngestOptions,
    progress: &Progress,
) -> Result<(Dataset, IngestReport), CorpusError> {
    let d: &Descriptor = &adapter.descriptor;
    let schema = opts
        .schema
        .clone()
        .unwrap_or_else(|| d.default_schema.clone());
    let config = ProjectorConfig {
        schema: Some(schema.clone()),
        context: opts.context.iter().cloned().collect(),
        include_references: opts.include_references,
    };
    let projector = adapter.open_projector(&config)?;
    let columns = d
        .schema(&schema)
        .map(|s| s.columns.clone())
        .unwrap_or_default();
    let ctx = Ctx {
        adapter,
        projector: &projector,
        width: columns.len(),
        strict: opts.strict,
    };
    let mut b = Builder {
        filled: vec![0; columns.len()],
        ..Builder::default()
    };
    let mut reports = Vec::new();
    let mut total_bytes = 0u64;
    for src in sources {
        let mut rep = InputReport {
            slot: src.slot.clone(),
            path: src.display.clone(),
            sha256: String::new(),
            bytes: 0,
            lines: 0,
            rows: 0,
            drops: BTreeMap::new(),
        };
        match src.format {
            Format::Parquet => {
                let SourceData::File(path) = &src.data else {
                    return Err(CorpusError::Input {
                        path: PathBuf::from(&src.display),
                        reason: "parquet input must be a file".into(),
                    });
                };
                check_parquet_columns(d, path)?;
                rep.sha256 =
                    crate::registry::sha256_file(path).map_err(|e| CorpusError::Input {
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
                        ctx.record(&mut b, &mut rep, &src.display, *row_no, outcome)?;
                    }
                    progress.update(|| format!("ingest {}: {} rows", src.display, b.mos.len()));
                    Ok(())
                })?;
            }
            Format::Jsonl | Format::Json => {
                let reader: Box<dyn Read> = match &src.data {
                    SourceData::File(path) => {
                        Box::new(File::open(path).map_err(|e| CorpusError::Input {
                            path: path.clone(),
                            reason: inputs::io_reason(&e),
                        })?)
                    }
                    SourceData::Memory(text) => {
                        Box::new(std::io::Cursor::new(text.as_bytes().to_vec()))
                    }
                };
                let mut lr = LineReader::new(reader);
                let mut chunk = Chunk::default();
                loop {
                    let more = lr.next_chunk(&mut chunk).map_err(|e| CorpusError::Input {
                        path: PathBuf::from(&src.display),
                        reason: format!("read error after line {}: {e}", rep.lines),
                    })?;
                    if !more {
                        break;
                    }
                    let outcomes: Vec<Result<Outcome, String>> = chunk
                        .lines
                        .par_iter()
                        .map(|(_, line)| project_line(&ctx, &src.slot, &chunk.buf, line))
                        .collect();
                    for ((line_no, _), outcome) in chunk.lines.iter().zip(outcomes) {
                        rep.lines += 1;
                        ctx.record(&mut b, &mut rep, &src.display, *line_no, outcome)?;
                    }
                    progress.update(|| {
                        format!(
                            "ingest: {:.1} MB, {} rows",
                            (total_bytes + lr.bytes()) as f64 / 1e6,
                            b.mos.len()
                        )
                    });
                }
                rep.bytes = lr.bytes();
                rep.sha256 = lr.finish();
            }
        }
        total_bytes += rep.bytes;
        reports.push(rep);
    }
    progress.clear();
    Ok(finish(b, d, schema, columns, reports))
}

fn project_line(ctx: &Ctx<'_>, slot: &str, buf: &[u8], line: &Line) -> Result<Outcome, String> {
    match line {
        Line::Oversized(len) => Ok(Outcome::Drop(
            codes::LINE_TOO_LONG.into(),
            format!(
                "line of {len} bytes exceeds the {} MiB bound",
                lines::MAX_LINE >> 20
            ),
        )),
        Line::Text(range) => match std::str::from_utf8(&buf[range.clone()]) {
            Err(e) => Ok(Outcome::Drop(
                codes::INVALID_UTF8.into(),
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            )),
            Ok(text) if text.trim().is_empty() => {
                Ok(Outcome::Drop(codes::BLANK_LINE.into(), "blank line".into()))
            }
            Ok(text) => ctx.project(slot, text),
        },
    }
}

/// A parquet table must have a MOS column; anything else is up to the rows.
fn check_parquet_columns(d: &Descriptor, path: &std::path::Path) -> Result<(), CorpusError> {
    let cols = parquet::columns(path)?;
    let native = &d.mos_scale.native_key;
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
    let label = |s: Option<Split>| s.map_or("none", Split::as_str).to_owned();
    let mut splits = BTreeMap::new();
    let mut group_split: BTreeMap<String, std::collections::BTreeSet<u32>> = BTreeMap::new();
    for i in 0..n {
        *splits.entry(label(b.split[i])).or_insert(0u64) += 1;
        group_split
            .entry(label(b.split[i]))
            .or_default()
            .insert(b.group[i]);
    }
    let mut sizes = vec![0u64; b.group_names.len()];
    for g in &b.group {
        sizes[*g as usize] += 1;
    }
    sizes.sort_unstable();
    let group_sizes =
        (!sizes.is_empty()).then(|| [sizes[0], sizes[sizes.len() / 2], sizes[sizes.len() - 1]]);
    let col_reports = columns
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let col = x.column(j);
            let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
            for v in col.iter() {
                lo = lo.min(*v);
                hi = hi.max(*v);
                sum += v;
            }
            ColumnReport {
                name: name.clone(),
                min: (n > 0).then_some(lo),
                max: (n > 0).then_some(hi),
                mean: (n > 0).then(|| sum / n as f64),
                filled: b.filled[j],
            }
        })
        .collect();
    let report = IngestReport {
        adapter: d.name.clone(),
        schema: schema.clone(),
        inputs,
        context: Vec::new(),
        rows: n as u64,
        splits,
        groups_per_split: group_split
            .into_iter()
            .map(|(k, v)| (k, v.len() as u64))
            .collect(),
        groups: b.group_names.len() as u64,
        group_sizes,
        split_origins: b.origin,
        drops: b.drops,
        synthetic_rows: b.synthetic,
        columns: col_reports,
        notes: Vec::new(),
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
        synthetic: n > 0 && b.synthetic == n as u64,
    };
    (dataset, report)
}
