//! Validation as a library operation: a model scored on its corpus's
//! held-out `test` split with its gate applied ([`validate`]), or on
//! another adapter's corpus, every row, cross-corpus and without a gate
//! ([`validate_cross`]).

use std::path::PathBuf;

use moshead_protocol::Split;

use super::model::{check_columns, ScoringError};
use super::{align_scale, check_schema, predict_finite};
use crate::evaluation::gate::{self, GateReport};
use crate::evaluation::intervals::{metric_intervals, MetricIntervals, Scored, RESAMPLES};
use crate::evaluation::{aggregate, evaluate, Metrics};
use crate::ingest::{IngestRequest, Loaded};
use crate::manifest::Manifest;
use crate::registry::Adapter;
use crate::training::Status;

/// What to validate on.
#[derive(Debug, Clone)]
pub struct ValidateRequest<'a> {
    /// The model.
    pub manifest: &'a Manifest,
    /// The adapter whose rows are scored: the model's own
    /// ([`validate`]), or another ([`validate_cross`]).
    pub adapter: &'a Adapter,
    /// `(slot, path)` bindings of that adapter (its defaults when no row
    /// slot is bound).
    pub inputs: Vec<(String, PathBuf)>,
    /// Score the embedded demo corpus instead.
    pub demo: bool,
}

/// A model scored on its held-out test split.
pub struct HeldOut<'r> {
    /// The rows read and their report.
    pub loaded: Loaded<'r>,
    /// Rows of split `test`.
    pub test_rows: usize,
    /// The metrics on them.
    pub metrics: Metrics,
    /// Their 95% intervals: a cluster bootstrap over the test rows'
    /// contents, seeded by the model's training seed.
    pub intervals: MetricIntervals,
    /// The gate, applied to those metrics (no spread: one held-out set).
    pub gate: GateReport,
}

/// A model scored on another adapter's corpus.
pub struct CrossScore<'r> {
    /// The rows read and their report.
    pub loaded: Loaded<'r>,
    /// The metrics on every row, predictions taken to the other corpus's
    /// scale ([`align_scale`]).
    pub metrics: Metrics,
    /// RMSE on the other corpus's native scale.
    pub rmse_native: Option<f64>,
    /// RMSE after the logistic map, on that native scale.
    pub rmse_mapped_native: Option<f64>,
}

/// Reads the labelled rows `req` binds, on the model's schema, and checks
/// the model's feature order against them (`validate`, `compare`).
pub(super) fn load<'r>(
    req: &ValidateRequest<'r>,
    status: &Status,
) -> Result<Loaded<'r>, ScoringError> {
    let m = req.manifest;
    let ingest = IngestRequest {
        inputs: req.inputs.clone(),
        demo: req.demo,
        schema: Some(m.feature_schema.clone()),
        include_references: m.data.include_references,
        strict: false,
        unlabelled: false,
        subjective_model: m.data.subjective_model(),
    };
    let loaded = crate::ingest::load(req.adapter, &ingest, status)?;
    check_columns(m, &loaded.dataset)?;
    Ok(loaded)
}

fn too_few(what: String, loaded: Loaded<'_>) -> ScoringError {
    ScoringError::TooFewRows {
        what,
        adapter: loaded.adapter.name().to_owned(),
        report: Box::new(loaded.report),
    }
}

/// Scores the model on the `test` rows of its own adapter's corpus and
/// applies the adapter's gate.
pub fn validate<'r>(
    req: &ValidateRequest<'r>,
    status: &Status,
) -> Result<HeldOut<'r>, ScoringError> {
    let loaded = load(req, status)?;
    let ds = &loaded.dataset;
    let test = ds.rows_in(Split::Test);
    if test.is_empty() {
        let what = format!(
            "no rows carry split `test`: there is no held-out set to validate on ({} rows read). \
             Hold test rows out when training: a split column (`train` / `val` / `test`; a study \
             file's `columns.split`), or named test contents (a study file's \
             `split.test_contents`); or score these rows with `moshead predict`, or another \
             corpus with `validate --adapter OTHER`",
            ds.len()
        );
        return Err(too_few(what, loaded));
    }
    let pred = predict_finite(req.manifest, ds, &test)?;
    let (mos, se) = ds.targets(&test);
    let metrics = evaluate(&pred, &mos, &se);
    let to_native = |v: &[f64]| -> Vec<f64> {
        test.iter()
            .zip(v)
            .map(|(&i, &x)| {
                ds.scale_of(i, &req.adapter.descriptor.mos_scale)
                    .to_native(x)
            })
            .collect()
    };
    let (pred_native, mos_native) = (to_native(&pred), to_native(&mos));
    let groups: Vec<u32> = test.iter().map(|&i| ds.group[i]).collect();
    let scored = Scored {
        pred: &pred,
        mos: &mos,
        native: Some((&pred_native, &mos_native)),
        groups: &groups,
    };
    let intervals = metric_intervals(&scored, req.manifest.training.seed, RESAMPLES);
    // One held-out set: no fold spread.
    let gate = gate::judge(
        &req.adapter.descriptor.gate,
        ds.synthetic,
        &aggregate(std::slice::from_ref(&metrics)),
        true,
    );
    Ok(HeldOut {
        test_rows: test.len(),
        loaded,
        metrics,
        intervals,
        gate,
    })
}

/// Scores the model, trained through `own`, on every row `req.adapter`
/// (another adapter offering the model's schema) reads.
pub fn validate_cross<'r>(
    req: &ValidateRequest<'r>,
    own: &Adapter,
    status: &Status,
) -> Result<CrossScore<'r>, ScoringError> {
    let (m, other) = (req.manifest, req.adapter);
    check_schema(&other.descriptor, m)?;
    let loaded = load(req, status)?;
    let ds = &loaded.dataset;
    if ds.len() < 2 {
        let what = format!(
            "adapter `{}` projected {} row(s): too few to score the model on",
            other.name(),
            ds.len()
        );
        return Err(too_few(what, loaded));
    }
    let rows: Vec<usize> = (0..ds.len()).collect();
    let (from, to) = (&own.descriptor.mos_scale, &other.descriptor.mos_scale);
    let pred: Vec<f64> = predict_finite(m, ds, &rows)?
        .into_iter()
        .map(|p| align_scale(from, to, p))
        .collect();
    let (mos, se) = ds.targets(&rows);
    let metrics = evaluate(&pred, &mos, &se);
    let native = |v: Option<f64>| v.map(|r| r / to.to_head_scale);
    Ok(CrossScore {
        rmse_native: native(metrics.rmse),
        rmse_mapped_native: native(metrics.rmse_mapped),
        loaded,
        metrics,
    })
}
