//! The valid ranges of the hyper-parameters, checked up front (before any
//! input is read), and the evaluation cap that bounds every solve.
//!
//! Every solve ends within its caps for any value these ranges admit: the
//! L-BFGS iteration cap (`max_iters`) bounds the outer loop, and the
//! evaluation cap ([`max_evals`]) bounds the cost and gradient requests of
//! the More-Thuente line search, which has no cap of its own in argmin (a
//! huge weight decay used to overflow the objective and never finish).

use super::HeadSpec;

/// The largest weight decay accepted. The objective is a mean squared
/// error on the 1-5 scale (at most 16) plus `decay * |w|^2`: from about
/// 1e3 every weight is held at 0 to the precision of an f64 solve, so
/// larger values only risk overflow.
pub const MAX_WEIGHT_DECAY: f64 = 1e3;
/// The largest L-BFGS iteration cap accepted.
pub const MAX_ITERS: u64 = 100_000;
/// The largest early-stopping patience accepted.
pub const MAX_PATIENCE: u64 = 100_000;
/// The largest number of folds accepted.
pub const MAX_FOLDS: usize = 100;
/// The largest number of repeated splits accepted.
pub const MAX_REPEATS: usize = 1_000;

/// Cost and gradient requests allowed per L-BFGS iteration: a More-Thuente
/// step normally takes 2 to 6 (measured on the CHUG- and KonViD-sized
/// corpora); 25 leaves room for hard steps and still bounds a line search
/// that cannot finish.
pub const EVALS_PER_ITER: u64 = 25;

/// The evaluation cap of a solve with iteration cap `max_iters`: cost and
/// gradient requests counted together.
pub fn max_evals(max_iters: u64) -> u64 {
    max_iters.saturating_mul(EVALS_PER_ITER).saturating_add(50)
}

/// `d` as typed by a person: `1e308`, `0.5`.
fn show(d: f64) -> String {
    if d != 0.0 && !(1e-4..1e6).contains(&d.abs()) {
        format!("{d:e}")
    } else {
        format!("{d}")
    }
}

/// A setting with a valid range, named as `moshead train`'s flag that sets
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// `--weight-decay`.
    WeightDecay,
    /// `--max-iters`.
    MaxIters,
    /// `--patience`.
    Patience,
    /// `--folds`.
    Folds,
    /// `--repeats`.
    Repeats,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Setting::WeightDecay => "--weight-decay",
            Setting::MaxIters => "--max-iters",
            Setting::Patience => "--patience",
            Setting::Folds => "--folds",
            Setting::Repeats => "--repeats",
        })
    }
}

/// A value of a [`Setting`] or a bound of its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// A real value (shown as a person types it: `1e308`, `0.5`).
    Real(f64),
    /// A real value shown in scientific notation (`1e3`).
    Scientific(f64),
    /// A count.
    Count(u64),
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Real(d) => f.write_str(&show(*d)),
            Amount::Scientific(d) => write!(f, "{d:e}"),
            Amount::Count(n) => write!(f, "{n}"),
        }
    }
}

/// A value outside its setting's valid range, with the range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{setting} {value} is out of range: valid values are {min} to {max}")]
pub struct RangeError {
    /// The setting.
    pub setting: Setting,
    /// The value refused.
    pub value: Amount,
    /// The smallest valid value.
    pub min: Amount,
    /// The largest valid value.
    pub max: Amount,
}

/// Refuses `value` of `setting` outside `min..=max`.
fn within(setting: Setting, value: u64, min: u64, max: u64) -> Result<(), RangeError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(RangeError {
        setting,
        value: Amount::Count(value),
        min: Amount::Count(min),
        max: Amount::Count(max),
    })
}

/// Refuses a spec outside the valid ranges, naming the setting and its
/// range.
pub fn check_spec(spec: &HeadSpec) -> Result<(), RangeError> {
    if let Some(d) = spec.weight_decay {
        if !(d.is_finite() && (0.0..=MAX_WEIGHT_DECAY).contains(&d)) {
            return Err(RangeError {
                setting: Setting::WeightDecay,
                value: Amount::Real(d),
                min: Amount::Real(0.0),
                max: Amount::Scientific(MAX_WEIGHT_DECAY),
            });
        }
    }
    within(Setting::MaxIters, spec.max_iters, 1, MAX_ITERS)?;
    within(Setting::Patience, spec.patience, 0, MAX_PATIENCE)
}

/// Refuses fold and repeat counts outside their ranges.
pub fn check_policy(folds: usize, repeats: usize) -> Result<(), RangeError> {
    within(Setting::Folds, folds as u64, 2, MAX_FOLDS as u64)?;
    within(Setting::Repeats, repeats as u64, 1, MAX_REPEATS as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::HeadKind;

    #[test]
    fn ranges_are_enforced_with_their_bounds_in_the_message() {
        let mut s = HeadSpec::new(HeadKind::Mlp);
        assert_eq!(check_spec(&s), Ok(()));
        s.weight_decay = Some(1e308);
        assert!(check_spec(&s)
            .unwrap_err()
            .to_string()
            .contains("--weight-decay 1e308 is out of range: valid values are 0 to 1e3"));
        s.weight_decay = Some(MAX_WEIGHT_DECAY);
        assert_eq!(check_spec(&s), Ok(()));
        s.weight_decay = Some(-0.1);
        assert!(check_spec(&s).is_err());
        s.weight_decay = None;
        s.max_iters = 0;
        assert!(check_spec(&s)
            .unwrap_err()
            .to_string()
            .contains("1 to 100000"));
        let e = check_policy(1, 10).unwrap_err();
        assert_eq!(
            (e.setting, e.value, e.min),
            (Setting::Folds, Amount::Count(1), Amount::Count(2))
        );
        assert!(e.to_string().contains("--folds 1"));
        assert!(check_policy(5, 0)
            .unwrap_err()
            .to_string()
            .contains("--repeats 0"));
        assert_eq!(check_policy(5, 10), Ok(()));
    }
}
