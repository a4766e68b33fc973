//! Ingesting a slot of libvmaf logs: every log is pooled
//! ([`super::libvmaf`]), joined with its labels record ([`super::labels`])
//! by file stem, and the joined raw row is projected by the plugin like a
//! JSONL row.
//!
//! Accounting: a log ends as a projected row or a counted drop
//! (`not-libvmaf-log`, `label-missing`, or the plugin's reason); a labels
//! record ends joined with a log or as a counted drop (`log-missing`, or a
//! reason of reading the table). The logs of one slot directory are one
//! input in the report, hashed as the `sha256sum` listing of its files.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use moshead_protocol::{Descriptor, LabelsJoin};
use rayon::prelude::*;

use super::labels::{self, codes, Table};
use super::libvmaf;
use super::{inputs, Builder, CorpusError, Ctx, InputReport, Outcome, Source, SourceData};

/// Logs larger than this are refused (a 300-frame log is about 150 kB).
pub const MAX_LOG_BYTES: u64 = 256 << 20;

/// A labels table being joined.
pub(super) struct Labels {
    table: Table,
    used: Vec<bool>,
    report: InputReport,
}

/// What the joins end with: the labels tables' reports, notes, and the
/// subjective account of each table of raw votes.
pub(super) type Finished = (Vec<InputReport>, Vec<String>, Vec<labels::SubjectiveReport>);

/// Labels tables by labels slot.
#[derive(Default)]
pub(super) struct Joins {
    tables: HashMap<String, Labels>,
    /// Non-finite frame values excluded from pooling, with a first example.
    non_finite: BTreeMap<String, (u64, String)>,
}

fn file_of(src: &Source) -> Result<&Path, CorpusError> {
    match &src.data {
        SourceData::File(p) => Ok(p),
        SourceData::Memory(_) => Err(CorpusError::Input {
            path: PathBuf::from(&src.display),
            reason: format!("slot `{}` reads files only", src.slot),
        }),
    }
}

fn join_of<'d>(d: &'d Descriptor, slot: &str) -> Result<&'d LabelsJoin, CorpusError> {
    d.slot(slot)
        .and_then(|s| s.labels.as_ref())
        .ok_or_else(|| CorpusError::Input {
            path: PathBuf::from(slot),
            reason: format!("slot `{slot}` declares no labels join"),
        })
}

impl Joins {
    /// Reads the labels table `src` (of a labels slot) into the join.
    pub(super) fn read(
        &mut self,
        ctx: &Ctx<'_>,
        b: &mut Builder,
        src: &Source,
    ) -> Result<(), CorpusError> {
        let d = &ctx.adapter.descriptor;
        let join = d
            .slots_joining(&src.slot)
            .find_map(|s| s.labels.as_ref())
            .ok_or_else(|| CorpusError::Input {
                path: PathBuf::from(&src.display),
                reason: format!("labels slot `{}` is joined by no slot", src.slot),
            })?;
        let path = file_of(src)?;
        let io = |e: std::io::Error| CorpusError::Input {
            path: path.to_path_buf(),
            reason: inputs::io_reason(&e),
        };
        // Checked for its type first (a FIFO or device is refused, never
        // read) and read with a bound.
        let file = crate::safe_fs::open_read(path).map_err(|e| io(e.into()))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, labels::MAX_BYTES + 1),
            &mut bytes,
        )
        .map_err(io)?;
        if bytes.len() as u64 > labels::MAX_BYTES {
            return Err(CorpusError::Input {
                path: path.to_path_buf(),
                reason: format!(
                    "labels slot `{}`: over the {} MiB bound of a labels table (one record per clip)",
                    src.slot,
                    labels::MAX_BYTES >> 20
                ),
            });
        }
        if bytes.is_empty() {
            return Err(CorpusError::Input {
                path: path.to_path_buf(),
                reason: format!("slot `{}`: empty file (0 bytes)", src.slot),
            });
        }
        // A labels table may be gzip- or zstd-compressed like any text input.
        let compression = super::sniff::Compression::of(&bytes);
        let (sha256, n_bytes) = (crate::digest::sha256_hex(&bytes), bytes.len() as u64);
        let text = super::sniff::decoder(std::io::Cursor::new(bytes), compression).map_err(io)?;
        let table = labels::read(text, src.format, join, &src.slot, ctx.subjective_model).map_err(
            |reason| CorpusError::Input {
                path: path.to_path_buf(),
                reason: format!("labels slot `{}`: {reason}", src.slot),
            },
        )?;
        let mut report = InputReport {
            slot: src.slot.clone(),
            path: src.display.clone(),
            sha256,
            bytes: n_bytes,
            lines: table.read,
            rows: 0,
            drops: BTreeMap::new(),
            compression: compression.name().map(str::to_owned),
        };
        for (line, code, message) in &table.drops {
            let drop = Outcome::Drop((*code).to_owned(), message.clone());
            ctx.record(b, &mut report, &src.display, *line, Ok(drop))?;
        }
        let used = vec![false; table.records.len()];
        self.tables.insert(
            src.slot.clone(),
            Labels {
                table,
                used,
                report,
            },
        );
        Ok(())
    }

    /// Pools, joins and projects the logs `files` (of one log slot and
    /// binding), returning their input report.
    pub(super) fn logs(
        &mut self,
        ctx: &mut Ctx<'_>,
        b: &mut Builder,
        files: &[(u32, &Source)],
        display: String,
    ) -> Result<InputReport, CorpusError> {
        let Some((_, first)) = files.first() else {
            return Err(CorpusError::Input {
                path: PathBuf::from(&display),
                reason: "no log to read".into(),
            });
        };
        let slot = first.slot.clone();
        let d = &ctx.adapter.descriptor;
        let join = join_of(d, &slot)?;
        // Scoring unlabelled clips, a log needs no labels table: each log is
        // a row keyed by its file stem (under the join's first key column).
        let mut alone = Labels {
            table: Table::default(),
            used: Vec::new(),
            report: InputReport::new(&join.slot, ""),
        };
        let (labels, key_column) = match self.tables.get_mut(&join.slot) {
            Some(l) => (l, None),
            None if ctx.unlabelled => (&mut alone, join.key.first().cloned()),
            None => {
                return Err(CorpusError::Input {
                    path: PathBuf::from(&display),
                    reason: format!(
                        "slot `{slot}` needs its labels table: pass --input {}=PATH (predict scores logs alone)",
                        join.slot
                    ),
                })
            }
        };
        let mut rep = InputReport::new(&slot, &display);
        let mut listing = String::new();
        for chunk in files.chunks(256) {
            let shared = &*ctx;
            let read: Vec<Result<Log, CorpusError>> = chunk
                .par_iter()
                .map(|(_, src)| {
                    let log = read_log(src)?;
                    Ok(log.project(shared, &slot, &labels.table, key_column.as_deref()))
                })
                .collect();
            for ((k, _), log) in chunk.iter().zip(read) {
                // The row's location is its log, line 1.
                ctx.source = *k;
                let log = log?;
                if let Some(reason) = log.error {
                    return Err(CorpusError::Input {
                        path: PathBuf::from(&log.display),
                        reason,
                    });
                }
                listing.push_str(&format!("{}  {}\n", log.sha256, log.name));
                rep.bytes += log.bytes;
                rep.lines += 1;
                if let Some(i) = log.joined {
                    labels.used[i] = true;
                }
                if let Some((count, metric)) = log.non_finite {
                    let e = self
                        .non_finite
                        .entry(slot.clone())
                        .or_insert_with(|| (0, format!("{} ({metric})", log.name)));
                    e.0 += count;
                }
                ctx.record(b, &mut rep, &log.display, 1, log.outcome)?;
            }
        }
        rep.sha256 = crate::digest::sha256_hex(listing.as_bytes());
        Ok(rep)
    }

    /// Counts the labels records no log joined as `log-missing` drops and
    /// returns the labels tables' reports, with notes on the joins.
    pub(super) fn finish(self, ctx: &Ctx<'_>, b: &mut Builder) -> Result<Finished, CorpusError> {
        let mut reports = Vec::new();
        let mut subjective = Vec::new();
        let mut notes = Vec::new();
        let mut tables: Vec<(String, Labels)> = self.tables.into_iter().collect();
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        for (slot, mut l) in tables {
            for (rec, used) in l.table.records.iter().zip(&l.used) {
                if !used {
                    let drop = Outcome::Drop(
                        codes::LOG_MISSING.into(),
                        format!(
                            "no usable libvmaf log `{}.json` for key `{}` (absent, or dropped)",
                            rec.key, rec.key
                        ),
                    );
                    let path = l.report.path.clone();
                    ctx.record(b, &mut l.report, &path, rec.line, Ok(drop))?;
                }
            }
            let joined = l.used.iter().filter(|u| **u).count();
            notes.push(format!(
                "labels slot `{slot}`: {} records, {joined} joined with a log",
                l.table.read
            ));
            reports.push(l.report);
            subjective.extend(l.table.subjective);
        }
        for (slot, (count, first)) in self.non_finite {
            notes.push(format!(
                "slot `{slot}`: {count} non-finite frame values (null in the log) excluded from pooling; first in {first}"
            ));
        }
        Ok((reports, notes, subjective))
    }
}

/// One log read, pooled and projected.
struct Log {
    name: String,
    display: String,
    sha256: String,
    bytes: u64,
    /// Pooled, or why the file is not a libvmaf log.
    pooled: Result<libvmaf::PooledLog, String>,
    joined: Option<usize>,
    non_finite: Option<(u64, String)>,
    outcome: Result<Outcome, String>,
    /// Why the log cannot be joined at all (its pooled columns collide),
    /// an input error naming it.
    error: Option<String>,
}

fn read_log(src: &Source) -> Result<Log, CorpusError> {
    let path = file_of(src)?;
    let io = |e: std::io::Error| CorpusError::Input {
        path: path.to_path_buf(),
        reason: inputs::io_reason(&e),
    };
    let mut bytes = Vec::new();
    crate::safe_fs::open_read(path)
        .map_err(|e| io(e.into()))?
        .take(MAX_LOG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let pooled = if bytes.len() as u64 > MAX_LOG_BYTES {
        Err(format!(
            "larger than the {} MiB bound of a log",
            MAX_LOG_BYTES >> 20
        ))
    } else {
        match std::str::from_utf8(&bytes) {
            Ok(text) => libvmaf::pool_log(text).map_err(|e| e.to_string()),
            Err(e) => Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())),
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| src.display.clone());
    Ok(Log {
        name,
        display: src.display.clone(),
        sha256: crate::digest::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        pooled,
        joined: None,
        non_finite: None,
        outcome: Ok(Outcome::Drop(String::new(), String::new())),
        error: None,
    })
}

/// The join key of a log: its file name without `.json`.
pub fn stem(name: &str) -> &str {
    name.strip_suffix(".json")
        .or_else(|| name.strip_suffix(".JSON"))
        .unwrap_or(name)
}

impl Log {
    /// Joins the pooled log with its labels record, or, with `alone` (the
    /// key column of a run scoring logs without labels), makes it a row of
    /// its own keyed by its file stem.
    fn project(mut self, ctx: &Ctx<'_>, slot: &str, table: &Table, alone: Option<&str>) -> Log {
        let pooled = match &self.pooled {
            Ok(p) => p,
            Err(reason) => {
                self.outcome = Ok(Outcome::Drop(codes::NOT_LIBVMAF_LOG.into(), reason.clone()));
                return self;
            }
        };
        let key = stem(&self.name);
        let (mut row, label_line) = match alone {
            Some(column) => {
                let mut row = serde_json::Map::new();
                row.insert(column.to_owned(), key.into());
                (row, None)
            }
            None => {
                let Some((i, record)) = table.get(key) else {
                    self.outcome = Ok(Outcome::Drop(
                        codes::LABEL_MISSING.into(),
                        format!("no labels record with key `{key}` (the log's file stem)"),
                    ));
                    return self;
                };
                self.joined = Some(i);
                (record.columns.clone(), Some(record.line))
            }
        };
        let nf = pooled.non_finite();
        if nf > 0 {
            let metric = pooled
                .metrics
                .iter()
                .find(|(_, p)| p.non_finite > 0)
                .map(|(m, _)| m.clone())
                .unwrap_or_default();
            self.non_finite = Some((nf as u64, metric));
        }
        // A pooled column never replaces a labels column (a metric named
        // `mos`, as `vmaf --model ...:name=mos` writes, would become the
        // ground truth): a collision is an error naming both.
        let pooled_columns = match pooled.columns() {
            Ok(c) => c,
            Err(e) => {
                self.error = Some(e.to_string());
                return self;
            }
        };
        for (k, _, metric) in pooled.column_list() {
            if row.contains_key(&k) {
                let whose = match label_line {
                    Some(line) => format!("a column of the labels record (line {line})"),
                    None => "the key column of a log scored alone".to_owned(),
                };
                self.error = Some(format!(
                    "pooled column `{k}` (from {}) has the name of {whose}: rename the metric (e.g. `vmaf --model ...:name=...`) or the labels column",
                    libvmaf::describe(metric),
                ));
                return self;
            }
        }
        for (k, v) in pooled_columns {
            row.insert(k, v);
        }
        let text = serde_json::Value::Object(row).to_string();
        self.outcome = ctx.project(slot, &text);
        self
    }
}
