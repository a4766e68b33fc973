//! `moshead predict`: score rows, with or without a MOS, with a trained
//! model ([`crate::scoring::predict`], whose records it writes). Every
//! prediction is computed, and checked finite, before anything is written;
//! `--output` is written atomically and may not be an input, the manifest
//! or a file of the model's output set.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::scoring::{drops_and_hints, explain, open_model};
use super::{Env, EXIT_OK};
use crate::scoring::{bind_inputs, model_selector, predict, PredictRequest, RecordFormat};

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

impl From<OutFormat> for RecordFormat {
    fn from(f: OutFormat) -> Self {
        match f {
            OutFormat::Jsonl => RecordFormat::Jsonl,
            OutFormat::Csv => RecordFormat::Csv,
        }
    }
}

pub fn run_predict(env: &Env, args: PredictArgs) -> anyhow::Result<u8> {
    let (m, reg) = open_model(env, &args.model, args.allow_plugin_change)?;
    let adapter = reg.select(&model_selector(&m)?)?;
    let progress = env.progress.clone();
    let req = PredictRequest {
        manifest: &m,
        model_path: &args.model,
        adapter,
        inputs: bind_inputs(adapter, &args.inputs)?,
        demo: args.demo,
        include_references: args.include_references,
        output: args.output.as_deref(),
    };
    let scored =
        predict(&req, &progress.status()).map_err(|e| explain(env, &reg, &args.model, e))?;
    let format = RecordFormat::from(args.format);
    match &args.output {
        Some(path) => {
            let mut bytes = Vec::new();
            scored.write(&mut bytes, format)?;
            crate::manifest::write_atomic(path, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            scored.write(&mut out, format)?;
            out.flush()?;
        }
    }
    let r = &scored.loaded.report;
    if !env.quiet || r.dropped() > 0 {
        eprintln!(
            "moshead: scored {} row(s) ({} without a MOS); {} dropped{}",
            scored.values.len(),
            scored.unlabelled(),
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
