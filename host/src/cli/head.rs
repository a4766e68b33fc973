//! The head flags of `moshead train`, turned into a checked [`HeadChoice`]:
//! `auto` (model selection by inner cross-validation) or one [`HeadSpec`].

use clap::Args;

use crate::selection::{AutoConfig, HeadChoice};
use crate::training::heads::ridge::RidgeSelect;
use crate::training::heads::svr::{KernelKind, SvrScaling, SvrType};
use crate::training::{HeadKind, HeadSpec, TrainError};

/// A `--head` value: `auto`, or one head of the list
/// ([`HeadKind::ALL`]), named and described by the head itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadArg {
    /// Chosen, with its hyper-parameters, by content-grouped inner
    /// cross-validation inside every fold (and for the ship model).
    Auto,
    /// One head type.
    Head(HeadKind),
}

impl HeadArg {
    /// The head type; `None` for `auto`.
    pub fn kind(self) -> Option<HeadKind> {
        match self {
            HeadArg::Auto => None,
            HeadArg::Head(kind) => Some(kind),
        }
    }
}

impl clap::ValueEnum for HeadArg {
    fn value_variants<'a>() -> &'a [Self] {
        static ALL: std::sync::LazyLock<Vec<HeadArg>> = std::sync::LazyLock::new(|| {
            std::iter::once(HeadArg::Auto)
                .chain(HeadKind::ALL.iter().map(|&k| HeadArg::Head(k)))
                .collect()
        });
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            HeadArg::Auto => clap::builder::PossibleValue::new("auto").help(
                "Chosen, with its hyper-parameters, by content-grouped inner cross-validation inside every fold (and for the ship model)",
            ),
            HeadArg::Head(kind) => {
                clap::builder::PossibleValue::new(kind.as_str()).help(kind.head().about())
            }
        })
    }
}

/// `--ridge-select` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RidgeSelectArg {
    /// Leave-one-out when every content has one row, else grouped folds.
    Auto,
    /// Efficient leave-one-out over rows.
    Loo,
    /// Content-grouped inner folds.
    Grouped,
}

/// `--svr-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SvrTypeArg {
    /// epsilon-SVR.
    Epsilon,
    /// nu-SVR.
    Nu,
}

/// `--svr-kernel` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelArg {
    /// Gaussian RBF.
    Rbf,
    /// Linear.
    Linear,
}

/// `--svr-scaling` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScalingArg {
    /// Min-max to [0, 1] on the training rows.
    Minmax,
    /// z-scores on the training rows.
    Standard,
}

/// The head and its hyper-parameters.
#[derive(Debug, Args)]
pub struct HeadArgs {
    /// The head type: `auto` chooses among ridge, SVR, linear and MLP and
    /// their hyper-parameters by content-grouped inner cross-validation.
    #[arg(long, value_enum, default_value_t = HeadArg::Auto)]
    pub head: HeadArg,
    /// L2 penalty on weights (default: min(1e-4, 1/rows) for mlp, where
    /// rows are the training rows of each fit; 1e-6 for linear).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// L-BFGS iteration cap (default: 400 mlp, 200 linear).
    #[arg(long)]
    pub max_iters: Option<u64>,
    /// Early-stopping patience in iterations.
    #[arg(long)]
    pub patience: Option<u64>,
    /// ridge: a fixed penalty > 0 (default: chosen over 1e-3..1e5).
    #[arg(long)]
    pub ridge_alpha: Option<f64>,
    /// ridge: how the penalty is chosen.
    #[arg(long, value_enum, default_value_t = RidgeSelectArg::Auto)]
    pub ridge_select: RidgeSelectArg,
    /// svr: the formulation.
    #[arg(long, value_enum, default_value_t = SvrTypeArg::Epsilon)]
    pub svr_type: SvrTypeArg,
    /// svr: the kernel.
    #[arg(long, value_enum, default_value_t = KernelArg::Rbf)]
    pub svr_kernel: KernelArg,
    /// svr: the penalty C > 0 [default: 1].
    #[arg(long)]
    pub svr_c: Option<f64>,
    /// svr: the RBF width gamma > 0 [default: 1 / features].
    #[arg(long)]
    pub svr_gamma: Option<f64>,
    /// svr: epsilon-SVR's tube half-width >= 0, in MOS units [default: 0.1].
    #[arg(long)]
    pub svr_epsilon: Option<f64>,
    /// svr: nu-SVR's nu in (0, 1] [default: 0.5].
    #[arg(long)]
    pub svr_nu: Option<f64>,
    /// svr: SMO stopping tolerance, at least 1e-9 [default: 1e-3].
    #[arg(long)]
    pub svr_tol: Option<f64>,
    /// svr: feature scaling.
    #[arg(long, value_enum, default_value_t = ScalingArg::Minmax)]
    pub svr_scaling: ScalingArg,
    /// svr: most training rows per fit; larger training sets are subsampled
    /// (seeded) [default: 4000]. With auto: the SVR candidates are fitted
    /// from one seeded sample of this many selection rows (at most 5000),
    /// and a chosen SVR is refitted on it.
    #[arg(long)]
    pub svr_max_rows: Option<usize>,
}

impl HeadArgs {
    /// The requested head: `auto`, or one spec ([`HeadArgs::spec`]). With
    /// `auto` the hyper-parameters are chosen by inner CV, so flags that set
    /// them are refused.
    pub fn choice(&self) -> Result<HeadChoice, TrainError> {
        if self.head != HeadArg::Auto {
            return self.spec().map(HeadChoice::Fixed);
        }
        let set: Vec<&str> = [
            ("--weight-decay", self.weight_decay.is_some()),
            ("--max-iters", self.max_iters.is_some()),
            ("--patience", self.patience.is_some()),
            ("--ridge-alpha", self.ridge_alpha.is_some()),
            ("--svr-c", self.svr_c.is_some()),
            ("--svr-gamma", self.svr_gamma.is_some()),
            ("--svr-epsilon", self.svr_epsilon.is_some()),
            ("--svr-nu", self.svr_nu.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect();
        if !set.is_empty() {
            let names: Vec<&str> = HeadKind::ALL.iter().map(|k| k.as_str()).collect();
            let heads = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => names.concat(),
            };
            return Err(TrainError::Params(format!(
                "{} set one head's hyper-parameters; with --head auto they are chosen by inner cross-validation (pass --head {heads} to set them)",
                set.join(", ")
            )));
        }
        let mut cfg = AutoConfig::default();
        if let Some(rows) = self.svr_max_rows {
            // The SVR candidates' row cap: their sample of the selection's
            // rows and each fit's cap.
            cfg.svr_rows = rows;
            for c in &mut cfg.candidates {
                c.spec.svr.max_rows = rows;
                c.spec.check()?;
            }
        }
        Ok(HeadChoice::Auto(cfg))
    }

    /// The requested spec: the head's defaults with the flags given,
    /// checked before any data is read (`auto` reads as the MLP's).
    pub fn spec(&self) -> Result<HeadSpec, TrainError> {
        let mut spec = HeadSpec::new(self.head.kind().unwrap_or(HeadKind::Mlp));
        if let Some(v) = self.weight_decay {
            spec.weight_decay = Some(v);
        }
        if let Some(v) = self.max_iters {
            spec.max_iters = v;
        }
        if let Some(v) = self.patience {
            spec.patience = v;
        }
        spec.ridge.alpha = self.ridge_alpha;
        spec.ridge.select = match self.ridge_select {
            RidgeSelectArg::Auto => RidgeSelect::Auto,
            RidgeSelectArg::Loo => RidgeSelect::Loo,
            RidgeSelectArg::Grouped => RidgeSelect::Grouped,
        };
        let s = &mut spec.svr;
        s.svm_type = match self.svr_type {
            SvrTypeArg::Epsilon => SvrType::Epsilon,
            SvrTypeArg::Nu => SvrType::Nu,
        };
        s.kernel = match self.svr_kernel {
            KernelArg::Rbf => KernelKind::Rbf,
            KernelArg::Linear => KernelKind::Linear,
        };
        s.scaling = match self.svr_scaling {
            ScalingArg::Minmax => SvrScaling::Minmax,
            ScalingArg::Standard => SvrScaling::Standard,
        };
        s.gamma = self.svr_gamma.or(s.gamma);
        s.c = self.svr_c.unwrap_or(s.c);
        s.epsilon = self.svr_epsilon.unwrap_or(s.epsilon);
        s.nu = self.svr_nu.unwrap_or(s.nu);
        s.tol = self.svr_tol.unwrap_or(s.tol);
        s.max_rows = self.svr_max_rows.unwrap_or(s.max_rows);
        spec.check()?;
        Ok(spec)
    }
}
