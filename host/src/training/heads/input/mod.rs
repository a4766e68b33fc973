//! The best single input, linearly mapped: the feature column whose
//! Pearson correlation with the MOS of the training rows is largest in
//! magnitude (the first such column on a tie), fitted to those rows by
//! least squares. A head that fuses its inputs should beat it; with VMAF's
//! own score among the inputs it is VMAF remapped to the corpus.
//!
//! It is a head (so `--head auto` can choose it, and its ONNX graph is one
//! affine map) and the `best-input` baseline of validation
//! ([`BestInput`], whose predictions the baseline takes unclipped).
//! Parameters: the affine map's weights over the standardised features
//! (one of them non-zero) and its bias, as the ridge head's.

use ndarray::{Array2, ArrayView2};

use super::{affine, clip, family, rank, Candidate, Form, Head, HeadKind, Rank, Rows};
use crate::training::compute::correlation::pearson;
use crate::training::{FittedHead, HeadSpec, ResolvedSpec, Standardizer, Status, TrainError};

/// The chosen column of a set of rows and its least-squares map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestInput {
    /// The feature column.
    pub column: usize,
    /// Its Pearson correlation with the MOS of the rows.
    pub r: f64,
    /// MOS per unit of the feature.
    pub slope: f64,
    /// The column's mean over the rows.
    pub x_mean: f64,
    /// The MOS mean over the rows.
    pub y_mean: f64,
}

impl BestInput {
    /// The best column of rows `idx` of `x` against the MOS `y` (indexed
    /// like `x`'s rows); `None` when no column varies (or none has a
    /// defined correlation) over those rows.
    pub fn choose(x: ArrayView2<'_, f64>, y: &[f64], idx: &[usize]) -> Option<BestInput> {
        let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        let mut best: Option<(usize, f64)> = None;
        for j in 0..x.ncols() {
            let col: Vec<f64> = idx.iter().map(|&i| x[[i, j]]).collect();
            let Some(r) = pearson(&col, &ys) else {
                continue;
            };
            if r.is_finite() && best.is_none_or(|(_, b)| r.abs() > b.abs()) {
                best = Some((j, r));
            }
        }
        let (column, r) = best?;
        let n = idx.len() as f64;
        let x_mean = idx.iter().map(|&i| x[[i, column]]).sum::<f64>() / n;
        let y_mean = ys.iter().sum::<f64>() / n;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (&i, &yi) in idx.iter().zip(&ys) {
            let dx = x[[i, column]] - x_mean;
            sxy += dx * (yi - y_mean);
            sxx += dx * dx;
        }
        Some(BestInput {
            column,
            r,
            slope: sxy / sxx,
            x_mean,
            y_mean,
        })
    }

    /// The mapped value of a row whose chosen feature is `v` (unclipped).
    pub fn map(&self, v: f64) -> f64 {
        self.y_mean + self.slope * (v - self.x_mean)
    }
}

/// The best single input as a head.
#[derive(Debug, Clone, Copy)]
pub struct InputHead;

impl Head for InputHead {
    fn name(&self) -> &'static str {
        "input"
    }

    fn about(&self) -> &'static str {
        "The best single input (the feature most correlated with the MOS), linearly mapped"
    }

    /// One candidate, after ridge: a fused head must beat it to be chosen.
    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        vec![(
            rank::INPUT,
            Candidate {
                name: "best-input".into(),
                ..Candidate::default_of(HeadKind::Input)
            },
        )]
    }

    fn fit(
        &self,
        _spec: &HeadSpec,
        resolved: ResolvedSpec,
        rows: Rows<'_>,
        _status: &Status,
    ) -> Result<FittedHead, TrainError> {
        let best = BestInput::choose(rows.x, rows.y, rows.idx).ok_or_else(|| {
            TrainError::Params("no feature varies with a defined correlation over the rows".into())
        })?;
        let standardizer = Standardizer::fit(rows.x, rows.idx);
        let f = rows.x.ncols();
        let j = best.column;
        // On standardised features x_std = (x - mean) / std.
        let (mean, std) = (standardizer.mean[j], standardizer.std[j]);
        let mut params = vec![0.0; f + 1];
        params[j] = best.slope * std;
        params[f] = best.map(mean);
        Ok(FittedHead {
            spec: resolved,
            standardizer,
            params,
            solve: family::closed_form_report(
                format!(
                    "least squares on feature {j} (PLCC {:.4} on the training rows)",
                    best.r
                ),
                0.0,
                0,
                true,
            ),
            n_fit: rows.idx.len(),
            n_monitor: 0,
        })
    }

    fn predict(&self, head: &FittedHead, xs: &Array2<f64>) -> Vec<f64> {
        clip(affine(&head.params, xs.view()))
    }

    fn n_params(&self, _head: &FittedHead, features: usize) -> Result<usize, String> {
        Ok(features + 1)
    }

    fn summary(&self, _spec: &ResolvedSpec) -> String {
        "the best single input, linearly mapped".into()
    }

    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        family::affine_form(&head.params, f, "input")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::heads::testing::data;

    #[test]
    fn the_head_predicts_the_clipped_least_squares_map_of_the_best_column() {
        // Column 2 is 0.5 * MOS - 1 plus a little noise; the others noise.
        let (mut x, y) = data(60, 4, 11);
        for i in 0..60 {
            x[[i, 2]] = 0.5 * y[i] - 1.0 + 0.01 * ((i % 7) as f64 - 3.0);
        }
        let groups: Vec<u32> = (0..60).map(|i| i / 3).collect();
        let idx: Vec<usize> = (0..60).filter(|i| i % 4 != 0).collect();
        let best = BestInput::choose(x.view(), &y, &idx).unwrap();
        assert_eq!(best.column, 2);
        assert!(best.r > 0.99, "{best:?}");
        // The least-squares slope of MOS on 0.5 MOS - 1 is about 2.
        assert!((best.slope - 2.0).abs() < 0.02, "{best:?}");
        let head = HeadSpec::new(HeadKind::Input)
            .fit(x.view(), &y, &groups, &idx, 1, &Status::silent())
            .unwrap();
        let pred = head.predict(x.view());
        for i in 0..60 {
            let want = best.map(x[[i, 2]]).clamp(1.0, 5.0);
            assert!((pred[i] - want).abs() < 1e-9, "row {i}: {} vs {want}", pred[i]);
        }
        // Its graph is the same affine map, one weight non-zero.
        match head.form(4).unwrap() {
            Form::Affine { w, .. } => {
                assert_eq!(w.iter().filter(|v| **v != 0.0).count(), 1);
                assert!(w[2] != 0.0);
            }
            other => panic!("{other:?}"),
        }
        // No column varies: refused, not a constant.
        let flat = Array2::from_elem((5, 2), 1.0);
        let y5 = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(HeadSpec::new(HeadKind::Input)
            .fit(flat.view(), &y5, &[0, 1, 2, 3, 4], &[0, 1, 2, 3, 4], 1, &Status::silent())
            .is_err());
    }
}
