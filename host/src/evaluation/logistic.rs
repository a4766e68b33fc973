//! The VQEG 4-parameter logistic mapping from predictions to the MOS scale.
//!
//! `Q(x) = b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|))`, fitted by nonlinear
//! least squares of `Q(pred_i)` against `mos_i` with argmin's L-BFGS (memory
//! 7, More–Thuente line search, analytic gradient, at most 500 iterations).
//!
//! The fit runs on standardised data (`u = (x - mean x)/SD x`,
//! `v = (y - mean y)/SD y`, cost = mean squared residual) and maps the
//! parameters back; the logistic family is closed under these affine maps, so
//! the minimiser is the same as on raw data, but argmin's absolute
//! tolerances (gradient norm `sqrt(ε)`, cost change `ε`) then mean the same
//! thing whatever the MOS scale or fold size. The start point is the
//! standardised image of `[max y, min y, mean x, SD x]`.
//!
//! Sequential and deterministic: identical inputs give bit-identical fits.

use argmin::core::{Executor, State, TerminationReason};
use ndarray::Array1;

use crate::training::optim::{lbfgs, Fused};

/// L-BFGS history length.
const LBFGS_MEMORY: usize = 7;
/// Iteration cap of the outer L-BFGS loop.
const MAX_ITERS: u64 = 500;
/// The solve stops when an iteration lowers the cost (a mean squared error
/// in standardised MOS units, at most about 1) by less than this. Nearly
/// linear predictions make the logistic drift towards its linear limit
/// (`b1 -> inf`, `b2 -> -inf`) along a flat valley that has no minimum,
/// improving the cost by ~1e-8 an iteration or less; without this tolerance
/// such a fit ran to the iteration cap (measured on a 30,800-row fold: 500
/// iterations, 0.23 s; with it 140 iterations, 0.06 s, for a cost 1e-5
/// higher, which moves the mapped RMSE in its fifth significant digit).
const COST_TOLERANCE: f64 = 1e-8;
/// `b4` used at the start point when `SD(x)` is zero or not finite.
const FALLBACK_SLOPE: f64 = 0.5;

/// A fitted 4-parameter logistic, with how the optimiser ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticFit {
    /// `[b1, b2, b3, b4]`: upper asymptote, lower asymptote, midpoint and
    /// slope scale (stored as `|b4| >= 0`). Always finite.
    pub beta: [f64; 4],
    /// True only when argmin stopped with `SolverConverged` or
    /// `TargetCostReached`. A fit that hit the iteration cap, whose line search
    /// failed, or that fell back to the start point is `false`; its `beta` is
    /// still usable but must be reported as unconverged.
    pub converged: bool,
    /// Human-readable termination reason (argmin's text, plus a note when the
    /// fit fell back to the start point).
    pub termination: String,
    /// Number of L-BFGS iterations performed.
    pub iterations: u64,
}

impl LogisticFit {
    /// The number of parameters of the mapping (P.1401's `d`).
    pub const PARAMETERS: usize = 4;
}

impl LogisticFit {
    /// Evaluates `Q(x) = b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|))`
    /// (overflow-free sigmoid).
    pub fn apply(&self, x: f64) -> f64 {
        let [b1, b2, b3, b4] = self.beta;
        let (s, _) = sigmoid_pair((x - b3) / b4.abs());
        b2 + (b1 - b2) * s
    }
}

/// Returns `(σ(z), 1 - σ(z))`, both computed without overflow or
/// cancellation.
fn sigmoid_pair(z: f64) -> (f64, f64) {
    if z >= 0.0 {
        let e = (-z).exp();
        (1.0 / (1.0 + e), e / (1.0 + e))
    } else {
        let e = z.exp();
        (e / (1.0 + e), 1.0 / (1.0 + e))
    }
}

/// Least-squares problem in standardised coordinates:
/// `cost(c) = mean_i (Q(u_i; c) - v_i)²`.
struct LogisticProblem {
    u: Vec<f64>,
    v: Vec<f64>,
}

impl LogisticProblem {
    /// Cost and gradient in one pass.
    fn cost_grad(&self, c: &[f64]) -> (f64, [f64; 4]) {
        let (c1, c2, c3, c4) = (c[0], c[1], c[2], c[3]);
        let a = c4.abs();
        let n = self.u.len() as f64;
        let mut cost = 0.0;
        let mut g = [0.0; 4];
        for (&u, &v) in self.u.iter().zip(&self.v) {
            let z = (u - c3) / a;
            let (s, sc) = sigmoid_pair(z);
            let r = c2 + (c1 - c2) * s - v;
            cost += r * r;
            // dQ/dz = (c1 - c2) σ (1 - σ); dz/dc3 = -1/|c4|; dz/dc4 = -z/c4.
            let dqdz = (c1 - c2) * s * sc;
            g[0] += r * s;
            g[1] += r * sc;
            g[2] += r * dqdz * (-1.0 / a);
            g[3] += r * dqdz * (-z / c4);
        }
        (cost / n, g.map(|gi| 2.0 * gi / n))
    }
}

/// Mean and sample SD (`n - 1`), two-pass.
fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    (m, (ss / (n - 1.0)).sqrt())
}

/// Affine change of coordinates `raw = offset + scale * standardised`.
#[derive(Clone, Copy)]
struct Affine {
    offset: f64,
    scale: f64,
}

impl Affine {
    fn to_std(self, raw: f64) -> f64 {
        (raw - self.offset) / self.scale
    }
    fn to_raw(self, s: f64) -> f64 {
        self.offset + self.scale * s
    }
}

/// Fits the VQEG 4-parameter logistic mapping `pred` onto `mos`.
///
/// `None` only when the inputs are unusable: lengths differ, `n < 4`, a
/// non-finite value, or either side constant. Otherwise a fit is always
/// returned; check [`LogisticFit::converged`]. If the optimiser fails
/// outright or its best parameters are non-finite, the fit is the start point
/// `[max mos, min mos, mean pred, SD pred]` (SD falls back to 0.5 when zero or
/// not finite) with `converged = false` and a `termination` saying so.
pub fn fit_logistic(pred: &[f64], mos: &[f64]) -> Option<LogisticFit> {
    let n = pred.len();
    if n < 4 || mos.len() != n {
        return None;
    }
    if !pred.iter().chain(mos).all(|v| v.is_finite()) {
        return None;
    }
    let constant = |x: &[f64]| x.iter().all(|&v| v == x[0]);
    if constant(pred) || constant(mos) {
        return None;
    }

    let (mx, sx) = mean_sd(pred);
    let (my, sy) = mean_sd(mos);
    let y_max = mos.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let y_min = mos.iter().copied().fold(f64::INFINITY, f64::min);
    let slope0 = if sx.is_finite() && sx > 0.0 {
        sx
    } else {
        FALLBACK_SLOPE
    };
    let init = [y_max, y_min, mx, slope0];

    // Standardise when the moments are usable (they are unless the data are
    // near f64::MAX); otherwise fit on raw data.
    let usable = |m: f64, s: f64| m.is_finite() && s.is_finite() && s > 0.0;
    let (ax, ay) = if usable(mx, sx) && usable(my, sy) {
        (
            Affine {
                offset: mx,
                scale: sx,
            },
            Affine {
                offset: my,
                scale: sy,
            },
        )
    } else {
        let id = Affine {
            offset: 0.0,
            scale: 1.0,
        };
        (id, id)
    };
    let problem = LogisticProblem {
        u: pred.iter().map(|&x| ax.to_std(x)).collect(),
        v: mos.iter().map(|&y| ay.to_std(y)).collect(),
    };
    let c0 = Array1::from(vec![
        ay.to_std(init[0]),
        ay.to_std(init[1]),
        ax.to_std(init[2]),
        init[3] / ax.scale,
    ]);

    let fallback = |termination: String, iterations: u64| LogisticFit {
        beta: init,
        converged: false,
        termination,
        iterations,
    };

    let solver = match lbfgs(LBFGS_MEMORY).with_tolerance_cost(COST_TOLERANCE) {
        Ok(s) => s,
        Err(e) => return Some(fallback(format!("optimiser setup: {e}"), 0)),
    };
    let (fused, _) = Fused::new(|c: &[f64]| {
        let (cost, g) = problem.cost_grad(c);
        (cost, g.to_vec())
    });
    let result = match Executor::new(fused, solver)
        .configure(|s| s.param(c0).max_iters(MAX_ITERS))
        .run()
    {
        Ok(r) => r,
        Err(e) => {
            return Some(fallback(
                format!("optimiser error: {e}; fell back to initial beta"),
                0,
            ))
        }
    };
    let state = result.state();
    let iterations = state.get_iter();
    let reason = state.get_termination_reason();
    let converged = matches!(
        reason,
        Some(TerminationReason::SolverConverged | TerminationReason::TargetCostReached)
    );
    let termination = reason.map_or_else(|| "not terminated".to_owned(), |r| r.text().to_owned());

    let beta = state.get_best_param().map(|c| {
        [
            ay.to_raw(c[0]),
            ay.to_raw(c[1]),
            ax.to_raw(c[2]),
            ax.scale * c[3].abs(),
        ]
    });
    match beta {
        Some(beta) if beta.iter().all(|b| b.is_finite()) && beta[3] > 0.0 => Some(LogisticFit {
            beta,
            converged,
            termination,
            iterations,
        }),
        _ => Some(fallback(
            format!(
                "{termination}; non-finite or degenerate parameters, fell back to initial beta"
            ),
            iterations,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::metrics::plcc;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn logistic(beta: [f64; 4], x: f64) -> f64 {
        LogisticFit {
            beta,
            converged: true,
            termination: String::new(),
            iterations: 0,
        }
        .apply(x)
    }

    #[test]
    fn apply_is_the_vqeg_formula_and_overflow_free() {
        let beta = [5.0, 1.0, 0.3, -0.2];
        for x in [-1.0, 0.0, 0.3, 0.7, 2.0] {
            let direct = 1.0 + 4.0 / (1.0 + (-(x - 0.3) / 0.2_f64).exp());
            assert!((logistic(beta, x) - direct).abs() < 1e-14);
        }
        assert_eq!(logistic(beta, 1e6), 5.0);
        assert_eq!(logistic(beta, -1e6), 1.0);
    }

    #[test]
    fn gradient_matches_central_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let u: Vec<f64> = (0..40).map(|_| rng.gen_range(-2.0..2.0)).collect();
        let v: Vec<f64> = u
            .iter()
            .map(|x| x.tanh() + rng.gen_range(-0.3..0.3))
            .collect();
        let prob = LogisticProblem { u, v };
        for _ in 0..8 {
            let mut c = [
                rng.gen_range(0.5..2.0),
                rng.gen_range(-2.0..-0.5),
                rng.gen_range(-1.0..1.0),
                rng.gen_range(0.3..2.0),
            ];
            if rng.gen_bool(0.5) {
                c[3] = -c[3]; // the |b4| branch
            }
            let (_, g) = prob.cost_grad(&c);
            for k in 0..4 {
                let h = 1e-6 * c[k].abs().max(1.0);
                let (mut cp, mut cm) = (c, c);
                cp[k] += h;
                cm[k] -= h;
                let fd = (prob.cost_grad(&cp).0 - prob.cost_grad(&cm).0) / (2.0 * h);
                let rel = (g[k] - fd).abs() / g[k].abs().max(fd.abs()).max(1e-8);
                assert!(rel < 1e-6, "param {k} at {c:?}: analytic {} fd {fd}", g[k]);
            }
        }
    }

    fn synthetic(seed: u64, n: usize, truth: [f64; 4], noise: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..1.0)).collect();
        let y = x
            .iter()
            .map(|&xi| logistic(truth, xi) + noise * rng.gen_range(-1.0..1.0))
            .collect();
        (x, y)
    }

    #[test]
    fn recovers_known_logistic() {
        let truth = [4.6, 1.3, 0.55, 0.12];
        for seed in 0..4 {
            let (x, y) = synthetic(seed, 400, truth, 1e-4);
            let fit = fit_logistic(&x, &y).unwrap();
            assert!(fit.converged, "seed {seed}: {fit:?}");
            for (b, t) in fit.beta.iter().zip(truth) {
                assert!((b - t).abs() < 2e-3, "seed {seed}: {fit:?}");
            }
            let mapped: Vec<f64> = x.iter().map(|&v| fit.apply(v)).collect();
            assert!(plcc(&mapped, &y).unwrap() > 1.0 - 1e-7);
        }
    }

    #[test]
    fn recovers_known_logistic_on_a_100_point_scale() {
        // Same shape, MOS on 0..100 and predictions offset/scaled: the
        // standardisation must make this as easy as the 1..5 case.
        let truth = [92.0, 8.0, 310.0, 25.0];
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let x: Vec<f64> = (0..300).map(|_| rng.gen_range(200.0..420.0)).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&v| logistic(truth, v) + 1e-3 * rng.gen_range(-1.0..1.0))
            .collect();
        let fit = fit_logistic(&x, &y).unwrap();
        assert!(fit.converged, "{fit:?}");
        for (b, t) in fit.beta.iter().zip(truth) {
            assert!((b - t).abs() < 1e-3 * t.abs(), "{fit:?}");
        }
    }

    #[test]
    fn fit_is_deterministic() {
        let (x, y) = synthetic(3, 250, [4.0, 1.0, 0.5, 0.2], 0.4);
        let a = fit_logistic(&x, &y).unwrap();
        let b = fit_logistic(&x, &y).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.beta.map(f64::to_bits), b.beta.map(f64::to_bits));
    }

    #[test]
    fn noisy_fit_is_finite_and_not_worse_than_start() {
        for seed in 0..10 {
            let (x, y) = synthetic(100 + seed, 120, [4.0, 1.0, 0.5, 0.2], 1.0);
            let fit = fit_logistic(&x, &y).unwrap();
            assert!(fit.beta.iter().all(|b| b.is_finite()) && fit.beta[3] > 0.0);
            assert!(fit.iterations <= MAX_ITERS);
            let sse = |f: &LogisticFit| -> f64 {
                x.iter()
                    .zip(&y)
                    .map(|(&a, &b)| (f.apply(a) - b).powi(2))
                    .sum()
            };
            let mean = y.iter().sum::<f64>() / y.len() as f64;
            let (_, sd) = mean_sd(&x);
            let start = LogisticFit {
                beta: [
                    y.iter().copied().fold(f64::MIN, f64::max),
                    y.iter().copied().fold(f64::MAX, f64::min),
                    x.iter().sum::<f64>() / x.len() as f64,
                    sd,
                ],
                ..fit.clone()
            };
            assert!(sse(&fit) <= sse(&start) + 1e-9, "seed {seed} mean {mean}");
        }
    }

    #[test]
    fn unusable_inputs_are_none() {
        let x = [0.1, 0.2, 0.3, 0.4, 0.5];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(fit_logistic(&x[..3], &y[..3]).is_none());
        assert!(fit_logistic(&x, &y[..4]).is_none());
        assert!(fit_logistic(&[0.2; 5], &y).is_none());
        assert!(fit_logistic(&x, &[3.0; 5]).is_none());
        assert!(fit_logistic(&[0.1, 0.2, f64::NAN, 0.4, 0.5], &y).is_none());
    }

    #[test]
    fn small_fit_reports_its_termination() {
        // Four points: a fit exists (possibly unconverged); it must be finite
        // and carry a non-empty termination text either way.
        let fit = fit_logistic(&[0.0, 1.0, 2.0, 3.0], &[1.0, 1.2, 4.0, 4.1]).unwrap();
        assert!(fit.beta.iter().all(|b| b.is_finite()));
        assert!(!fit.termination.is_empty());
    }
}
