//! The few special functions the models need: the Student-t quantile (the
//! plain MOS's CI95) and the chi-square quantile (the CI95 of a subject's
//! inconsistency, as SUREAL gives it). Lanczos log-gamma, the regularised
//! incomplete beta and gamma functions by their continued fractions
//! (Numerical Recipes, Lentz's method), and quantiles by bisection of the
//! CDF down to the last representable bracket. Checked against scipy in the
//! golden tests.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; relative error
/// below 1e-14 on the arguments used here).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection: Γ(x) Γ(1 - x) = π / sin(πx)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

const EPS: f64 = 1e-16;
const TINY: f64 = 1e-300;
const MAX_TERMS: usize = 10_000;

/// `x`, kept away from zero.
fn guard(x: f64) -> f64 {
    if x.abs() < TINY {
        TINY
    } else {
        x
    }
}

/// One step of Lentz's method for a continued fraction `b0 + a1/(b1 + a2/(b2 + ...))`:
/// updates `c` and `d` with the term `a / (b + ...)` and returns the factor
/// the running value is multiplied by.
fn lentz_step(a: f64, b: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 / guard(b + a * *d);
    *c = guard(b + a / *c);
    *d * *c
}

/// The continued fraction of the incomplete beta function (Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..MAX_TERMS {
        let m = m as f64;
        let m2 = 2.0 * m;
        h *= lentz_step(
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            1.0,
            &mut c,
            &mut d,
        );
        let del = lentz_step(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            1.0,
            &mut c,
            &mut d,
        );
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b), 0 <= x <= 1.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The regularised lower incomplete gamma function P(a, x).
pub fn inc_gamma_lower(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_front = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        // series
        let mut ap = a;
        let mut del = 1.0 / a;
        let mut sum = del;
        for _ in 0..MAX_TERMS {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        sum * ln_front.exp()
    } else {
        // continued fraction for Q(a, x) (Lentz)
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..MAX_TERMS {
            let i = i as f64;
            b += 2.0;
            let del = lentz_step(-i * (i - a), b, &mut c, &mut d);
            h *= del;
            if (del - 1.0).abs() < EPS {
                break;
            }
        }
        1.0 - ln_front.exp() * h
    }
}

/// The CDF of Student's t with `df` degrees of freedom.
pub fn student_t_cdf(x: f64, df: f64) -> f64 {
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + x * x));
    if x >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The CDF of the chi-square distribution with `df` degrees of freedom.
pub fn chi2_cdf(x: f64, df: f64) -> f64 {
    inc_gamma_lower(df / 2.0, x / 2.0)
}

/// The `p` quantile of an increasing CDF on `[lo, ∞)`, by bisection (the
/// bracket grows until it holds `p`, then halves to the last representable
/// width).
fn quantile(cdf: impl Fn(f64) -> f64, p: f64, lo: f64) -> f64 {
    let mut lo = lo;
    let mut hi = lo.max(0.0) + 1.0;
    let mut grow = 0;
    while cdf(hi) < p && grow < 2_000 {
        lo = hi;
        hi *= 2.0;
        grow += 1;
    }
    for _ in 0..2_000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The `p` quantile of Student's t with `df` degrees of freedom, for
/// 0.5 <= p < 1 (what a two-sided interval needs).
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    quantile(|x| student_t_cdf(x, df), p, 0.0)
}

/// The `p` quantile of the chi-square distribution with `df` degrees of
/// freedom, 0 < p < 1.
pub fn chi2_quantile(p: f64, df: f64) -> f64 {
    quantile(|x| chi2_cdf(x, df), p, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut fact = 1.0_f64;
        for n in 1..30 {
            // Γ(n + 1) = n!
            fact *= n as f64;
            let got = ln_gamma(n as f64 + 1.0);
            assert!(
                (got - fact.ln()).abs() <= 1e-12 * fact.ln().max(1.0),
                "n = {n}"
            );
        }
        // Γ(1/2) = √π
        let half = ln_gamma(0.5);
        assert!((half - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
    }

    #[test]
    fn known_quantiles() {
        // t(0.975, 1) = tan(0.475 π) exactly (Cauchy)
        let cauchy = (0.475 * std::f64::consts::PI).tan();
        assert!((student_t_quantile(0.975, 1.0) - cauchy).abs() < 1e-10 * cauchy);
        // chi2 with 2 df is exponential with mean 2: q(p) = -2 ln(1 - p)
        for p in [0.025, 0.5, 0.975] {
            let want = -2.0 * (1.0_f64 - p).ln();
            assert!(
                (chi2_quantile(p, 2.0) - want).abs() < 1e-12 * want.max(1.0),
                "p = {p}"
            );
        }
        // the t quantile tends to the normal one
        assert!((student_t_quantile(0.975, 1e7) - 1.959_963_984_540_054).abs() < 1e-5);
    }
}
