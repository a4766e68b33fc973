//! The argmin solve: L-BFGS with a More-Thuente line search over a fused,
//! chunk-parallel cost-and-gradient pass, with monitor-based early stopping.
//!
//! Determinism: rows are cut into fixed chunks of [`CHUNK`] rows; chunks are
//! evaluated in parallel and their partial sums combined serially in chunk
//! order, so results do not depend on the number of threads.

use std::sync::{Arc, Mutex};

use argmin::core::observers::{Observe, ObserverMode};
use argmin::core::{Error, Executor, State, TerminationReason, KV};
use ndarray::{s, Array1, Array2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::optim::{lbfgs, Counts, Fused};
use super::{Model, ResolvedSpec, Status, Termination, TrainError};

/// Rows per chunk of the parallel passes.
pub const CHUNK: usize = 2048;

/// How a solve went (the default: no solve, an empty report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// The solver.
    pub solver: String,
    /// The weight decay this solve minimised with (absent in manifests
    /// written before it was recorded).
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// L-BFGS iterations run.
    pub iterations: u64,
    /// Cost evaluations.
    pub cost_evals: u64,
    /// Gradient evaluations.
    pub gradient_evals: u64,
    /// Why the fit stopped.
    pub termination: Termination,
    /// `true` when the solver converged or early stopping chose the
    /// parameters; `false` for an iteration cap or a solver exit.
    pub converged: bool,
    /// The iteration whose parameters were kept.
    pub best_iteration: u64,
    /// Training objective per iteration.
    pub loss: Vec<f64>,
    /// Monitor MSE per iteration (empty without a monitor set).
    pub monitor_loss: Vec<f64>,
}

/// The head's objective over standardised rows: mean squared error plus
/// weight decay on the decayed parameters.
struct Problem<'a> {
    model: &'a dyn Model,
    x: &'a Array2<f64>,
    y: &'a [f64],
    decay: f64,
    mask: Vec<bool>,
}

impl Problem<'_> {
    /// Cost and gradient at `p` in one chunk-parallel pass.
    fn fused(&self, p: &[f64]) -> (f64, Vec<f64>) {
        let n = self.y.len();
        let chunks = n.div_ceil(CHUNK);
        let parts: Vec<(f64, Vec<f64>)> = (0..chunks)
            .into_par_iter()
            .map(|c| {
                let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
                let mut g = vec![0.0; p.len()];
                let sse =
                    self.model
                        .sse_grad(p, self.x.slice(s![lo..hi, ..]), &self.y[lo..hi], &mut g);
                (sse, g)
            })
            .collect();
        let mut sse = 0.0;
        let mut grad = vec![0.0; p.len()];
        for (s, g) in parts {
            sse += s;
            for (a, b) in grad.iter_mut().zip(g) {
                *a += b;
            }
        }
        let inv = 1.0 / n as f64;
        // Two passes with the values of one: the element-wise gradient
        // update vectorises, and the penalty's sum (in parameter order)
        // stays in a register.
        for ((g, w), &decayed) in grad.iter_mut().zip(p).zip(&self.mask) {
            let scaled = *g * inv;
            *g = if decayed {
                scaled + 2.0 * self.decay * w
            } else {
                scaled
            };
        }
        (penalised(sse * inv, self.decay, p, &self.mask), grad)
    }
}

/// `cost + decay * w * w` summed over the decayed parameters `w`, in
/// parameter order (a function of its own: inlined into the pass, the sum
/// went through memory at every step).
#[inline(never)]
fn penalised(cost: f64, decay: f64, p: &[f64], mask: &[bool]) -> f64 {
    p.iter().zip(mask).fold(
        cost,
        |cost, (w, &decayed)| {
            if decayed {
                cost + decay * w * w
            } else {
                cost
            }
        },
    )
}

/// Predicts over `x` in fixed chunks, in parallel.
pub fn predict_chunked(model: &dyn Model, p: &[f64], x: &Array2<f64>) -> Vec<f64> {
    let n = x.nrows();
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| model.predict(p, x.slice(s![c * CHUNK..((c + 1) * CHUNK).min(n), ..])))
        .collect();
    parts.concat()
}

fn mse(pred: &[f64], y: &[f64]) -> f64 {
    pred.iter()
        .zip(y)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / y.len().max(1) as f64
}

#[derive(Default)]
struct Watch {
    loss: Vec<f64>,
    monitor: Vec<f64>,
    best: Option<(f64, u64, Vec<f64>)>,
    /// The solver's best parameters at the last iteration (kept when the
    /// evaluation cap ends the solve and argmin's state is lost).
    solver_best: Option<Vec<f64>>,
    stopped: Option<Termination>,
    /// At each iteration count of [`Observer::prefixes`]: the solver's best
    /// parameters then and the cost and gradient requests answered so far.
    prefixes: Vec<(u64, Vec<f64>, (u64, u64))>,
}

struct Observer {
    model: Arc<dyn Model>,
    monitor: Option<Arc<(Array2<f64>, Vec<f64>)>>,
    patience: u64,
    watch: Arc<Mutex<Watch>>,
    status: Status,
    /// Iteration counts at which to keep the solver's best parameters.
    prefixes: Vec<u64>,
    counts: Arc<Counts>,
}

const EARLY_STOP: &str = "moshead: early stop";
const EVAL_CAP: &str = "moshead: evaluation cap";

impl<I: State<Param = Array1<f64>, Float = f64>> Observe<I> for Observer {
    fn observe_iter(&mut self, state: &I, _kv: &KV) -> Result<(), Error> {
        let Ok(mut w) = self.watch.lock() else {
            return Ok(());
        };
        let iter = state.get_iter();
        w.loss.push(state.get_cost());
        if let Some(b) = state.get_best_param() {
            w.solver_best = Some(b.to_vec());
            if self.prefixes.contains(&(iter + 1)) {
                w.prefixes.push((iter + 1, b.to_vec(), self.counts.get()));
            }
        }
        self.status
            .update(|| format!("  solve: iteration {iter}, loss {:.5}", state.get_cost()));
        let (Some(monitor), Some(p)) = (&self.monitor, state.get_param()) else {
            return Ok(());
        };
        let p = p.to_vec();
        let m = mse(
            &predict_chunked(self.model.as_ref(), &p, &monitor.0),
            &monitor.1,
        );
        w.monitor.push(m);
        let improved = w.best.as_ref().is_none_or(|(b, _, _)| m < *b);
        if improved {
            w.best = Some((m, iter, p));
        } else if let Some((_, at, _)) = &w.best {
            if iter >= at + self.patience {
                w.stopped = Some(Termination::EarlyStop {
                    patience: self.patience,
                    best_iteration: *at,
                });
                return Err(Error::msg(EARLY_STOP));
            }
        }
        Ok(())
    }
}

/// What a solve with a lower iteration cap would have returned, taken from
/// a longer one: its parameters and report.
pub type Prefix = (Vec<f64>, SolveReport);

/// A solve's parameters and report, and its [`Prefix`] at each shorter cap
/// asked for (`None` where it is not exact).
pub type WithPrefixes = (Vec<f64>, SolveReport, Vec<Option<Prefix>>);

/// Runs the solve. Returns the chosen parameters and the report and, for
/// each iteration cap `k` of `prefixes`, the parameters and report the
/// same solve capped at `k` iterations returns, when the longer solve shows them exactly (`None`
/// otherwise: then solve with cap `k`). A solve is deterministic and its
/// first `k` iterations do not depend on its cap, except through the
/// evaluation cap ([`super::limits::max_evals`]) and early stopping: a
/// prefix is given only without a monitor set, when the longer solve's
/// first `k` iterations (or all of them, if it ended sooner without an
/// error) stayed within the evaluation cap of `k`, and when its parameters
/// are finite (a shorter solve would report non-finite ones as an error).
/// The small-corpus stopping grid uses this: one solve per decay instead
/// of one per (decay, cap).
#[allow(clippy::too_many_arguments)]
pub fn solve(
    model: Arc<dyn Model>,
    spec: &ResolvedSpec,
    x: &Array2<f64>,
    y: &[f64],
    monitor: Option<Arc<(Array2<f64>, Vec<f64>)>>,
    init: Vec<f64>,
    status: &Status,
    prefixes: &[u64],
) -> Result<WithPrefixes, TrainError> {
    let decay = spec.weight_decay;
    let mask = (0..model.n_params()).map(|i| model.is_decayed(i)).collect();
    let objective = Problem {
        model: model.as_ref(),
        x,
        y,
        decay,
        mask,
    };
    let (problem, counts) = Fused::new(|p: &[f64]| objective.fused(p));
    let problem = problem.with_cap(super::limits::max_evals(spec.max_iters), EVAL_CAP);
    let watch = Arc::new(Mutex::new(Watch::default()));
    let exact_prefixes = monitor.is_none();
    let observer = Observer {
        model: Arc::clone(&model),
        monitor,
        patience: spec.patience,
        watch: Arc::clone(&watch),
        status: status.clone(),
        prefixes: if exact_prefixes {
            prefixes.to_vec()
        } else {
            Vec::new()
        },
        counts: Arc::clone(&counts),
    };
    let solver = lbfgs(spec.lbfgs_memory);
    let init = Array1::from(init);
    let result = Executor::new(problem, solver)
        .configure(|s| {
            s.param(init.clone())
                .max_iters(spec.max_iters)
                .counting(true)
        })
        .add_observer(observer, ObserverMode::Always)
        .run();
    let w = watch
        .lock()
        .map_err(|_| TrainError::Solver("observer state poisoned".into()))?;
    let mut report = SolveReport {
        solver: format!(
            "argmin L-BFGS (memory {}) + More-Thuente",
            spec.lbfgs_memory
        ),
        weight_decay: Some(decay),
        iterations: w.loss.len() as u64,
        cost_evals: 0,
        gradient_evals: 0,
        termination: Termination::None,
        converged: false,
        best_iteration: w.loss.len() as u64,
        loss: w.loss.clone(),
        monitor_loss: w.monitor.clone(),
    };
    // Whether the solve ended in argmin's own result (a solver's or the
    // iteration cap's termination), which a shorter solve ending at the
    // same iteration also returns.
    let mut ended_in_result = false;
    let solver_best = match result {
        Ok(out) => {
            ended_in_result = true;
            let state = out.state();

            report.iterations = state.get_iter();
            let reason = state.get_termination_reason();
            report.termination = Termination::Solver {
                reason: reason.map_or("unknown".to_owned(), |r| r.to_string()),
            };
            report.converged = matches!(
                reason,
                Some(TerminationReason::SolverConverged)
                    | Some(TerminationReason::TargetCostReached)
            );
            state.get_best_param().map(|p| p.to_vec())
        }
        Err(e) if w.stopped.is_some() && e.to_string().contains(EARLY_STOP) => {
            report.termination = w.stopped.clone().unwrap_or_default();
            report.converged = true;
            None
        }
        Err(e) if e.to_string().contains(EVAL_CAP) => {
            report.termination = Termination::EvaluationCap {
                evaluations: super::limits::max_evals(spec.max_iters),
                per_iteration: super::limits::EVALS_PER_ITER,
                max_iters: spec.max_iters,
            };
            report.converged = false;
            w.solver_best.clone()
        }
        Err(e) => return Err(TrainError::Solver(e.to_string())),
    };
    // With a monitor set, the best-monitor parameters win; otherwise the
    // solver's best.
    let params = match (&w.best, solver_best) {
        (Some((_, at, p)), _) => {
            report.best_iteration = *at;
            p.clone()
        }
        (None, Some(p)) => p,
        (None, None) => init.to_vec(),
    };
    (report.cost_evals, report.gradient_evals) = counts.get();
    if params.iter().any(|v| !v.is_finite()) {
        return Err(TrainError::Solver(format!(
            "non-finite parameters ({})",
            report.termination
        )));
    }
    let shorter = prefixes
        .iter()
        .map(|&k| prefix(&w, k, &params, &report, ended_in_result && exact_prefixes))
        .collect();
    Ok((params, report, shorter))
}

/// The result of the solve capped at `k` iterations, from the watch of a
/// longer solve that returned `params` and `report` (in argmin's result
/// when `in_result`), when it is exact (see [`solve`]): the same
/// parameters and report.
fn prefix(
    w: &Watch,
    k: u64,
    params: &[f64],
    report: &SolveReport,
    in_result: bool,
) -> Option<Prefix> {
    let within = |(c, g): (u64, u64)| c + g <= super::limits::max_evals(k);
    // Ended within k iterations: a solve capped at k ends the same way.
    if in_result && w.loss.len() as u64 <= k {
        return within((report.cost_evals, report.gradient_evals))
            .then(|| (params.to_vec(), report.clone()));
    }
    // Ran on: a solve capped at k stops at its cap with the best
    // parameters of its k iterations.
    let (_, p, counts) = w.prefixes.iter().find(|(at, _, _)| *at == k)?;
    if !(within(*counts) && p.iter().all(|v| v.is_finite())) {
        return None;
    }
    let shorter = SolveReport {
        iterations: k,
        cost_evals: counts.0,
        gradient_evals: counts.1,
        termination: Termination::Solver {
            reason: TerminationReason::MaxItersReached.to_string(),
        },
        converged: false,
        best_iteration: k,
        loss: w.loss.iter().take(k as usize).copied().collect(),
        ..report.clone()
    };
    Some((p.to_vec(), shorter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::heads::{model, HeadKind, Precision};
    use crate::training::HeadSpec;

    #[test]
    fn a_resolved_spec_solves_with_its_recorded_decay() {
        let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * 2 + j) as f64 * 0.3 - 1.0);
        let y = [1.0, 2.0, 3.0, 4.0, 4.5, 2.5];
        let spec = HeadSpec::new(HeadKind::Linear).resolved(6);
        let m = model(HeadKind::Linear, 2, 0, Precision::F64).unwrap();
        let (p, report, _) =
            solve(m, &spec, &x, &y, None, vec![0.0; 3], &Status::silent(), &[]).unwrap();
        assert_eq!(report.weight_decay, Some(spec.weight_decay));
        assert!(p.iter().all(|v| v.is_finite()));
        assert!(report.cost_evals > 0 && report.gradient_evals > 0);
    }

    #[test]
    fn every_solve_ends_within_its_iteration_and_evaluation_caps() {
        // 1e308 overflows the objective: the line search used to loop
        // forever. Any decay ends, within the caps, with finite parameters
        // or an error, never a hang.
        let x = Array2::from_shape_fn((64, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
        let y: Vec<f64> = (0..64).map(|i| 1.0 + (i % 5) as f64).collect();
        for kind in [HeadKind::Linear, HeadKind::Mlp] {
            for decay in [0.0, 1.0, 1e3, 1e300, 1e308, f64::MAX] {
                for iters in [1u64, 2, 50] {
                    let mut spec = HeadSpec::new(kind);
                    spec.hidden = 4;
                    spec.max_iters = iters;
                    spec.weight_decay = Some(decay);
                    let spec = spec.resolved(64);
                    let m = spec.model(3).unwrap();
                    let init = vec![0.1; m.n_params()];
                    let r = solve(m, &spec, &x, &y, None, init, &Status::silent(), &[]);
                    if let Ok((p, rep, _)) = &r {
                        assert!(rep.iterations <= iters, "{kind:?} {decay} {iters}: {rep:?}");
                        assert!(
                            rep.cost_evals + rep.gradient_evals
                                <= crate::training::limits::max_evals(iters)
                        );
                        assert!(p.iter().all(|v| v.is_finite()));
                    }
                }
            }
        }
    }
}
