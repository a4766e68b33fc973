//! The plain MOS and BT.500 screening (SUREAL's `MosModel`, with and without
//! `subject_rejection`).

use std::collections::HashMap;

use crate::nan_mean_sd;
use crate::special::student_t_quantile;
use crate::{ClipScore, Recovered, Screening, SubjectReport, SubjectiveModel, VoteMatrix};

/// Per clip, the mean of the votes of the kept subjects, its standard error
/// (SD / √n, as SUREAL's `quality_scores_std`) and its Student-t CI95.
fn means(
    votes: &VoteMatrix,
    model: SubjectiveModel,
    screening: Option<Vec<Screening>>,
) -> Recovered {
    let (n_j, n_i, n_r) = votes.shape();
    let keep: Vec<bool> = match &screening {
        Some(s) => s.iter().map(|s| !s.rejected).collect(),
        None => vec![true; n_i],
    };
    let mut t_cache: HashMap<usize, f64> = HashMap::new();
    let mut clips = Vec::with_capacity(n_j);
    let mut unscored = Vec::new();
    for j in 0..n_j {
        let cells = votes.clip_cells(j);
        let kept = (0..n_r).flat_map(|r| {
            (0..n_i)
                .filter(|&i| keep[i])
                .map(move |i| cells[i * n_r + r])
        });
        let (mean, sd, n) = nan_mean_sd(kept, 1);
        let sd = (n >= 2).then_some(sd);
        if n == 0 {
            unscored.push(votes.clips()[j].clone());
            continue;
        }
        let std_err = sd.map(|sd| sd / (n as f64).sqrt());
        let ci95 = std_err.map(|se| {
            let t = *t_cache
                .entry(n)
                .or_insert_with(|| student_t_quantile(0.975, (n - 1) as f64));
            t * se
        });
        clips.push(ClipScore {
            clip: votes.clips()[j].clone(),
            score: mean,
            std_err,
            ci95,
            votes: n,
        });
    }
    let per_subject = votes.votes_per_subject();
    let mut screening = screening.map(|s| s.into_iter());
    let subjects = votes
        .subjects()
        .iter()
        .zip(per_subject)
        .map(|(name, n)| SubjectReport {
            subject: name.clone(),
            votes: n,
            bias: None,
            bias_std: None,
            inconsistency: None,
            inconsistency_std: None,
            inconsistency_ci95: None,
            screening: screening.as_mut().and_then(Iterator::next),
        })
        .collect();
    Recovered {
        model,
        clips,
        unscored,
        subjects,
        iterations: None,
        converged: true,
    }
}

/// The plain MOS.
pub(crate) fn plain(votes: &VoteMatrix) -> Recovered {
    means(votes, SubjectiveModel::Mean, None)
}

/// BT.500 screening, then the mean of the subjects kept.
pub(crate) fn bt500(votes: &VoteMatrix) -> Recovered {
    let screening = screen(votes);
    means(votes, SubjectiveModel::Bt500, Some(screening))
}

/// ITU-R BT.500's screening, as SUREAL's
/// `_get_opinion_score_3darray_with_preprocessing(subject_rejection=True)`:
/// per clip, the votes' mean, SD (ddof 0) and kurtosis beta2 = m4 / m2²; a
/// vote at or beyond mean ± 2 SD (beta2 in [2, 4], normal) or mean ± √20 SD
/// (otherwise, including an undefined beta2) counts in the subject's P
/// (above) or Q (below). A subject is rejected if (P+Q) / (clips x sessions)
/// > 0.05 and |P-Q| / (P+Q) < 0.3; if every subject would be, none is.
fn screen(votes: &VoteMatrix) -> Vec<Screening> {
    let (n_j, n_i, n_r) = votes.shape();
    let mut p = vec![0usize; n_i];
    let mut q = vec![0usize; n_i];
    for j in 0..n_j {
        let cells = votes.clip_cells(j);
        let present: Vec<f64> = cells.iter().copied().filter(|v| !v.is_nan()).collect();
        if present.is_empty() {
            continue;
        }
        let n = present.len() as f64;
        let mu = present.iter().sum::<f64>() / n;
        let m2 = present.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n;
        let m4 = present.iter().map(|v| (v - mu).powi(4)).sum::<f64>() / n;
        let sigma = m2.sqrt();
        // scipy's kurtosis is NaN for zero variance: not in [2, 4]
        let kurt = if m2 == 0.0 { f64::NAN } else { m4 / (m2 * m2) };
        let k = if (2.0..=4.0).contains(&kurt) {
            2.0
        } else {
            20.0_f64.sqrt()
        };
        for i in 0..n_i {
            for r in 0..n_r {
                let s = cells[i * n_r + r];
                if s.is_nan() {
                    continue;
                }
                if s >= mu + k * sigma {
                    p[i] += 1;
                }
                if s <= mu - k * sigma {
                    q[i] += 1;
                }
            }
        }
    }
    let mut out: Vec<Screening> = (0..n_i)
        .map(|i| {
            let first_stat = (p[i] + q[i]) as f64 / (n_j * n_r) as f64;
            let second_stat =
                (p[i] + q[i] > 0).then(|| (p[i] as f64 - q[i] as f64).abs() / (p[i] + q[i]) as f64);
            Screening {
                p: p[i],
                q: q[i],
                first_stat,
                second_stat,
                rejected: first_stat > 0.05 && second_stat.is_some_and(|s| s < 0.3),
            }
        })
        .collect();
    if out.iter().all(|s| s.rejected) {
        for s in &mut out {
            s.rejected = false;
        }
    }
    out
}
