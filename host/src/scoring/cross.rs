//! Scoring a model on another adapter's corpus (cross-corpus validation).
//!
//! The other adapter must offer the model's feature schema with the same
//! columns in the same order. Predictions are on the model's 1-5 head
//! scale, which its adapter's declared map ties to that corpus's native
//! scale; the other corpus's MOS reaches 1-5 through its own adapter's
//! map. [`align_scale`] takes a prediction through both maps: to the
//! model's native scale, to the same fraction of the other corpus's native
//! range, and back to 1-5 through the other adapter's map. When both
//! adapters map their native endpoints onto 1 and 5 (CHUG 0-100, KonViD
//! 1-5) it is the identity.

use moshead_protocol::{Descriptor, MosScale};

use crate::manifest::Manifest;

/// Why a model cannot be scored on another adapter's rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrossError {
    /// The other adapter does not offer the model's schema.
    #[error(
        "adapter `{adapter}` does not offer the model's feature schema `{schema}`; its schemas: {offered}"
    )]
    NoSchema {
        /// The other adapter.
        adapter: String,
        /// The model's schema.
        schema: String,
        /// Its schemas with their column counts.
        offered: String,
    },
    /// The schema exists under that name with other columns.
    #[error(
        "adapter `{adapter}` declares schema `{schema}` with other columns than the model's ({detail})"
    )]
    Columns {
        /// The other adapter.
        adapter: String,
        /// The schema.
        schema: String,
        /// The first difference.
        detail: String,
    },
}

/// Checks that `other` offers `m`'s feature schema, column for column.
pub fn check_schema(other: &Descriptor, m: &Manifest) -> Result<(), CrossError> {
    let Some(schema) = other.schema(&m.feature_schema) else {
        return Err(CrossError::NoSchema {
            adapter: other.name.clone(),
            schema: m.feature_schema.clone(),
            offered: other
                .schemas
                .iter()
                .map(|s| format!("{} ({} columns)", s.name, s.columns.len()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    if schema.columns != m.feature_order {
        let detail = match schema
            .columns
            .iter()
            .zip(&m.feature_order)
            .position(|(a, b)| a != b)
        {
            Some(i) => format!(
                "column {i} is `{}` there, `{}` in the model",
                schema.columns[i], m.feature_order[i]
            ),
            None => format!(
                "{} columns there, {} in the model",
                schema.columns.len(),
                m.feature_order.len()
            ),
        };
        return Err(CrossError::Columns {
            adapter: other.name.clone(),
            schema: m.feature_schema.clone(),
            detail,
        });
    }
    Ok(())
}

/// A prediction on the model's 1-5 scale, taken to the other corpus's 1-5
/// scale through both adapters' declared MOS scales (see the module
/// documentation).
pub fn align_scale(model: &MosScale, other: &MosScale, prediction: f64) -> f64 {
    let native = model.to_native(prediction);
    let fraction = (native - model.native_min) / (model.native_max - model.native_min);
    other.to_head(other.native_min + fraction * (other.native_max - other.native_min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(min: f64, max: f64, a: f64, b: f64) -> MosScale {
        MosScale {
            native_min: min,
            native_max: max,
            to_head_scale: a,
            to_head_offset: b,
            native_key: "mos".into(),
        }
    }

    #[test]
    fn scales_that_span_1_to_5_align_to_the_identity() {
        let chug = scale(0.0, 100.0, 0.04, 1.0);
        let konvid = scale(1.0, 5.0, 1.0, 0.0);
        for p in [1.0, 2.25, 3.0, 4.9, 5.0] {
            assert!((align_scale(&chug, &konvid, p) - p).abs() < 1e-12);
            assert!((align_scale(&konvid, &chug, p) - p).abs() < 1e-12);
        }
    }

    #[test]
    fn a_narrower_head_range_is_stretched_by_hand() {
        // Native 0-10 mapped onto 2-4 (head = 2 + 0.2 x); the other spans 1-5.
        let narrow = scale(0.0, 10.0, 0.2, 2.0);
        let full = scale(1.0, 5.0, 1.0, 0.0);
        // 3.0 on the narrow head = native 5 = half the range = 3 on 1-5.
        assert!((align_scale(&narrow, &full, 3.0) - 3.0).abs() < 1e-12);
        // 2.5 = native 2.5 = a quarter = 2.0 on 1-5.
        assert!((align_scale(&narrow, &full, 2.5) - 2.0).abs() < 1e-12);
        // and back: 2.0 on 1-5 is a quarter of 0-10 = 2.5 on the narrow head.
        assert!((align_scale(&full, &narrow, 2.0) - 2.5).abs() < 1e-12);
    }
}
