//! Prediction as a library operation: a model and rows (with or without a
//! MOS) in, one finite prediction per projected row out, and the records
//! `moshead predict` writes.
//!
//! Records, one per scored row (JSONL objects, or CSV with
//! [`CSV_HEADER`]): `id`; `prediction` on the head's 1-5 scale;
//! `prediction_native` on the native MOS scale of the slot the row was read
//! through (its own, else the adapter's); `mos` and `mos_native`, the row's
//! own MOS when it has one (omitted in JSONL and empty in CSV otherwise);
//! `split`; `group`; and, when the model records prediction intervals
//! ([`crate::evaluation::conformal`]), `lo` and `hi` on the head's scale and
//! `lo_native` and `hi_native` on the native one (omitted in JSONL and
//! empty in CSV otherwise); when the model records bootstrap models
//! (`train --export vmaf-bootstrap`), `bagging`, `stddev`, `ci_p95_lo` and
//! `ci_p95_hi` on the adapter's native scale, as libvmaf computes them from
//! the collection `<id>_vmaf_b.json`
//! ([`crate::export::vmaf_bootstrap`]; JSONL keys, and CSV columns after
//! [`CSV_HEADER`]'s).

use std::io::Write;
use std::path::{Path, PathBuf};

use moshead_protocol::{MosScale, Split};

use super::model::{check_columns, ScoringError};
use super::{check_output, model_files, predict_finite, Protected};
use crate::corpus::Dataset;
use crate::evaluation::conformal::PredictionIntervalRecord;
use crate::export::vmaf_bootstrap::CollectionScore;
use crate::ingest::{IngestRequest, Loaded};
use crate::manifest::Manifest;
use crate::registry::Adapter;
use crate::training::Status;

/// The CSV header.
pub const CSV_HEADER: &str =
    "id,prediction,prediction_native,mos,mos_native,split,group,lo,hi,lo_native,hi_native";

/// What to score, with which model.
#[derive(Debug, Clone)]
pub struct PredictRequest<'a> {
    /// The model.
    pub manifest: &'a Manifest,
    /// Where the manifest was read from (its files are kept off `output`).
    pub model_path: &'a Path,
    /// The model's adapter (see [`super::check_plugin`]).
    pub adapter: &'a Adapter,
    /// `(slot, path)` bindings (see [`super::bind_inputs`]).
    pub inputs: Vec<(String, PathBuf)>,
    /// Score the embedded demo corpus instead.
    pub demo: bool,
    /// Keep reference rows.
    pub include_references: bool,
    /// The file the caller will write the records to, checked before any
    /// row is read: never an input, the manifest or a file of the model's
    /// output set.
    pub output: Option<&'a Path>,
}

/// Every projected row with its prediction.
pub struct Predictions<'r> {
    /// The rows and their report.
    pub loaded: Loaded<'r>,
    /// The head's prediction (1-5) per row of `loaded.dataset`, every one
    /// finite.
    pub values: Vec<f64>,
    /// The model's prediction intervals, if it records them.
    pub intervals: Option<PredictionIntervalRecord>,
    /// The libvmaf bootstrap collection's values per row, if the model
    /// records bootstrap models.
    pub bootstrap: Option<Vec<CollectionScore>>,
}

/// Record formats of [`Predictions::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// One JSON object per row.
    Jsonl,
    /// Comma-separated values with [`CSV_HEADER`].
    Csv,
}

/// Scores every row `req` binds with its model.
pub fn predict<'r>(
    req: &PredictRequest<'r>,
    status: &Status,
) -> Result<Predictions<'r>, ScoringError> {
    let m = req.manifest;
    let ingest = IngestRequest {
        inputs: req.inputs.clone(),
        demo: req.demo,
        schema: Some(m.feature_schema.clone()),
        include_references: req.include_references,
        strict: false,
        unlabelled: true,
        subjective_model: m.data.subjective_model(),
    };
    // Resolved once: the output is kept off the very files then read.
    let resolved = crate::ingest::resolve(req.adapter, &ingest)?;
    if let Some(out) = req.output {
        let mut protected = model_files(req.model_path, m);
        if let Some(r) = &resolved {
            for f in r.labels.iter().chain(&r.rows).chain(&r.context) {
                protected.push(Protected::new(
                    &f.path,
                    format!("an input (slot `{}`)", f.slot),
                ));
            }
            for (slot, path) in &req.inputs {
                protected.push(Protected::new(path, format!("an input (slot `{slot}`)")));
            }
        }
        check_output(out, &protected)?;
    }
    let loaded = crate::ingest::load_resolved(req.adapter, &ingest, resolved, status)?;
    let ds = &loaded.dataset;
    check_columns(m, ds)?;
    if ds.is_empty() {
        return Err(ScoringError::TooFewRows {
            what: format!(
                "no row could be scored: {} line(s) read, every one dropped",
                loaded.report.inputs.iter().map(|i| i.lines).sum::<u64>()
            ),
            adapter: req.adapter.name().to_owned(),
            report: Box::new(loaded.report),
        });
    }
    let all: Vec<usize> = (0..ds.len()).collect();
    let values = predict_finite(m, ds, &all)?;
    let rows: Vec<Vec<f64>> = ds.x.rows().into_iter().map(|r| r.to_vec()).collect();
    let bootstrap = crate::export::vmaf_bootstrap::scores(m, &rows)?;
    Ok(Predictions {
        loaded,
        values,
        intervals: m.prediction_intervals.clone(),
        bootstrap,
    })
}

impl Predictions<'_> {
    /// Rows scored that carry no MOS.
    pub fn unlabelled(&self) -> usize {
        let ds = &self.loaded.dataset;
        (0..ds.len()).filter(|&i| !ds.has_mos(i)).count()
    }

    /// Writes one record per row.
    pub fn write(&self, out: &mut dyn Write, format: RecordFormat) -> std::io::Result<()> {
        let scale = &self.loaded.adapter.descriptor.mos_scale;
        let intervals = self.intervals.as_ref();
        write_records(
            out,
            format,
            &self.loaded.dataset,
            &self.values,
            scale,
            intervals,
            self.bootstrap.as_deref(),
        )
    }
}

fn write_records(
    out: &mut dyn Write,
    format: RecordFormat,
    ds: &Dataset,
    pred: &[f64],
    scale: &MosScale,
    intervals: Option<&PredictionIntervalRecord>,
    bootstrap: Option<&[CollectionScore]>,
) -> std::io::Result<()> {
    if format == RecordFormat::Csv {
        match bootstrap {
            Some(_) => writeln!(out, "{CSV_HEADER},bagging,stddev,ci_p95_lo,ci_p95_hi")?,
            None => writeln!(out, "{CSV_HEADER}")?,
        }
    }
    for (i, &p) in pred.iter().enumerate() {
        let split = ds.split[i].map_or("", Split::as_str);
        let group = &ds.group_names[ds.group[i] as usize];
        let scale = ds.scale_of(i, scale);
        let native = scale.to_native(p);
        let mos = ds.has_mos(i).then(|| ds.mos[i]);
        let boot = bootstrap.and_then(|s| s.get(i));
        let bounds = intervals.map(|pi| {
            let (lo, hi) = pi.bounds(p);
            [lo, hi, scale.to_native(lo), scale.to_native(hi)]
        });
        match format {
            RecordFormat::Jsonl => {
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
                if let Some(b) = bounds {
                    for (k, v) in ["lo", "hi", "lo_native", "hi_native"].iter().zip(b) {
                        o.insert((*k).into(), v.into());
                    }
                }
                for (k, v) in boot.into_iter().flat_map(CollectionScore::named) {
                    o.insert(k.into(), v.into());
                }
                writeln!(out, "{}", serde_json::Value::Object(o))?;
            }
            RecordFormat::Csv => {
                let (y, yn) = mos.map_or((String::new(), String::new()), |y| {
                    (y.to_string(), scale.to_native(y).to_string())
                });
                let mut b = bounds.map_or_else(
                    || ",,,".to_owned(),
                    |[lo, hi, lon, hin]| format!("{lo},{hi},{lon},{hin}"),
                );
                for (_, v) in boot.into_iter().flat_map(CollectionScore::named) {
                    b.push_str(&format!(",{v}"));
                }
                writeln!(
                    out,
                    "{},{p},{native},{y},{yn},{split},{},{b}",
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
