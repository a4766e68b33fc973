//! The training pipeline as a library operation: from a projected corpus,
//! a head choice and a validation policy to the run's [`Manifest`] and its
//! out-of-fold predictions ([`Trained`]).
//!
//! [`train`] builds the folds, validates the choice on each (with the
//! baselines), trains the ship model, aggregates and pools the metrics,
//! applies the adapter's gate and builds the manifest, in that one place.
//! Progress goes to a [`Status`] observer; nothing is printed or written:
//! the caller (the `moshead train` command) commits the manifest and its
//! exports and reports the run.

use std::collections::BTreeMap;

use crate::corpus::{Dataset, IngestReport};
use crate::evaluation::folds::{self, FoldError, Policy, PolicyKind};
use crate::evaluation::gate;
use crate::evaluation::{aggregate, Aggregate, Metrics};
use crate::manifest::{
    AdapterRecord, ContextRecord, DataRecord, FoldRecord, HeadRecord, HostRecord, Manifest,
    ModelKind, TrainedOn, TrainingRecord, ValidationRecord, MANIFEST_SCHEMA,
};
use crate::registry::Adapter;
use crate::selection::HeadChoice;
use crate::training::{Status, TrainError};
use crate::validation::oof::{self, OofPredictions};
use crate::validation::protocol::{run_folds, FoldResult};

/// What one training run is asked to do.
#[derive(Debug)]
pub struct TrainRequest<'a> {
    /// The adapter that projected the rows.
    pub adapter: &'a Adapter,
    /// The projected rows.
    pub dataset: &'a Dataset,
    /// How they were read (recorded in the manifest).
    pub report: &'a IngestReport,
    /// The head, or `auto`'s candidates.
    pub choice: &'a HeadChoice,
    /// The validation policy (its seed is the run's).
    pub policy: Policy,
    /// The model id.
    pub model_id: String,
    /// Whether reference rows were kept.
    pub include_references: bool,
    /// The command line recorded in the manifest.
    pub command_line: Vec<String>,
    /// The nominal coverage of the per-clip prediction intervals
    /// ([`crate::evaluation::conformal`]).
    pub coverage: f64,
}

/// Why a corpus cannot be trained on with an honest validation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UnfitCorpus {
    /// No row was projected.
    #[error("no rows to train on: {dropped} row(s) were dropped and none projected (see `moshead corpus`)")]
    Empty {
        /// Rows dropped.
        dropped: u64,
    },
    /// Every row is of one content group.
    #[error("all {rows} rows belong to one content group (`{group}`): content-disjoint validation is impossible")]
    OneGroup {
        /// Rows.
        rows: usize,
        /// The group.
        group: String,
    },
    /// Every MOS is the same.
    #[error("every MOS equals {0}: there is nothing to learn")]
    ConstantMos(f64),
    /// A projected value is not finite.
    #[error("row {row} ({id}) has a non-finite value in `{column}` after projection")]
    NonFinite {
        /// 0-based row.
        row: usize,
        /// Its id.
        id: String,
        /// The column.
        column: String,
    },
    /// Synthetic and real rows are mixed.
    #[error("{synthetic} of {rows} rows are synthetic: synthetic and real rows cannot be mixed in one run")]
    MixedSynthetic {
        /// Synthetic rows.
        synthetic: u64,
        /// Rows.
        rows: usize,
    },
}

/// Refuses corpora no honest validation can use (checked by [`train`]
/// too; a caller may check first, before it prepares any output).
pub fn check_corpus(ds: &Dataset, report: &IngestReport) -> Result<(), UnfitCorpus> {
    if ds.is_empty() {
        return Err(UnfitCorpus::Empty {
            dropped: report.dropped(),
        });
    }
    if ds.group_names.len() < 2 {
        return Err(UnfitCorpus::OneGroup {
            rows: ds.len(),
            group: ds.group_names.first().unwrap_or("").to_owned(),
        });
    }
    if ds.mos.iter().all(|m| *m == ds.mos[0]) {
        return Err(UnfitCorpus::ConstantMos(ds.mos[0]));
    }
    if let Some((i, j)) = (0..ds.len()).find_map(|i| {
        ds.x.row(i)
            .iter()
            .position(|v| !v.is_finite())
            .map(|j| (i, j))
    }) {
        return Err(UnfitCorpus::NonFinite {
            row: i,
            id: ds.ids[i].to_owned(),
            column: ds.columns[j].clone(),
        });
    }
    if report.synthetic_rows > 0 && !ds.synthetic {
        return Err(UnfitCorpus::MixedSynthetic {
            synthetic: report.synthetic_rows,
            rows: ds.len(),
        });
    }
    Ok(())
}

/// Why a training run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The corpus cannot be trained on.
    #[error(transparent)]
    Corpus(#[from] UnfitCorpus),
    /// The policy's folds cannot be built on these rows.
    #[error(transparent)]
    Folds(#[from] FoldError),
    /// A head could not be trained.
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// What a training run produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The run's manifest (with no exports yet).
    pub manifest: Manifest,
    /// The validation's out-of-fold rows (for the sidecar and the plot).
    pub predictions: OofPredictions,
}

/// Runs the validation and trains the ship model; returns the manifest of
/// the run (with no exports yet) and its out-of-fold predictions.
pub fn train(req: &TrainRequest<'_>, status: &Status) -> Result<Trained, PipelineError> {
    let (ds, d, policy, choice) = (
        req.dataset,
        &req.adapter.descriptor,
        &req.policy,
        req.choice,
    );
    check_corpus(ds, req.report)?;
    let fold_list = folds::make_folds(ds, policy)?;
    let baseline_name = d.group_baseline.as_ref().map(|b| b.name.as_str());
    let results = run_folds(ds, &fold_list, choice, baseline_name, &d.mos_scale, status)?;

    // The ship model: the explicit fold's head (same rows, same seed), or a
    // refit on every non-test row.
    let (trained_on, ship_rows, ship, ship_selection) = match policy.kind {
        PolicyKind::Explicit => {
            let rows = fold_list[0].train.len();
            let head = results[0].1.clone();
            let selection = results[0].0.selection.clone();
            (TrainedOn::TrainRows, rows, head, selection)
        }
        _ => {
            let rows = folds::eligible(ds);
            status.update(|| "ship model".into());
            let (head, selection) = choice.fit(ds, &rows, policy.seed, status)?;
            (TrainedOn::AllNonTestRows, rows.len(), head, selection)
        }
    };
    let mut fold_results: Vec<FoldResult> = results.into_iter().map(|(r, _)| r).collect();
    let pooled = oof::pooled(&fold_results, policy.seed);
    let pooled_rows = oof::PooledRows::of(&fold_results);
    let head_metrics: Vec<Metrics> = fold_results.iter().map(|r| r.head.clone()).collect();
    let agg = aggregate(&head_metrics);
    let mut baselines: BTreeMap<String, Aggregate> = BTreeMap::new();
    for name in fold_results[0].baselines.keys() {
        let ms: Vec<Metrics> = fold_results
            .iter()
            .filter_map(|r| r.baselines.get(name).cloned())
            .collect();
        baselines.insert(name.clone(), aggregate(&ms));
    }
    let verdict = gate::judge(&d.gate, ds.synthetic, &agg, false);
    let r = req.report;
    let libvmaf_names = d
        .schema(&ds.schema)
        .map(|s| s.libvmaf_names.clone())
        .unwrap_or_default();
    let manifest = Manifest {
        manifest_schema: MANIFEST_SCHEMA.into(),
        id: req.model_id.clone(),
        adapter_model_id: d.model_id.clone(),
        kind: ModelKind::Mos,
        adapter: AdapterRecord {
            name: d.name.clone(),
            version: d.version.clone(),
            api_version: req.adapter.api_version.to_string(),
            sha256: req.adapter.sha256.clone(),
            description: d.description.clone(),
            licence: d.licence.clone(),
            mos_scale: Some(d.mos_scale.clone()),
            libvmaf_names: Some(libvmaf_names),
            card: d.card.clone(),
            study: req.adapter.study.as_ref().map(Into::into),
        },
        host: HostRecord {
            name: "moshead".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        feature_schema: ds.schema.clone(),
        feature_order: ds.columns.clone(),
        standardization: (&ship.standardizer).into(),
        mos_range: [1.0, 5.0],
        head: HeadRecord {
            spec: (&ship.spec).into(),
            n_parameters: ship.params.len(),
            parameters: ship.params.clone(),
        },
        training: TrainingRecord {
            seed: policy.seed,
            trained_on,
            n_rows: ship_rows,
            n_fit: ship.n_fit,
            n_monitor: ship.n_monitor,
            solve: (&ship.solve).into(),
            selection: ship_selection,
            trained_for: None,
        },
        validation: ValidationRecord {
            name: policy.name(),
            policy: policy.clone(),
            folds: fold_results.iter().map(FoldRecord::from).collect(),
            aggregate: agg,
            baselines,
            pooled,
            native_rmse: BTreeMap::new(),
        },
        gate: verdict,
        data: DataRecord {
            synthetic: ds.synthetic,
            rows: r.rows,
            dropped: r.dropped(),
            drops: r.drops.iter().map(|(k, v)| (k.clone(), v.count)).collect(),
            splits: r.splits.clone(),
            groups: r.groups,
            include_references: req.include_references,
            inputs: r.inputs.clone(),
            context: r
                .context
                .iter()
                .map(|(slot, path, sha256)| ContextRecord {
                    slot: slot.clone(),
                    path: path.clone(),
                    sha256: sha256.clone(),
                })
                .collect(),
            filled: r.fills(),
            mos_scales: r.mos_scales(d),
            subjective: r.subjective.clone(),
            each_row_content: DataRecord::each_row_statement(r.rows, r.groups),
            frame_pooling: r
                .inputs
                .iter()
                .any(|i| {
                    d.slot(&i.slot).is_some_and(|s| {
                        s.formats
                            .contains(&moshead_protocol::descriptor::Format::LibvmafLog)
                    })
                })
                .then(|| crate::manifest::FRAME_POOLING.to_owned()),
        },
        exports: BTreeMap::new(),
        prediction_intervals: crate::evaluation::conformal::calibrate(
            &fold_results
                .iter()
                .map(|f| f.predictions.clone())
                .collect::<Vec<_>>(),
            req.coverage,
        ),
        command_line: req.command_line.clone(),
        bootstrap: None,
        warnings: Vec::new(),
    };
    let schemas: Vec<(String, Vec<String>)> = d
        .schemas
        .iter()
        .map(|s| (s.name.clone(), s.columns.clone()))
        .collect();
    let mut manifest = manifest;
    manifest.validation.native_rmse =
        crate::manifest::native_rmse(&manifest.data.mos_scales, &manifest.validation);
    manifest.warnings = crate::manifest::warnings::of(&manifest, &schemas, pooled_rows.as_ref());
    Ok(Trained {
        manifest,
        predictions: OofPredictions::take(&mut fold_results),
    })
}
