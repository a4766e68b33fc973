//! The model card `<id>_card.md`, generated from the manifest.
//!
//! Every figure in the card is read from the [`Manifest`] (metrics printed
//! to 4 decimals), so the card cannot say anything the manifest does not.
//! The intended-use text and its limits are the adapter's own (its
//! descriptor's `card`, recorded in the manifest), else built from its
//! recorded description.

use std::fmt::Write as _;

use super::escape::{md_code, md_fence, md_text};
use super::{Export, ExportError, Names, SetContext, Written};
use crate::evaluation::gate::GateOutcome;
use crate::manifest::Manifest;
use crate::training::ResolvedSpec;

mod notes;
mod tables;
pub(crate) use notes::lines as note_lines;
use tables::{baseline_row, cell, fold_row, metric_row, pooled_row, selection_section, table};

/// A metric to 4 decimals, `–` when undefined.
pub fn f4(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "–".into(),
    }
}

/// The card's limit for a head no gate judged.
pub const NO_GATE_LIMIT: &str = "The adapter declares no gate: no threshold accepted or refused \
     this head; judge it by the validation figures and their intervals before use.";

/// `Accepted` when the gate passed, `Proposed` when it was missed, `No gate
/// declared` when the adapter declares none.
pub fn status(m: &Manifest) -> &'static str {
    match m.gate.outcome() {
        GateOutcome::Passed => "Accepted",
        GateOutcome::Missed => "Proposed",
        GateOutcome::NotDeclared => "No gate declared",
    }
}

/// Intended use and limits for the manifest's adapter.
fn intended_use(m: &Manifest) -> (String, Vec<String>) {
    let schema = &m.feature_schema;
    let (usage, mut limits) = match &m.adapter.card {
        // The adapter's own text (from the manifest) is prose: escaped.
        Some(card) => {
            let (usage, limits) = card.for_schema(schema);
            (md_text(&usage), limits.iter().map(|l| md_text(l)).collect())
        }
        None => (
            format!(
                "Predicts the subjective MOS (1-5) of the corpus the {} adapter \
                 describes{}, from the objective features of the {} schema.",
                md_code(&m.adapter.name),
                if m.adapter.description.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        md_text(m.adapter.description.trim_end_matches('.'))
                    )
                },
                md_code(schema)
            ),
            vec![
                "Valid only for content like that corpus's; anything else is extrapolation.".into(),
            ],
        ),
    };
    limits.push(format!(
        "Inputs must be the {} features of {}, computed as the adapter defines them, \
         in the manifest's `feature_order`; the output is bounded to 1-5.",
        m.feature_order.len(),
        md_code(schema)
    ));
    if m.data.synthetic {
        limits.push(
            "Trained and validated on synthetic rows: a smoke-test model with no claim about \
             real video quality."
                .into(),
        );
    }
    match m.gate.outcome() {
        GateOutcome::Passed => {}
        GateOutcome::Missed => limits.push(format!(
            "The {} gate was missed: this head is a proposal, not accepted for use.",
            m.gate.kind
        )),
        GateOutcome::NotDeclared => limits.push(NO_GATE_LIMIT.into()),
    }
    (usage, limits)
}

/// The model card `<id>_card.md` as an export of the set (always written,
/// after the files it describes).
#[derive(Debug, Clone, Copy)]
pub struct Card;

impl Export for Card {
    fn role(&self) -> &'static str {
        "card"
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_card.md")
    }
    fn what(&self) -> &'static str {
        "the model card"
    }
    fn write(&self, cx: &SetContext<'_>) -> Result<Written, ExportError> {
        // Every plot of the set that was drawn (the exports with a caption).
        let plots: Vec<&'static str> = super::EXPORTS
            .iter()
            .filter(|e| e.caption().is_some() && cx.written(e.role()).is_some())
            .map(|e| e.role())
            .collect();
        Ok(Written::Bytes(render(cx.manifest, &plots).into_bytes()))
    }
}

/// The card's Markdown, section by section; `plots` are the roles of the
/// plots drawn beside it.
pub fn render(m: &Manifest, plots: &[&str]) -> String {
    let mut o = String::new();
    let sections: [fn(&mut String, &Manifest); 11] = [
        header,
        model,
        corpus,
        data,
        inputs,
        validation,
        selection_section,
        baselines,
        gate,
        intended,
        licence,
    ];
    for section in sections {
        section(&mut o, m);
    }
    plots_section(&mut o, m, plots);
    reproduce(&mut o, m);
    o
}

/// The title, status and gate line, and the notes.
fn header(o: &mut String, m: &Manifest) {
    let names = Names::new(&m.id);
    let g = &m.gate;
    let _ = writeln!(o, "# {} — model card\n", md_text(&m.id));
    let _ = writeln!(o, "Status: {}\n", status(m));
    let _ = writeln!(
        o,
        "Gate ({}): {}. Generated by moshead {} from `{}`; every figure below is read \
         from that manifest (metrics to 4 decimals).\n",
        g.kind,
        g.outcome(),
        m.host.version,
        names.manifest()
    );

    notes::section(o, m);
}

/// The `## Model` section: the ids, the head, its output and every export's rows.
fn model(o: &mut String, m: &Manifest) {
    o.push_str("## Model\n\n");
    let mut rows = vec![
        vec!["model id".into(), md_code(&m.id)],
        vec!["adapter's model id".into(), md_code(&m.adapter_model_id)],
        vec![
            "head".into(),
            format!(
                "{}, weight decay {:e}, {} parameters",
                ResolvedSpec::from(&m.head.spec).summary(),
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
    for e in super::EXPORTS {
        rows.extend(e.card_rows(m).into_iter().map(Vec::from));
    }
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
    table(o, &["", ""], &rows);
}

/// The `## Corpus and schema` section: the adapter and the features in model order.
fn corpus(o: &mut String, m: &Manifest) {
    o.push_str("## Corpus and schema\n\n");
    let a = &m.adapter;
    let _ = writeln!(
        o,
        "Adapter {} {} (sdk API {}), library sha256 {}.{}\n",
        md_code(&a.name),
        md_text(&a.version),
        md_text(&a.api_version),
        md_code(&a.sha256),
        if a.description.is_empty() {
            String::new()
        } else {
            format!(" {}.", md_text(a.description.trim_end_matches('.')))
        }
    );
    let _ = writeln!(
        o,
        "Feature schema {}, {} features in model order: {}.\n",
        md_code(&m.feature_schema),
        m.feature_order.len(),
        m.feature_order
            .iter()
            .map(|c| md_code(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The `## Data` section: rows, drops and splits (then [`inputs`]).
fn data(o: &mut String, m: &Manifest) {
    o.push_str("## Data\n\n");
    let d = &m.data;
    table(
        o,
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
            .map(|(k, n)| vec![md_code(k), n.to_string()])
            .collect();
        table(o, &["drop reason", "rows"], &rows);
    }
    if !d.splits.is_empty() {
        let rows: Vec<Vec<String>> = d
            .splits
            .iter()
            .map(|(k, n)| vec![md_code(k), n.to_string()])
            .collect();
        table(o, &["split", "rows"], &rows);
    }
}

/// The inputs table, the scales, the fills and the subjective models of
/// the `## Data` section.
fn inputs(o: &mut String, m: &Manifest) {
    let d = &m.data;
    let rows: Vec<Vec<String>> = d
        .inputs
        .iter()
        .map(|i| {
            vec![
                md_code(&i.slot),
                md_code(&i.path),
                i.rows.to_string(),
                i.lines.to_string(),
                md_code(&i.sha256),
            ]
        })
        .collect();
    table(o, &["slot", "input", "rows", "lines", "sha256"], &rows);
    let scales: Vec<Vec<String>> = d
        .mos_scales
        .iter()
        .map(|(slot, s)| {
            vec![
                md_code(slot),
                md_code(&s.native_key),
                format!("{}-{}", s.native_min, s.native_max),
                format!("{} + {} x", s.to_head_offset, s.to_head_scale),
            ]
        })
        .collect();
    if !scales.is_empty() {
        table(
            o,
            &["slot", "native MOS key", "native scale", "to 1-5"],
            &scales,
        );
    }
    let filled: Vec<Vec<String>> = d
        .filled
        .iter()
        .filter(|f| f.filled > 0)
        .map(|f| vec![md_code(&f.column), f.filled.to_string()])
        .collect();
    if filled.is_empty() {
        o.push_str("No feature value was filled: every row had every column.\n\n");
    } else {
        o.push_str("Missing or non-finite feature values were filled with 0.0:\n\n");
        table(o, &["feature column", "rows filled"], &filled);
    }

    for v in &d.subjective {
        let _ = writeln!(
            o,
            "The MOS of labels slot `{}` was recovered from raw votes with the `{}` subjective model \
             ({} of {} votes kept; {} clips, {} subjects).",
            v.slot, v.model, v.votes_kept, v.votes_read, v.clips, v.subjects
        );
        if let Some(r) = v.differential {
            let _ = writeln!(o, "{}.", crate::corpus::labels::dmos_sentence(r));
        }
        if let Some([_, med, _, max]) = v.ci95_width {
            let _ = writeln!(
                o,
                "Per-clip CI95 width: median {}, largest {}.",
                f4(Some(med)),
                f4(Some(max))
            );
        }
        for (who, why) in &v.rejected {
            let _ = writeln!(o, "Subject `{who}` rejected: {why}.");
        }
        o.push('\n');
    }
}

/// The `## Validation` section: the policy, the folds and their aggregate.
fn validation(o: &mut String, m: &Manifest) {
    let v = &m.validation;
    o.push_str("## Validation\n\n");
    let _ = writeln!(
        o,
        "Policy {} ({} fold(s), content-disjoint), seed {}. The ship model was trained on \
         {}.\n",
        md_code(&v.name),
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
    table(o, &header, &rows);
    let ag = &v.aggregate;
    table(
        o,
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
        pooled(o, m, p);
    }
}

/// The `## Baselines` section: the head beside every baseline, over folds.
fn baselines(o: &mut String, m: &Manifest) {
    let v = &m.validation;
    let ag = &m.validation.aggregate;
    o.push_str("## Baselines\n\n");
    let mut rows = vec![baseline_row(
        &format!("**{} head**", m.head.spec.kind.as_str()),
        ag,
    )];
    rows.extend(v.baselines.iter().map(|(n, a)| baseline_row(&cell(n), a)));
    table(
        o,
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
}

/// The `## Gate` section: each criterion and the verdict.
fn gate(o: &mut String, m: &Manifest) {
    let g = &m.gate;
    o.push_str("## Gate\n\n");
    let rows: Vec<Vec<String>> = g
        .checks
        .iter()
        .map(|c| {
            vec![
                md_code(&c.metric),
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
    if g.declared {
        table(o, &["metric", "value", "rule", "result"], &rows);
        let _ = writeln!(
            o,
            "Verdict: the {} gate was **{}**, so the status is {}.\n",
            g.kind,
            g.outcome(),
            status(m)
        );
    } else {
        let _ = writeln!(
            o,
            "Verdict: **no gate declared**: the adapter names no threshold for {} rows, so \
             nothing accepted or refused this head.\n",
            g.kind
        );
    }
}

/// The `## Intended use and limits` section.
fn intended(o: &mut String, m: &Manifest) {
    o.push_str("## Intended use and limits\n\n");
    let (usage, limits) = intended_use(m);
    let _ = writeln!(o, "{usage}\n");
    for l in limits {
        let _ = writeln!(o, "- {l}");
    }
    o.push('\n');
}

/// The `## Licence` section: the corpus's.
fn licence(o: &mut String, m: &Manifest) {
    let a = &m.adapter;
    o.push_str("## Licence\n\n");
    if a.licence.is_empty() {
        o.push_str("The manifest records no licence note for this corpus: check the corpus's own terms before using or sharing the model.\n\n");
    } else {
        let _ = writeln!(
            o,
            "The {} adapter declares: {}\n",
            md_code(&a.name),
            md_text(&a.licence)
        );
    }
}

/// The `## Plots` section: the plots written, or why not, and the report.
fn plots_section(o: &mut String, m: &Manifest, plots: &[&str]) {
    let names = Names::new(&m.id);
    o.push_str("## Plots\n\n");
    for e in super::EXPORTS {
        if let (Some(caption), true) = (e.caption(), plots.contains(&e.role())) {
            let _ = writeln!(
                o,
                "{caption}\n\n![{}]({})\n",
                e.what(),
                names.by_role(e.role())
            );
        }
    }
    if !plots.contains(&"validation_plot") {
        o.push_str(
            "No validation predictions were available, so there is no predicted-vs-MOS plot.\n\n",
        );
    }
    if !plots.contains(&"loss_plot") {
        o.push_str(if plots.contains(&"selection_plot") {
            "No solve iterated (a closed-form or SMO head), so there is no loss plot; the \
             selection plot shows what was chosen instead.\n\n"
        } else {
            "No solve iterated (a closed-form or SMO head), so there is no loss plot.\n\n"
        });
    }
    let _ = writeln!(
        o,
        "Everything on one page, with the plots inline: [`{0}`]({0}).\n",
        names.by_role("report")
    );
}

/// The `## Reproduce` section: the command line.
fn reproduce(o: &mut String, m: &Manifest) {
    o.push_str("## Reproduce\n\n");
    let _ = writeln!(o, "{}", md_fence("sh", &command(m)));
}

/// The pooled out-of-fold figures of the `## Validation` section, with
/// their intervals.
fn pooled(o: &mut String, m: &Manifest, p: &crate::validation::oof::Pooled) {
    let mut rows = vec![pooled_row(
        &format!("**{} head**", m.head.spec.kind.as_str()),
        &p.head,
    )];
    rows.extend(p.baselines.iter().map(|(n, b)| pooled_row(&cell(n), b)));
    table(
        o,
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
    if let Some(ci) = &p.intervals {
        let _ = writeln!(
            o,
            "The head's pooled {}. The bootstrap draws whole contents, so clips of one \
             source never count as independent evidence; the Fisher-z interval treats \
             rows as independent and is narrower where contents repeat.\n",
            ci.describe()
        );
    }
    for (name, ci) in &p.baseline_intervals {
        let _ = writeln!(
            o,
            "Baseline `{name}`, pooled, 95% CI from the same resamples: {}.\n",
            ci.brief()
        );
    }
    if let Some(line) = p.head.p1401_line() {
        let _ = writeln!(o, "The head's pooled {line}.\n");
    }
    if let Some(pi) = &m.prediction_intervals {
        let _ = writeln!(
            o,
            "`moshead predict` writes {} (`lo`, `hi`; `lo_native`, `hi_native`).\n",
            pi.describe()
        );
    }
}

/// The run's command line, shell-quoted (the card's and the report's
/// reproduce line).
pub(crate) fn command(m: &Manifest) -> String {
    m.command_line
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
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

    /// Every string a manifest carries reaches the card escaped: a hostile
    /// manifest injects no HTML, no line and no table cell.
    #[test]
    fn manifest_strings_cannot_inject_markup() {
        const V1_RIDGE: &str =
            include_str!("../../../../tests/data/manifests-v1/ridge/v1_ridge.json");
        let mut m = Manifest::parse(std::path::Path::new("v1.json"), V1_RIDGE).unwrap();
        let evil = "<script>alert(1)</script>|\n# owned `x`\n```";
        m.adapter.description = evil.into();
        m.adapter.licence = evil.into();
        m.adapter.version = evil.into();
        m.adapter.name = evil.into();
        m.adapter_model_id = evil.into();
        m.feature_schema = evil.into();
        m.validation.name = evil.into();
        m.feature_order = vec![evil.into(); m.feature_order.len()];
        m.command_line = vec!["moshead".into(), evil.into()];
        let card = render(&m, &[]);
        // The one fenced block (the command line, literal) is closed only
        // at its end; outside it no `<` is left and no line was injected.
        let fences: Vec<&str> = card.lines().filter(|l| l.starts_with("````")).collect();
        assert_eq!(fences, ["````sh", "````"], "{card}");
        let (before, rest) = card.split_once("````sh\n").unwrap();
        let after = rest.split_once("\n````").unwrap().1;
        for part in [before, after] {
            assert!(!part.contains('<'), "{card}");
            assert!(!part.lines().any(|l| l.starts_with("# owned")), "{card}");
        }
        assert_eq!(before.lines().filter(|l| l.starts_with("# ")).count(), 1);
    }
}
