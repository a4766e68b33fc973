//! The SVR head's own flags of `moshead train` (`--svr-*`), flattened into
//! the command's by the list of heads.

use clap::Args;

use super::{KernelKind, SvrScaling, SvrSpec, SvrType};
use crate::training::heads::Flags;

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

/// The SVR head's flags.
#[derive(Debug, Clone, Args)]
pub struct SvrFlags {
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

impl Flags for SvrFlags {
    type Settings = SvrSpec;

    fn apply(&self, s: &mut SvrSpec) {
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
        self.apply_to_candidate(s);
    }

    fn chosen_by_selection(&self) -> Vec<&'static str> {
        [
            ("--svr-c", self.svr_c.is_some()),
            ("--svr-gamma", self.svr_gamma.is_some()),
            ("--svr-epsilon", self.svr_epsilon.is_some()),
            ("--svr-nu", self.svr_nu.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// The row cap: `--head auto` fits its SVR candidates with it.
    fn apply_to_candidate(&self, s: &mut SvrSpec) {
        s.max_rows = self.svr_max_rows.unwrap_or(s.max_rows);
    }
}
