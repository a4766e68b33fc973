//! Validation policies and their folds. Folds are always content-disjoint:
//! no content group has rows on both sides of a fold. Rows labelled `test`
//! are never in any fold: they are held out for `moshead validate`.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::corpus::Dataset;
use moshead_protocol::Split;

/// The default seed (the prior art's).
pub const DEFAULT_SEED: u64 = 20260508;

/// How a head is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Train on `train` rows, evaluate on `val` rows (one fold).
    Explicit,
    /// k content-grouped folds over the non-test rows.
    Kfold,
    /// N content-disjoint random 80/20 splits of the non-test rows.
    Repeated,
}

impl PolicyKind {
    /// Every kind's name, as the command line and the manifest spell it.
    pub const NAMES: [&'static str; 3] = ["explicit", "kfold", "repeated"];
}

impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "explicit" => Ok(PolicyKind::Explicit),
            "kfold" => Ok(PolicyKind::Kfold),
            "repeated" => Ok(PolicyKind::Repeated),
            _ => Err(format!(
                "unknown validation policy `{s}` (one of {})",
                PolicyKind::NAMES.join(", ")
            )),
        }
    }
}

/// A resolved validation policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// The kind.
    pub kind: PolicyKind,
    /// Folds (kfold).
    pub k: usize,
    /// Repeats (repeated).
    pub repeats: usize,
    /// Evaluation fraction of contents (repeated).
    pub eval_fraction: f64,
    /// The base seed; fold `i` uses `seed + i`.
    pub seed: u64,
}

impl Policy {
    /// A short name for reports (`explicit-corpus-split`, `5-fold-grouped`,
    /// `10x-80/20-grouped`).
    pub fn name(&self) -> String {
        match self.kind {
            PolicyKind::Explicit => "explicit-corpus-split".into(),
            PolicyKind::Kfold => format!("{}-fold-grouped", self.k),
            PolicyKind::Repeated => format!(
                "{}x-{:.0}/{:.0}-grouped",
                self.repeats,
                100.0 * (1.0 - self.eval_fraction),
                100.0 * self.eval_fraction
            ),
        }
    }
}

/// The default policy for a dataset: explicit when rows carry both train
/// and val labels, else grouped k-fold.
pub fn default_kind(ds: &Dataset) -> PolicyKind {
    let has = |s| ds.split.contains(&Some(s));
    if has(Split::Train) && has(Split::Val) {
        PolicyKind::Explicit
    } else {
        PolicyKind::Kfold
    }
}

/// One fold: the rows to train on and to evaluate on, and its seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// 0-based index.
    pub index: usize,
    /// The seed for this fold's initialisation.
    pub seed: u64,
    /// Training rows.
    pub train: Vec<usize>,
    /// Evaluation rows.
    pub eval: Vec<usize>,
}

/// Why folds cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FoldError {
    /// Explicit validation needs both labels.
    #[error("explicit validation needs `train` and `val` rows (found {train} train, {val} val); use --validation kfold")]
    MissingSplit {
        /// Train rows.
        train: usize,
        /// Val rows.
        val: usize,
    },
    /// Not enough contents to split.
    #[error(
        "{policy} needs at least {needed} content groups outside the test split, found {found}"
    )]
    TooFewGroups {
        /// The policy.
        policy: String,
        /// Groups needed.
        needed: usize,
        /// Groups found.
        found: usize,
    },
    /// Not enough rows.
    #[error("{policy} needs at least {needed} rows outside the test split, found {found}")]
    TooFewRows {
        /// The policy.
        policy: String,
        /// Rows needed.
        needed: usize,
        /// Rows found.
        found: usize,
    },
    /// Bad parameters.
    #[error("{0}")]
    Params(String),
}

/// The rows eligible for folds: everything not labelled `test`.
pub fn eligible(ds: &Dataset) -> Vec<usize> {
    (0..ds.len())
        .filter(|&i| ds.split[i] != Some(Split::Test))
        .collect()
}

fn shuffled_groups(ds: &Dataset, rows: &[usize], seed: u64) -> Vec<u32> {
    // Sort by name so the order does not depend on row order, then shuffle.
    let mut groups: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    groups.sort_unstable_by(|a, b| ds.group_names[*a as usize].cmp(&ds.group_names[*b as usize]));
    groups.dedup();
    groups.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    groups
}

/// Content groups among `rows`.
pub fn distinct_groups(ds: &Dataset, rows: &[usize]) -> usize {
    let mut g: Vec<u32> = rows.iter().map(|&i| ds.group[i]).collect();
    g.sort_unstable();
    g.dedup();
    g.len()
}

/// `k` content-grouped folds over `rows` (whole contents dealt round-robin
/// after a seeded shuffle; fold `i` gets seed `seed + i`). The caller
/// checks that `rows` hold at least `k` contents; with fewer, the surplus
/// folds have no evaluation rows.
pub fn grouped_kfold(ds: &Dataset, rows: &[usize], k: usize, seed: u64) -> Vec<Fold> {
    let groups = shuffled_groups(ds, rows, seed);
    let mut fold_of = vec![usize::MAX; ds.group_names.len()];
    for (j, g) in groups.iter().enumerate() {
        fold_of[*g as usize] = j % k.max(1);
    }
    (0..k)
        .map(|i| {
            let (eval, train) = rows
                .iter()
                .partition(|&&r| fold_of[ds.group[r] as usize] == i);
            Fold {
                index: i,
                seed: seed + i as u64,
                train,
                eval,
            }
        })
        .collect()
}

/// Builds the folds of `policy` over `ds`.
pub fn make_folds(ds: &Dataset, policy: &Policy) -> Result<Vec<Fold>, FoldError> {
    let rows = eligible(ds);
    let name = policy.name();
    match policy.kind {
        PolicyKind::Explicit => {
            let train = ds.rows_in(Split::Train);
            let val = ds.rows_in(Split::Val);
            if train.is_empty() || val.is_empty() {
                return Err(FoldError::MissingSplit {
                    train: train.len(),
                    val: val.len(),
                });
            }
            Ok(vec![Fold {
                index: 0,
                seed: policy.seed,
                train,
                eval: val,
            }])
        }
        PolicyKind::Kfold => {
            if policy.k < 2 {
                return Err(FoldError::Params(format!(
                    "k-fold needs k >= 2, got {}",
                    policy.k
                )));
            }
            if rows.len() < 2 * policy.k {
                return Err(FoldError::TooFewRows {
                    policy: name,
                    needed: 2 * policy.k,
                    found: rows.len(),
                });
            }
            let found = distinct_groups(ds, &rows);
            if found < policy.k {
                return Err(FoldError::TooFewGroups {
                    policy: name,
                    needed: policy.k,
                    found,
                });
            }
            Ok(grouped_kfold(ds, &rows, policy.k, policy.seed))
        }
        PolicyKind::Repeated => {
            if policy.repeats == 0 || !(policy.eval_fraction > 0.0 && policy.eval_fraction < 1.0) {
                return Err(FoldError::Params(format!(
                    "repeated splits need repeats >= 1 and 0 < fraction < 1 (got {} and {})",
                    policy.repeats, policy.eval_fraction
                )));
            }
            let distinct = shuffled_groups(ds, &rows, policy.seed).len();
            if distinct < 5 {
                return Err(FoldError::TooFewGroups {
                    policy: name,
                    needed: 5,
                    found: distinct,
                });
            }
            Ok((0..policy.repeats)
                .map(|r| {
                    let seed = policy.seed + r as u64;
                    let groups = shuffled_groups(ds, &rows, seed);
                    let take = ((groups.len() as f64 * policy.eval_fraction).round() as usize)
                        .clamp(1, groups.len() - 1);
                    let mut is_eval = vec![false; ds.group_names.len()];
                    for g in &groups[..take] {
                        is_eval[*g as usize] = true;
                    }
                    let (eval, train) = rows.iter().partition(|&&i| is_eval[ds.group[i] as usize]);
                    Fold {
                        index: r,
                        seed,
                        train,
                        eval,
                    }
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_kind_names_parse_and_match_serde() {
        for name in PolicyKind::NAMES {
            let kind: PolicyKind = name.parse().unwrap();
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        assert!("Kfold".parse::<PolicyKind>().is_err());
    }
    use ndarray::Array2;
    use std::collections::HashSet;

    fn dataset(groups: usize, per: usize, split: impl Fn(usize) -> Option<Split>) -> Dataset {
        let n = groups * per;
        let mut ds = Dataset::for_tests(
            Array2::zeros((n, 1)),
            (0..n).map(|i| 1.0 + (i % 4) as f64).collect(),
            (0..n).map(|i| (i / per) as u32).collect(),
        );
        ds.split = (0..n).map(|i| split(i / per)).collect();
        ds
    }

    fn policy(kind: PolicyKind) -> Policy {
        Policy {
            kind,
            k: 5,
            repeats: 4,
            eval_fraction: 0.2,
            seed: DEFAULT_SEED,
        }
    }

    fn assert_disjoint(ds: &Dataset, f: &Fold) {
        let a: HashSet<u32> = f.train.iter().map(|&i| ds.group[i]).collect();
        let b: HashSet<u32> = f.eval.iter().map(|&i| ds.group[i]).collect();
        assert!(a.is_disjoint(&b), "fold {} shares a content", f.index);
    }

    #[test]
    fn kfold_never_splits_a_content_and_covers_every_row_once() {
        let ds = dataset(23, 6, |g| (g == 3).then_some(Split::Test));
        let folds = make_folds(&ds, &policy(PolicyKind::Kfold)).unwrap();
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; ds.len()];
        for f in &folds {
            assert_disjoint(&ds, f);
            for &i in &f.eval {
                seen[i] += 1;
            }
            assert_eq!(f.train.len() + f.eval.len(), ds.len() - 6);
            assert_eq!(f.seed, DEFAULT_SEED + f.index as u64);
        }
        for (i, c) in seen.iter().enumerate() {
            assert_eq!(*c, usize::from(ds.group[i] != 3), "row {i}");
        }
    }

    #[test]
    fn kfold_is_seeded_and_independent_of_row_order() {
        let ds = dataset(20, 3, |_| None);
        let a = make_folds(&ds, &policy(PolicyKind::Kfold)).unwrap();
        let b = make_folds(&ds, &policy(PolicyKind::Kfold)).unwrap();
        assert_eq!(a, b);
        let mut other = policy(PolicyKind::Kfold);
        other.seed += 1;
        assert_ne!(a, make_folds(&ds, &other).unwrap());
    }

    #[test]
    fn repeated_splits_are_disjoint_with_the_right_fraction() {
        let ds = dataset(50, 2, |_| None);
        let folds = make_folds(&ds, &policy(PolicyKind::Repeated)).unwrap();
        assert_eq!(folds.len(), 4);
        for f in &folds {
            assert_disjoint(&ds, f);
            assert_eq!(f.eval.len(), 20, "10 of 50 contents, 2 rows each");
        }
        assert_ne!(folds[0].eval, folds[1].eval);
    }

    #[test]
    fn explicit_uses_labels_and_never_test() {
        let ds = dataset(10, 2, |g| {
            Some(match g % 5 {
                0 => Split::Val,
                1 => Split::Test,
                _ => Split::Train,
            })
        });
        let f = &make_folds(&ds, &policy(PolicyKind::Explicit)).unwrap()[0];
        assert!(f.train.iter().all(|&i| ds.split[i] == Some(Split::Train)));
        assert!(f.eval.iter().all(|&i| ds.split[i] == Some(Split::Val)));
        assert_eq!(default_kind(&ds), PolicyKind::Explicit);
        let unlabelled = dataset(10, 2, |_| None);
        assert_eq!(default_kind(&unlabelled), PolicyKind::Kfold);
        assert!(matches!(
            make_folds(&unlabelled, &policy(PolicyKind::Explicit)),
            Err(FoldError::MissingSplit { .. })
        ));
    }

    #[test]
    fn too_few_groups_is_an_error() {
        let ds = dataset(3, 10, |_| None);
        assert!(matches!(
            make_folds(&ds, &policy(PolicyKind::Kfold)),
            Err(FoldError::TooFewGroups { found: 3, .. })
        ));
    }
}
