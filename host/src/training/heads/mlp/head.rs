//! The MLP as a [`Head`]: its defaults (weight decay by corpus size, the
//! arithmetic by corpus size), its L-BFGS model and its dense graph.

use std::sync::Arc;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Mlp, MlpLayout, Precision};
use crate::training::heads::{rank, Candidate, Form, Head, HeadKind, Linear, Model, Rank};
use crate::training::{solver, FittedHead, HeadSpec, ResolvedSpec, Status, TrainError};

/// The MLP's default weight decay times the number of training rows.
pub const MLP_DECAY_PER_ROW: f64 = 1.0;
/// The MLP's largest default weight decay (reached below 10,000 rows).
pub const MLP_DECAY_MAX: f64 = 1e-4;

/// MLP weight decays `--head auto` tries beside the default (`min(1e-4, 1
/// / rows)`): stronger penalties, which small corpora need.
pub const MLP_DECAYS: [f64; 2] = [1e-3, 1e-2];

/// The MLP head: two tanh hidden layers of `hidden` units, a linear skip
/// path, the bounded output.
#[derive(Debug, Clone, Copy)]
pub struct MlpHead;

impl Head for MlpHead {
    fn name(&self) -> &'static str {
        "mlp"
    }

    fn about(&self) -> &'static str {
        "Two tanh hidden layers, then the bounded output"
    }

    fn default_max_iters(&self) -> u64 {
        400
    }

    /// Its defaults, then each of [`MLP_DECAYS`].
    fn auto_candidates(&self) -> Vec<(Rank, Candidate)> {
        let mut out = vec![(rank::MLP, Candidate::default_of(HeadKind::Mlp))];
        for d in MLP_DECAYS {
            let mut spec = HeadSpec::new(HeadKind::Mlp);
            spec.weight_decay = Some(d);
            out.push((
                rank::MLP,
                Candidate {
                    name: format!("mlp(decay={d:e})"),
                    spec,
                    gamma_per_feature: None,
                    mean_of_widths: false,
                },
            ));
        }
        out
    }

    /// `min(1e-4, 1 / rows)` (see the training module's documentation).
    fn default_decay(&self, rows: usize) -> f64 {
        (MLP_DECAY_PER_ROW / rows.max(1) as f64).min(MLP_DECAY_MAX)
    }

    fn precision(&self, requested: Option<Precision>, rows: usize) -> Precision {
        requested.unwrap_or_else(|| Precision::auto(rows))
    }

    fn check(&self, spec: &HeadSpec) -> Result<(), TrainError> {
        if spec.hidden == 0 {
            return Err(TrainError::Params("hidden width must be positive".into()));
        }
        Ok(())
    }

    fn iterative(&self) -> bool {
        true
    }

    fn model(&self, spec: &ResolvedSpec, f: usize) -> Option<Arc<dyn Model>> {
        Some(Arc::new(Mlp {
            f,
            h1: spec.hidden,
            h2: spec.hidden,
            precision: spec.precision,
        }))
    }

    /// The MLP begins at the bounded linear fit of the same rows (its skip
    /// path), with small hidden-to-output weights.
    fn warm_start(
        &self,
        spec: &ResolvedSpec,
        xs: &Array2<f64>,
        ys: &[f64],
        mean: f64,
        seed: u64,
        init: &mut [f64],
    ) -> Result<(), TrainError> {
        let f = xs.ncols();
        let linear_spec = HeadSpec::new(HeadKind::Linear).resolved(xs.nrows());
        let linear = Linear { f };
        let lin_init = linear.init(&mut ChaCha8Rng::seed_from_u64(seed), mean);
        let (w, _, _) = solver::solve(
            Arc::new(linear),
            &linear_spec,
            xs,
            ys,
            None,
            lin_init,
            &Status::silent(),
            &[],
        )?;
        let mlp = Mlp {
            f,
            h1: spec.hidden,
            h2: spec.hidden,
            precision: spec.precision,
        };
        mlp.set_linear_part(init, &w[..f], w[f]);
        Ok(())
    }

    fn summary(&self, spec: &ResolvedSpec) -> String {
        format!("mlp (2 x {} tanh, linear skip path)", spec.hidden)
    }

    fn form(&self, head: &FittedHead, f: usize) -> Result<Form, String> {
        let (h1, h2) = (head.spec.hidden, head.spec.hidden);
        // The forward pass's own layout of the flat parameters.
        let l = MlpLayout::new(f, h1, h2);
        let p = &head.params;
        let part = |r: &std::ops::Range<usize>| p.get(r.clone()).map(<[f64]>::to_vec);
        let short = || "MLP parameters do not fit the features".to_owned();
        let mut out_w = part(&l.w3).ok_or_else(short)?;
        out_w.extend(part(&l.v).ok_or_else(short)?);
        Ok(Form::Dense {
            hidden: vec![
                (
                    part(&l.w1).ok_or_else(short)?,
                    part(&l.b1).ok_or_else(short)?,
                    h1,
                ),
                (
                    part(&l.w2).ok_or_else(short)?,
                    part(&l.b2).ok_or_else(short)?,
                    h2,
                ),
            ],
            out_w,
            out_b: *p.get(l.b3).ok_or_else(short)?,
        })
    }

    fn libvmaf_refusal(&self) -> Option<&'static str> {
        Some("its tanh hidden layers and sigmoid output are no libsvm model")
    }
}
