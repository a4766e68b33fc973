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

/// Refuses a spec outside the valid ranges, naming the flag and its range.
pub fn check_spec(spec: &HeadSpec) -> Result<(), String> {
    if let Some(d) = spec.weight_decay {
        if !(d.is_finite() && (0.0..=MAX_WEIGHT_DECAY).contains(&d)) {
            return Err(format!(
                "--weight-decay {} is out of range: valid values are 0 to {MAX_WEIGHT_DECAY:e}",
                show(d)
            ));
        }
    }
    if !(1..=MAX_ITERS).contains(&spec.max_iters) {
        return Err(format!(
            "--max-iters {} is out of range: valid values are 1 to {MAX_ITERS}",
            spec.max_iters
        ));
    }
    if spec.patience > MAX_PATIENCE {
        return Err(format!(
            "--patience {} is out of range: valid values are 0 to {MAX_PATIENCE}",
            spec.patience
        ));
    }
    Ok(())
}

/// Refuses fold and repeat counts outside their ranges.
pub fn check_policy(folds: usize, repeats: usize) -> Result<(), String> {
    if !(2..=MAX_FOLDS).contains(&folds) {
        return Err(format!(
            "--folds {folds} is out of range: valid values are 2 to {MAX_FOLDS}"
        ));
    }
    if !(1..=MAX_REPEATS).contains(&repeats) {
        return Err(format!(
            "--repeats {repeats} is out of range: valid values are 1 to {MAX_REPEATS}"
        ));
    }
    Ok(())
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
            .contains("--weight-decay 1e308 is out of range: valid values are 0 to 1e3"));
        s.weight_decay = Some(MAX_WEIGHT_DECAY);
        assert_eq!(check_spec(&s), Ok(()));
        s.weight_decay = Some(-0.1);
        assert!(check_spec(&s).is_err());
        s.weight_decay = None;
        s.max_iters = 0;
        assert!(check_spec(&s).unwrap_err().contains("1 to 100000"));
        assert!(check_policy(1, 10).unwrap_err().contains("--folds 1"));
        assert!(check_policy(5, 0).unwrap_err().contains("--repeats 0"));
        assert_eq!(check_policy(5, 10), Ok(()));
    }
}
