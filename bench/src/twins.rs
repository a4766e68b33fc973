//! The CSV and gzipped-JSONL twins of a cached benchmark corpus, for
//! `moshead-bench ingest`: the same rows in the other formats, written once
//! beside the JSONL and reused.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value};

/// An input form a benchmark corpus is ingested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// The generated JSONL, as it is.
    Jsonl,
    /// The same rows as CSV (a header row; keys in first-seen order).
    Csv,
    /// The JSONL, gzip-compressed.
    JsonlGz,
}

impl Form {
    /// Its name in figures.
    pub fn name(self) -> &'static str {
        match self {
            Form::Jsonl => "jsonl",
            Form::Csv => "csv",
            Form::JsonlGz => "jsonl.gz",
        }
    }

    /// The throughput target, in MB of uncompressed text per second.
    pub fn target_mb_per_s(self) -> f64 {
        match self {
            Form::Jsonl | Form::Csv => crate::support::MIN_MB_PER_S,
            Form::JsonlGz => MIN_GZIP_MB_PER_S,
        }
    }
}

/// The gzip target, in MB of uncompressed text per second.
pub const MIN_GZIP_MB_PER_S: f64 = 100.0;

/// The path of `jsonl` in `form`, written beside it if not there yet.
pub fn twin(jsonl: &Path, form: Form) -> anyhow::Result<PathBuf> {
    let path = match form {
        Form::Jsonl => return Ok(jsonl.to_path_buf()),
        Form::Csv => jsonl.with_extension("csv"),
        Form::JsonlGz => jsonl.with_extension("jsonl.gz"),
    };
    if path.is_file() {
        return Ok(path);
    }
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = match form {
        Form::Csv => write_csv(jsonl, &partial),
        _ => write_gzip(jsonl, &partial),
    };
    if let Err(e) = written.and_then(|()| {
        std::fs::rename(&partial, &path)
            .with_context(|| format!("{}: cannot create", path.display()))
    }) {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    Ok(path)
}

fn write_gzip(jsonl: &Path, out: &Path) -> anyhow::Result<()> {
    let mut input =
        File::open(jsonl).with_context(|| format!("{}: cannot read", jsonl.display()))?;
    let file = File::create(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut gz =
        flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
    std::io::copy(&mut input, &mut gz)
        .with_context(|| format!("{}: cannot write", out.display()))?;
    gz.finish()?.flush()?;
    Ok(())
}

fn objects(
    jsonl: &Path,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Map<String, Value>>>> {
    let file = File::open(jsonl).with_context(|| format!("{}: cannot read", jsonl.display()))?;
    let name = jsonl.display().to_string();
    Ok(BufReader::new(file)
        .lines()
        .enumerate()
        .map(move |(i, line)| {
            let line = line.with_context(|| format!("{name}:{}", i + 1))?;
            match serde_json::from_str(&line) {
                Ok(Value::Object(m)) => Ok(m),
                _ => anyhow::bail!("{name}:{}: not a JSON object", i + 1),
            }
        }))
}

fn write_csv(jsonl: &Path, out: &Path) -> anyhow::Result<()> {
    let mut keys: Vec<String> = Vec::new();
    for row in objects(jsonl)? {
        for k in row?.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let file = File::create(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    w.write_record(&keys)?;
    let mut fields: Vec<String> = Vec::with_capacity(keys.len());
    for row in objects(jsonl)? {
        let row = row?;
        fields.clear();
        fields.extend(keys.iter().map(|k| match row.get(k) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }));
        w.write_record(&fields)?;
    }
    w.flush()?;
    Ok(())
}
