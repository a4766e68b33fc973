//! The heads: functions from scaled features to a MOS on 1-5.
//!
//! One file per head. The gradient heads ([`linear`], [`mlp`]) implement
//! [`Model`] (a flat parameter vector, a seeded initialisation and one
//! fused pass returning the sum of squared errors of a chunk of rows and
//! adding its gradient) and are fitted by the L-BFGS solve
//! (`training::solver`); their output is bounded as `1 + 4 * sigmoid(z)`.
//! The ridge head ([`ridge`]) is solved in closed form and the SVR ([`svr`])
//! by libsvm's SMO. Every head implements [`Head`] and is listed once, in
//! [`HeadKind`]'s list below; the host reaches a head only through
//! [`HeadKind::head`], so a new head is one new folder and one line there.

mod candidate;
mod family;

#[cfg(test)]
mod golden;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use candidate::{auto_candidates, rank, Candidate, Rank};
pub use family::{
    affine, clip, Flags, Form, Head, KernelForm, Libsvm, LibsvmError, LibvmafRefusal, Rows, Widths,
};
pub use linear::Linear;
pub use mlp::{Mlp, MlpLayout, Precision};

/// Declares [`HeadKind`] and its [`Head`]s from one list.
macro_rules! heads {
    ($($(#[doc = $doc:literal])* $(#[cfg($cfg:meta)])? $variant:ident => $module:ident::$head:ident
       $({ settings: $settings:ty, record: $record:ty, flags: $flags:ty })?,)*) => {
        $($(#[cfg($cfg)])? pub mod $module;)*

        /// The head types: one per [`Head`], in the order the command line
        /// lists them; the manifest records a head by its lowercase name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum HeadKind {
            $($(#[doc = $doc])* $(#[cfg($cfg)])? $variant,)*
        }

        impl HeadKind {
            /// Every head type, in the order the command line lists them.
            pub const ALL: [HeadKind; Self::COUNT] = [$($(#[cfg($cfg)])? HeadKind::$variant,)*];
            const COUNT: usize = [$($(#[cfg($cfg)])? HeadKind::$variant,)*].len();

            /// The head of this type.
            pub fn head(self) -> &'static dyn Head {
                match self {
                    $($(#[cfg($cfg)])? HeadKind::$variant => &$module::$head,)*
                }
            }
        }

        /// Every head's own settings, one field per head that has any,
        /// named after its folder. A [`crate::training::HeadSpec`] holds
        /// them (and reads them as `spec.<head>`); each head reads only its
        /// own.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct HeadSettings {
            $($(
                #[doc = concat!("The ", stringify!($module), " head's settings.")]
                #[serde(default)]
                pub $module: $settings,
            )?)*
        }

        /// What a fit of a head with settings of its own records of them,
        /// one field per such head, named after its folder: only the fitted
        /// head's is present. A [`crate::training::ResolvedSpec`] and the
        /// manifest's `SpecRecord` hold it (read as `spec.<head>`).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct HeadRecords {
            $($(
                #[doc = concat!("The ", stringify!($module), " head's record (", stringify!($module), " only).")]
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $module: Option<$record>,
            )?)*
        }

        /// Every head's own command-line flags, each head's group
        /// ([`Flags`]) in the order of the list.
        #[derive(Debug, Clone, clap::Args)]
        pub struct HeadFlags {
            $($(
                #[command(flatten)]
                #[doc = concat!("The ", stringify!($module), " head's flags.")]
                pub $module: $flags,
            )?)*
        }

        impl HeadFlags {
            /// Sets each head's settings from its flags.
            pub fn apply(&self, settings: &mut HeadSettings) {
                let _ = settings;
                $($( <$flags as Flags>::apply(&self.$module, &mut settings.$module); )?)*
            }

            /// The flags given, of every head, that set a hyper-parameter
            /// model selection chooses ([`Flags::chosen_by_selection`]).
            pub fn chosen_by_selection(&self) -> Vec<&'static str> {
                let mut given = Vec::new();
                $($( given.extend(<$flags as Flags>::chosen_by_selection(&self.$module)); )?)*
                given
            }

            /// Sets in a candidate's settings what `--head auto` takes from
            /// the flags ([`Flags::apply_to_candidate`]).
            pub fn apply_to_candidate(&self, settings: &mut HeadSettings) {
                let _ = settings;
                $($( <$flags as Flags>::apply_to_candidate(&self.$module, &mut settings.$module); )?)*
            }
        }
    };
}

// THE list of heads, one line each: `Variant => module::HeadType`, the
// module being the head's folder `heads/<module>/` and the type its
// implementation of [`Head`]. A new head is a new folder and a line here.
// A head with settings of its own (beyond `HeadSpec`'s shared ones) names
// them after its type: `{ settings: S, record: R, flags: F }`, its
// settings (a field `<module>` of `HeadSettings`, so of every `HeadSpec`),
// what a fit records of them (of `HeadRecords`, so of the manifest's
// `SpecRecord`) and its clap flags ([`Flags`], flattened into `moshead
// train`'s). A head compiled only under `cfg` has none.
heads! {
    /// Two tanh hidden layers, then the bounded output.
    Mlp => mlp::MlpHead,
    /// A bounded linear model.
    Linear => linear::LinearHead,
    /// Closed-form ridge regression, its penalty chosen by inner
    /// cross-validation.
    Ridge => ridge::RidgeHead {
        settings: ridge::RidgeSpec, record: ridge::RidgeRecord, flags: ridge::RidgeFlags
    },
    /// Support vector regression (libsvm's epsilon- or nu-SVR).
    Svr => svr::SvrHead {
        settings: svr::SvrSpec, record: svr::SvrRecord, flags: svr::SvrFlags
    },
    /// The best single input, linearly mapped (the feature most correlated
    /// with the MOS of the training rows, fitted by least squares).
    Input => input::InputHead,
    /// The mean MOS of the training rows whatever the features (compiled
    /// in tests only: it shows a head is one folder and one line here).
    #[cfg(test)]
    Constant => constant::ConstantHead,
}

impl HeadKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        self.head().name()
    }

    /// Whether the head is fitted by the iterative L-BFGS solve (it has a
    /// [`Model`] and a loss curve).
    pub fn is_gradient(self) -> bool {
        self.head().iterative()
    }
}

/// A differentiable head over `f` standardised features.
pub trait Model: Send + Sync {
    /// Number of parameters.
    fn n_params(&self) -> usize;
    /// Whether weight decay penalises parameter `i`. Biases are never
    /// decayed; nor is the MLP's linear skip path (see [`Mlp`]).
    fn is_decayed(&self, i: usize) -> bool;
    /// A seeded initial parameter vector; `mean_mos` sets the output bias so
    /// the sigmoid starts unsaturated at the mean.
    fn init(&self, rng: &mut ChaCha8Rng, mean_mos: f64) -> Vec<f64>;
    /// Adds the gradient of the chunk's sum of squared errors to `grad` and
    /// returns that sum.
    fn sse_grad(
        &self,
        p: &[f64],
        x: ndarray::ArrayView2<'_, f64>,
        y: &[f64],
        grad: &mut [f64],
    ) -> f64;
    /// Predicts MOS (1-5) for the chunk.
    fn predict(&self, p: &[f64], x: ndarray::ArrayView2<'_, f64>) -> Vec<f64>;
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `logit((mean - 1) / 4)`, clamped away from the asymptotes.
pub fn output_bias(mean_mos: f64) -> f64 {
    let u = ((mean_mos - 1.0) / 4.0).clamp(0.02, 0.98);
    (u / (1.0 - u)).ln()
}

/// Squared error and `d sse / d z` of the bounded output for one row.
#[inline]
pub(crate) fn bounded_error(z: f64, y: f64) -> (f64, f64) {
    let s = sigmoid(z);
    let e = 1.0 + 4.0 * s - y;
    (e * e, 2.0 * e * 4.0 * s * (1.0 - s))
}

/// The differentiable model of a `kind` head over `f` features with hidden
/// width `hidden` and arithmetic `precision` (`None` for a head not fitted
/// by the L-BFGS solve); [`Head::model`] of the spec those describe.
pub fn model(
    kind: HeadKind,
    f: usize,
    hidden: usize,
    precision: Precision,
) -> Option<std::sync::Arc<dyn Model>> {
    let mut spec = crate::training::HeadSpec::new(kind).resolved(1);
    spec.hidden = hidden;
    spec.precision = precision;
    kind.head().model(&spec, f)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Shared checks of the gradient heads.
    use super::Model;
    use ndarray::Array2;
    use rand::{Rng as _, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` seeded rows of `f` features in [-2, 2] and MOS in [1, 5].
    pub fn data(n: usize, f: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array2::from_shape_fn((n, f), |_| rng.gen_range(-2.0..2.0));
        let y = (0..n).map(|_| rng.gen_range(1.0..5.0)).collect();
        (x, y)
    }

    /// Analytic gradients against central finite differences.
    pub fn check_gradient(m: &dyn Model, f: usize) {
        let (x, y) = data(17, f, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut p = m.init(&mut rng, 3.0);
        for v in p.iter_mut() {
            *v += rng.gen_range(-0.3..0.3);
        }
        let mut g = vec![0.0; p.len()];
        m.sse_grad(&p, x.view(), &y, &mut g);
        let h = 1e-6;
        for i in 0..p.len() {
            let mut up = p.clone();
            up[i] += h;
            let mut dn = p.clone();
            dn[i] -= h;
            let mut scratch = vec![0.0; p.len()];
            let fd = (m.sse_grad(&up, x.view(), &y, &mut scratch)
                - m.sse_grad(&dn, x.view(), &y, &mut scratch))
                / (2.0 * h);
            let tol = 1e-5 * (1.0 + fd.abs().max(g[i].abs()));
            assert!(
                (fd - g[i]).abs() < tol,
                "param {i}: analytic {} vs numeric {fd}",
                g[i]
            );
        }
    }
}
