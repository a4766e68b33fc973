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
//! - `best-input`: the best single feature, linearly mapped
//!   ([`best_input_baseline`]);
//! - each head type's further baselines (the SVR's: `vmaf-recipe`, VMAF's
//!   own training recipe);
//! - the adapter's group baseline when it declares one (chug: the mean
//!   training MOS of the row's ladder rung; a key unseen in training gets
//!   the training mean).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::corpus::Dataset;
use crate::evaluation::folds::{distinct_groups as groups, Fold};
use crate::evaluation::rows::OofRow;
use crate::evaluation::{evaluate, Metrics};
use crate::selection::{HeadChoice, SelectionRecord};
use crate::training::heads::input::BestInput;
use crate::training::{FittedHead, HeadKind, HeadSpec, SolveReport, Status, TrainError};
use moshead_protocol::MosScale;

/// One fold's outcome, in memory: its metrics and solve (recorded in the
/// manifest as a [`crate::manifest::FoldRecord`]) and its out-of-fold
/// predictions (written to the validation sidecar, and pooled).
#[derive(Debug, Clone, PartialEq)]
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
    /// How this fold's head was chosen by inner CV on the fold's training
    /// rows (`--head auto`, or a small corpus's stopping and decay).
    pub selection: Option<SelectionRecord>,
    /// Each evaluation row's out-of-fold prediction, in evaluation order.
    pub predictions: Vec<OofRow>,
    /// The evaluation rows' MOS standard errors, in the same order (for
    /// the pooled outlier ratio).
    pub eval_se: Vec<Option<f64>>,
    /// Each baseline's predictions of the evaluation rows, in the same
    /// order (for the pooled baselines).
    pub baseline_predictions: BTreeMap<String, Vec<f64>>,
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

/// The name of the best-single-input baseline.
pub const BEST_INPUT: &str = "best-input";

/// The best single input, linearly mapped ([`BestInput`], the `input`
/// head's choice): the feature column whose Pearson correlation with the
/// MOS of the `train` rows is largest in magnitude (the first such column
/// on a tie), fitted to those rows by least squares, predicting the `eval`
/// rows (unclipped). Chosen on the training rows
/// alone, like every baseline. `None` when no column varies over `train`.
/// A head that fuses its inputs should beat this; VMAF's own score among
/// the inputs makes it VMAF remapped to the corpus.
pub fn best_input_baseline(ds: &Dataset, train: &[usize], eval: &[usize]) -> Option<Vec<f64>> {
    let best = BestInput::choose(ds.x.view(), &ds.mos, train)?;
    Some(
        eval.iter()
            .map(|&i| best.map(ds.x[[i, best.column]]))
            .collect(),
    )
}

/// The out-of-fold rows of `eval` with their predictions `pred`.
pub fn oof_rows(ds: &Dataset, eval: &[usize], pred: &[f64], adapter: &MosScale) -> Vec<OofRow> {
    eval.iter()
        .zip(pred)
        .map(|(&i, &p)| {
            let native = ds.scale_of(i, adapter);
            OofRow {
                id: ds.ids[i].to_owned(),
                group: ds.group_names[ds.group[i] as usize].to_owned(),
                split: ds.split[i].map(|s| s.as_str().to_owned()),
                mos: ds.mos[i],
                prediction: p,
                mos_native: Some(native.to_native(ds.mos[i])),
                prediction_native: Some(native.to_native(p)),
                mos_se: ds.se[i],
            }
        })
        .collect()
}

/// Runs `choice` and the baselines over `folds`. `group_baseline_name` is the
/// adapter's group baseline, if it declares one; `native` (the adapter's MOS
/// scale) maps the head's scale back to the native one for the out-of-fold
/// rows of slots without a scale of their own.
pub fn run_folds(
    ds: &Dataset,
    folds: &[Fold],
    choice: &HeadChoice,
    group_baseline_name: Option<&str>,
    native: &MosScale,
    status: &Status,
) -> Result<Vec<(FoldResult, FittedHead)>, TrainError> {
    // Folds run in parallel; their results are collected in fold order
    // (and the first failing fold's error is the one returned), so nothing
    // depends on the thread count.
    let results: Vec<Result<(FoldResult, FittedHead), TrainError>> = folds
        .par_iter()
        .map(|f| {
            run_fold(
                ds,
                f,
                folds.len(),
                choice,
                group_baseline_name,
                native,
                status,
            )
        })
        .collect();
    status.clear();
    results.into_iter().collect()
}

/// One fold of [`run_folds`]: the head chosen and fitted on its training
/// rows, the baselines beside it, all scored on its evaluation rows.
fn run_fold(
    ds: &Dataset,
    f: &Fold,
    n_folds: usize,
    choice: &HeadChoice,
    group_baseline_name: Option<&str>,
    native: &MosScale,
    status: &Status,
) -> Result<(FoldResult, FittedHead), TrainError> {
    let x = ds.x.view();
    status.update(|| format!("fold {}/{}", f.index + 1, n_folds));
    let (mos, se) = ds.targets(&f.eval);
    let (head, selection) = choice.fit(ds, &f.train, f.seed, status)?;
    let pred = head.predict_rows(x, &f.eval);
    let mut baseline_predictions = BTreeMap::new();
    let train_mean = f.train.iter().map(|&i| ds.mos[i]).sum::<f64>() / f.train.len().max(1) as f64;
    baseline_predictions.insert("mean".to_owned(), vec![train_mean; f.eval.len()]);
    for kind in HeadKind::ALL.into_iter().filter(|k| k.head().baseline()) {
        if !matches!(choice, HeadChoice::Fixed(s) if s.kind == kind) {
            let head = HeadSpec::new(kind).fit(x, &ds.mos, &ds.group, &f.train, f.seed, status)?;
            baseline_predictions.insert(kind.as_str().to_owned(), head.predict_rows(x, &f.eval));
        }
    }
    for kind in HeadKind::ALL {
        for (name, spec) in kind.head().extra_baselines() {
            let head = spec.fit(x, &ds.mos, &ds.group, &f.train, f.seed, status)?;
            baseline_predictions.insert(name.to_owned(), head.predict_rows(x, &f.eval));
        }
    }
    if let Some(p) = best_input_baseline(ds, &f.train, &f.eval) {
        baseline_predictions.insert(BEST_INPUT.to_owned(), p);
    }
    if let Some(name) = group_baseline_name {
        if ds.baseline.iter().any(Option::is_some) {
            baseline_predictions.insert(name.to_owned(), group_baseline(ds, &f.train, &f.eval));
        }
    }
    let baselines = baseline_predictions
        .iter()
        .map(|(name, p)| (name.clone(), evaluate(p, &mos, &se)))
        .collect();
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
        selection,
        predictions: oof_rows(ds, &f.eval, &pred, native),
        eval_se: se,
        baseline_predictions,
    };
    Ok((result, head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_best_input_is_chosen_on_training_rows_and_mapped_by_least_squares() {
        // f0: noise; f1: 2 * MOS + 1 exactly on the training rows, but
        // unrelated on the evaluation rows; f2: constant (undefined r).
        let mos = [1.0, 2.0, 3.0, 4.0, 5.0, 3.0, 2.0];
        let noise = [0.3, -0.1, 0.4, 0.0, 0.2, 0.9, 0.5];
        let mut x = Array2::zeros((7, 3));
        for i in 0..7 {
            x[[i, 0]] = noise[i];
            x[[i, 1]] = if i < 5 { 2.0 * mos[i] + 1.0 } else { 4.0 };
            x[[i, 2]] = 7.0;
        }
        let ds = Dataset::for_tests(x, mos.to_vec(), vec![0, 1, 2, 3, 4, 5, 6]);
        let p = best_input_baseline(&ds, &[0, 1, 2, 3, 4], &[5, 6]).unwrap();
        // f1 = 4 maps back to MOS 1.5 for both evaluation rows.
        for v in p {
            assert!((v - 1.5).abs() < 1e-12, "{v}");
        }
        // A negative correlation is as good: the map flips it.
        let mut x = Array2::zeros((4, 1));
        for (i, v) in [8.0, 6.0, 4.0, 2.0].into_iter().enumerate() {
            x[[i, 0]] = v;
        }
        let ds = Dataset::for_tests(x, vec![1.0, 2.0, 3.0, 4.0], vec![0, 1, 2, 3]);
        let p = best_input_baseline(&ds, &[0, 1, 2], &[3]).unwrap();
        assert!((p[0] - 4.0).abs() < 1e-12);
        // No column varies over the training rows: no baseline.
        let x = Array2::from_elem((3, 2), 1.0);
        let ds = Dataset::for_tests(x, vec![1.0, 2.0, 3.0], vec![0, 1, 2]);
        assert!(best_input_baseline(&ds, &[0, 1], &[2]).is_none());
    }
}
