//! `moshead export` ([`crate::export::export`]) and `moshead ledger`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::table::print_table;
use super::{print_json, Env, EXIT_ERROR, EXIT_OK};
use crate::export::ledger::{self, LedgerEntry, LEDGER_FILE};
use crate::export::{export_requiring, Bundle, Export, ExportRequest, ReexportError, EXPORT_ONNX};
use crate::manifest::Manifest;
use crate::registry::Selector;
use crate::training::HeadKind;

/// Arguments of `moshead export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model manifest.
    #[arg(long)]
    model: PathBuf,
    /// Output directory (default: the manifest's). The manifest is written
    /// there too, as `<id>.json`, with its `exports` updated.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace another model's files in `--out` (a manifest of the same id
    /// that is not the one exported).
    #[arg(long)]
    force: bool,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    formats: FormatArgs,
}

/// `--export NAME`: exports that must be written (an error when the model
/// cannot be expressed in one). Without it, the libvmaf model is written
/// when the head and schema allow and skipped with a note otherwise.
#[derive(Debug, Clone, Default, Args)]
pub struct FormatArgs {
    /// Require this export (repeatable): `vmaf` fails when libvmaf cannot
    /// evaluate the head or has no name for a feature column;
    /// `vmaf-bootstrap` (train) also refits the head on resamples of
    /// contents and writes the libvmaf model collection `<id>_vmaf_b.json`.
    #[arg(long = "export", value_parser = clap::builder::PossibleValuesParser::new(crate::export::flags()))]
    required: Vec<String>,
}

impl FormatArgs {
    /// The `--export` values given, in order, each once.
    pub fn required(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.required {
            if !out.contains(&f.as_str()) {
                out.push(f);
            }
        }
        out
    }

    /// The first export asked for that only some head types can be
    /// expressed in (the libvmaf ones), if any.
    pub fn head_bound(&self) -> Option<&'static dyn Export> {
        self.exports()
            .into_iter()
            .find(|e| HeadKind::ALL.iter().any(|k| e.head_refusal(*k).is_some()))
    }

    /// The exports asked for.
    pub fn exports(&self) -> Vec<&'static dyn Export> {
        self.required()
            .into_iter()
            .filter_map(crate::export::by_flag)
            .collect()
    }

    /// Requires the export `flag` too.
    pub fn require(&mut self, flag: &str) {
        if !self.required.iter().any(|f| f == flag) {
            self.required.push(flag.to_owned());
        }
    }
}

/// Refuses an `--export` up front when the head type cannot be expressed
/// in it.
pub(super) fn check_head(formats: &FormatArgs, kind: HeadKind) -> anyhow::Result<()> {
    for e in formats.exports() {
        if let Some(r) = e.head_refusal(kind) {
            anyhow::bail!("--export {}: {r}", e.flag().unwrap_or_default());
        }
    }
    Ok(())
}

/// Says why an export was not written, when the model cannot be
/// expressed in it.
pub(super) fn refusal_notes(bundle: &Bundle) {
    for r in &bundle.refused {
        eprintln!("moshead: note: no {}: {}", r.file, r.reason);
    }
}

/// What `export` prints with `--json`.
#[derive(serde::Serialize)]
struct ExportSummary<'a> {
    model_id: &'a str,
    dir: &'a Path,
    manifest_sha256: &'a str,
    onnx_sha256: Option<&'a str>,
    outputs: std::collections::BTreeMap<String, String>,
}

/// Writes the bundle of `m` into `dir` and tells what was written.
pub(super) fn report_bundle(m: &Manifest, bundle: &Bundle, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&ExportSummary {
            model_id: &m.id,
            dir: &bundle.dir,
            manifest_sha256: &bundle.manifest_sha256,
            onnx_sha256: m.exports.get(EXPORT_ONNX).map(|r| r.sha256.as_str()),
            outputs: bundle.outputs(),
        })
    } else {
        let names: Vec<String> = bundle.outputs().into_values().collect();
        println!("exported to {}: {}", bundle.dir.display(), names.join(", "));
        Ok(())
    }
}

pub fn run_export(_env: &Env, args: ExportArgs) -> anyhow::Result<u8> {
    let request = ExportRequest {
        model: &args.model,
        out: args.out.as_deref(),
        force: args.force,
        require_vmaf: false,
    };
    let done = export_requiring(&request, &args.formats.required()).map_err(|e| match e {
        ReexportError::Refused { flag, reason, .. } => anyhow::anyhow!("--export {flag}: {reason}"),
        other => other.into(),
    })?;
    let m = &done.manifest;
    if !done.predictions_found {
        eprintln!(
            "moshead: warning: no validation predictions beside {} (`{}_validation.jsonl`): the predicted-vs-MOS plot is skipped",
            args.model.display(),
            m.id
        );
    }
    if let Some((b, a)) = &done.onnx_changed {
        eprintln!(
            "moshead: note: the ONNX model differs from the one the manifest recorded (sha256 {b} -> {a}); {} records the new file",
            done.bundle.manifest.display()
        );
    }
    refusal_notes(&done.bundle);
    report_bundle(m, &done.bundle, args.json)?;
    Ok(EXIT_OK)
}

/// Arguments of `moshead ledger`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("where")
        .required(true)
        .multiple(true)
        .args(["out", "adapter"])
))]
pub struct LedgerArgs {
    /// The output directory whose `ledger.jsonl` to list.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only this adapter's runs; without --out, read the ledger in the
    /// adapter's output directory (or its environment override).
    #[arg(long, short = 'a')]
    adapter: Option<Selector>,
    /// Print the runs as JSON.
    #[arg(long)]
    json: bool,
}

/// What `ledger --json` prints.
#[derive(serde::Serialize)]
struct LedgerJson<'a> {
    ledger: &'a Path,
    runs: Vec<serde_json::Value>,
    malformed: &'a [ledger::Malformed],
}

fn opt4(v: Option<f64>) -> String {
    crate::export::card::f4(v)
}

pub fn run_ledger(env: &Env, args: LedgerArgs) -> anyhow::Result<u8> {
    let dir = match (&args.out, &args.adapter) {
        (Some(o), _) => o.clone(),
        (None, Some(sel)) => {
            let reg = env.registry_for(sel)?;
            crate::manifest::default_output_dir(&reg.select(sel)?.descriptor)
        }
        (None, None) => anyhow::bail!("pass --out DIR or --adapter NAME"),
    };
    crate::manifest::settle(&dir)?;
    let path = dir.join(LEDGER_FILE);
    let read = ledger::read(&path)?;
    let runs: Vec<&(usize, LedgerEntry)> = read
        .entries
        .iter()
        .filter(|(_, e)| args.adapter.as_ref().is_none_or(|s| s.name == e.adapter))
        .collect();
    if args.json {
        let mut values = Vec::new();
        for (line, e) in &runs {
            let mut v = serde_json::to_value(e)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("line".into(), (*line).into());
            }
            values.push(v);
        }
        print_json(&LedgerJson {
            ledger: &path,
            runs: values,
            malformed: &read.malformed,
        })?;
    } else if runs.is_empty() {
        println!("{}: no runs recorded", path.display());
    } else {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|(line, e)| {
                vec![
                    line.to_string(),
                    e.recorded_at.clone(),
                    e.model_id.clone(),
                    format!("{}@{}", e.adapter, e.adapter_version),
                    e.feature_schema.clone(),
                    e.head.clone(),
                    e.validation.clone(),
                    opt4(e.mean_plcc),
                    opt4(e.mean_srocc),
                    opt4(e.mean_rmse),
                    e.native_rmse_text(),
                    opt4(e.plcc_spread),
                    format!(
                        "{} {}",
                        e.gate,
                        match (e.gate_declared, e.gate_passed) {
                            (false, _) => "none declared",
                            (true, true) => "passed",
                            (true, false) => "MISSED",
                        }
                    ),
                    e.manifest_sha256.chars().take(12).collect(),
                ]
            })
            .collect();
        print_table(
            &[
                "LINE",
                "RECORDED",
                "MODEL",
                "ADAPTER",
                "SCHEMA",
                "HEAD",
                "VALIDATION",
                "PLCC",
                "SROCC",
                "RMSE",
                "RMSE NATIVE",
                "SPREAD",
                "GATE",
                "MANIFEST",
            ],
            &rows,
        );
    }
    for bad in &read.malformed {
        eprintln!("moshead: error: {bad}");
    }
    Ok(if read.malformed.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}
