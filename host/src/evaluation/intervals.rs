//! Confidence intervals of the reported metrics.
//!
//! - [`ClusterBootstrap`]: resamples of whole content groups, drawn with
//!   replacement from a seeded ChaCha8 stream (the same seed gives the same
//!   resamples, so a manifest that records intervals stays
//!   byte-reproducible). Clips of one source are not independent; a row
//!   bootstrap would understate the spread.
//! - [`percentile`]: the linear-interpolation quantile of a sorted sample
//!   (numpy's default `method="linear"`), and [`percentile_interval`].
//! - [`fisher_z`]: the Fisher-z interval of a Pearson correlation, which
//!   treats rows as independent (beside the cluster bootstrap, which does
//!   not).
//! - [`metric_intervals`]: 95% cluster-bootstrap intervals of PLCC, SROCC,
//!   KROCC and RMSE (head and native scale), with the Fisher-z interval of
//!   PLCC.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::metrics::{krocc, plcc, rmse, srocc};

/// The confidence level of every reported interval.
pub const LEVEL: f64 = 0.95;
/// Bootstrap resamples drawn for an interval.
pub const RESAMPLES: usize = 1000;
pub use super::metrics::Z_975;
/// How the intervals are computed, as recorded.
pub const METHOD: &str = "cluster bootstrap over contents (whole content groups drawn with \
                          replacement), percentile interval (linear interpolation); a metric \
                          undefined in more than half of the resamples has none";

/// A two-sided interval `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Resamples of content groups: each resample draws as many groups as
/// there are, with replacement, and takes every row of each drawn group.
#[derive(Debug, Clone)]
pub struct ClusterBootstrap {
    /// The rows of each group, in row order; groups in ascending key order.
    members: Vec<Vec<usize>>,
    seed: u64,
}

impl ClusterBootstrap {
    /// Groups rows by `groups[i]` (any key; rows of one key are one
    /// cluster). `seed` fixes the resamples.
    pub fn new<K: Ord + Clone>(groups: &[K], seed: u64) -> Self {
        let mut by: BTreeMap<K, Vec<usize>> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            by.entry(g.clone()).or_default().push(i);
        }
        ClusterBootstrap {
            members: by.into_values().collect(),
            seed,
        }
    }

    /// Number of clusters.
    pub fn clusters(&self) -> usize {
        self.members.len()
    }

    /// Calls `f` with the row indices of each of `resamples` resamples, in
    /// order (a row appears once per time its group was drawn).
    pub fn for_each(&self, resamples: usize, mut f: impl FnMut(&[usize])) {
        let g = self.members.len();
        if g == 0 {
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut rows = Vec::new();
        for _ in 0..resamples {
            rows.clear();
            for _ in 0..g {
                rows.extend_from_slice(&self.members[rng.gen_range(0..g)]);
            }
            f(&rows);
        }
    }
}

/// The `q`-quantile (`0 <= q <= 1`) of an ascending `sorted` sample by
/// linear interpolation between order statistics (numpy's default): at
/// position `h = (m - 1) q`, `v[floor h] + (h - floor h) (v[floor h + 1] -
/// v[floor h])`. `None` when empty.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let m = sorted.len();
    if m == 0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let h = (m - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(m - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// The central `level` percentile interval of `values` (non-finite values
/// are undefined resamples). `None` when fewer than half of `drawn`
/// resamples gave a value.
pub fn percentile_interval(mut values: Vec<f64>, drawn: usize, level: f64) -> Option<Interval> {
    values.retain(|v| v.is_finite());
    if values.is_empty() || values.len() * 2 < drawn {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some(Interval {
        lo: percentile(&values, tail)?,
        hi: percentile(&values, 1.0 - tail)?,
    })
}

/// The 95% Fisher-z interval of a Pearson correlation `r` over `n`
/// independent rows: `tanh(atanh r -/+ 1.96 / sqrt(n - 3))` (what
/// `scipy.stats.pearsonr(x, y).confidence_interval()` gives). `None` for
/// `n < 4` or `|r| >= 1`.
pub fn fisher_z(r: f64, n: usize) -> Option<Interval> {
    if n < 4 || r.is_nan() || r.abs() >= 1.0 {
        return None;
    }
    let z = r.atanh();
    let half = Z_975 / ((n - 3) as f64).sqrt();
    Some(Interval {
        lo: (z - half).tanh(),
        hi: (z + half).tanh(),
    })
}

/// `[lo, hi]` to 4 decimals, or `undefined`.
fn interval_text(v: Option<Interval>) -> String {
    v.map_or_else(
        || "undefined".to_owned(),
        |v| format!("[{:.4}, {:.4}]", v.lo, v.hi),
    )
}

/// 95% intervals of the pooled metrics, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricIntervals {
    /// The confidence level (0.95).
    pub level: f64,
    /// How the bootstrap intervals were computed.
    pub method: String,
    /// Resamples drawn.
    pub resamples: usize,
    /// The resampling seed.
    pub seed: u64,
    /// Content groups resampled.
    pub contents: usize,
    /// Of PLCC (raw predictions).
    pub plcc: Option<Interval>,
    /// The Fisher-z interval of PLCC (rows taken as independent).
    pub plcc_fisher_z: Option<Interval>,
    /// Of SROCC.
    pub srocc: Option<Interval>,
    /// Of KROCC (tau-b).
    pub krocc: Option<Interval>,
    /// Of RMSE on the head's 1-5 scale (raw predictions).
    pub rmse: Option<Interval>,
    /// RMSE on the native scale of each row's slot, when every row has one.
    pub rmse_native: Option<f64>,
    /// Its interval.
    pub rmse_native_interval: Option<Interval>,
}

impl MetricIntervals {
    /// One line for summaries and cards: `95% CI (cluster bootstrap over
    /// 38 contents, 1000 resamples): PLCC [0.61, 0.83] (Fisher-z [..]), ...`.
    pub fn describe(&self) -> String {
        let i = interval_text;
        let native = self.rmse_native.map_or_else(String::new, |r| {
            format!(
                "; native-scale RMSE {r:.4} {}",
                i(self.rmse_native_interval)
            )
        });
        format!(
            "{:.0}% CI (cluster bootstrap over {} contents, {} resamples, seed {}): PLCC {} \
             (Fisher-z {}), SROCC {}, KROCC {}, RMSE {}{native}",
            self.level * 100.0,
            self.contents,
            self.resamples,
            self.seed,
            i(self.plcc),
            i(self.plcc_fisher_z),
            i(self.srocc),
            i(self.krocc),
            i(self.rmse),
        )
    }
}

impl MetricIntervals {
    /// The intervals alone, for a baseline's line: `PLCC [a, b], SROCC
    /// [..], RMSE [..]`.
    pub fn brief(&self) -> String {
        let i = interval_text;
        format!(
            "PLCC {}, SROCC {}, RMSE {}",
            i(self.plcc),
            i(self.srocc),
            i(self.rmse)
        )
    }
}

/// Predictions and MOS of a set of rows, with each row's content group.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    /// Predictions, head scale.
    pub pred: &'a [f64],
    /// MOS, head scale.
    pub mos: &'a [f64],
    /// Predictions and MOS on the native scale, when every row has them.
    pub native: Option<(&'a [f64], &'a [f64])>,
    /// Content group of each row.
    pub groups: &'a [u32],
}

/// Gathers `idx` of `v` into `out`.
fn gather(v: &[f64], idx: &[usize], out: &mut Vec<f64>) {
    out.clear();
    out.extend(idx.iter().map(|&i| v[i]));
}

/// Computes the intervals of [`MetricIntervals`] for `s` with `resamples`
/// cluster-bootstrap resamples seeded by `seed`.
pub fn metric_intervals(s: &Scored<'_>, seed: u64, resamples: usize) -> MetricIntervals {
    let boot = ClusterBootstrap::new(s.groups, seed);
    let mut draws: [Vec<f64>; 5] = Default::default();
    let (mut p, mut y, mut pn, mut yn) = (vec![], vec![], vec![], vec![]);
    boot.for_each(resamples, |rows| {
        gather(s.pred, rows, &mut p);
        gather(s.mos, rows, &mut y);
        let undefined = |v: Option<f64>| v.unwrap_or(f64::NAN);
        draws[0].push(undefined(plcc(&p, &y)));
        draws[1].push(undefined(srocc(&p, &y)));
        draws[2].push(undefined(krocc(&p, &y)));
        draws[3].push(undefined(rmse(&p, &y)));
        if let Some((np, ny)) = s.native {
            gather(np, rows, &mut pn);
            gather(ny, rows, &mut yn);
            draws[4].push(undefined(rmse(&pn, &yn)));
        }
    });
    let [d_plcc, d_srocc, d_krocc, d_rmse, d_native] = draws;
    let ci = |d: Vec<f64>| percentile_interval(d, resamples, LEVEL);
    MetricIntervals {
        level: LEVEL,
        method: METHOD.to_owned(),
        resamples,
        seed,
        contents: boot.clusters(),
        plcc: ci(d_plcc),
        plcc_fisher_z: plcc(s.pred, s.mos).and_then(|r| fisher_z(r, s.pred.len())),
        srocc: ci(d_srocc),
        krocc: ci(d_krocc),
        rmse: ci(d_rmse),
        rmse_native: s.native.and_then(|(p, y)| rmse(p, y)),
        rmse_native_interval: s.native.and_then(|_| ci(d_native)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Reference values from `tests/data/golden/intervals.py` (scipy and
    /// numpy), committed as `tests/data/golden/intervals.json`.
    fn golden() -> serde_json::Value {
        let text = include_str!("../../../tests/data/golden/intervals.json");
        serde_json::from_str(text).unwrap()
    }

    /// The numbers of a JSON array (golden fixtures).
    pub(crate) fn floats(v: &serde_json::Value) -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    }

    #[test]
    fn fisher_z_matches_scipy() {
        let g = golden();
        for case in g["fisher_z"].as_array().unwrap() {
            let (x, y) = (floats(&case["x"]), floats(&case["y"]));
            let r = plcc(&x, &y).unwrap();
            assert!((r - case["r"].as_f64().unwrap()).abs() < 1e-12);
            let ci = fisher_z(r, x.len()).unwrap();
            let want = floats(&case["ci95"]);
            assert!((ci.lo - want[0]).abs() < 1e-12, "{ci:?} vs {want:?}");
            assert!((ci.hi - want[1]).abs() < 1e-12, "{ci:?} vs {want:?}");
        }
        assert_eq!(fisher_z(0.5, 3), None);
        assert_eq!(fisher_z(1.0, 30), None);
    }

    #[test]
    fn percentiles_match_numpy() {
        let g = golden();
        for case in g["percentile"].as_array().unwrap() {
            let mut v = floats(&case["values"]);
            v.sort_by(f64::total_cmp);
            for (q, want) in floats(&case["q"]).iter().zip(floats(&case["want"])) {
                let got = percentile(&v, *q).unwrap();
                assert!((got - want).abs() < 1e-12, "q {q}: {got} vs {want}");
            }
        }
        assert_eq!(percentile(&[], 0.5), None);
        // By hand: 1, 2, 3, 4 at q 0.25 sits at position 0.75: 1.75.
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.25), Some(1.75));
    }

    #[test]
    fn cluster_resamples_take_whole_groups() {
        // Groups: a = rows 0, 2; b = row 1; c = rows 3, 4, 5.
        let boot = ClusterBootstrap::new(&["a", "b", "a", "c", "c", "c"], 7);
        assert_eq!(boot.clusters(), 3);
        let mut seen = 0;
        let mut first = Vec::new();
        boot.for_each(50, |rows| {
            seen += 1;
            let mut count = [0usize; 6];
            rows.iter().for_each(|&i| count[i] += 1);
            // Rows of one group come together, as often as it was drawn.
            assert_eq!(count[0], count[2]);
            assert!(count[3] == count[4] && count[4] == count[5]);
            assert_eq!(count[0] + count[1] + count[3], 3, "three draws");
            if first.is_empty() {
                first = rows.to_vec();
            }
        });
        assert_eq!(seen, 50);
        // The same seed gives the same resamples.
        let mut again = Vec::new();
        boot.for_each(1, |rows| again = rows.to_vec());
        assert_eq!(first, again);
        // Another seed, other resamples.
        let mut other = Vec::new();
        ClusterBootstrap::new(&["a", "b", "a", "c", "c", "c"], 8).for_each(20, |rows| {
            other.push(rows.to_vec());
        });
        let mut mine = Vec::new();
        boot.for_each(20, |rows| mine.push(rows.to_vec()));
        assert_ne!(mine, other);
    }

    #[test]
    fn bootstrap_interval_against_a_hand_computation() {
        // Three contents of two rows each; every row of content k is off by
        // exactly k (k = 0, 1, 2), and the correlation is perfect inside
        // each. A resample is three draws of contents; its RMSE is
        // sqrt(mean of k^2 over the draws). The smallest possible value is
        // 0 (content 0 drawn three times, probability 1/27 = 3.7%), the
        // largest 2 (content 2 thrice, 1/27): both more likely than 2.5%,
        // so the 95% percentile interval of the RMSE is exactly [0, 2].
        let mos = [1.0, 2.0, 2.0, 3.0, 3.0, 4.0];
        let pred = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let groups = [0, 0, 1, 1, 2, 2];
        let s = Scored {
            pred: &pred,
            mos: &mos,
            native: Some((&pred, &mos)),
            groups: &groups,
        };
        let ci = metric_intervals(&s, 11, RESAMPLES);
        assert_eq!(ci.contents, 3);
        assert_eq!(ci.rmse, Some(Interval { lo: 0.0, hi: 2.0 }));
        assert_eq!(ci.rmse_native_interval, ci.rmse);
        // sqrt((0 + 0 + 1 + 1 + 4 + 4) / 6)
        assert!((ci.rmse_native.unwrap() - (10.0_f64 / 6.0).sqrt()).abs() < 1e-15);
        // One content drawn thrice has PLCC 1; the rest lie below: the
        // upper end is 1, the lower is below the pooled PLCC.
        let p = ci.plcc.unwrap();
        assert_eq!(p.hi, 1.0);
        assert!(p.lo < plcc(&pred, &mos).unwrap());
        // Seeded: the same call gives the same intervals.
        assert_eq!(metric_intervals(&s, 11, RESAMPLES), ci);
    }

    #[test]
    fn undefined_resamples_leave_no_interval() {
        // Fewer than half of the resamples defined: no interval.
        let nan = f64::NAN;
        assert_eq!(percentile_interval(vec![1.0, nan, nan], 3, LEVEL), None);
        // Half or more: the percentiles of the defined ones.
        let ci = percentile_interval(vec![1.0, nan, 3.0, nan], 4, 0.5).unwrap();
        assert_eq!(ci, Interval { lo: 1.5, hi: 2.5 });
        // No native values, two rows: no native RMSE, no Fisher-z (n < 4).
        let s = Scored {
            pred: &[1.0, 2.0],
            mos: &[1.0, 3.0],
            native: None,
            groups: &[0, 1],
        };
        let ci = metric_intervals(&s, 3, 100);
        assert_eq!(ci.rmse_native, None);
        assert_eq!(ci.rmse_native_interval, None);
        assert_eq!(ci.plcc_fisher_z, None);
        assert!(ci.rmse.is_some());
    }
}
