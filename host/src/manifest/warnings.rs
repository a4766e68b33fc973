//! Warnings that matter to the reader of a run: the head does not beat a
//! baseline, a feature column was mostly filled, the corpus is too small for
//! its gate or for its figures to tell heads apart, an iterative solve
//! stopped at its cap. Computed once when the run is trained, recorded in
//! the manifest, and shown by the summary, `--json`, the card and the report.

use serde::{Deserialize, Serialize};

use super::Manifest;
use crate::training::Termination;

/// One warning: its kind (stable, for machines) and its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    /// `baseline`, `filled`, `small-corpus`, `iteration-cap`.
    pub kind: String,
    /// What happened, with the figures.
    pub message: String,
}

impl Warning {
    fn new(kind: &str, message: String) -> Self {
        Warning {
            kind: kind.into(),
            message,
        }
    }
}

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Above this half-width of the 95% interval of the pooled PLCC, the
/// figures do not separate heads (differences of a few hundredths are what
/// heads differ by).
const SEPARATION: f64 = 0.05;

/// The 95% interval of a Pearson correlation `r` on `n` rows (Fisher's z),
/// `None` under 4 rows or for `|r| = 1`.
pub fn plcc_interval(r: f64, n: usize) -> Option<(f64, f64)> {
    if n < 4 || !r.is_finite() || r.abs() >= 1.0 {
        return None;
    }
    let z = r.atanh();
    let h = Z95 / ((n - 3) as f64).sqrt();
    Some(((z - h).tanh(), (z + h).tanh()))
}

/// The warnings of the run `m`; `schemas` are the adapter's schemas (name,
/// columns), to say which would fit when a column was mostly filled.
pub fn of(m: &Manifest, schemas: &[(String, Vec<String>)]) -> Vec<Warning> {
    let mut out = Vec::new();
    baseline(m, &mut out);
    filled(m, schemas, &mut out);
    small(m, &mut out);
    cap(m, &mut out);
    out
}

/// Each baseline whose PLCC is higher or whose RMSE is lower than the
/// head's, on the pooled out-of-fold rows (else the mean over folds).
fn baseline(m: &Manifest, out: &mut Vec<Warning>) {
    let v = &m.validation;
    let head = m.head.spec.kind.as_str();
    // (baseline, PLCC, RMSE) beside the head's (PLCC, RMSE).
    type Rival<'a> = (&'a String, Option<f64>, Option<f64>);
    let (what, h, bases): (&str, _, Vec<Rival<'_>>) = match &v.pooled {
        Some(p) => (
            "pooled",
            (p.head.plcc, p.head.rmse),
            p.baselines
                .iter()
                .map(|(n, b)| (n, b.plcc, b.rmse))
                .collect(),
        ),
        None => (
            "mean",
            (v.aggregate.mean.plcc, v.aggregate.mean.rmse),
            v.baselines
                .iter()
                .map(|(n, b)| (n, b.mean.plcc, b.mean.rmse))
                .collect(),
        ),
    };
    for (name, plcc, rmse) in bases {
        // A fixed linear or ridge head is its own baseline: not a rival.
        if name == head {
            continue;
        }
        let mut by = Vec::new();
        if let (Some(b), Some(hp)) = (plcc, h.0) {
            if b > hp {
                by.push(format!(
                    "{what} PLCC {b:.4} against {hp:.4} (+{:.4})",
                    b - hp
                ));
            }
        }
        if let (Some(b), Some(hr)) = (rmse, h.1) {
            if b < hr {
                by.push(format!(
                    "{what} RMSE {b:.4} against {hr:.4} (-{:.4})",
                    hr - b
                ));
            }
        }
        if !by.is_empty() {
            out.push(Warning::new(
                "baseline",
                format!(
                    "the `{name}` baseline beats the {head} head: {}",
                    by.join(", ")
                ),
            ));
        }
    }
}

/// Columns filled (missing or non-finite, set to 0.0) for more than half the
/// rows, and the schemas whose columns were all present.
fn filled(m: &Manifest, schemas: &[(String, Vec<String>)], out: &mut Vec<Warning>) {
    let rows = m.data.rows;
    if rows == 0 {
        return;
    }
    let mostly: Vec<&str> = m
        .data
        .filled
        .iter()
        .filter(|c| 2 * c.filled > rows)
        .map(|c| c.column.as_str())
        .collect();
    if mostly.is_empty() {
        return;
    }
    let present: Vec<&String> = m
        .feature_order
        .iter()
        .filter(|c| !mostly.contains(&c.as_str()))
        .collect();
    let fit: Vec<&str> = schemas
        .iter()
        .filter(|(name, cols)| {
            *name != m.feature_schema
                && !cols.is_empty()
                && cols.iter().all(|c| present.contains(&c))
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let hint = if fit.is_empty() {
        "no other schema of the adapter has only columns the inputs filled".to_owned()
    } else {
        format!(
            "the inputs have every column of {}",
            fit.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    out.push(Warning::new(
        "filled",
        format!(
            "{} of the {} columns of schema `{}` were filled with 0.0 for more than half of the \
             {rows} rows ({}): the head learns nothing from them; {hint}",
            mostly.len(),
            m.feature_order.len(),
            m.feature_schema,
            mostly.join(", ")
        ),
    ));
}

/// The pooled PLCC's 95% interval straddles the gate's PLCC threshold, or is
/// too wide to separate heads.
fn small(m: &Manifest, out: &mut Vec<Warning>) {
    let Some(p) = &m.validation.pooled else {
        return;
    };
    let Some(r) = p.head.plcc else {
        return;
    };
    let Some((lo, hi)) = plcc_interval(r, p.n) else {
        return;
    };
    if let Some(min) = m.gate.thresholds.plcc_min {
        if lo < min && min < hi {
            out.push(Warning::new(
                "small-corpus",
                format!(
                    "the corpus is too small for its gate: the pooled PLCC {r:.4} on {} \
                     out-of-fold rows has a 95% interval [{lo:.3}, {hi:.3}] (Fisher z) that \
                     holds the gate's threshold {min}, so the verdict is not settled by the data",
                    p.n
                ),
            ));
        }
    }
    let half = (hi - lo) / 2.0;
    if half > SEPARATION {
        out.push(Warning::new(
            "small-corpus",
            format!(
                "the corpus is too small for its figures to separate heads: the pooled PLCC \
                 {r:.4} on {} out-of-fold rows is known to about ±{half:.3} (95% interval \
                 [{lo:.3}, {hi:.3}], Fisher z); smaller differences between heads or baselines \
                 are noise",
                p.n
            ),
        ));
    }
}

/// Whether a solve stopped at its cap rather than converging or stopping
/// early.
fn at_cap(t: &Termination, converged: bool) -> bool {
    match t {
        Termination::EvaluationCap { .. } => true,
        Termination::Solver { reason } => {
            !converged
                && reason
                    .to_lowercase()
                    .contains("maximum number of iterations")
        }
        Termination::Smo { converged, .. } => !converged,
        Termination::MeanOfSvrs { all_converged, .. } => !all_converged,
        _ => false,
    }
}

/// The ship model's solve, or a fold's, stopped at its iteration or
/// evaluation cap.
fn cap(m: &Manifest, out: &mut Vec<Warning>) {
    let s = &m.training.solve;
    let folds = m
        .validation
        .folds
        .iter()
        .filter(|f| at_cap(&f.solve.termination, f.solve.converged))
        .count();
    let ship = at_cap(&s.termination, s.converged);
    if !ship && folds == 0 {
        return;
    }
    let n = m.validation.folds.len();
    let which = match (ship, folds) {
        (true, 0) => format!("the ship model ({})", s.termination),
        (true, k) => format!("the ship model ({}) and {k} of {n} folds", s.termination),
        (false, k) => format!("{k} of {n} folds"),
    };
    out.push(Warning::new(
        "iteration-cap",
        format!(
            "the {} head stopped at its iteration cap in {which}: the fit had not converged; \
             raise the cap (--max-iters) or let early stopping end it",
            m.head.spec.kind.as_str(),
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest the v1 build wrote (a linear head on 600 synthetic rows,
    /// pooled PLCC 0.89), as read today.
    fn manifest() -> Manifest {
        const V1: &str = include_str!("../../../tests/data/manifests-v1/linear/v1_linear.json");
        Manifest::parse(std::path::Path::new("v1_linear.json"), V1).unwrap()
    }

    fn kinds(m: &Manifest, schemas: &[(String, Vec<String>)]) -> Vec<String> {
        of(m, schemas).into_iter().map(|w| w.kind).collect()
    }

    /// The fixture with every baseline worse than the head, nothing filled,
    /// a pooled PLCC of 0.9 on 5000 rows and a converged solve.
    fn clean() -> Manifest {
        let mut m = manifest();
        let p = m.validation.pooled.as_mut().unwrap();
        p.n = 5000;
        p.head.plcc = Some(0.9);
        p.head.rmse = Some(0.3);
        for b in p.baselines.values_mut() {
            b.plcc = Some(0.8);
            b.rmse = Some(0.4);
        }
        for c in &mut m.data.filled {
            c.filled = 0;
        }
        m.training.solve.termination = Termination::EarlyStop {
            patience: 20,
            best_iteration: 30,
        };
        m.training.solve.converged = true;
        for f in &mut m.validation.folds {
            f.solve.termination = m.training.solve.termination.clone();
            f.solve.converged = true;
        }
        m
    }

    #[test]
    fn a_clean_run_has_no_warning() {
        assert!(of(&clean(), &[]).is_empty(), "{:?}", of(&clean(), &[]));
    }

    #[test]
    fn a_baseline_that_beats_the_head_is_named_with_the_margin() {
        let mut m = clean();
        let p = m.validation.pooled.as_mut().unwrap();
        let (name, b) = p
            .baselines
            .iter_mut()
            .find(|(n, _)| *n != "linear")
            .unwrap();
        let name = name.clone();
        b.plcc = Some(0.93);
        let w = of(&m, &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, "baseline");
        assert!(
            w[0].message
                .contains(&format!("the `{name}` baseline beats the linear head"))
                && w[0]
                    .message
                    .contains("PLCC 0.9300 against 0.9000 (+0.0300)"),
            "{}",
            w[0].message
        );
        // A fixed linear head is not beaten by its own baseline's figures.
        let mut m = clean();
        let p = m.validation.pooled.as_mut().unwrap();
        if let Some(b) = p.baselines.get_mut("linear") {
            b.plcc = Some(0.95);
        }
        assert!(kinds(&m, &[]).is_empty());
    }

    #[test]
    fn a_mostly_filled_column_is_named_with_a_schema_that_fits() {
        let mut m = clean();
        let rows = m.data.rows;
        m.data.filled[0].filled = rows / 2 + 1;
        let col = m.data.filled[0].column.clone();
        let rest: Vec<String> = m.feature_order.iter().skip(1).cloned().collect();
        let schemas = vec![
            (m.feature_schema.clone(), m.feature_order.clone()),
            ("narrow".to_owned(), rest),
        ];
        let w = of(&m, &schemas);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, "filled");
        assert!(
            w[0].message.contains(&format!("({col})")) && w[0].message.contains("`narrow`"),
            "{}",
            w[0].message
        );
        // Half the rows exactly is not more than half.
        m.data.filled[0].filled = rows / 2;
        assert!(kinds(&m, &schemas).is_empty());
    }

    #[test]
    fn a_small_corpus_is_flagged_for_its_gate_and_for_separating_heads() {
        // PLCC 0.78 on 200 rows: [0.72, 0.83] holds the gate's 0.75.
        let mut m = clean();
        m.gate.thresholds.plcc_min = Some(0.75);
        let p = m.validation.pooled.as_mut().unwrap();
        p.n = 200;
        p.head.plcc = Some(0.78);
        for b in p.baselines.values_mut() {
            b.plcc = Some(0.5);
        }
        let w = of(&m, &[]);
        assert_eq!(kinds(&m, &[]), ["small-corpus", "small-corpus"], "{w:?}");
        assert!(
            w[0].message.contains("too small for its gate"),
            "{}",
            w[0].message
        );
        assert!(
            w[1].message.contains("to separate heads"),
            "{}",
            w[1].message
        );
        // 40 clips and a PLCC of 0.5: far from the gate, far too wide.
        let p = m.validation.pooled.as_mut().unwrap();
        p.n = 40;
        p.head.plcc = Some(0.5);
        let w = of(&m, &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].message.contains("±0.239"), "{}", w[0].message);
        // 5000 rows at 0.78 separate heads and settle the gate.
        m.validation.pooled.as_mut().unwrap().n = 5000;
        m.validation.pooled.as_mut().unwrap().head.plcc = Some(0.78);
        assert!(kinds(&m, &[]).is_empty());
    }

    #[test]
    fn a_solve_at_its_cap_is_flagged() {
        let mut m = clean();
        m.training.solve.termination = Termination::Solver {
            reason: "Maximum number of iterations reached".into(),
        };
        m.training.solve.converged = false;
        let w = of(&m, &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, "iteration-cap");
        assert!(w[0].message.contains("the ship model"), "{}", w[0].message);
        // A fold's SVR at SMO's cap.
        let mut m = clean();
        m.validation.folds[0].solve.termination = Termination::Smo {
            converged: false,
            tolerance: 1e-3,
            iterations: 1000,
            support_vectors: 10,
        };
        let w = of(&m, &[]);
        assert!(w[0]
            .message
            .contains(&format!("1 of {} folds", m.validation.folds.len())));
    }

    #[test]
    fn the_fisher_interval_narrows_with_rows_and_holds_r() {
        let (lo, hi) = plcc_interval(0.5, 40).unwrap();
        assert!(lo < 0.5 && 0.5 < hi);
        // Fisher z of 0.5 on 40 rows: tanh(atanh(0.5) -+ 1.96/sqrt(37)), by Python's math.
        assert!(
            (lo - 0.223_265).abs() < 1e-6 && (hi - 0.702_147).abs() < 1e-6,
            "{lo} {hi}"
        );
        let (lo2, hi2) = plcc_interval(0.5, 4000).unwrap();
        assert!(hi2 - lo2 < hi - lo);
        assert!(plcc_interval(1.0, 100).is_none() && plcc_interval(0.3, 3).is_none());
    }
}
