//! The fit of the gradient heads (linear, MLP): standardisation, the
//! content-grouped monitor split, the MLP's warm start from the linear fit,
//! and the L-BFGS solve ([`super::solver`]).

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::heads::{self, HeadKind, Model};
use super::{solver, FittedHead, HeadSpec, ResolvedSpec, Standardizer, Status, TrainError};

/// Fits the gradient head `spec` on the rows `idx` (already checked by
/// [`HeadSpec::fit`]).
pub(crate) fn fit(
    spec: &ResolvedSpec,
    x: ArrayView2<'_, f64>,
    y: &[f64],
    groups: &[u32],
    idx: &[usize],
    seed: u64,
    status: &Status,
) -> Result<FittedHead, TrainError> {
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
    if spec.kind == HeadKind::Mlp {
        // Warm start: the MLP begins at the bounded linear fit of the
        // same rows (its skip path), with small hidden-to-output weights.
        let linear_spec = HeadSpec::new(HeadKind::Linear).resolved(fit_idx.len());
        let linear = heads::Linear { f };
        let lin_init = linear.init(&mut ChaCha8Rng::seed_from_u64(seed), mean);
        let (w, _) = solver::solve(
            std::sync::Arc::new(linear),
            &linear_spec,
            &xs,
            &ys,
            None,
            lin_init,
            &Status::silent(),
        )?;
        let mlp = heads::Mlp {
            f,
            h1: spec.hidden,
            h2: spec.hidden,
            precision: spec.precision,
        };
        mlp.set_linear_part(&mut init, &w[..f], w[f]);
    }
    let (params, solve) = solver::solve(model, spec, &xs, &ys, monitor, init, status)?;
    Ok(FittedHead {
        spec: spec.clone(),
        standardizer,
        params,
        solve,
        n_fit: fit_idx.len(),
        n_monitor: monitor_idx.len(),
    })
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
