//! The ridge head's own flags of `moshead train` (`--ridge-*`), flattened
//! into the command's by the list of heads.

use clap::Args;

use super::{RidgeSelect, RidgeSpec};
use crate::training::heads::Flags;

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

/// The ridge head's flags.
#[derive(Debug, Clone, Args)]
pub struct RidgeFlags {
    /// ridge: a fixed penalty > 0 (default: chosen over 1e-3..1e5).
    #[arg(long)]
    pub ridge_alpha: Option<f64>,
    /// ridge: how the penalty is chosen.
    #[arg(long, value_enum, default_value_t = RidgeSelectArg::Auto)]
    pub ridge_select: RidgeSelectArg,
}

impl Flags for RidgeFlags {
    type Settings = RidgeSpec;

    fn apply(&self, s: &mut RidgeSpec) {
        s.alpha = self.ridge_alpha;
        s.select = match self.ridge_select {
            RidgeSelectArg::Auto => RidgeSelect::Auto,
            RidgeSelectArg::Loo => RidgeSelect::Loo,
            RidgeSelectArg::Grouped => RidgeSelect::Grouped,
        };
    }

    fn chosen_by_selection(&self) -> Vec<&'static str> {
        self.ridge_alpha
            .map(|_| "--ridge-alpha")
            .into_iter()
            .collect()
    }
}
