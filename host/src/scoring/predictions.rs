//! Predictions of a manifest's head on a dataset, every one finite.
//!
//! A head whose weights overflow (a manifest edited by hand, or written by a
//! broken tool) can produce NaN or infinite outputs. They are never written:
//! the first such row is an error naming its file, line and id.

use crate::corpus::Dataset;
use crate::manifest::Manifest;

/// A prediction that is not a finite number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// The head's output for a row is NaN or infinite.
    #[error(
        "{location}: row `{id}`: the model's prediction is {value}, not a finite number \
         ({count} of {rows} rows); the manifest's head parameters overflow"
    )]
    NonFinite {
        /// `file:line` of the first such row.
        location: String,
        /// Its id.
        id: String,
        /// The value (`NaN`, `inf`, `-inf`).
        value: f64,
        /// How many rows have a non-finite prediction.
        count: usize,
        /// Rows scored.
        rows: usize,
    },
}

/// The head's prediction (1-5 scale) for the rows `idx` of `ds`, or an
/// error naming the first row whose prediction is not finite.
pub fn predict_finite(m: &Manifest, ds: &Dataset, idx: &[usize]) -> Result<Vec<f64>, ScoreError> {
    let pred = m.fitted().predict_rows(ds.x.view(), idx);
    let bad: Vec<usize> = pred
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_finite())
        .map(|(k, _)| k)
        .collect();
    if let Some(&k) = bad.first() {
        let i = idx[k];
        return Err(ScoreError::NonFinite {
            location: ds.location(i),
            id: ds.ids[i].to_owned(),
            value: pred[k],
            count: bad.len(),
            rows: idx.len(),
        });
    }
    Ok(pred)
}
