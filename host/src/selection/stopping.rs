//! Small corpora: stopping and weight decay from inner cross-validation
//! when there are too few contents for a monitor set.
//!
//! An iterative head (the MLP, the bounded linear head) normally stops
//! early on a monitor set of 10 % of its training contents. With fewer than
//! [`MONITOR_MIN_GROUPS`] contents no monitor set can be held out, and a
//! full-batch L-BFGS solve would run to its iteration cap with the tiny
//! default decay: on a 68-clip, 9-content DMOS corpus that MLP did worse
//! than the mean predictor on some folds. Instead, the iteration cap and
//! the decay are chosen by content-grouped inner CV over
//! [`stopping_grid`] (every candidate solves without a monitor set, for at
//! most its iterations), and the winner is refitted on all the rows; the
//! [`super::SelectionRecord`] says so in its `note`.

use super::Candidate;
use crate::training::{HeadKind, HeadSpec};

/// Fewest training contents for which an iterative head holds out a
/// monitor set (the training module's rule).
pub const MONITOR_MIN_GROUPS: usize = 10;

/// The MLP's iteration caps tried by inner CV (and its own cap).
pub const ITERATIONS: [u64; 3] = [10, 30, 100];
/// The MLP's weight decays tried by inner CV (when none is set explicitly).
pub const DECAYS: [f64; 4] = [1e-3, 1e-2, 1e-1, 1.0];
/// The linear head's weight decays tried by inner CV (it runs to its own
/// cap: a bounded linear model with a penalty is not what overfits).
/// The largest pull the predictions close to the training mean, which is
/// what a corpus whose features barely generalise across contents needs.
pub const LINEAR_DECAYS: [f64; 6] = [1e-6, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// The L-BFGS memory of the grid's solves (and of a refit winner), instead
/// of the default 40. On tens of rows the solve's cost is the two-loop
/// recursion over the correction pairs (two passes over 2 x memory vectors
/// of ~4,700-6,500 parameters per iteration), not the model: memory 10 cut
/// the CPU time of the fixed MLP on the small stress corpus by a third
/// (20 splits: 12.5 -> 8.5 s) with the same median SROCC over 100 splits
/// (mlp 0.9543, auto 0.9558; its SD 0.0204 -> 0.0206). A cap of 10
/// iterations gives the same solve with either memory (no pair is dropped
/// before the eleventh iteration).
pub const GRID_LBFGS_MEMORY: usize = 10;

/// Whether fitting `spec` on rows of `groups` contents would run without a
/// monitor set (and so needs inner CV for its stopping and decay).
pub fn needs_inner_cv(spec: &HeadSpec, groups: usize) -> bool {
    spec.kind.is_gradient() && spec.monitor_fraction > 0.0 && groups < MONITOR_MIN_GROUPS
}

/// The candidates for `spec` on a small corpus, all without a monitor
/// set and with L-BFGS memory [`GRID_LBFGS_MEMORY`]: for the MLP each iteration cap of [`ITERATIONS`] below the spec's
/// own cap and that cap, times each decay of [`DECAYS`]; for the linear
/// head its cap times [`LINEAR_DECAYS`]; an explicit decay replaces the
/// list. Most regularised (fewest iterations, strongest decay) first, so
/// ties go to it.
pub fn stopping_grid(spec: &HeadSpec) -> Vec<Candidate> {
    let decays: Vec<f64> = match (spec.weight_decay, spec.kind) {
        (Some(d), _) => vec![d],
        (None, HeadKind::Linear) => LINEAR_DECAYS.iter().rev().copied().collect(),
        (None, _) => DECAYS.iter().rev().copied().collect(),
    };
    let mut iters: Vec<u64> = match spec.kind {
        HeadKind::Linear => Vec::new(),
        _ => ITERATIONS
            .iter()
            .copied()
            .filter(|&i| i < spec.max_iters)
            .collect(),
    };
    iters.push(spec.max_iters);
    let mut out = Vec::new();
    for &it in &iters {
        for &d in &decays {
            let mut s = spec.clone();
            s.monitor_fraction = 0.0;
            s.lbfgs_memory = GRID_LBFGS_MEMORY;
            s.max_iters = it;
            s.weight_decay = Some(d);
            out.push(Candidate {
                name: format!("{}(decay={d:e},iters={it})", spec.kind.as_str()),
                spec: s,
                gamma_per_feature: None,
                mean_of_widths: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_disables_the_monitor_and_keeps_explicit_values() {
        let mlp = HeadSpec::new(HeadKind::Mlp);
        assert!(needs_inner_cv(&mlp, 9));
        assert!(!needs_inner_cv(&mlp, 10));
        let grid = stopping_grid(&mlp);
        assert_eq!(grid.len(), 4 * 4);
        assert!(grid.iter().all(|c| c.spec.monitor_fraction == 0.0));
        assert!(grid
            .iter()
            .all(|c| c.spec.lbfgs_memory == GRID_LBFGS_MEMORY));
        assert!(grid.iter().all(|c| !needs_inner_cv(&c.spec, 2)));
        assert_eq!(grid[0].spec.max_iters, 10);
        assert_eq!(grid[0].spec.weight_decay, Some(1.0));
        let explicit = HeadSpec {
            weight_decay: Some(3e-5),
            max_iters: 50,
            ..mlp
        };
        let grid = stopping_grid(&explicit);
        let iters: Vec<u64> = grid.iter().map(|c| c.spec.max_iters).collect();
        assert_eq!(iters, [10, 30, 50]);
        assert!(grid.iter().all(|c| c.spec.weight_decay == Some(3e-5)));
        let linear = stopping_grid(&HeadSpec::new(HeadKind::Linear));
        assert_eq!(linear.len(), 6);
        assert!(linear.iter().all(|c| c.spec.max_iters == 200));
    }
}
