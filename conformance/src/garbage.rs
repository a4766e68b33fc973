//! The garbage check: malformed and hostile rows never panic, fail or break
//! the row contract.

use serde_json::Value;

use moshead_protocol::descriptor::{is_reason_code, Descriptor, InputSlot};
use moshead_protocol::{row_contract, FfiOutcome, PluginErrorKind, ProjectorBox};

use crate::common::{
    base_row, capped, check_schema, config_for, describe_failure, no_schema, plural, row_slots,
};
use crate::{names, Check, Status, Subject};

/// The garbage check stops after this many panics (each prints the
/// plugin's panic message on stderr).
const MAX_PANICS: usize = 3;

/// One garbage row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Garbage {
    /// What it is (`deeply nested array`, `mos = 1e999`).
    pub label: String,
    /// The raw line.
    pub raw: String,
    /// The row can never be a training row (not a JSON object, or no MOS),
    /// so projecting it must reject it.
    pub must_reject: bool,
}

fn g_row(label: impl Into<String>, raw: impl Into<String>, must_reject: bool) -> Garbage {
    Garbage {
        label: label.into(),
        raw: raw.into(),
        must_reject,
    }
}

/// Values substituted into a well-formed row, as raw JSON text.
fn hostile_values() -> Vec<(&'static str, String)> {
    let deep = 2_000;
    vec![
        ("null", "null".into()),
        ("an empty string", "\"\"".into()),
        ("a string", "\"x\"".into()),
        ("a number as a string", "\"3.5\"".into()),
        ("an array", "[1,2]".into()),
        ("an object", "{\"a\":1}".into()),
        ("true", "true".into()),
        ("1e308", "1e308".into()),
        ("-1e308", "-1e308".into()),
        ("1e999 (overflows to infinity)", "1e999".into()),
        ("-1e999", "-1e999".into()),
        ("5e-324", "5e-324".into()),
        (
            "a 30-digit integer",
            "123456789012345678901234567890".into(),
        ),
        ("-1", "-1".into()),
        ("0", "0".into()),
        (
            "a binary-ish string",
            "\"\\u0000\\u0001\\u001b\\u007f\\ufffd\\u202e\\udbff\\udfff\u{ff}\"".into(),
        ),
        ("a lone surrogate escape", "\"\\ud800\"".into()),
        (
            "a deeply nested array",
            format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
        ),
    ]
}

fn render(m: &[(String, String)]) -> String {
    let fields: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The garbage rows [`garbage`] sends through `slot`: malformed lines,
/// non-objects, hostile values in every key of a well-formed row (huge
/// numbers, wrong types, deeply nested arrays, binary-ish strings) and
/// missing keys.
pub fn garbage_rows(d: &Descriptor, slot: &InputSlot) -> Vec<Garbage> {
    garbage_rows_from(d, slot, None)
}

fn garbage_rows_from(
    d: &Descriptor,
    slot: &InputSlot,
    projector: Option<&ProjectorBox>,
) -> Vec<Garbage> {
    let tag = Value::from(slot.accepts.first().map_or("", String::as_str)).to_string();
    let deep = 100_000;
    let mut out = vec![
        g_row("an empty line", "", true),
        g_row("white space", " \t ", true),
        g_row("text", "not json", true),
        g_row("a truncated object", "{\"corpus\":", true),
        g_row("a lone brace", "}", true),
        g_row("null", "null", true),
        g_row("true", "true", true),
        g_row("a number", "42", true),
        g_row("a string", "\"row\"", true),
        g_row("an empty array", "[]", true),
        g_row("an array of objects", "[{}]", true),
        g_row("an empty object", "{}", true),
        g_row("a NaN literal", "{\"mos\":NaN}", true),
        g_row("an Infinity literal", "{\"mos\":Infinity}", true),
        g_row("two objects", "{} {}", true),
        g_row("a byte-order mark", "\u{feff}{}", true),
        g_row("only a corpus tag", format!("{{\"corpus\":{tag}}}"), true),
        g_row(
            "a deeply nested array",
            format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
            true,
        ),
        g_row("an unterminated deep array", "[".repeat(deep), true),
        g_row(
            "raw control bytes in a string",
            format!("{{\"corpus\":{tag},\"mos\":3,\"k\":\"\u{0}\u{1}\u{1b}\"}}"),
            true,
        ),
        g_row(
            "a 1 MB string",
            format!("{{\"corpus\":{tag},\"k\":\"{}\"}}", "x".repeat(1 << 20)),
            true,
        ),
    ];
    let (base, _) = base_row(d, slot, projector);
    let mut base: Vec<(String, String)> =
        base.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    // Every key the descriptor reads, whether or not the base row has it.
    let mut keys: Vec<String> = vec![
        "corpus".into(),
        "mos".into(),
        "split".into(),
        "synthetic".into(),
        d.mos_scale.native_key.clone(),
        d.content_group_key.clone(),
    ];
    keys.extend(d.id_keys.iter().cloned());
    keys.extend(d.group_baseline.iter().map(|b| b.key.clone()));
    if let Some(schema) = check_schema(d) {
        keys.extend(schema.columns.iter().cloned());
    }
    for key in keys {
        if !base.iter().any(|(k, _)| *k == key) {
            base.push((key, "null".into()));
        }
    }
    let values = hostile_values();
    for (i, (key, _)) in base.iter().enumerate() {
        for (label, v) in &values {
            let mut row = base.clone();
            row[i].1 = v.clone();
            out.push(g_row(format!("`{key}` = {label}"), render(&row), false));
        }
        let mut row = base.clone();
        row.remove(i);
        out.push(g_row(format!("`{key}` missing"), render(&row), false));
    }
    for (label, v) in &values {
        // A row of numbers only might be a legitimate (odd) row; anything
        // else has no usable MOS.
        let numeric = v.parse::<f64>().is_ok_and(f64::is_finite);
        let row: Vec<(String, String)> = base.iter().map(|(k, _)| (k.clone(), v.clone())).collect();
        out.push(g_row(
            format!("every value {label}"),
            render(&row),
            !numeric,
        ));
    }
    if let Some((k, v)) = base.first() {
        let mut row = base.clone();
        row.push((k.clone(), v.clone()));
        out.push(g_row(format!("`{k}` twice"), render(&row), false));
    }
    out
}

/// Garbage rows through every row slot never make the plugin panic or fail
/// and never yield a row that breaks the contract.
pub fn garbage(s: &Subject<'_>) -> Check {
    let d = s.descriptor;
    let Some(schema) = check_schema(d) else {
        return no_schema(names::GARBAGE);
    };
    let p = match (s.open)(&config_for(schema)) {
        Ok(p) => p,
        Err(e) => {
            return Check::new(
                names::GARBAGE,
                Status::Fail,
                format!("cannot open a projector for `{}`: {e}", schema.name),
            )
        }
    };
    let width = schema.columns.len();
    let (mut sent, mut projected, mut rejected) = (0usize, 0usize, 0usize);
    let mut fails = Vec::new();
    let (mut slots, mut panics) = (0usize, 0usize);
    'slots: for slot in row_slots(d) {
        slots += 1;
        for g in garbage_rows_from(d, slot, Some(&p)) {
            if panics >= MAX_PANICS {
                break 'slots;
            }
            sent += 1;
            let what = format!("slot `{}`, {}", slot.name, g.label);
            match p.project(slot.name.as_str().into(), g.raw.as_str().into()) {
                FfiOutcome::Row(r) => {
                    projected += 1;
                    if let Err(m) = row_contract(&slot.name, &slot.accepts, width, &r) {
                        fails.push(format!("{what}: {m}"));
                    } else if g.must_reject {
                        fails.push(format!(
                            "{what}: projected to a row (MOS {}), but it can never be a training row",
                            r.mos
                        ));
                    }
                }
                FfiOutcome::Rejected(r) => {
                    rejected += 1;
                    if !is_reason_code(r.code.as_str()) {
                        fails.push(format!(
                            "{what}: rejection code `{}` is not kebab-case",
                            r.code
                        ));
                    }
                }
                FfiOutcome::Failed(e) => {
                    panics += usize::from(e.kind == PluginErrorKind::Panic);
                    fails.push(format!("{what}: {}", describe_failure(&e)))
                }
            }
        }
    }
    if fails.is_empty() {
        Check::new(
            names::GARBAGE,
            Status::Pass,
            format!(
                "{sent} garbage rows through {slots} slot{}: no panic, no failure, no contract-breaking row ({rejected} rejected, {projected} projected)",
                plural(slots)
            ),
        )
    } else {
        let message = format!("{} of {sent} garbage rows mishandled", fails.len());
        let mut details = capped(fails);
        if panics >= MAX_PANICS {
            details.push(format!("stopped after {MAX_PANICS} panics"));
        }
        Check::new(names::GARBAGE, Status::Fail, message).with_details(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_rows_are_varied_and_keep_their_labels() {
        let d = moshead_sdk::DescriptorBuilder::new("g", "0.1.0", "g_v1")
            .jsonl_file("rows", "", &["g"])
            .schema("g-v1", &["adm2"])
            .content_key("src")
            .build();
        let rows = garbage_rows(&d, &d.inputs[0]);
        assert!(rows.len() > 100, "{}", rows.len());
        assert!(rows
            .iter()
            .any(|g| g.label == "`mos` = 1e999 (overflows to infinity)"));
        assert!(rows.iter().all(|g| !g.label.is_empty()));
    }
}
