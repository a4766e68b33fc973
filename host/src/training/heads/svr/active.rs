//! The SMO's variables and its active set: libsvm's shrinking
//! (`Solver::do_shrinking`, `be_shrunk`, `reconstruct_gradient` and
//! `G_bar` in `svm.cpp`), with the active variables kept in contiguous
//! arrays for the vectorised scans of [`super::loops`].
//!
//! The `2 n` variables are `alpha` (`0..n`, sign `+1`) and `alpha*` (`n..2
//! n`, sign `-1`). The working arrays hold the active ones in increasing
//! order, so the upper half's come first (`..split`) and the lower half's
//! after. While every variable is active (always without shrinking, and
//! until the first shrink with it) the working arrays are the variables
//! themselves and the kernel rows are read from the cache as they are, the
//! same row for both halves: the solver's path is then libsvm's to the
//! bit. Once some are shrunk, a kernel row is needed only at the active
//! variables: the first time a row is read after the active set changed,
//! its active entries are gathered into a compact row (`K(r, v mod n)` for
//! every active `v`, in the working order), kept until the active set
//! changes again (up to [`COMPACT_ROWS_BYTES`] of them).
//!
//! Shrinking as libsvm does it: every `min(2 n, 1000)` iterations the
//! bounded variables that cannot take part in a violating pair (their
//! gradient beyond the current maximal violation, [`Active::shrink`]) are
//! taken out of the scans and gradient updates; `G_bar` (the gradient's
//! part from the variables at the upper bound, `C Q_{:,i}` summed) is kept
//! for every variable so that the gradient of the shrunk ones can be
//! rebuilt from it and the free variables ([`Active::reconstruct`]). Once
//! the maximal violation first falls to `10 tol` every variable is made
//! active again (libsvm's `unshrink`), and when the active set is optimal
//! the whole gradient is rebuilt and the stopping rule checked on every
//! variable before the solver stops. One difference, for speed: libsvm
//! swaps each shrinkable variable out at once; here the working arrays are
//! compacted only when at least `1 / COMPACT_FRACTION` of the active
//! variables can go (more stay active, which is always allowed: shrinking
//! only ever leaves out variables that provably stay at their bound for
//! now), because a compaction makes every kernel row be gathered again.

use std::sync::Arc;

use super::kernel::{Row, RowCache};

/// The working arrays are compacted once at least `1 / COMPACT_FRACTION`
/// of the active variables can be shrunk.
pub const COMPACT_FRACTION: usize = 8;

/// Most bytes of compact kernel rows kept at once: when the next row would
/// pass it, every kept row is dropped (and gathered again when next read),
/// so memory stays bounded however many rows a solve has.
pub const COMPACT_ROWS_BYTES: usize = 128 << 20;

#[cfg(test)]
thread_local! {
    /// Tests shrink [`COMPACT_ROWS_BYTES`] on their own thread.
    static ROWS_BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(COMPACT_ROWS_BYTES) };
}

/// [`COMPACT_ROWS_BYTES`] (a test's own, in tests).
fn rows_budget() -> usize {
    #[cfg(test)]
    return ROWS_BUDGET.with(std::cell::Cell::get);
    #[cfg(not(test))]
    COMPACT_ROWS_BYTES
}

/// What shrinking did in one solve (zero without it, but for
/// [`ShrinkStats::min_active`] and [`ShrinkStats::active_sum`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShrinkStats {
    /// Variables taken out of the active set, summed over the solve (one
    /// shrunk, made active again and shrunk again counts twice).
    pub shrunk: u64,
    /// Compactions of the working arrays (each removed at least one
    /// variable).
    pub compactions: u32,
    /// Times the gradient of the shrunk variables was rebuilt and every
    /// variable made active again.
    pub reconstructions: u32,
    /// The smallest active set during the solve (of the `2 n` variables).
    pub min_active: usize,
    /// The active set's size summed over the iterations (divided by the
    /// iterations: the mean number of variables an iteration scanned).
    pub active_sum: u64,
}

/// The variables of one solve and its active set.
pub struct Active {
    /// Training rows (`2 n` variables).
    n: usize,
    /// The upper bound.
    c: f64,
    /// The linear term, per variable.
    p: Vec<f64>,
    /// The kernel diagonal, per variable.
    qd_all: Vec<f64>,
    /// Every variable's value and gradient; while not every variable is
    /// active, the active ones' are in the working arrays instead.
    alpha_all: Vec<f64>,
    g_all: Vec<f64>,
    /// libsvm's `G_bar` (with shrinking only).
    g_bar: Option<Vec<f64>>,
    /// The active variables, increasing.
    pub vars: Vec<usize>,
    /// How many of them are in the upper half (`< n`).
    pub split: usize,
    /// The active variables' values, gradients and kernel diagonal.
    pub alpha: Vec<f64>,
    /// See [`Active::alpha`].
    pub g: Vec<f64>,
    /// See [`Active::alpha`].
    pub qd: Vec<f64>,
    /// Whether every variable is active (then `vars` is `0..2 n`).
    full: bool,
    /// Compact kernel rows per training row (when not `full`).
    rows: Vec<Option<Row>>,
    /// Bytes held in `rows`, at most [`COMPACT_ROWS_BYTES`].
    rows_bytes: usize,
    /// Whether every variable was made active once at `10 tol`.
    unshrink: bool,
    /// What shrinking did.
    pub stats: ShrinkStats,
}

impl Active {
    /// Every variable active, at `alpha` (feasible) with linear term `p`;
    /// computes the gradient (and, with `shrinking`, `G_bar`) as libsvm's
    /// `Solver::Solve` does.
    pub fn new(
        cache: &mut RowCache<'_>,
        alpha: Vec<f64>,
        p: Vec<f64>,
        c: f64,
        shrinking: bool,
    ) -> Active {
        let l = alpha.len();
        let n = l / 2;
        let qd_all: Vec<f64> = (0..l).map(|i| cache.diagonal(i % n)).collect();
        let mut g = p.clone();
        let mut g_bar = shrinking.then(|| vec![0.0; l]);
        for (i, &a) in alpha.iter().enumerate() {
            if a <= 0.0 {
                continue;
            }
            let k_i = cache.row(i % n);
            let si = sign(i, n);
            let (top, bottom) = g.split_at_mut(n);
            for (t, (gt, gb)) in top.iter_mut().zip(bottom.iter_mut()).enumerate() {
                let k = f64::from(k_i[t]);
                *gt += a * (si * k);
                *gb += a * (-si * k);
            }
            if let Some(gb) = g_bar.as_mut().filter(|_| a >= c) {
                add_row(gb, &k_i, c * si);
            }
        }
        Active {
            n,
            c,
            p,
            qd: qd_all.clone(),
            qd_all,
            alpha_all: Vec::new(),
            g_all: Vec::new(),
            g_bar,
            vars: (0..l).collect(),
            split: n,
            alpha,
            g,
            full: true,
            rows: Vec::new(),
            rows_bytes: 0,
            unshrink: false,
            stats: ShrinkStats {
                min_active: l,
                ..ShrinkStats::default()
            },
        }
    }

    /// The sign of active variable `a`.
    #[inline]
    pub fn sign(&self, a: usize) -> f64 {
        if a < self.split {
            1.0
        } else {
            -1.0
        }
    }

    /// The kernel row of active variable `a` at the active variables (see
    /// [`Active::halves`] and [`Active::entry`] for reading it).
    pub fn row(&mut self, cache: &mut RowCache<'_>, a: usize) -> Row {
        let r = self.vars[a] % self.n;
        if self.full {
            return cache.row(r);
        }
        if let Some(row) = &self.rows[r] {
            return Arc::clone(row);
        }
        let whole = cache.row(r);
        let n = self.n;
        let row: Row = self.vars.iter().map(|&v| whole[v % n]).collect();
        let bytes = row.len() * std::mem::size_of::<f32>();
        if self.rows_bytes + bytes > rows_budget() {
            self.rows.iter_mut().for_each(|kept| *kept = None);
            self.rows_bytes = 0;
        }
        self.rows_bytes += bytes;
        self.rows[r] = Some(Arc::clone(&row));
        row
    }

    /// A row of [`Active::row`] as its upper and lower halves' parts.
    pub fn halves<'r>(&self, row: &'r [f32]) -> (&'r [f32], &'r [f32]) {
        if self.full {
            (&row[..self.n], &row[..self.n])
        } else {
            row.split_at(self.split)
        }
    }

    /// A row of [`Active::row`] at active variable `b`.
    #[inline]
    pub fn entry(&self, row: &[f32], b: usize) -> f32 {
        if self.full {
            row[b % self.n]
        } else {
            row[b]
        }
    }

    /// Keeps `G_bar` after active variable `a` moved from `old` (libsvm's
    /// update when a variable reaches or leaves the upper bound).
    pub fn after_step(&mut self, cache: &mut RowCache<'_>, a: usize, old: f64) {
        let (was, is) = (old >= self.c, self.alpha[a] >= self.c);
        if was == is {
            return;
        }
        let Some(g_bar) = self.g_bar.as_mut() else {
            return;
        };
        let v = self.vars[a];
        let k = cache.row(v % self.n);
        let c = if is { self.c } else { -self.c };
        add_row(g_bar, &k, c * sign(v, self.n));
    }

    /// Counts an iteration over the current active set.
    pub fn count_iteration(&mut self) {
        self.stats.active_sum += self.vars.len() as u64;
    }

    /// libsvm's `do_shrinking` (`Solver_NU`'s with `nu`): the maximal
    /// violation over the active set; the first time it is at most `10
    /// tol`, every variable is made active again; then the bounded
    /// variables beyond it are shrunk (when enough of them can go, see
    /// the module documentation).
    pub fn shrink(&mut self, cache: &mut RowCache<'_>, tol: f64, nu: bool) {
        let c = self.c;
        // Per half: max -g where alpha < c, max g where alpha > 0.
        let mut m = [[f64::NEG_INFINITY; 2]; 2];
        for (a, (&al, &g)) in self.alpha.iter().zip(&self.g).enumerate() {
            let h = &mut m[usize::from(a >= self.split)];
            if al < c && -g >= h[0] {
                h[0] = -g;
            }
            if al > 0.0 && g >= h[1] {
                h[1] = g;
            }
        }
        let [[t_up, t_low], [b_up, b_low]] = m;
        // Thresholds: an upper-bound variable of the half goes when -g
        // exceeds the first, a lower-bound one when g exceeds the second.
        let (gap, thresholds) = if nu {
            ((t_up + t_low).max(b_up + b_low), m)
        } else {
            let (g1, g2) = (t_up.max(b_low), t_low.max(b_up));
            (g1 + g2, [[g1, g2], [g2, g1]])
        };
        if !self.unshrink && gap <= 10.0 * tol {
            self.unshrink = true;
            self.reconstruct(cache);
        }
        let gone = |a: usize, al: f64, g: f64| {
            let [up, low] = thresholds[usize::from(a >= self.split)];
            (al >= c && -g > up) || (al <= 0.0 && g > low)
        };
        let keep: Vec<bool> = (0..self.vars.len())
            .map(|a| !gone(a, self.alpha[a], self.g[a]))
            .collect();
        let removed = keep.iter().filter(|k| !**k).count();
        if removed == 0 || removed * COMPACT_FRACTION < self.vars.len() {
            return;
        }
        self.store();
        let vars: Vec<usize> = self
            .vars
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(&v, _)| v)
            .collect();
        self.stats.shrunk += removed as u64;
        self.stats.compactions += 1;
        self.stats.min_active = self.stats.min_active.min(vars.len());
        self.load(vars);
    }

    /// libsvm's `reconstruct_gradient`: the gradient of every shrunk
    /// variable from `G_bar` and the free active variables, then every
    /// variable active. Returns whether any was shrunk.
    pub fn reconstruct(&mut self, cache: &mut RowCache<'_>) -> bool {
        if self.full {
            return false;
        }
        self.store();
        let (n, l) = (self.n, 2 * self.n);
        let mut active = vec![false; l];
        for &v in &self.vars {
            active[v] = true;
        }
        let inactive: Vec<usize> = (0..l).filter(|&v| !active[v]).collect();
        if let Some(g_bar) = &self.g_bar {
            for &v in &inactive {
                self.g_all[v] = g_bar[v] + self.p[v];
            }
        }
        for (a, &v) in self.vars.iter().enumerate() {
            let al = self.alpha[a];
            if !(al > 0.0 && al < self.c) {
                continue;
            }
            let k = cache.row(v % n);
            let sv = sign(v, n);
            for &t in &inactive {
                self.g_all[t] += al * (sv * sign(t, n) * f64::from(k[t % n]));
            }
        }
        self.stats.reconstructions += 1;
        self.load((0..l).collect());
        true
    }

    /// Every variable's value and gradient (every variable active).
    pub fn finish(mut self, cache: &mut RowCache<'_>) -> (Vec<f64>, Vec<f64>, ShrinkStats) {
        self.reconstruct(cache);
        (self.alpha, self.g, self.stats)
    }

    /// Writes the working arrays back into every variable's.
    fn store(&mut self) {
        if self.alpha_all.is_empty() {
            self.alpha_all = vec![0.0; 2 * self.n];
            self.g_all = vec![0.0; 2 * self.n];
        }
        for (a, &v) in self.vars.iter().enumerate() {
            self.alpha_all[v] = self.alpha[a];
            self.g_all[v] = self.g[a];
        }
    }

    /// Makes `vars` (increasing) the active set, from every variable's
    /// arrays.
    fn load(&mut self, vars: Vec<usize>) {
        let n = self.n;
        self.full = vars.len() == 2 * n;
        self.split = vars.partition_point(|&v| v < n);
        self.alpha = vars.iter().map(|&v| self.alpha_all[v]).collect();
        self.g = vars.iter().map(|&v| self.g_all[v]).collect();
        self.qd = vars.iter().map(|&v| self.qd_all[v]).collect();
        self.rows = if self.full { Vec::new() } else { vec![None; n] };
        self.rows_bytes = 0;
        self.vars = vars;
    }
}

/// The sign of variable `v` of `2 n`.
#[inline]
fn sign(v: usize, n: usize) -> f64 {
    if v < n {
        1.0
    } else {
        -1.0
    }
}

/// `acc += s Q_{:,i}` for a variable `i` of sign `s_i` folded into `s`
/// (`s = d s_i`): `+s K` on the upper half, `-s K` on the lower.
fn add_row(acc: &mut [f64], k: &[f32], s: f64) {
    let n = acc.len() / 2;
    let (top, bottom) = acc.split_at_mut(n);
    for ((t, b), &k) in top.iter_mut().zip(bottom.iter_mut()).zip(&k[..n]) {
        let k = f64::from(k);
        *t += s * k;
        *b -= s * k;
    }
}

#[cfg(test)]
mod tests {
    use super::super::kernel::{Gram, KernelKind, RowCache};
    use super::super::smo::{solve, solve_from, Formulation, Solution, Stop};
    use crate::training::heads::testing::data;

    /// libsvm's stopping quantity (the maximal violating pair's gap) of
    /// `alpha` over every variable, its gradient computed afresh from the
    /// kernel matrix (not the solver's running one).
    fn violation(gram: &Gram, y: &[f64], c: f64, form: Formulation, alpha: &[f64]) -> f64 {
        let n = y.len();
        let sign = |i: usize| if i < n { 1.0 } else { -1.0 };
        let p: Vec<f64> = (0..2 * n)
            .map(|i| match form {
                Formulation::Epsilon { epsilon } => epsilon - sign(i) * y[i % n],
                Formulation::Nu { .. } => -sign(i) * y[i % n],
            })
            .collect();
        let g: Vec<f64> = (0..2 * n)
            .map(|t| {
                p[t] + (0..2 * n)
                    .map(|s| alpha[s] * (sign(s) * sign(t) * f64::from(gram.get(s % n, t % n))))
                    .sum::<f64>()
            })
            .collect();
        // Per half: max -g over alpha < c, max g over alpha > 0.
        let mut m = [[f64::NEG_INFINITY; 2]; 2];
        for t in 0..2 * n {
            let h = &mut m[usize::from(t >= n)];
            if alpha[t] < c {
                h[0] = h[0].max(-g[t]);
            }
            if alpha[t] > 0.0 {
                h[1] = h[1].max(g[t]);
            }
        }
        let [[t_up, t_low], [b_up, b_low]] = m;
        match form {
            Formulation::Epsilon { .. } => t_up.max(b_low) + t_low.max(b_up),
            Formulation::Nu { .. } => (t_up + t_low).max(b_up + b_low),
        }
    }

    /// The decision values of a solution on its training rows.
    fn decide(gram: &Gram, s: &Solution) -> Vec<f64> {
        let n = s.coef.len();
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| s.coef[j] * f64::from(gram.get(j, i)))
                    .sum::<f64>()
                    - s.rho
            })
            .collect()
    }

    fn largest_gap(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    }

    /// Large `C` on noisy targets: most variables end at a bound, so
    /// shrinking takes many out. With it, the solution meets the stopping
    /// rule on every variable (checked on a gradient computed afresh), and
    /// agrees with the unshrunk solve within what the tolerance allows:
    /// decision values within `tol`, dual objectives within `1e-6`
    /// relative (both are `tol`-optimal points of the same problem).
    #[test]
    fn shrinking_stops_on_every_variable_at_the_unshrunk_optimum() {
        let tol = 1e-3;
        for (n, f, c, gamma, form) in [
            (300, 5, 1024.0, 0.5, Formulation::Epsilon { epsilon: 0.1 }),
            (240, 4, 64.0, 2.0, Formulation::Epsilon { epsilon: 0.3 }),
            (200, 4, 64.0, 2.0, Formulation::Nu { nu: 0.4 }),
            (150, 3, 300.0, 1.5, Formulation::Nu { nu: 0.6 }),
        ] {
            let (x, y) = data(n, f, 11);
            let gram = Gram::new(&x, KernelKind::Rbf, gamma);
            let all: Vec<usize> = (0..n).collect();
            let run =
                |shrinking| solve(&mut gram.cache(&all), &y, c, form, Stop { tol, shrinking });
            let (plain, shrunk) = (run(false), run(true));
            let what = format!("n {n} C {c} {form:?}");
            assert!(plain.converged && shrunk.converged, "{what}");
            let st = shrunk.shrinking;
            assert!(
                st.shrunk > 0 && st.compactions > 0,
                "{what}: nothing shrunk: {st:?}"
            );
            assert!(st.min_active < 2 * n, "{what}: {st:?}");
            assert!(
                st.reconstructions > 0,
                "{what}: the last check needs every variable"
            );
            assert_eq!(plain.shrinking.shrunk, 0, "{what}");
            for s in [&plain, &shrunk] {
                let v = violation(&gram, &y, c, form, &s.alpha);
                assert!(v < tol + 1e-9, "{what}: violation {v} over every variable");
            }
            let dz = largest_gap(&decide(&gram, &plain), &decide(&gram, &shrunk));
            assert!(dz <= tol, "{what}: decision values differ by {dz}");
            let dobj = (plain.objective - shrunk.objective).abs() / plain.objective.abs();
            assert!(dobj <= 1e-6, "{what}: objectives differ by {dobj} relative");
        }
    }

    /// Two shrinking solves give the same bits, through a shared kernel
    /// matrix or the lazy cache alike, and so does a warm start (alpha
    /// seeding) twice; the warm start also meets the stopping rule on
    /// every variable.
    #[test]
    fn shrinking_is_deterministic_and_warm_starts_stop_on_every_variable() {
        let (n, tol) = (260, 1e-3);
        let (x, y) = data(n, 6, 5);
        let gamma = 0.8;
        let gram = Gram::new(&x, KernelKind::Rbf, gamma);
        let all: Vec<usize> = (0..n).collect();
        let form = Formulation::Epsilon { epsilon: 0.1 };
        let stop = Stop {
            tol,
            shrinking: true,
        };
        let a = solve(&mut gram.cache(&all), &y, 1024.0, form, stop);
        let b = solve(&mut gram.cache(&all), &y, 1024.0, form, stop);
        let lazy = solve(
            &mut RowCache::new(&x, KernelKind::Rbf, gamma, 1 << 20),
            &y,
            1024.0,
            form,
            stop,
        );
        assert!(a.shrinking.shrunk > 0, "{:?}", a.shrinking);
        assert_eq!(a, b);
        assert_eq!(a, lazy);
        let small = solve(&mut gram.cache(&all), &y, 64.0, form, stop);
        let warm = |_| {
            solve_from(
                &mut gram.cache(&all),
                &y,
                1024.0,
                form,
                stop,
                Some(&small.coef),
            )
        };
        let (w1, w2) = (warm(1), warm(2));
        assert_eq!(w1, w2);
        // A budget of compact rows far below what the solve gathers: the
        // rows are dropped and gathered again, the solution the same bits.
        super::ROWS_BUDGET.with(|b| b.set(4 * n));
        let tight = solve(&mut gram.cache(&all), &y, 1024.0, form, stop);
        super::ROWS_BUDGET.with(|b| b.set(super::COMPACT_ROWS_BYTES));
        assert_eq!(a, tight);
        assert!(w1.converged);
        let v = violation(&gram, &y, 1024.0, form, &w1.alpha);
        assert!(
            v < tol + 1e-9,
            "warm start: violation {v} over every variable"
        );
    }
}
