//! The display profile of `chug-hdr-display-v1`: aliases, normalisation and
//! the 11 display columns.
//!
//! A row's own display values win; the profile only fills what the row
//! lacks. A profile with an unknown field is refused (a typo must not turn a
//! column into a silent fill), as is one with no known field at all.

use moshead_sdk::prelude::*;
use serde_json::{Map, Value};

/// Columns 35-45 of `chug-hdr-display-v1`.
pub const COLUMNS: [&str; 11] = [
    "display_peak_luminance_nits_norm",
    "display_black_luminance_nits_norm",
    "display_contrast_ratio_log_norm",
    "display_ambient_lux_norm",
    "display_bt2020_coverage",
    "display_p3_coverage",
    "display_panel_oled",
    "display_panel_qled",
    "display_panel_lcd",
    "display_local_dimming",
    "display_tone_mapping_dynamic",
];

/// Canonical raw fields and their accepted aliases (all also accepted with a
/// `display_` prefix).
const FIELDS: [(&str, &[&str]); 9] = [
    (
        "peak_luminance_nits",
        &[
            "peak_nits",
            "peak_luminance",
            "max_luminance_nits",
            "peak_brightness_nits",
        ],
    ),
    (
        "black_luminance_nits",
        &[
            "black_nits",
            "black_level_nits",
            "min_luminance_nits",
            "black_luminance",
        ],
    ),
    ("contrast_ratio", &["contrast"]),
    (
        "ambient_lux",
        &["ambient_illuminance_lux", "lux", "ambient"],
    ),
    ("bt2020_coverage", &["rec2020_coverage", "bt2020"]),
    ("p3_coverage", &["dci_p3_coverage", "p3"]),
    ("panel_type", &["panel", "panel_technology", "display_type"]),
    ("local_dimming", &[]),
    ("tone_mapping", &["tone_mapping_mode", "tonemapping"]),
];

/// Descriptive keys a profile may carry that feed no column.
const DESCRIPTIVE: [&str; 7] = [
    "name",
    "model",
    "vendor",
    "notes",
    "description",
    "schema",
    "id",
];

/// A parsed display profile: canonical field -> value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DisplayProfile {
    fields: Map<String, Value>,
}

fn canonical(key: &str) -> Option<&'static str> {
    let k = key.trim().to_ascii_lowercase();
    let k = k.strip_prefix("display_").unwrap_or(&k);
    FIELDS
        .iter()
        .find(|(c, aliases)| *c == k || aliases.contains(&k))
        .map(|(c, _)| *c)
}

impl DisplayProfile {
    /// Parses a profile document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("display profile: {e}"))?;
        // serde_json keeps the last of two equal keys; a profile that says
        // two things about one field is refused instead.
        if let Err(r) = Row::parse(text) {
            if r.code == codes::DUPLICATE_KEY {
                return Err(format!("display profile: {}", r.message));
            }
        }
        let Value::Object(obj) = value else {
            return Err("display profile: not a JSON object".into());
        };
        let mut fields = Map::new();
        let mut unknown = Vec::new();
        for (k, v) in obj {
            match canonical(&k) {
                Some(c) if fields.contains_key(c) => {
                    return Err(format!("display profile: `{k}` repeats field `{c}`"))
                }
                Some(c) => {
                    fields.insert(c.to_owned(), v);
                }
                None if DESCRIPTIVE.contains(&k.as_str()) => {}
                None => unknown.push(k),
            }
        }
        if !unknown.is_empty() {
            let known: Vec<&str> = FIELDS.iter().map(|(c, _)| *c).collect();
            return Err(format!(
                "display profile: unknown field(s) {} (known: {})",
                unknown.join(", "),
                known.join(", ")
            ));
        }
        if fields.is_empty() {
            return Err("display profile: no known field".into());
        }
        Ok(DisplayProfile { fields })
    }
}

/// One raw display field: the row's own (`display_<field>` or an alias)
/// first, then the profile's.
enum Raw {
    Num(f64),
    Text(String),
    Bool(bool),
}

fn raw(row: &Row<'_>, profile: Option<&DisplayProfile>, field: &str) -> Option<Raw> {
    let (_, aliases) = FIELDS.iter().find(|(c, _)| *c == field)?;
    let names = std::iter::once(field).chain(aliases.iter().copied());
    for name in names {
        let key = format!("display_{name}");
        match row.cell(&key) {
            Cell::Number(v) if v.is_finite() => return Some(Raw::Num(v)),
            Cell::Bool(b) => return Some(Raw::Bool(b)),
            Cell::String(_) => return row.string(&key).map(|s| Raw::Text(s.into_owned())),
            _ => {}
        }
    }
    match profile?.fields.get(field)? {
        Value::Number(n) => n.as_f64().map(Raw::Num),
        Value::Bool(b) => Some(Raw::Bool(*b)),
        Value::String(s) => Some(Raw::Text(s.clone())),
        _ => None,
    }
}

fn num(row: &Row<'_>, p: Option<&DisplayProfile>, field: &str) -> Option<f64> {
    match raw(row, p, field)? {
        Raw::Num(v) if v.is_finite() && v >= 0.0 => Some(v),
        _ => None,
    }
}

fn text(row: &Row<'_>, p: Option<&DisplayProfile>, field: &str) -> Option<String> {
    match raw(row, p, field)? {
        Raw::Text(s) => Some(s.to_ascii_lowercase()),
        _ => None,
    }
}

fn explicit_bool(row: &Row<'_>, p: Option<&DisplayProfile>, field: &str) -> Option<bool> {
    match raw(row, p, field)? {
        Raw::Bool(b) => Some(b),
        Raw::Num(v) => Some(v != 0.0),
        Raw::Text(_) => None,
    }
}

fn coverage(v: f64) -> Option<f64> {
    if (0.0..=1.0).contains(&v) {
        Some(v)
    } else if v > 1.0 && v <= 100.0 {
        Some(v / 100.0)
    } else {
        None
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// A display column for `row`, given the run's profile.
pub fn column(row: &Row<'_>, p: Option<&DisplayProfile>, column: &str) -> Option<f64> {
    let panel = || text(row, p, "panel_type");
    let is_oled = |s: &str| s.contains("oled");
    match column {
        "display_peak_luminance_nits_norm" => {
            num(row, p, "peak_luminance_nits").map(|v| v / 10000.0)
        }
        "display_black_luminance_nits_norm" => num(row, p, "black_luminance_nits"),
        "display_contrast_ratio_log_norm" => {
            let ratio = num(row, p, "contrast_ratio").or_else(|| {
                let black = num(row, p, "black_luminance_nits").filter(|b| *b > 0.0)?;
                num(row, p, "peak_luminance_nits").map(|peak| peak / black)
            })?;
            (ratio > 1.0).then(|| (ratio.log10() / 7.0).clamp(0.0, 1.0))
        }
        "display_ambient_lux_norm" => num(row, p, "ambient_lux").map(|v| v / 1000.0),
        "display_bt2020_coverage" => num(row, p, "bt2020_coverage").and_then(coverage),
        "display_p3_coverage" => num(row, p, "p3_coverage").and_then(coverage),
        "display_panel_oled" => panel().map(|s| flag(is_oled(&s))),
        "display_panel_qled" => panel().map(|s| flag(s.contains("qled") || s.contains("quantum"))),
        "display_panel_lcd" => panel().map(|s| {
            let lcd = ["lcd", "mini-led", "miniled", "led", "ips", "va"];
            flag(!is_oled(&s) && lcd.iter().any(|k| s.contains(k)))
        }),
        "display_local_dimming" => explicit_bool(row, p, "local_dimming")
            .map(flag)
            .or_else(|| {
                let s = panel()?;
                ["mini-led", "miniled", "fald"]
                    .iter()
                    .any(|k| s.contains(k))
                    .then_some(1.0)
            }),
        "display_tone_mapping_dynamic" => {
            explicit_bool(row, p, "tone_mapping").map(flag).or_else(|| {
                let s = text(row, p, "tone_mapping")?;
                let dynamic = ["dynamic", "hdr10+", "hdr10plus", "dolby", "vision"];
                Some(flag(dynamic.iter().any(|k| s.contains(k))))
            })
        }
        _ => None,
    }
}
