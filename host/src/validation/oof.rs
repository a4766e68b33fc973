//! Out-of-fold predictions and their pooled metrics.
//!
//! Every evaluation row of every fold yields one [`OofRow`]: which clip it
//! is, its content group, its corpus split label, the MOS and the head's
//! prediction on the head's 1-5 scale and on the native scale of the slot it was
//! read through (the slot's own, else the adapter's).
//! They are written to `<model_id>_validation.jsonl`.
//!
//! [`pooled`] computes the metrics of all out-of-fold predictions taken
//! together, as leave-one-content-out results are published: with k-fold
//! and explicit validation every row is predicted exactly once, by the one
//! fold that held it out, so the pooled metrics are those of a single
//! prediction per row. With repeated splits a row is pooled once per split
//! that held it out. Pooled figures differ from the mean over folds: a
//! fold of one content has a tiny MOS range (its PLCC says little), and the
//! pooled correlation also rewards getting the level of each content right.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::protocol::FoldResult;
use crate::evaluation::intervals::{metric_intervals, MetricIntervals, Scored, RESAMPLES};
pub use crate::evaluation::rows::OofRow;
use crate::evaluation::{evaluate, Metrics};

/// The metrics of the pooled out-of-fold predictions: the head's and each
/// baseline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pooled {
    /// Out-of-fold predictions pooled (rows, counted once per fold that
    /// evaluated them).
    pub n: usize,
    /// Whether every row was predicted exactly once (k-fold, explicit).
    pub each_row_once: bool,
    /// The head's pooled metrics.
    pub head: Metrics,
    /// Each baseline's pooled metrics, on the same rows.
    pub baselines: BTreeMap<String, Metrics>,
    /// 95% confidence intervals of the head's pooled metrics (absent in
    /// manifests written before they were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intervals: Option<MetricIntervals>,
    /// The same intervals of each baseline's pooled metrics, from the same
    /// resamples (head scale only: a baseline has no native-scale
    /// predictions recorded). Absent in manifests written before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub baseline_intervals: BTreeMap<String, MetricIntervals>,
}

/// The out-of-fold rows of a validation, per fold in fold order (the
/// manifest's `validation.folds`): what the validation sidecar, the
/// predicted-vs-MOS plot and the pooled metrics are made of. A fresh run
/// has them ([`OofPredictions::take`]); a manifest read back has them when
/// its sidecar is read too.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OofPredictions {
    /// Each fold's rows, in evaluation order.
    pub folds: Vec<Vec<OofRow>>,
}

impl OofPredictions {
    /// The predictions of `folds`, taken out of them.
    pub fn take(folds: &mut [FoldResult]) -> Self {
        OofPredictions {
            folds: folds
                .iter_mut()
                .map(|f| std::mem::take(&mut f.predictions))
                .collect(),
        }
    }
}

/// The pooled out-of-fold rows of a validation, as flat columns: the
/// head's predictions, each baseline's on the same rows, the MOS, its
/// standard errors and each row's content group. What the pooled metrics
/// and the warnings' paired tests of a head against its rivals are made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PooledRows {
    /// The head's predictions (head scale), fold after fold.
    pub head: Vec<f64>,
    /// The MOS of each row (head scale).
    pub mos: Vec<f64>,
    /// Each row's MOS standard error, where known.
    pub se: Vec<Option<f64>>,
    /// Each row's content group, numbered in order of appearance.
    pub groups: Vec<u32>,
    /// Each baseline's predictions on the same rows (a baseline some fold
    /// lacks is left out).
    pub baselines: BTreeMap<String, Vec<f64>>,
}

impl PooledRows {
    /// The number of content groups among the rows.
    pub fn contents(&self) -> usize {
        self.groups.iter().max().map_or(0, |&g| g as usize + 1)
    }

    /// The rows of `folds` (each fold's [`FoldResult::predictions`] and
    /// baseline predictions). `None` when a fold carries no predictions.
    pub fn of(folds: &[FoldResult]) -> Option<Self> {
        if folds.is_empty()
            || folds
                .iter()
                .any(|f| f.n_eval == 0 || f.predictions.len() != f.n_eval)
        {
            return None;
        }
        let n: usize = folds.iter().map(|f| f.n_eval).sum();
        let rows = || folds.iter().flat_map(|f| f.predictions.iter());
        let mut se: Vec<Option<f64>> = folds
            .iter()
            .flat_map(|f| f.eval_se.iter().copied())
            .collect();
        if se.len() != n {
            se = vec![None; n];
        }
        let mut keys: BTreeMap<&str, u32> = BTreeMap::new();
        let groups: Vec<u32> = rows()
            .map(|r| {
                let next = keys.len() as u32;
                *keys.entry(r.group.as_str()).or_insert(next)
            })
            .collect();
        let mut baselines = BTreeMap::new();
        for name in folds[0].baseline_predictions.keys() {
            let mut b = Vec::with_capacity(n);
            for f in folds {
                match f.baseline_predictions.get(name) {
                    Some(p) if p.len() == f.n_eval => b.extend_from_slice(p),
                    _ => break,
                }
            }
            if b.len() == n {
                baselines.insert(name.clone(), b);
            }
        }
        Some(PooledRows {
            head: rows().map(|r| r.prediction).collect(),
            mos: rows().map(|r| r.mos).collect(),
            se,
            groups,
            baselines,
        })
    }
}

/// Pools the out-of-fold predictions of `folds` ([`PooledRows::of`]) and
/// scores them, with the head's metrics' cluster-bootstrap intervals over
/// the rows' content groups, resampled from `seed`. `None` when a fold
/// carries no predictions.
pub fn pooled(folds: &[FoldResult], seed: u64) -> Option<Pooled> {
    let PooledRows {
        head: pred,
        mos,
        se,
        groups,
        baselines: baseline_rows,
    } = PooledRows::of(folds)?;
    let n = pred.len();
    let rows = || folds.iter().flat_map(|f| f.predictions.iter());
    let mut baselines = BTreeMap::new();
    let mut baseline_intervals = BTreeMap::new();
    for (name, b) in &baseline_rows {
        baselines.insert(name.clone(), evaluate(b, &mos, &se));
        let scored = Scored {
            pred: b,
            mos: &mos,
            native: None,
            groups: &groups,
        };
        baseline_intervals.insert(name.clone(), metric_intervals(&scored, seed, RESAMPLES));
    }
    let mut ids: Vec<&str> = folds
        .iter()
        .flat_map(|f| f.predictions.iter().map(|r| r.id.as_str()))
        .collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    let native: Option<(Vec<f64>, Vec<f64>)> = rows()
        .map(|r| Some((r.prediction_native?, r.mos_native?)))
        .collect();
    let scored = Scored {
        pred: &pred,
        mos: &mos,
        native: native.as_ref().map(|(p, y)| (p.as_slice(), y.as_slice())),
        groups: &groups,
    };
    Some(Pooled {
        n,
        each_row_once: ids.len() == before,
        head: evaluate(&pred, &mos, &se),
        baselines,
        intervals: Some(metric_intervals(&scored, seed, RESAMPLES)),
        baseline_intervals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::SolveReport;

    fn fold(index: usize, rows: &[(&str, f64, f64)], mean: f64) -> FoldResult {
        let predictions: Vec<OofRow> = rows
            .iter()
            .map(|&(id, prediction, mos)| OofRow {
                id: id.into(),
                group: id.into(),
                split: None,
                mos,
                prediction,
                mos_native: Some(mos),
                prediction_native: Some(prediction),
                mos_se: None,
            })
            .collect();
        let n = predictions.len();
        let head = evaluate(
            &predictions.iter().map(|r| r.prediction).collect::<Vec<_>>(),
            &predictions.iter().map(|r| r.mos).collect::<Vec<_>>(),
            &vec![None; n],
        );
        FoldResult {
            fold: index,
            seed: 0,
            n_train: 1,
            n_eval: n,
            groups_train: 1,
            groups_eval: n,
            head,
            baselines: BTreeMap::new(),
            solve: SolveReport {
                converged: true,
                ..SolveReport::default()
            },
            selection: None,
            predictions,
            eval_se: vec![None; n],
            baseline_predictions: [("mean".to_owned(), vec![mean; n])].into(),
        }
    }

    #[test]
    fn pooled_metrics_match_a_hand_computation() {
        // Fold 0: predictions 2, 3, 4 against MOS 1, 3, 2.
        // Fold 1: predictions 4, 5 against MOS 5, 4.
        let folds = [
            fold(0, &[("a", 2.0, 1.0), ("b", 3.0, 3.0), ("c", 4.0, 2.0)], 3.0),
            fold(1, &[("d", 4.0, 5.0), ("e", 5.0, 4.0)], 2.0),
        ];
        let p = pooled(&folds, 0).unwrap();
        assert_eq!(p.n, 5);
        assert!(p.each_row_once);
        // Pooled: x = 2,3,4,4,5 (mean 3.6), y = 1,3,2,5,4 (mean 3).
        // dx = -1.6,-0.6,0.4,0.4,1.4; dy = -2,0,-1,2,1.
        // Sxy = 3.2 + 0 - 0.4 + 0.8 + 1.4 = 5.0
        // Sxx = 2.56 + 0.36 + 0.16 + 0.16 + 1.96 = 5.2; Syy = 4+0+1+4+1 = 10.
        // PLCC = 5 / sqrt(52).
        let plcc = 5.0 / 52.0_f64.sqrt();
        assert!((p.head.plcc.unwrap() - plcc).abs() < 1e-12);
        // Ranks of x: 1, 2, 3.5, 3.5, 5 (mean 3); of y: 1, 3, 2, 5, 4.
        // dx = -2,-1,0.5,0.5,2; dy = -2,0,-1,2,1.
        // Sxy = 4 + 0 - 0.5 + 1 + 2 = 6.5; Sxx = 4+1+0.25+0.25+4 = 9.5; Syy = 10.
        let srocc = 6.5 / 95.0_f64.sqrt();
        assert!((p.head.srocc.unwrap() - srocc).abs() < 1e-12);
        // Errors: 1, 0, 2, -1, 1: MSE = 7 / 5.
        assert!((p.head.rmse.unwrap() - (7.0_f64 / 5.0).sqrt()).abs() < 1e-12);
        // Intervals over the five contents (one row each); native = head
        // scale here.
        let ci = p.intervals.as_ref().unwrap();
        assert_eq!(ci.contents, 5);
        assert_eq!(
            ci.plcc_fisher_z,
            crate::evaluation::intervals::fisher_z(p.head.plcc.unwrap(), 5)
        );
        assert_eq!(ci.rmse_native, p.head.rmse);
        let r = ci.rmse.unwrap();
        assert!(r.lo <= p.head.rmse.unwrap() && p.head.rmse.unwrap() <= r.hi);
        // The mean baseline: 3, 3, 3, 2, 2 against 1, 3, 2, 5, 4:
        // errors 2, 0, 1, -3, -2: MSE = 18 / 5. Its PLCC: x mean 2.6,
        // dx = .4,.4,.4,-.6,-.6; Sxy = -.8+0-.4-1.2-.6 = -3, Sxx = 1.2.
        // The baselines get intervals from the same resamples: the mean
        // baseline's RMSE interval holds its RMSE; no native figures.
        let bci = &p.baseline_intervals["mean"];
        assert_eq!(bci.contents, 5);
        assert_eq!(bci.rmse_native, None);
        let want = metric_intervals(
            &Scored {
                pred: &[3.0, 3.0, 3.0, 2.0, 2.0],
                mos: &[1.0, 3.0, 2.0, 5.0, 4.0],
                native: None,
                groups: &[0, 1, 2, 3, 4],
            },
            0,
            RESAMPLES,
        );
        assert_eq!(*bci, want);
        let mean = &p.baselines["mean"];
        assert!((mean.rmse.unwrap() - (18.0_f64 / 5.0).sqrt()).abs() < 1e-12);
        assert!((mean.plcc.unwrap() - -3.0 / 12.0_f64.sqrt()).abs() < 1e-12);
        // Fold 1 alone has PLCC -1: the mean over folds differs from pooled.
        assert!((folds[1].head.plcc.unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn repeated_rows_and_missing_predictions() {
        let folds = [
            fold(0, &[("a", 2.0, 1.0), ("b", 3.0, 3.0)], 3.0),
            fold(1, &[("a", 2.5, 1.0), ("c", 4.0, 4.0)], 2.0),
        ];
        let p = pooled(&folds, 0).unwrap();
        assert_eq!(p.n, 4);
        assert!(!p.each_row_once, "row a was evaluated twice");
        let mut bare = folds[0].clone();
        bare.predictions.clear();
        assert_eq!(pooled(&[bare], 0), None);
        assert_eq!(pooled(&[], 0), None);
    }
}
