//! Differential scores (DMOS), as SUREAL computes them (`dscore_mode`, the
//! `DMOS`, `SR_DMOS` and `DMOS_MLE*` models): every vote on a clip is
//! shifted by `ref_score - MOS(ref)`, where `MOS(ref)` is the plain mean of
//! every vote on the reference clip of the clip's content, before any
//! screening or maximum-likelihood step. So a reference clip's DMOS is
//! `ref_score` under `mean`, and a clip its subjects rated like its
//! reference scores `ref_score` too. The differential matrix then goes
//! through [`crate::recover`] as any other.

use crate::votes::VoteMatrix;
use crate::VoteError;

/// The differential-score matrix of `votes`: clip `j`'s content is
/// `contents[j]`, and `references[j]` says whether it is its content's
/// reference. Each content needs exactly one reference clip with a vote
/// (refused naming the content otherwise), and `ref_score` must be finite.
pub fn differential(
    votes: &VoteMatrix,
    contents: &[String],
    references: &[bool],
    ref_score: f64,
) -> Result<VoteMatrix, VoteError> {
    let (n_j, _, _) = votes.shape();
    if contents.len() != n_j || references.len() != n_j {
        return Err(VoteError::Shape {
            clips: n_j,
            subjects: contents.len().min(references.len()),
        });
    }
    if !ref_score.is_finite() {
        return Err(VoteError::Reference {
            content: String::new(),
            reason: format!("the reference score {ref_score} is not a finite number"),
        });
    }
    let mos: Vec<f64> = (0..n_j)
        .map(|j| crate::nan_mean_sd(votes.clip_cells(j).iter().copied(), 0).0)
        .collect();
    let mut shift: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for j in (0..n_j).filter(|&j| references[j]) {
        shift.entry(contents[j].as_str()).or_default().push(j);
    }
    let mut by_clip = Vec::with_capacity(n_j);
    for (j, content) in contents.iter().enumerate() {
        let refs = shift.get(content.as_str()).map_or(&[][..], Vec::as_slice);
        let r = match refs {
            [r] => *r,
            [] => {
                return Err(VoteError::Reference {
                    content: content.clone(),
                    reason: format!(
                        "no reference clip among the rated clips (clip `{}`)",
                        votes.clips()[j]
                    ),
                })
            }
            more => {
                return Err(VoteError::Reference {
                    content: content.clone(),
                    reason: format!(
                        "{} reference clips ({}): one per content",
                        more.len(),
                        more.iter()
                            .map(|&k| format!("`{}`", votes.clips()[k]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
        };
        if mos[r].is_nan() {
            return Err(VoteError::Reference {
                content: content.clone(),
                reason: format!("the reference clip `{}` has no vote", votes.clips()[r]),
            });
        }
        by_clip.push(ref_score - mos[r]);
    }
    Ok(votes.shifted(&by_clip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> VoteMatrix {
        let v = |x: &[Option<f64>]| x.to_vec();
        VoteMatrix::from_rows(
            ["r", "a", "b"].map(String::from).to_vec(),
            ["s1", "s2"].map(String::from).to_vec(),
            &[
                v(&[Some(4.0), Some(5.0)]),
                v(&[Some(3.0), None]),
                v(&[Some(2.0), Some(1.0)]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn votes_shift_by_the_reference_mos() {
        let c = vec!["x".to_owned(); 3];
        let d = differential(&m(), &c, &[true, false, false], 5.0).unwrap();
        // MOS(ref) = 4.5: every vote + 0.5
        assert_eq!(d.get(0, 0, 0), 4.5);
        assert_eq!(d.get(1, 0, 0), 3.5);
        assert!(d.get(1, 1, 0).is_nan());
        assert_eq!(d.get(2, 1, 0), 1.5);
    }

    #[test]
    fn a_content_needs_exactly_one_reference() {
        let c = vec!["x".to_owned(); 3];
        let none = differential(&m(), &c, &[false; 3], 5.0).unwrap_err();
        assert!(
            none.to_string().contains("content `x`: no reference clip"),
            "{none}"
        );
        let two = differential(&m(), &c, &[true, true, false], 5.0).unwrap_err();
        assert!(
            two.to_string().contains("2 reference clips (`r`, `a`)"),
            "{two}"
        );
        let nan = differential(&m(), &c, &[true, false, false], f64::NAN).unwrap_err();
        assert!(nan.to_string().contains("not a finite number"), "{nan}");
    }
}
