//! Per-fold metric bundles ([`evaluate`]) and their aggregation over folds
//! ([`aggregate`]).

use super::logistic::{fit_logistic, LogisticFit};
use super::metrics::{krocc, outlier_ratio, plcc, rmse, rmse_star, srocc};

/// All validation metrics of one fold. Every metric is `None` when undefined
/// (see [`plcc`] and siblings); JSON carries that as `null`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Number of rows (`pred.len()`).
    pub n: usize,
    /// Pearson correlation of the raw predictions.
    pub plcc: Option<f64>,
    /// Pearson correlation after the logistic fitted on these same
    /// predictions (the BVQA convention; optimistic by construction).
    pub plcc_mapped: Option<f64>,
    /// Spearman rank correlation (invariant to the monotone mapping).
    pub srocc: Option<f64>,
    /// Kendall tau-b (invariant to the monotone mapping).
    pub krocc: Option<f64>,
    /// RMSE of the raw predictions: what a deployed head produces.
    pub rmse: Option<f64>,
    /// RMSE after the logistic mapping.
    pub rmse_mapped: Option<f64>,
    /// Outlier ratio of the mapped predictions, over rows with a known SE.
    pub outlier_ratio: Option<f64>,
    /// The epsilon-insensitive RMSE of P.1401 ([`rmse_star`]) of the mapped
    /// predictions, over rows with a known SE (absent where none is known,
    /// and in manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmse_star: Option<f64>,
    /// The fitted logistic; `None` when the inputs could not be fitted.
    /// Mapped metrics come from it even when `converged` is false, so readers
    /// must check that flag.
    pub logistic: Option<LogisticFit>,
}

impl Metrics {
    /// The P.1401 figures that need each clip's MOS standard error, in one
    /// line (`None` when no row had one): the outlier ratio and RMSE*.
    pub fn p1401_line(&self) -> Option<String> {
        let (or, star) = (self.outlier_ratio?, self.rmse_star?);
        Some(format!(
            "P.1401 on the rows with a known MOS standard error (after the logistic \
             mapping): outlier ratio {or:.4} (|error| > 2 SE), RMSE* {star:.4} (errors \
             beyond each clip's 95% MOS interval, N - 4 degrees of freedom)"
        ))
    }
}

/// Computes all metrics of one fold.
///
/// `se` holds the per-row MOS standard errors (`None` where unknown) and is
/// used only by the outlier ratio. Mapped metrics use the logistic fitted on
/// `pred` itself; they are `None` when no fit exists (fewer than 4 rows,
/// non-finite or constant inputs).
pub fn evaluate(pred: &[f64], mos: &[f64], se: &[Option<f64>]) -> Metrics {
    let logistic = fit_logistic(pred, mos);
    let mapped: Option<Vec<f64>> = logistic
        .as_ref()
        .filter(|f| f.beta.iter().all(|b| b.is_finite()))
        .map(|f| pred.iter().map(|&x| f.apply(x)).collect());
    let mapped = mapped.as_deref();
    Metrics {
        n: pred.len(),
        plcc: plcc(pred, mos),
        plcc_mapped: mapped.and_then(|m| plcc(m, mos)),
        srocc: srocc(pred, mos),
        krocc: krocc(pred, mos),
        rmse: rmse(pred, mos),
        rmse_mapped: mapped.and_then(|m| rmse(m, mos)),
        outlier_ratio: mapped.and_then(|m| outlier_ratio(m, mos, se)),
        rmse_star: mapped.and_then(|m| rmse_star(m, mos, se, LogisticFit::PARAMETERS)),
        logistic,
    }
}

/// One statistic of each aggregated metric across folds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricSet {
    /// Of the raw PLCC.
    pub plcc: Option<f64>,
    /// Of the mapped PLCC.
    pub plcc_mapped: Option<f64>,
    /// Of SROCC.
    pub srocc: Option<f64>,
    /// Of KROCC.
    pub krocc: Option<f64>,
    /// Of the raw RMSE.
    pub rmse: Option<f64>,
}

/// Cross-fold summary. A statistic is `None` when there are no folds or any
/// fold lacks that metric (or holds a non-finite value): an undefined fold
/// must fail a gate rather than be averaged away.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aggregate {
    /// Number of folds aggregated.
    pub folds: usize,
    /// Arithmetic mean.
    pub mean: MetricSet,
    /// Median (mean of the two middle values for an even count).
    pub median: MetricSet,
    /// Sample standard deviation (`n - 1`); `None` for a single fold.
    pub sd: MetricSet,
    /// Minimum.
    pub min: MetricSet,
    /// Maximum.
    pub max: MetricSet,
    /// `max - min` of the raw fold PLCC (`0.0` for one fold).
    pub plcc_spread: Option<f64>,
}

/// Summary statistics of one metric, all `None` together.
struct Stats {
    mean: f64,
    median: f64,
    sd: Option<f64>,
    min: f64,
    max: f64,
}

fn stats(values: impl Iterator<Item = Option<f64>>) -> Option<Stats> {
    let mut v: Vec<f64> = values
        .map(|x| x.filter(|x| x.is_finite()))
        .collect::<Option<_>>()?;
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = (n > 1).then(|| {
        let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stats {
        mean,
        median,
        sd,
        min: v[0],
        max: v[n - 1],
    })
}

/// Aggregates per-fold [`Metrics`] into mean, median, SD, min and max of
/// PLCC (raw and mapped), SROCC, KROCC and raw RMSE.
pub fn aggregate(folds: &[Metrics]) -> Aggregate {
    let per: [Option<Stats>; 5] = [
        stats(folds.iter().map(|f| f.plcc)),
        stats(folds.iter().map(|f| f.plcc_mapped)),
        stats(folds.iter().map(|f| f.srocc)),
        stats(folds.iter().map(|f| f.krocc)),
        stats(folds.iter().map(|f| f.rmse)),
    ];
    let set = |pick: fn(&Stats) -> Option<f64>| {
        let [plcc, plcc_mapped, srocc, krocc, rmse] =
            per.each_ref().map(|s| s.as_ref().and_then(pick));
        MetricSet {
            plcc,
            plcc_mapped,
            srocc,
            krocc,
            rmse,
        }
    };
    Aggregate {
        folds: folds.len(),
        mean: set(|s| Some(s.mean)),
        median: set(|s| Some(s.median)),
        sd: set(|s| s.sd),
        min: set(|s| Some(s.min)),
        max: set(|s| Some(s.max)),
        plcc_spread: per[0].as_ref().map(|s| s.max - s.min),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn fold(plcc: Option<f64>, rmse: Option<f64>) -> Metrics {
        Metrics {
            n: 10,
            plcc,
            plcc_mapped: plcc,
            srocc: Some(0.5),
            krocc: Some(0.4),
            rmse,
            rmse_mapped: rmse,
            outlier_ratio: None,
            rmse_star: None,
            logistic: None,
        }
    }

    #[test]
    fn aggregate_known_values() {
        let folds = [
            fold(Some(0.8), Some(0.4)),
            fold(Some(0.9), Some(0.3)),
            fold(Some(0.6), Some(0.7)),
            fold(Some(0.7), Some(0.5)),
        ];
        let a = aggregate(&folds);
        assert_eq!(a.folds, 4);
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-12;
        assert!(close(a.mean.plcc, 0.75));
        assert!(close(a.median.plcc, 0.75)); // (0.7 + 0.8) / 2
                                             // sample SD of 0.6..0.9 step 0.1: sqrt(0.05 / 3)
        assert!(close(a.sd.plcc, (0.05_f64 / 3.0).sqrt()));
        assert_eq!(a.min.plcc, Some(0.6));
        assert_eq!(a.max.plcc, Some(0.9));
        assert!(close(a.plcc_spread, 0.3));
        assert!(close(a.median.rmse, 0.45));
        assert_eq!(a.sd.srocc, Some(0.0));
        // Odd count takes the middle value.
        let b = aggregate(&folds[..3]);
        assert_eq!(b.median.plcc, Some(0.8));
    }

    #[test]
    fn any_missing_fold_poisons_that_metric_only() {
        let folds = [fold(Some(0.8), Some(0.4)), fold(None, Some(0.3))];
        let a = aggregate(&folds);
        assert_eq!(a.mean.plcc, None);
        assert_eq!(a.median.plcc, None);
        assert_eq!(a.min.plcc, None);
        assert_eq!(a.plcc_spread, None);
        assert!(a.mean.rmse.is_some());
        // A NaN smuggled in is treated as missing.
        let nan = [fold(Some(0.8), Some(0.4)), fold(Some(f64::NAN), Some(0.3))];
        assert_eq!(aggregate(&nan).mean.plcc, None);
    }

    #[test]
    fn single_and_zero_folds() {
        let one = aggregate(&[fold(Some(0.8), Some(0.4))]);
        assert_eq!(one.sd, MetricSet::default());
        assert_eq!(one.mean.plcc, Some(0.8));
        assert_eq!(one.plcc_spread, Some(0.0));
        let none = aggregate(&[]);
        assert_eq!(none.folds, 0);
        assert_eq!(none.mean, MetricSet::default());
        assert_eq!(none.plcc_spread, None);
    }

    #[test]
    fn evaluate_end_to_end() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pred: Vec<f64> = (0..200).map(|_| rng.gen_range(0.0..1.0)).collect();
        let mos: Vec<f64> = pred
            .iter()
            .map(|&x| 1.0 + 4.0 / (1.0 + (-(x - 0.5) / 0.1_f64).exp()) + rng.gen_range(-0.3..0.3))
            .collect();
        let se: Vec<Option<f64>> = (0..200).map(|i| (i % 2 == 0).then_some(0.2)).collect();
        let m = evaluate(&pred, &mos, &se);
        assert_eq!(m.n, 200);
        let fit = m.logistic.as_ref().unwrap();
        assert!(fit.converged, "{fit:?}");
        // The mapping fixes the nonlinearity: mapped beats raw.
        assert!(m.plcc_mapped.unwrap() > m.plcc.unwrap());
        assert!(m.rmse_mapped.unwrap() < m.rmse.unwrap());
        // Monotone mapping leaves rank metrics as computed on raw predictions.
        let mapped: Vec<f64> = pred.iter().map(|&x| fit.apply(x)).collect();
        assert_eq!(m.srocc, srocc(&mapped, &mos));
        assert!(m.outlier_ratio.unwrap() >= 0.0 && m.outlier_ratio.unwrap() <= 1.0);
        // Round-trips through JSON unchanged (None <-> null).
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Metrics>(&json).unwrap(), m);
    }

    #[test]
    fn evaluate_without_fit_has_no_mapped_metrics() {
        let m = evaluate(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0], &[Some(0.1); 3]);
        assert!(m.logistic.is_none());
        assert_eq!(m.plcc_mapped, None);
        assert_eq!(m.rmse_mapped, None);
        assert_eq!(m.outlier_ratio, None);
        assert!(m.plcc.is_some() && m.rmse.is_some());
    }
}
