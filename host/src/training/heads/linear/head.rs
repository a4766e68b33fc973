//! The bounded linear head as a [`Head`].

use std::sync::Arc;

use super::Linear;
use crate::training::heads::{rank, Candidate, Form, Head, HeadKind, Model, Rank};
use crate::training::{FittedHead, ResolvedSpec};

/// The bounded linear head `1 + 4 sigmoid(w . x + b)`.
#[derive(Debug, Clone, Copy)]
pub struct LinearHead;

impl Head for LinearHead {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn about(&self) -> &'static str {
        "A bounded linear model"
    }

    /// A fixed 1e-6: 11-40 weights against thousands of rows; the penalty
    /// only keeps collinear features from trading off without bound.
    fn default_decay(&self, _rows: usize) -> f64 {
        1e-6
    }

    fn iterative(&self) -> bool {
        true
    }

    fn model(&self, _spec: &ResolvedSpec, f: usize) -> Option<Arc<dyn Model>> {
        Some(Arc::new(Linear { f }))
    }

    fn baseline(&self) -> bool {
        true
    }

    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        vec![(rank::LINEAR, Candidate::default_of(HeadKind::Linear))]
    }

    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        let p = &head.params;
        match (p.get(..f), p.get(f)) {
            (Some(w), Some(&b)) => Ok(Form::Dense {
                hidden: Vec::new(),
                out_w: w.to_vec(),
                out_b: b,
            }),
            _ => Err("linear parameters do not fit the features".into()),
        }
    }

    fn libvmaf_refusal(&self) -> Option<&'static str> {
        Some("its output 1 + 4 sigmoid(w.x + b) is not affine and libvmaf's score transform (a quadratic, knots) has no sigmoid")
    }
}
