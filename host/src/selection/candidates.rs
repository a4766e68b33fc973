//! The candidates `--head auto` chooses among: every head with a small
//! grid of its hyper-parameters.

use crate::training::{HeadKind, HeadSpec};

/// One candidate: a name for the tables and the spec it fits.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `ridge`, `linear`, `svr(C=4,gamma=2/F)`, `mlp(decay=1e-2)`, ...
    pub name: String,
    /// The hyper-parameters.
    pub spec: HeadSpec,
    /// For an RBF SVR: gamma as a multiple of `1 / F` (F the feature
    /// count), resolved by [`Candidate::resolve`]; `None` keeps the spec's.
    pub gamma_per_feature: Option<f64>,
    /// The mean of SVRs ([`MEAN_OF_WIDTHS`]): its members are one of the
    /// other candidates per RBF width, chosen together by the same inner
    /// CV for the mean's RMSE, and its inner predictions the mean of theirs.
    pub mean_of_widths: bool,
}

impl Candidate {
    /// A head with its defaults.
    pub fn default_of(kind: HeadKind) -> Candidate {
        Candidate {
            name: kind.as_str().to_owned(),
            spec: HeadSpec::new(kind),
            gamma_per_feature: None,
            mean_of_widths: false,
        }
    }

    /// [`MEAN_OF_WIDTHS`]: the mean of one RBF SVR per width.
    pub fn mean_of_widths() -> Candidate {
        Candidate {
            name: MEAN_OF_WIDTHS.to_owned(),
            spec: HeadSpec::new(HeadKind::Svr),
            gamma_per_feature: None,
            mean_of_widths: true,
        }
    }

    /// The spec to fit on `features` columns.
    pub fn resolve(&self, features: usize) -> HeadSpec {
        let mut spec = self.spec.clone();
        if let Some(g) = self.gamma_per_feature {
            spec.svr.gamma = Some(g / features.max(1) as f64);
        }
        spec
    }
}

/// MLP weight decays tried beside the default (`min(1e-4, 1 / rows)`):
/// stronger penalties, which small corpora need.
pub const MLP_DECAYS: [f64; 2] = [1e-3, 1e-2];

/// The RBF SVR's penalties `C` tried (features min-max scaled, MOS on 1-5),
/// every third power of two like the BVQA benchmarks' grid.
pub const SVR_C: [f64; 4] = [2.0, 16.0, 128.0, 1024.0];

/// The RBF SVR's widths tried, as multiples of `1 / F` (libsvm's default
/// is 1): on 60 features about 2^-8, 2^-5 and 2^-2, the benchmarks' grid.
pub const SVR_GAMMA_PER_FEATURE: [f64; 3] = [0.25, 2.0, 15.0];

/// The name of the candidate that averages one RBF SVR per width, their
/// `C` chosen together for the lowest inner RMSE of the mean.
pub const MEAN_OF_WIDTHS: &str = "svr-mean(best C per gamma)";

/// The default candidate list, simplest first (ties go to the earlier):
/// ridge (its penalty chosen by its own inner CV), the bounded linear head,
/// the RBF SVR over [`SVR_C`] x [`SVR_GAMMA_PER_FEATURE`], the MLP with
/// its default decay and with each of [`MLP_DECAYS`], then the mean of one
/// SVR per width ([`Candidate::mean_of_widths`]).
pub fn default_candidates() -> Vec<Candidate> {
    let mut out = vec![
        Candidate::default_of(HeadKind::Ridge),
        Candidate::default_of(HeadKind::Linear),
    ];
    for c in SVR_C {
        for g in SVR_GAMMA_PER_FEATURE {
            let mut spec = HeadSpec::new(HeadKind::Svr);
            spec.svr.c = c;
            out.push(Candidate {
                name: format!("svr(C={c},gamma={g}/F)"),
                spec,
                gamma_per_feature: Some(g),
                mean_of_widths: false,
            });
        }
    }
    out.push(Candidate::default_of(HeadKind::Mlp));
    for d in MLP_DECAYS {
        let mut spec = HeadSpec::new(HeadKind::Mlp);
        spec.weight_decay = Some(d);
        out.push(Candidate {
            name: format!("mlp(decay={d:e})"),
            spec,
            gamma_per_feature: None,
            mean_of_widths: false,
        });
    }
    out.push(Candidate::mean_of_widths());
    out
}
