//! `moshead adapters new NAME --rust`: the same guesses as a study file,
//! written as a compiled plugin crate made from `examples/adapter-template`
//! (its manifest's dependencies and its lock file, so it builds with the
//! versions the template is tested with), with a libvmaf-log slot joined
//! with the labels table.

use std::path::Path;

use super::{Content, Guess, Scores};

/// The template's lock file: the scaffold resolves as the template does.
const TEMPLATE_LOCK: &str = include_str!("../../../examples/adapter-template/Cargo.lock");
/// The template's package name, replaced by the new crate's.
const TEMPLATE_NAME: &str = "my-corpus";

/// A Rust string literal (Rust's escapes include JSON's).
fn lit(s: &str) -> String {
    format!("{s:?}")
}

/// An `f64` literal.
fn float(x: f64) -> String {
    format!("{x:?}")
}

/// The crate's files, relative to its directory: `Cargo.toml`,
/// `Cargo.lock`, `src/lib.rs`. `labels` and `logs` are the default paths
/// baked into the descriptor; `sdk` is the moshead sdk's directory.
pub fn crate_files(
    name: &str,
    guess: &Guess,
    labels: &Path,
    logs: &Path,
    sdk: &Path,
) -> Vec<(&'static str, String)> {
    let sdk = sdk.display().to_string();
    let conformance = Path::new(&sdk)
        .parent()
        .map(|p| p.join("conformance").display().to_string())
        .unwrap_or_default();
    let manifest = format!(
        r#"# A moshead corpus adapter written by `moshead adapters new {name} --rust`
# from the adapter template. `cargo build --release` writes
# target/release/lib{lib}.so; check it with `moshead adapters check PATH`,
# then install it in ~/.local/share/moshead/plugins or pass --plugin-dir.

[package]
name = {pkg}
version = "0.1.0"
edition = "2021"
description = {desc}
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
moshead-sdk = {{ path = {sdk} }}
abi_stable = {{ version = "0.11.3", default-features = false }}
serde_json = "1"

[dev-dependencies]
moshead-conformance = {{ path = {conformance} }}

[workspace]
"#,
        lib = name.replace('-', "_"),
        pkg = lit(name),
        desc = lit(&format!("moshead corpus adapter: {name}")),
        sdk = lit(&sdk),
        conformance = lit(&conformance),
    );
    let lock = TEMPLATE_LOCK.replace(
        &format!("name = \"{TEMPLATE_NAME}\""),
        &format!("name = {}", lit(name)),
    );
    vec![
        ("Cargo.toml", manifest),
        ("Cargo.lock", lock),
        ("src/lib.rs", lib_rs(name, guess, labels, logs)),
    ]
}

fn lib_rs(name: &str, g: &Guess, labels: &Path, logs: &Path) -> String {
    let (lo, hi) = g.scale;
    let content = match &g.content {
        Content::Column(c) => c.clone(),
        _ => g.id.clone(),
    };
    let mos = match &g.scores {
        Scores::Mos(m) => m.clone(),
        _ => "mos".to_owned(),
    };
    let mut keep: Vec<String> = Vec::new();
    if let Content::Column(c) = &g.content {
        keep.push(c.clone());
    }
    keep.extend(g.roles.get("split").cloned());
    let keep = keep.iter().map(|k| lit(k)).collect::<Vec<_>>().join(", ");
    let votes = match &g.scores {
        Scores::Mos(_) => String::new(),
        Scores::WideVotes(subjects) => format!(
            "\n            .labels_votes(VotesDecl {{\n                layout: VoteLayout::Wide {{ subjects: [{}].map(String::from).to_vec() }},\n                score_key: MOS_KEY.into(),\n                scale: Some(SCALE),\n                keep: [{keep}].map(String::from).to_vec(),\n                differential: None,\n            }})",
            subjects.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
        ),
        Scores::LongVotes {
            subject,
            score,
            session,
        } => format!(
            "\n            .labels_votes(VotesDecl {{\n                layout: VoteLayout::Long {{ subject: {}.into(), score: {}.into(), session: {} }},\n                score_key: MOS_KEY.into(),\n                scale: Some(SCALE),\n                keep: [{keep}].map(String::from).to_vec(),\n                differential: None,\n            }})",
            lit(subject),
            lit(score),
            session
                .as_ref()
                .map_or("None".to_owned(), |s| format!("Some({}.into())", lit(s)))
        ),
    };
    let mos_se = match (&g.scores, g.roles.get("sd"), g.roles.get("votes"), g.roles.get("ci95")) {
        (Scores::Mos(_), Some(sd), Some(n), _) => format!(
            "\n    /// The MOS's standard error on 1-5: SD / sqrt(votes), rescaled.\n    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {{\n        let sd = rules::positive(row, {})?;\n        let n = rules::positive(row, {})?;\n        Some(sd / n.sqrt() * 4.0 / (SCALE.1 - SCALE.0))\n    }}\n",
            lit(sd),
            lit(n)
        ),
        (Scores::Mos(_), _, _, Some(ci)) => format!(
            "\n    /// The MOS's standard error on 1-5: the CI95 half-width / 1.96, rescaled.\n    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {{\n        Some(rules::positive(row, {})? / 1.96 * 4.0 / (SCALE.1 - SCALE.0))\n    }}\n",
            lit(ci)
        ),
        (Scores::Mos(_), ..) => String::new(),
        _ => "\n    /// The recovered score's standard error, rescaled to 1-5.\n    fn mos_se(&self, row: &Row<'_>) -> Option<f64> {\n        Some(rules::positive(row, \"votes_std_err\")? * 4.0 / (SCALE.1 - SCALE.0))\n    }\n".to_owned(),
    };
    let group = match &g.content {
        Content::IdBeforeLast(sep) => format!(
            "\n    /// The content (source) is the clip id before its last {sep:?}.\n    fn group(&self, _: &Row<'_>, _: &Descriptor, id: &str) -> Result<String, Rejection> {{\n        Ok(id.rsplit_once({}).map_or(id, |(head, _)| head).to_owned())\n    }}\n",
            lit(sep)
        ),
        _ => String::new(),
    };
    let each_row = if g.content == Content::EachRow {
        "\n// CHECK: no content column or id pattern was found, so every clip is its own\n// content and encodes of one source can fall on both sides of a fold.\n"
    } else {
        ""
    };
    let mut sample = serde_json::Map::new();
    sample.insert("corpus".into(), name.into());
    sample.insert(g.id.clone(), "sample_1".into());
    if let Content::Column(c) = &g.content {
        sample.insert(c.clone(), "sample".into());
    }
    sample.insert(mos.clone(), serde_json::json!((lo + hi) / 2.0));
    for f in moshead_sdk::schemas::CANONICAL {
        sample.insert(f.to_string(), serde_json::json!(0.5));
    }
    let sample = serde_json::Value::Object(sample).to_string();
    let uses = if votes.is_empty() {
        ""
    } else {
        "use moshead_sdk::labels::{VoteLayout, VotesDecl};\n"
    };
    format!(
        r#"//! # {name}: a moshead corpus adapter
//!
//! Written by `moshead adapters new {name} --rust` from the labels table
//! {labels_shown}: libvmaf JSON logs (`vmaf --json`), one per clip named
//! `<clip id>.json`, joined with the labels table by file stem. Edit the
//! constants and the descriptor (lines marked CHECK first); the sdk does
//! the rest as for every adapter.

use moshead_sdk::builder::SYNTHETIC_GATE;
{uses}use moshead_sdk::prelude::*;

/// The corpus tag.
const TAG: &str = {tag};
/// The clip id column (a log joins the row whose id is its file stem).
const ID_KEY: &str = {id};
/// The MOS column{mos_note}.
const MOS_KEY: &str = {mos_lit};
/// The content (source) column: rows of one content share a fold.
const CONTENT_KEY: &str = {content_lit};
/// CHECK: the native MOS scale (scores seen {seen_lo}-{seen_hi}).
const SCALE: (f64, f64) = ({lo}, {hi});
/// The default inputs (override with `-i logs=DIR -i labels=FILE`).
const LOGS: &str = {logs_lit};
const LABELS: &str = {labels_lit};
/// A well-formed raw row (`adapters check` projects it).
const SAMPLE: &str = {sample_lit};
{each_row}
/// The adapter.
pub struct Adapter;

impl CorpusAdapter for Adapter {{
    fn descriptor() -> Descriptor {{
        DescriptorBuilder::new(TAG, env!("CARGO_PKG_VERSION"), {model_id})
            .description({desc}) // CHECK
            .libvmaf_logs("logs", LOGS, &[TAG], "labels", &[ID_KEY], &[]){votes}
            .about("libvmaf JSON logs, one per clip named <clip id>.json, joined with `labels` by file stem")
            .labels_file("labels", LABELS)
            .about("the labels table: clip id, MOS and the other role columns")
            .schema_cols(
                "vmaf-canonical-v1",
                schemas::CANONICAL.iter().map(|s| s.to_string()).collect(),
                None,
                "the six features of libvmaf's own models, for a head libvmaf can load",
            )
            .libvmaf_names(&schemas::LIBVMAF_NAMES)
            .mos_range(MOS_KEY, SCALE.0, SCALE.1)
            .content_key(CONTENT_KEY)
            .id_keys(&[ID_KEY])
            // CHECK: your own acceptance thresholds (RMSE on the 1-5 scale).
            .gate(
                Thresholds {{ plcc_min: Some(0.7), srocc_min: None, rmse_max: None, spread_max: None }},
                SYNTHETIC_GATE,
            )
            .licence("State the study's licence here.") // CHECK: the model card carries it
            .card("Predicts the study's MOS from the `{{schema}}` features.", &[])
            .sample("logs", SAMPLE, None)
            .build()
    }}

    fn open(_: &Descriptor, _: &str, _: &ProjectorConfig) -> Result<Self, String> {{
        Ok(Adapter)
    }}

    fn synthesize(_: &SynthRequest) -> Result<SynthOutput, String> {{
        Err(format!("{{TAG}} has no synthetic corpus: train on the study's labels and logs"))
    }}
{mos_se}{group}}}

moshead_sdk::export_adapter!(Adapter);

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn passes_the_conformance_checks() {{
        let report = moshead_conformance::check_adapter::<Adapter>();
        assert!(report.passed(), "{{report}}");
    }}
}}
"#,
        labels_shown = labels.display(),
        tag = lit(name),
        id = lit(&g.id),
        mos_note = if votes.is_empty() {
            ""
        } else {
            " (where the score recovered from the votes is written)"
        },
        mos_lit = lit(&mos),
        content_lit = lit(&content),
        seen_lo = g.seen.0,
        seen_hi = g.seen.1,
        lo = float(lo),
        hi = float(hi),
        logs_lit = lit(&logs.display().to_string()),
        labels_lit = lit(&labels.display().to_string()),
        sample_lit = lit(&sample),
        model_id = lit(&format!("{}_mos_head_v1", name.replace('-', "_"))),
        desc = lit(&format!("{name}: {} clips, MOS {lo}-{hi}", g.clips)),
    )
}
