//! Pearson's correlation and the checks it shares with the evaluation
//! metrics (`evaluation::metrics`, which re-exports it as `plcc`): the
//! heads need it too (the best single input), and training sits below
//! evaluation.

/// True when every value is finite.
pub fn all_finite(x: &[f64]) -> bool {
    x.iter().all(|v| v.is_finite())
}

/// True when every value equals the first (vacuously true when empty).
fn is_constant(x: &[f64]) -> bool {
    x.first().is_none_or(|&f| x.iter().all(|&v| v == f))
}

/// Arithmetic mean; the caller guarantees `x` is non-empty.
fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Pearson linear correlation coefficient (PLCC) between `pred` and `mos`.
///
/// Two-pass: `r = Σ dx·dy / (sqrt(Σ dx²)·sqrt(Σ dy²))` with `dx = x - mean(x)`.
/// The result is clamped to `[-1, 1]` to absorb rounding. `None` when
/// `n < 2`, the lengths differ, any input is non-finite, either side is
/// constant, or a sum of squares overflows.
pub fn pearson(pred: &[f64], mos: &[f64]) -> Option<f64> {
    let n = pred.len();
    if n < 2 || mos.len() != n || !all_finite(pred) || !all_finite(mos) {
        return None;
    }
    if is_constant(pred) || is_constant(mos) {
        return None;
    }
    let (mx, my) = (mean(pred), mean(mos));
    let (mut sxy, mut sxx, mut syy) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&x, &y) in pred.iter().zip(mos) {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let denom = sxx.sqrt() * syy.sqrt();
    if !(denom.is_finite() && denom > 0.0 && sxy.is_finite()) {
        return None;
    }
    Some((sxy / denom).clamp(-1.0, 1.0))
}
