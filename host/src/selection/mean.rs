//! The inner-CV score of the mean of SVRs ([`super::Candidate::mean_of_widths`]).
//!
//! Its members are, for each RBF width among the single SVR candidates,
//! the one with the lowest RMSE of its pooled inner out-of-fold predictions
//! (ties to the earlier); its inner prediction of a row is the mean of
//! theirs. No extra fit is needed: the members' inner predictions are the
//! ones the table already holds. (Each member's predictions are clipped to
//! 1-5 before the mean; the fitted mean clips once, after it: the two differ
//! only where a member leaves the MOS range.) On the development set the
//! inner CV spreads its choice over near-equal SVRs along the `C x gamma`
//! diagonal from split to split; their mean is steadier than any one of
//! them (README, Benchmarks).

use std::collections::BTreeMap;

use super::Candidate;
use crate::corpus::Dataset;
use crate::evaluation::folds::Fold;
use crate::evaluation::rmse;
use crate::training::heads::svr::KernelKind;
use crate::training::HeadKind;

/// The members (indices into `candidates`, in candidate order) and the
/// mean's predictions on every inner fold (or why there is none).
pub fn score(
    ds: &Dataset,
    folds: &[Fold],
    candidates: &[Candidate],
    per_fold: &[Vec<Result<Vec<f64>, String>>],
) -> (Vec<usize>, Vec<Result<Vec<f64>, String>>) {
    let f = ds.x.ncols();
    let mut best: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
    for (c, cand) in candidates.iter().enumerate() {
        let spec = cand.resolve(f);
        if cand.mean_of_widths || spec.kind != HeadKind::Svr || spec.svr.kernel != KernelKind::Rbf {
            continue;
        }
        let (mut pred, mut mos) = (Vec::new(), Vec::new());
        for (fold, fit) in folds.iter().zip(&per_fold[c]) {
            let Ok(p) = fit else {
                pred.clear();
                break;
            };
            pred.extend(p);
            mos.extend(fold.eval.iter().map(|&i| ds.mos[i]));
        }
        let Some(r) = rmse(&pred, &mos).filter(|r| r.is_finite() && !pred.is_empty()) else {
            continue;
        };
        let gamma = spec.svr.gamma.unwrap_or(1.0 / f.max(1) as f64).to_bits();
        let slot = best.entry(gamma).or_insert((r, c));
        if r < slot.0 {
            *slot = (r, c);
        }
    }
    let mut members: Vec<usize> = best.into_values().map(|(_, c)| c).collect();
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
    use crate::corpus::Strings;
    use crate::training::HeadSpec;
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
    fn the_mean_averages_the_best_c_of_each_width() {
        let n = 6;
        let ds = Dataset {
            schema: "s".into(),
            columns: vec!["a".into()],
            x: Array2::zeros((n, 1)),
            mos: vec![1.0, 2.0, 3.0, 4.0, 5.0, 3.0],
            se: vec![None; n],
            split: vec![None; n],
            group: (0..n as u32).collect(),
            group_names: (0..n).map(|g| format!("c{g}")).collect(),
            baseline: vec![None; n],
            baseline_names: Strings::new(),
            ids: (0..n).map(|i| i.to_string()).collect(),
            locations: Vec::new(),
            sources: Vec::new(),
            source_scales: Vec::new(),
            synthetic: true,
        };
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
            Candidate::mean_of_widths(),
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
