//! libsvm's SMO solver for support vector regression, ported from
//! `svm.cpp` (libsvm 3.x: `Solver`, `Solver_NU`, `solve_epsilon_svr`,
//! `solve_nu_svr`): the same working-set selection (WSS3, second order,
//! Fan, Chen and Lin 2005), the same two-variable update with its clipping
//! cases, the same stopping rule (maximal violating pair below `tol`) and
//! the same `rho`. Shrinking is not implemented: it changes the path, not
//! the solution, and the golden test runs scikit-learn with
//! `shrinking=False` so both take the same steps.
//!
//! The problem has `2 n` variables for `n` rows: `alpha` (sign `+1`) and
//! `alpha*` (sign `-1`), with `Q_ij = s_i s_j K(i mod n, j mod n)`.

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
}

#[derive(Clone, Copy, PartialEq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

struct Solver<'c, 'a> {
    n: usize,
    cache: &'c mut RowCache<'a>,
    /// Signs (`y` in libsvm): `+1` for `alpha`, `-1` for `alpha*`.
    sign: Vec<f64>,
    qd: Vec<f64>,
    alpha: Vec<f64>,
    status: Vec<Bound>,
    g: Vec<f64>,
    c: f64,
}

impl Solver<'_, '_> {
    fn l(&self) -> usize {
        2 * self.n
    }

    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.c {
            Bound::Upper
        } else if self.alpha[i] <= 0.0 {
            Bound::Lower
        } else {
            Bound::Free
        };
    }

    /// Row `i mod n` of the kernel: `Q_ij = s_i s_j K(i mod n, j mod n)`,
    /// so the loops below read `Q` through it without building a row of
    /// `Q` (signs are exact, so every product is libsvm's to the bit).
    fn k_row(&mut self, i: usize) -> Row {
        self.cache.row(i % self.n)
    }

    /// libsvm `Solver::select_working_set`; `None` when optimal. The scans
    /// are [`loops`]'s, which pick libsvm's pair.
    fn select(&mut self, tol: f64) -> Option<(usize, usize)> {
        let n = self.n;
        let top = loops::half_max::<true>(&self.g[..n], &self.alpha[..n], self.c);
        let bottom = loops::half_max::<false>(&self.g[n..], &self.alpha[n..], self.c)
            .map(|(v, j)| (v, j + n));
        let (gmax, i) = match (top, bottom) {
            (Some(t), Some(b)) => Some(if b.0 >= t.0 { b } else { t }),
            (t, b) => t.or(b),
        }?;
        let k_i = self.k_row(i);
        let first = Some((self.qd[i], &k_i[..]));
        let (g2t, g2b, j) = loops::second(
            &self.g,
            &self.alpha,
            self.c,
            &self.qd[..n],
            (gmax, first),
            (gmax, first),
        );
        if gmax + g2t.max(g2b) < tol {
            return None;
        }
        j.map(|j| (i, j))
    }

    /// libsvm `Solver_NU::select_working_set`; `None` when optimal.
    fn select_nu(&mut self, tol: f64) -> Option<(usize, usize)> {
        let n = self.n;
        let p = loops::half_max::<true>(&self.g[..n], &self.alpha[..n], self.c);
        let m = loops::half_max::<false>(&self.g[n..], &self.alpha[n..], self.c)
            .map(|(v, j)| (v, j + n));
        let gmaxp = p.map_or(f64::NEG_INFINITY, |t| t.0);
        let gmaxn = m.map_or(f64::NEG_INFINITY, |t| t.0);
        // Q_ij = s_i s_j K_ij with s_i = s_j on each side: K_ij.
        let q_ip = p.map(|(_, i)| self.k_row(i));
        let q_in = m.map(|(_, i)| self.k_row(i));
        let qd = &self.qd;
        let upper = p.zip(q_ip.as_deref()).map(|((_, i), r)| (qd[i], r));
        let lower = m.zip(q_in.as_deref()).map(|((_, i), r)| (qd[i], r));
        let (gmaxp2, gmaxn2, j) = loops::second(
            &self.g,
            &self.alpha,
            self.c,
            &qd[..n],
            (gmaxp, upper),
            (gmaxn, lower),
        );
        if (gmaxp + gmaxp2).max(gmaxn + gmaxn2) < tol {
            return None;
        }
        let j = j?;
        let i = if j < n { p } else { m }?.1;
        Some((i, j))
    }

    /// The two-variable update of libsvm `Solver::Solve`.
    fn step(&mut self, i: usize, j: usize) {
        let k_i = self.k_row(i);
        let k_j = self.k_row(j);
        let n = self.n;
        // Q_ij = s_i s_j K_ij.
        let q_ij = self.sign[i] * self.sign[j] * f64::from(k_i[j % n]);
        let (c_i, c_j) = (self.c, self.c);
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let (mut ai, mut aj) = (old_i, old_j);
        if self.sign[i] != self.sign[j] {
            let mut quad = self.qd[i] + self.qd[j] + 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (-self.g[i] - self.g[j]) / quad;
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
            let mut quad = self.qd[i] + self.qd[j] - 2.0 * q_ij;
            if quad <= 0.0 {
                quad = TAU;
            }
            let delta = (self.g[i] - self.g[j]) / quad;
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
        self.alpha[i] = ai;
        self.alpha[j] = aj;
        let (di, dj) = (ai - old_i, aj - old_j);
        loops::update_gradient(
            &mut self.g,
            &k_i,
            &k_j,
            (self.sign[i], di),
            (self.sign[j], dj),
        );
        self.update_status(i);
        self.update_status(j);
    }

    /// libsvm `Solver::calculate_rho`.
    fn rho(&self) -> f64 {
        let (mut ub, mut lb, mut sum_free, mut nr_free) =
            (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
        for i in 0..self.l() {
            let yg = self.sign[i] * self.g[i];
            match self.status[i] {
                Bound::Upper => {
                    if self.sign[i] < 0.0 {
                        ub = ub.min(yg);
                    } else {
                        lb = lb.max(yg);
                    }
                }
                Bound::Lower => {
                    if self.sign[i] > 0.0 {
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

    /// libsvm `Solver_NU::calculate_rho`: `(rho, r)`.
    fn rho_nu(&self) -> (f64, f64) {
        let mut side = [(f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize); 2];
        for i in 0..self.l() {
            let s = &mut side[usize::from(self.sign[i] < 0.0)];
            match self.status[i] {
                Bound::Upper => s.1 = s.1.max(self.g[i]),
                Bound::Lower => s.0 = s.0.min(self.g[i]),
                Bound::Free => {
                    s.3 += 1;
                    s.2 += self.g[i];
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
}

/// Solves the SVR dual on the rows behind `cache` with targets `y`,
/// penalty `c` and stopping tolerance `tol`.
pub fn solve(cache: &mut RowCache<'_>, y: &[f64], c: f64, form: Formulation, tol: f64) -> Solution {
    solve_from(cache, y, c, form, tol, None)
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
    tol: f64,
    start: Option<&[f64]>,
) -> Solution {
    let n = y.len();
    let l = 2 * n;
    let sign: Vec<f64> = (0..l).map(|i| if i < n { 1.0 } else { -1.0 }).collect();
    let qd: Vec<f64> = (0..l).map(|i| cache.diagonal(i % n)).collect();
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
    let mut s = Solver {
        n,
        cache,
        sign,
        qd,
        alpha,
        status: vec![Bound::Free; l],
        g: p.clone(),
        c,
    };
    for i in 0..l {
        s.update_status(i);
    }
    for i in 0..l {
        if s.status[i] != Bound::Lower {
            let k_i = s.k_row(i);
            let (a, si) = (s.alpha[i], s.sign[i]);
            let (top, bottom) = s.g.split_at_mut(n);
            for (t, (gt, gb)) in top.iter_mut().zip(bottom.iter_mut()).enumerate() {
                let k = f64::from(k_i[t]);
                *gt += a * (si * k);
                *gb += a * (-si * k);
            }
        }
    }
    let max_iter = 10_000_000u64.max(100 * l as u64);
    let nu = matches!(form, Formulation::Nu { .. });
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        let pair = if nu { s.select_nu(tol) } else { s.select(tol) };
        let Some((i, j)) = pair else {
            converged = true;
            break;
        };
        iterations += 1;
        s.step(i, j);
    }
    let (rho, epsilon) = match form {
        Formulation::Epsilon { epsilon } => (s.rho(), epsilon),
        Formulation::Nu { .. } => {
            let (rho, r) = s.rho_nu();
            (rho, -r)
        }
    };
    let objective = s
        .alpha
        .iter()
        .zip(s.g.iter().zip(&p))
        .map(|(a, (g, p))| a * (g + p))
        .sum::<f64>()
        / 2.0;
    let coef = (0..n).map(|i| s.alpha[i] - s.alpha[i + n]).collect();
    Solution {
        coef,
        rho,
        epsilon,
        iterations,
        converged,
        objective,
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
        let cold = solve(&mut cache, &y, 8.0, eps, 1e-3);
        let small = solve(&mut cache, &y, 1.0, eps, 1e-3);
        let warm = solve_from(&mut cache, &y, 8.0, eps, 1e-3, Some(&small.coef));
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
        let shared = solve(&mut gram.cache(&all), &y, 8.0, eps, 1e-3);
        assert_eq!(shared, cold);
    }
}
