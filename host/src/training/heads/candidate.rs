//! `--head auto`'s candidates as the heads offer them: each head lists its
//! own grid ([`super::Head::auto_candidates`]), with a rank that places it
//! in auto's list (simplest first, ties to the earlier); selection gathers
//! the lists ([`auto_candidates`]) and names no head.

use super::HeadKind;
use crate::training::HeadSpec;

/// One candidate: a name for the tables and the spec it fits.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `ridge`, `linear`, `svr(C=4,gamma=2/F)`, `mlp(decay=1e-2)`, ...
    pub name: String,
    /// The hyper-parameters.
    pub spec: HeadSpec,
    /// For an RBF SVR of a grid over widths: gamma as a multiple of `1 / F`
    /// (F the feature count), resolved by [`Candidate::resolve`]; `None`
    /// keeps the spec's. The candidates with one are the members a mean of
    /// widths chooses from.
    pub gamma_per_feature: Option<f64>,
    /// A mean of widths: its members are one of the other candidates per
    /// RBF width (those with a `gamma_per_feature`), chosen together by the
    /// same inner CV for the mean's RMSE, its inner predictions the mean of
    /// theirs, and its refit the head's [`super::Head::mean_of`] of theirs.
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

    /// The spec to fit on `features` columns.
    pub fn resolve(&self, features: usize) -> HeadSpec {
        let mut spec = self.spec.clone();
        if let Some(g) = self.gamma_per_feature {
            spec.svr.gamma = Some(g / features.max(1) as f64);
        }
        spec
    }
}

/// Where a head's candidates stand in auto's list: lower is simpler and
/// comes first (the first of all is auto's baseline, which a winner must
/// beat clearly; near-ties go to the earlier). Candidates of equal rank
/// keep the order of the heads' list, then the head's own order.
pub type Rank = u32;

/// Ranks of the built-in heads' candidates, in one place so their order
/// reads at a glance.
pub mod rank {
    use super::Rank;
    /// Ridge with its own inner-CV penalty: auto's baseline.
    pub const RIDGE: Rank = 0;
    /// The best single input, linearly mapped: the simplest fusion there
    /// is not.
    pub const INPUT: Rank = 10;
    /// The bounded linear head.
    pub const LINEAR: Rank = 20;
    /// The RBF SVR's `C x gamma` grid.
    pub const SVR_GRID: Rank = 30;
    /// VMAF's own training recipe (nu-SVR, C 4, nu 0.9, gamma 0.04).
    pub const VMAF_RECIPE: Rank = 40;
    /// The MLP and its decays.
    pub const MLP: Rank = 50;
    /// The mean of one SVR per width.
    pub const SVR_MEAN: Rank = 60;
}

/// The default candidate list: every head's
/// [`super::Head::auto_candidates`], in rank order.
pub fn auto_candidates() -> Vec<Candidate> {
    let mut all: Vec<(Rank, Candidate)> = HeadKind::ALL
        .iter()
        .flat_map(|k| k.head().auto_candidates())
        .collect();
    // A stable sort: equal ranks keep the list's order.
    all.sort_by_key(|(r, _)| *r);
    all.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heads_offer_auto_its_list_in_rank_order() {
        let names: Vec<String> = auto_candidates().into_iter().map(|c| c.name).collect();
        let mut want = ["ridge", "best-input", "linear"].map(String::from).to_vec();
        for c in ["2", "16", "128", "1024"] {
            for g in ["0.25", "2", "15"] {
                want.push(format!("svr(C={c},gamma={g}/F)"));
            }
        }
        want.extend(["vmaf-recipe", "mlp", "mlp(decay=1e-3)", "mlp(decay=1e-2)"].map(String::from));
        want.push("svr-mean(best C per gamma)".into());
        assert_eq!(names, want);
        // The first is the baseline; the test-only head offers none.
        assert_eq!(auto_candidates()[0].spec.kind, HeadKind::Ridge);
        assert!(HeadKind::Constant.head().auto_candidates().is_empty());
        // VMAF's recipe as published: nu-SVR, C 4, nu 0.9, gamma 0.04 on
        // min-max features; not a member of the mean of the grid's widths.
        let vmaf = &auto_candidates()[15];
        let s = &vmaf.spec.svr;
        assert_eq!(vmaf.spec.kind, HeadKind::Svr);
        assert_eq!((s.c, s.nu, s.gamma), (4.0, 0.9, Some(0.04)));
        assert_eq!(s.svm_type, super::super::svr::SvrType::Nu);
        assert_eq!(s.scaling, super::super::svr::SvrScaling::Minmax);
        assert_eq!(vmaf.gamma_per_feature, None);
        // Only the grid over widths can be a mean's member.
        let all = auto_candidates();
        let means: Vec<&Candidate> = all.iter().filter(|c| c.mean_of_widths).collect();
        assert_eq!(means.len(), 1);
        assert_eq!(
            all.iter().filter(|c| c.gamma_per_feature.is_some()).count(),
            12
        );
    }
}
