//! The inner-CV score of the mean of SVRs ([`super::Candidate::mean_of_widths`]).
//!
//! Its members are one SVR per RBF width among the candidates of a grid
//! over widths (those with a [`super::Candidate::gamma_per_feature`]):
//! of every combination of one scored `C` per width, the one whose mean
//! has the lowest RMSE of the pooled inner out-of-fold predictions (ties
//! to the earlier combination; widths in increasing gamma, the first
//! width's `C` varying fastest). Its inner prediction of a row is the mean
//! of its members'. No extra fit is needed: the members' inner predictions
//! are the ones the table already holds, and at most 4^3 combinations are
//! scored. (Each member's predictions are clipped to 1-5 before the mean;
//! the fitted mean clips once, after it: the two differ only where a member
//! leaves the MOS range.) On the development set the inner CV spreads its
//! choice over near-equal SVRs along the `C x gamma` diagonal from split to
//! split; their mean is steadier than any one of them (docs/benchmarks.md).
//! Choosing the members for the mean's own inner RMSE rather than each
//! width's best `C` on its own raised the development set's median SROCC
//! over 100 splits from 0.7741 to 0.7782.

use std::collections::BTreeMap;

use super::Candidate;
use crate::corpus::Dataset;
use crate::evaluation::folds::Fold;
use crate::evaluation::rmse;

/// The members (indices into `candidates`, in candidate order) and the
/// mean's predictions on every inner fold (or why there is none).
pub fn score(
    ds: &Dataset,
    folds: &[Fold],
    candidates: &[Candidate],
    per_fold: &[Vec<Result<Vec<f64>, String>>],
) -> (Vec<usize>, Vec<Result<Vec<f64>, String>>) {
    let f = ds.x.ncols();
    // Every scored RBF SVR, by width, with its pooled inner predictions.
    let mut by_width: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut pooled: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut mos = Vec::new();
    for fold in folds {
        mos.extend(fold.eval.iter().map(|&i| ds.mos[i]));
    }
    for (c, cand) in candidates.iter().enumerate() {
        let spec = cand.resolve(f);
        // The members: the candidates of a grid over widths.
        if cand.mean_of_widths || cand.gamma_per_feature.is_none() {
            continue;
        }
        let mut pred = Vec::new();
        for fit in &per_fold[c] {
            let Ok(p) = fit else {
                pred.clear();
                break;
            };
            pred.extend(p);
        }
        if pred.len() != mos.len() || rmse(&pred, &mos).is_none_or(|r| !r.is_finite()) {
            continue;
        }
        let gamma = spec.svr.gamma.unwrap_or(1.0 / f.max(1) as f64).to_bits();
        by_width.entry(gamma).or_default().push(c);
        pooled.insert(c, pred);
    }
    // The combination (one per width) whose mean has the lowest pooled
    // inner RMSE (ties to the earlier).
    let widths: Vec<&Vec<usize>> = by_width.values().collect();
    let mut best: Option<(f64, Vec<usize>)> = None;
    let total: usize = widths.iter().map(|w| w.len()).product();
    for mut code in 0..total {
        let mut combo = Vec::with_capacity(widths.len());
        for w in &widths {
            combo.push(w[code % w.len()]);
            code /= w.len();
        }
        let k = combo.len() as f64;
        let mean: Vec<f64> = (0..mos.len())
            .map(|i| combo.iter().map(|c| pooled[c][i]).sum::<f64>() / k)
            .collect();
        if let Some(r) = rmse(&mean, &mos).filter(|r| r.is_finite()) {
            if best.as_ref().is_none_or(|(b, _)| r < *b) {
                best = Some((r, combo));
            }
        }
    }
    let mut members: Vec<usize> = best.map(|(_, c)| c).unwrap_or_default();
    members.sort_unstable();
    if members.len() < 2 {
        let why = format!(
            "fewer than two RBF widths were scored ({}): no mean",
            members.len()
        );
        return (members, folds.iter().map(|_| Err(why.clone())).collect());
    }
    let k = members.len() as f64;
    let preds = (0..folds.len())
        .map(|fi| {
            let mut sum = vec![0.0; folds[fi].eval.len()];
            for &m in &members {
                if let Ok(p) = &per_fold[m][fi] {
                    for (s, v) in sum.iter_mut().zip(p) {
                        *s += v;
                    }
                }
            }
            Ok(sum.into_iter().map(|s| s / k).collect())
        })
        .collect();
    (members, preds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::{HeadKind, HeadSpec};
    use ndarray::Array2;

    fn svr(c: f64, g: f64) -> Candidate {
        let mut spec = HeadSpec::new(HeadKind::Svr);
        spec.svr.c = c;
        Candidate {
            name: format!("svr({c},{g})"),
            spec,
            gamma_per_feature: Some(g),
            mean_of_widths: false,
        }
    }

    #[test]
    fn the_mean_averages_one_c_per_width_chosen_for_the_mean() {
        let n = 6;
        let ds = Dataset::for_tests(
            Array2::zeros((n, 1)),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 3.0],
            (0..n as u32).collect(),
        );
        let folds: Vec<Fold> = [[0, 1, 2], [3, 4, 5]]
            .iter()
            .enumerate()
            .map(|(index, eval)| Fold {
                index,
                seed: 1,
                train: (0..n).filter(|i| !eval.contains(i)).collect(),
                eval: eval.to_vec(),
            })
            .collect();
        let candidates = vec![
            Candidate::default_of(HeadKind::Ridge),
            svr(1.0, 0.5),
            svr(2.0, 0.5),
            svr(1.0, 2.0),
            Candidate {
                name: "mean".into(),
                spec: HeadSpec::new(HeadKind::Svr),
                gamma_per_feature: None,
                mean_of_widths: true,
            },
        ];
        let ok = |a: [f64; 3], b: [f64; 3]| vec![Ok(a.to_vec()), Ok(b.to_vec())];
        let per_fold = vec![
            // ridge is best of all but no SVR: never a member.
            ok([1.0, 2.0, 3.0], [4.0, 5.0, 3.0]),
            ok([2.0, 2.0, 2.0], [3.0, 3.0, 3.0]),
            ok([1.5, 2.0, 3.0], [4.0, 4.5, 3.0]),
            ok([1.0, 3.0, 3.0], [4.0, 4.0, 2.0]),
            vec![Err("not fitted".into()), Err("not fitted".into())],
        ];
        let (members, preds) = score(&ds, &folds, &candidates, &per_fold);
        assert_eq!(
            members,
            [2, 3],
            "svr(2,0.5) beats svr(1,0.5); svr(1,2) alone at its width"
        );
        assert_eq!(preds[0], Ok(vec![1.25, 2.5, 3.0]));
        assert_eq!(preds[1], Ok(vec![4.0, 4.25, 2.5]));
        // The members are chosen for the mean, not each on its own:
        // svr(1,0.5) alone is exact, svr(2,0.5) is 0.5 low, svr(1,2) 0.5
        // high; the mean of the last two is exact.
        let mos = |f: usize| -> Vec<f64> { folds[f].eval.iter().map(|&i| ds.mos[i]).collect() };
        let shifted = |d: f64| -> Vec<Result<Vec<f64>, String>> {
            (0..2)
                .map(|f| Ok(mos(f).iter().map(|m| m + d).collect()))
                .collect()
        };
        let complementary = vec![
            per_fold[0].clone(),
            shifted(0.0),
            shifted(-0.5),
            shifted(0.5),
            per_fold[4].clone(),
        ];
        let (members, preds) = score(&ds, &folds, &candidates, &complementary);
        assert_eq!(members, [2, 3]);
        assert_eq!(preds[0], Ok(mos(0)));
        // One width left (the other failed on a fold): no mean.
        let mut one = per_fold.clone();
        one[3][1] = Err("inner fold 1: failed".into());
        let (members, preds) = score(&ds, &folds, &candidates, &one);
        assert_eq!(members, [2]);
        assert!(preds
            .iter()
            .all(|p| p.as_ref().is_err_and(|e| e.contains("fewer than two"))));
    }
}
