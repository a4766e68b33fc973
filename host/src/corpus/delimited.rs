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
}

/// The keys of a delimited file, from its header row.
#[derive(Debug, Clone)]
pub struct Header {
    /// Per column, its key as JSON text followed by `:` (`"mos":`).
    prefixes: Vec<String>,
    /// Per column, its key.
    keys: Vec<String>,
}

impl Header {
    /// Reads the header row: names are trimmed (a UTF-8 byte-order mark
    /// before the first is dropped) and renamed by the adapter's `aliases`.
    /// Two columns read as one key are an error.
    pub fn new(names: &ByteRecord, aliases: &[HeaderAlias]) -> Result<Header, String> {
        let mut keys: Vec<String> = Vec::with_capacity(names.len());
        for (i, raw) in names.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = std::str::from_utf8(raw)
                .map_err(|e| {
                    format!(
                        "header column {}: invalid UTF-8 at byte {}",
                        i + 1,
                        e.valid_up_to()
                    )
                })?
                .trim();
            let key = aliases
                .iter()
                .find(|a| a.aliases.iter().any(|n| n == name))
                .map_or(name, |a| a.key.as_str());
            if let Some(j) = keys.iter().position(|k| k == key) {
                return Err(format!(
                    "header columns {} and {} are both read as `{key}` (names or declared aliases repeat)",
                    j + 1,
                    i + 1
                ));
            }
            keys.push(key.to_owned());
        }
        if keys.is_empty() || (keys.len() == 1 && keys[0].is_empty()) {
            return Err("the header row is empty".into());
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

    /// The record as a JSON object, or the drop `(code, message)` it is.
    pub fn to_json(&self, record: &ByteRecord) -> Result<String, (&'static str, String)> {
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
        let mut out = String::with_capacity(record.as_slice().len() + 16 * record.len() + 2);
        out.push('{');
        for (i, (prefix, field)) in self.prefixes.iter().zip(record.iter()).enumerate() {
            let text = std::str::from_utf8(field).map_err(|e| {
                (
                    super::codes::INVALID_UTF8,
                    format!(
                        "field `{}`: invalid UTF-8 at byte {}",
                        self.keys[i],
                        e.valid_up_to()
                    ),
                )
            })?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(prefix);
            if is_json_number(trimmed) || trimmed == "true" || trimmed == "false" {
                out.push_str(trimmed);
            } else if let Some(token) = non_finite_token(trimmed) {
                out.push_str(token);
            } else {
                push_string(&mut out, text);
            }
        }
        out.push('}');
        Ok(out)
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

/// Appends `s` as a JSON string.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => {
                out.push_str(&s[start..i]);
                out.push_str(&format!("\\u{:04x}", c as u32));
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
    }

    #[test]
    fn colliding_headers_are_refused() {
        let e = Header::new(&rec(&["MOS", "mos"]), &[alias("mos", &["MOS"])]).unwrap_err();
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
