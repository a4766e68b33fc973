//! `moshead export` and `moshead ledger`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::table::print_table;
use super::{print_json, Env, EXIT_ERROR, EXIT_OK};
use crate::export::ledger::{self, LedgerEntry, LEDGER_FILE};
use crate::export::{load_predictions, write_bundle, Bundle, EXPORT_ONNX};
use crate::manifest::Manifest;
use crate::registry::Selector;

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

/// Export formats a command may be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `<id>_vmaf.json`, libvmaf's JSON model format.
    Vmaf,
}

/// `--export FORMAT`: formats that must be written (an error when the
/// model cannot be expressed in one). Without it, the libvmaf model is
/// written when the head and schema allow and skipped with a note otherwise.
#[derive(Debug, Clone, Default, Args)]
pub struct FormatArgs {
    /// Require this export (repeatable): `vmaf` fails when libvmaf cannot
    /// evaluate the head or has no name for a feature column.
    #[arg(long = "export", value_enum)]
    required: Vec<Format>,
}

impl FormatArgs {
    /// Whether the libvmaf model was asked for.
    pub fn vmaf(&self) -> bool {
        self.required.contains(&Format::Vmaf)
    }
}

/// Refuses `--export vmaf` up front when the head type has no libvmaf form.
pub(super) fn check_head(
    formats: &FormatArgs,
    kind: crate::training::HeadKind,
) -> anyhow::Result<()> {
    match crate::export::vmaf::head_refusal(kind) {
        Some(r) if formats.vmaf() => anyhow::bail!("--export vmaf: {r}"),
        _ => Ok(()),
    }
}

/// Says why the libvmaf model was not written, when it was not.
pub(super) fn vmaf_note(m: &Manifest, bundle: &Bundle) {
    if let Err(r) = &bundle.vmaf {
        eprintln!("moshead: note: no {}_vmaf.json: {r}", m.id);
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
    let src = args
        .model
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut m = Manifest::load(&args.model)?;
    if args.formats.vmaf() {
        crate::export::vmaf::check(&m).map_err(|r| anyhow::anyhow!("--export vmaf: {r}"))?;
    }
    let out = args.out.clone().unwrap_or_else(|| src.clone());
    // The same lock as `moshead train` (it creates `out`): an export
    // rewrites the manifest, so it must not interleave with a run writing
    // into the same directory. The manifest's own directory is not locked
    // when `--out` points elsewhere: it may be read-only.
    let _lock = crate::manifest::OutputLock::acquire(&out).map_err(anyhow::Error::msg)?;
    let target = out.join(crate::export::Names::new(&m.id).manifest());
    if !args.force && holds_another_model(&args.model, &m, &target) {
        anyhow::bail!(
            "{} holds another model's manifest (not {}); pass --force to replace that model's files",
            target.display(),
            args.model.display()
        );
    }
    if !load_predictions(&mut m, &src)? {
        eprintln!(
            "moshead: warning: no validation predictions beside {} (`{}_validation.jsonl`): the predicted-vs-MOS plot is skipped",
            args.model.display(),
            m.id
        );
    }
    let before = m.exports.get(EXPORT_ONNX).map(|r| r.sha256.clone());
    let bundle = write_bundle(&mut m, &out)?;
    let after = m.exports.get(EXPORT_ONNX).map(|r| r.sha256.clone());
    if let (Some(b), Some(a)) = (&before, &after) {
        if a != b {
            eprintln!(
                "moshead: note: the ONNX model differs from the one the manifest recorded (sha256 {b} -> {a}); {} records the new file",
                bundle.manifest.display()
            );
        }
    }
    vmaf_note(&m, &bundle);
    report_bundle(&m, &bundle, args.json)?;
    Ok(EXIT_OK)
}

/// Whether `target` exists and holds another model than `m`: not the
/// manifest `source` itself, and not the same model (equal in everything
/// but the recorded exports, as an earlier export of `m` is).
fn holds_another_model(source: &Path, m: &Manifest, target: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(target) else {
        return target.exists();
    };
    let same_file = match (std::fs::canonicalize(source), std::fs::canonicalize(target)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_file {
        return false;
    }
    match Manifest::parse(target, &text) {
        Ok(mut there) => {
            let mut here = m.clone();
            there.exports.clear();
            here.exports.clear();
            there != here
        }
        Err(_) => true,
    }
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
    crate::manifest::settle(&dir).map_err(anyhow::Error::msg)?;
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
                    opt4(e.plcc_spread),
                    format!(
                        "{} {}",
                        e.gate,
                        if e.gate_passed { "passed" } else { "MISSED" }
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
