//! The inner cross-validation of the SVR candidates on shared kernel
//! matrices.
//!
//! Fitting every SVR candidate on every inner fold from scratch computes
//! the same kernel values again and again: the inner folds' training rows
//! are subsets of the selection's rows, and the candidates of one kernel
//! width differ only in `C`. Here, for the selection's rows (of at least
//! ten contents, see [`shared`]):
//!
//! 1. the features are scaled once on all of the selection's rows (its
//!    features only, never a MOS; as the practitioners' recipe scales an
//!    outer training part once before its grid search);
//! 2. the SVRs are fitted from one seeded uniform sample of those rows
//!    ([`sample`]: all of them up to the SVR's row cap, at most
//!    [`GRAM_MAX_ROWS`]); an inner fold's SVRs train on its training rows
//!    within the sample and predict all of its held-out rows, so every
//!    candidate is scored on the same rows;
//! 3. one kernel matrix of the sample per kernel width (in `f32`, the
//!    values the solver's cache would hold) serves every candidate and
//!    inner fold;
//! 4. per inner fold and width, the candidates are solved in increasing
//!    `C`, each epsilon-SVR started from the previous `C`'s solution
//!    (alpha seeding, [`smo::solve_from`]); once the pooled inner RMSE of
//!    a width rises from one `C` to the next, its larger `C` are not
//!    fitted (the error is taken as unimodal in `C`: past its minimum it
//!    only rises, and the largest `C` are the slowest solves) and the table
//!    says why;
//! 5. the solves stop at the looser [`INNER_TOL`];
//! 6. held-out rows in the sample are predicted from the same matrix, the
//!    others from their scaled features (the winner is then refitted on its
//!    own, from scratch, by the head itself, on the sample's rows).
//!
//! Each fit is deterministic and the chains run in parallel, so the scores
//! do not depend on scheduling.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::stopping::MONITOR_MIN_GROUPS;
use super::Candidate;
use crate::corpus::Dataset;
use crate::evaluation::folds::Fold;
use crate::evaluation::rmse;
use crate::training::heads::svr::kernel::{Gram, RowCache};
use crate::training::heads::svr::{self, smo, SvrScaling, SvrSpec, SvrType};
use crate::training::{Standardizer, TrainError, MOS_RANGE};

/// Most selection rows the SVR candidates are fitted from (one `f32`
/// kernel matrix of this many rows squared per kernel width: 100 MB).
pub const GRAM_MAX_ROWS: usize = 5_000;

/// Seed offset of the SVR candidates' sample.
const SAMPLE_SEED: u64 = 0x0073_7672_7376;

/// The selection rows the SVR candidates are fitted from: all of `rows` up
/// to `cap` rows (at most [`GRAM_MAX_ROWS`]), else a seeded uniform sample
/// of that many, in their order. The chosen SVR is refitted on the same
/// rows, so the hyper-parameters are chosen for the rows it is fitted on.
pub fn sample(rows: &[usize], cap: usize, seed: u64) -> Vec<usize> {
    svr::capped(rows, cap.clamp(2, GRAM_MAX_ROWS), seed ^ SAMPLE_SEED)
}

/// The SMO stopping tolerance of the inner fits (the spec's when looser):
/// on the development set's splits, 1e-2 instead of libsvm's 1e-3 halves
/// the iterations of a large-`C` solve and moves its held-out RMSE by less
/// than 1e-3, a tenth of the gaps between candidates. The refit of the
/// winner uses the spec's own tolerance.
pub const INNER_TOL: f64 = 1e-2;

/// Whether the candidate's inner folds are fitted here: an SVR on rows of
/// at least [`MONITOR_MIN_GROUPS`] contents.
/// With fewer contents the inner folds leave one content out, a large
/// share of the rows, whose features would then take part in the scaling
/// its fit is scored with, and such fits are too small for sharing to
/// save time. (On the `small` stress corpus, this and the mean of SVRs
/// together had moved auto's median SROCC from 0.9558 to 0.9500; without
/// either below 10 contents it is 0.9558 again.)
pub fn shared(c: &Candidate, groups: usize) -> bool {
    c.spec.kind.head().sampled_in_selection() && groups >= MONITOR_MIN_GROUPS
}

/// One kernel matrix's candidates: a scaling, a kernel and a width.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Width {
    scaling: u8,
    kernel: u8,
    gamma: u64,
}

/// Where the dataset's rows are among the selection's rows and in the
/// SVR candidates' [`sample`].
struct Maps {
    /// Position of every row of the dataset among the selection's rows
    /// (`usize::MAX` outside them): its row of the scaled features.
    local: Vec<usize>,
    /// Position of every row of the dataset in the sample (`usize::MAX`
    /// outside it): its index into the kernel matrices.
    in_gram: Vec<usize>,
    /// The sample's rows, as positions among the selection's rows.
    gram_local: Vec<usize>,
}

/// Held-out predictions of the candidates `which` (indices into
/// `candidates`, each [`shared`]) on every fold of `folds` (over the rows
/// `rows` of `ds`), fitted on the fold's training rows within `sample` (a
/// subset of `rows`, [`sample`]): `out[(candidate, fold)]`, or why there
/// are none (a failed fit, or a `C` not fitted).
pub fn inner_predictions(
    ds: &Dataset,
    rows: &[usize],
    sample: &[usize],
    folds: &[Fold],
    candidates: &[Candidate],
    which: &[usize],
) -> BTreeMap<(usize, usize), Result<Vec<f64>, String>> {
    let f = ds.x.ncols();
    let specs: BTreeMap<usize, SvrSpec> = which
        .iter()
        .map(|&c| (c, candidates[c].resolve(f).svr))
        .collect();
    let mut local = vec![usize::MAX; ds.len()];
    for (k, &i) in rows.iter().enumerate() {
        local[i] = k;
    }
    let mut in_gram = vec![usize::MAX; ds.len()];
    for (k, &i) in sample.iter().enumerate() {
        in_gram[i] = k;
    }
    let gram_local: Vec<usize> = sample.iter().map(|&i| local[i]).collect();
    let maps = Maps {
        local,
        in_gram,
        gram_local,
    };
    let mut widths: BTreeMap<Width, Vec<usize>> = BTreeMap::new();
    for (&c, s) in &specs {
        let key = Width {
            scaling: s.scaling as u8,
            kernel: s.kernel as u8,
            gamma: gamma(s, f).to_bits(),
        };
        widths.entry(key).or_default().push(c);
    }
    let mut scaled: BTreeMap<u8, ndarray::Array2<f64>> = BTreeMap::new();
    for (w, members) in &widths {
        let scaling = specs[&members[0]].scaling;
        scaled.entry(w.scaling).or_insert_with(|| {
            let st: Standardizer = match scaling {
                SvrScaling::Minmax => svr::minmax(ds.x.view(), rows),
                SvrScaling::Standard => Standardizer::fit(ds.x.view(), rows),
            };
            st.apply_rows(ds.x.view(), rows)
        });
    }
    let grams: Vec<(Width, Gram)> = widths
        .keys()
        .map(|w| {
            let s = &specs[&widths[w][0]];
            let rows = scaled[&w.scaling].select(ndarray::Axis(0), &maps.gram_local);
            (*w, Gram::new(&rows, s.kernel, gamma(s, f)))
        })
        .collect();
    // One chain per (width, everything but C): its candidates in
    // increasing C.
    let mut chains: Vec<(usize, Vec<usize>)> = Vec::new();
    for (g, (w, _)) in grams.iter().enumerate() {
        let mut rest: BTreeMap<[u64; 6], Vec<usize>> = BTreeMap::new();
        for &c in &widths[w] {
            let s = &specs[&c];
            let key = [
                s.svm_type as u64,
                s.epsilon.to_bits(),
                s.nu.to_bits(),
                s.tol.to_bits(),
                s.max_rows as u64,
                u64::from(s.shrinking),
            ];
            rest.entry(key).or_default().push(c);
        }
        for mut members in rest.into_values() {
            members.sort_by(|a, b| specs[a].c.total_cmp(&specs[b].c).then(a.cmp(b)));
            chains.push((g, members));
        }
    }
    // Every chain takes its next C on every fold at once (in parallel);
    // a chain whose pooled inner RMSE rose from one C to the next stops.
    struct State {
        previous: Option<Vec<f64>>,
        rows: Option<(Vec<usize>, RowCache<'static>)>,
    }
    let mut states: Vec<State> = (0..chains.len() * folds.len())
        .map(|_| State {
            previous: None,
            rows: None,
        })
        .collect();
    let mut out = BTreeMap::new();
    let mut last_rmse: Vec<Option<f64>> = vec![None; chains.len()];
    let mut stopped: Vec<Option<String>> = vec![None; chains.len()];
    let longest = chains.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    for step in 0..longest {
        let results: Vec<(usize, usize, Result<Vec<f64>, TrainError>)> = states
            .par_iter_mut()
            .enumerate()
            .filter_map(|(t, state)| {
                let (ch, fold) = (t / folds.len(), t % folds.len());
                let (g, members) = &chains[ch];
                let c = *members.get(step)?;
                if stopped[ch].is_some() {
                    return None;
                }
                let spec = &specs[&c];
                let (width, gram) = &grams[*g];
                let r = fit_predict(
                    ds,
                    gram,
                    &maps,
                    &scaled[&width.scaling],
                    &folds[fold],
                    spec,
                    state.previous.as_deref(),
                    &mut state.rows,
                );
                state.previous = match (&r, spec.svm_type) {
                    (Ok((_, coef)), SvrType::Epsilon) => Some(coef.clone()),
                    _ => None,
                };
                Some((c, fold, r.map(|(p, _)| p)))
            })
            .collect();
        for (ch, (_, members)) in chains.iter().enumerate() {
            let Some(&c) = members.get(step) else {
                continue;
            };
            if let Some(why) = &stopped[ch] {
                for fold in 0..folds.len() {
                    out.insert((c, fold), Err(why.clone()));
                }
                continue;
            }
            let (mut pred, mut mos) = (Vec::new(), Vec::new());
            for (rc, fold, r) in results.iter().filter(|(rc, _, _)| *rc == c) {
                debug_assert_eq!(*rc, c);
                if let Ok(p) = r {
                    pred.extend(p);
                    mos.extend(folds[*fold].eval.iter().map(|&i| ds.mos[i]));
                }
            }
            let now = (mos.len() == folds.iter().map(|f| f.eval.len()).sum::<usize>())
                .then(|| rmse(&pred, &mos))
                .flatten();
            if let (Some(now), Some(before)) = (now, last_rmse[ch]) {
                if now > before {
                    stopped[ch] = Some(format!(
                        "not fitted: at this width the inner RMSE rose from {before:.4} to {now:.4} at C {}",
                        specs[&c].c
                    ));
                }
            }
            last_rmse[ch] = now;
        }
        for (c, fold, r) in results {
            let r = r.map_err(|e| format!("inner fold {}: {e}", folds[fold].index));
            out.insert((c, fold), r);
        }
    }
    out
}

/// The width a spec's kernel uses (`1 / F` by default; the linear kernel
/// has none).
fn gamma(s: &SvrSpec, f: usize) -> f64 {
    match s.kernel {
        svr::KernelKind::Rbf => s.gamma.unwrap_or(1.0 / f.max(1) as f64),
        svr::KernelKind::Linear => 0.0,
    }
}

/// Fits `spec` on the fold's training rows within the sample (capped as
/// the head caps them) from `gram`, optionally from `start`, and predicts
/// every held-out row (from `gram` where it is in the sample, else from its
/// scaled features `scaled`): `(predictions, coefficients)`.
#[allow(clippy::too_many_arguments)]
fn fit_predict(
    ds: &Dataset,
    gram: &Gram,
    maps: &Maps,
    scaled: &ndarray::Array2<f64>,
    fold: &Fold,
    spec: &SvrSpec,
    start: Option<&[f64]>,
    chain: &mut Option<(Vec<usize>, RowCache<'static>)>,
) -> Result<(Vec<f64>, Vec<f64>), TrainError> {
    spec.check()?;
    let within: Vec<usize> = fold
        .train
        .iter()
        .copied()
        .filter(|&i| maps.in_gram[i] != usize::MAX)
        .collect();
    if within.len() < 2 {
        return Err(TrainError::TooFew {
            rows: within.len(),
            needed: 2,
        });
    }
    let train = svr::capped(&within, spec.max_rows, fold.seed);
    let idx: Vec<usize> = train.iter().map(|&i| maps.in_gram[i]).collect();
    if chain.as_ref().is_none_or(|(rows, _)| *rows != idx) {
        let cache = gram.cache(&idx);
        *chain = Some((idx.clone(), cache));
    }
    let Some((_, cache)) = chain.as_mut() else {
        return Err(TrainError::Solver("SVR: no kernel rows".into()));
    };
    let ys: Vec<f64> = train.iter().map(|&i| ds.mos[i]).collect();
    let form = match spec.svm_type {
        SvrType::Epsilon => smo::Formulation::Epsilon {
            epsilon: spec.epsilon,
        },
        SvrType::Nu => smo::Formulation::Nu { nu: spec.nu },
    };
    let stop = smo::Stop {
        tol: spec.tol.max(INNER_TOL),
        shrinking: spec.shrinking,
    };
    let sol = smo::solve_from(cache, &ys, spec.c, form, stop, start);
    if !sol.rho.is_finite() || sol.coef.iter().any(|v| !v.is_finite()) {
        return Err(TrainError::Solver("SVR: non-finite solution".into()));
    }
    let support: Vec<(usize, f64)> = idx
        .iter()
        .zip(&sol.coef)
        .filter(|(_, c)| **c != 0.0)
        .map(|(&k, &c)| (k, c))
        .collect();
    let width = gamma(spec, scaled.ncols());
    let pred = fold
        .eval
        .iter()
        .map(|&e| {
            let z = match maps.in_gram[e] {
                usize::MAX => {
                    let xe = scaled.row(maps.local[e]);
                    support
                        .iter()
                        .map(|&(k, c)| {
                            c * spec.kernel.eval(width, scaled.row(maps.gram_local[k]), xe)
                        })
                        .sum::<f64>()
                }
                g => support
                    .iter()
                    .map(|&(k, c)| c * f64::from(gram.get(k, g)))
                    .sum::<f64>(),
            } - sol.rho;
            z.clamp(MOS_RANGE[0], MOS_RANGE[1])
        })
        .collect();
    Ok((pred, sol.coef))
}
