//! Prediction intervals per clip by conformal prediction on the
//! out-of-fold residuals.
//!
//! The method (recorded as [`METHOD`]): split conformal on the pooled
//! absolute out-of-fold residuals of the content-grouped validation. Every
//! residual comes from a fold model that never saw the row's content, as
//! the shipped head will not have seen a new clip's; each content carries
//! the same total weight (a row of a content with `n` rows weighs `1/n`),
//! so that a source with many encodes does not calibrate the others. The
//! half-width `q` is the smallest residual whose cumulative weight reaches
//! `coverage * (G + 1) / G` of the total (the finite-sample correction at
//! the level of the `G` contents); the interval of a prediction `p` is
//! `[p - q, p + q]` on the head's scale (and its image on the native one).
//! Intervals are symmetric and of one width: the residuals are not
//! normalised by a difficulty estimate.
//!
//! The measured out-of-fold coverage is cross-fitted: each fold's rows are
//! checked against the half-width calibrated on the other folds' residuals
//! only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rows::OofRow;

/// The coverage of the intervals when `--coverage` is not given.
pub const DEFAULT_COVERAGE: f64 = 0.9;
/// How the intervals are computed, as recorded.
pub const METHOD: &str = "split conformal on the pooled content-grouped out-of-fold absolute \
                          residuals, each content weighted equally, quantile level coverage * \
                          (G + 1) / G over G contents; interval prediction -/+ half_width";

/// The prediction intervals a model's `predict` writes, as recorded in the
/// manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictionIntervalRecord {
    /// [`METHOD`].
    pub method: String,
    /// The nominal coverage.
    pub coverage: f64,
    /// The half-width on the head's 1-5 scale: `lo = prediction -
    /// half_width`, `hi = prediction + half_width` (all the intervals need).
    pub half_width: f64,
    /// Out-of-fold rows calibrated on.
    pub rows: usize,
    /// Their content groups.
    pub contents: usize,
    /// The measured out-of-fold coverage, cross-fitted (each fold against
    /// the half-width of the other folds' residuals); `None` with fewer
    /// than two folds or where a fold's complement calibrates nothing.
    pub oof_coverage: Option<f64>,
}

impl PredictionIntervalRecord {
    /// `(lo, hi)` of a head-scale prediction.
    pub fn bounds(&self, prediction: f64) -> (f64, f64) {
        (prediction - self.half_width, prediction + self.half_width)
    }

    /// One line for summaries and cards.
    pub fn describe(&self) -> String {
        format!(
            "{:.0}% prediction intervals: prediction -/+ {:.4} (1-5 scale), by split conformal \
             on {} out-of-fold residuals of {} contents, each content weighted equally; measured \
             out-of-fold coverage {}",
            self.coverage * 100.0,
            self.half_width,
            self.rows,
            self.contents,
            self.oof_coverage.map_or_else(
                || "not measurable".to_owned(),
                |c| format!("{:.1}%", c * 100.0)
            )
        )
    }
}

/// The content-weighted conformal half-width of the absolute residuals
/// `abs_resid` (rows of content `groups[i]`) at `coverage`. `None` when
/// the lengths differ, a residual is not finite, or there are too few
/// contents for the level (`coverage * (G + 1) / G > 1`: the interval
/// would be unbounded).
pub fn half_width<K: Ord>(abs_resid: &[f64], groups: &[K], coverage: f64) -> Option<f64> {
    if abs_resid.len() != groups.len()
        || abs_resid.is_empty()
        || abs_resid.iter().any(|r| !r.is_finite())
    {
        return None;
    }
    let mut sizes: BTreeMap<&K, usize> = BTreeMap::new();
    for g in groups {
        *sizes.entry(g).or_default() += 1;
    }
    let g = sizes.len() as f64;
    let level = coverage * (g + 1.0) / g;
    if !(level > 0.0 && level <= 1.0) {
        return None;
    }
    let mut rows: Vec<(f64, f64)> = abs_resid
        .iter()
        .zip(groups)
        .map(|(&r, k)| (r.abs(), 1.0 / (g * sizes[k] as f64)))
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    for &(r, w) in &rows {
        total += w;
        // A relative tolerance absorbs the rounding of the sum of weights.
        if total >= level * (1.0 - 1e-12) {
            return Some(r);
        }
    }
    rows.last().map(|&(r, _)| r)
}

/// Calibrates the intervals on the out-of-fold rows of `folds` (each
/// fold's rows, in fold order) at `coverage`. `None` when
/// [`half_width`] is.
pub fn calibrate(folds: &[Vec<OofRow>], coverage: f64) -> Option<PredictionIntervalRecord> {
    let resid = |rows: &mut dyn Iterator<Item = &OofRow>| -> (Vec<f64>, Vec<String>) {
        rows.map(|r| ((r.mos - r.prediction).abs(), r.group.clone()))
            .unzip()
    };
    let (all, groups) = resid(&mut folds.iter().flatten());
    let q = half_width(&all, &groups, coverage)?;
    let oof_coverage = (folds.len() > 1)
        .then(|| {
            let mut covered = 0usize;
            for (k, fold) in folds.iter().enumerate() {
                let (r, g) = resid(
                    &mut folds
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != k)
                        .flat_map(|(_, f)| f.iter()),
                );
                let qk = half_width(&r, &g, coverage)?;
                covered += fold
                    .iter()
                    .filter(|r| (r.mos - r.prediction).abs() <= qk)
                    .count();
            }
            Some(covered as f64 / all.len() as f64)
        })
        .flatten();
    let contents = {
        let mut g: Vec<&String> = groups.iter().collect();
        g.sort_unstable();
        g.dedup();
        g.len()
    };
    Some(PredictionIntervalRecord {
        method: METHOD.to_owned(),
        coverage,
        half_width: q,
        rows: all.len(),
        contents,
        oof_coverage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn half_width_by_hand() {
        // Four contents of one row each: level 0.6 * 5 / 4 = 0.75, each row
        // weighing 1/4: the third smallest residual.
        assert_eq!(
            half_width(&[0.4, 0.1, 0.3, 0.2], &[1, 2, 3, 4], 0.6),
            Some(0.3)
        );
        // Content 1 has three rows (1/6 each), content 2 one (1/2), with
        // G = 2 and coverage 0.5: level 0.75. Sorted: 0.1 (1/6), 0.2
        // (1/6), 0.3 (1/2), 0.5 (1/6): cumulative 1/6, 1/3, 5/6: 0.3.
        assert_eq!(
            half_width(&[0.5, 0.1, 0.3, 0.2], &[1, 1, 2, 1], 0.5),
            Some(0.3)
        );
        // With coverage 0.25 (level 0.375): 0.3 still, as 1/3 < 0.375.
        assert_eq!(
            half_width(&[0.5, 0.1, 0.3, 0.2], &[1, 1, 2, 1], 0.25),
            Some(0.3)
        );
        // Eight contents cannot give 90% (0.9 * 9 / 8 > 1): nine take the
        // largest residual (level 1), ten the largest of ten (level 0.99).
        let r: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(half_width(&r[..8], &[0, 1, 2, 3, 4, 5, 6, 7], 0.9), None);
        assert_eq!(
            half_width(&r[..9], &[0, 1, 2, 3, 4, 5, 6, 7, 8], 0.9),
            Some(9.0)
        );
        assert_eq!(
            half_width(&r, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.9),
            Some(10.0)
        );
        assert_eq!(half_width(&[f64::NAN], &[0], 0.5), None);
        assert_eq!(half_width(&[1.0], &[0, 1], 0.5), None);
    }

    /// A generated corpus: `contents` contents of 1-5 clips, each with a
    /// content offset and clip noise (rows exchangeable across contents).
    fn corpus(rng: &mut ChaCha8Rng, contents: usize, tag: usize) -> Vec<OofRow> {
        let (offset, noise) = (
            Normal::new(0.0, 0.3).unwrap(),
            Normal::new(0.0, 0.2).unwrap(),
        );
        let mut rows = Vec::new();
        for c in 0..contents {
            let o = offset.sample(rng);
            for k in 0..rng.gen_range(1..=5) {
                let p = rng.gen_range(1.5..4.5);
                rows.push(OofRow {
                    id: format!("{c}-{k}"),
                    group: format!("c{tag}-{c}"),
                    split: None,
                    mos: p + o + noise.sample(rng),
                    prediction: p,
                    mos_native: None,
                    prediction_native: None,
                    mos_se: None,
                });
            }
        }
        rows
    }

    #[test]
    fn coverage_on_a_generated_corpus_is_within_its_binomial_tolerance() {
        let mut rng = ChaCha8Rng::seed_from_u64(25);
        for coverage in [0.9, 0.95] {
            // Calibrate on 5 folds of 60 contents each.
            let folds: Vec<Vec<OofRow>> = (0..5).map(|f| corpus(&mut rng, 60, f)).collect();
            let rec = calibrate(&folds, coverage).unwrap();
            assert_eq!(rec.contents, 300);
            // New contents: the share of clips inside their interval. A
            // content's clips share its offset, so the tolerance is that of
            // a binomial over contents (3 sigma), not over clips.
            let fresh = corpus(&mut rng, 4000, 9);
            let inside = fresh
                .iter()
                .filter(|r| {
                    let (lo, hi) = rec.bounds(r.prediction);
                    lo <= r.mos && r.mos <= hi
                })
                .count() as f64
                / fresh.len() as f64;
            let sd = (coverage * (1.0 - coverage) / 4000.0).sqrt();
            // The calibration set's own sampling error (300 contents).
            let cal = (coverage * (1.0 - coverage) / 300.0).sqrt();
            let tol = 3.0 * (sd * sd + cal * cal).sqrt();
            assert!(
                (inside - coverage).abs() <= tol,
                "{coverage}: {inside} outside +-{tol}"
            );
            let oof = rec.oof_coverage.unwrap();
            assert!((oof - coverage).abs() <= 3.0 * cal * 2.0, "{oof}");
            let (lo, hi) = rec.bounds(3.0);
            assert_eq!((lo, hi), (3.0 - rec.half_width, 3.0 + rec.half_width));
        }
        // One fold: no cross-fitted coverage.
        let one = calibrate(&[corpus(&mut rng, 30, 0)], 0.9).unwrap();
        assert_eq!(one.oof_coverage, None);
    }
}
