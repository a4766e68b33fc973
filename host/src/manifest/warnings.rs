//! Warnings that matter to the reader of a run: a baseline beats the head
//! beyond noise, a feature column was mostly filled, the corpus is too small for
//! its gate or for its figures to tell heads apart, an iterative solve
//! stopped at its cap. Computed once when the run is trained, recorded in
//! the manifest, and shown by the summary, `--json`, the card and the report.

use serde::{Deserialize, Serialize};

use super::Manifest;
use crate::evaluation::compare::{beyond_noise, Margin, Paired};
use crate::evaluation::intervals::RESAMPLES;
use crate::training::Termination;
use crate::validation::oof::PooledRows;

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
/// columns), to say which would fit when a column was mostly filled;
/// `rows` the pooled out-of-fold predictions of the head and its
/// baselines, on which a baseline's lead is tested (without them no
/// baseline is said to beat the head: a lead cannot be told from noise).
pub fn of(
    m: &Manifest,
    schemas: &[(String, Vec<String>)],
    rows: Option<&PooledRows>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(rows) = rows {
        let rivals: Vec<(&str, &[f64])> = rows
            .baselines
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_slice()))
            .collect();
        out.extend(rivals_beyond_noise(m, rows, "baseline", &rivals));
    }
    filled(m, schemas, &mut out);
    small(m, &mut out);
    cap(m, &mut out);
    out
}

/// A warning of kind `what` (`baseline`, `feature`, ...: what the rivals
/// are) for each rival whose pooled PLCC or RMSE is better than the head's
/// beyond noise: the 95% paired cluster-bootstrap interval over contents
/// of the difference excludes zero ([`beyond_noise`], seeded by the run's
/// seed). RMSE is given on the native scale where the corpus has one.
/// Shared by every rival a run pits against its head.
pub fn rivals_beyond_noise(
    m: &Manifest,
    rows: &PooledRows,
    what: &str,
    rivals: &[(&str, &[f64])],
) -> Vec<Warning> {
    let head = m.head.spec.kind.as_str();
    // One native scale: RMSE in its units; several (or none): head scale.
    let native = m.validation.single_native();
    let rmse = |v: f64| match native {
        Some(n) => n.show(Some(v * n.per_head_unit)),
        None => format!("{v:.4}"),
    };
    let unit = match native {
        Some(n) => format!(" ({} scale)", n.range()),
        None => String::new(),
    };
    let mut out = Vec::new();
    for &(name, pred) in rivals {
        // A fixed linear or ridge head is its own baseline: not a rival.
        if name == head || pred.len() != rows.head.len() {
            continue;
        }
        let paired = Paired {
            a: pred,
            b: &rows.head,
            mos: &rows.mos,
            se: &rows.se,
            groups: &rows.groups,
        };
        let by: Vec<String> = beyond_noise(&paired, m.training.seed, RESAMPLES)
            .into_iter()
            .filter_map(|Margin { metric, test }| {
                let (a, b, d, i) = (test.a?, test.b?, test.difference?, test.interval?);
                Some(if metric == "RMSE" {
                    format!(
                        "pooled RMSE{unit} {} against {} ({}{}, 95% interval [{}, {}])",
                        rmse(a),
                        rmse(b),
                        if d < 0.0 { "-" } else { "+" },
                        rmse(d.abs()),
                        rmse(i.lo),
                        rmse(i.hi)
                    )
                } else {
                    format!(
                        "pooled {metric} {a:.4} against {b:.4} ({d:+.4}, 95% interval \
                         [{:+.4}, {:+.4}])",
                        i.lo, i.hi
                    )
                })
            })
            .collect();
        if !by.is_empty() {
            out.push(Warning::new(
                what,
                format!(
                    "the `{name}` {what} beats the {head} head beyond noise: {} (paired \
                     cluster bootstrap over {} contents, {RESAMPLES} resamples)",
                    by.join(", "),
                    rows.contents()
                ),
            ));
        }
    }
    out
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
        of(m, schemas, None).into_iter().map(|w| w.kind).collect()
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
        assert!(
            of(&clean(), &[], None).is_empty(),
            "{:?}",
            of(&clean(), &[], None)
        );
    }

    /// 240 rows of 40 contents (6 each): MOS spread over 1-5, the head's
    /// predictions the MOS plus noise of SD `head_sd`, one baseline's the
    /// MOS plus independent noise of SD `rival_sd`; seeded.
    fn rows(head_sd: f64, rival_sd: f64, seed: u64) -> PooledRows {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut noise = |sd: f64| {
            // The sum of 12 uniforms minus 6: mean 0, SD 1.
            sd * ((0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0)
        };
        let n = 240;
        let groups: Vec<u32> = (0..n).map(|i| i / 6).collect();
        let mos: Vec<f64> = (0..n)
            .map(|i| 1.0 + 4.0 * f64::from(i % 97) / 96.0)
            .collect();
        let head: Vec<f64> = mos.iter().map(|m| m + noise(head_sd)).collect();
        let rival: Vec<f64> = mos.iter().map(|m| m + noise(rival_sd)).collect();
        PooledRows {
            head,
            mos,
            se: vec![None; n as usize],
            groups,
            baselines: [("ridge".to_owned(), rival)].into(),
        }
    }

    #[test]
    fn a_baseline_that_beats_the_head_beyond_noise_is_named_with_the_interval() {
        // Noise SD 0.8 against 0.3: the baseline's lead is far outside
        // what resampling the 40 contents moves.
        let rows = rows(0.8, 0.3, 7);
        let w = of(&clean(), &[], Some(&rows));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].kind, "baseline");
        let msg = &w[0].message;
        assert!(
            msg.contains("the `ridge` baseline beats the linear head beyond noise: pooled PLCC")
                && msg.contains(", pooled RMSE")
                && msg.contains("95% interval [+0.")
                && msg.contains("over 40 contents, 1000 resamples"),
            "{msg}"
        );
        // The same rows told as the head against a worse baseline: nothing.
        let mut swapped = rows.clone();
        let ridge = swapped.baselines.get_mut("ridge").unwrap();
        std::mem::swap(ridge, &mut swapped.head);
        assert!(of(&clean(), &[], Some(&swapped)).is_empty());
        // A fixed linear head is not beaten by its own baseline's figures.
        let mut own = rows.clone();
        let p = own.baselines.remove("ridge").unwrap();
        own.baselines.insert("linear".into(), p);
        assert!(of(&clean(), &[], Some(&own)).is_empty());
        // Without the predictions no lead can be tested, and none is told.
        assert!(of(&clean(), &[], None).is_empty());
    }

    #[test]
    fn a_baseline_ahead_by_noise_is_not_a_warning() {
        // Head and baseline with the same noise SD: whichever is ahead on
        // these rows is ahead by noise; make it the baseline.
        let mut rows = rows(0.5, 0.5, 11);
        let metrics = |p: &[f64], y: &[f64]| {
            (
                crate::evaluation::plcc(p, y).unwrap(),
                crate::evaluation::rmse(p, y).unwrap(),
            )
        };
        let (hp, hr) = metrics(&rows.head, &rows.mos);
        let (bp, br) = metrics(&rows.baselines["ridge"], &rows.mos);
        if bp < hp {
            let ridge = rows.baselines.get_mut("ridge").unwrap();
            std::mem::swap(ridge, &mut rows.head);
        }
        let (hp, _) = metrics(&rows.head, &rows.mos);
        let (bp, _) = metrics(&rows.baselines["ridge"], &rows.mos);
        assert!(bp > hp && (br - hr).abs() < 0.1, "{bp} {hp} {br} {hr}");
        let w = of(&clean(), &[], Some(&rows));
        assert!(w.is_empty(), "{w:?}");
        // The figures the old rule warned on: the point estimate is ahead.
        let paired = Paired {
            a: &rows.baselines["ridge"],
            b: &rows.head,
            mos: &rows.mos,
            se: &rows.se,
            groups: &rows.groups,
        };
        assert!(beyond_noise(&paired, 20_260_508, RESAMPLES).is_empty());
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
        let w = of(&m, &schemas, None);
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
        let w = of(&m, &[], None);
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
        let w = of(&m, &[], None);
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
        let w = of(&m, &[], None);
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
        let w = of(&m, &[], None);
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
