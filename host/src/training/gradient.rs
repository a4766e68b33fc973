//! The fit of the gradient heads (linear, MLP): standardisation, the
//! content-grouped monitor split, the head's warm start (the MLP's from the
//! linear fit), and the L-BFGS solve ([`super::solver`]).

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{solver, FittedHead, ResolvedSpec, SolveReport, Standardizer, Status, TrainError};

/// Fits the gradient head `spec` on the rows `idx` (already checked by
/// [`HeadSpec::fit`]); also returns the heads the same fit with each lower
/// iteration cap of `prefixes` gives, where its solve shows them exactly
/// ([`solver::solve`]; `None`: fit with that cap).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit(
    spec: &ResolvedSpec,
    x: ArrayView2<'_, f64>,
    y: &[f64],
    groups: &[u32],
    idx: &[usize],
    seed: u64,
    status: &Status,
    prefixes: &[u64],
) -> Result<(FittedHead, Vec<Option<FittedHead>>), TrainError> {
    let f = x.ncols();
    let model = spec.model(f).ok_or_else(|| {
        TrainError::Params(format!(
            "the {} head has no gradient model",
            spec.kind.as_str()
        ))
    })?;
    let needed = 8;
    if idx.len() < needed {
        return Err(TrainError::TooFew {
            rows: idx.len(),
            needed,
        });
    }
    let standardizer = Standardizer::fit(x, idx);
    let (fit_idx, monitor_idx) = monitor_split(groups, idx, spec.monitor_fraction, seed);
    let xs = standardizer.apply_rows(x, &fit_idx);
    let ys: Vec<f64> = fit_idx.iter().map(|&i| y[i]).collect();
    let monitor = (!monitor_idx.is_empty()).then(|| {
        std::sync::Arc::new((
            standardizer.apply_rows(x, &monitor_idx),
            monitor_idx.iter().map(|&i| y[i]).collect::<Vec<f64>>(),
        ))
    });
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut init = model.init(&mut rng, mean);
    spec.kind
        .head()
        .warm_start(spec, &xs, &ys, mean, seed, &mut init)?;
    let (params, solve, shorter) =
        solver::solve(model, spec, &xs, &ys, monitor, init, status, prefixes)?;
    let head = |spec: ResolvedSpec, params: Vec<f64>, solve: SolveReport| FittedHead {
        spec,
        standardizer: standardizer.clone(),
        params,
        solve,
        n_fit: fit_idx.len(),
        n_monitor: monitor_idx.len(),
    };
    let shorter = prefixes
        .iter()
        .zip(shorter)
        .map(|(&k, p)| {
            p.map(|(params, solve)| {
                let spec = ResolvedSpec {
                    max_iters: k,
                    ..spec.clone()
                };
                head(spec, params, solve)
            })
        })
        .collect();
    Ok((head(spec.clone(), params, solve), shorter))
}

/// Splits `idx` into fit and monitor rows by content group: a seeded hash of
/// the group id decides, so whole contents go one way. Disabled (everything
/// fits) when the fraction is 0 or fewer than 10 groups are present.
fn monitor_split(
    groups: &[u32],
    idx: &[usize],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut distinct: Vec<u32> = idx.iter().map(|&i| groups[i]).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if fraction <= 0.0 || distinct.len() < 10 {
        return (idx.to_vec(), Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x006d_6f6e_6974_6f72);
    let mut order = distinct.clone();
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
    let take = ((distinct.len() as f64 * fraction).round() as usize).max(1);
    let held: std::collections::HashSet<u32> = order[..take].iter().copied().collect();
    idx.iter().partition(|&&i| !held.contains(&groups[i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::{HeadKind, HeadSpec};
    use ndarray::Array2;

    #[test]
    fn a_prefix_of_one_solve_is_the_fit_with_that_cap_to_the_bit() {
        let n = 40;
        let x = Array2::from_shape_fn((n, 3), |(i, j)| {
            (((i * 37 + j * 11) % 17) as f64 / 17.0 - 0.5) * (j + 1) as f64
        });
        let y: Vec<f64> = (0..n)
            .map(|i| 3.0 + (x[[i, 0]] * 2.0).tanh() - 0.5 * x[[i, 1]] * x[[i, 2]])
            .collect();
        let groups: Vec<u32> = (0..n as u32).map(|i| i % 8).collect();
        let idx: Vec<usize> = (0..n).collect();
        let quiet = Status::silent();
        // An MLP runs to every cap; the linear head converges before 150
        // iterations, so its cap-150 fit is the cap-200 solve's end.
        for (kind, caps, cap) in [
            (HeadKind::Mlp, vec![3, 20, 45], 60),
            (HeadKind::Linear, vec![150, 5], 200),
        ] {
            let mut spec = HeadSpec::new(kind);
            spec.hidden = 8;
            spec.monitor_fraction = 0.0;
            spec.weight_decay = Some(1e-2);
            spec.max_iters = cap;
            let (long, shorter) = spec
                .fit_with_prefixes(&caps, x.view(), &y, &groups, &idx, 7, &quiet)
                .unwrap();
            assert_eq!(
                long,
                spec.fit(x.view(), &y, &groups, &idx, 7, &quiet).unwrap()
            );
            for (&k, head) in caps.iter().zip(shorter) {
                let head = head.unwrap_or_else(|| panic!("{kind:?} cap {k}: not exact"));
                let own = HeadSpec {
                    max_iters: k,
                    ..spec.clone()
                }
                .fit(x.view(), &y, &groups, &idx, 7, &quiet)
                .unwrap();
                let bits = |p: &[f64]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&head.params), bits(&own.params), "{kind:?} cap {k}");
                assert_eq!(head, own, "{kind:?} cap {k}: the same head and report");
            }
            if kind == HeadKind::Linear {
                assert!(long.solve.iterations < 150, "{:?}", long.solve);
            }
        }
        // With a monitor set nothing is read off.
        let mut spec = HeadSpec::new(HeadKind::Mlp);
        spec.hidden = 8;
        spec.max_iters = 30;
        let groups: Vec<u32> = (0..n as u32).map(|i| i % 20).collect();
        let (_, shorter) = spec
            .fit_with_prefixes(&[10], x.view(), &y, &groups, &idx, 7, &quiet)
            .unwrap();
        assert_eq!(shorter, [None]);
    }
}
