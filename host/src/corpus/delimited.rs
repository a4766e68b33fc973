//! CSV and TSV records as raw rows: a header row names the keys, each record
//! becomes one JSON object exactly like a JSONL line (numbers in JSON syntax
//! as numbers, `true`/`false` as booleans, other fields as strings, empty
//! fields absent), so plugins see the same rows whatever the file format.

use csv::ByteRecord;
use moshead_protocol::HeaderAlias;

/// Host-side drop reasons of delimited input.
pub mod codes {
    /// A record with more or fewer fields than the header.
    pub const RAGGED_RECORD: &str = "ragged-record";
    /// A line whose open quote is not closed on it and whose continuation
    /// makes no record (the line alone is dropped).
    pub const UNTERMINATED_QUOTE: &str = "unterminated-quote";
}

/// The keys of a delimited file, from its header row.
#[derive(Debug, Clone)]
pub struct Header {
    /// Per column, its key as JSON text followed by `:` (`"mos":`).
    prefixes: Vec<String>,
    /// Per column, its key.
    keys: Vec<String>,
}

/// Why a header row is refused (columns are counted from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A column name is not UTF-8.
    #[error("header column {column}: invalid UTF-8 at byte {byte}")]
    InvalidUtf8 {
        /// The column.
        column: usize,
        /// The byte offset of the first invalid byte in its name.
        byte: usize,
    },
    /// Two columns read as one key.
    #[error("header columns {first} and {second} are both read as `{key}` (names or declared aliases repeat)")]
    Repeated {
        /// The earlier column.
        first: usize,
        /// The later column.
        second: usize,
        /// The key both are read as.
        key: String,
    },
    /// No column names.
    #[error("the header row is empty")]
    Empty,
}

impl Header {
    /// Reads the header row: names are trimmed (a UTF-8 byte-order mark
    /// before the first is dropped) and renamed by the adapter's `aliases`.
    /// Two columns read as one key are an error.
    pub fn new(names: &ByteRecord, aliases: &[HeaderAlias]) -> Result<Header, HeaderError> {
        let mut keys: Vec<String> = Vec::with_capacity(names.len());
        for (i, raw) in names.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(raw)
                .map_err(|e| HeaderError::InvalidUtf8 {
                    column: i + 1,
                    byte: e.valid_up_to(),
                })?
                .trim();
            let key = aliases
                .iter()
                .find(|a| a.aliases.iter().any(|n| n == name))
                .map_or(name, |a| a.key.as_str());
            if let Some(j) = keys.iter().position(|k| k == key) {
                return Err(HeaderError::Repeated {
                    first: j + 1,
                    second: i + 1,
                    key: key.to_owned(),
                });
            }
            keys.push(key.to_owned());
        }
        if keys.is_empty() || (keys.len() == 1 && keys[0].is_empty()) {
            return Err(HeaderError::Empty);
        }
        let prefixes = keys
            .iter()
            .map(|k| {
                let mut p = String::with_capacity(k.len() + 3);
                push_string(&mut p, k);
                p.push(':');
                p
            })
            .collect();
        Ok(Header { prefixes, keys })
    }

    /// The keys, in column order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// Writes the record as a JSON object into `out` (cleared first), so
    /// that one buffer serves many records; or returns the drop
    /// `(code, message)` it is.
    pub fn write_json(
        &self,
        record: &ByteRecord,
        out: &mut String,
    ) -> Result<(), (&'static str, String)> {
        if record.len() != self.prefixes.len() {
            return Err((
                codes::RAGGED_RECORD,
                format!(
                    "the record has {} field{}, the header {}",
                    record.len(),
                    if record.len() == 1 { "" } else { "s" },
                    self.prefixes.len()
                ),
            ));
        }
        // One UTF-8 check for the whole record: its fields are then valid
        // exactly when each starts on a character boundary.
        let whole = std::str::from_utf8(record.as_slice()).ok();
        out.clear();
        out.reserve(record.as_slice().len() + 16 * record.len() + 2);
        out.push('{');
        let mut first = true;
        for (i, prefix) in self.prefixes.iter().enumerate() {
            let text = whole
                .zip(record.range(i))
                .and_then(|(w, r)| w.get(r))
                .map_or_else(|| self.field_text(record, i), Ok)?;
            let trimmed = trim(text);
            if trimmed.is_empty() {
                continue;
            }
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(prefix);
            if is_json_number(trimmed) || trimmed == "true" || trimmed == "false" {
                out.push_str(trimmed);
            } else if let Some(token) = non_finite_token(trimmed) {
                out.push_str(token);
            } else {
                push_string(out, text);
            }
        }
        out.push('}');
        Ok(())
    }

    /// Field `i` as text, or the `invalid-utf8` drop naming it.
    fn field_text<'r>(
        &self,
        record: &'r ByteRecord,
        i: usize,
    ) -> Result<&'r str, (&'static str, String)> {
        let field = record.get(i).unwrap_or_default();
        std::str::from_utf8(field).map_err(|e| {
            (
                super::codes::INVALID_UTF8,
                format!(
                    "field `{}`: invalid UTF-8 at byte {}",
                    self.keys[i],
                    e.valid_up_to()
                ),
            )
        })
    }
}

/// `s` without surrounding whitespace; most fields have none, and are
/// returned after a look at their two ends.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `NaN`, `Infinity`, `-Infinity` (also `nan`, `inf`, `-inf` as NumPy and R
/// write them) as the JSON token the sdk reads as a non-finite number.
fn non_finite_token(s: &str) -> Option<&'static str> {
    let is = |t: &str| s.eq_ignore_ascii_case(t);
    if is("nan") {
        Some("NaN")
    } else if is("inf") || is("infinity") || is("+inf") || is("+infinity") {
        Some("Infinity")
    } else if is("-inf") || is("-infinity") {
        Some("-Infinity")
    } else {
        None
    }
}

/// Whether `s` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
/// (so `007` and `1.` stay strings, as identifiers often are).
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Appends `s` as a JSON string. Every byte that needs an escape is
/// ASCII, so the text is scanned byte by byte and copied in runs.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, &c) in s.as_bytes().iter().enumerate() {
        let esc = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            c if c < 0x20 => {
                out.push_str(&s[start..i]);
                out.push_str(&format!("\\u{:04x}", c));
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(esc);
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Header {
        /// The record as a fresh JSON object, or its drop.
        fn to_json(&self, record: &ByteRecord) -> Result<String, (&'static str, String)> {
            let mut out = String::new();
            self.write_json(record, &mut out)?;
            Ok(out)
        }
    }

    fn rec(fields: &[&str]) -> ByteRecord {
        ByteRecord::from(fields.to_vec())
    }

    fn alias(key: &str, names: &[&str]) -> HeaderAlias {
        HeaderAlias {
            key: key.into(),
            aliases: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn records_become_json_rows() {
        let h = Header::new(
            &rec(&["\u{feff}video_id", " MOS ", "note", "adm2", "n"]),
            &[alias("mos", &["MOS"]), alias("flickr_id", &["video_id"])],
        )
        .unwrap();
        assert_eq!(h.keys(), ["flickr_id", "mos", "note", "adm2", "n"]);
        let j = h
            .to_json(&rec(&["0042", "3.5", "a \"b\"\\\n", "", "-1e3"]))
            .unwrap();
        assert_eq!(
            j,
            r#"{"flickr_id":"0042","mos":3.5,"note":"a \"b\"\\\n","n":-1e3}"#
        );
        assert_eq!(
            h.to_json(&rec(&["a", "1", "true", "false", "True"]))
                .unwrap(),
            r#"{"flickr_id":"a","mos":1,"note":true,"adm2":false,"n":"True"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["note"], "a \"b\"\\\n");
        assert_eq!(
            h.to_json(&rec(&["7", "NaN", "x", "-inf", "1."])).unwrap(),
            r#"{"flickr_id":7,"mos":NaN,"note":"x","adm2":-Infinity,"n":"1."}"#
        );
        let (code, msg) = h.to_json(&rec(&["1", "2"])).unwrap_err();
        assert_eq!(
            (code, msg.as_str()),
            (
                codes::RAGGED_RECORD,
                "the record has 2 fields, the header 5"
            )
        );
        let bad = ByteRecord::from(vec![&b"1"[..], b"\xff", b"", b"", b""]);
        assert_eq!(
            h.to_json(&bad).unwrap_err().0,
            super::super::codes::INVALID_UTF8
        );
        // Two fields that are only valid UTF-8 when joined: `é` split in two.
        let split = ByteRecord::from(vec![&b"1"[..], b"2", b"\xc3", b"\xa9", b""]);
        let (code, msg) = h.to_json(&split).unwrap_err();
        assert_eq!(
            (code, msg.as_str()),
            (
                super::super::codes::INVALID_UTF8,
                "field `note`: invalid UTF-8 at byte 0"
            )
        );
        // One buffer serves many records; padding (ASCII or not) is trimmed.
        let mut buf = String::from("stale");
        h.write_json(&rec(&[" \u{a0}é\u{a0}", " 2 ", "", "", "3"]), &mut buf)
            .unwrap();
        assert_eq!(buf, "{\"flickr_id\":\" \u{a0}é\u{a0}\",\"mos\":2,\"n\":3}");
    }

    #[test]
    fn colliding_headers_are_refused() {
        let e = Header::new(&rec(&["MOS", "mos"]), &[alias("mos", &["MOS"])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("columns 1 and 2 are both read as `mos`"), "{e}");
        assert!(Header::new(&rec(&[""]), &[]).is_err());
    }

    #[test]
    fn json_number_syntax() {
        for ok in ["0", "-0", "12", "1.5", "-2.5e-3", "1E9", "0.0"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for no in [
            "", "-", "007", "1.", ".5", "1e", "+1", "0x1", "1,5", "NaN", "12a",
        ] {
            assert!(!is_json_number(no), "{no}");
        }
        let mut s = String::new();
        push_string(&mut s, "\u{1}é");
        assert_eq!(s, "\"\\u0001é\"");
    }
}
