//! The P.910 maximum-likelihood model with subject bias and inconsistency,
//! solved by alternating projection exactly as SUREAL's `MLE_CO_AP2`
//! (`SubjectMLEModelProjectionSolver2`, sureal 0.9.0).
//!
//! Model: vote `x_jir = s_j + b_i + v_i e`, `e ~ N(0, 1)`, for clip `j`,
//! subject `i`, session `r`.

use crate::nan_mean_sd;
use crate::special::chi2_quantile;
use crate::{ClipScore, Recovered, SubjectReport, SubjectiveModel, VoteMatrix};

/// The iteration cap.
pub const MAX_ITERATIONS: usize = 1000;
/// Convergence: the L2 change of the clip scores in one iteration.
pub const DELTA_THRESHOLD: f64 = 1e-8;
/// Added to each inconsistency's square before it weights a vote.
const EPSILON: f64 = 1e-8;
/// SUREAL's normal quantile for its CI95.
const Z95: f64 = 1.95996;

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `MLE_CO_AP2` on `votes`.
pub(crate) fn mle_co_ap2(votes: &VoteMatrix) -> Recovered {
    let (n_j, n_i, n_r) = votes.shape();
    let x = |j: usize, i: usize, r: usize| votes.get(j, i, r);
    let subject_cells = |_i: usize| (0..n_j).flat_map(move |j| (0..n_r).map(move |r| (j, r)));
    let clip_cells = |_j: usize| (0..n_r).flat_map(move |r| (0..n_i).map(move |i| (i, r)));

    // initialisation: the plain mean, then each subject's mean offset
    let mut s: Vec<f64> = (0..n_j)
        .map(|j| nan_mean_sd(clip_cells(j).map(|(i, r)| x(j, i, r)), 0).0)
        .collect();
    let bias_of = |s: &[f64]| -> Vec<f64> {
        (0..n_i)
            .map(|i| nan_mean_sd(subject_cells(i).map(|(j, r)| x(j, i, r) - s[j]), 0).0)
            .collect()
    };
    let mut b = bias_of(&s);
    let mut v_i = vec![0.0; n_i];
    let mut v_j = vec![0.0; n_j];
    let mut iterations = 0;
    let mut converged = false;
    loop {
        let s_prev = s.clone();
        // inconsistency from the residues, per subject and per clip
        for (i, v) in v_i.iter_mut().enumerate() {
            *v = nan_mean_sd(subject_cells(i).map(|(j, r)| x(j, i, r) - s[j] - b[i]), 0).1;
        }
        for (j, v) in v_j.iter_mut().enumerate() {
            *v = nan_mean_sd(clip_cells(j).map(|(i, r)| x(j, i, r) - s[j] - b[i]), 0).1;
        }
        // scores: the bias-corrected votes, weighted by 1 / inconsistency²
        let w: Vec<f64> = v_i.iter().map(|v| 1.0 / (v * v + EPSILON)).collect();
        for (j, sj) in s.iter_mut().enumerate() {
            let (mut num, mut den) = (0.0, 0.0);
            for (i, r) in clip_cells(j) {
                let xv = x(j, i, r);
                if !xv.is_nan() {
                    num += (xv - b[i]) * w[i];
                    den += w[i];
                }
            }
            *sj = num / den;
        }
        b = bias_of(&s);
        iterations += 1;
        let delta = s
            .iter()
            .zip(&s_prev)
            .map(|(a, p)| (p - a) * (p - a))
            .sum::<f64>()
            .sqrt();
        if delta < DELTA_THRESHOLD {
            converged = true;
            break;
        }
        if iterations >= MAX_ITERATIONS {
            break;
        }
    }
    // standard errors: of the scores from the per-clip residue SD (the
    // "2" of AP2), of the biases and inconsistencies from the per-subject one
    let s_std: Vec<f64> = (0..n_j)
        .map(|j| {
            let den: f64 = clip_cells(j)
                .filter(|&(i, r)| !x(j, i, r).is_nan())
                .map(|_| 1.0 / (v_j[j] * v_j[j]))
                .sum();
            1.0 / den.max(0.0).sqrt()
        })
        .collect();
    let counts = votes.votes_per_subject();
    let b_std: Vec<f64> = (0..n_i)
        .map(|i| 1.0 / (counts[i] as f64 / (v_i[i] * v_i[i])).max(0.0).sqrt())
        .collect();
    let v_std: Vec<f64> = (0..n_i)
        .map(|i| {
            let v2 = v_i[i] * v_i[i];
            let lpp: f64 = subject_cells(i)
                .map(|(j, r)| x(j, i, r) - s[j] - b[i])
                .filter(|res| !res.is_nan())
                .map(|res| 1.0 / v2 + res * res * (-3.0 * v2 * v2) / (v2 * v2 * v2 * v2))
                .sum();
            1.0 / (-lpp).max(0.0).sqrt()
        })
        .collect();
    // zero-mean biases, the mean moved into the scores
    let mean_b = b.iter().sum::<f64>() / n_i as f64;
    for bi in &mut b {
        *bi -= mean_b;
    }
    for sj in &mut s {
        *sj += mean_b;
    }
    let per_clip = votes.votes_per_clip();
    let clips = (0..n_j)
        .map(|j| ClipScore {
            clip: votes.clips()[j].clone(),
            score: s[j],
            std_err: finite(s_std[j]),
            ci95: finite(Z95 * s_std[j]),
            votes: per_clip[j],
        })
        .collect();
    let subjects = (0..n_i)
        .map(|i| {
            let n = counts[i] as f64;
            let lo = (1.0 - (n / chi2_quantile(0.975, n)).sqrt()) * v_i[i];
            let hi = ((n / chi2_quantile(0.025, n)).sqrt() - 1.0) * v_i[i];
            SubjectReport {
                subject: votes.subjects()[i].clone(),
                votes: counts[i],
                bias: finite(b[i]),
                bias_std: finite(b_std[i]),
                inconsistency: finite(v_i[i]),
                inconsistency_std: finite(v_std[i]),
                inconsistency_ci95: (lo.is_finite() && hi.is_finite()).then_some((lo, hi)),
                screening: None,
            }
        })
        .collect();
    Recovered {
        model: SubjectiveModel::Mle,
        clips,
        unscored: Vec::new(),
        subjects,
        iterations: Some(iterations),
        converged,
    }
}
