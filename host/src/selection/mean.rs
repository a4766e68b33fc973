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
