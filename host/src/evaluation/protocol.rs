//! Running a validation policy: per fold, the head and its baselines are
//! fitted on the fold's training rows only and scored on its evaluation rows.
//!
//! Baselines, on the same folds:
//! - `mean`: the training-set mean MOS (the RMSE floor to beat; its
//!   correlations are undefined);
//! - `linear`: the bounded linear head (skipped when the head is linear);
//! - `ridge`: the ridge head with its penalty chosen on the fold's training
//!   rows (skipped when the head is ridge): the strongest cheap baseline on
//!   small corpora;
//! - the adapter's group baseline when it declares one (chug: the mean
//!   training MOS of the row's ladder rung; a key unseen in training gets
//!   the training mean).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::folds::Fold;
use super::summary::{evaluate, Metrics};
use crate::corpus::Dataset;
use crate::training::{FittedHead, HeadKind, HeadSpec, SolveReport, Status, TrainError};

/// One fold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// 0-based index.
    pub fold: usize,
    /// The fold's seed.
    pub seed: u64,
    /// Training rows.
    pub n_train: usize,
    /// Evaluation rows.
    pub n_eval: usize,
    /// Content groups on each side.
    pub groups_train: usize,
    /// Content groups evaluated.
    pub groups_eval: usize,
    /// The head's metrics.
    pub head: Metrics,
    /// Baseline metrics by name.
    pub baselines: BTreeMap<String, Metrics>,
    /// The head's solve.
    pub solve: SolveReport,
    /// `(prediction, MOS)` of each evaluation row (for plots; not in the manifest).
    #[serde(skip)]
    pub predictions: Vec<(f64, f64)>,
}

fn groups(ds: &Dataset, rows: &[usize]) -> usize {
    let mut g: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    g.sort_unstable();
    g.dedup();
    g.len()
}

/// The group-baseline predictions for `eval` rows, from `train` rows.
pub fn group_baseline(ds: &Dataset, train: &[usize], eval: &[usize]) -> Vec<f64> {
    let mut sums: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    let mut total = 0.0;
    for &i in train {
        total += ds.mos[i];
        if let Some(k) = ds.baseline[i] {
            let e = sums.entry(k).or_insert((0.0, 0));
            e.0 += ds.mos[i];
            e.1 += 1;
        }
    }
    let mean = total / train.len().max(1) as f64;
    eval.iter()
        .map(|&i| {
            ds.baseline[i]
                .and_then(|k| sums.get(&k))
                .map_or(mean, |(s, n)| s / *n as f64)
        })
        .collect()
}

/// Runs `spec` and the baselines over `folds`. `group_baseline_name` is the
/// adapter's group baseline, if it declares one.
pub fn run_folds(
    ds: &Dataset,
    folds: &[Fold],
    spec: &HeadSpec,
    group_baseline_name: Option<&str>,
    status: &Status,
) -> Result<Vec<(FoldResult, FittedHead)>, TrainError> {
    let x = ds.x.view();
    let mut out = Vec::with_capacity(folds.len());
    for f in folds {
        status.update(|| format!("fold {}/{}", f.index + 1, folds.len()));
        let (mos, se) = ds.targets(&f.eval);
        let head = spec.fit(x, &ds.mos, &ds.group, &f.train, f.seed, status)?;
        let pred = head.predict_rows(x, &f.eval);
        let mut baselines = BTreeMap::new();
        let train_mean =
            f.train.iter().map(|&i| ds.mos[i]).sum::<f64>() / f.train.len().max(1) as f64;
        baselines.insert(
            "mean".to_owned(),
            evaluate(&vec![train_mean; f.eval.len()], &mos, &se),
        );
        for kind in [HeadKind::Linear, HeadKind::Ridge] {
            if spec.kind != kind {
                let head =
                    HeadSpec::new(kind).fit(x, &ds.mos, &ds.group, &f.train, f.seed, status)?;
                baselines.insert(
                    kind.as_str().to_owned(),
                    evaluate(&head.predict_rows(x, &f.eval), &mos, &se),
                );
            }
        }
        if let Some(name) = group_baseline_name {
            if ds.baseline.iter().any(Option::is_some) {
                baselines.insert(
                    name.to_owned(),
                    evaluate(&group_baseline(ds, &f.train, &f.eval), &mos, &se),
                );
            }
        }
        let result = FoldResult {
            fold: f.index,
            seed: f.seed,
            n_train: f.train.len(),
            n_eval: f.eval.len(),
            groups_train: groups(ds, &f.train),
            groups_eval: groups(ds, &f.eval),
            head: evaluate(&pred, &mos, &se),
            baselines,
            solve: head.solve.clone(),
            predictions: pred.into_iter().zip(mos).collect(),
        };
        out.push((result, head));
    }
    status.clear();
    Ok(out)
}
