//! Conformance checks: the row-level half of `moshead adapters check`, usable
//! in-process from a plugin's own unit tests.
//!
//! The host runs the load, API-version, descriptor and defaults checks
//! itself, then these four through the loaded plugin:
//!
//! - [`samples`]: the descriptor's own sample rows project as declared, under
//!   every schema that needs no context slot: rows that must project do, with
//!   the schema's feature count and finite values; rows that must be rejected
//!   get the declared code;
//! - [`foreign_corpus`]: a row of another corpus (a sample retagged with a
//!   corpus tag the slot does not accept) is rejected as `foreign-corpus` by
//!   every row slot;
//! - [`garbage`]: malformed and hostile rows ([`garbage_rows`]) never make the
//!   plugin panic or fail, never yield a row that breaks the contract
//!   ([`row_contract`]), and rows that cannot be training rows (not a JSON
//!   object, no MOS) are rejected;
//! - [`synthesize`]: small synthesis requests return either a corpus whose
//!   rows project cleanly or a clean error.
//!
//! A plugin's unit tests run the same checks without building the library:
//!
//! ```
//! # use moshead_sdk::prelude::*;
//! # struct Tiny;
//! # impl CorpusAdapter for Tiny {
//! #     fn descriptor() -> Descriptor {
//! #         DescriptorBuilder::new("tiny", "0.1.0", "tiny_v1")
//! #             .jsonl_file("rows", "", &["tiny"])
//! #             .schema("tiny-v1", &["adm2"])
//! #             .content_key("src")
//! #             .sample("rows", r#"{"corpus":"tiny","src":"a","mos":3,"adm2":0.9}"#, None)
//! #             .build()
//! #     }
//! #     fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> { Ok(Tiny) }
//! #     fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> { Err("no synthetic corpus".into()) }
//! # }
//! let report = moshead_sdk::conformance::check_adapter::<Tiny>();
//! assert!(report.passed(), "{report}");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use abi_stable::std_types::RResult;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::abi::{FfiOutcome, FfiRow, PluginError, PluginErrorKind, ProjectorBox};
use crate::descriptor::{is_reason_code, Descriptor, InputSlot, Schema, SlotKind, SlotRole};
use crate::export::{
    guarded, open_generic, CorpusAdapter, ProjectorConfig, SynthOutput, SynthRequest,
};
use crate::row::codes;

/// The names of the checks, as `adapters check` prints them.
pub mod names {
    /// The file loads as a moshead plugin (ABI header and layout).
    pub const LOAD: &str = "load";
    /// The plugin's API version is one the host accepts.
    pub const API_VERSION: &str = "api-version";
    /// The descriptor parses and has no problems.
    pub const DESCRIPTOR: &str = "descriptor";
    /// Which default input paths exist here.
    pub const DEFAULTS: &str = "defaults";
    /// The sample rows project as declared.
    pub const SAMPLES: &str = "samples";
    /// A row of another corpus is rejected as `foreign-corpus`.
    pub const FOREIGN_CORPUS: &str = "foreign-corpus";
    /// Garbage rows never panic and never break the contract.
    pub const GARBAGE: &str = "garbage";
    /// Small synthesis requests give clean corpora or clean errors.
    pub const SYNTHESIZE: &str = "synthesize";
}

/// How many failure details a check keeps.
const MAX_DETAILS: usize = 12;

/// The garbage check stops after this many panics (each prints the
/// plugin's panic message on stderr).
const MAX_PANICS: usize = 3;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check passed with something the author should know.
    Warn,
    /// The check failed: the host would refuse the plugin or misread rows.
    Fail,
    /// The check could not run because an earlier one failed.
    Skip,
}

impl Status {
    /// The upper-case label (`PASS`, `WARN`, `FAIL`, `SKIP`).
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The check's name (see [`names`]).
    pub name: String,
    /// Its outcome.
    pub status: Status,
    /// One line saying what was found.
    pub message: String,
    /// Further lines: every failure (capped), or what a warning is about.
    pub details: Vec<String>,
}

impl Check {
    /// A check result without details.
    pub fn new(name: &str, status: Status, message: impl Into<String>) -> Self {
        Check {
            name: name.to_owned(),
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds detail lines.
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<15} {}",
            self.status.label(),
            self.name,
            self.message
        )?;
        for d in &self.details {
            write!(f, "\n      - {d}")?;
        }
        Ok(())
    }
}

/// Every check's result, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed (warnings and skips do not fail a report).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The check named `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// How many checks have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// One line: `8 checks: 7 passed, 1 warning, 0 failed, 0 skipped`.
    pub fn summary(&self) -> String {
        let warn = self.count(Status::Warn);
        format!(
            "{} checks: {} passed, {warn} warning{}, {} failed, {} skipped",
            self.checks.len(),
            self.count(Status::Pass),
            if warn == 1 { "" } else { "s" },
            self.count(Status::Fail),
            self.count(Status::Skip)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{c}")?;
        }
        write!(f, "{}", self.summary())
    }
}

/// Opens a projector, as the host does through the plugin.
pub type OpenFn<'a> = dyn Fn(&ProjectorConfig) -> Result<ProjectorBox, PluginError> + 'a;
/// Asks for a synthetic corpus, as the host does through the plugin.
pub type SynthFn<'a> = dyn Fn(&SynthRequest) -> Result<SynthOutput, PluginError> + 'a;

/// The plugin under test: its descriptor and two of its entry points.
pub struct Subject<'a> {
    /// The descriptor (parsed, possibly with problems).
    pub descriptor: &'a Descriptor,
    /// Opens a projector.
    pub open: &'a OpenFn<'a>,
    /// Synthesizes a corpus.
    pub synthesize: &'a SynthFn<'a>,
}

/// Runs the four row-level checks, in order.
pub fn run(s: &Subject<'_>) -> Vec<Check> {
    vec![samples(s), foreign_corpus(s), garbage(s), synthesize(s)]
}

/// Runs the descriptor check and the four row-level checks on adapter `A`
/// in-process (no library is built or loaded).
pub fn check_adapter<A: CorpusAdapter>() -> Report {
    let descriptor = A::descriptor();
    let open = |c: &ProjectorConfig| open_generic::<A>(c);
    let synth = |r: &SynthRequest| match guarded(|| {
        A::synthesize(r).map_err(|e| PluginError::new(PluginErrorKind::InvalidRequest, e))
    }) {
        RResult::ROk(out) => Ok(out),
        RResult::RErr(e) => Err(e),
    };
    let subject = Subject {
        descriptor: &descriptor,
        open: &open,
        synthesize: &synth,
    };
    let mut checks = vec![descriptor_check(&descriptor)];
    checks.extend(run(&subject));
    Report { checks }
}

/// A one-line summary of a descriptor.
pub fn describe(d: &Descriptor) -> String {
    let schema = d
        .schema(&d.default_schema)
        .map(|s| format!("`{}`, {} columns", s.name, s.columns.len()))
        .unwrap_or_else(|| format!("`{}`", d.default_schema));
    let m = &d.mos_scale;
    format!(
        "{} {}: {} slot{}, {} schema{} (default {schema}), MOS {}-{} under `{}`, {} sample row{}",
        d.name,
        d.version,
        d.inputs.len(),
        plural(d.inputs.len()),
        d.schemas.len(),
        plural(d.schemas.len()),
        m.native_min,
        m.native_max,
        m.native_key,
        d.samples.len(),
        plural(d.samples.len())
    )
}

/// The failing descriptor check for `problems` (non-empty).
pub fn descriptor_refused(problems: Vec<String>) -> Check {
    Check::new(
        names::DESCRIPTOR,
        Status::Fail,
        format!(
            "{} problem{}: the host refuses this plugin",
            problems.len(),
            plural(problems.len())
        ),
    )
    .with_details(problems)
}

/// The descriptor check: [`Descriptor::problems`] is empty and the
/// descriptor survives its trip through JSON.
pub fn descriptor_check(d: &Descriptor) -> Check {
    let mut problems = d.problems();
    for n in d.non_finite_numbers() {
        problems.push(format!("{n} cannot cross as JSON"));
    }
    match serde_json::to_string(d).map(|j| serde_json::from_str::<Descriptor>(&j)) {
        Ok(Ok(back)) if back == *d => {}
        Ok(Ok(_)) if !d.non_finite_numbers().is_empty() => {}
        Ok(Ok(_)) => problems.push("the descriptor changes on its trip through JSON".into()),
        Ok(Err(e)) | Err(e) => problems.push(format!("descriptor JSON: {e}")),
    }
    problems.dedup();
    if problems.is_empty() {
        Check::new(names::DESCRIPTOR, Status::Pass, describe(d))
    } else {
        descriptor_refused(problems)
    }
}

/// The host's contract for a projected row read from slot `slot` (which
/// accepts `accepts`) under a schema of `width` columns: an accepted corpus
/// tag, `width` finite features, a MOS within 1-5, fill indices inside the
/// schema. The host refuses a row that breaks it, naming file and line.
pub fn row_contract(
    slot: &str,
    accepts: &[String],
    width: usize,
    r: &FfiRow,
) -> Result<(), String> {
    row_contract_for(slot, accepts, width, r, false)
}

/// [`row_contract`] for a projector opened with or without
/// [`ProjectorConfig::unlabelled`](crate::ProjectorConfig): when
/// `unlabelled`, a NaN MOS (a row without MOS, projected for prediction) is
/// allowed; any other MOS must still be within 1-5.
pub fn row_contract_for(
    slot: &str,
    accepts: &[String],
    width: usize,
    r: &FfiRow,
    unlabelled: bool,
) -> Result<(), String> {
    if !accepts.iter().any(|a| a.as_str() == r.corpus.as_str()) {
        return Err(format!(
            "returned a row tagged `{}`, which slot `{slot}` does not accept",
            r.corpus
        ));
    }
    if r.features.len() != width {
        return Err(format!(
            "returned {} features for a {width}-column schema",
            r.features.len()
        ));
    }
    if let Some(i) = r.features.iter().position(|v| !v.is_finite()) {
        return Err(format!("returned a non-finite value in feature column {i}"));
    }
    let unlabelled_row = unlabelled && r.mos.is_nan();
    if !unlabelled_row && (!r.mos.is_finite() || !(1.0..=5.0).contains(&r.mos)) {
        return Err(format!("returned MOS {} outside 1-5", r.mos));
    }
    if r.filled.iter().any(|i| *i as usize >= width) {
        return Err("returned a fill index outside the schema".into());
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The row slots, each name once (the projector reads the first of a
/// duplicated name).
fn row_slots(d: &Descriptor) -> Vec<&InputSlot> {
    let mut seen = std::collections::BTreeSet::new();
    d.inputs
        .iter()
        .filter(|s| s.role == SlotRole::Rows && seen.insert(s.name.as_str()))
        .collect()
}

/// Schemas a projector can be opened for without context documents.
fn plain_schemas(d: &Descriptor) -> Vec<&Schema> {
    d.schemas
        .iter()
        .filter(|s| s.requires_slot.is_none())
        .collect()
}

/// The schema rows are checked under: the default when it needs no context,
/// else the first that needs none.
fn check_schema(d: &Descriptor) -> Option<&Schema> {
    d.schema(&d.default_schema)
        .filter(|s| s.requires_slot.is_none())
        .or_else(|| plain_schemas(d).into_iter().next())
}

fn config_for(schema: &Schema) -> ProjectorConfig {
    ProjectorConfig {
        schema: Some(schema.name.clone()),
        ..ProjectorConfig::default()
    }
}

fn describe_failure(e: &PluginError) -> String {
    match e.kind {
        PluginErrorKind::Panic => format!("panicked: {}", e.message),
        _ => format!("failed (the host would stop ingesting): {}", e.message),
    }
}

fn capped(mut details: Vec<String>) -> Vec<String> {
    if details.len() > MAX_DETAILS {
        let more = details.len() - MAX_DETAILS;
        details.truncate(MAX_DETAILS);
        details.push(format!("... and {more} more"));
    }
    details
}

fn no_schema(name: &str) -> Check {
    Check::new(
        name,
        Status::Skip,
        "every schema needs a context slot; no projector can be opened without one",
    )
}

/// The sample rows project as declared under every schema that needs no
/// context slot.
pub fn samples(s: &Subject<'_>) -> Check {
    let d = s.descriptor;
    if d.samples.is_empty() {
        return Check::new(
            names::SAMPLES,
            Status::Warn,
            "declares no sample rows: add a few with DescriptorBuilder::sample so projection can be checked",
        );
    }
    let schemas = plain_schemas(d);
    if schemas.is_empty() {
        return no_schema(names::SAMPLES);
    }
    let mut fails = Vec::new();
    let (mut projected, mut rejected) = (0usize, BTreeMap::<String, usize>::new());
    for (k, schema) in schemas.iter().enumerate() {
        let width = schema.columns.len();
        let p = match (s.open)(&config_for(schema)) {
            Ok(p) => p,
            Err(e) => {
                fails.push(format!(
                    "schema `{}`: cannot open a projector: {e}",
                    schema.name
                ));
                continue;
            }
        };
        for (i, sample) in d.samples.iter().enumerate() {
            let Some(slot) = d.slot(&sample.slot).filter(|sl| sl.role == SlotRole::Rows) else {
                if k == 0 {
                    fails.push(format!("sample {i}: `{}` is not a row slot", sample.slot));
                }
                continue;
            };
            let what = format!(
                "sample {i} (slot `{}`, schema `{}`)",
                slot.name, schema.name
            );
            let out = p.project(sample.slot.as_str().into(), sample.raw.as_str().into());
            match (&sample.expect_rejection, out) {
                (None, FfiOutcome::Row(r)) => {
                    match row_contract(&slot.name, &slot.accepts, width, &r) {
                        Ok(()) => projected += 1,
                        Err(m) => fails.push(format!("{what} {m}")),
                    }
                }
                (None, FfiOutcome::Rejected(r)) => fails.push(format!(
                    "{what} must project but was rejected as {}: {}",
                    r.code, r.message
                )),
                (Some(code), FfiOutcome::Rejected(r)) if r.code.as_str() == code => {
                    *rejected.entry(code.clone()).or_default() += 1;
                }
                (Some(code), FfiOutcome::Rejected(r)) => fails.push(format!(
                    "{what} must be rejected as {code} but was rejected as {}: {}",
                    r.code, r.message
                )),
                (Some(code), FfiOutcome::Row(_)) => {
                    fails.push(format!("{what} must be rejected as {code} but projected"))
                }
                (_, FfiOutcome::Failed(e)) => {
                    fails.push(format!("{what} {}", describe_failure(&e)))
                }
            }
        }
    }
    let total = d.samples.len() * schemas.len();
    if !fails.is_empty() {
        return Check::new(
            names::SAMPLES,
            Status::Fail,
            format!(
                "{} of {total} sample projection{} not as declared",
                fails.len().min(total),
                plural(total)
            ),
        )
        .with_details(capped(fails));
    }
    let codes: Vec<String> = rejected
        .iter()
        .map(|(c, n)| format!("{n} as {c}"))
        .collect();
    let names: Vec<&str> = schemas.iter().map(|s| s.name.as_str()).collect();
    let message = format!(
        "{} sample row{} as declared under {} schema{} ({}): {projected} projection{}{}{}",
        d.samples.len(),
        plural(d.samples.len()),
        schemas.len(),
        plural(schemas.len()),
        names.join(", "),
        plural(projected),
        if codes.is_empty() { "" } else { ", rejected " },
        codes.join(", ")
    );
    if projected == 0 {
        Check::new(names::SAMPLES, Status::Warn, message)
            .with_details(vec!["no sample row must project: add one that does".into()])
    } else {
        Check::new(names::SAMPLES, Status::Pass, message)
    }
}

/// A well-formed raw row for `slot`: the first of its samples (those that
/// must project first) that `projector` projects, else the first of them,
/// else one built from the descriptor's keys. Returns the row and where it
/// came from.
fn base_row(
    d: &Descriptor,
    slot: &InputSlot,
    projector: Option<&ProjectorBox>,
) -> (Map<String, Value>, String) {
    let parsed = |raw: &str| match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    let mine = || {
        d.samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.slot == slot.name)
    };
    let mut candidates: Vec<(Map<String, Value>, String, &str)> = mine()
        .filter(|(_, s)| s.expect_rejection.is_none())
        .chain(mine().filter(|(_, s)| s.expect_rejection.is_some()))
        .filter_map(|(i, s)| parsed(&s.raw).map(|m| (m, format!("sample {i}"), s.raw.as_str())))
        .collect();
    let projects = |raw: &str| {
        projector.is_some_and(|p| {
            matches!(
                p.project(slot.name.as_str().into(), raw.into()),
                FfiOutcome::Row(_)
            )
        })
    };
    let chosen = candidates
        .iter()
        .position(|(_, _, raw)| projects(raw))
        .or(if candidates.is_empty() { None } else { Some(0) });
    if let Some(i) = chosen {
        let (m, source, _) = candidates.swap_remove(i);
        return (m, source);
    }
    let mut m = Map::new();
    if let Some(tag) = slot.accepts.first() {
        m.insert("corpus".into(), Value::from(tag.as_str()));
    }
    for key in &d.id_keys {
        m.insert(key.clone(), Value::from("moshead-check-id"));
    }
    m.insert(
        d.content_group_key.clone(),
        Value::from("moshead-check-content"),
    );
    m.insert("mos".into(), Value::from(3.0));
    if let Some(schema) = check_schema(d) {
        for c in &schema.columns {
            m.insert(c.clone(), Value::from(0.5));
        }
    }
    (m, "a row built from the descriptor".into())
}

/// A tag `slot` does not accept, made up from its first accepted one.
fn made_up_tag(slot: &InputSlot) -> String {
    let mut tag = format!(
        "not-{}",
        slot.accepts.first().map_or("this-corpus", String::as_str)
    );
    while slot.accepts.contains(&tag) {
        tag.insert_str(0, "x-");
    }
    tag
}

/// Every row slot rejects rows of another corpus as `foreign-corpus`: the
/// other slots' tags it does not accept, and a made-up one.
pub fn foreign_corpus(s: &Subject<'_>) -> Check {
    let d = s.descriptor;
    let Some(schema) = check_schema(d) else {
        return no_schema(names::FOREIGN_CORPUS);
    };
    let p = match (s.open)(&config_for(schema)) {
        Ok(p) => p,
        Err(e) => {
            return Check::new(
                names::FOREIGN_CORPUS,
                Status::Fail,
                format!("cannot open a projector for `{}`: {e}", schema.name),
            )
        }
    };
    let mut fails = Vec::new();
    let mut tested = Vec::new();
    for slot in row_slots(d) {
        let (base, source) = base_row(d, slot, Some(&p));
        let mut tags: Vec<String> = d
            .corpus_tags()
            .into_iter()
            .filter(|t| !slot.accepts.contains(t))
            .collect();
        tags.push(made_up_tag(slot));
        for tag in &tags {
            let mut row = base.clone();
            row.insert("corpus".into(), Value::from(tag.as_str()));
            let raw = Value::Object(row).to_string();
            let what = format!("slot `{}`: {source} retagged `{tag}`", slot.name);
            match p.project(slot.name.as_str().into(), raw.as_str().into()) {
                FfiOutcome::Rejected(r) if r.code.as_str() == codes::FOREIGN_CORPUS => {}
                FfiOutcome::Rejected(r) => fails.push(format!(
                    "{what} was rejected as {}, not {}: {}",
                    r.code,
                    codes::FOREIGN_CORPUS,
                    r.message
                )),
                FfiOutcome::Row(r) => fails.push(format!(
                    "{what} was accepted (projected as corpus `{}`)",
                    r.corpus
                )),
                FfiOutcome::Failed(e) => fails.push(format!("{what}: {}", describe_failure(&e))),
            }
        }
        tested.push(format!("`{}` ({})", slot.name, tags.join(", ")));
    }
    if fails.is_empty() {
        Check::new(
            names::FOREIGN_CORPUS,
            Status::Pass,
            format!(
                "foreign rows are rejected as {} by {}",
                codes::FOREIGN_CORPUS,
                tested.join("; ")
            ),
        )
    } else {
        Check::new(
            names::FOREIGN_CORPUS,
            Status::Fail,
            format!(
                "{} foreign row{} not rejected as {}",
                fails.len(),
                plural(fails.len()),
                codes::FOREIGN_CORPUS
            ),
        )
        .with_details(capped(fails))
    }
}

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

/// A file-name pattern match supporting `*` and `?` (other characters are
/// literal), enough for shard globs like `shard_*.features.jsonl`.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn safe_relative(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// What one synthesized corpus gave.
#[derive(Default)]
struct SynthStats {
    files: usize,
    lines: usize,
    rows: usize,
    not_synthetic: usize,
    rejected: BTreeMap<String, usize>,
}

/// Reads a synthesized corpus back through the projector, as `moshead
/// synth` + `moshead corpus` would.
fn read_back(s: &Subject<'_>, out: &SynthOutput) -> Result<SynthStats, Vec<String>> {
    let d = s.descriptor;
    let mut fails = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in &out.files {
        if !safe_relative(path) {
            fails.push(format!(
                "file `{path}` is not a relative path of plain names (moshead synth refuses it)"
            ));
        }
        if !seen.insert(path.as_str()) {
            fails.push(format!("file `{path}` is generated twice"));
        }
    }
    let mut bound: Vec<(&InputSlot, Vec<&(String, String)>)> = Vec::new();
    for (slot_name, rel) in &out.inputs {
        let Some(slot) = d.slot(slot_name) else {
            fails.push(format!("binds unknown slot `{slot_name}`"));
            continue;
        };
        if !safe_relative(rel) {
            fails.push(format!(
                "binds `{slot_name}` to `{rel}`, not a relative path of plain names"
            ));
            continue;
        }
        let prefix = format!("{rel}/");
        let exact: Vec<&(String, String)> = out.files.iter().filter(|(p, _)| p == rel).collect();
        let files = if !exact.is_empty() {
            exact
        } else {
            let under: Vec<&(String, String)> = out
                .files
                .iter()
                .filter(|(p, _)| {
                    p.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.contains('/'))
                })
                .collect();
            match &slot.kind {
                SlotKind::File => {
                    fails.push(format!(
                        "binds file slot `{slot_name}` to `{rel}`, which is no generated file"
                    ));
                    continue;
                }
                SlotKind::ShardDir { glob } => under
                    .into_iter()
                    .filter(|(p, _)| wildcard(glob, p.rsplit('/').next().unwrap_or(p)))
                    .collect(),
            }
        };
        if files.is_empty() {
            fails.push(format!(
                "binds `{slot_name}` to `{rel}`, which holds no file the slot reads"
            ));
            continue;
        }
        bound.push((slot, files));
    }
    let mut config = ProjectorConfig::default();
    for (slot, files) in &bound {
        if slot.role == SlotRole::Context {
            if let Some((_, text)) = files.first() {
                config.context.insert(slot.name.clone(), text.clone());
            }
        }
    }
    let schema = d
        .schema(&d.default_schema)
        .filter(|sc| {
            sc.requires_slot
                .as_ref()
                .is_none_or(|r| config.context.contains_key(r))
        })
        .or_else(|| check_schema(d));
    let Some(schema) = schema else {
        fails.push("no schema can be opened".into());
        return Err(fails);
    };
    config.schema = Some(schema.name.clone());
    let p = match (s.open)(&config) {
        Ok(p) => p,
        Err(e) => {
            fails.push(format!(
                "cannot open a projector for `{}` on the generated context: {e}",
                schema.name
            ));
            return Err(fails);
        }
    };
    let width = schema.columns.len();
    let mut stats = SynthStats {
        files: out.files.len(),
        ..SynthStats::default()
    };
    for (slot, files) in bound.iter().filter(|(sl, _)| sl.role == SlotRole::Rows) {
        for (path, text) in files {
            if path.ends_with(".parquet") || path.ends_with(".pq") {
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                stats.lines += 1;
                let at = format!("{path}:{}", n + 1);
                match p.project(slot.name.as_str().into(), line.into()) {
                    FfiOutcome::Row(r) => {
                        match row_contract(&slot.name, &slot.accepts, width, &r) {
                            Ok(()) => {
                                stats.rows += 1;
                                stats.not_synthetic += usize::from(!r.synthetic);
                            }
                            Err(m) => fails.push(format!("{at}: {m}")),
                        }
                    }
                    FfiOutcome::Rejected(r) => {
                        *stats.rejected.entry(r.code.into_string()).or_default() += 1;
                    }
                    FfiOutcome::Failed(e) => fails.push(format!("{at}: {}", describe_failure(&e))),
                }
            }
        }
    }
    if fails.is_empty() {
        Ok(stats)
    } else {
        Err(fails)
    }
}

/// Small synthesis requests (12 rows, 1 row, 0 rows, an unknown variant)
/// return either a corpus whose rows project cleanly or a clean error.
pub fn synthesize(s: &Subject<'_>) -> Check {
    let requests = [
        (12usize, None),
        (1, None),
        (0, None),
        (3, Some("moshead-check-no-such-variant")),
    ];
    let mut fails = Vec::new();
    let mut notes = Vec::new();
    let mut warns = Vec::new();
    let mut main_rows = None;
    for (i, (rows, variant)) in requests.iter().enumerate() {
        let request = SynthRequest {
            rows: *rows,
            seed: 7,
            variant: variant.map(str::to_owned),
        };
        let what = match variant {
            Some(v) => format!("rows={rows}, variant `{v}`"),
            None => format!("rows={rows}"),
        };
        match (s.synthesize)(&request) {
            Err(e) if e.kind == PluginErrorKind::Panic => {
                fails.push(format!("{what}: panicked: {}", e.message))
            }
            Err(e) => notes.push(format!("{what}: clean error: {}", e.message)),
            Ok(out) => match read_back(s, &out) {
                Err(f) => fails.extend(f.into_iter().map(|m| format!("{what}: {m}"))),
                Ok(st) => {
                    let rejected: Vec<String> = st
                        .rejected
                        .iter()
                        .map(|(c, n)| format!("{n} {c}"))
                        .collect();
                    notes.push(format!(
                        "{what}: {} file{}, {} line{} -> {} row{}{}",
                        st.files,
                        plural(st.files),
                        st.lines,
                        plural(st.lines),
                        st.rows,
                        plural(st.rows),
                        if rejected.is_empty() {
                            String::new()
                        } else {
                            format!(" (rejected: {})", rejected.join(", "))
                        }
                    ));
                    if i == 0 {
                        main_rows = Some(st.rows);
                        if st.rows == 0 && *rows > 0 {
                            warns.push(format!(
                                "{what} gave no training row: return an error when the adapter cannot synthesize"
                            ));
                        }
                    }
                    if st.not_synthetic > 0 {
                        warns.push(format!(
                            "{what}: {} row{} not marked \"synthetic\": true (the real gate would apply)",
                            st.not_synthetic,
                            plural(st.not_synthetic)
                        ));
                    }
                }
            },
        }
    }
    if !fails.is_empty() {
        return Check::new(
            names::SYNTHESIZE,
            Status::Fail,
            format!(
                "{} problem{} with synthetic corpora",
                fails.len(),
                plural(fails.len())
            ),
        )
        .with_details(capped(fails));
    }
    let message = match main_rows {
        Some(0) => "rows=12 gives an empty corpus".to_owned(),
        Some(n) => format!(
            "rows=12 gives a corpus that projects cleanly ({n} rows); small and bad requests give clean corpora or clean errors"
        ),
        None => "rows=12 gives a clean error (no synthetic corpus); the others give clean corpora or clean errors".to_owned(),
    };
    if warns.is_empty() {
        Check::new(names::SYNTHESIZE, Status::Pass, message).with_details(notes)
    } else {
        warns.extend(notes);
        Check::new(names::SYNTHESIZE, Status::Warn, message).with_details(warns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::builder::SYNTHETIC_GATE;
    use crate::prelude::*;

    fn base() -> DescriptorBuilder {
        DescriptorBuilder::new("g", "0.1.0", "g_v1")
            .jsonl_file("rows", "", &["g"])
            .schema("g-v1", &["adm2"])
            .content_key("src")
    }

    #[test]
    fn insane_gates_and_unusable_overrides_are_problems() {
        let inverted = Thresholds {
            plcc_min: Some(-0.2),
            srocc_min: Some(0.0),
            rmse_max: Some(9.0),
            spread_max: Some(f64::NAN),
        };
        let d = base()
            .env("BAD=VAR", Some("../up"))
            .gate(inverted, SYNTHETIC_GATE)
            .context_json("profile")
            .sample("profile", "{}", Some("Not Kebab"))
            .build();
        let problems = d.problems().join("\n");
        for needle in [
            "plcc_min -0.2 passes a head that does not track MOS",
            "srocc_min 0 passes a head",
            "rmse_max 9 exceeds the width of the 1-5 scale",
            "spread_max NaN must be finite",
            "`BAD=VAR` is not a usable variable name",
            "joins `../up`",
            "sample 0 names `profile`, which is not a row slot",
            "`Not Kebab`, which is not kebab-case",
        ] {
            assert!(problems.contains(needle), "{needle}: {problems}");
        }
        assert_eq!(d.non_finite_numbers(), ["gate.real.spread_max = NaN"]);
        assert_eq!(descriptor_check(&d).status, Status::Fail);
    }

    struct NanGate;
    impl CorpusAdapter for NanGate {
        fn descriptor() -> Descriptor {
            let mut t = crate::builder::REAL_GATE;
            t.plcc_min = Some(f64::NAN);
            base().gate(t, SYNTHETIC_GATE).build()
        }
        fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {
            Ok(NanGate)
        }
        fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {
            Err("none".into())
        }
    }

    #[test]
    fn a_nan_threshold_is_refused_at_the_boundary_not_turned_into_null() {
        let module = crate::export::root_module::<NanGate>();
        match (module.descriptor())() {
            RResult::RErr(e) => assert!(e.message.contains("gate.real.plcc_min = NaN"), "{e}"),
            RResult::ROk(json) => panic!("exported {json}"),
        }
        let report = check_adapter::<NanGate>();
        assert!(!report.passed());
        let d = report.get(names::DESCRIPTOR).unwrap();
        assert!(
            d.details.iter().any(|l| l.contains("cannot cross as JSON")),
            "{d}"
        );
    }

    #[test]
    fn mos_range_maps_onto_1_5() {
        let d = base().mos_range("mos10", 0.0, 10.0).build();
        assert_eq!(d.mos_scale.to_head(0.0), 1.0);
        assert_eq!(d.mos_scale.to_head(10.0), 5.0);
        assert_eq!(d.mos_scale.to_head(5.0), 3.0);
        assert!(d.problems().is_empty(), "{:?}", d.problems());
    }

    #[test]
    fn a_minimal_adapter_without_samples_warns_but_passes() {
        let report = check_adapter::<NanGate>();
        assert_eq!(report.get(names::SAMPLES).unwrap().status, Status::Warn);
        assert_eq!(
            report.get(names::GARBAGE).unwrap().status,
            Status::Pass,
            "{report}"
        );
        let synth = report.get(names::SYNTHESIZE).unwrap();
        assert_eq!(synth.status, Status::Pass, "{synth}");
        assert!(synth.message.contains("clean error"), "{synth}");
    }

    #[test]
    fn wildcards() {
        assert!(wildcard(
            "shard_*.features.jsonl",
            "shard_00.features.jsonl"
        ));
        assert!(!wildcard("shard_*.features.jsonl", "shard_00.jsonl"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a?c*", "abcdef"));
        assert!(!wildcard("a?c", "ac"));
    }

    #[test]
    fn garbage_rows_are_varied_and_keep_their_labels() {
        let d = crate::DescriptorBuilder::new("g", "0.1.0", "g_v1")
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
