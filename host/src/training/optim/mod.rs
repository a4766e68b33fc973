//! The argmin glue shared by the head solve (`training::solver`) and the
//! VQEG logistic fit ([`crate::evaluation::fit_logistic`]).
//!
//! Both minimise a smooth cost whose value and gradient come cheapest from
//! one pass. [`Fused`] adapts such a pass to argmin's separate
//! [`CostFunction`] and [`Gradient`] requests: the last point and its result
//! are remembered ([`memo::LastEval`]), and the requests are counted (an
//! early stop raised by an observer discards argmin's own counters).
//! [`Lbfgs`] is the solver both use: argmin's L-BFGS with a More-Thuente
//! line search, as an argmin solver of this module that gives argmin's
//! iterations and bits without its per-iteration allocations.

pub mod lbfgs;
pub mod memo;
pub mod twoloop;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argmin::core::{CostFunction, Error, Gradient};
use ndarray::Array1;

pub use lbfgs::Lbfgs;
use memo::LastEval;

/// The L-BFGS solver with `memory` correction pairs.
pub fn lbfgs(memory: usize) -> Lbfgs {
    Lbfgs::new(memory)
}

/// Cost and gradient requests a [`Fused`] problem has answered.
#[derive(Debug, Default)]
pub struct Counts {
    cost: AtomicU64,
    gradient: AtomicU64,
}

impl Counts {
    /// `(cost requests, gradient requests)`.
    pub fn get(&self) -> (u64, u64) {
        (
            self.cost.load(Ordering::Relaxed),
            self.gradient.load(Ordering::Relaxed),
        )
    }
}

/// An argmin problem over a fused cost-and-gradient pass `eval`.
pub struct Fused<F> {
    eval: F,
    memo: LastEval<Vec<f64>>,
    counts: Arc<Counts>,
    /// Cost and gradient requests answered at most (together), and the
    /// error message a request past the cap gets.
    cap: Option<(u64, &'static str)>,
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> Fused<F> {
    /// The problem of `eval`; its requests are counted in the returned
    /// [`Counts`].
    pub fn new(eval: F) -> (Self, Arc<Counts>) {
        let counts = Arc::new(Counts::default());
        let problem = Fused {
            eval,
            memo: LastEval::new(),
            counts: Arc::clone(&counts),
            cap: None,
        };
        (problem, counts)
    }

    /// The same problem refusing every request after `cap` cost and
    /// gradient requests (together) with the error `message`: it bounds the
    /// More-Thuente line search, which has no cap of its own in argmin.
    pub fn with_cap(mut self, cap: u64, message: &'static str) -> Self {
        self.cap = Some((cap, message));
        self
    }

    /// Counts one request in `counter`, refusing it past the cap.
    fn admit(&self, counter: &AtomicU64) -> Result<(), Error> {
        if let Some((cap, message)) = self.cap {
            let (c, g) = self.counts.get();
            if c + g >= cap {
                return Err(Error::msg(message));
            }
        }
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn at(&self, p: &Array1<f64>) -> (f64, Vec<f64>) {
        let p = p
            .as_slice()
            .map(<[f64]>::to_vec)
            .unwrap_or_else(|| p.to_vec());
        self.memo.get_or_eval(&p, || (self.eval)(&p))
    }
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> CostFunction for Fused<F> {
    type Param = Array1<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> Result<f64, Error> {
        self.admit(&self.counts.cost)?;
        Ok(self.at(p).0)
    }
}

impl<F: Fn(&[f64]) -> (f64, Vec<f64>)> Gradient for Fused<F> {
    type Param = Array1<f64>;
    type Gradient = Array1<f64>;
    fn gradient(&self, p: &Self::Param) -> Result<Array1<f64>, Error> {
        self.admit(&self.counts.gradient)?;
        Ok(Array1::from(self.at(p).1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argmin::core::{Executor, State};
    use std::cell::Cell;

    #[test]
    fn one_pass_serves_cost_and_gradient_and_lbfgs_minimises() {
        let passes = Cell::new(0u64);
        let (problem, counts) = Fused::new(|p: &[f64]| {
            passes.set(passes.get() + 1);
            let (a, b) = (p[0] - 3.0, p[1] + 1.0);
            (a * a + 10.0 * b * b, vec![2.0 * a, 20.0 * b])
        });
        let out = Executor::new(problem, lbfgs(5))
            .configure(|s| s.param(Array1::from(vec![0.0, 0.0])).max_iters(50))
            .run()
            .unwrap();
        let best = out.state().get_best_param().unwrap().to_vec();
        assert!((best[0] - 3.0).abs() < 1e-6 && (best[1] + 1.0).abs() < 1e-6);
        let (c, g) = counts.get();
        assert!(c > 0 && g > 0);
        assert!(
            passes.get() < c + g,
            "cost and gradient of a point share a pass"
        );
    }
}
