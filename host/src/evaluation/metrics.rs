//! Agreement metrics between predictions and MOS on `f64` slices.
//!
//! Every function accumulates in `f64` with two-pass formulas (means are
//! subtracted before products are summed). An undefined result is `None`,
//! never `0.0` or NaN: mismatched lengths, too few rows, non-finite inputs and
//! zero variance all yield `None`. Constancy is detected exactly (all values
//! `==` the first), so a column of identical values is never mistaken for one
//! with a rounding-level variance.

use std::cmp::Ordering;

use crate::training::compute::correlation::all_finite;

/// Maps `-0.0` to `+0.0` (and leaves everything else, NaN included, alone) so
/// that [`f64::total_cmp`] treats the two zeros as a tie.
fn canon(v: f64) -> f64 {
    v + 0.0
}

/// The standard normal quantile of 0.975.
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Pearson's linear correlation (PLCC), shared with the heads (`training::compute::correlation`).
pub use crate::training::compute::correlation::pearson as plcc;

/// Fractional ("1 2.5 2.5 4") ranks, 1-based, in the input order.
///
/// Tied values get the mean of the 1-based positions they occupy:
/// `[3.1, 2.0, 3.1]` → `[2.5, 1.0, 2.5]`. Values are ordered with
/// [`f64::total_cmp`] after mapping `-0.0` to `+0.0`, so the two zeros tie;
/// NaNs (which [`srocc`] rejects) are ordered by their bit patterns and tie only
/// with bit-identical NaNs. The sort is stable, so the result is deterministic.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| canon(x[a]).total_cmp(&canon(x[b])));
    let mut ranks = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let v = canon(x[order[start]]);
        let mut end = start + 1;
        while end < order.len() && canon(x[order[end]]).total_cmp(&v) == Ordering::Equal {
            end += 1;
        }
        // Positions start+1 ..= end (1-based); their mean is exact in f64.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman rank-order correlation (SROCC): the Pearson correlation of the
/// [`average_ranks`] of both sides.
///
/// This is exact under ties (the `1 - 6Σd²/(n(n²-1))` shortcut is not).
/// `None` under the same conditions as [`plcc`] (in particular when either
/// side is all ties).
pub fn srocc(pred: &[f64], mos: &[f64]) -> Option<f64> {
    if pred.len() != mos.len() || !all_finite(pred) || !all_finite(mos) {
        return None;
    }
    plcc(&average_ranks(pred), &average_ranks(mos))
}

/// Number of tied pairs, `Σ t(t-1)/2` over runs of equal adjacent elements
/// (`eq` decides equality of neighbours).
fn tied_pairs<T>(v: &[T], eq: impl Fn(&T, &T) -> bool) -> u64 {
    let mut total = 0u64;
    let mut run = 1u64;
    for w in v.windows(2) {
        if eq(&w[0], &w[1]) {
            run += 1;
        } else {
            total += run * (run - 1) / 2;
            run = 1;
        }
    }
    if !v.is_empty() {
        total += run * (run - 1) / 2;
    }
    total
}

/// Sorts `v` ascending (stable, bottom-up merge sort) and returns the number
/// of inversions, i.e. pairs `i < j` with `v[i] > v[j]`. Equal elements are
/// not inversions.
fn merge_sort_count_swaps(v: &mut [f64]) -> u64 {
    let n = v.len();
    let mut buf = vec![0.0; n];
    let mut swaps = 0u64;
    let mut width = 1;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                if v[i].total_cmp(&v[j]) != Ordering::Greater {
                    buf[k] = v[i];
                    i += 1;
                } else {
                    buf[k] = v[j];
                    j += 1;
                    swaps += (mid - i) as u64;
                }
                k += 1;
            }
            buf[k..k + (mid - i)].copy_from_slice(&v[i..mid]);
            k += mid - i;
            buf[k..k + (hi - j)].copy_from_slice(&v[j..hi]);
            lo = hi;
        }
        v.copy_from_slice(&buf);
        width *= 2;
    }
    swaps
}

/// Kendall rank correlation tau-b (KROCC), in O(n log n).
///
/// Knight's (1966) algorithm: sort pairs by `(pred, mos)`, count pairs tied
/// in `pred` (`n1`) and tied in both (`n3`), count the inversions of `mos`
/// in a merge sort (= discordant pairs `n_d`), then pairs tied in `mos`
/// (`n2`). With `n0 = n(n-1)/2`,
/// `tau_b = (n0 - n1 - n2 + n3 - 2·n_d) / sqrt((n0 - n1)(n0 - n2))`.
/// `-0.0` and `+0.0` tie. `None` when `n < 2`, the lengths differ, any
/// input is non-finite, or either side is all ties (a zero factor in the
/// denominator). Matches `scipy.stats.kendalltau` (variant `"b"`).
pub fn krocc(pred: &[f64], mos: &[f64]) -> Option<f64> {
    let n = pred.len();
    if n < 2 || mos.len() != n || !all_finite(pred) || !all_finite(mos) {
        return None;
    }
    let mut pairs: Vec<(f64, f64)> = pred
        .iter()
        .zip(mos)
        .map(|(&x, &y)| (canon(x), canon(y)))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));

    let n0 = (n as u64) * (n as u64 - 1) / 2;
    let n1 = tied_pairs(&pairs, |a, b| a.0 == b.0);
    let n3 = tied_pairs(&pairs, |a, b| a.0 == b.0 && a.1 == b.1);
    let mut ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let nd = merge_sort_count_swaps(&mut ys);
    let n2 = tied_pairs(&ys, |a, b| a == b);

    let (ax, ay) = (n0 - n1, n0 - n2);
    if ax == 0 || ay == 0 {
        return None;
    }
    // n_c - n_d = (n0 - n1 - n2 + n3) - 2 n_d; exact in i128.
    let s = i128::from(n0) - i128::from(n1) - i128::from(n2) + i128::from(n3) - 2 * i128::from(nd);
    // One sqrt of the product: exact when ax == ay (perfect agreement).
    let tau = s as f64 / ((ax as f64) * (ay as f64)).sqrt();
    Some(tau.clamp(-1.0, 1.0))
}

/// Root-mean-square error `sqrt(mean((pred - mos)²))`.
///
/// `None` when empty, the lengths differ, or any input is non-finite.
pub fn rmse(pred: &[f64], mos: &[f64]) -> Option<f64> {
    let n = pred.len();
    if n == 0 || mos.len() != n || !all_finite(pred) || !all_finite(mos) {
        return None;
    }
    let ss: f64 = pred.iter().zip(mos).map(|(p, m)| (p - m) * (p - m)).sum();
    let r = (ss / n as f64).sqrt();
    r.is_finite().then_some(r)
}

/// Outlier ratio (ITU-T P.1401 style): the fraction of rows with
/// `|mos - mapped_pred| > 2·se`, over the rows whose standard error is known
/// (`Some`, finite and `> 0`); other rows are ignored.
///
/// Pass predictions *after* the logistic mapping. `None` when the three
/// lengths differ, no row has a known SE, or a counted row has a non-finite
/// prediction or MOS.
pub fn outlier_ratio(mapped_pred: &[f64], mos: &[f64], se: &[Option<f64>]) -> Option<f64> {
    let rows = known_se(mapped_pred, mos, se)?;
    let outliers = rows
        .iter()
        .filter(|(p, m, s)| (m - p).abs() > 2.0 * s)
        .count();
    (!rows.is_empty()).then(|| outliers as f64 / rows.len() as f64)
}

/// The `(prediction, mos, se)` of the rows whose SE is known (`Some`,
/// finite, `> 0`). `None` when the lengths differ or a counted row has a
/// non-finite prediction or MOS.
fn known_se(mapped_pred: &[f64], mos: &[f64], se: &[Option<f64>]) -> Option<Vec<(f64, f64, f64)>> {
    let n = mapped_pred.len();
    if mos.len() != n || se.len() != n {
        return None;
    }
    let mut rows = Vec::new();
    for ((&p, &m), &s) in mapped_pred.iter().zip(mos).zip(se) {
        let Some(s) = s.filter(|s| s.is_finite() && *s > 0.0) else {
            continue;
        };
        if !(p.is_finite() && m.is_finite()) {
            return None;
        }
        rows.push((p, m, s));
    }
    Some(rows)
}

/// The epsilon-insensitive RMSE of ITU-T P.1401 section 7.7 (RMSE*):
/// `sqrt(sum(max(0, |mos - mapped_pred| - ci95)^2) / (N - d))` over the
/// rows whose MOS standard error is known (`Some`, finite, `> 0`), with
/// `ci95 = 1.96 se` (the normal quantile: vote counts are not known, so
/// the Student t of P.1401 cannot be taken) and `d` the number of
/// parameters of the mapping the predictions went through (4 for the
/// logistic). Errors within a clip's own MOS confidence interval count as
/// none.
///
/// `None` when the lengths differ, no more than `d` rows have a known SE,
/// or a counted row is non-finite.
pub fn rmse_star(mapped_pred: &[f64], mos: &[f64], se: &[Option<f64>], d: usize) -> Option<f64> {
    let rows = known_se(mapped_pred, mos, se)?;
    let ss: f64 = rows
        .iter()
        .map(|(p, m, s)| {
            let e = ((m - p).abs() - Z_975 * s).max(0.0);
            e * e
        })
        .sum();
    (rows.len() > d).then(|| (ss / (rows.len() - d) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // Hand-checked example with ties on both sides.
    const P: [f64; 8] = [1.2, 2.5, 2.5, 3.1, 4.8, 4.8, 5.0, 0.7];
    const M: [f64; 8] = [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 4.0, 2.0];

    #[test]
    fn plcc_linear_and_anti_linear() {
        let x: Vec<f64> = (0..50).map(|i| i as f64 * 0.37 - 3.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.5 * v + 7.0).collect();
        let z: Vec<f64> = x.iter().map(|v| -0.1 * v + 1.0).collect();
        assert!(close(plcc(&x, &y).unwrap(), 1.0, 1e-14));
        assert!(close(plcc(&x, &z).unwrap(), -1.0, 1e-14));
    }

    #[test]
    fn plcc_matches_scipy() {
        // scipy.stats.pearsonr(P, M).statistic
        assert!(close(plcc(&P, &M).unwrap(), 0.9027130694472982, 1e-14));
    }

    #[test]
    fn plcc_is_shift_invariant_at_large_offset() {
        // A one-pass formula (Σxy - n·x̄·ȳ) is off by ~1e-5 here; two-pass is
        // limited only by the ~1e-10 representation error of the shifted data.
        let shifted: Vec<f64> = P.iter().map(|v| v + 1e6).collect();
        assert!(close(plcc(&shifted, &M).unwrap(), 0.9027130694472982, 1e-8));
    }

    #[test]
    fn plcc_undefined_cases_are_none() {
        assert_eq!(plcc(&[1.0], &[2.0]), None);
        assert_eq!(plcc(&[1.0, 2.0], &[2.0]), None);
        assert_eq!(plcc(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        assert_eq!(plcc(&[1.0, f64::INFINITY], &[1.0, 2.0]), None);
        // 0.1 * 3 / 3 != 0.1 in f64: constancy must be exact, not a tiny variance.
        assert_eq!(plcc(&[0.1, 0.1, 0.1], &[1.0, 2.0, 3.0]), None);
        assert_eq!(plcc(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]), None);
    }

    #[test]
    fn average_ranks_ties() {
        assert_eq!(average_ranks(&[3.1, 2.0, 3.1]), vec![2.5, 1.0, 2.5]);
        // scipy.stats.rankdata(P)
        assert_eq!(
            average_ranks(&P),
            vec![2.0, 3.5, 3.5, 5.0, 6.5, 6.5, 8.0, 1.0]
        );
        assert_eq!(average_ranks(&[0.0, -0.0, -1.0]), vec![2.5, 2.5, 1.0]);
        assert_eq!(average_ranks(&[7.0; 4]), vec![2.5; 4]);
        assert!(average_ranks(&[]).is_empty());
    }

    #[test]
    fn srocc_with_ties_matches_scipy() {
        // scipy.stats.spearmanr([1,2,2,3],[1,3,2,4]).statistic
        let r = srocc(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!(close(r, 0.9486832980505139, 1e-14));
        // The 1-6Σd² shortcut would give 0.95 here.
        assert!(!close(r, 0.95, 1e-6));
        // scipy.stats.spearmanr(P, M).statistic
        assert!(close(srocc(&P, &M).unwrap(), 0.8773171238168365, 1e-14));
        assert_eq!(srocc(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
    }

    #[test]
    fn krocc_matches_scipy_tau_b() {
        // scipy.stats.kendalltau([1,2,2,3],[1,3,2,4]).statistic
        let t = krocc(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        assert!(close(t, 0.912870929175277, 1e-14));
        // scipy.stats.kendalltau(P, M).statistic
        assert!(close(krocc(&P, &M).unwrap(), 0.7452413135250994, 1e-14));
        let rev: Vec<f64> = (0..10).map(|i| -(i as f64)).collect();
        let fwd: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert_eq!(krocc(&fwd, &rev), Some(-1.0));
        assert_eq!(krocc(&fwd, &fwd), Some(1.0));
    }

    #[test]
    fn krocc_undefined_cases_are_none() {
        assert_eq!(krocc(&[1.0], &[1.0]), None);
        assert_eq!(krocc(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(krocc(&[1.0, 2.0, 3.0], &[0.0, -0.0, 0.0]), None);
        assert_eq!(krocc(&[1.0, 2.0], &[1.0, f64::NAN]), None);
        assert_eq!(krocc(&[1.0, 2.0], &[1.0]), None);
    }

    /// Direct O(n²) tau-b from the definition.
    fn naive_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
        let n = x.len();
        let (mut s, mut tx, mut ty, mut n0) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..n {
            for j in i + 1..n {
                n0 += 1;
                let dx = (x[i] - x[j]).signum() as i64 * i64::from(x[i] != x[j]);
                let dy = (y[i] - y[j]).signum() as i64 * i64::from(y[i] != y[j]);
                s += dx * dy;
                tx += i64::from(dx == 0);
                ty += i64::from(dy == 0);
            }
        }
        let d = ((n0 - tx) as f64) * ((n0 - ty) as f64);
        (d > 0.0).then(|| s as f64 / d.sqrt())
    }

    #[test]
    fn krocc_matches_naive_with_many_ties() {
        for seed in 0..6u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = 300;
            let x: Vec<f64> = (0..n)
                .map(|_| (rng.gen_range(0.0..3.0_f64) * 10.0).round() / 10.0)
                .collect();
            // Correlated with x, coarsely quantised to force joint ties.
            let y: Vec<f64> = x
                .iter()
                .map(|v| ((v + rng.gen_range(-1.0..1.0)) * 2.0).round() / 2.0)
                .collect();
            let fast = krocc(&x, &y).unwrap();
            let slow = naive_tau_b(&x, &y).unwrap();
            assert!(close(fast, slow, 1e-12), "seed {seed}: {fast} vs {slow}");
            let fast_t = krocc(&y, &x).unwrap();
            assert!(close(fast_t, slow, 1e-12), "seed {seed} transposed");
        }
    }

    #[test]
    fn merge_sort_counts_inversions() {
        let mut v = vec![3.0, 1.0, 2.0, 2.0, 0.0];
        // (3,1)(3,2)(3,2)(3,0)(1,0)(2,0)(2,0) = 7
        assert_eq!(merge_sort_count_swaps(&mut v), 7);
        assert_eq!(v, vec![0.0, 1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn rmse_known_value() {
        // sqrt(3.92 / 8) = 0.7
        assert!(close(rmse(&P, &M).unwrap(), 0.7, 1e-15));
        assert_eq!(rmse(&[], &[]), None);
        assert_eq!(rmse(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(rmse(&[f64::NAN], &[1.0]), None);
        assert_eq!(rmse(&[2.0], &[2.0]), Some(0.0));
    }

    #[test]
    fn outlier_ratio_counts_only_known_se() {
        let p = [1.0, 2.0, 3.0, 4.0, 5.0];
        let m = [1.5, 2.0, 4.0, 9.0, 0.0];
        let se = [Some(0.2), Some(0.1), Some(0.4), None, Some(0.0)];
        // row0: 0.5 > 0.4 outlier; row1: 0 no; row2: 1.0 > 0.8 outlier;
        // row3 unknown; row4 se == 0 is not known.
        assert_eq!(outlier_ratio(&p, &m, &se), Some(2.0 / 3.0));
        // Exactly 2·se is not an outlier.
        assert_eq!(outlier_ratio(&[1.0], &[2.0], &[Some(0.5)]), Some(0.0));
        assert_eq!(outlier_ratio(&p, &m, &[None; 5]), None);
        assert_eq!(outlier_ratio(&p, &m, &se[..4]), None);
        // A non-finite value in a counted row is undefined, not "no outlier".
        assert_eq!(outlier_ratio(&[f64::NAN], &[1.0], &[Some(1.0)]), None);
        // ...but is ignored in a row without a known SE.
        assert_eq!(
            outlier_ratio(&[f64::NAN, 1.0], &[1.0, 1.0], &[None, Some(1.0)]),
            Some(0.0)
        );
    }

    #[test]
    fn rmse_star_discounts_each_clips_confidence_interval() {
        let z = Z_975;
        let p = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = [1.5, 2.0, 4.0, 9.0, 5.0, 3.0];
        let se = [Some(0.1), Some(0.1), Some(0.25), None, Some(1.0), Some(0.5)];
        // Known rows 0, 1, 2, 4, 5 (N = 5): |error| minus 1.96 se, floored:
        // 0.5 - 0.196; 0; 1 - 0.49; 0 (within); 3 - 0.98.
        let e = [0.5 - 0.1 * z, 0.0, 1.0 - 0.25 * z, 0.0, 3.0 - 0.5 * z];
        let ss: f64 = e.iter().map(|x| x * x).sum();
        let want_d1 = (ss / 4.0).sqrt();
        let want_d4 = ss.sqrt();
        assert!((rmse_star(&p, &m, &se, 1).unwrap() - want_d1).abs() < 1e-15);
        assert!((rmse_star(&p, &m, &se, 4).unwrap() - want_d4).abs() < 1e-15);
        // N must exceed d.
        assert_eq!(rmse_star(&p, &m, &se, 5), None);
        assert_eq!(rmse_star(&p, &m, &[None; 6], 0), None);
        assert_eq!(rmse_star(&p, &m, &se[..5], 1), None);
        assert_eq!(rmse_star(&[f64::NAN], &[1.0], &[Some(1.0)], 0), None);
        // Below RMSE: every error shrinks or stays.
        assert!(want_d1 < rmse(&p, &m).unwrap());
    }
}
