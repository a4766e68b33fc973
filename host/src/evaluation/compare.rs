//! Is model A better than model B on the same rows?
//!
//! [`compare`] takes the predictions of two or more models on one set of
//! rows (their MOS, the MOS standard errors where known, and each row's
//! content group) and tests every pair two ways:
//!
//! - **Paired cluster bootstrap** ([`ClusterBootstrap`]): each resample of
//!   whole content groups scores both models on the same rows; the
//!   percentile interval of `metric(A) - metric(B)` for PLCC, SROCC and
//!   RMSE (raw predictions, head scale), and the two-sided bootstrap
//!   p-value `min(1, 2 min(P(d <= 0), P(d >= 0)))` over the resamples.
//! - **ITU-T P.1401 section 7.6**, on each model's predictions after its
//!   own VQEG logistic fitted on these rows (`d` = 4 parameters), as
//!   P.1401 evaluates them:
//!   - *correlation* ([`dependent_correlation`]): the mapped PLCCs share
//!     the MOS, so they are dependent; Steiger's (1980) `Z1*` with the
//!     correlation of the two models' predictions. (P.1401 7.6.1's
//!     Fisher-z test treats the two as independent samples, which rows
//!     scored by both models are not.)
//!   - *RMSE* ([`rmse_f_test`], P.1401 7.6.4): `F = rmse_max^2 /
//!     rmse_min^2` with `N - d` degrees of freedom each, `rmse` taken with
//!     `N - d` in its denominator; two-sided (twice the upper tail).
//!   - *outlier ratio* ([`outlier_ratio_test`], P.1401 7.6.2): the
//!     difference of two proportions, `Z = (OR_A - OR_B) / sqrt(p (1 - p)
//!     (1/N_A + 1/N_B))` with the pooled proportion `p`; over the rows with
//!     a known MOS standard error (an outlier: `|error| > 2 SE`).
//!
//! With more than two models, each test's p-values over the pairs are
//! Holm-corrected ([`holm`]; the uncorrected value is kept as `p_raw`). A
//! pair's [`Verdict`] says which model is better when at least one test
//! finds a difference at the 5% level and none points the other way.

use serde::Serialize;

use super::intervals::{percentile_interval, ClusterBootstrap, Interval, LEVEL};
use super::logistic::{fit_logistic, LogisticFit};
use super::metrics::{outlier_ratio, plcc, rmse, srocc};

/// The significance level of every verdict.
pub const ALPHA: f64 = 0.05;

/// The predictions of two models on the same rows.
#[derive(Debug, Clone, Copy)]
pub struct Paired<'a> {
    /// Model A's predictions (head scale).
    pub a: &'a [f64],
    /// Model B's predictions, row for row.
    pub b: &'a [f64],
    /// The rows' MOS (head scale).
    pub mos: &'a [f64],
    /// Each row's MOS standard error, where known.
    pub se: &'a [Option<f64>],
    /// Each row's content group.
    pub groups: &'a [u32],
}

/// One test of a pair: the figure of each model, their difference (`a -
/// b`), and the p-value of the null hypothesis that the two are equal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Test {
    /// Model A's figure.
    pub a: Option<f64>,
    /// Model B's figure.
    pub b: Option<f64>,
    /// `a - b`.
    pub difference: Option<f64>,
    /// The 95% paired-bootstrap interval of the difference (bootstrap
    /// tests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// The test statistic (P.1401 tests only: Steiger's Z, F, Z).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    /// Degrees of freedom of the F-test (`N - d` each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<usize>,
    /// Rows the test counted, when fewer than all (the outlier ratio:
    /// rows with a known MOS standard error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<usize>,
    /// The p-value (Holm-corrected over the pairs when more than two
    /// models are compared); `None` when undefined.
    pub p: Option<f64>,
    /// The uncorrected p-value, when `p` is Holm-corrected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_raw: Option<f64>,
}

impl Test {
    fn new(a: Option<f64>, b: Option<f64>) -> Self {
        Test {
            a,
            b,
            difference: a.zip(b).map(|(a, b)| a - b),
            interval: None,
            statistic: None,
            df: None,
            rows: None,
            p: None,
            p_raw: None,
        }
    }
}

/// Which model a pair's tests favour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No test finds a difference at [`ALPHA`].
    NoDifference,
    /// Some test favours A, none favours B.
    ABetter,
    /// Some test favours B, none favours A.
    BBetter,
    /// Tests disagree.
    Mixed,
}

/// Every test of one pair of models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairComparison {
    /// Model A's index among the models compared.
    pub a: usize,
    /// Model B's index.
    pub b: usize,
    /// PLCC of the raw predictions, paired cluster bootstrap.
    pub plcc: Test,
    /// SROCC, paired cluster bootstrap.
    pub srocc: Test,
    /// RMSE of the raw predictions (head scale), paired cluster bootstrap.
    pub rmse: Test,
    /// P.1401: the mapped PLCCs, a difference of dependent correlations.
    pub p1401_correlation: Test,
    /// P.1401: the RMSE (`N - d`) of the mapped predictions, F-test.
    pub p1401_rmse: Test,
    /// P.1401: the outlier ratios of the mapped predictions.
    pub p1401_outlier_ratio: Test,
    /// What the tests say.
    pub verdict: Verdict,
}

/// Whether a larger figure is the better one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
}

impl PairComparison {
    /// The tests with their names (the keys of `--json`) and which figure
    /// is the better.
    fn tests_mut(&mut self) -> [(&'static str, &mut Test, Better); 6] {
        [
            ("plcc", &mut self.plcc, Better::Higher),
            ("srocc", &mut self.srocc, Better::Higher),
            ("rmse", &mut self.rmse, Better::Lower),
            (
                "p1401_correlation",
                &mut self.p1401_correlation,
                Better::Higher,
            ),
            ("p1401_rmse", &mut self.p1401_rmse, Better::Lower),
            (
                "p1401_outlier_ratio",
                &mut self.p1401_outlier_ratio,
                Better::Lower,
            ),
        ]
    }

    /// The tests with their names (the keys of `--json`), in order.
    pub fn tests(&self) -> [(&'static str, &Test); 6] {
        [
            ("plcc", &self.plcc),
            ("srocc", &self.srocc),
            ("rmse", &self.rmse),
            ("p1401_correlation", &self.p1401_correlation),
            ("p1401_rmse", &self.p1401_rmse),
            ("p1401_outlier_ratio", &self.p1401_outlier_ratio),
        ]
    }

    /// Sets the verdict from the (corrected) p-values.
    fn decide(&mut self) {
        let (mut for_a, mut for_b) = (false, false);
        for (_, t, better) in self.tests_mut() {
            let (Some(p), Some(d)) = (t.p, t.difference) else {
                continue;
            };
            if p >= ALPHA || d == 0.0 {
                continue;
            }
            let a_wins = match better {
                Better::Higher => d > 0.0,
                Better::Lower => d < 0.0,
            };
            if a_wins {
                for_a = true;
            } else {
                for_b = true;
            }
        }
        self.verdict = match (for_a, for_b) {
            (false, false) => Verdict::NoDifference,
            (true, false) => Verdict::ABetter,
            (false, true) => Verdict::BBetter,
            (true, true) => Verdict::Mixed,
        };
    }

    /// The names of the tests that found a difference at [`ALPHA`].
    pub fn significant(&self) -> Vec<&'static str> {
        self.tests()
            .into_iter()
            .filter(|(_, t)| t.p.is_some_and(|p| p < ALPHA) && t.difference != Some(0.0))
            .map(|(name, _)| name)
            .collect()
    }
}

/// A comparison of two or more models on the same rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Rows compared.
    pub rows: usize,
    /// Content groups among them (the bootstrap's clusters).
    pub contents: usize,
    /// Rows with a known MOS standard error (the outlier-ratio test's).
    pub rows_with_se: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Significance level of the verdicts.
    pub alpha: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Their seed.
    pub seed: u64,
    /// Whether p-values are Holm-corrected (more than two models).
    pub holm: bool,
    /// Every pair `(i, j)`, `i < j`, in order.
    pub pairs: Vec<PairComparison>,
}

/// The standard normal upper tail `P(Z > z)`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// The regularized incomplete beta function `I_x(a, b)` (continued
/// fraction, modified Lentz; Numerical Recipes' `betai`). `None` outside
/// `0 <= x <= 1`, `a, b > 0`, or when the fraction does not converge.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> Option<f64> {
    if !(a > 0.0 && b > 0.0 && (0.0..=1.0).contains(&x)) {
        return None;
    }
    if x == 0.0 || x == 1.0 {
        return Some(x);
    }
    let ln_front =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    // The fraction converges fast for x < (a + 1) / (a + b + 2); use the
    // symmetry I_x(a, b) = 1 - I_{1-x}(b, a) otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        Some(front * beta_fraction(a, b, x)? / a)
    } else {
        Some(1.0 - front * beta_fraction(b, a, 1.0 - x)? / b)
    }
}

/// The continued fraction of [`incomplete_beta`].
fn beta_fraction(a: f64, b: f64, x: f64) -> Option<f64> {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    // One step of the modified Lentz recurrence with coefficient `aa`:
    // the factor `h` is multiplied by.
    let mut step = |aa: f64| {
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        d * c
    };
    for m in 1..=10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= step(m * (b - m) * x / ((qam + m2) * (a + m2)));
        let del = step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)));
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            return Some(h);
        }
    }
    None
}

/// The upper tail `P(F > f)` of Fisher's F distribution with `d1` and `d2`
/// degrees of freedom.
pub fn f_sf(f: f64, d1: f64, d2: f64) -> Option<f64> {
    if !(f.is_finite() && d1 > 0.0 && d2 > 0.0) {
        return None;
    }
    if f <= 0.0 {
        return Some(1.0);
    }
    incomplete_beta(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))
}

/// Steiger's (1980) `Z1*` test of `H0: rho_A = rho_B` for two dependent
/// correlations that share a variable (each model's PLCC with the same
/// MOS): `r_a`, `r_b` the correlations, `r_ab` the correlation of the two
/// models' predictions, `n` the rows. With `r = (r_a + r_b) / 2`,
/// `psi = r_ab (1 - 2 r^2) - r^2 (1 - 2 r^2 - r_ab^2) / 2`, `c = psi / (1 -
/// r^2)^2`: `Z = sqrt(n - 3) (atanh r_a - atanh r_b) / sqrt(2 - 2 c)`.
/// Returns `(Z, two-sided p)`. Two identical models (`c = 1`, equal
/// correlations) give `(0, 1)`; `None` for `n < 4`, a correlation of
/// magnitude 1, or no variance left.
pub fn dependent_correlation(r_a: f64, r_b: f64, r_ab: f64, n: usize) -> Option<(f64, f64)> {
    if n < 4 || ![r_a, r_b, r_ab].iter().all(|r| r.is_finite()) {
        return None;
    }
    if r_a == r_b {
        return Some((0.0, 1.0));
    }
    if r_a.abs() >= 1.0 || r_b.abs() >= 1.0 {
        return None;
    }
    let r = (r_a + r_b) / 2.0;
    let r2 = r * r;
    let psi = r_ab * (1.0 - 2.0 * r2) - 0.5 * r2 * (1.0 - 2.0 * r2 - r_ab * r_ab);
    let c = psi / ((1.0 - r2) * (1.0 - r2));
    let var = 2.0 - 2.0 * c;
    if var.is_nan() || var <= 0.0 {
        return None;
    }
    let z = ((n - 3) as f64).sqrt() * (r_a.atanh() - r_b.atanh()) / var.sqrt();
    Some((z, (2.0 * normal_sf(z.abs())).min(1.0)))
}

/// P.1401's RMSE with `N - d` in the denominator: `sqrt(sum e^2 / (N -
/// d))`. `None` when `N <= d` or a value is non-finite.
pub fn rmse_p1401(pred: &[f64], mos: &[f64], d: usize) -> Option<f64> {
    let n = pred.len();
    if n <= d || mos.len() != n {
        return None;
    }
    let ss: f64 = pred.iter().zip(mos).map(|(p, m)| (p - m) * (p - m)).sum();
    let r = (ss / (n - d) as f64).sqrt();
    r.is_finite().then_some(r)
}

/// P.1401 7.6.4: the F-test of two RMSEs ([`rmse_p1401`]) of `a` and `b`
/// on the same `mos`, `d` mapping parameters: `F = rmse_max^2 /
/// rmse_min^2`, `N - d` degrees of freedom each, two-sided p `min(1, 2
/// P(F_{N-d, N-d} > F))`. Two equal RMSEs give `p = 1`.
pub fn rmse_f_test(a: &[f64], b: &[f64], mos: &[f64], d: usize) -> Test {
    let (ra, rb) = (rmse_p1401(a, mos, d), rmse_p1401(b, mos, d));
    let mut t = Test::new(ra, rb);
    if let (Some(ra), Some(rb)) = (ra, rb) {
        let df = a.len() - d;
        t.df = Some(df);
        let (hi, lo) = (ra.max(rb), ra.min(rb));
        if ra == rb {
            t.statistic = Some(1.0);
            t.p = Some(1.0);
        } else if lo > 0.0 {
            let f = (hi * hi) / (lo * lo);
            t.statistic = Some(f);
            t.p = f_sf(f, df as f64, df as f64).map(|p| (2.0 * p).min(1.0));
        }
    }
    t
}

/// P.1401 7.6.2: the outlier ratios ([`outlier_ratio`]) of `a` and `b`
/// over the rows with a known standard error, compared as two
/// proportions with the pooled proportion `p`: `Z = (OR_A - OR_B) /
/// sqrt(p (1 - p) (2 / N))`, two-sided. Equal ratios give `p = 1`;
/// undefined when no row has a known standard error.
pub fn outlier_ratio_test(a: &[f64], b: &[f64], mos: &[f64], se: &[Option<f64>]) -> Test {
    let (oa, ob) = (outlier_ratio(a, mos, se), outlier_ratio(b, mos, se));
    let mut t = Test::new(oa, ob);
    let n = se
        .iter()
        .filter(|s| s.is_some_and(|s| s.is_finite() && s > 0.0))
        .count();
    t.rows = Some(n);
    if let (Some(oa), Some(ob)) = (oa, ob) {
        if oa == ob {
            t.statistic = Some(0.0);
            t.p = Some(1.0);
        } else {
            let p = (oa + ob) / 2.0;
            let sd = (p * (1.0 - p) * (2.0 / n as f64)).sqrt();
            if sd > 0.0 {
                let z = (oa - ob) / sd;
                t.statistic = Some(z);
                t.p = Some((2.0 * normal_sf(z.abs())).min(1.0));
            }
        }
    }
    t
}

/// Holm's step-down correction of a family of p-values (undefined ones
/// are left out of the family and stay undefined): the `i`-th smallest
/// of `m` becomes `max_{j <= i} min(1, (m - j + 1) p_(j))`.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    order.sort_by(|&x, &y| p[x].unwrap_or(1.0).total_cmp(&p[y].unwrap_or(1.0)));
    let m = order.len();
    let mut out = vec![None; p.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in order.iter().enumerate() {
        let adjusted = ((m - j) as f64 * p[i].unwrap_or(1.0)).min(1.0);
        running = running.max(adjusted);
        out[i] = Some(running);
    }
    out
}

/// The two-sided bootstrap p-value of `H0: difference = 0` from the
/// differences of the resamples (non-finite ones are undefined
/// resamples): `min(1, 2 min(#(d <= 0), #(d >= 0)) / #defined)`. `None`
/// when fewer than half of `drawn` are defined.
pub fn bootstrap_p(diffs: &[f64], drawn: usize) -> Option<f64> {
    let defined: Vec<f64> = diffs.iter().copied().filter(|d| d.is_finite()).collect();
    if defined.is_empty() || defined.len() * 2 < drawn {
        return None;
    }
    let le = defined.iter().filter(|&&d| d <= 0.0).count();
    let ge = defined.iter().filter(|&&d| d >= 0.0).count();
    Some((2.0 * le.min(ge) as f64 / defined.len() as f64).min(1.0))
}

/// A model's predictions after the VQEG logistic fitted on these rows;
/// `None` when no fit exists.
fn mapped(pred: &[f64], mos: &[f64]) -> Option<Vec<f64>> {
    let fit = fit_logistic(pred, mos)?;
    fit.beta
        .iter()
        .all(|b| b.is_finite())
        .then(|| pred.iter().map(|&x| fit.apply(x)).collect())
}

/// A metric of predictions against MOS.
type MetricFn = fn(&[f64], &[f64]) -> Option<f64>;

/// The paired cluster-bootstrap test of each of `metrics` for `rows.a`
/// against `rows.b`: each model's figure, the difference `a - b`, its 95%
/// percentile interval and the two-sided bootstrap p-value, from the same
/// `resamples` resamples of content groups (seeded by `seed`).
fn bootstrap_tests<const K: usize>(
    rows: &Paired<'_>,
    seed: u64,
    resamples: usize,
    metrics: [MetricFn; K],
) -> [Test; K] {
    let boot = ClusterBootstrap::new(rows.groups, seed);
    let undefined = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let mut diffs: [Vec<f64>; K] = std::array::from_fn(|_| Vec::with_capacity(resamples));
    let (mut pa, mut pb, mut y) = (vec![], vec![], vec![]);
    boot.for_each(resamples, |idx| {
        pa.clear();
        pb.clear();
        y.clear();
        for &i in idx {
            pa.push(rows.a[i]);
            pb.push(rows.b[i]);
            y.push(rows.mos[i]);
        }
        for (f, d) in metrics.iter().zip(diffs.iter_mut()) {
            d.push(undefined(f(&pa, &y)) - undefined(f(&pb, &y)));
        }
    });
    std::array::from_fn(|k| {
        let (f, d) = (metrics[k], std::mem::take(&mut diffs[k]));
        let mut t = Test::new(f(rows.a, rows.mos), f(rows.b, rows.mos));
        t.p = bootstrap_p(&d, resamples);
        t.interval = percentile_interval(d, resamples, LEVEL);
        t
    })
}

/// A rival's figure that is better than a head's beyond noise (see
/// [`beyond_noise`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    /// `PLCC` or `RMSE`.
    pub metric: &'static str,
    /// The paired test: `a` the rival's figure, `b` the head's, the
    /// difference `a - b` and its 95% interval.
    pub test: Test,
}

/// Where `rows.a` (a rival: a baseline, a single feature, another model)
/// beats `rows.b` (the head) on the same rows beyond noise: the PLCC whose
/// 95% paired cluster-bootstrap interval of `a - b` lies wholly above zero,
/// the RMSE whose interval lies wholly below it. A difference whose
/// interval holds zero is what resampling the contents moves either way,
/// and is not reported. Nothing is resampled when neither point figure of
/// the rival is better.
pub fn beyond_noise(rows: &Paired<'_>, seed: u64, resamples: usize) -> Vec<Margin> {
    let better = |f: MetricFn, higher: bool| match (f(rows.a, rows.mos), f(rows.b, rows.mos)) {
        (Some(a), Some(b)) => (a > b) == higher && a != b,
        _ => false,
    };
    if !better(plcc, true) && !better(rmse, false) {
        return Vec::new();
    }
    let [p, r] = bootstrap_tests(rows, seed, resamples, [plcc, rmse]);
    let mut out = Vec::new();
    if p.interval.is_some_and(|i| i.lo > 0.0) {
        out.push(Margin {
            metric: "PLCC",
            test: p,
        });
    }
    if r.interval.is_some_and(|i| i.hi < 0.0) {
        out.push(Margin {
            metric: "RMSE",
            test: r,
        });
    }
    out
}

/// Every test of one pair (uncorrected p-values).
pub fn compare_pair(rows: &Paired<'_>, seed: u64, resamples: usize) -> PairComparison {
    let [t_plcc, t_srocc, t_rmse] = bootstrap_tests(rows, seed, resamples, [plcc, srocc, rmse]);
    let (ma, mb) = (mapped(rows.a, rows.mos), mapped(rows.b, rows.mos));
    let d = LogisticFit::PARAMETERS;
    let (corr, rmse_f, outliers) = match (&ma, &mb) {
        (Some(ma), Some(mb)) => {
            let (ra, rb) = (plcc(ma, rows.mos), plcc(mb, rows.mos));
            let mut corr = Test::new(ra, rb);
            // Two identical mapped predictions have r_ab = 1 (and a
            // constant one has none, which only matters when ra == rb).
            let r_ab = if ma == mb { Some(1.0) } else { plcc(ma, mb) };
            if let (Some(ra), Some(rb), Some(r_ab)) = (ra, rb, r_ab) {
                if let Some((z, p)) = dependent_correlation(ra, rb, r_ab, rows.mos.len()) {
                    corr.statistic = Some(z);
                    corr.p = Some(p);
                }
            }
            (
                corr,
                rmse_f_test(ma, mb, rows.mos, d),
                outlier_ratio_test(ma, mb, rows.mos, rows.se),
            )
        }
        _ => (
            Test::new(None, None),
            Test::new(None, None),
            Test::new(None, None),
        ),
    };
    let mut pair = PairComparison {
        a: 0,
        b: 1,
        plcc: t_plcc,
        srocc: t_srocc,
        rmse: t_rmse,
        p1401_correlation: corr,
        p1401_rmse: rmse_f,
        p1401_outlier_ratio: outliers,
        verdict: Verdict::NoDifference,
    };
    pair.decide();
    pair
}

/// Compares every pair of `models` (each one prediction per row of
/// `mos`) with [`compare_pair`]; with more than two models each test's
/// p-values are Holm-corrected over the pairs before the verdicts.
pub fn compare(
    models: &[&[f64]],
    mos: &[f64],
    se: &[Option<f64>],
    groups: &[u32],
    seed: u64,
    resamples: usize,
) -> Comparison {
    let mut pairs = Vec::new();
    for i in 0..models.len() {
        for j in i + 1..models.len() {
            let rows = Paired {
                a: models[i],
                b: models[j],
                mos,
                se,
                groups,
            };
            let mut pair = compare_pair(&rows, seed, resamples);
            pair.a = i;
            pair.b = j;
            pairs.push(pair);
        }
    }
    let corrected = pairs.len() > 1;
    if corrected {
        for k in 0..6 {
            let raw: Vec<Option<f64>> = pairs.iter_mut().map(|p| p.tests_mut()[k].1.p).collect();
            for (pair, adjusted) in pairs.iter_mut().zip(holm(&raw)) {
                let t = &mut pair.tests_mut()[k].1;
                t.p_raw = t.p;
                t.p = adjusted;
            }
        }
        for pair in &mut pairs {
            pair.decide();
        }
    }
    let contents = ClusterBootstrap::new(groups, seed).clusters();
    Comparison {
        rows: mos.len(),
        contents,
        rows_with_se: se
            .iter()
            .filter(|s| s.is_some_and(|s| s.is_finite() && s > 0.0))
            .count(),
        level: LEVEL,
        alpha: ALPHA,
        resamples,
        seed,
        holm: corrected,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from `tests/data/golden/compare.py` (scipy and
    /// numpy), committed as `tests/data/golden/compare.json`.
    fn golden() -> serde_json::Value {
        let text = include_str!("../../../tests/data/golden/compare.json");
        serde_json::from_str(text).unwrap()
    }

    use crate::evaluation::intervals::tests::floats;

    fn close(got: Option<f64>, want: &serde_json::Value, tol: f64) {
        let want = want.as_f64().unwrap();
        let got = got.unwrap();
        assert!(
            (got - want).abs() <= tol * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }

    #[test]
    fn distributions_match_scipy() {
        let g = golden();
        for case in g["normal_sf"].as_array().unwrap() {
            close(
                Some(normal_sf(case["z"].as_f64().unwrap())),
                &case["sf"],
                1e-12,
            );
        }
        for case in g["f_sf"].as_array().unwrap() {
            let got = f_sf(
                case["f"].as_f64().unwrap(),
                case["d1"].as_f64().unwrap(),
                case["d2"].as_f64().unwrap(),
            );
            close(got, &case["sf"], 1e-10);
        }
        assert_eq!(f_sf(0.0, 3.0, 4.0), Some(1.0));
        assert_eq!(incomplete_beta(1.0, 1.0, 1.5), None);
    }

    #[test]
    fn p1401_tests_match_an_independent_computation() {
        let g = golden();
        for case in g["p1401"].as_array().unwrap() {
            let (a, b, mos) = (floats(&case["a"]), floats(&case["b"]), floats(&case["mos"]));
            let se: Vec<Option<f64>> = case["se"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64())
                .collect();
            let d = case["d"].as_u64().unwrap() as usize;
            // The dependent-correlation test (Steiger's Z1*).
            let (ra, rb, rab) = (
                plcc(&a, &mos).unwrap(),
                plcc(&b, &mos).unwrap(),
                plcc(&a, &b).unwrap(),
            );
            close(Some(ra), &case["r_a"], 1e-12);
            close(Some(rab), &case["r_ab"], 1e-12);
            let (z, p) = dependent_correlation(ra, rb, rab, mos.len()).unwrap();
            close(Some(z), &case["steiger_z"], 1e-9);
            close(Some(p), &case["steiger_p"], 1e-9);
            // The RMSE F-test.
            let f = rmse_f_test(&a, &b, &mos, d);
            close(f.a, &case["rmse_a"], 1e-12);
            close(f.b, &case["rmse_b"], 1e-12);
            close(f.statistic, &case["f"], 1e-9);
            close(f.p, &case["f_p"], 1e-9);
            assert_eq!(f.df, Some(mos.len() - d));
            // The outlier ratios.
            let o = outlier_ratio_test(&a, &b, &mos, &se);
            close(o.a, &case["or_a"], 1e-12);
            close(o.b, &case["or_b"], 1e-12);
            close(o.statistic, &case["or_z"], 1e-9);
            close(o.p, &case["or_p"], 1e-9);
            assert_eq!(o.rows, Some(case["or_n"].as_u64().unwrap() as usize));
        }
    }

    #[test]
    fn identical_models_are_no_difference() {
        assert_eq!(dependent_correlation(0.8, 0.8, 1.0, 30), Some((0.0, 1.0)));
        let a = [1.0, 2.0, 2.5, 4.0, 3.0, 4.5];
        let mos = [1.2, 2.1, 2.0, 4.2, 3.3, 4.4];
        let se = [Some(0.1); 6];
        let f = rmse_f_test(&a, &a, &mos, 0);
        assert_eq!((f.statistic, f.p), (Some(1.0), Some(1.0)));
        let o = outlier_ratio_test(&a, &a, &mos, &se);
        assert_eq!((o.statistic, o.p), (Some(0.0), Some(1.0)));
        // Paired bootstrap: every difference is exactly 0.
        let groups = [0, 0, 1, 1, 2, 2];
        let c = compare(&[&a, &a], &mos, &se, &groups, 3, 200);
        assert!(!c.holm);
        let pair = &c.pairs[0];
        for (name, t) in pair.tests() {
            if t.difference.is_some() {
                assert_eq!(t.difference, Some(0.0), "{name}");
            }
        }
        assert_eq!(pair.plcc.p, Some(1.0));
        assert_eq!(pair.rmse.interval, Some(Interval { lo: 0.0, hi: 0.0 }));
        assert_eq!(pair.verdict, Verdict::NoDifference);
        assert!(pair.significant().is_empty());
    }

    #[test]
    fn bootstrap_p_by_hand() {
        // Every difference above 0: p = 0; half on each side: p = 1;
        // one of four at or below 0: 2 * 1/4.
        assert_eq!(bootstrap_p(&[0.1, 0.2, 0.3], 3), Some(0.0));
        assert_eq!(bootstrap_p(&[-0.1, 0.1], 2), Some(1.0));
        assert_eq!(bootstrap_p(&[0.0, 0.1, 0.2, 0.3], 4), Some(0.5));
        // Fewer than half defined: none.
        assert_eq!(bootstrap_p(&[0.1, f64::NAN, f64::NAN], 3), None);
    }

    #[test]
    fn holm_by_hand() {
        // m = 3, sorted 0.01, 0.03, 0.04: 0.01 * 3 = 0.03; 0.03 * 2 =
        // 0.06; 0.04 * 1 = 0.04 -> max(0.06, 0.04) = 0.06 (monotone);
        // undefined stays undefined.
        let got = holm(&[Some(0.04), Some(0.01), None, Some(0.03)]);
        let want = [Some(0.06), Some(0.03), None, Some(0.06)];
        for (g, w) in got.iter().zip(want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-15, "{got:?}"),
                _ => assert_eq!(*g, w),
            }
        }
        // Capped at 1.
        assert_eq!(holm(&[Some(0.6), Some(0.7)]), vec![Some(1.0), Some(1.0)]);
    }

    #[test]
    fn a_good_model_beats_noise_and_holm_applies_to_three() {
        // 40 contents of 3 rows; A tracks the MOS, B is noise around the
        // mean, C is A with a little more noise.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let n = 120;
        let mos: Vec<f64> = (0..n).map(|_| rng.gen_range(1.0..5.0)).collect();
        let a: Vec<f64> = mos.iter().map(|m| m + rng.gen_range(-0.3..0.3)).collect();
        let b: Vec<f64> = (0..n).map(|_| 3.0 + rng.gen_range(-0.5..0.5)).collect();
        let c: Vec<f64> = a.iter().map(|m| m + rng.gen_range(-0.2..0.2)).collect();
        let se = vec![Some(0.1); n];
        let groups: Vec<u32> = (0..n as u32).map(|i| i / 3).collect();
        let two = compare(&[&a, &b], &mos, &se, &groups, 1, 500);
        let pair = &two.pairs[0];
        assert_eq!(pair.verdict, Verdict::ABetter);
        assert!(pair.plcc.difference.unwrap() > 0.5);
        assert!(pair.rmse.difference.unwrap() < 0.0);
        let ci = pair.plcc.interval.unwrap();
        assert!(ci.lo > 0.0, "{ci:?}");
        assert!(pair.p1401_correlation.p.unwrap() < 1e-6);
        assert!(pair.p1401_rmse.p.unwrap() < 1e-6);
        assert_eq!(pair.p1401_rmse.df, Some(n - 4));
        // Three models: three pairs, Holm-corrected, never below the raw.
        let three = compare(&[&a, &b, &c], &mos, &se, &groups, 1, 500);
        assert!(three.holm);
        assert_eq!(
            three.pairs.iter().map(|p| (p.a, p.b)).collect::<Vec<_>>(),
            [(0, 1), (0, 2), (1, 2)]
        );
        for p in &three.pairs {
            for (_, t) in p.tests() {
                if let (Some(adj), Some(raw)) = (t.p, t.p_raw) {
                    assert!(adj >= raw);
                }
            }
        }
        assert_eq!(three.pairs[0].verdict, Verdict::ABetter);
        assert_eq!(three.pairs[2].verdict, Verdict::BBetter, "C beats noise");
        // Swapping the models flips the verdict and the signs.
        let swapped = compare(&[&b, &a], &mos, &se, &groups, 1, 500);
        assert_eq!(swapped.pairs[0].verdict, Verdict::BBetter);
        assert_eq!(
            swapped.pairs[0].plcc.difference,
            pair.plcc.difference.map(|d| -d)
        );
    }
}
