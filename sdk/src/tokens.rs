//! Python's non-finite number tokens (`NaN`, `Infinity`, `-Infinity`).
//!
//! `json.dumps` writes them by default, and JSON has no syntax for them. A
//! line that fails to parse is rewritten with each token (outside strings)
//! replaced by a sentinel string, parsed again, and the sentinels read back
//! as non-finite numbers. The common path (valid JSON) never comes here.

/// The sentinels, as the JSON text of a string value, and their values.
const SENTINELS: [(&str, &str, f64); 3] = [
    ("NaN", "\"\\u0000NaN\"", f64::NAN),
    ("-Infinity", "\"\\u0000-Infinity\"", f64::NEG_INFINITY),
    ("Infinity", "\"\\u0000Infinity\"", f64::INFINITY),
];

/// A line with its tokens replaced.
pub(crate) struct Rewritten {
    /// The rewritten JSON text.
    pub text: String,
    /// Per replacement: its start and length in `text`, and the token's length.
    pub spans: Vec<(usize, usize, usize)>,
}

impl Rewritten {
    /// Where the `text` range `start..end` came from in the original line:
    /// `Ok(range)` when it holds no replacement, `Err(Some(v))` when it is
    /// exactly one sentinel, `Err(None)` when it holds one among other text.
    pub fn origin(&self, start: usize, end: usize) -> Result<(usize, usize), Option<f64>> {
        let mut shift = 0usize;
        for &(s, len, token) in &self.spans {
            if s + len <= start {
                shift += len - token;
            } else if s < end {
                return Err((s == start && s + len == end)
                    .then(|| sentinel_value(&self.text[start..end]))
                    .flatten());
            } else {
                break;
            }
        }
        Ok((start - shift, end - shift))
    }
}

/// `raw` with every non-finite token outside strings replaced by its
/// sentinel, or `None` when it has no such token (or already holds text that
/// could be mistaken for a sentinel).
pub(crate) fn rewrite(raw: &str) -> Option<Rewritten> {
    if raw.contains("\\u0000") {
        return None;
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 32);
    let mut spans = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if matches!(b, b'N' | b'I' | b'-') {
            if let Some((token, sentinel, _)) = SENTINELS
                .iter()
                .find(|(t, _, _)| raw[i..].starts_with(t) && !continues(bytes, i + t.len()))
            {
                out.push_str(&raw[copied..i]);
                spans.push((out.len(), sentinel.len(), token.len()));
                out.push_str(sentinel);
                i += token.len();
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    if spans.is_empty() {
        return None;
    }
    out.push_str(&raw[copied..]);
    Some(Rewritten { text: out, spans })
}

/// Whether a token ending at `end` runs on into more identifier characters
/// (`NaNa` is not `NaN`).
fn continues(bytes: &[u8], end: usize) -> bool {
    bytes
        .get(end)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The value of a sentinel's JSON text, if `text` is one.
pub(crate) fn sentinel_value(text: &str) -> Option<f64> {
    if !text.starts_with("\"\\u0000") {
        return None;
    }
    SENTINELS
        .iter()
        .find(|(_, s, _)| *s == text)
        .map(|(_, _, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_outside_strings_are_replaced() {
        let raw = r#"{"a":NaN,"b":-Infinity,"c":[Infinity],"s":"NaN \" Infinity"}"#;
        let rw = rewrite(raw).unwrap();
        assert_eq!(
            rw.text,
            r#"{"a":"\u0000NaN","b":"\u0000-Infinity","c":["\u0000Infinity"],"s":"NaN \" Infinity"}"#
        );
        let at = |needle: &str| {
            let s = rw.text.find(needle).unwrap();
            rw.origin(s, s + needle.len())
        };
        assert!(at("\"\\u0000NaN\"").unwrap_err().unwrap().is_nan());
        assert_eq!(at("[\"\\u0000Infinity\"]"), Err(None));
        let (s, e) = at("\"NaN \\\" Infinity\"").unwrap();
        assert_eq!(&raw[s..e], "\"NaN \\\" Infinity\"");
        assert!(rewrite(r#"{"a":1,"s":"NaN"}"#).is_none());
        assert!(rewrite(r#"{"a":NaNa}"#).is_none());
        assert!(rewrite(r#"{"a":NaN,"s":"\u0000NaN"}"#).is_none());
        assert!(sentinel_value("\"\\u0000NaN\"").unwrap().is_nan());
        assert_eq!(
            sentinel_value("\"\\u0000-Infinity\""),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(sentinel_value("\"NaN\""), None);
    }
}
