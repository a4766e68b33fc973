//! L-BFGS as an argmin [`Solver`]: argmin's own `LBFGS` (its unregularised
//! path), step for step and bit for bit, without its per-iteration
//! allocations.
//!
//! argmin's two-loop recursion builds every intermediate vector anew
//! (`q - y * alpha` is two fresh vectors per correction pair and loop) and
//! computes `y . s` again for every pair at every iteration. On the small
//! corpora's MLP grid (about 6,500 parameters, memory 40, tens of rows)
//! that bookkeeping, not the model, took about two thirds of the time.
//! This solver keeps the correction pairs in buffers that are reused when
//! the oldest pair is dropped, stores each pair's `y . s` once, and updates
//! the two-loop vectors in place. Every value is computed by the same
//! operations in the same order as argmin's (dot products by `ndarray`'s
//! own `dot`, element-wise updates `q - y * alpha` and `r + s * (alpha -
//! beta)` without fused multiply-adds), so iterations, evaluations and
//! parameters are identical to the bit (a test runs both side by side).
//! The line search is argmin's More-Thuente, run exactly as argmin's
//! L-BFGS runs it; the stopping rules are argmin's (gradient norm below
//! `sqrt(EPSILON)`, cost change below `EPSILON` unless set).

use std::collections::VecDeque;

use argmin::core::{
    CostFunction, Error, Executor, Gradient, IterState, OptimizationResult, Problem, Solver, State,
    TerminationReason, TerminationStatus, KV,
};
use argmin::solver::linesearch::LineSearch;
use argmin::solver::linesearch::MoreThuenteLineSearch;
use ndarray::Array1;

use super::twoloop::{self, Update};

/// argmin's state for a gradient method over `ndarray` vectors.
type St = IterState<Array1<f64>, Array1<f64>, (), (), (), f64>;

/// The More-Thuente line search over `ndarray` vectors.
type MoreThuente = MoreThuenteLineSearch<Array1<f64>, Array1<f64>, f64>;

/// One correction pair: the step `s`, the gradient change `y` and `y . s`.
struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    ys: f64,
}

/// L-BFGS with a More-Thuente line search (see the [module
/// documentation](self)).
pub struct Lbfgs {
    linesearch: MoreThuente,
    m: usize,
    pairs: VecDeque<Pair>,
    /// The buffers of the pair last dropped, reused for the next one.
    spare: Option<Pair>,
    alpha: Vec<f64>,
    tol_grad: f64,
    tol_cost: f64,
}

impl Lbfgs {
    /// The solver with `memory` correction pairs and argmin's default
    /// tolerances.
    pub fn new(memory: usize) -> Self {
        Lbfgs {
            linesearch: MoreThuenteLineSearch::new(),
            m: memory,
            pairs: VecDeque::with_capacity(memory),
            spare: None,
            alpha: Vec::with_capacity(memory),
            tol_grad: f64::EPSILON.sqrt(),
            tol_cost: f64::EPSILON,
        }
    }

    /// Stops once the cost changes by less than `tol` in one iteration
    /// (argmin's `with_tolerance_cost`; `tol` must not be negative).
    pub fn with_tolerance_cost(mut self, tol: f64) -> Result<Self, Error> {
        if tol.is_nan() || tol < 0.0 {
            return Err(Error::msg("`L-BFGS`: cost tolerance must be >= 0."));
        }
        self.tol_cost = tol;
        Ok(self)
    }

    /// The search direction `-H g` by the two-loop recursion over the
    /// stored pairs, `g` being the current gradient and `gamma` the
    /// initial Hessian scale. Each update is fused with the dot product
    /// taken of its result next ([`twoloop::update_dot`]).
    fn direction(&mut self, g: &Array1<f64>, gamma: f64) -> Array1<f64> {
        let mut q = g.to_vec();
        let n = self.pairs.len();
        self.alpha.clear();
        self.alpha.resize(n, 0.0);
        let pairs: Vec<(&[f64], &[f64], f64)> = self
            .pairs
            .iter()
            .map(|p| (p.s.as_slice(), p.y.as_slice(), p.ys))
            .collect();
        // First loop, newest pair first: a_i = rho_i s_i . q; q -= a_i y_i.
        let mut sq = pairs.last().map_or(0.0, |(s, _, _)| twoloop::dot(s, &q));
        for i in (0..n).rev() {
            let (_, y, ys) = pairs[i];
            let a = sq * (1.0 / ys);
            let next = i.checked_sub(1).map(|j| pairs[j].0);
            sq = twoloop::update_dot(&mut q, Update::Axpy(-a, y), next);
            self.alpha[i] = a;
        }
        // r = gamma q; second loop, oldest first: r += (a_i - rho_i y_i . r) s_i.
        let mut yr = twoloop::update_dot(&mut q, Update::Scale(gamma), pairs.first().map(|p| p.1));
        for (i, &(s, _, ys)) in pairs.iter().enumerate() {
            let beta = yr * (1.0 / ys);
            let next = pairs.get(i + 1).map(|p| p.1);
            yr = twoloop::update_dot(&mut q, Update::Axpy(self.alpha[i] - beta, s), next);
        }
        twoloop::update_dot(&mut q, Update::Scale(-1.0), None);
        Array1::from(q)
    }

    /// Stores the pair `(x1 - x0, g1 - g0)`, in the buffers of the pair
    /// dropped last when there is one.
    fn push(&mut self, x1: &Array1<f64>, x0: &Array1<f64>, g1: &Array1<f64>, g0: &Array1<f64>) {
        let diff = |mut buf: Vec<f64>, a: &Array1<f64>, b: &Array1<f64>| {
            buf.clear();
            buf.extend(a.iter().zip(b).map(|(a, b)| a - b));
            buf
        };
        let (s, y) = match self.spare.take() {
            Some(p) => (p.s, p.y),
            None => (Vec::new(), Vec::new()),
        };
        let s = diff(s, x1, x0);
        let y = diff(y, g1, g0);
        let ys = twoloop::dot(&y, &s);
        self.pairs.push_back(Pair { s, y, ys });
    }
}

impl<O> Solver<O, St> for Lbfgs
where
    O: CostFunction<Param = Array1<f64>, Output = f64>
        + Gradient<Param = Array1<f64>, Gradient = Array1<f64>>,
{
    fn name(&self) -> &str {
        "L-BFGS"
    }

    fn init(&mut self, problem: &mut Problem<O>, mut state: St) -> Result<(St, Option<KV>), Error> {
        let param = state.take_param().ok_or_else(|| {
            Error::msg("`L-BFGS` requires an initial parameter vector (Executor::configure)")
        })?;
        let cost = state.get_cost();
        let cost = if cost.is_infinite() {
            problem.cost(&param)?
        } else {
            cost
        };
        let grad = match state.take_gradient() {
            Some(g) => g,
            None => problem.gradient(&param)?,
        };
        Ok((state.param(param).cost(cost).gradient(grad), None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        mut state: St,
    ) -> Result<(St, Option<KV>), Error> {
        let param = state
            .take_param()
            .ok_or_else(|| Error::msg("`L-BFGS`: parameter vector in state not set"))?;
        let cur_cost = state.get_cost();
        let prev_grad = state
            .take_gradient()
            .ok_or_else(|| Error::msg("`L-BFGS`: gradient in state not set"))?;
        let gamma = match self.pairs.back() {
            Some(p) => p.ys / twoloop::dot(&p.y, &p.y),
            None => 1.0,
        };
        let d = self.direction(&prev_grad, gamma);
        let inner = problem
            .take_problem()
            .ok_or_else(|| Error::msg("`L-BFGS`: problem not set"))?;
        self.linesearch.search_direction(d);
        let searched = Executor::new(inner, self.linesearch.clone())
            .configure(|config| {
                config
                    .param(param.clone())
                    .gradient(prev_grad.clone())
                    .cost(cur_cost)
            })
            .ctrlc(false)
            .run();
        let OptimizationResult {
            problem: mut line_problem,
            state: mut line_state,
            ..
        } = match searched {
            Ok(res) => res,
            // As argmin's L-BFGS: the solve ends (the problem went with
            // the line search's executor).
            Err(e) => {
                return Ok((
                    state.terminate_with(TerminationReason::SolverExit(format!(
                        "Line search terminated with: '{e}'",
                    ))),
                    None,
                ))
            }
        };
        let xk1 = line_state
            .take_param()
            .ok_or_else(|| Error::msg("`L-BFGS`: the line search returned no parameters"))?;
        let next_cost = line_state.get_cost();
        problem.problem = line_problem.take_problem();
        problem.consume_func_counts(line_problem);
        if state.get_iter() >= self.m as u64 {
            self.spare = self.pairs.pop_front();
        }
        let grad = problem.gradient(&xk1)?;
        self.push(&xk1, &param, &grad, &prev_grad);
        Ok((state.param(xk1).cost(next_cost).gradient(grad), None))
    }

    fn terminate(&mut self, state: &St) -> TerminationStatus {
        let norm = state
            .get_gradient()
            .map(|g| g.iter().map(|a| a.powi(2)).sum::<f64>().sqrt());
        if norm.is_some_and(|n| n < self.tol_grad) {
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        if (state.get_prev_cost() - state.get_cost()).abs() < self.tol_cost {
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        TerminationStatus::NotTerminated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::optim::Fused;
    use argmin::solver::quasinewton::LBFGS;

    /// A non-convex, badly scaled test function and its gradient: a sum of
    /// Rosenbrock valleys with a tanh term, in `n` dimensions.
    fn rosen(p: &[f64]) -> (f64, Vec<f64>) {
        let n = p.len();
        let mut cost = 0.0;
        let mut g = vec![0.0; n];
        for i in 0..n - 1 {
            let (a, b) = (p[i], p[i + 1]);
            let t = b - a * a;
            cost += 100.0 * t * t + (1.0 - a) * (1.0 - a) + (0.3 * a * b).tanh();
            let th = 1.0 - (0.3 * a * b).tanh().powi(2);
            g[i] += -400.0 * a * t - 2.0 * (1.0 - a) + 0.3 * b * th;
            g[i + 1] += 200.0 * t + 0.3 * a * th;
        }
        (cost, g)
    }

    fn run_both(n: usize, memory: usize, iters: u64, tol_cost: Option<f64>) -> u64 {
        let init = Array1::from_iter((0..n).map(|i| ((i * 7919) % 13) as f64 * 0.17 - 1.1));
        let (ours, our_counts) = Fused::new(rosen);
        let (theirs, their_counts) = Fused::new(rosen);
        let mut mine = Lbfgs::new(memory);
        let mut reference = LBFGS::new(MoreThuenteLineSearch::new(), memory);
        if let Some(t) = tol_cost {
            mine = mine.with_tolerance_cost(t).unwrap();
            reference = reference.with_tolerance_cost(t).unwrap();
        }
        let a = Executor::new(ours, mine)
            .configure(|s| s.param(init.clone()).max_iters(iters))
            .run()
            .unwrap();
        let b = Executor::new(theirs, reference)
            .configure(|s| s.param(init.clone()).max_iters(iters))
            .run()
            .unwrap();
        let (a, b) = (a.state(), b.state());
        assert_eq!(a.get_iter(), b.get_iter());
        assert_eq!(
            a.get_termination_reason().map(|r| r.to_string()),
            b.get_termination_reason().map(|r| r.to_string())
        );
        let bits = |v: Option<&Array1<f64>>| -> Vec<u64> {
            v.map(|v| v.iter().map(|x| x.to_bits()).collect())
                .unwrap_or_default()
        };
        assert_eq!(bits(a.get_best_param()), bits(b.get_best_param()));
        assert_eq!(bits(a.get_param()), bits(b.get_param()));
        assert_eq!(a.get_cost().to_bits(), b.get_cost().to_bits());
        assert_eq!(our_counts.get(), their_counts.get());
        a.get_iter()
    }

    #[test]
    fn the_same_iterations_and_bits_as_argmins_lbfgs() {
        // Fewer iterations than pairs, more (pairs dropped and their
        // buffers reused), and a run to convergence.
        assert_eq!(run_both(37, 5, 3, None), 3);
        assert_eq!(run_both(37, 5, 60, None), 60);
        assert_eq!(run_both(200, 40, 150, None), 150);
        let converged = run_both(6, 4, 500, Some(1e-12));
        assert!(converged > 4 && converged < 500, "{converged}");
    }
}
