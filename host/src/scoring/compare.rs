//! The rows `moshead compare` compares models on, as library operations.
//!
//! Models are compared only on the same rows with the same MOS:
//!
//! - [`validation_rows`]: their validation predictions (the sidecars),
//!   when they were validated on the same folds of the same corpus: the
//!   same folds holding the same row ids, every row with the same MOS.
//!   Anything else is refused, naming what differs (and, to explain it,
//!   where the adapters, inputs or validation protocols differ).
//! - [`input_rows`]: every model scored ([`score_labelled`]) on rows read
//!   from the same inputs, each through its own adapter; the rows read
//!   must again be the same ids with the same MOS.
//!
//! Either gives [`Rows`]: one MOS, standard error and content group per
//! row, and every model's prediction of it, for
//! [`crate::evaluation::compare::compare`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use moshead_protocol::Split;

use super::model::ScoringError;
use super::predict_finite;
use crate::manifest::Manifest;
use crate::registry::Adapter;
use crate::training::Status;
use crate::validation::oof::OofPredictions;

/// Why models cannot be compared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// Fewer than two models.
    #[error("compare needs at least two models, got {0}")]
    TooFewModels(usize),
    /// Two models were not scored on the same rows.
    #[error("{a} and {b} {source_text} on the same rows: {what}")]
    NotSameRows {
        /// The first model.
        a: String,
        /// The other.
        b: String,
        /// `were not validated` or `did not score`.
        source_text: &'static str,
        /// What differs.
        what: String,
    },
    /// A model has no validation predictions to compare.
    #[error(
        "{model}: no validation predictions (its sidecar is not beside the manifest, or its \
         validation recorded none); compare the models on rows of your own with --input"
    )]
    NoPredictions {
        /// The model.
        model: String,
    },
    /// Too few rows to compare.
    #[error("{0}")]
    TooFewRows(String),
}

/// One model's predictions of some rows, keyed by `(fold, id)` (`fold` 0
/// for rows scored from inputs).
#[derive(Debug, Clone, Default)]
pub struct ModelRows {
    /// The model as reports name it (its manifest's path).
    pub name: String,
    /// Each row's key.
    pub keys: Vec<(usize, String)>,
    /// Each row's content group.
    pub groups: Vec<String>,
    /// MOS (head scale).
    pub mos: Vec<f64>,
    /// MOS standard error (head scale), where known.
    pub se: Vec<Option<f64>>,
    /// The model's predictions (head scale).
    pub predictions: Vec<f64>,
}

/// The rows every model scored, in one order.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// `(fold, id)` of each row.
    pub keys: Vec<(usize, String)>,
    /// Content group index of each row.
    pub groups: Vec<u32>,
    /// MOS (head scale).
    pub mos: Vec<f64>,
    /// MOS standard error, where known.
    pub se: Vec<Option<f64>>,
    /// Each model's predictions, in the models' order.
    pub predictions: Vec<Vec<f64>>,
}

/// A row of a model, sorted by key.
fn sorted(m: &ModelRows) -> Vec<usize> {
    let mut order: Vec<usize> = (0..m.keys.len()).collect();
    order.sort_by(|&x, &y| m.keys[x].cmp(&m.keys[y]));
    order
}

/// A key as messages name it.
fn key_text(k: &(usize, String), folds: bool) -> String {
    if folds {
        format!("row `{}` of fold {}", k.1, k.0)
    } else {
        format!("row `{}`", k.1)
    }
}

/// Lines the models' rows up by key. `folds` is true for validation
/// predictions (keys name their fold); `context` is appended to a
/// refusal (where the corpora or protocols differ).
pub fn align(
    models: &[ModelRows],
    folds: bool,
    context: impl Fn(usize) -> String,
) -> Result<Rows, CompareError> {
    let Some(first) = models.first() else {
        return Err(CompareError::TooFewModels(0));
    };
    if models.len() < 2 {
        return Err(CompareError::TooFewModels(models.len()));
    }
    let source_text = if folds {
        "were not validated"
    } else {
        "did not score"
    };
    let order0 = sorted(first);
    for w in order0.windows(2) {
        if first.keys[w[0]] == first.keys[w[1]] {
            return Err(CompareError::NotSameRows {
                a: first.name.clone(),
                b: first.name.clone(),
                source_text,
                what: format!(
                    "{} appears more than once, so rows cannot be paired by id",
                    key_text(&first.keys[w[0]], folds)
                ),
            });
        }
    }
    let mut predictions = vec![order0.iter().map(|&i| first.predictions[i]).collect()];
    for (k, m) in models.iter().enumerate().skip(1) {
        let refuse = |what: String| CompareError::NotSameRows {
            a: first.name.clone(),
            b: m.name.clone(),
            source_text,
            what: format!("{what}{}", context(k)),
        };
        let order = sorted(m);
        let (n0, n) = (order0.len(), order.len());
        let mut preds = Vec::with_capacity(n0);
        for (pos, &i0) in order0.iter().enumerate() {
            let Some(&i) = order.get(pos) else {
                return Err(refuse(format!(
                    "{} rows against {n}; {} is scored by {} only",
                    n0,
                    key_text(&first.keys[i0], folds),
                    first.name
                )));
            };
            let (k0, km) = (&first.keys[i0], &m.keys[i]);
            if k0 != km {
                let (only, by) = if k0 < km {
                    (k0, &first.name)
                } else {
                    (km, &m.name)
                };
                return Err(refuse(format!(
                    "{} is scored by {by} only",
                    key_text(only, folds)
                )));
            }
            if first.mos[i0].to_bits() != m.mos[i].to_bits() {
                return Err(refuse(format!(
                    "{} has MOS {} in one and {} in the other",
                    key_text(k0, folds),
                    first.mos[i0],
                    m.mos[i]
                )));
            }
            preds.push(m.predictions[i]);
        }
        if n > n0 {
            return Err(refuse(format!(
                "{n0} rows against {n}; {} is scored by {} only",
                key_text(&m.keys[order[n0]], folds),
                m.name
            )));
        }
        predictions.push(preds);
    }
    let mut index: BTreeMap<&str, u32> = BTreeMap::new();
    let groups = order0
        .iter()
        .map(|&i| {
            let next = index.len() as u32;
            *index.entry(first.groups[i].as_str()).or_insert(next)
        })
        .collect();
    Ok(Rows {
        keys: order0.iter().map(|&i| first.keys[i].clone()).collect(),
        groups,
        mos: order0.iter().map(|&i| first.mos[i]).collect(),
        se: order0.iter().map(|&i| first.se[i]).collect(),
        predictions,
    })
}

/// A model's validation predictions as [`ModelRows`].
pub fn from_validation(name: &str, m: &Manifest, p: &OofPredictions) -> ModelRows {
    let mut out = ModelRows {
        name: name.to_owned(),
        ..ModelRows::default()
    };
    for (f, rows) in m.validation.folds.iter().zip(&p.folds) {
        for r in rows {
            out.keys.push((f.fold, r.id.clone()));
            out.groups.push(r.group.clone());
            out.mos.push(r.mos);
            out.se.push(r.mos_se);
            out.predictions.push(r.prediction);
        }
    }
    out
}

/// Where model `k`'s run differs from model 0's, for a refusal: the
/// adapters, the inputs' sha256, the validation protocol.
fn run_differences(a: &Manifest, b: &Manifest) -> String {
    let mut s = String::new();
    if a.adapter.name != b.adapter.name {
        let _ = write!(
            s,
            "; the adapters differ (`{}` and `{}`)",
            a.adapter.name, b.adapter.name
        );
    }
    let inputs = |m: &Manifest| -> BTreeMap<String, String> {
        m.data
            .inputs
            .iter()
            .map(|i| (i.slot.clone(), i.sha256.clone()))
            .collect()
    };
    let (ia, ib) = (inputs(a), inputs(b));
    for (slot, sha) in &ia {
        match ib.get(slot) {
            Some(other) if other != sha => {
                let _ = write!(
                    s,
                    "; slot `{slot}` read other bytes (sha256 {} and {})",
                    &sha[..sha.len().min(12)],
                    &other[..other.len().min(12)]
                );
            }
            None => {
                let _ = write!(s, "; slot `{slot}` was read by the first only");
            }
            _ => {}
        }
    }
    for slot in ib.keys().filter(|k| !ia.contains_key(*k)) {
        let _ = write!(s, "; slot `{slot}` was read by the second only");
    }
    let policy = |m: &Manifest| serde_json::to_string(&m.validation.policy).unwrap_or_default();
    if policy(a) != policy(b) {
        let _ = write!(
            s,
            "; the validation protocols differ ({} and {})",
            policy(a),
            policy(b)
        );
    }
    s
}

/// The validation predictions of `models` (`(name, manifest,
/// predictions)`; `None` when a model has no sidecar), lined up: same
/// folds, same rows, same MOS, or a refusal naming what differs.
pub fn validation_rows(
    models: &[(String, &Manifest, Option<&OofPredictions>)],
) -> Result<Rows, CompareError> {
    let mut rows = Vec::with_capacity(models.len());
    for (name, m, p) in models {
        let p = p.ok_or_else(|| CompareError::NoPredictions {
            model: name.clone(),
        })?;
        rows.push(from_validation(name, m, p));
    }
    let first = models.first().map(|(_, m, _)| *m);
    align(&rows, true, |k| match (first, models.get(k)) {
        (Some(a), Some((_, b, _))) => run_differences(a, b),
        _ => String::new(),
    })
}

/// What to score a model on for a comparison.
#[derive(Debug, Clone)]
pub struct CompareInputs<'a> {
    /// `(slot, path)` bindings of the model's adapter.
    pub inputs: Vec<(String, PathBuf)>,
    /// Score the embedded demo corpus instead.
    pub demo: bool,
    /// Only rows of this split (every labelled row when `None`).
    pub split: Option<Split>,
    /// The model's adapter.
    pub adapter: &'a Adapter,
}

/// Scores `m` on every labelled row (of `on.split`, if set) that its
/// adapter reads from `on`.
pub fn score_labelled(
    name: &str,
    m: &Manifest,
    on: &CompareInputs<'_>,
    status: &Status,
) -> Result<ModelRows, ScoringError> {
    let req = super::ValidateRequest {
        manifest: m,
        adapter: on.adapter,
        inputs: on.inputs.clone(),
        demo: on.demo,
    };
    let loaded = super::validate::load(&req, status)?;
    let ds = &loaded.dataset;
    let idx: Vec<usize> = (0..ds.len())
        .filter(|&i| ds.has_mos(i) && on.split.is_none_or(|s| ds.split[i] == Some(s)))
        .collect();
    if idx.len() < 4 {
        let what = format!(
            "{} labelled row(s){} to compare on, of {} read; at least 4 are needed",
            idx.len(),
            on.split
                .map_or_else(String::new, |s| format!(" of split `{}`", s.as_str())),
            ds.len()
        );
        return Err(ScoringError::TooFewRows {
            what,
            adapter: on.adapter.name().to_owned(),
            report: Box::new(loaded.report),
        });
    }
    let predictions = predict_finite(m, ds, &idx)?;
    let (mos, se) = ds.targets(&idx);
    Ok(ModelRows {
        name: name.to_owned(),
        keys: idx.iter().map(|&i| (0, ds.ids[i].to_owned())).collect(),
        groups: idx
            .iter()
            .map(|&i| ds.group_names[ds.group[i] as usize].to_owned())
            .collect(),
        mos,
        se,
        predictions,
    })
}

/// The rows of [`score_labelled`] of every model, lined up: the same ids
/// with the same MOS, or a refusal naming what differs.
pub fn input_rows(models: &[ModelRows]) -> Result<Rows, CompareError> {
    align(models, false, |_| String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, rows: &[(usize, &str, f64)], pred: f64) -> ModelRows {
        ModelRows {
            name: name.into(),
            keys: rows.iter().map(|r| (r.0, r.1.to_owned())).collect(),
            groups: rows.iter().map(|r| format!("g{}", r.1)).collect(),
            mos: rows.iter().map(|r| r.2).collect(),
            se: vec![None; rows.len()],
            predictions: vec![pred; rows.len()],
        }
    }

    #[test]
    fn rows_line_up_by_key_whatever_their_order() {
        let a = model(
            "a.json",
            &[(0, "x", 1.0), (1, "y", 2.0), (0, "z", 3.0)],
            1.0,
        );
        let mut b = model(
            "b.json",
            &[(1, "y", 2.0), (0, "z", 3.0), (0, "x", 1.0)],
            2.0,
        );
        b.predictions = vec![20.0, 30.0, 10.0];
        let rows = align(&[a, b], true, |_| String::new()).unwrap();
        assert_eq!(
            rows.keys,
            [
                (0, "x".to_owned()),
                (0, "z".to_owned()),
                (1, "y".to_owned())
            ]
        );
        assert_eq!(rows.mos, [1.0, 3.0, 2.0]);
        assert_eq!(rows.predictions[1], [10.0, 30.0, 20.0]);
        assert_eq!(rows.groups, [0, 1, 2]);
    }

    #[test]
    fn refusals_name_what_differs() {
        let a = model("a.json", &[(0, "x", 1.0), (1, "y", 2.0)], 1.0);
        let err = |b: ModelRows, folds| {
            align(&[a.clone(), b], folds, |_| "; context".to_owned())
                .unwrap_err()
                .to_string()
        };
        // Another fold.
        let e = err(model("b.json", &[(0, "x", 1.0), (0, "y", 2.0)], 1.0), true);
        assert!(
            e.contains("a.json and b.json were not validated on the same rows"),
            "{e}"
        );
        assert!(
            e.contains("row `y` of fold 0 is scored by b.json only; context"),
            "{e}"
        );
        // Another MOS.
        let e = err(model("b.json", &[(0, "x", 1.0), (1, "y", 2.5)], 1.0), true);
        assert!(
            e.contains("row `y` of fold 1 has MOS 2 in one and 2.5 in the other"),
            "{e}"
        );
        // A row fewer, a row more.
        let e = err(model("b.json", &[(0, "x", 1.0)], 1.0), false);
        assert!(e.contains("did not score on the same rows: 2 rows against 1; row `y` is scored by a.json only"), "{e}");
        let e = err(
            model(
                "b.json",
                &[(0, "x", 1.0), (1, "y", 2.0), (2, "w", 1.0)],
                1.0,
            ),
            true,
        );
        assert!(
            e.contains("2 rows against 3; row `w` of fold 2 is scored by b.json only"),
            "{e}"
        );
        // One model alone.
        assert!(matches!(
            align(std::slice::from_ref(&a), true, |_| String::new()),
            Err(CompareError::TooFewModels(1))
        ));
        // A duplicated id cannot be paired.
        let d = model("d.json", &[(0, "x", 1.0), (0, "x", 1.0)], 1.0);
        let e = align(&[d, a], false, |_| String::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("appears more than once"), "{e}");
    }
}
