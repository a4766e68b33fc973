//! The prediction intervals of `moshead-bench accuracy`: measured coverage
//! of 90% and 95% intervals on the held-out 20% of every split (mean and
//! SD over splits) and their median width, for three methods:
//!
//! - `conformal`: moshead's ([`moshead::evaluation::conformal::half_width`]):
//!   the content-weighted quantile of the content-grouped out-of-fold
//!   absolute residuals of the split's training rows (5 inner folds of
//!   whole contents), with the finite-sample correction;
//! - `residual-quantile`: the plain quantile of the training rows'
//!   in-sample absolute residuals (the model fitted on all of them), no
//!   grouping, no correction;
//! - `bootstrap`: the spread of [`BOOTSTRAP_MODELS`] models fitted on
//!   content resamples of the training rows, `prediction -/+ z sd` (z the
//!   normal quantile), as libvmaf's bootstrapped models report it.
//!
//! One head (ridge) for all, fitted per split as the accuracy table fits
//! it.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::support::median_sd;
use moshead::corpus::Dataset;
use moshead::evaluation::conformal::half_width;
use moshead::evaluation::folds::Fold;
use moshead::evaluation::intervals::percentile;
use moshead::selection::HeadChoice;
use moshead::training::{HeadKind, HeadSpec, Status};

/// The nominal coverages measured.
pub const LEVELS: [f64; 2] = [0.9, 0.95];
/// Inner content-grouped folds for the conformal residuals.
pub const INNER_FOLDS: usize = 5;
/// Models of the bootstrap spread.
pub const BOOTSTRAP_MODELS: usize = 20;
/// The head every method uses.
pub const HEAD: &str = "ridge";

/// One method at one level over the splits.
#[derive(Debug, Serialize)]
pub struct MethodFigures {
    /// `conformal`, `residual-quantile` or `bootstrap`.
    pub method: &'static str,
    /// Nominal coverage.
    pub level: f64,
    /// Mean over splits of the held-out coverage.
    pub mean_coverage: Option<f64>,
    /// Its SD over splits.
    pub sd_coverage: Option<f64>,
    /// Median over splits of the median interval width (head scale).
    pub median_width: Option<f64>,
    /// Splits where the method gave intervals.
    pub splits: usize,
}

/// The standard normal quantile of `(1 + level) / 2`.
fn z(level: f64) -> f64 {
    if level >= 0.95 {
        1.959_963_984_540_054
    } else {
        1.644_853_626_951_472_2
    }
}

/// Per method and level: each split's (coverage, median width).
type Acc = BTreeMap<(&'static str, usize), Vec<(f64, f64)>>;

fn record(acc: &mut Acc, method: &'static str, li: usize, abs_err: &[f64], half: &[f64]) {
    if abs_err.is_empty() || half.len() != abs_err.len() {
        return;
    }
    let covered = abs_err.iter().zip(half).filter(|(e, h)| e <= h).count();
    let mut widths: Vec<f64> = half.iter().map(|h| 2.0 * h).collect();
    widths.sort_by(f64::total_cmp);
    let width = percentile(&widths, 0.5).unwrap_or(f64::NAN);
    acc.entry((method, li))
        .or_default()
        .push((covered as f64 / abs_err.len() as f64, width));
}

/// Measures the three methods on `folds` of `ds`.
pub fn measure(ds: &Dataset, folds: &[Fold]) -> anyhow::Result<Vec<MethodFigures>> {
    let head = HeadChoice::Fixed(HeadSpec::new(HeadKind::Ridge));
    let silent = Status::silent();
    let x = ds.x.view();
    let mut acc: Acc = BTreeMap::new();
    for f in folds {
        let (mos_eval, _) = ds.targets(&f.eval);
        // The model every method centres its intervals on.
        let (fitted, _) = head.fit(ds, &f.train, f.seed, &silent)?;
        let pred = fitted.predict_rows(x, &f.eval);
        let abs_err: Vec<f64> = pred
            .iter()
            .zip(&mos_eval)
            .map(|(p, m)| (p - m).abs())
            .collect();

        // Conformal: content-grouped inner folds of the training rows.
        let mut contents: Vec<u32> = f.train.iter().map(|&i| ds.group[i]).collect();
        contents.sort_unstable();
        contents.dedup();
        let mut rng = ChaCha8Rng::seed_from_u64(f.seed);
        let fold_of: BTreeMap<u32, usize> = {
            let mut shuffled = contents.clone();
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.gen_range(0..=i));
            }
            shuffled
                .into_iter()
                .enumerate()
                .map(|(k, g)| (g, k % INNER_FOLDS))
                .collect()
        };
        let (mut resid, mut groups) = (Vec::new(), Vec::new());
        for k in 0..INNER_FOLDS {
            let (inner_eval, inner_train): (Vec<usize>, Vec<usize>) =
                f.train.iter().partition(|&&i| fold_of[&ds.group[i]] == k);
            if inner_eval.is_empty() || inner_train.is_empty() {
                continue;
            }
            let (m, _) = head.fit(ds, &inner_train, f.seed, &silent)?;
            let (mos, _) = ds.targets(&inner_eval);
            for ((p, y), &i) in m
                .predict_rows(x, &inner_eval)
                .iter()
                .zip(&mos)
                .zip(&inner_eval)
            {
                resid.push((p - y).abs());
                groups.push(ds.group[i]);
            }
        }
        // Residual quantile: in-sample residuals of the split's model.
        let (mos_train, _) = ds.targets(&f.train);
        let mut in_sample: Vec<f64> = fitted
            .predict_rows(x, &f.train)
            .iter()
            .zip(&mos_train)
            .map(|(p, y)| (p - y).abs())
            .collect();
        in_sample.sort_by(f64::total_cmp);
        // Bootstrap spread: models on content resamples.
        let mut boot: Vec<Vec<f64>> = Vec::with_capacity(BOOTSTRAP_MODELS);
        for _ in 0..BOOTSTRAP_MODELS {
            let mut rows = Vec::with_capacity(f.train.len());
            for _ in 0..contents.len() {
                let g = contents[rng.gen_range(0..contents.len())];
                rows.extend(f.train.iter().copied().filter(|&i| ds.group[i] == g));
            }
            let (m, _) = head.fit(ds, &rows, f.seed, &silent)?;
            boot.push(m.predict_rows(x, &f.eval));
        }
        let sd: Vec<f64> = (0..f.eval.len())
            .map(|r| {
                let v: Vec<f64> = boot.iter().map(|b| b[r]).collect();
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64)
                    .sqrt()
            })
            .collect();
        for (li, &level) in LEVELS.iter().enumerate() {
            if let Some(q) = half_width(&resid, &groups, level) {
                record(&mut acc, "conformal", li, &abs_err, &vec![q; abs_err.len()]);
            }
            if let Some(q) = percentile(&in_sample, level) {
                record(
                    &mut acc,
                    "residual-quantile",
                    li,
                    &abs_err,
                    &vec![q; abs_err.len()],
                );
            }
            let half: Vec<f64> = sd.iter().map(|s| z(level) * s).collect();
            record(&mut acc, "bootstrap", li, &abs_err, &half);
        }
    }
    let mut out = Vec::new();
    for method in ["conformal", "residual-quantile", "bootstrap"] {
        for (li, &level) in LEVELS.iter().enumerate() {
            let got = acc.get(&(method, li)).map(Vec::as_slice).unwrap_or(&[]);
            let cov: Vec<f64> = got.iter().map(|g| g.0).collect();
            let widths: Vec<f64> = got.iter().map(|g| g.1).filter(|w| w.is_finite()).collect();
            let n = cov.len();
            let mean = (n > 0).then(|| cov.iter().sum::<f64>() / n as f64);
            out.push(MethodFigures {
                method,
                level,
                mean_coverage: mean,
                sd_coverage: median_sd(&cov).1,
                median_width: median_sd(&widths).0,
                splits: n,
            });
        }
    }
    Ok(out)
}

/// The figures as table rows, with a verdict per level: coverage within 2
/// points of nominal, and which covering method is narrowest.
pub fn rows(figures: &[MethodFigures]) -> (Vec<Vec<String>>, Vec<String>) {
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1}%", v * 100.0));
    let rows = figures
        .iter()
        .map(|f| {
            vec![
                f.method.to_owned(),
                format!("{:.0}%", f.level * 100.0),
                pct(f.mean_coverage),
                pct(f.sd_coverage),
                f.median_width.map_or("-".into(), |w| format!("{w:.4}")),
                f.splits.to_string(),
            ]
        })
        .collect();
    let mut verdicts = Vec::new();
    for &level in &LEVELS {
        let at: Vec<&MethodFigures> = figures.iter().filter(|f| f.level == level).collect();
        let holds = |f: &MethodFigures| f.mean_coverage.is_some_and(|c| c >= level - 0.02);
        match at.iter().find(|f| f.method == "conformal") {
            Some(c) if c.splits == 0 => verdicts.push(format!(
                "conformal {:.0}%: no intervals (a split's training rows hold too few contents \
                 for the level: coverage * (G + 1) / G > 1)",
                level * 100.0
            )),
            Some(c) => {
                let within = c.mean_coverage.is_some_and(|m| (m - level).abs() <= 0.02);
                verdicts.push(format!(
                    "conformal {:.0}%: mean coverage {} within 2 points of nominal: {}",
                    level * 100.0,
                    pct(c.mean_coverage),
                    if within { "met" } else { "MISSED" }
                ));
            }
            None => {}
        }
        let narrowest = at
            .iter()
            .filter(|f| holds(f))
            .filter_map(|f| Some((f.method, f.median_width?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        verdicts.push(match narrowest {
            Some((m, w)) => format!(
                "narrowest {:.0}% intervals where coverage holds: {m} ({w:.4})",
                level * 100.0
            ),
            None => format!("no method holds {:.0}% coverage", level * 100.0),
        });
    }
    (rows, verdicts)
}
