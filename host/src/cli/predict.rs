//! `moshead predict`: score rows, with or without a MOS, with a trained
//! model.
//!
//! Output, one record per scored row (JSONL objects, or CSV with a header):
//! `id`; `prediction` on the head's 1-5 scale; `prediction_native` on the
//! native MOS scale of the slot the row was read through (its own, else the
//! adapter's); `mos` and `mos_native`, the row's own MOS
//! when it has one (omitted in JSONL and empty in CSV otherwise); `split`;
//! `group`. Every prediction is computed, and checked finite, before
//! anything is written; `--output` is written atomically and may not be an
//! input, the manifest or a file of the model's output set.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use moshead_protocol::{MosScale, Split};

use super::corpus::{load, DataArgs};
use super::scoring::{bindings, check_columns, drops_and_hints, manifest_adapter, model_adapter};
use super::{Env, EXIT_OK};
use crate::corpus::Dataset;
use crate::manifest::Manifest;
use crate::scoring::{check_output, model_files, predict_finite, Protected};

/// Arguments of `moshead predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model manifest.
    #[arg(long)]
    model: PathBuf,
    /// Rows to score: `PATH` (read through the adapter's first row slot) or `SLOT=PATH` (repeatable).
    #[arg(long = "input", short = 'i', required_unless_present = "demo")]
    inputs: Vec<String>,
    /// Score the embedded demo corpus.
    #[arg(long)]
    demo: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Jsonl)]
    format: OutFormat,
    /// Write here (atomically) instead of standard output; never an input,
    /// the manifest or a file of the model's output set.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Keep reference rows.
    #[arg(long)]
    include_references: bool,
    /// Score even when the adapter's library is not the one that trained
    /// the model (its sha256 differs from the manifest's).
    #[arg(long)]
    allow_plugin_change: bool,
}

/// Prediction output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutFormat {
    /// One JSON object per row.
    Jsonl,
    /// Comma-separated values with a header.
    Csv,
}

/// The CSV header.
pub const CSV_HEADER: &str = "id,prediction,prediction_native,mos,mos_native,split,group";

pub fn run_predict(env: &Env, args: PredictArgs) -> anyhow::Result<u8> {
    let m = Manifest::load(&args.model)?;
    let reg = env.registry_for(&manifest_adapter(&m)?)?;
    let adapter = model_adapter(&reg, &m, &args.model, args.allow_plugin_change)?;
    let data = DataArgs {
        adapter: manifest_adapter(&m)?,
        inputs: bindings(adapter, &args.inputs)?,
        demo: args.demo,
        schema: Some(m.feature_schema.clone()),
        include_references: args.include_references,
        strict: false,
        unlabelled: true,
    };
    if let Some(out) = &args.output {
        let mut protected = model_files(&args.model, &m);
        if !args.demo {
            let resolved =
                crate::corpus::inputs::resolve(&adapter.descriptor, &data.inputs, &|v| {
                    std::env::var_os(v)
                })?;
            for f in resolved.rows.iter().chain(&resolved.context) {
                protected.push(Protected::new(
                    &f.path,
                    format!("an input (slot `{}`)", f.slot),
                ));
            }
            for (slot, path) in &data.inputs {
                protected.push(Protected::new(path, format!("an input (slot `{slot}`)")));
            }
        }
        check_output(out, &protected)?;
    }
    let loaded = load(env, &reg, &data)?;
    let ds = &loaded.dataset;
    check_columns(&m, ds)?;
    if ds.is_empty() {
        bail!(
            "no row could be scored: {} line(s) read, every one dropped{}",
            loaded.report.inputs.iter().map(|i| i.lines).sum::<u64>(),
            drops_and_hints(env, adapter, &loaded.report, &args.model)
        );
    }
    let all: Vec<usize> = (0..ds.len()).collect();
    let pred = predict_finite(&m, ds, &all)?;
    let scale = &adapter.descriptor.mos_scale;
    match &args.output {
        Some(path) => {
            let mut bytes = Vec::new();
            write_rows(&mut bytes, args.format, ds, &pred, scale)?;
            crate::manifest::write_atomic(path, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_rows(&mut out, args.format, ds, &pred, scale)?;
            out.flush()?;
        }
    }
    let r = &loaded.report;
    let unlabelled = (0..ds.len()).filter(|&i| !ds.has_mos(i)).count();
    if !env.quiet || r.dropped() > 0 {
        eprintln!(
            "moshead: scored {} row(s) ({unlabelled} without a MOS); {} dropped{}",
            ds.len(),
            r.dropped(),
            if r.dropped() > 0 {
                drops_and_hints(env, adapter, r, &args.model)
            } else {
                String::new()
            }
        );
    }
    Ok(EXIT_OK)
}

/// Writes one record per row of `ds`.
fn write_rows(
    out: &mut dyn Write,
    format: OutFormat,
    ds: &Dataset,
    pred: &[f64],
    scale: &MosScale,
) -> anyhow::Result<()> {
    if format == OutFormat::Csv {
        writeln!(out, "{CSV_HEADER}")?;
    }
    for (i, &p) in pred.iter().enumerate() {
        let split = ds.split[i].map_or("", Split::as_str);
        let group = &ds.group_names[ds.group[i] as usize];
        let scale = ds.scale_of(i, scale);
        let native = scale.to_native(p);
        let mos = ds.has_mos(i).then(|| ds.mos[i]);
        match format {
            OutFormat::Jsonl => {
                let mut o = serde_json::Map::new();
                o.insert("id".into(), ds.ids[i].into());
                o.insert("prediction".into(), p.into());
                o.insert("prediction_native".into(), native.into());
                if let Some(y) = mos {
                    o.insert("mos".into(), y.into());
                    o.insert("mos_native".into(), scale.to_native(y).into());
                }
                o.insert("split".into(), split.into());
                o.insert("group".into(), group.into());
                writeln!(out, "{}", serde_json::Value::Object(o))?;
            }
            OutFormat::Csv => {
                let (y, yn) = mos.map_or((String::new(), String::new()), |y| {
                    (y.to_string(), scale.to_native(y).to_string())
                });
                writeln!(
                    out,
                    "{},{p},{native},{y},{yn},{split},{}",
                    csv(&ds.ids[i]),
                    csv(group)
                )?;
            }
        }
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
