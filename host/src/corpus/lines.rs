//! Chunked line reading with a running sha256 and a bound on line length.
//!
//! Lines are gathered into chunks of about [`CHUNK_BYTES`] so that a chunk
//! can be projected in parallel while memory stays bounded: raw text lives
//! only as long as its chunk.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;

use sha2::{Digest, Sha256};

/// Target size of one chunk of raw text.
pub const CHUNK_BYTES: usize = 4 << 20;

/// The longest line that is parsed; longer lines are dropped as
/// `line-too-long` without being held in memory.
pub const MAX_LINE: usize = 16 << 20;

/// One line of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The byte range of the line in the chunk buffer (without `\n`/`\r\n`).
    Text(Range<usize>),
    /// The line was longer than [`MAX_LINE`]; its length in bytes.
    Oversized(u64),
}

/// A chunk of consecutive lines.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Raw bytes of the chunk's lines.
    pub buf: Vec<u8>,
    /// The lines with their 1-based line numbers.
    pub lines: Vec<(u64, Line)>,
}

/// Reads lines in chunks, hashing every byte read.
pub struct LineReader<R> {
    inner: BufReader<R>,
    line_no: u64,
    hasher: Option<Sha256>,
    bytes: u64,
}

impl<R: Read> LineReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        LineReader {
            inner: BufReader::with_capacity(1 << 20, inner),
            line_no: 0,
            hasher: Some(Sha256::new()),
            bytes: 0,
        }
    }

    /// Wraps `inner` without hashing (the caller hashes the bytes it reads,
    /// e.g. before decompressing them); [`Self::finish`] then gives `""`.
    pub fn without_hash(inner: R) -> Self {
        LineReader {
            hasher: None,
            ..Self::new(inner)
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Fills `chunk` with the next lines (at least one unless at end of
    /// input). Returns `false` at end of input.
    pub fn next_chunk(&mut self, chunk: &mut Chunk) -> io::Result<bool> {
        chunk.buf.clear();
        chunk.lines.clear();
        while chunk.buf.len() < CHUNK_BYTES {
            let start = chunk.buf.len();
            let n = (&mut self.inner)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut chunk.buf)?;
            if n == 0 {
                break;
            }
            self.line_no += 1;
            self.bytes += n as u64;
            if let Some(h) = &mut self.hasher {
                h.update(&chunk.buf[start..]);
            }
            let complete = chunk.buf.last() == Some(&b'\n');
            if !complete && n > MAX_LINE {
                chunk.buf.truncate(start);
                let rest = self.skip_line()?;
                chunk
                    .lines
                    .push((self.line_no, Line::Oversized(n as u64 + rest)));
                continue;
            }
            let mut end = chunk.buf.len();
            if complete {
                end -= 1;
                if end > start && chunk.buf[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            // A UTF-8 byte-order mark at the start of the input is not data.
            let start = if self.line_no == 1 && chunk.buf[start..end].starts_with(b"\xEF\xBB\xBF") {
                start + 3
            } else {
                start
            };
            chunk.lines.push((self.line_no, Line::Text(start..end)));
        }
        Ok(!chunk.lines.is_empty())
    }

    /// Consumes the rest of an oversized line, hashing it; returns its length.
    fn skip_line(&mut self) -> io::Result<u64> {
        let mut total = 0u64;
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                return Ok(total);
            }
            let (take, done) = match avail.iter().position(|b| *b == b'\n') {
                Some(pos) => (pos + 1, true),
                None => (avail.len(), false),
            };
            if let Some(h) = &mut self.hasher {
                h.update(&avail[..take]);
            }
            self.inner.consume(take);
            total += take as u64;
            self.bytes += take as u64;
            if done {
                return Ok(total);
            }
        }
    }

    /// Finishes hashing; returns the hex sha256 of everything read.
    pub fn finish(self) -> String {
        self.hasher
            .map(|h| crate::digest::hex(&h.finalize()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, String)> {
        let mut r = LineReader::new(input);
        let mut chunk = Chunk::default();
        let mut out = Vec::new();
        while r.next_chunk(&mut chunk).unwrap() {
            for (n, l) in &chunk.lines {
                out.push((
                    *n,
                    match l {
                        Line::Text(range) => {
                            String::from_utf8_lossy(&chunk.buf[range.clone()]).into_owned()
                        }
                        Line::Oversized(len) => format!("<{len}>"),
                    },
                ));
            }
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_line_endings() {
        assert_eq!(
            lines(b"a\r\nb\n\nc"),
            vec![
                (1, "a".into()),
                (2, "b".into()),
                (3, "".into()),
                (4, "c".into())
            ]
        );
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn a_leading_byte_order_mark_is_not_data() {
        assert_eq!(
            lines(b"\xEF\xBB\xBF{}\n\xEF\xBB\xBF{}"),
            vec![(1, "{}".into()), (2, "\u{feff}{}".into())]
        );
    }

    #[test]
    fn oversized_lines_are_skipped_not_held() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nok\n");
        let got = lines(&input);
        assert_eq!(
            got,
            vec![(1, format!("<{}>", MAX_LINE + 11)), (2, "ok".into())]
        );
    }

    #[test]
    fn hash_covers_every_byte() {
        let data = b"line one\nline two\n";
        let mut r = LineReader::new(&data[..]);
        let mut chunk = Chunk::default();
        while r.next_chunk(&mut chunk).unwrap() {}
        assert_eq!(r.bytes(), data.len() as u64);
        assert_eq!(r.finish(), crate::digest::sha256_hex(data));
    }
}
