//! `moshead predict`: score rows, with or without a MOS, with a trained
//! model ([`crate::scoring::predict`], whose records it writes). Every
//! prediction is computed, and checked finite, before anything is written;
//! `--output` may not be an input, the manifest or a file of the model's
//! output set. A regular file (or a new name) is written atomically; a
//! FIFO, a terminal or another character device, and a descriptor path
//! (`/dev/stdout`, `/dev/fd/N`, what `>(cmd)` gives) are written to as a
//! stream, never replaced; `-` is standard output. Anything else (a
//! directory, a block device, a link to a regular file) is refused.

use std::io::Write;
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::scoring::{drops_and_hints, explain, open_model};
use super::{Env, EXIT_OK};
use crate::progress::Progress;
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
    /// Write here instead of standard output (`-`): a regular file is
    /// replaced atomically, a FIFO, terminal or `/dev/stdout` is written as
    /// a stream; never an input, the manifest or a file of the model's
    /// output set.
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
    let progress = Progress::new(!env.quiet);
    let req = PredictRequest {
        manifest: &m,
        model_path: &args.model,
        adapter,
        inputs: bind_inputs(adapter, &args.inputs)?,
        demo: args.demo,
        include_references: args.include_references,
        output: args.output.as_deref().filter(|p| *p != Path::new("-")),
    };
    let scored =
        predict(&req, &progress.status()).map_err(|e| explain(env, &reg, &args.model, e))?;
    let format = RecordFormat::from(args.format);
    match sink(req.output)? {
        Sink::File(path) => {
            let mut bytes = Vec::new();
            scored.write(&mut bytes, format)?;
            crate::manifest::write_atomic(path, &bytes)
                .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        }
        Sink::Stream(path) => {
            let cannot =
                |e: std::io::Error| anyhow::anyhow!("{}: cannot write: {e}", path.display());
            // No create, no truncation: the special file stays what it is
            // (a regular file behind `/dev/stdout` is appended to, as the
            // shell's redirection left it).
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(cannot)?;
            let mut out = std::io::BufWriter::new(file);
            scored.write(&mut out, format)?;
            out.flush().map_err(cannot)?;
        }
        Sink::Stdout => {
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

/// Where `predict --output` goes.
#[derive(Debug, PartialEq, Eq)]
enum Sink<'a> {
    /// Standard output (no `--output`, or `-`).
    Stdout,
    /// A regular file or a new name: replaced atomically.
    File(&'a Path),
    /// A FIFO, a character device (a terminal, `/dev/null`), a socket, or
    /// a descriptor path: written as a stream, never replaced.
    Stream(&'a Path),
}

/// Whether `p` names one of the process's open descriptors
/// (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/1`).
fn is_descriptor_path(p: &Path) -> bool {
    ["/dev/stdout", "/dev/stderr"]
        .iter()
        .any(|d| p == Path::new(d))
        || p.starts_with("/dev/fd")
        || (p.starts_with("/proc")
            && p.parent().and_then(Path::file_name) == Some(std::ffi::OsStr::new("fd")))
}

/// How `output` (checked by the guard already) is written: its type is
/// looked at before anything is written.
fn sink(output: Option<&Path>) -> anyhow::Result<Sink<'_>> {
    let Some(path) = output else {
        return Ok(Sink::Stdout);
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Sink::File(path)),
        Err(e) => anyhow::bail!("--output {}: {e}", path.display()),
    };
    if meta.is_file() {
        return Ok(Sink::File(path));
    }
    let link = meta.is_symlink();
    let target = if link {
        std::fs::metadata(path).ok()
    } else {
        Some(meta)
    };
    let what = target.as_ref().map(std::fs::Metadata::file_type);
    let stream = what.is_some_and(|t| t.is_fifo() || t.is_char_device() || t.is_socket());
    if stream || (link && what.is_some_and(|t| t.is_file()) && is_descriptor_path(path)) {
        return Ok(Sink::Stream(path));
    }
    let described = match (link, what) {
        (true, Some(t)) => format!("a symbolic link to {}", crate::safe_fs::describe_type(&t)),
        (true, None) => "a symbolic link to nothing".to_owned(),
        (false, Some(t)) => crate::safe_fs::describe_type(&t).to_owned(),
        (false, None) => "not a regular file".to_owned(),
    };
    anyhow::bail!(
        "--output {} is {described}; moshead writes predictions to a regular file (replaced atomically), a FIFO, a terminal or `-` (standard output), never through a link or over another kind of file",
        path.display()
    )
}
