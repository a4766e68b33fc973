//! The gate: an adapter's thresholds applied to the aggregated fold metrics.
//! The tool never loosens a threshold; an undefined aggregate fails.

use moshead_protocol::Thresholds;
use serde::{Deserialize, Serialize};

use super::summary::Aggregate;

/// One gated metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    /// The metric (`mean_plcc`, ...).
    pub metric: String,
    /// Its value, if defined.
    pub value: Option<f64>,
    /// The rule (`>= 0.85`).
    pub rule: String,
    /// Whether it passed (`None`: not applicable).
    pub passed: Option<bool>,
}

/// The gate verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// `real` or `synthetic`.
    pub kind: String,
    /// The thresholds applied, as the adapter declared them.
    pub thresholds: Thresholds,
    /// Each check.
    pub checks: Vec<GateCheck>,
    /// Whether every applicable check passed.
    pub passed: bool,
}

/// The gate that applies to a corpus: the `synthetic` one when every row is
/// synthetic, else the `real` one, with its kind's name.
pub fn for_corpus(
    spec: &moshead_protocol::GateSpec,
    synthetic: bool,
) -> (&'static str, Thresholds) {
    if synthetic {
        ("synthetic", spec.synthetic)
    } else {
        ("real", spec.real)
    }
}

/// Applies `t` to `agg` (mean metrics, PLCC spread across folds).
pub fn apply(kind: &str, t: &Thresholds, agg: &Aggregate) -> GateReport {
    let mut checks = Vec::new();
    let mut at_least = |metric: &str, value: Option<f64>, min: Option<f64>| {
        if let Some(min) = min {
            checks.push(GateCheck {
                metric: metric.into(),
                value,
                rule: format!(">= {min}"),
                passed: Some(value.is_some_and(|v| v >= min)),
            });
        }
    };
    at_least("mean_plcc", agg.mean.plcc, t.plcc_min);
    at_least("mean_srocc", agg.mean.srocc, t.srocc_min);
    let mut at_most = |metric: &str, value: Option<f64>, max: Option<f64>, applicable: bool| {
        if let Some(max) = max {
            checks.push(GateCheck {
                metric: metric.into(),
                value,
                rule: if applicable {
                    format!("<= {max}")
                } else {
                    format!("<= {max} (not applicable: one fold)")
                },
                passed: applicable.then(|| value.is_some_and(|v| v <= max)),
            });
        }
    };
    at_most("mean_rmse", agg.mean.rmse, t.rmse_max, true);
    at_most("plcc_spread", agg.plcc_spread, t.spread_max, agg.folds > 1);
    let passed = !checks.is_empty() && checks.iter().all(|c| c.passed != Some(false));
    GateReport {
        kind: kind.into(),
        thresholds: *t,
        checks,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::super::summary::{aggregate, Metrics};
    use super::*;

    fn fold(plcc: Option<f64>, srocc: f64, rmse: f64) -> Metrics {
        Metrics {
            n: 10,
            plcc,
            plcc_mapped: plcc,
            srocc: Some(srocc),
            krocc: Some(srocc),
            rmse: Some(rmse),
            rmse_mapped: Some(rmse),
            outlier_ratio: None,
            logistic: None,
        }
    }

    const REAL: Thresholds = Thresholds {
        plcc_min: Some(0.85),
        srocc_min: Some(0.82),
        rmse_max: Some(0.45),
        spread_max: Some(0.005),
    };

    #[test]
    fn passes_and_fails_on_each_threshold() {
        let ok = aggregate(&[fold(Some(0.90), 0.88, 0.3), fold(Some(0.902), 0.88, 0.3)]);
        assert!(apply("real", &REAL, &ok).passed);
        let spread = aggregate(&[fold(Some(0.90), 0.88, 0.3), fold(Some(0.95), 0.88, 0.3)]);
        let r = apply("real", &REAL, &spread);
        assert!(!r.passed);
        assert_eq!(
            r.checks.iter().filter(|c| c.passed == Some(false)).count(),
            1
        );
        let low = aggregate(&[fold(Some(0.84), 0.88, 0.3)]);
        assert!(!apply("real", &REAL, &low).passed);
        let rmse = aggregate(&[fold(Some(0.9), 0.88, 0.46)]);
        assert!(!apply("real", &REAL, &rmse).passed);
    }

    #[test]
    fn an_undefined_metric_fails_and_one_fold_skips_spread() {
        let nan = aggregate(&[fold(None, 0.9, 0.2), fold(Some(0.9), 0.9, 0.2)]);
        assert!(!apply("real", &REAL, &nan).passed);
        let one = apply("real", &REAL, &aggregate(&[fold(Some(0.9), 0.9, 0.2)]));
        assert!(one.passed);
        assert_eq!(one.checks[3].passed, None);
    }
}
