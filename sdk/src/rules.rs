//! Projection rules shared by every adapter: the value-fill rule, the MOS
//! rule, split labels, the content-hash split and the corpus guard.

use blake2::digest::{Update, VariableOutput};
use blake2::Blake2sVar;

use crate::descriptor::{InputSlot, MosScale, ReferenceRule, SplitPolicy};
use crate::row::{codes, Cell, Rejection, Row};
use crate::{Split, SplitOrigin};

/// The value rule: `row[name]` if finite, else `row[name + "_mean"]` if
/// finite, else `None` (the caller fills and counts it).
pub fn feature_value(row: &Row<'_>, name: &str) -> Option<f64> {
    if let Some(v) = row.number(name) {
        return Some(v);
    }
    // `name + "_mean"`, built on the stack for the usual short names (this
    // runs for every missing column of every row).
    const SUFFIX: &[u8] = b"_mean";
    let mut buf = [0u8; 64];
    let len = name.len() + SUFFIX.len();
    if len <= buf.len() {
        buf[..name.len()].copy_from_slice(name.as_bytes());
        buf[name.len()..len].copy_from_slice(SUFFIX);
        if let Ok(mean) = std::str::from_utf8(&buf[..len]) {
            return row.number(mean);
        }
    }
    row.number(&format!("{name}_mean"))
}

/// Evaluates every column with `value`, filling non-finite or missing values
/// with 0.0 and recording their indices.
pub fn project_columns<'c>(
    columns: impl IntoIterator<Item = &'c str>,
    mut value: impl FnMut(&str) -> Option<f64>,
) -> (Vec<f64>, Vec<u32>) {
    let columns = columns.into_iter();
    let mut features = Vec::with_capacity(columns.size_hint().0);
    let mut filled = Vec::new();
    for (i, c) in columns.enumerate() {
        match value(c) {
            Some(v) if v.is_finite() => features.push(v),
            _ => {
                features.push(0.0);
                filled.push(i as u32);
            }
        }
    }
    (features, filled)
}

/// The MOS rule.
///
/// `mos` (already on 1-5) if present; else the native key mapped through
/// `scale` (the slot's scale, else the adapter's). When the native key is
/// `mos` itself, `mos` is read through the scale. The result must be finite
/// and within [1, 5]; it is never clamped. A present but invalid `mos` is
/// refused without falling back, so a bad label can never be papered over by
/// another column.
pub fn mos(row: &Row<'_>, scale: &MosScale) -> Result<f64, Rejection> {
    let native = scale.native_key.as_str();
    let head = if native == "mos" {
        Cell::Missing
    } else {
        row.cell("mos")
    };
    let (value, source) = match head {
        Cell::Missing | Cell::Null => match row.cell(native) {
            Cell::Missing | Cell::Null => {
                let message = if native == "mos" {
                    "`mos` is not present".to_owned()
                } else {
                    format!("neither `mos` nor `{native}` is present")
                };
                return Err(Rejection::new(codes::MOS_MISSING, message));
            }
            Cell::Number(v) => (scale.to_head(v), native),
            _ => {
                return Err(Rejection::new(
                    codes::MOS_INVALID,
                    format!("`{native}` is not a number"),
                ))
            }
        },
        Cell::Number(v) => (v, "mos"),
        _ => return Err(Rejection::new(codes::MOS_INVALID, "`mos` is not a number")),
    };
    if !value.is_finite() {
        return Err(Rejection::new(
            codes::MOS_NON_FINITE,
            format!("MOS from `{source}` is not finite"),
        ));
    }
    if !(1.0..=5.0).contains(&value) {
        return Err(Rejection::new(
            codes::MOS_OUT_OF_RANGE,
            format!("MOS {value} from `{source}` is outside 1-5 (wrong scale?)"),
        ));
    }
    Ok(value)
}

/// Why `row` is a reference row under `rule`, if it is one
/// (`` `chug_ref` = 1 ``).
pub fn reference(row: &Row<'_>, rule: &ReferenceRule) -> Option<String> {
    if let Some(key) = rule.flags.iter().find(|k| row.flag(k) == Some(true)) {
        return Some(match row.cell(key) {
            Cell::Number(v) => format!("{key} = {v}"),
            _ => format!("{key} = true"),
        });
    }
    rule.equals
        .iter()
        .find(|(k, v)| row.string(k).is_some_and(|s| s.trim() == v))
        .map(|(k, v)| format!("{k} = {v}"))
}

/// A positive finite number at `key`, or `None` (0 conventionally means
/// "unknown" in corpus rows).
pub fn positive(row: &Row<'_>, key: &str) -> Option<f64> {
    row.number(key).filter(|v| *v > 0.0)
}

/// Parses an explicit split label (trimmed, case-insensitive). `Ok(None)` for
/// an absent or empty label; `aliases` maps corpus-specific labels.
pub fn explicit_split(
    row: &Row<'_>,
    aliases: &[(String, Split)],
) -> Result<Option<Split>, Rejection> {
    explicit_split_at(row, "split", aliases)
}

/// [`explicit_split`] read from the column `key` instead of `split` (a
/// study file's split column).
pub fn explicit_split_at(
    row: &Row<'_>,
    key: &str,
    aliases: &[(String, Split)],
) -> Result<Option<Split>, Rejection> {
    let label = match row.cell(key) {
        Cell::Missing | Cell::Null => return Ok(None),
        Cell::String(_) => row.string(key).unwrap_or_default(),
        _ => {
            return Err(Rejection::new(
                codes::UNKNOWN_SPLIT,
                format!("`{key}` is not a string"),
            ))
        }
    };
    // Case-insensitive without allocating: this runs for every row. An alias
    // matches the lowercased label exactly, so one declared with ASCII
    // capitals never matches.
    let label = label.trim();
    let is = |name: &str| label.eq_ignore_ascii_case(name);
    let split = if label.is_empty() {
        return Ok(None);
    } else if is("train") {
        Split::Train
    } else if is("val") || is("valid") || is("validation") {
        Split::Val
    } else if is("test") {
        Split::Test
    } else {
        let alias = aliases
            .iter()
            .find(|(a, _)| !a.bytes().any(|c| c.is_ascii_uppercase()) && is(a));
        match alias {
            Some((_, s)) => *s,
            None => {
                return Err(Rejection::new(
                    codes::UNKNOWN_SPLIT,
                    format!(
                        "split label `{}` is not train, val, test or a declared alias",
                        label.to_ascii_lowercase()
                    ),
                ))
            }
        }
    };
    Ok(Some(split))
}

/// The content-hash split (bit-exact with the prior art): BLAKE2s with an
/// 8-byte output over `seed`, one NUL byte and the UTF-8 content name, read
/// as a big-endian u64 `h`; `u = h / 2^64`; `u < train` is train, `u < train
/// + val` is val, else test.
pub fn content_hash_split(seed: &str, content: &str, train: f64, val: f64) -> Split {
    let u = content_hash_unit(seed, content);
    if u < train {
        Split::Train
    } else if u < train + val {
        Split::Val
    } else {
        Split::Test
    }
}

/// The unit-interval value of [`content_hash_split`].
pub fn content_hash_unit(seed: &str, content: &str) -> f64 {
    let mut digest = [0u8; 8];
    // An 8-byte output is always valid for BLAKE2s (1..=32).
    if let Ok(mut h) = Blake2sVar::new(8) {
        h.update(seed.as_bytes());
        h.update(&[0u8]);
        h.update(content.as_bytes());
        let _ = h.finalize_variable(&mut digest);
    }
    u64::from_be_bytes(digest) as f64 / 18_446_744_073_709_551_616.0
}

/// The split of a row: its explicit label, else the adapter's policy applied
/// to its content group.
pub fn split(
    row: &Row<'_>,
    policy: &SplitPolicy,
    group: &str,
) -> Result<Option<(Split, SplitOrigin)>, Rejection> {
    let aliases: &[(String, Split)] = match policy {
        SplitPolicy::ExplicitOnly { aliases } => aliases,
        SplitPolicy::ContentHash { .. } => &[],
    };
    if let Some(s) = explicit_split(row, aliases)? {
        return Ok(Some((s, SplitOrigin::Explicit)));
    }
    Ok(match policy {
        SplitPolicy::ContentHash { seed, train, val } => Some((
            content_hash_split(seed, group, *train, *val),
            SplitOrigin::Policy,
        )),
        SplitPolicy::ExplicitOnly { .. } => None,
    })
}

/// The corpus guard: the row's `corpus` tag must be one `slot` accepts; a row
/// without a tag takes the slot's assumed tag, if it declares one.
pub fn corpus_tag(row: &Row<'_>, slot: &InputSlot) -> Result<String, Rejection> {
    match row.string("corpus") {
        Some(tag) => {
            let tag = tag.trim();
            if slot.accepts.iter().any(|a| a == tag) {
                Ok(tag.to_owned())
            } else {
                Err(Rejection::new(
                    codes::FOREIGN_CORPUS,
                    format!(
                        "corpus `{tag}` is not accepted by slot `{}` (accepts: {})",
                        slot.name,
                        slot.accepts.join(", ")
                    ),
                ))
            }
        }
        None if row.has("corpus") && !matches!(row.cell("corpus"), Cell::Null) => Err(
            Rejection::new(codes::MISSING_CORPUS_TAG, "`corpus` is not a string"),
        ),
        None => slot.assume_corpus.clone().ok_or_else(|| {
            Rejection::new(
                codes::MISSING_CORPUS_TAG,
                format!(
                    "the row has no `corpus` tag and slot `{}` assumes none",
                    slot.name
                ),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale() -> MosScale {
        MosScale {
            native_min: 0.0,
            native_max: 100.0,
            to_head_scale: 0.04,
            to_head_offset: 1.0,
            native_key: "mos_raw_0_100".into(),
        }
    }

    /// The documented vectors of the prior art's content split.
    #[test]
    fn content_hash_matches_documented_vectors() {
        for (content, hex, u, split) in [
            ("content_1", "36827e77c40af6ca", 0.212929, Split::Train),
            ("content_32", "d6f8bcda351d3f8d", 0.839733, Split::Val),
            ("content_40", "f68793f04ced8ecf", 0.963006, Split::Test),
        ] {
            let h = u64::from_str_radix(hex, 16).unwrap();
            let got = content_hash_unit("chug-hdr-v1", content);
            assert_eq!(got, h as f64 / 2f64.powi(64), "{content}");
            assert!((got - u).abs() < 5e-7, "{content}: {got}");
            assert_eq!(content_hash_split("chug-hdr-v1", content, 0.8, 0.1), split);
        }
    }

    #[test]
    fn value_rule_prefers_bare_then_mean() {
        let row =
            Row::parse(r#"{"a":1,"a_mean":2,"b":null,"b_mean":3,"c":"x","d_mean":1e999}"#).unwrap();
        assert_eq!(feature_value(&row, "a"), Some(1.0));
        assert_eq!(feature_value(&row, "b"), Some(3.0));
        assert_eq!(feature_value(&row, "c"), None);
        assert_eq!(feature_value(&row, "d"), None);
        let (f, filled) = project_columns(["a", "c", "b"], |c| feature_value(&row, c));
        assert_eq!(f, vec![1.0, 0.0, 3.0]);
        assert_eq!(filled, vec![1]);
    }

    #[test]
    fn mos_rule() {
        let s = scale();
        let ok = |j: &str| mos(&Row::parse(j).unwrap(), &s);
        assert_eq!(ok(r#"{"mos":3.5}"#), Ok(3.5));
        assert_eq!(ok(r#"{"mos_raw_0_100":50}"#), Ok(3.0));
        assert_eq!(ok(r#"{"mos":null,"mos_raw_0_100":0}"#), Ok(1.0));
        let code = |j: &str| ok(j).unwrap_err().code;
        assert_eq!(code(r#"{"x":1}"#), codes::MOS_MISSING);
        assert_eq!(code(r#"{"mos":"3"}"#), codes::MOS_INVALID);
        assert_eq!(code(r#"{"mos":1e999}"#), codes::MOS_NON_FINITE);
        assert_eq!(code(r#"{"mos":62.5}"#), codes::MOS_OUT_OF_RANGE);
        assert_eq!(code(r#"{"mos":0.99}"#), codes::MOS_OUT_OF_RANGE);
        assert_eq!(code(r#"{"mos_raw_0_100":101}"#), codes::MOS_OUT_OF_RANGE);
        // A bad `mos` does not fall back to the native key.
        assert_eq!(
            code(r#"{"mos":7,"mos_raw_0_100":50}"#),
            codes::MOS_OUT_OF_RANGE
        );
    }

    #[test]
    fn a_native_key_named_mos_is_read_through_its_scale() {
        let s = MosScale {
            native_key: "mos".into(),
            ..scale()
        };
        let ok = |j: &str| mos(&Row::parse(j).unwrap(), &s);
        assert_eq!(ok(r#"{"mos":50}"#), Ok(3.0));
        assert_eq!(
            ok(r#"{"mos":-1}"#).unwrap_err().code,
            codes::MOS_OUT_OF_RANGE
        );
        assert_eq!(
            ok(r#"{"mos":NaN}"#).unwrap_err().code,
            codes::MOS_NON_FINITE
        );
    }

    #[test]
    fn reference_rule() {
        let rule = ReferenceRule {
            flags: vec!["is_ref".into()],
            equals: vec![("rung".into(), "ref".into())],
        };
        let is = |j: &str| reference(&Row::parse(j).unwrap(), &rule);
        assert_eq!(is(r#"{"is_ref":1}"#).as_deref(), Some("is_ref = 1"));
        assert_eq!(is(r#"{"is_ref":true}"#).as_deref(), Some("is_ref = true"));
        assert_eq!(is(r#"{"rung":" ref"}"#).as_deref(), Some("rung = ref"));
        assert_eq!(is(r#"{"is_ref":0,"rung":"1080p"}"#), None);
        assert_eq!(is(r#"{}"#), None);
    }

    #[test]
    fn split_labels_and_aliases() {
        let aliases = vec![("k150ka".to_string(), Split::Train)];
        let sp = |j: &str| explicit_split(&Row::parse(j).unwrap(), &aliases);
        assert_eq!(sp(r#"{"split":" Train "}"#), Ok(Some(Split::Train)));
        assert_eq!(sp(r#"{"split":"k150ka"}"#), Ok(Some(Split::Train)));
        assert_eq!(sp(r#"{"split":""}"#), Ok(None));
        assert_eq!(sp(r#"{}"#), Ok(None));
        assert_eq!(
            sp(r#"{"split":"dev"}"#).unwrap_err().code,
            codes::UNKNOWN_SPLIT
        );
    }
}
