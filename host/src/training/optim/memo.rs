//! The memo that lets one fused pass serve argmin's separate cost and
//! gradient requests.
//!
//! argmin asks a problem for the cost and for the gradient of a point in two
//! calls (the line search and L-BFGS both do), while the cheap way to compute
//! them is one pass over the data. [`LastEval`] remembers the last point and
//! what the pass returned for it.

use std::sync::Mutex;

/// The last evaluated point, its cost and its gradient.
#[derive(Debug, Default)]
pub struct LastEval<G> {
    slot: Mutex<Option<(Vec<f64>, f64, G)>>,
}

impl<G: Clone> LastEval<G> {
    /// An empty memo.
    pub fn new() -> Self {
        LastEval {
            slot: Mutex::new(None),
        }
    }

    /// The cost and gradient at `p`: remembered when `p` is the last point
    /// evaluated (compared bit for bit), else computed by `eval` and
    /// remembered.
    pub fn get_or_eval(&self, p: &[f64], eval: impl FnOnce() -> (f64, G)) -> (f64, G) {
        if let Ok(guard) = self.slot.lock() {
            if let Some((q, c, g)) = guard.as_ref() {
                if q.len() == p.len() && q.iter().zip(p).all(|(a, b)| a.to_bits() == b.to_bits()) {
                    return (*c, g.clone());
                }
            }
        }
        let (c, g) = eval();
        if let Ok(mut guard) = self.slot.lock() {
            *guard = Some((p.to_vec(), c, g.clone()));
        }
        (c, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn evaluates_each_new_point_once() {
        let memo = LastEval::new();
        let calls = Cell::new(0);
        let f = |p: &[f64]| {
            calls.set(calls.get() + 1);
            (p[0] * p[0], vec![2.0 * p[0]])
        };
        assert_eq!(memo.get_or_eval(&[3.0], || f(&[3.0])), (9.0, vec![6.0]));
        assert_eq!(memo.get_or_eval(&[3.0], || f(&[3.0])), (9.0, vec![6.0]));
        assert_eq!(calls.get(), 1);
        assert_eq!(memo.get_or_eval(&[-0.0], || f(&[-0.0])).0, 0.0);
        // 0.0 and -0.0 are different points to the memo.
        memo.get_or_eval(&[0.0], || f(&[0.0]));
        assert_eq!(calls.get(), 3);
    }
}
