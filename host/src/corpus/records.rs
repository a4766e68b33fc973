//! CSV and TSV records read under the JSONL line rule: one record is held
//! at a time and never past [`MAX_LINE`] bytes.
//!
//! The quoting is the CSV crate's (RFC 4180 with its usual leniencies): a
//! field that starts with `"` is quoted up to a `"` not doubled, and may
//! hold delimiters and line breaks; a `"` inside an unquoted field is text.
//! Records end at LF, CR or CRLF outside quotes.
//!
//! Every record ends as one [`Item`]:
//! - its fields, when it is complete and within the bound;
//! - [`Item::Blank`] for an empty line;
//! - [`Item::Oversized`], when it passes the bound: the rest of it is read
//!   to its end without being held;
//! - [`Item::Unterminated`], when a quote opened on a line is not closed
//!   there and what follows cannot be the rest of its record (the input
//!   ends inside the quote, or the record it would make has another field
//!   count than the header): that line alone is dropped and reading starts
//!   again on the next line, so one stray quote costs one line, not the
//!   rest of the file. A quote still open past the bound at the end of
//!   the input is an error naming the line it opened on.

use std::io::{self, BufRead};

use csv::ByteRecord;

use super::lines::MAX_LINE;

/// One record of the input, numbered by the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A record; its fields are in the caller's [`ByteRecord`].
    Record,
    /// An empty line.
    Blank,
    /// A record longer than the bound: its length in bytes and the number
    /// of lines it spans (more than one when a quoted field holds line
    /// breaks: a stray quote with its close 16 MiB later is one drop whose
    /// message names every line it took).
    Oversized(u64, u64),
    /// A line whose open quote has no end that makes a record: the drop
    /// of that line, with why.
    Unterminated(String),
}

/// The error of a quote still open past the bound at the end of the input
/// (its message names the line).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnclosedQuote(String);

/// Whether `e` is an [`UnclosedQuote`] (a message complete in itself, not
/// a read error).
pub fn is_unclosed_quote(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|r| r.is::<UnclosedQuote>())
}

/// Quoting state at one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` seen inside a quoted field: the end of the quote, or the first
    /// half of a doubled `""`.
    QuoteInQuoted,
}

impl State {
    /// The state after `b`, and whether `b` ends the record.
    #[inline]
    fn step(self, b: u8, delimiter: u8) -> (State, bool) {
        match (self, b) {
            (State::Quoted, b'"') => (State::QuoteInQuoted, false),
            (State::Quoted, _) => (State::Quoted, false),
            (_, b'\n' | b'\r') => (State::FieldStart, true),
            (State::QuoteInQuoted, b'"') => (State::Quoted, false),
            (_, d) if d == delimiter => (State::FieldStart, false),
            (State::FieldStart, b'"') => (State::Quoted, false),
            _ => (State::Unquoted, false),
        }
    }
}

/// Reads records from a byte stream (already decompressed).
pub struct RecordReader<R> {
    inner: R,
    delimiter: u8,
    /// Bytes put back after an unterminated quote, read before `inner`.
    pending: Vec<u8>,
    pending_pos: usize,
    /// The raw bytes of the record being read (terminator excluded).
    raw: Vec<u8>,
    /// `\n` bytes consumed so far (lines before the next record).
    newlines: u64,
    /// The line of the last record returned.
    last_line: u64,
    /// The previous record ended at a CR: a LF right after it is its CRLF.
    after_cr: bool,
}

/// How one raw record ended.
enum End {
    /// At a terminator (`None`: the end of the input) outside quotes.
    Complete(Option<u8>),
    /// At the end of the input inside a quote.
    OpenQuote,
    /// The end of the input, before any byte.
    Eof,
}

impl<R: BufRead> RecordReader<R> {
    /// Reads `inner`, fields separated by `delimiter`.
    pub fn new(inner: R, delimiter: u8) -> Self {
        RecordReader {
            inner,
            delimiter,
            pending: Vec::new(),
            pending_pos: 0,
            raw: Vec::new(),
            newlines: 0,
            last_line: 0,
            after_cr: false,
        }
    }

    /// The next record and its 1-based line, with its fields in `rec` when
    /// it is an [`Item::Record`]; `None` at the end of the input.
    /// `expected` is the header's field count (`None` while reading the
    /// header): a record spanning lines with another count is read as an
    /// unterminated quote on its first line.
    pub fn next(
        &mut self,
        rec: &mut ByteRecord,
        expected: Option<usize>,
    ) -> io::Result<Option<(u64, Item)>> {
        let start_newlines = self.newlines;
        let (end, total, oversized) = self.read_raw()?;
        if let End::Eof = end {
            return Ok(None);
        }
        // Lines are counted at LF; records split at a lone CR still get
        // increasing numbers.
        let line = (start_newlines + 1).max(self.last_line + 1);
        self.last_line = line;
        let inner_breaks = || memchr::memchr_iter(b'\n', &self.raw).count();
        if oversized {
            if let End::OpenQuote = end {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    UnclosedQuote(format!(
                        "line {line}: a quoted field opened on this line is never closed: the rest of the input ({total} bytes) would be one record, over the {} MiB bound",
                        MAX_LINE >> 20
                    )),
                ));
            }
            let lines = self.newlines - start_newlines
                + u64::from(!matches!(end, End::Complete(Some(b'\n'))));
            return Ok(Some((line, Item::Oversized(total, lines.max(1)))));
        }
        if self.raw.is_empty() {
            return Ok(Some((line, Item::Blank)));
        }
        parse_fields(&self.raw, self.delimiter, rec);
        let spans_lines = memchr::memchr(b'\n', &self.raw).is_some();
        let term = match end {
            End::Complete(t) => t,
            _ => None,
        };
        let why = match end {
            End::OpenQuote => Some(format!(
                "a quote opened on this line is never closed (the input ends inside it, {} line(s) later)",
                inner_breaks()
            )),
            _ if spans_lines && expected.is_some_and(|n| n != rec.len()) => Some(format!(
                "a quote opened on this line is not closed on it, and the record it would start (lines {line}-{}) has {} fields where the header has {}",
                line + inner_breaks() as u64,
                rec.len(),
                expected.unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(why) = why {
            self.put_back_after_first_line(start_newlines, term);
            return Ok(Some((line, Item::Unterminated(why))));
        }
        Ok(Some((line, Item::Record)))
    }

    /// Reads one raw record into `self.raw` (held only up to the bound).
    /// Returns how it ended, its length in bytes and whether it passed the
    /// bound.
    fn read_raw(&mut self) -> io::Result<(End, u64, bool)> {
        self.raw.clear();
        let mut state = State::FieldStart;
        let mut total = 0u64;
        let mut oversized = false;
        let mut any = false;
        loop {
            let from_pending = self.pending_pos < self.pending.len();
            let avail: &[u8] = if from_pending {
                &self.pending[self.pending_pos..]
            } else {
                self.inner.fill_buf()?
            };
            if avail.is_empty() {
                let end = match (any, state) {
                    (false, _) => End::Eof,
                    (true, State::Quoted) => End::OpenQuote,
                    (true, _) => End::Complete(None),
                };
                return Ok((end, total, oversized));
            }
            // A LF completing the CRLF the previous record ended with.
            if self.after_cr && !any {
                self.after_cr = false;
                if avail[0] == b'\n' {
                    self.newlines += 1;
                    Self::consume(&mut self.inner, &mut self.pending_pos, from_pending, 1);
                    continue;
                }
            }
            let mut used = 0;
            let mut done = None;
            for &b in avail {
                used += 1;
                let (next, ends) = state.step(b, self.delimiter);
                if ends {
                    self.after_cr = b == b'\r';
                    if b == b'\n' {
                        self.newlines += 1;
                    }
                    done = Some(b);
                    break;
                }
                if b == b'\n' {
                    self.newlines += 1;
                }
                state = next;
            }
            any = true;
            let body = if done.is_some() { used - 1 } else { used };
            total += body as u64;
            if !oversized {
                if self.raw.len() + body > MAX_LINE {
                    oversized = true;
                    self.raw.clear();
                } else {
                    self.raw.extend_from_slice(&avail[..body]);
                }
            }
            Self::consume(&mut self.inner, &mut self.pending_pos, from_pending, used);
            if let Some(term) = done {
                return Ok((End::Complete(Some(term)), total, oversized));
            }
        }
    }

    fn consume(inner: &mut R, pending_pos: &mut usize, from_pending: bool, n: usize) {
        if from_pending {
            *pending_pos += n;
        } else {
            inner.consume(n);
        }
    }

    /// Puts everything after the first line of `self.raw` back in front of
    /// the input, with the terminator the record ended at, so that reading
    /// starts again on the line after the first; `start_newlines` is the
    /// line count before the record.
    fn put_back_after_first_line(&mut self, start_newlines: u64, term: Option<u8>) {
        let Some(nl) = memchr::memchr(b'\n', &self.raw) else {
            return;
        };
        let mut pending = self.raw[nl + 1..].to_vec();
        pending.extend(term);
        self.after_cr = false;
        pending.extend_from_slice(self.pending.get(self.pending_pos..).unwrap_or_default());
        self.pending = pending;
        self.pending_pos = 0;
        self.newlines = start_newlines + 1;
    }
}

/// Splits a complete raw record (no terminator) into fields, unquoting.
fn parse_fields(raw: &[u8], delimiter: u8, rec: &mut ByteRecord) {
    rec.clear();
    let mut field: Vec<u8> = Vec::new();
    let mut state = State::FieldStart;
    for &b in raw {
        match (state, b) {
            (State::Quoted, b'"') => state = State::QuoteInQuoted,
            (State::Quoted, _) => field.push(b),
            (State::QuoteInQuoted, b'"') => {
                field.push(b'"');
                state = State::Quoted;
            }
            (_, d) if d == delimiter => {
                rec.push_field(&field);
                field.clear();
                state = State::FieldStart;
            }
            (State::FieldStart, b'"') => state = State::Quoted,
            _ => {
                field.push(b);
                state = State::Unquoted;
            }
        }
    }
    rec.push_field(&field);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line, item, fields)` of every record of `input` under a header of
    /// `expected` fields (the first record, read with `None`).
    fn read(input: &[u8], delimiter: u8) -> Vec<(u64, Item, Vec<String>)> {
        let mut r = RecordReader::new(input, delimiter);
        let mut rec = ByteRecord::new();
        let mut out = Vec::new();
        let mut expected = None;
        while let Some((line, item)) = r.next(&mut rec, expected).unwrap() {
            let fields = if item == Item::Record {
                rec.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            } else {
                Vec::new()
            };
            if expected.is_none() && item == Item::Record {
                expected = Some(rec.len());
            }
            out.push((line, item, fields));
        }
        out
    }

    fn ok(line: u64, fields: &[&str]) -> (u64, Item, Vec<String>) {
        (
            line,
            Item::Record,
            fields.iter().map(|f| f.to_string()).collect(),
        )
    }

    #[test]
    fn quoting_and_line_endings_as_the_csv_crate_reads_them() {
        let input = b"a,b,c\r\n1,\"x,\"\"y\"\"\",3\n\n2,\"two\nlines\",z\"q\rlast,\"\",\n";
        let got = read(input, b',');
        assert_eq!(
            got,
            [
                ok(1, &["a", "b", "c"]),
                ok(2, &["1", "x,\"y\"", "3"]),
                (3, Item::Blank, vec![]),
                ok(4, &["2", "two\nlines", "z\"q"]),
                ok(5, &["last", "", ""]),
            ]
        );
        // The same records the csv crate reads (blank lines aside).
        let mut c = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&input[..]);
        let theirs: Vec<Vec<String>> = c
            .byte_records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect();
        let ours: Vec<Vec<String>> = got
            .into_iter()
            .filter(|g| g.1 == Item::Record)
            .map(|g| g.2)
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(
            read(b"a\tb\n1\t\"2\t3\"\n", b'\t')[1],
            ok(2, &["1", "2\t3"])
        );
    }

    #[test]
    fn an_unterminated_quote_costs_its_own_line() {
        // Line 3 opens a quote never closed: the input ends inside it.
        let got = read(b"id,mos\n1,2\n2,\"3\n3,4\n4,5\n", b',');
        assert_eq!(got[0..2], [ok(1, &["id", "mos"]), ok(2, &["1", "2"])]);
        assert_eq!(got[2].0, 3);
        assert!(
            matches!(&got[2].1, Item::Unterminated(w) if w.contains("never closed")),
            "{got:?}"
        );
        assert_eq!(got[3..], [ok(4, &["3", "4"]), ok(5, &["4", "5"])]);
        // Closed lines later, but the record it makes is ragged.
        let got = read(
            b"id,mos,n\r\n2,\"3,1\r\n3,4,1\r\n4,5,\"6\"\r\n7,8,9\r\n",
            b',',
        );
        assert!(
            matches!(&got[1], (2, Item::Unterminated(w), _) if w.contains("lines 2-4") && w.contains("2 fields where the header has 3")),
            "{got:?}"
        );
        assert_eq!(
            got[2..],
            [
                ok(3, &["3", "4", "1"]),
                ok(4, &["4", "5", "6"]),
                ok(5, &["7", "8", "9"])
            ]
        );
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn oversized_records_are_skipped_not_held() {
        let mut input = b"a,b\n1,\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE));
        input.extend_from_slice(b"\ny\"\n2,3\n");
        let got = read(&input, b',');
        assert_eq!(
            got,
            [
                ok(1, &["a", "b"]),
                (2, Item::Oversized(MAX_LINE as u64 + 6, 2), vec![]),
                ok(4, &["2", "3"]),
            ]
        );
        // Still open at the end of the input: an error naming the line.
        let mut input = b"a,b\n1,2\n3,\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        let mut r = RecordReader::new(&input[..], b',');
        let mut rec = ByteRecord::new();
        r.next(&mut rec, None).unwrap();
        r.next(&mut rec, Some(2)).unwrap();
        let e = r.next(&mut rec, Some(2)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 3: a quoted field opened on this line is never closed"),
            "{e}"
        );
    }
}
