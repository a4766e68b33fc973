//! The baseline rule of `auto`'s model selection: the first candidate
//! (ridge) is displaced only by a clear margin on the pooled inner
//! out-of-fold rows.

use std::collections::BTreeMap;

/// How much lower the challenger's MSE is than the baseline's on the same
/// pooled rows, `mean(d)` with `d_i = (base_i - mos_i)^2 - (win_i -
/// mos_i)^2`, and the standard error of that mean with the rows clustered
/// by content group (`sqrt(sum_g (D_g - n_g mean(d))^2) / n`, `D_g` the sum
/// of `d` over group `g`'s `n_g` rows, times `sqrt(G / (G - 1))`): rows of
/// one content are not independent, and the inner folds keep contents
/// whole. With every row its own content it is the ordinary standard
/// error of a paired mean. `(0, 0)` without rows.
pub fn baseline_margin(base: &[f64], win: &[f64], mos: &[f64], group: &[u32]) -> (f64, f64) {
    debug_assert!(
        base.len() == mos.len() && win.len() == mos.len() && group.len() == mos.len(),
        "the pooled rows and predictions are aligned"
    );
    let n = mos.len().min(base.len()).min(win.len()).min(group.len());
    if n == 0 {
        return (0.0, 0.0);
    }
    let d: Vec<f64> = (0..n)
        .map(|i| (base[i] - mos[i]).powi(2) - (win[i] - mos[i]).powi(2))
        .collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let mut by_group: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for (i, &di) in d.iter().enumerate() {
        let e = by_group.entry(group[i]).or_insert((0.0, 0.0));
        e.0 += di;
        e.1 += 1.0;
    }
    let g = by_group.len() as f64;
    if g < 2.0 {
        return (mean, f64::INFINITY);
    }
    let ss: f64 = by_group
        .values()
        .map(|&(sum, count)| (sum - count * mean).powi(2))
        .sum();
    (mean, (ss * g / (g - 1.0)).sqrt() / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_margin_is_the_paired_mean_and_its_clustered_standard_error() {
        // Hand computation: errors of the baseline 1, 0, 2, 1 and of the
        // challenger 0, 0, 1, 1, so d = 1, 0, 3, 0, mean 1.
        let mos = [3.0, 3.0, 3.0, 3.0];
        let base = [4.0, 3.0, 5.0, 2.0];
        let win = [3.0, 3.0, 4.0, 4.0];
        // Every row its own content: the ordinary SE of a paired mean,
        // sqrt(sum (d - 1)^2 / (n - 1) / n) = sqrt(6 / 3 / 4).
        let (gain, se) = baseline_margin(&base, &win, &mos, &[0, 1, 2, 3]);
        assert!((gain - 1.0).abs() < 1e-15);
        assert!((se - (6.0f64 / 12.0).sqrt()).abs() < 1e-15, "{se}");
        // Two contents of two rows: D = 1 and 3, n_g = 2, so
        // sqrt(((1 - 2)^2 + (3 - 2)^2) * 2 / 1) / 4 = 0.5.
        let (gain, se) = baseline_margin(&base, &win, &mos, &[7, 7, 9, 9]);
        assert!((gain - 1.0).abs() < 1e-15);
        assert!((se - 0.5).abs() < 1e-15, "{se}");
        // One content: no spread to judge by.
        assert_eq!(
            baseline_margin(&base, &win, &mos, &[1; 4]),
            (1.0, f64::INFINITY)
        );
        assert_eq!(baseline_margin(&[], &[], &[], &[]), (0.0, 0.0));
    }

    #[test]
    fn the_margin_is_antisymmetric_and_zero_for_equal_predictions() {
        let mos: Vec<f64> = (0..40).map(|i| 1.0 + f64::from(i % 5)).collect();
        let a: Vec<f64> = (0..40).map(|i| 3.0 + 0.1 * f64::from(i % 7)).collect();
        let b: Vec<f64> = (0..40).map(|i| 2.5 + 0.2 * f64::from(i % 3)).collect();
        let group: Vec<u32> = (0..40).map(|i| i / 4).collect();
        let (g1, s1) = baseline_margin(&a, &b, &mos, &group);
        let (g2, s2) = baseline_margin(&b, &a, &mos, &group);
        assert!((g1 + g2).abs() < 1e-12 && (s1 - s2).abs() < 1e-12);
        assert_eq!(baseline_margin(&a, &a, &mos, &group), (0.0, 0.0));
    }

    use crate::corpus::Dataset;
    use crate::selection::{select, AutoConfig, Candidate};
    use crate::training::{HeadKind, HeadSpec, Status};
    use ndarray::Array2;

    /// 40 contents of 3 rows, 3 features in [0, 1]; MOS from `f`.
    fn corpus(f: impl Fn(&[f64], usize) -> f64) -> Dataset {
        let n = 120;
        // A fixed low-discrepancy fill, so the test needs no RNG.
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i as f64 + 0.5) * [0.618_034, 0.754_878, 0.569_840][j]).fract()
        });
        let mos = (0..n)
            .map(|i| f(x.row(i).as_slice().unwrap_or(&[]), i).clamp(1.0, 5.0))
            .collect();
        Dataset::for_tests(x, mos, (0..n as u32).map(|i| i / 3).collect())
    }

    fn config() -> AutoConfig {
        let mut svr = HeadSpec::new(HeadKind::Svr);
        svr.svr.c = 16.0;
        AutoConfig {
            candidates: vec![
                Candidate::default_of(HeadKind::Ridge),
                Candidate::default_of(HeadKind::Linear),
                Candidate {
                    name: "svr(C=16,gamma=2/F)".into(),
                    spec: svr,
                    gamma_per_feature: Some(2.0),
                    mean_of_widths: false,
                },
            ],
            ..AutoConfig::default()
        }
    }

    fn lowest(record: &crate::selection::SelectionRecord) -> &str {
        let mut best = (f64::INFINITY, "");
        for s in &record.table {
            if let Some(r) = s.rmse.filter(|r| *r < best.0) {
                best = (r, &s.name);
            }
        }
        best.1
    }

    #[test]
    fn a_near_tie_keeps_the_baseline_and_a_clear_gain_displaces_it() {
        let rows: Vec<usize> = (0..120).collect();
        let quiet = Status::silent();
        // MOS linear in the features plus noise: every candidate is about
        // as good, and which has the lowest inner RMSE is chance.
        let noise = |i: usize| 0.4 * (((i * 7919) % 101) as f64 / 100.0 - 0.5);
        let ds = corpus(|x, i| 2.0 + 1.5 * x[0] + 0.8 * x[1] + noise(i));
        // (With this seed the SVR's inner RMSE is the lowest, by 2e-4.)
        let record = select(&ds, &rows, 7, &config(), &quiet).unwrap();
        assert_ne!(lowest(&record), "ridge", "{record:#?}");
        assert_eq!(record.chosen, "ridge", "{record:#?}");
        let note = record.note.clone().unwrap_or_default();
        assert!(note.starts_with("ridge kept: "), "{note}");
        assert!(note.contains("content-clustered standard error"), "{note}");
        // Strongly non-linear MOS: the SVR's gain is far beyond the noise.
        let ds = corpus(|x, i| 3.0 + 1.8 * (6.0 * x[0]).sin() * x[1] + 0.1 * noise(i));
        let record = select(&ds, &rows, 3, &config(), &quiet).unwrap();
        assert_eq!(record.chosen, "svr(C=16,gamma=2/F)", "{record:#?}");
        assert_eq!(record.note, None);
    }
}
