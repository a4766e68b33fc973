//! The model card `<id>_card.md`, generated from the manifest.
//!
//! Every figure in the card is read from the [`Manifest`] (metrics printed
//! to 4 decimals), so the card cannot say anything the manifest does not.
//! The intended-use text and its limits are the adapter's own (its
//! descriptor's `card`, recorded in the manifest), else built from its
//! recorded description.

use std::fmt::Write as _;

use super::{has_predictions, Names, EXPORT_ONNX};
use crate::evaluation::{Aggregate, MetricSet, Metrics};
use crate::manifest::Manifest;

/// A metric to 4 decimals, `–` when undefined.
pub fn f4(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "–".into(),
    }
}

/// `Accepted` when the gate passed, else `Proposed`.
pub fn status(m: &Manifest) -> &'static str {
    if m.gate.passed {
        "Accepted"
    } else {
        "Proposed"
    }
}

/// Markdown table from a header and rows (cells must not contain `|`).
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Intended use and limits for the manifest's adapter.
fn intended_use(m: &Manifest) -> (String, Vec<String>) {
    let schema = &m.feature_schema;
    let (usage, mut limits) = match &m.adapter.card {
        Some(card) => card.for_schema(schema),
        None => (
            format!(
                "Predicts the subjective MOS (1-5) of the corpus the `{}` adapter \
                 describes{}, from the objective features of the `{schema}` schema.",
                m.adapter.name,
                if m.adapter.description.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", m.adapter.description.trim_end_matches('.'))
                }
            ),
            vec![
                "Valid only for content like that corpus's; anything else is extrapolation.".into(),
            ],
        ),
    };
    limits.push(format!(
        "Inputs must be the {} features of `{schema}`, computed as the adapter defines them, \
         in the manifest's `feature_order`; the output is bounded to 1-5.",
        m.feature_order.len()
    ));
    if m.data.synthetic {
        limits.push(
            "Trained and validated on synthetic rows: a smoke-test model with no claim about \
             real video quality."
                .into(),
        );
    }
    if !m.gate.passed {
        limits.push(format!(
            "The {} gate was missed: this head is a proposal, not accepted for use.",
            m.gate.kind
        ));
    }
    (usage, limits)
}

fn metric_row(label: String, s: &MetricSet) -> Vec<String> {
    vec![
        label,
        f4(s.plcc),
        f4(s.plcc_mapped),
        f4(s.srocc),
        f4(s.krocc),
        f4(s.rmse),
    ]
}

fn fold_row(
    f: &crate::evaluation::protocol::FoldResult,
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
        cell(&f.solve.termination)
    ));
    r
}

/// The model-selection section: every fold's choice and the ship model's
/// inner-CV table (absent when no head was chosen by inner CV).
fn selection_section(o: &mut String, m: &Manifest) {
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
            s.requested.clone(),
            format!("`{}`", s.chosen),
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
                let members: Vec<String> = c.members.iter().map(|m| format!("`{m}`")).collect();
                vec![
                    if members.is_empty() {
                        format!("`{}`", c.name)
                    } else {
                        format!("`{}`: the mean of {}", c.name, members.join(", "))
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

fn pooled_row(name: &str, m: &Metrics) -> Vec<String> {
    vec![
        name.to_owned(),
        f4(m.plcc),
        f4(m.plcc_mapped),
        f4(m.srocc),
        f4(m.krocc),
        f4(m.rmse),
    ]
}

fn baseline_row(name: &str, a: &Aggregate) -> Vec<String> {
    vec![
        name.to_owned(),
        f4(a.mean.plcc),
        f4(a.mean.plcc_mapped),
        f4(a.mean.srocc),
        f4(a.mean.rmse),
        f4(a.plcc_spread),
    ]
}

/// The card's Markdown.
pub fn render(m: &Manifest) -> String {
    let names = Names::new(&m.id);
    let mut o = String::new();
    let v = &m.validation;
    let g = &m.gate;
    let _ = writeln!(o, "# {} — model card\n", m.id);
    let _ = writeln!(o, "Status: {}\n", status(m));
    let _ = writeln!(
        o,
        "Gate ({}): {}. Generated by moshead {} from `{}`; every figure below is read \
         from that manifest (metrics to 4 decimals).\n",
        g.kind,
        if g.passed { "passed" } else { "missed" },
        m.host.version,
        names.manifest()
    );

    o.push_str("## Model\n\n");
    let onnx = m.exports.get(EXPORT_ONNX);
    let mut rows = vec![
        vec!["model id".into(), format!("`{}`", m.id)],
        vec![
            "adapter's model id".into(),
            format!("`{}`", m.adapter_model_id),
        ],
        vec![
            "head".into(),
            format!(
                "{}, weight decay {:e}, {} parameters",
                m.head.spec.summary(),
                m.head.spec.weight_decay,
                m.head.n_parameters
            ),
        ],
        vec![
            "output".into(),
            format!(
                "MOS on {}-{}, {}",
                m.mos_range[0],
                m.mos_range[1],
                if m.head.spec.kind.is_gradient() {
                    "`1 + 4 * sigmoid(z)`"
                } else {
                    "`z` clipped to the range"
                }
            ),
        ],
    ];
    match onnx {
        Some(r) => {
            rows.push(vec!["ONNX".into(), format!("[`{0}`]({0})", r.path)]);
            rows.push(vec!["ONNX sha256".into(), format!("`{}`", r.sha256)]);
        }
        None => rows.push(vec!["ONNX".into(), "not exported".into()]),
    }
    let vmaf = match (
        m.exports.get(super::vmaf::EXPORT_VMAF),
        super::vmaf::check(m),
    ) {
        (Some(r), _) => format!(
            "[`{0}`]({0}), sha256 `{1}`: `vmaf --model path={0}`",
            r.path, r.sha256
        ),
        (None, Err(why)) => format!("not exported: {why}"),
        (None, Ok(_)) => "not exported".into(),
    };
    rows.push(vec!["libvmaf model".into(), vmaf]);
    rows.push(vec![
        "ONNX contract".into(),
        format!(
            "opset {}; inputs `{}` float32 [batch, {}] (raw features), `{}` float32 [batch, 1] \
             (accepted, weighted zero); output `{}` float32 [batch]; standardisation in the graph",
            super::onnx::OPSET,
            super::onnx::INPUT_FEATURES,
            m.feature_order.len(),
            super::onnx::INPUT_ONEHOT,
            super::onnx::OUTPUT_MOS
        ),
    ]);
    table(&mut o, &["", ""], &rows);

    o.push_str("## Corpus and schema\n\n");
    let a = &m.adapter;
    let _ = writeln!(
        o,
        "Adapter `{}` {} (sdk API {}), library sha256 `{}`.{}\n",
        a.name,
        a.version,
        a.api_version,
        a.sha256,
        if a.description.is_empty() {
            String::new()
        } else {
            format!(" {}.", a.description.trim_end_matches('.'))
        }
    );
    let _ = writeln!(
        o,
        "Feature schema `{}`, {} features in model order: {}.\n",
        m.feature_schema,
        m.feature_order.len(),
        m.feature_order
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    o.push_str("## Data\n\n");
    let d = &m.data;
    table(
        &mut o,
        &[
            "rows",
            "dropped",
            "content groups",
            "synthetic",
            "reference rows kept",
        ],
        &[vec![
            d.rows.to_string(),
            d.dropped.to_string(),
            d.groups.to_string(),
            if d.synthetic { "yes" } else { "no" }.into(),
            if d.include_references { "yes" } else { "no" }.into(),
        ]],
    );
    if !d.drops.is_empty() {
        let rows: Vec<Vec<String>> = d
            .drops
            .iter()
            .map(|(k, n)| vec![format!("`{k}`"), n.to_string()])
            .collect();
        table(&mut o, &["drop reason", "rows"], &rows);
    }
    if !d.splits.is_empty() {
        let rows: Vec<Vec<String>> = d
            .splits
            .iter()
            .map(|(k, n)| vec![format!("`{k}`"), n.to_string()])
            .collect();
        table(&mut o, &["split", "rows"], &rows);
    }
    let rows: Vec<Vec<String>> = d
        .inputs
        .iter()
        .map(|i| {
            vec![
                format!("`{}`", i.slot),
                format!("`{}`", cell(&i.path)),
                i.rows.to_string(),
                i.lines.to_string(),
                format!("`{}`", i.sha256),
            ]
        })
        .collect();
    table(&mut o, &["slot", "input", "rows", "lines", "sha256"], &rows);
    let scales: Vec<Vec<String>> = d
        .mos_scales
        .iter()
        .map(|(slot, s)| {
            vec![
                format!("`{slot}`"),
                format!("`{}`", s.native_key),
                format!("{}-{}", s.native_min, s.native_max),
                format!("{} + {} x", s.to_head_offset, s.to_head_scale),
            ]
        })
        .collect();
    if !scales.is_empty() {
        table(
            &mut o,
            &["slot", "native MOS key", "native scale", "to 1-5"],
            &scales,
        );
    }
    let filled: Vec<Vec<String>> = d
        .filled
        .iter()
        .filter(|f| f.filled > 0)
        .map(|f| vec![format!("`{}`", f.column), f.filled.to_string()])
        .collect();
    if filled.is_empty() {
        o.push_str("No feature value was filled: every row had every column.\n\n");
    } else {
        o.push_str("Missing or non-finite feature values were filled with 0.0:\n\n");
        table(&mut o, &["feature column", "rows filled"], &filled);
    }

    o.push_str("## Validation\n\n");
    let _ = writeln!(
        o,
        "Policy `{}` ({} fold(s), content-disjoint), seed {}. The ship model was trained on \
         {}.\n",
        v.name,
        v.folds.len(),
        v.policy.seed,
        m.training.describe()
    );
    let outliers = v.folds.iter().any(|f| f.head.outlier_ratio.is_some());
    let mut header = vec![
        "fold",
        "train",
        "eval",
        "groups train/eval",
        "PLCC",
        "PLCC (mapped)",
        "SROCC",
        "KROCC",
        "RMSE",
    ];
    if outliers {
        header.push("outlier ratio");
    }
    header.extend(["logistic", "solve"]);
    let rows: Vec<Vec<String>> = v
        .folds
        .iter()
        .map(|f| fold_row(f, &f.head, outliers))
        .collect();
    table(&mut o, &header, &rows);
    let ag = &v.aggregate;
    table(
        &mut o,
        &[
            "over folds",
            "PLCC",
            "PLCC (mapped)",
            "SROCC",
            "KROCC",
            "RMSE",
        ],
        &[
            metric_row("mean".into(), &ag.mean),
            metric_row("median".into(), &ag.median),
            metric_row("SD".into(), &ag.sd),
            metric_row("min".into(), &ag.min),
            metric_row("max".into(), &ag.max),
        ],
    );
    let _ = writeln!(
        o,
        "PLCC spread (max - min over folds): {}. PLCC (mapped) is after the VQEG \
         4-parameter logistic fitted on each fold's own predictions (optimistic by \
         construction); PLCC and RMSE are of the raw predictions, as deployed.\n",
        f4(ag.plcc_spread)
    );
    if let Some(p) = &v.pooled {
        let mut rows = vec![pooled_row(
            &format!("**{} head**", m.head.spec.kind.as_str()),
            &p.head,
        )];
        rows.extend(p.baselines.iter().map(|(n, b)| pooled_row(n, b)));
        table(
            &mut o,
            &[
                "pooled out-of-fold",
                "PLCC",
                "PLCC (mapped)",
                "SROCC",
                "KROCC",
                "RMSE",
            ],
            &rows,
        );
        let _ = writeln!(
            o,
            "Pooled: the {} out-of-fold predictions of all folds scored together (how \
             leave-one-content-out results are published){}.\n",
            p.n,
            if p.each_row_once {
                "; every row is predicted once, by the fold that held it out"
            } else {
                "; a row counts once per split that held it out"
            }
        );
    }

    selection_section(&mut o, m);

    o.push_str("## Baselines\n\n");
    let mut rows = vec![baseline_row(
        &format!("**{} head**", m.head.spec.kind.as_str()),
        ag,
    )];
    rows.extend(v.baselines.iter().map(|(n, a)| baseline_row(n, a)));
    table(
        &mut o,
        &[
            "model",
            "mean PLCC",
            "mean PLCC (mapped)",
            "mean SROCC",
            "mean RMSE",
            "PLCC spread",
        ],
        &rows,
    );
    o.push_str(
        "Baselines are fitted on the same folds: `mean` predicts the training mean MOS, \
         `linear` is the bounded linear head, others are the adapter's group baseline.\n\n",
    );

    o.push_str("## Gate\n\n");
    let rows: Vec<Vec<String>> = g
        .checks
        .iter()
        .map(|c| {
            vec![
                format!("`{}`", c.metric),
                f4(c.value),
                cell(&c.rule),
                match c.passed {
                    Some(true) => "pass".into(),
                    Some(false) => "**miss**".into(),
                    None => "n/a".into(),
                },
            ]
        })
        .collect();
    table(&mut o, &["metric", "value", "rule", "result"], &rows);
    let _ = writeln!(
        o,
        "Verdict: the {} gate was **{}**, so the status is {}.\n",
        g.kind,
        if g.passed { "passed" } else { "missed" },
        status(m)
    );

    o.push_str("## Intended use and limits\n\n");
    let (usage, limits) = intended_use(m);
    let _ = writeln!(o, "{usage}\n");
    for l in limits {
        let _ = writeln!(o, "- {l}");
    }
    o.push('\n');

    o.push_str("## Licence\n\n");
    if a.licence.is_empty() {
        o.push_str("The manifest records no licence note for this corpus: check the corpus's own terms before using or sharing the model.\n\n");
    } else {
        let _ = writeln!(o, "The `{}` adapter declares: {}\n", a.name, a.licence);
    }

    o.push_str("## Plots\n\n");
    if has_predictions(m) {
        let _ = writeln!(
            o,
            "Predicted vs MOS per validation fold, with the fitted logistic:\n\n![predicted vs MOS]({})\n",
            names.scatter_plot()
        );
    } else {
        o.push_str(
            "No validation predictions were available, so there is no predicted-vs-MOS plot.\n\n",
        );
    }
    let _ = writeln!(
        o,
        "Solver loss per iteration (training objective and monitor MSE; ship model and each fold):\n\n![solver loss]({})\n",
        names.loss_plot()
    );

    o.push_str("## Reproduce\n\n");
    let _ = writeln!(
        o,
        "```sh\n{}\n```",
        m.command_line
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    o
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%^".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_quoting() {
        assert_eq!(f4(Some(0.123456)), "0.1235");
        assert_eq!(f4(None), "–");
        assert_eq!(f4(Some(f64::NAN)), "–");
        assert_eq!(shell_quote("konvid@^1.2"), "konvid@^1.2");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let mut t = String::new();
        table(&mut t, &["a", "b"], &[vec!["1".into(), "2".into()]]);
        assert_eq!(t, "| a | b |\n|---|---|\n| 1 | 2 |\n\n");
    }
}
