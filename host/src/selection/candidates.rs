//! The candidates `--head auto` chooses among: every head with a small
//! grid of its hyper-parameters.

use crate::training::{HeadKind, HeadSpec};

/// One candidate: a name for the tables and the spec it fits.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `linear`, `mlp`, `mlp(decay=1e-2)`, ...
    pub name: String,
    /// The hyper-parameters.
    pub spec: HeadSpec,
}

impl Candidate {
    /// A head with its defaults.
    pub fn default_of(kind: HeadKind) -> Candidate {
        Candidate {
            name: kind.as_str().to_owned(),
            spec: HeadSpec::new(kind),
        }
    }
}

/// MLP weight decays tried beside the default (`min(1e-4, 1 / rows)`):
/// stronger penalties, which small corpora need.
pub const MLP_DECAYS: [f64; 2] = [1e-3, 1e-2];

/// The default candidate list, simplest first (ties go to the earlier):
/// the linear head, then the MLP with its default decay and with each of
/// [`MLP_DECAYS`].
pub fn default_candidates() -> Vec<Candidate> {
    let mut out = vec![
        Candidate::default_of(HeadKind::Linear),
        Candidate::default_of(HeadKind::Mlp),
    ];
    for d in MLP_DECAYS {
        let mut spec = HeadSpec::new(HeadKind::Mlp);
        spec.weight_decay = Some(d);
        out.push(Candidate {
            name: format!("mlp(decay={d:e})"),
            spec,
        });
    }
    out
}
