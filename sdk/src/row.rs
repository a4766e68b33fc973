//! Raw rows as plugins see them, and the typed outcome of projecting one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::Split;

/// Stable rejection reason codes. Hosts count drops per code, so a code, once
/// published, keeps its meaning.
pub mod codes {
    /// The line is not valid JSON.
    pub const MALFORMED_JSON: &str = "malformed-json";
    /// The line is JSON but not an object.
    pub const NOT_AN_OBJECT: &str = "not-an-object";
    /// The object has the same key twice.
    pub const DUPLICATE_KEY: &str = "duplicate-key";
    /// The row's corpus tag is not one the slot accepts.
    pub const FOREIGN_CORPUS: &str = "foreign-corpus";
    /// The row has no corpus tag and the slot assumes none.
    pub const MISSING_CORPUS_TAG: &str = "missing-corpus-tag";
    /// The row has no MOS.
    pub const MOS_MISSING: &str = "mos-missing";
    /// The MOS is not a number.
    pub const MOS_INVALID: &str = "mos-invalid";
    /// The MOS is NaN or infinite.
    pub const MOS_NON_FINITE: &str = "mos-non-finite";
    /// The MOS is outside the head's 1-5 range after mapping.
    pub const MOS_OUT_OF_RANGE: &str = "mos-out-of-range";
    /// The split label is not one the adapter knows.
    pub const UNKNOWN_SPLIT: &str = "unknown-split";
    /// The row has no content-group value.
    pub const MISSING_CONTENT: &str = "missing-content";
    /// The row has no identifier.
    pub const MISSING_ID: &str = "missing-id";
    /// A reference (undistorted) row, excluded by default.
    pub const REFERENCE_ROW: &str = "reference-row";
}

/// A row refused by an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason code (see [`codes`]).
    pub code: Cow<'static, str>,
    /// A human-readable explanation naming the offending key or value.
    pub message: String,
}

impl Rejection {
    /// Builds a rejection with a static code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A projected training row, as a plugin builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    /// A stable row identifier (clip id).
    pub id: String,
    /// The accepted corpus tag.
    pub corpus: String,
    /// Features in schema order; filled columns hold 0.0.
    pub features: Vec<f64>,
    /// Indices of filled columns.
    pub filled: Vec<u32>,
    /// MOS on 1-5.
    pub mos: f64,
    /// Standard error of the MOS on 1-5, when known.
    pub mos_se: Option<f64>,
    /// The split and where it came from.
    pub split: Option<(Split, crate::SplitOrigin)>,
    /// The content group.
    pub group: String,
    /// The group-baseline key, when the adapter declares a baseline.
    pub baseline_key: Option<String>,
}

/// One cell of a raw row, classified without allocating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// The key is absent.
    Missing,
    /// The value is `null`.
    Null,
    /// A JSON number (possibly non-finite after overflow, e.g. `1e999`).
    Number(f64),
    /// A JSON string; the raw text includes the quotes and escapes.
    String(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// An array or object.
    Composite,
}

/// A raw row: one JSON object whose values are parsed lazily.
///
/// Parsing validates the whole line but decodes only keys; values are decoded
/// when a rule asks for them, so unused columns cost almost nothing.
#[derive(Debug)]
pub struct Row<'a> {
    fields: HashMap<Cow<'a, str>, &'a RawValue>,
}

impl<'a> Row<'a> {
    /// Parses one raw line. The error is a ready-made rejection
    /// (`malformed-json`, `not-an-object` or `duplicate-key`).
    pub fn parse(raw: &'a str) -> Result<Row<'a>, Rejection> {
        let trimmed = raw.trim_start();
        if !trimmed.starts_with('{') {
            return Err(if serde_json::from_str::<&RawValue>(raw).is_ok() {
                Rejection::new(codes::NOT_AN_OBJECT, "the row is JSON but not an object")
            } else {
                Rejection::new(codes::MALFORMED_JSON, describe_json_error(raw))
            });
        }
        serde_json::from_str::<Row<'a>>(raw).map_err(|e| {
            let msg = e.to_string();
            if let Some(key) = msg.strip_prefix(DUP_PREFIX) {
                let key = key.split(" at line").next().unwrap_or(key);
                Rejection::new(codes::DUPLICATE_KEY, format!("key {key} appears twice"))
            } else {
                Rejection::new(codes::MALFORMED_JSON, msg)
            }
        })
    }

    /// Classifies the cell at `key`.
    pub fn cell(&self, key: &str) -> Cell<'a> {
        let Some(raw) = self.fields.get(key) else {
            return Cell::Missing;
        };
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'n') => Cell::Null,
            Some(b't') => Cell::Bool(true),
            Some(b'f') => Cell::Bool(false),
            Some(b'"') => Cell::String(text),
            Some(b'[') | Some(b'{') => Cell::Composite,
            // JSON number syntax is a subset of Rust's float syntax.
            _ => text
                .parse::<f64>()
                .map(Cell::Number)
                .unwrap_or(Cell::Composite),
        }
    }

    /// Whether the row has `key` at all.
    pub fn has(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The finite number at `key`, if there is one.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.cell(key) {
            Cell::Number(v) if v.is_finite() => Some(v),
            _ => None,
        }
    }

    /// The number at `key` read as a flag: `true`/`false`, or a finite number
    /// (non-zero is true).
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.cell(key) {
            Cell::Bool(b) => Some(b),
            Cell::Number(v) if v.is_finite() => Some(v != 0.0),
            _ => None,
        }
    }

    /// The string at `key`, decoded (escapes resolved), if it is a string.
    pub fn string(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.cell(key) {
            Cell::String(text) => {
                let inner = &text[1..text.len().saturating_sub(1).max(1)];
                if inner.contains('\\') {
                    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
                } else {
                    Some(Cow::Borrowed(inner))
                }
            }
            _ => None,
        }
    }

    /// The value at `key` as an identifier: a non-empty string, or an integer
    /// rendered in decimal.
    pub fn text_or_int(&self, key: &str) -> Option<Cow<'a, str>> {
        match self.cell(key) {
            Cell::String(_) => self.string(key).filter(|s| !s.trim().is_empty()),
            Cell::Number(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => {
                Some(Cow::Owned(format!("{}", v as i64)))
            }
            _ => None,
        }
    }

    /// Iterates over the row's keys (in no particular order).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(|k| k.as_ref())
    }
}

const DUP_PREFIX: &str = "moshead-duplicate-key ";

fn describe_json_error(raw: &str) -> String {
    match serde_json::from_str::<&RawValue>(raw) {
        Err(e) => e.to_string(),
        Ok(_) => "not a JSON object".into(),
    }
}

#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RowVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for RowVisitor<'a> {
            type Value = Row<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Row<'a>, M::Error> {
                let mut fields = HashMap::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    let v: &'de RawValue = map.next_value()?;
                    if fields.contains_key(&k) {
                        return Err(de::Error::custom(format!("{DUP_PREFIX}`{k}`")));
                    }
                    fields.insert(k, v);
                }
                Ok(Row { fields })
            }
        }
        d.deserialize_map(RowVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_classified() {
        let row = Row::parse(
            r#"{"a":1.5,"b":null,"c":"x\"y","d":true,"e":[1],"f":1e999,"g":"plain","h":7}"#,
        )
        .unwrap();
        assert_eq!(row.cell("a"), Cell::Number(1.5));
        assert_eq!(row.cell("b"), Cell::Null);
        assert_eq!(row.string("c").as_deref(), Some("x\"y"));
        assert_eq!(row.cell("d"), Cell::Bool(true));
        assert_eq!(row.cell("e"), Cell::Composite);
        assert_eq!(row.number("f"), None, "overflow is not a finite number");
        assert_eq!(row.string("g").as_deref(), Some("plain"));
        assert_eq!(row.text_or_int("h").as_deref(), Some("7"));
        assert_eq!(row.cell("zz"), Cell::Missing);
    }

    #[test]
    fn bad_rows_get_reason_codes() {
        assert_eq!(
            Row::parse("{\"a\":").unwrap_err().code,
            codes::MALFORMED_JSON
        );
        assert_eq!(Row::parse("[1,2]").unwrap_err().code, codes::NOT_AN_OBJECT);
        assert_eq!(Row::parse("NaN").unwrap_err().code, codes::MALFORMED_JSON);
        let dup = Row::parse(r#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(dup.code, codes::DUPLICATE_KEY);
        assert!(dup.message.contains("`a`"), "{}", dup.message);
        assert_eq!(
            Row::parse(r#"{"a":1} trailing"#).unwrap_err().code,
            codes::MALFORMED_JSON
        );
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let row = Row::parse(r#"{"a\u0062":2}"#).unwrap();
        assert_eq!(row.number("ab"), Some(2.0));
    }
}
