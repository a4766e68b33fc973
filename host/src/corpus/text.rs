//! Text inputs (JSONL, CSV, TSV; plain, gzip or zstd) through the
//! projection pipeline.
//!
//! A pipeline over chunks: while chunk k is projected in parallel, the
//! outcomes of chunk k-1 are recorded (in line order) and chunk k+1 is read
//! (decompressed, hashed), so the sequential work overlaps the projection
//! instead of idling the cores. Memory stays bounded: two chunks of raw text
//! and two of outcomes.

use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::delimited::Header;
use super::lines::{self, Chunk, Line, LineReader};
use super::records::{self, RecordReader};
use super::sniff::{self, Compression};
use super::{codes, inputs, Builder, CorpusError, Ctx, InputReport, Outcome, Source, SourceData};
use crate::status::Status;

/// Outcomes of one chunk, with their line numbers, in order.
type Outcomes = Vec<(u64, Result<Outcome, String>)>;

/// The bytes a [`Tee`] has passed on, and their running sha256.
#[derive(Default)]
struct Tally {
    hasher: Sha256,
    bytes: u64,
}

/// Hashes and counts the bytes read through it (the file's own bytes, before
/// any decompression).
struct Tee<R> {
    inner: R,
    tally: Arc<Mutex<Tally>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        t.hasher.update(&buf[..n]);
        t.bytes += n as u64;
        Ok(n)
    }
}

/// An opened text source: its decompressed bytes, and the tally of its raw
/// bytes (`None` for in-memory text, which the line reader hashes).
struct Opened {
    reader: Box<dyn Read + Send>,
    tally: Option<Arc<Mutex<Tally>>>,
    compression: Compression,
}

fn open(src: &Source) -> Result<Opened, CorpusError> {
    let path = match &src.data {
        SourceData::Memory(text) => {
            return Ok(Opened {
                reader: Box::new(Cursor::new(text.as_bytes().to_vec())),
                tally: None,
                compression: Compression::None,
            })
        }
        SourceData::File(path) => path,
    };
    let input_err = |e: io::Error| CorpusError::Input {
        path: path.clone(),
        reason: inputs::io_reason(&e),
    };
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut tee = Tee {
        inner: crate::safe_fs::open_read(path).map_err(|e| input_err(e.into()))?,
        tally: tally.clone(),
    };
    let mut magic = [0u8; 4];
    let n = sniff::read_full(&mut tee, &mut magic).map_err(input_err)?;
    let compression = Compression::of(&magic[..n]);
    let reader =
        sniff::decoder(Cursor::new(magic[..n].to_vec()).chain(tee), compression).map_err(|e| {
            CorpusError::Input {
                path: path.clone(),
                reason: format!(
                    "not readable as {}: {e}",
                    compression.name().unwrap_or("text")
                ),
            }
        })?;
    Ok(Opened {
        reader,
        tally: Some(tally),
        compression,
    })
}

impl Opened {
    /// Fills in the bytes and sha256 of what was read.
    fn finish(&self, rep: &mut InputReport, line_reader: Option<LineReader<Box<dyn Read + Send>>>) {
        if let Some(t) = &self.tally {
            let t = t.lock().unwrap_or_else(|e| e.into_inner());
            rep.bytes = t.bytes;
            rep.sha256 = crate::digest::hex(&t.hasher.clone().finalize());
        } else if let Some(lr) = line_reader {
            rep.bytes = lr.bytes();
            rep.sha256 = lr.finish();
        }
        rep.compression = self.compression.name().map(str::to_owned);
    }
}

/// Runs the pipeline: `read` fills the next chunk (false at the end),
/// `project` projects a chunk in parallel.
fn pipeline<C: Default + Send + Sync>(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    rep: &mut InputReport,
    src: &Source,
    status: &Status,
    mut read: impl FnMut(&mut C) -> io::Result<bool> + Send,
    project: impl Fn(&C) -> Outcomes + Sync,
) -> Result<(), CorpusError> {
    let read_error = |e: io::Error, lines: u64| CorpusError::Input {
        path: PathBuf::from(&src.display),
        reason: if records::is_unclosed_quote(&e) {
            e.to_string()
        } else {
            format!("read error after line {lines}: {e}")
        },
    };
    let mut current = C::default();
    let mut next = C::default();
    let mut pending: Outcomes = Vec::new();
    let mut more = read(&mut current).map_err(|e| read_error(e, 0))?;
    while more {
        let (outcomes, step) = rayon::join(
            || project(&current),
            || -> Result<io::Result<bool>, CorpusError> {
                let done = std::mem::take(&mut pending);
                ctx.record_all(b, rep, &src.display, done)?;
                Ok(read(&mut next))
            },
        );
        // A --strict or plugin error in an earlier line wins.
        let step = step?;
        pending = outcomes;
        more = match step {
            Ok(more) => more,
            Err(e) => {
                let done = std::mem::take(&mut pending);
                ctx.record_all(b, rep, &src.display, done)?;
                return Err(read_error(e, rep.lines));
            }
        };
        std::mem::swap(&mut current, &mut next);
        status.update(|| format!("ingest {}: {} rows", src.display, b.mos.len()));
    }
    ctx.record_all(b, rep, &src.display, pending)
}

/// Ingests a JSONL source (one JSON object per line).
pub(super) fn jsonl(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    rep: &mut InputReport,
    src: &Source,
    status: &Status,
) -> Result<(), CorpusError> {
    let mut opened = open(src)?;
    let reader = std::mem::replace(&mut opened.reader, Box::new(io::empty()));
    let mut lr = if opened.tally.is_some() {
        LineReader::without_hash(reader)
    } else {
        LineReader::new(reader)
    };
    pipeline(
        ctx,
        b,
        rep,
        src,
        status,
        |chunk: &mut Chunk| lr.next_chunk(chunk),
        |chunk: &Chunk| {
            chunk
                .lines
                .par_iter()
                .map(|(n, line)| (*n, project_line(ctx, &src.slot, &chunk.buf, line)))
                .collect()
        },
    )?;
    opened.finish(rep, Some(lr));
    Ok(())
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
            Ok(text) => name_cr_endings(text, ctx.project(slot, text)),
        },
    }
}

/// A malformed line with carriage returns inside it is named for what it
/// is: CR-only line endings (moshead splits lines at LF).
fn name_cr_endings(text: &str, outcome: Result<Outcome, String>) -> Result<Outcome, String> {
    match outcome {
        Ok(Outcome::Drop(code, _))
            if code == moshead_protocol::codes::MALFORMED_JSON
                && text.trim_end_matches('\r').contains('\r') =>
        {
            let n = text.trim_end_matches('\r').matches('\r').count();
            Ok(Outcome::Drop(
                codes::CR_LINE_ENDINGS.into(),
                format!(
                    "{n} carriage return(s) inside one line: the file has CR-only line endings; lines end at LF (convert it, e.g. `tr '\\r' '\\n'`)"
                ),
            ))
        }
        other => other,
    }
}

/// A chunk of delimited records: a pool of reused records and, per record
/// (or line) that ends as an outcome, its line and what it is.
#[derive(Default)]
struct Records {
    pool: Vec<ByteRecord>,
    entries: Vec<(u64, Entry)>,
}

/// One entry of a chunk of delimited records.
enum Entry {
    /// A record of the pool.
    Record(usize),
    /// A drop the reader decided (a blank line, an oversized record, an
    /// unterminated quote).
    Drop(&'static str, String),
}

/// Ingests a CSV (`delimiter` `,`) or TSV (`\t`) source with a header row.
/// Records are read under the JSONL line rule ([`super::records`]): one at
/// a time, none held past [`lines::MAX_LINE`] bytes.
pub(super) fn delimited(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    rep: &mut InputReport,
    src: &Source,
    delimiter: u8,
    status: &Status,
) -> Result<(), CorpusError> {
    let mut opened = open(src)?;
    let reader = std::mem::replace(&mut opened.reader, Box::new(io::empty()));
    let mut rdr = RecordReader::new(io::BufReader::with_capacity(1 << 20, reader), delimiter);
    let input_err = |reason: String| CorpusError::Input {
        path: PathBuf::from(&src.display),
        reason,
    };
    // The header: the first record (blank lines before it are skipped).
    let mut names = ByteRecord::new();
    let header = loop {
        match rdr.next(&mut names, None) {
            Err(e) => return Err(input_err(e.to_string())),
            Ok(None) => break None,
            Ok(Some((_, records::Item::Blank))) => continue,
            Ok(Some((_, records::Item::Record))) => break Some(()),
            Ok(Some((line, records::Item::Oversized(len, _)))) => {
                return Err(input_err(format!(
                    "line {line}: the header row of {len} bytes exceeds the {} MiB bound",
                    lines::MAX_LINE >> 20
                )))
            }
            Ok(Some((line, records::Item::Unterminated(why)))) => {
                return Err(input_err(format!("line {line}: the header row: {why}")))
            }
        }
    };
    // An empty file has no header row: the caller reports it as empty.
    if header.is_some() {
        let header = Header::new(&names, &ctx.adapter.descriptor.header_aliases)
            .map_err(|r| input_err(format!("line 1: {r}")))?;
        let width = header.keys().len();
        pipeline(
            ctx,
            b,
            rep,
            src,
            status,
            |chunk: &mut Records| read_records(&mut rdr, chunk, width),
            |chunk: &Records| {
                chunk
                    .entries
                    .par_iter()
                    // One JSON buffer per rayon job, reused record to record.
                    .map_init(String::new, |json, (n, entry)| {
                        let outcome = match entry {
                            Entry::Drop(code, message) => {
                                Ok(Outcome::Drop((*code).into(), message.clone()))
                            }
                            Entry::Record(i) => match header.write_json(&chunk.pool[*i], json) {
                                Ok(()) => {
                                    name_delimiter(ctx.project(&src.slot, json), &header, delimiter)
                                }
                                Err((code, message)) => Ok(Outcome::Drop(code.into(), message)),
                            },
                        };
                        (*n, outcome)
                    })
                    .collect()
            },
        )?;
    }
    opened.finish(rep, None);
    Ok(())
}

/// Bytes of CSV or TSV records per chunk: smaller than the JSONL chunk
/// ([`lines::CHUNK_BYTES`]), because the records are parsed on the reading
/// side of the pipeline, so the first chunk's parse and the last chunk's
/// accounting are the parts no other work overlaps.
const RECORD_CHUNK_BYTES: usize = 1 << 20;

/// Reads about [`RECORD_CHUNK_BYTES`] of records under a header of `width`
/// fields; every record and blank line is an entry, so that every line is
/// accounted for.
fn read_records<R: io::BufRead>(
    rdr: &mut RecordReader<R>,
    chunk: &mut Records,
    width: usize,
) -> io::Result<bool> {
    chunk.entries.clear();
    let mut used = 0;
    let mut bytes = 0;
    while bytes < RECORD_CHUNK_BYTES {
        if used == chunk.pool.len() {
            chunk.pool.push(ByteRecord::new());
        }
        let rec = &mut chunk.pool[used];
        let Some((line, item)) = rdr.next(rec, Some(width))? else {
            break;
        };
        let entry = match item {
            records::Item::Record => {
                bytes += rec.as_slice().len() + rec.len();
                used += 1;
                Entry::Record(used - 1)
            }
            records::Item::Blank => Entry::Drop(codes::BLANK_LINE, "blank line".into()),
            records::Item::Oversized(len, span) => Entry::Drop(
                codes::LINE_TOO_LONG,
                format!(
                    "{} of {len} bytes exceeds the {} MiB bound",
                    if span > 1 {
                        format!("record (a quoted field over {span} lines)")
                    } else {
                        "line".to_owned()
                    },
                    lines::MAX_LINE >> 20
                ),
            ),
            records::Item::Unterminated(why) => Entry::Drop(codes::UNTERMINATED_QUOTE, why),
        };
        chunk.entries.push((line, entry));
    }
    Ok(!chunk.entries.is_empty())
}

/// A record the adapter finds without its corpus tag, in a file whose header
/// is one column holding the other delimiter: the drop says the file is
/// likely separated by `;` (or `,`) rather than the format's delimiter.
fn name_delimiter(
    outcome: Result<Outcome, String>,
    header: &Header,
    delimiter: u8,
) -> Result<Outcome, String> {
    match (outcome, header.keys()) {
        (Ok(Outcome::Drop(code, message)), [only]) => {
            let other = [b';', b',', b'\t', b'|']
                .into_iter()
                .find(|&d| d != delimiter && only.as_bytes().contains(&d));
            match other {
                Some(d) => Ok(Outcome::Drop(
                    code,
                    format!(
                        "{message} (the header is one column, `{}`, which holds `{}`: is the file separated by `{}` rather than `{}`?)",
                        only.escape_debug(),
                        (d as char).escape_debug(),
                        (d as char).escape_debug(),
                        (delimiter as char).escape_debug()
                    ),
                )),
                None => Ok(Outcome::Drop(code, message)),
            }
        }
        (other, _) => other,
    }
}
