//! One solve per decay for the small-corpus stopping grid: candidates that
//! differ only in their iteration cap are fitted by one solve of the
//! largest cap, the others read off its first iterations.
//!
//! Without a monitor set a gradient head's solve is deterministic and its
//! first `k` iterations do not depend on its cap, so the head a cap of 10,
//! 30 or 100 iterations gives is the one a 400-iteration solve of the same
//! decay had after 10, 30 or 100 iterations
//! ([`crate::training::HeadSpec::fit_with_prefixes`], which says when that
//! is exact; every other cap is fitted on its own). The inner-CV table
//! is the same to the bit, with one solve instead of four per decay and
//! inner fold.

use super::Candidate;
use crate::training::HeadSpec;

/// The candidates of `own` that can share one solve, in groups: each group
/// lists the candidate with the largest iteration cap first, then the
/// others (any order). A candidate sharing with no other is a group of
/// one. Groups are in the order of their first candidate in `own`.
pub fn groups(candidates: &[Candidate], own: &[usize]) -> Vec<Vec<usize>> {
    let key = |c: usize| -> Option<HeadSpec> {
        let cand = &candidates[c];
        let spec = &cand.spec;
        let gradient = spec.kind.is_gradient();
        (gradient && spec.monitor_fraction == 0.0 && !cand.mean_of_widths).then(|| HeadSpec {
            max_iters: 0,
            ..spec.clone()
        })
    };
    let mut out: Vec<(Option<HeadSpec>, Vec<usize>)> = Vec::new();
    for &c in own {
        let k = key(c);
        match out.iter_mut().find(|(g, _)| k.is_some() && *g == k) {
            Some((_, members)) => members.push(c),
            None => out.push((k, vec![c])),
        }
    }
    out.into_iter()
        .map(|(_, mut members)| {
            // The largest cap first (the earliest of equal caps).
            if let Some(at) = (0..members.len())
                .max_by_key(|&i| (candidates[members[i]].spec.max_iters, std::cmp::Reverse(i)))
            {
                members[..=at].rotate_right(1);
            }
            members
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::stopping;
    use crate::training::HeadKind;

    #[test]
    fn the_stopping_grid_shares_one_solve_per_decay() {
        let grid = stopping::stopping_grid(&HeadSpec::new(HeadKind::Mlp));
        let mut all = vec![Candidate::default_of(HeadKind::Ridge)];
        all.extend(grid);
        let own: Vec<usize> = (0..all.len()).collect();
        let g = groups(&all, &own);
        assert_eq!(g.len(), 1 + 4, "ridge alone, then one group per decay");
        assert_eq!(g[0], [0]);
        for members in &g[1..] {
            let caps: Vec<u64> = members.iter().map(|&c| all[c].spec.max_iters).collect();
            assert_eq!(caps[0], 400);
            let mut rest = caps[1..].to_vec();
            rest.sort_unstable();
            assert_eq!(rest, [10, 30, 100]);
            let decay = all[members[0]].spec.weight_decay;
            assert!(members.iter().all(|&c| all[c].spec.weight_decay == decay));
        }
        // With a monitor set (more contents), nothing is shared.
        let monitored = crate::selection::default_candidates();
        let own: Vec<usize> = (0..monitored.len()).collect();
        assert!(groups(&monitored, &own).iter().all(|g| g.len() == 1));
    }
}
