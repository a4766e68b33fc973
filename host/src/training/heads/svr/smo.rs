//! libsvm's SMO solver for support vector regression, ported from
//! `svm.cpp` (libsvm 3.x: `Solver`, `Solver_NU`, `solve_epsilon_svr`,
//! `solve_nu_svr`): the same working-set selection (WSS3, second order,
//! Fan, Chen and Lin 2005), the same two-variable update with its clipping
//! cases, the same stopping rule (maximal violating pair below `tol`) and
//! the same `rho`, and libsvm's shrinking as an option ([`Stop::shrinking`],
//! the heads' default; see `active.rs`). Without shrinking the solver
//! takes libsvm's exact path (the golden test runs scikit-learn with
//! `shrinking=False`); with it, the scans skip the variables shrinking
//! left out, and the path can differ, not the stopping rule, which is
//! checked on every variable before the solver stops.
//!
//! The problem has `2 n` variables for `n` rows: `alpha` (sign `+1`) and
//! `alpha*` (sign `-1`), with `Q_ij = s_i s_j K(i mod n, j mod n)`.

use super::active::Active;
pub use super::active::ShrinkStats;
use super::kernel::{Row, RowCache};
use super::loops;

/// libsvm's `TAU`: the curvature used when a pair's is not positive.
const TAU: f64 = 1e-12;

/// Which SVR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Formulation {
    /// epsilon-SVR: the tube width `epsilon` is given.
    Epsilon {
        /// Tube half-width.
        epsilon: f64,
    },
    /// nu-SVR: `nu` bounds the fraction of support vectors; the tube width
    /// is found.
    Nu {
        /// In (0, 1].
        nu: f64,
    },
}

/// A solved SVR dual.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// `alpha_i - alpha*_i` per training row.
    pub coef: Vec<f64>,
    /// The `2 n` dual variables: `alpha` then `alpha*`.
    pub alpha: Vec<f64>,
    /// The decision function is `sum_i coef_i K(x_i, x) - rho`.
    pub rho: f64,
    /// nu-SVR's tube half-width (`-r` in libsvm); epsilon-SVR's given one.
    pub epsilon: f64,
    /// SMO iterations.
    pub iterations: u64,
    /// Whether the stopping rule was met (else the iteration cap).
    pub converged: bool,
    /// The dual objective.
    pub objective: f64,
    /// What shrinking did.
    pub shrinking: ShrinkStats,
}

#[derive(Clone, Copy, PartialEq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

/// A variable's bound (libsvm's `alpha_status`).
fn bound(alpha: f64, c: f64) -> Bound {
    if alpha >= c {
        Bound::Upper
    } else if alpha <= 0.0 {
        Bound::Lower
    } else {
        Bound::Free
    }
}

struct Solver<'c, 'a> {
    cache: &'c mut RowCache<'a>,
    /// The variables and the active set the scans run over.
    s: Active,
    c: f64,
}

impl Solver<'_, '_> {
    /// The kernel row of active variable `a` at the active variables:
    /// `Q_ab = s_a s_b K(a, b)`, so the loops below read `Q` through it
    /// without building a row of `Q` (signs are exact, so every product
    /// is libsvm's to the bit).
    fn k_row(&mut self, a: usize) -> Row {
        self.s.row(self.cache, a)
    }

    /// libsvm `Solver::select_working_set` over the active set; `None`
    /// when it is optimal. The scans are [`loops`]'s, which pick libsvm's
    /// pair.
    fn select(&mut self, tol: f64) -> Option<(usize, usize)> {
        let split = self.s.split;
        let (g, alpha) = (&self.s.g, &self.s.alpha);
        let top = loops::half_max::<true>(&g[..split], &alpha[..split], self.c);
        let bottom = loops::half_max::<false>(&g[split..], &alpha[split..], self.c)
            .map(|(v, j)| (v, j + split));
        let (gmax, i) = match (top, bottom) {
            (Some(t), Some(b)) => Some(if b.0 >= t.0 { b } else { t }),
            (t, b) => t.or(b),
        }?;
        let k_i = self.k_row(i);
        let (k_top, k_bottom) = self.s.halves(&k_i);
        let qd_i = self.s.qd[i];
        let (g2t, g2b, j) = loops::second(
            (&self.s.g, &self.s.alpha, &self.s.qd),
            self.c,
            split,
            (gmax, Some((qd_i, k_top))),
            (gmax, Some((qd_i, k_bottom))),
        );
        if gmax + g2t.max(g2b) < tol {
            return None;
        }
        j.map(|j| (i, j))
    }

    /// libsvm `Solver_NU::select_working_set` over the active set; `None`
    /// when it is optimal.
    fn select_nu(&mut self, tol: f64) -> Option<(usize, usize)> {
        let split = self.s.split;
        let (g, alpha) = (&self.s.g, &self.s.alpha);
        let p = loops::half_max::<true>(&g[..split], &alpha[..split], self.c);
        let m = loops::half_max::<false>(&g[split..], &alpha[split..], self.c)
            .map(|(v, j)| (v, j + split));
        let gmaxp = p.map_or(f64::NEG_INFINITY, |t| t.0);
        let gmaxn = m.map_or(f64::NEG_INFINITY, |t| t.0);
        // Q_ij = s_i s_j K_ij with s_i = s_j on each side: K_ij.
        let q_ip = p.map(|(_, i)| self.k_row(i));
        let q_in = m.map(|(_, i)| self.k_row(i));
        let qd = &self.s.qd;
        let upper = p
            .zip(q_ip.as_deref())
            .map(|((_, i), r)| (qd[i], self.s.halves(r).0));
        let lower = m
            .zip(q_in.as_deref())
            .map(|((_, i), r)| (qd[i], self.s.halves(r).1));
        let (gmaxp2, gmaxn2, j) = loops::second(
            (&self.s.g, &self.s.alpha, qd),
            self.c,
            split,
            (gmaxp, upper),
            (gmaxn, lower),
        );
        if (gmaxp + gmaxp2).max(gmaxn + gmaxn2) < tol {
            return None;
        }
        let j = j?;
        let i = if j < split { p } else { m }?.1;
        Some((i, j))
    }

    /// The two-variable update of libsvm `Solver::Solve` on the active
    /// variables `i` and `j`.
    fn step(&mut self, i: usize, j: usize) {
        let k_i = self.k_row(i);
        let k_j = self.k_row(j);
        let (si, sj) = (self.s.sign(i), self.s.sign(j));
        // Q_ij = s_i s_j K_ij.
        let q_ij = si * sj * f64::from(self.s.entry(&k_i, j));
        let (c_i, c_j) = (self.c, self.c);
        let (old_i, old_j) = (self.s.alpha[i], self.s.alpha[j]);
        let (qd, g) = (&self.s.qd, &self.s.g);
        let (mut ai, mut aj) = (old_i, old_j);
        if si != sj {
            let mut quad = qd[i] + qd[j] + 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (-g[i] - g[j]) / quad;
            let diff = ai - aj;
            ai += delta;
            aj += delta;
            if diff > 0.0 {
                if aj < 0.0 {
                    aj = 0.0;
                    ai = diff;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = -diff;
            }
            if diff > c_i - c_j {
                if ai > c_i {
                    ai = c_i;
                    aj = c_i - diff;
                }
            } else if aj > c_j {
                aj = c_j;
                ai = c_j + diff;
            }
        } else {
            let mut quad = qd[i] + qd[j] - 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (g[i] - g[j]) / quad;
            let sum = ai + aj;
            ai -= delta;
            aj += delta;
            if sum > c_i {
                if ai > c_i {
                    ai = c_i;
                    aj = sum - c_i;
                }
            } else if aj < 0.0 {
                aj = 0.0;
                ai = sum;
            }
            if sum > c_j {
                if aj > c_j {
                    aj = c_j;
                    ai = sum - c_j;
                }
            } else if ai < 0.0 {
                ai = 0.0;
                aj = sum;
            }
        }
        self.s.alpha[i] = ai;
        self.s.alpha[j] = aj;
        let (di, dj) = (ai - old_i, aj - old_j);
        let (ki, kj) = (self.s.halves(&k_i), self.s.halves(&k_j));
        loops::update_gradient(&mut self.s.g, self.s.split, ki, kj, (si, di), (sj, dj));
        self.s.after_step(self.cache, i, old_i);
        self.s.after_step(self.cache, j, old_j);
    }
}

/// libsvm `Solver::calculate_rho` over every variable (`alpha` and its
/// gradient `g`, signs `+1` then `-1`).
fn rho(alpha: &[f64], g: &[f64], c: f64) -> f64 {
    let n = alpha.len() / 2;
    let (mut ub, mut lb, mut sum_free, mut nr_free) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for (i, (&a, &gi)) in alpha.iter().zip(g).enumerate() {
        let s = if i < n { 1.0 } else { -1.0 };
        let yg = s * gi;
        match bound(a, c) {
            Bound::Upper => {
                if s < 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            }
            Bound::Lower => {
                if s > 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            }
            Bound::Free => {
                nr_free += 1;
                sum_free += yg;
            }
        }
    }
    if nr_free > 0 {
        sum_free / nr_free as f64
    } else {
        (ub + lb) / 2.0
    }
}

/// libsvm `Solver_NU::calculate_rho` over every variable: `(rho, r)`.
fn rho_nu(alpha: &[f64], g: &[f64], c: f64) -> (f64, f64) {
    let n = alpha.len() / 2;
    let mut side = [(f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize); 2];
    for (i, (&a, &gi)) in alpha.iter().zip(g).enumerate() {
        let s = &mut side[usize::from(i >= n)];
        match bound(a, c) {
            Bound::Upper => s.1 = s.1.max(gi),
            Bound::Lower => s.0 = s.0.min(gi),
            Bound::Free => {
                s.3 += 1;
                s.2 += gi;
            }
        }
    }
    let r = |(ub, lb, sum, nr): (f64, f64, f64, usize)| {
        if nr > 0 {
            sum / nr as f64
        } else {
            (ub + lb) / 2.0
        }
    };
    let (r1, r2) = (r(side[0]), r(side[1]));
    ((r1 - r2) / 2.0, (r1 + r2) / 2.0)
}

/// How a solve runs: its stopping tolerance and whether it shrinks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// The stopping tolerance (`> 0`): the maximal violation at the end.
    pub tol: f64,
    /// libsvm's shrinking (see [`ShrinkStats`]): the same optimum within
    /// `tol`, fewer variables scanned per iteration, another path (so other
    /// last digits) than without it.
    pub shrinking: bool,
}

/// Solves the SVR dual on the rows behind `cache` with targets `y`,
/// penalty `c`, stopping as `stop` says.
pub fn solve(
    cache: &mut RowCache<'_>,
    y: &[f64],
    c: f64,
    form: Formulation,
    stop: Stop,
) -> Solution {
    solve_from(cache, y, c, form, stop, None)
}

/// [`solve`], for epsilon-SVR started from the coefficients `start` of
/// another solution on the same rows (alpha seeding: model selection walks
/// up `C` from the previous, smaller `C`'s solution). Any coefficients
/// summing to zero are a feasible start once clipped to `[-c, c]`; the
/// optimum is the same within the tolerance, the path (and so the last
/// digits) is not. nu-SVR always starts from libsvm's point.
pub fn solve_from(
    cache: &mut RowCache<'_>,
    y: &[f64],
    c: f64,
    form: Formulation,
    stop: Stop,
    start: Option<&[f64]>,
) -> Solution {
    let n = y.len();
    let l = 2 * n;
    let (alpha, p): (Vec<f64>, Vec<f64>) = match form {
        Formulation::Epsilon { epsilon } => (
            match start.filter(|s| s.len() == n && s.iter().all(|v| v.abs() <= c)) {
                Some(s) => s
                    .iter()
                    .map(|v| v.max(0.0))
                    .chain(s.iter().map(|v| (-v).max(0.0)))
                    .collect(),
                None => vec![0.0; l],
            },
            (0..l)
                .map(|i| {
                    if i < n {
                        epsilon - y[i]
                    } else {
                        epsilon + y[i - n]
                    }
                })
                .collect(),
        ),
        Formulation::Nu { nu } => {
            let mut sum = c * nu * n as f64 / 2.0;
            let mut alpha = vec![0.0; l];
            for i in 0..n {
                let a = sum.min(c);
                alpha[i] = a;
                alpha[i + n] = a;
                sum -= a;
            }
            let p = (0..l)
                .map(|i| if i < n { -y[i] } else { y[i - n] })
                .collect();
            (alpha, p)
        }
    };
    let active = Active::new(cache, alpha, p.clone(), c, stop.shrinking);
    let mut s = Solver {
        cache,
        s: active,
        c,
    };
    let tol = stop.tol;
    let max_iter = 10_000_000u64.max(100 * l as u64);
    let nu = matches!(form, Formulation::Nu { .. });
    let select = |s: &mut Solver<'_, '_>| if nu { s.select_nu(tol) } else { s.select(tol) };
    let mut iterations = 0;
    let mut converged = false;
    // libsvm's countdown to the next shrink.
    let mut counter = l.min(1000) + 1;
    while iterations < max_iter {
        if stop.shrinking {
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                s.s.shrink(s.cache, tol, nu);
            }
        }
        let pair = match select(&mut s) {
            Some(pair) => pair,
            // The active set is optimal: check every variable.
            None if s.s.reconstruct(s.cache) => match select(&mut s) {
                Some(pair) => {
                    counter = 1;
                    pair
                }
                None => {
                    converged = true;
                    break;
                }
            },
            None => {
                converged = true;
                break;
            }
        };
        iterations += 1;
        s.s.count_iteration();
        s.step(pair.0, pair.1);
    }
    let (alpha, g, shrinking) = s.s.finish(s.cache);
    let (rho, epsilon) = match form {
        Formulation::Epsilon { epsilon } => (rho(&alpha, &g, c), epsilon),
        Formulation::Nu { .. } => {
            let (rho, r) = rho_nu(&alpha, &g, c);
            (rho, -r)
        }
    };
    let objective = alpha
        .iter()
        .zip(g.iter().zip(&p))
        .map(|(a, (g, p))| a * (g + p))
        .sum::<f64>()
        / 2.0;
    let coef = (0..n).map(|i| alpha[i] - alpha[i + n]).collect();
    Solution {
        coef,
        alpha,
        rho,
        epsilon,
        iterations,
        converged,
        objective,
        shrinking,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::heads::svr::kernel::{Gram, KernelKind};
    use crate::training::heads::testing::data;

    #[test]
    fn a_warm_start_reaches_the_cold_optimum_and_a_shared_gram_is_the_cache() {
        let (x, y) = data(80, 3, 4);
        let eps = Formulation::Epsilon { epsilon: 0.1 };
        let mut cache = RowCache::new(&x, KernelKind::Rbf, 0.7, 1 << 20);
        let stop = Stop {
            tol: 1e-3,
            shrinking: false,
        };
        let cold = solve(&mut cache, &y, 8.0, eps, stop);
        let small = solve(&mut cache, &y, 1.0, eps, stop);
        let warm = solve_from(&mut cache, &y, 8.0, eps, stop, Some(&small.coef));
        assert!(cold.converged && warm.converged);
        assert!(
            (cold.objective - warm.objective).abs() <= 1e-3 * cold.objective.abs(),
            "{} vs {}",
            cold.objective,
            warm.objective
        );
        let all: Vec<usize> = (0..80).collect();
        let gram = Gram::new(&x, KernelKind::Rbf, 0.7);
        let decide = |s: &Solution| -> Vec<f64> {
            (0..80)
                .map(|i| {
                    (0..80)
                        .map(|j| s.coef[j] * f64::from(gram.get(j, i)))
                        .sum::<f64>()
                        - s.rho
                })
                .collect()
        };
        let worst = decide(&cold)
            .iter()
            .zip(decide(&warm))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-2, "warm and cold decisions differ by {worst}");
        // The same rows through a shared matrix take libsvm's exact path.
        let shared = solve(&mut gram.cache(&all), &y, 8.0, eps, stop);
        assert_eq!(shared, cold);
    }
}
