//! The head flags of `moshead train`, turned into a checked [`HeadChoice`]:
//! `auto` (model selection by inner cross-validation) or one [`HeadSpec`].

use clap::Args;

use crate::selection::{AutoConfig, HeadChoice};
use crate::training::heads::HeadFlags;
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
    /// Each head's own flags (`--ridge-*`, `--svr-*`), from its folder.
    #[command(flatten)]
    pub heads: HeadFlags,
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
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .chain(self.heads.chosen_by_selection())
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
        if let Some(rows) = self.heads.svr.svr_max_rows {
            // The SVR candidates' sample of the selection's rows (each
            // candidate's own cap is set by its head's flags below).
            cfg.svr_rows = rows;
        }
        for c in &mut cfg.candidates {
            self.heads.apply_to_candidate(&mut c.spec.settings);
            c.spec.check()?;
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
        self.heads.apply(&mut spec.settings);
        spec.check()?;
        Ok(spec)
    }
}
