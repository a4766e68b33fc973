//! Text inputs (JSONL, CSV, TSV; plain, gzip or zstd) through the
//! projection pipeline.
//!
//! A pipeline over chunks: while chunk k is projected in parallel, the
//! outcomes of chunk k-1 are recorded (in line order) and chunk k+1 is read
//! (decompressed, hashed), so the sequential work overlaps the projection
//! instead of idling the cores. Memory stays bounded: two chunks of raw text
//! and two of outcomes.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use csv::ByteRecord;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::delimited::Header;
use super::lines::{self, Chunk, Line, LineReader};
use super::sniff::{self, Compression};
use super::{codes, inputs, Builder, CorpusError, Ctx, InputReport, Outcome, Source, SourceData};
use crate::training::Status;

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
        inner: File::open(path).map_err(input_err)?,
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
        reason: format!("read error after line {lines}: {e}"),
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

/// A chunk of delimited records: a pool of reused records and, per line
/// that ends as an outcome, its number and record (`None`: a blank line).
#[derive(Default)]
struct Records {
    pool: Vec<ByteRecord>,
    entries: Vec<(u64, Option<usize>)>,
}

/// Ingests a CSV (`delimiter` `,`) or TSV (`\t`) source with a header row.
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
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(LineTracker::new(reader));
    let input_err = |reason: String| CorpusError::Input {
        path: PathBuf::from(&src.display),
        reason,
    };
    let names = rdr
        .byte_headers()
        .map_err(|e| input_err(format!("line 1: {}", csv_reason(&e))))?
        .clone();
    // An empty file has no header row: the caller reports it as empty.
    if !names.is_empty() {
        let header = Header::new(&names, &ctx.adapter.descriptor.header_aliases)
            .map_err(|r| input_err(format!("line 1: {r}")))?;
        let header_end = rdr.position().byte().saturating_sub(1);
        let mut last_line = rdr.get_mut().line_of(header_end);
        pipeline(
            ctx,
            b,
            rep,
            src,
            status,
            |chunk: &mut Records| read_records(&mut rdr, chunk, &mut last_line),
            |chunk: &Records| {
                chunk
                    .entries
                    .par_iter()
                    // One JSON buffer per rayon job, reused record to record.
                    .map_init(String::new, |json, (n, rec)| {
                        let outcome = match rec {
                            None => {
                                Ok(Outcome::Drop(codes::BLANK_LINE.into(), "blank line".into()))
                            }
                            Some(i) => match header.write_json(&chunk.pool[*i], json) {
                                Ok(()) => ctx.project(&src.slot, json),
                                Err((code, message)) => Ok(Outcome::Drop(code.into(), message)),
                            },
                        };
                        (*n, outcome)
                    })
                    .collect()
            },
        )?;
    }
    // Whatever the reader buffered but did not parse is counted too.
    let mut rest = rdr.into_inner().inner;
    io::copy(&mut rest, &mut io::sink()).map_err(|e| input_err(format!("read error: {e}")))?;
    opened.finish(rep, None);
    Ok(())
}

/// The underlying reader of a delimited source, remembering where its lines
/// end: the CSV reader reports a record's position *before* the blank lines
/// it skips and counts `\r\n` as two terminators, so lines are numbered
/// here from the bytes themselves.
struct LineTracker<R> {
    inner: R,
    /// Bytes passed through so far.
    offset: u64,
    /// Offsets of the `\n` bytes passed through and not yet counted.
    pending: VecDeque<u64>,
    /// `\n` bytes counted (all before the last queried offset).
    counted: u64,
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let base = self.offset;
        self.pending
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

impl<R> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            pending: VecDeque::new(),
            counted: 0,
        }
    }

    /// The 1-based line of the byte at `offset`; offsets must not decrease
    /// from one call to the next.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self.pending.front().is_some_and(|&nl| nl < offset) {
            self.pending.pop_front();
            self.counted += 1;
        }
        self.counted + 1
    }
}

/// Bytes of CSV or TSV records per chunk: smaller than the JSONL chunk
/// ([`lines::CHUNK_BYTES`]), because the records are parsed on the reading
/// side of the pipeline, so the first chunk's parse and the last chunk's
/// accounting are the parts no other work overlaps.
const RECORD_CHUNK_BYTES: usize = 1 << 20;

/// Reads about [`RECORD_CHUNK_BYTES`] of records; blank lines the CSV reader
/// steps over are entries too, so that every line is accounted for.
/// `last_line` is the line the previous record (or the header) ended on.
fn read_records<R: Read>(
    rdr: &mut csv::Reader<LineTracker<R>>,
    chunk: &mut Records,
    last_line: &mut u64,
) -> io::Result<bool> {
    chunk.entries.clear();
    let mut used = 0;
    let mut bytes = 0;
    while bytes < RECORD_CHUNK_BYTES {
        if used == chunk.pool.len() {
            chunk.pool.push(ByteRecord::new());
        }
        let rec = &mut chunk.pool[used];
        let more = rdr
            .read_byte_record(rec)
            .map_err(|e| io::Error::other(csv_reason(&e)))?;
        if !more {
            break;
        }
        // The record ends at the byte before the reader's position (its
        // terminator, or its last byte at the end of the input); it starts
        // as many lines earlier as its quoted fields hold line breaks.
        let end = rdr.position().byte().saturating_sub(1);
        let end_line = rdr.get_mut().line_of(end);
        let inner_breaks = memchr::memchr_iter(b'\n', rec.as_slice()).count() as u64;
        let line = end_line.saturating_sub(inner_breaks).max(*last_line + 1);
        chunk
            .entries
            .extend((*last_line + 1..line).map(|l| (l, None)));
        *last_line = end_line;
        bytes += rec.as_slice().len() + rec.len();
        chunk.entries.push((line, Some(used)));
        used += 1;
    }
    Ok(!chunk.entries.is_empty())
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}
