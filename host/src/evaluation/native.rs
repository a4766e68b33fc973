//! The validation's errors on the corpus's native MOS scale (a 0-100 study
//! thinks in points, not in the head's 1-5 units), and numbers printed at a
//! precision that fits their scale.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The head's and baselines' RMSE in one slot's native units: the head-scale
/// RMSE divided by the slot's `to_head_scale` (the map is affine, so this is
/// exact when every row is of that slot, and the same error in that slot's
/// units when slots of different scales were pooled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRmse {
    /// The native scale's lower end.
    pub native_min: f64,
    /// Its upper end.
    pub native_max: f64,
    /// Native units per head-scale unit (`1 / to_head_scale`).
    pub per_head_unit: f64,
    /// The head's mean RMSE over folds.
    pub mean: Option<f64>,
    /// The head's median RMSE over folds.
    pub median: Option<f64>,
    /// The head's pooled out-of-fold RMSE.
    pub pooled: Option<f64>,
    /// Each baseline's mean RMSE over folds.
    pub baselines: BTreeMap<String, Option<f64>>,
}

impl NativeRmse {
    /// `rmse` (head scale) in this slot's units.
    pub fn of(&self, rmse: Option<f64>) -> Option<f64> {
        rmse.map(|r| r * self.per_head_unit)
    }

    /// `0-100`.
    pub fn range(&self) -> String {
        format!("{}-{}", num(self.native_min), num(self.native_max))
    }

    /// A value on this scale at a precision that fits it.
    pub fn show(&self, v: Option<f64>) -> String {
        v.map_or("-".into(), |v| fixed(v, self.native_max - self.native_min))
    }
}

/// `v` with the decimals a scale of width `range` needs for three
/// significant figures of an error on it (0.475 on 1-5, 11.9 on 0-100).
pub fn fixed(v: f64, range: f64) -> String {
    let decimals = if range.is_finite() && range > 0.0 {
        (3 - range.log10().floor() as i32).clamp(0, 6) as usize
    } else {
        4
    };
    format!("{v:.decimals$}")
}

/// A scale end as written (`0`, `100`, `1`, `5`, `0.5`), never
/// `44.00999999999999`.
pub fn num(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{fixed, num};

    #[test]
    fn precision_fits_the_scale() {
        assert_eq!(fixed(11.912_345, 100.0), "11.9");
        assert_eq!(fixed(0.475_123, 4.0), "0.475");
        assert_eq!(fixed(44.009_999_999_999_99, 100.0), "44.0");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(44.009_999_999_999_99), "44.01");
    }
}
