//! The card's tables: metric rows, fold rows, the model-selection section,
//! pooled and baseline rows, and the Markdown table writer they share.

use std::fmt::Write as _;

use super::f4;
use crate::evaluation::{Aggregate, MetricSet, Metrics};
use crate::export::escape::md_code;
use crate::manifest::Manifest;

/// Markdown table from a header and rows (cells must not contain `|`).
pub(super) fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

/// Prose from a manifest in a table cell (see [`crate::export::escape`]).
pub(super) fn cell(s: &str) -> String {
    crate::export::escape::md_text(s)
}

pub(super) fn metric_row(label: String, s: &MetricSet) -> Vec<String> {
    vec![
        label,
        f4(s.plcc),
        f4(s.plcc_mapped),
        f4(s.srocc),
        f4(s.krocc),
        f4(s.rmse),
    ]
}

pub(super) fn fold_row(
    f: &crate::manifest::FoldRecord,
    m: &Metrics,
    outliers: bool,
) -> Vec<String> {
    let mut r = vec![
        f.fold.to_string(),
        f.n_train.to_string(),
        f.n_eval.to_string(),
        format!("{}/{}", f.groups_train, f.groups_eval),
        f4(m.plcc),
        f4(m.plcc_mapped),
        f4(m.srocc),
        f4(m.krocc),
        f4(m.rmse),
    ];
    if outliers {
        r.push(f4(m.outlier_ratio));
    }
    r.push(match &m.logistic {
        Some(l) if l.converged => "converged".into(),
        Some(_) => "not converged".into(),
        None => "no fit".into(),
    });
    r.push(format!(
        "{} it, {}",
        f.solve.iterations,
        cell(&f.solve.termination.to_string())
    ));
    r
}

/// The model-selection section: every fold's choice and the ship model's
/// inner-CV table (absent when no head was chosen by inner CV).
pub(super) fn selection_section(o: &mut String, m: &Manifest) {
    let v = &m.validation;
    let ship = m.training.selection.as_ref();
    if ship.is_none() && v.folds.iter().all(|f| f.selection.is_none()) {
        return;
    }
    o.push_str("## Model selection\n\n");
    let _ = writeln!(
        o,
        "Chosen by content-grouped inner cross-validation on each fold's training rows \
         only (never its evaluation rows), then refitted on them; criterion: {}.\n",
        crate::selection::CRITERION
    );
    let row = |what: String, s: &crate::selection::SelectionRecord| {
        let best = s.table.iter().find(|c| c.name == s.chosen);
        vec![
            what,
            cell(&s.requested),
            md_code(&s.chosen),
            f4(best.and_then(|b| b.rmse)),
            format!(
                "{} folds, {} rows, {} contents{}",
                s.inner_folds,
                s.inner_rows,
                s.inner_groups,
                s.svr_rows
                    .map_or_else(String::new, |n| format!("; SVRs on a sample of {n} rows"))
            ),
            s.note.as_deref().map_or_else(String::new, cell),
        ]
    };
    let mut rows: Vec<Vec<String>> = v
        .folds
        .iter()
        .filter_map(|f| {
            f.selection
                .as_ref()
                .map(|s| row(format!("fold {}", f.fold), s))
        })
        .collect();
    if let Some(s) = ship {
        rows.push(row("ship model".into(), s));
    }
    table(
        o,
        &[
            "fit",
            "head asked",
            "chosen",
            "inner RMSE",
            "inner CV",
            "note",
        ],
        &rows,
    );
    if let Some(s) = ship {
        let rows: Vec<Vec<String>> = s
            .table
            .iter()
            .map(|c| {
                let members: Vec<String> = c.members.iter().map(|m| md_code(m)).collect();
                vec![
                    if members.is_empty() {
                        md_code(&c.name)
                    } else {
                        format!("{}: the mean of {}", md_code(&c.name), members.join(", "))
                    },
                    f4(c.rmse),
                    f4(c.plcc),
                    f4(c.srocc),
                    c.error.as_deref().map_or_else(String::new, cell),
                ]
            })
            .collect();
        o.push_str("The ship model's inner-CV table (every fold's is in the manifest):\n\n");
        table(
            o,
            &[
                "candidate",
                "inner RMSE",
                "inner PLCC",
                "inner SROCC",
                "error",
            ],
            &rows,
        );
    }
}

pub(super) fn pooled_row(name: &str, m: &Metrics) -> Vec<String> {
    vec![
        name.to_owned(),
        f4(m.plcc),
        f4(m.plcc_mapped),
        f4(m.srocc),
        f4(m.krocc),
        f4(m.rmse),
    ]
}

pub(super) fn baseline_row(name: &str, a: &Aggregate) -> Vec<String> {
    vec![
        name.to_owned(),
        f4(a.mean.plcc),
        f4(a.mean.plcc_mapped),
        f4(a.mean.srocc),
        f4(a.mean.rmse),
        f4(a.plcc_spread),
    ]
}
