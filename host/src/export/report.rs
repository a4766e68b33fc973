//! `<id>_report.html`: the run in one self-contained file a team opens in a
//! browser: the card's notes, the plots (inline SVG), fold and pooled
//! metrics, baselines, the selection tables, data accounting, provenance and
//! the reproduce line. Inline CSS, no script, nothing fetched.
//!
//! Every string that comes from the manifest (an adapter's description, a
//! column name, a path, the command line) goes through
//! [`super::escape::html`], the helper the card's escaping shares: a
//! hostile manifest cannot inject markup.

use std::fmt::Write as _;

use crate::evaluation::intervals::{Interval, MetricIntervals};
use crate::evaluation::native::NativeRmse;
use crate::evaluation::{MetricSet, Metrics};
use crate::manifest::Manifest;

use super::escape::html as esc;

/// A card note (Markdown with `**bold**` and `` `code` ``) as HTML: escaped
/// first, then the two marks turned into elements.
fn note_html(text: &str) -> String {
    let e = esc(text);
    let mut out = String::new();
    let (mut bold, mut code) = (false, false);
    let mut chars = e.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') && !code => {
                chars.next();
                out.push_str(if bold { "</strong>" } else { "<strong>" });
                bold = !bold;
            }
            '`' => {
                out.push_str(if code { "</code>" } else { "<code>" });
                code = !code;
            }
            c => out.push(c),
        }
    }
    if code {
        out.push_str("</code>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

fn f4(v: Option<f64>) -> String {
    super::card::f4(v)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;\
max-width:1100px;padding:0 1rem;color:#1b1b1b;line-height:1.45}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;\
padding-bottom:.2rem;margin-top:2rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}\
th,td{border:1px solid #d0d0d0;padding:.25rem .5rem;text-align:right}th{background:#f2f2f2}\
td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:0 .2rem}\
.status{font-size:1.05rem}.pass{color:#176b1f;font-weight:bold}.miss{color:#a3160f;font-weight:bold}\
.notes li{margin:.3rem 0}figure{margin:1rem 0}figure svg{max-width:100%;height:auto;\
border:1px solid #e0e0e0}figcaption{font-size:.9rem;color:#444}pre{background:#f4f4f4;padding:.6rem;\
overflow-x:auto;white-space:pre-wrap;word-break:break-all}";

/// Writes a table; every cell is already HTML.
fn table(o: &mut String, header: &[&str], rows: &[Vec<String>]) {
    o.push_str("<table><thead><tr>");
    for h in header {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for c in r {
            let _ = write!(o, "<td>{c}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>\n");
}

fn metrics_cells(m: &Metrics) -> Vec<String> {
    vec![
        f4(m.plcc),
        f4(m.plcc_mapped),
        f4(m.srocc),
        f4(m.krocc),
        f4(m.rmse),
    ]
}

fn set_cells(s: &MetricSet) -> Vec<String> {
    vec![
        f4(s.plcc),
        f4(s.plcc_mapped),
        f4(s.srocc),
        f4(s.krocc),
        f4(s.rmse),
    ]
}

/// The rows of a head-against-baselines table for [`metric_table`]: the
/// head first (in bold), then each baseline by name; `row` gives a
/// figure's cells and its head-scale RMSE.
fn head_and_baselines<'a, T: 'a>(
    head: &str,
    own: &T,
    baselines: impl IntoIterator<Item = (&'a String, &'a T)>,
    row: impl Fn(&T) -> (Vec<String>, Option<f64>),
) -> Vec<(String, Vec<String>, Option<f64>)> {
    let (cells, rmse) = row(own);
    let mut rows = vec![(format!("<strong>{} head</strong>", esc(head)), cells, rmse)];
    rows.extend(baselines.into_iter().map(|(name, b)| {
        let (cells, rmse) = row(b);
        (esc(name), cells, rmse)
    }));
    rows
}

/// A table of metric rows `(label, cells, head-scale RMSE)`, with the RMSE
/// on the native scale of `native`'s slot as a last column.
fn metric_table(
    o: &mut String,
    first: &str,
    native: Option<(&String, &NativeRmse)>,
    rows: Vec<(String, Vec<String>, Option<f64>)>,
) {
    let native_head = native.map(|(slot, n)| format!("RMSE ({} {})", slot, n.range()));
    let mut header = vec![first, "PLCC", "PLCC (mapped)", "SROCC", "KROCC", "RMSE"];
    if let Some(h) = &native_head {
        header.push(h.as_str());
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(label, cells, rmse)| {
            let mut r = vec![label];
            r.extend(cells);
            if let Some((_, n)) = native {
                r.push(n.show(n.of(rmse)));
            }
            r
        })
        .collect();
    table(o, &header, &rows);
}

/// The 95% intervals of the head's and each baseline's pooled metrics (one
/// table, the head first), the head's P.1401 figures and the prediction
/// intervals `predict` writes.
fn intervals_section(o: &mut String, m: &Manifest, p: &crate::validation::oof::Pooled, head: &str) {
    let Some(ci) = &p.intervals else {
        return;
    };
    let i = |v: Option<Interval>| {
        v.map_or_else(
            || "undefined".to_owned(),
            |v| format!("[{:.4}, {:.4}]", v.lo, v.hi),
        )
    };
    // One native scale: every row's RMSE interval in its units, at a
    // precision that fits it.
    let native = m.validation.single_native();
    let row = |label: String, c: &MetricIntervals| {
        let native = match (native, c.rmse) {
            (Some(n), Some(r)) => format!(
                "[{}, {}]",
                n.show(n.of(Some(r.lo))),
                n.show(n.of(Some(r.hi)))
            ),
            _ => "–".to_owned(),
        };
        vec![
            label,
            i(c.plcc),
            i(c.plcc_fisher_z),
            i(c.srocc),
            i(c.krocc),
            i(c.rmse),
            native,
        ]
    };
    let _ = writeln!(
        o,
        "<h3>95% confidence intervals</h3>\n<p>Cluster bootstrap over {} contents ({} \
         resamples, seed {}): whole contents are drawn, so clips of one source never count as \
         independent evidence; the Fisher-z interval treats rows as independent. Baselines
         from the same resamples; the native column is the RMSE interval in the corpus's units.</p>",
        ci.contents, ci.resamples, ci.seed
    );
    let mut rows = vec![row(format!("<strong>{} head</strong>", esc(head)), ci)];
    rows.extend(
        p.baseline_intervals
            .iter()
            .map(|(name, c)| row(esc(name), c)),
    );
    table(
        o,
        &[
            "pooled out-of-fold",
            "PLCC",
            "PLCC (Fisher z)",
            "SROCC",
            "KROCC",
            "RMSE",
            &native.map_or_else(
                || "RMSE (native)".to_owned(),
                |n| format!("RMSE ({})", n.range()),
            ),
        ],
        &rows,
    );
    if let Some(line) = p.head.p1401_line() {
        let _ = writeln!(o, "<p>The head's pooled {}.</p>", esc(&line));
    }
    if let Some(pi) = &m.prediction_intervals {
        let _ = writeln!(
            o,
            "<p><code>moshead predict</code> writes {} (<code>lo</code>, <code>hi</code>; \
             <code>lo_native</code>, <code>hi_native</code>).</p>",
            esc(&pi.describe())
        );
    }
}

/// An SVG document as an inline element (its XML prolog dropped).
fn inline_svg(svg: &str) -> &str {
    let start = svg.find("<svg").unwrap_or(0);
    &svg[start..]
}

/// The self-contained HTML report `<id>_report.html` as an export of the
/// set: every figure made before it ([`super::Export::caption`]) inline.
#[derive(Debug, Clone, Copy)]
pub struct Report;

impl super::Export for Report {
    fn role(&self) -> &'static str {
        "report"
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_report.html")
    }
    fn what(&self) -> &'static str {
        "the model's HTML report"
    }
    fn write(&self, cx: &super::SetContext<'_>) -> Result<super::Written, super::ExportError> {
        let mut inline: Vec<(&str, &str)> = Vec::new();
        for e in super::EXPORTS {
            let svg = cx
                .written(e.role())
                .and_then(|b| std::str::from_utf8(b).ok());
            if let (Some(caption), Some(svg)) = (e.caption(), svg) {
                inline.push((caption, svg));
            }
        }
        Ok(super::Written::Bytes(
            render(cx.manifest, &inline).into_bytes(),
        ))
    }
}

/// The report of `m`; `plots` are the SVG documents written beside it, with
/// a caption each.
pub fn render(m: &Manifest, plots: &[(&str, &str)]) -> String {
    let v = &m.validation;
    let g = &m.gate;
    let head = m.head.spec.kind.as_str();
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — moshead report</title><style>{STYLE}</style></head><body>\n",
        esc(&m.id)
    );
    let _ = writeln!(o, "<h1>{} — training report</h1>", esc(&m.id));
    let _ = writeln!(
        o,
        "<p class=\"status\">{} head on <code>{}</code> {} ({}, {} features); {} rows, {} content \
         groups{}. Gate ({}): <span class=\"{}\">{}</span>.</p>",
        esc(head),
        esc(&m.adapter.name),
        esc(&m.adapter.version),
        esc(&m.feature_schema),
        m.feature_order.len(),
        m.data.rows,
        m.data.groups,
        if m.data.synthetic { ", synthetic" } else { "" },
        esc(g.kind.as_str()),
        match g.outcome() {
            crate::evaluation::gate::GateOutcome::Passed => "pass",
            crate::evaluation::gate::GateOutcome::Missed => "miss",
            crate::evaluation::gate::GateOutcome::NotDeclared => "none",
        },
        g.outcome()
    );

    let notes = super::card::note_lines(m);
    if !notes.is_empty() {
        o.push_str("<h2>Before you use it</h2>\n<ul class=\"notes\">");
        for n in &notes {
            let _ = write!(o, "<li>{}</li>", note_html(n));
        }
        o.push_str("</ul>\n");
    }

    if !plots.is_empty() {
        o.push_str("<h2>Plots</h2>\n");
        for (caption, svg) in plots {
            let _ = writeln!(
                o,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                inline_svg(svg),
                esc(caption)
            );
        }
    }

    o.push_str("<h2>Validation</h2>\n");
    let _ = writeln!(
        o,
        "<p>Policy <code>{}</code> ({} fold(s), content-disjoint), seed {}. The ship model was \
         trained on {}. Metrics on the head's 1-5 scale unless a column says otherwise.</p>",
        esc(&v.name),
        v.folds.len(),
        v.policy.seed,
        esc(&m.training.describe())
    );
    let native = (v.native_rmse.len() == 1)
        .then(|| v.native_rmse.iter().next())
        .flatten();
    let native_head = native.map(|(slot, n)| format!("RMSE ({} {})", slot, n.range()));
    let mut header = vec![
        "fold",
        "train",
        "eval",
        "PLCC",
        "PLCC (mapped)",
        "SROCC",
        "KROCC",
        "RMSE",
    ];
    if let Some(h) = &native_head {
        header.push(h.as_str());
    }
    header.push("solve");
    let rows: Vec<Vec<String>> = v
        .folds
        .iter()
        .map(|f| {
            let mut r = vec![
                f.fold.to_string(),
                f.n_train.to_string(),
                f.n_eval.to_string(),
            ];
            r.extend(metrics_cells(&f.head));
            if let Some((_, n)) = native {
                r.push(n.show(n.of(f.head.rmse)));
            }
            r.push(esc(&f.solve.termination.short()));
            r
        })
        .collect();
    table(&mut o, &header, &rows);
    let a = &v.aggregate;
    let rows = [
        ("mean", &a.mean),
        ("median", &a.median),
        ("SD", &a.sd),
        ("min", &a.min),
        ("max", &a.max),
    ]
    .into_iter()
    .map(|(label, s)| (label.to_owned(), set_cells(s), s.rmse))
    .collect();
    metric_table(&mut o, "over folds", native, rows);
    if let Some(p) = &v.pooled {
        let rows = head_and_baselines(head, &p.head, &p.baselines, |m| (metrics_cells(m), m.rmse));
        metric_table(&mut o, "pooled out-of-fold", native, rows);
        let _ = writeln!(
            o,
            "<p>Pooled: the {} out-of-fold predictions of all folds scored together{}.</p>",
            p.n,
            if p.each_row_once {
                "; every row predicted once, by the fold that held it out"
            } else {
                "; a row counts once per split that held it out"
            }
        );
        intervals_section(&mut o, m, p, head);
    }

    o.push_str("<h2>Baselines (mean over folds)</h2>\n");
    let baselines = v.baselines.iter().map(|(name, b)| (name, &b.mean));
    let rows = head_and_baselines(head, &a.mean, baselines, |s| (set_cells(s), s.rmse));
    metric_table(&mut o, "model", native, rows);

    let selections: Vec<(String, &crate::selection::SelectionRecord)> = v
        .folds
        .iter()
        .filter_map(|f| {
            f.selection
                .as_ref()
                .map(|s| (format!("fold {}", f.fold), s))
        })
        .chain(
            m.training
                .selection
                .as_ref()
                .map(|s| ("ship model".to_owned(), s)),
        )
        .collect();
    if !selections.is_empty() {
        o.push_str("<h2>Selection</h2>\n");
        if let Some((_, s)) = selections.first() {
            let _ = writeln!(o, "<p>Criterion: {}.</p>", esc(&s.criterion));
        }
        for (what, s) in &selections {
            let _ = writeln!(
                o,
                "<p><strong>{}</strong>: chose <code>{}</code> by {}-fold inner CV on {} rows of \
                 {} contents{}.</p>",
                esc(what),
                esc(&s.chosen),
                s.inner_folds,
                s.inner_rows,
                s.inner_groups,
                s.note
                    .as_ref()
                    .map_or_else(String::new, |n| format!(" ({})", esc(n)))
            );
            let rows: Vec<Vec<String>> = s
                .table
                .iter()
                .map(|c| {
                    let name = if c.name == s.chosen {
                        format!("<strong>{}</strong>", esc(&c.name))
                    } else {
                        esc(&c.name)
                    };
                    vec![
                        name,
                        f4(c.rmse),
                        f4(c.plcc),
                        f4(c.srocc),
                        c.error.as_deref().map_or_else(String::new, esc),
                    ]
                })
                .collect();
            table(
                &mut o,
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

    o.push_str("<h2>Gate</h2>\n");
    let rows: Vec<Vec<String>> = g
        .checks
        .iter()
        .map(|c| {
            vec![
                format!("<code>{}</code>", esc(&c.metric)),
                f4(c.value),
                esc(&c.rule),
                match c.passed {
                    Some(true) => "<span class=\"pass\">pass</span>".into(),
                    Some(false) => "<span class=\"miss\">miss</span>".into(),
                    None => "n/a".into(),
                },
            ]
        })
        .collect();
    if g.declared {
        table(&mut o, &["metric", "value", "rule", "result"], &rows);
    } else {
        o.push_str(
            "<p>No gate declared: the adapter names no threshold, so nothing accepted or \
             refused this head.</p>\n",
        );
    }

    o.push_str("<h2>Data</h2>\n");
    let d = &m.data;
    let _ = writeln!(
        o,
        "<p>{} rows projected, {} dropped, {} content groups{}.</p>",
        d.rows,
        d.dropped,
        d.groups,
        if d.include_references {
            ", reference rows kept"
        } else {
            ""
        }
    );
    if !d.drops.is_empty() {
        let rows: Vec<Vec<String>> = d
            .drops
            .iter()
            .map(|(k, n)| vec![format!("<code>{}</code>", esc(k)), n.to_string()])
            .collect();
        table(&mut o, &["drop reason", "rows"], &rows);
    }
    let rows: Vec<Vec<String>> = d
        .inputs
        .iter()
        .map(|i| {
            vec![
                esc(&i.slot),
                esc(&i.path),
                i.rows.to_string(),
                i.drops.values().sum::<u64>().to_string(),
                format!("<code>{}</code>", esc(&i.sha256)),
            ]
        })
        .collect();
    table(
        &mut o,
        &["slot", "input", "rows", "dropped", "sha256"],
        &rows,
    );
    let filled: Vec<Vec<String>> = d
        .filled
        .iter()
        .filter(|c| c.filled > 0)
        .map(|c| vec![esc(&c.column), c.filled.to_string()])
        .collect();
    if filled.is_empty() {
        o.push_str("<p>No feature value was filled: every row had every column.</p>\n");
    } else {
        o.push_str("<p>Missing or non-finite feature values filled with 0.0:</p>\n");
        table(&mut o, &["feature column", "rows filled"], &filled);
    }
    if !d.mos_scales.is_empty() {
        let rows: Vec<Vec<String>> = d
            .mos_scales
            .iter()
            .map(|(slot, s)| {
                vec![
                    esc(slot),
                    format!(
                        "{}-{}",
                        crate::evaluation::native::num(s.native_min),
                        crate::evaluation::native::num(s.native_max)
                    ),
                    format!(
                        "{} + {} × native",
                        crate::evaluation::native::num(s.to_head_offset),
                        crate::evaluation::native::num(s.to_head_scale)
                    ),
                ]
            })
            .collect();
        table(
            &mut o,
            &["slot", "native MOS scale", "head scale (1-5)"],
            &rows,
        );
    }

    o.push_str("<h2>Provenance</h2>\n");
    let mut rows = vec![
        vec!["moshead".into(), esc(&m.host.version)],
        vec![
            "adapter".into(),
            format!(
                "<code>{}</code> {} (API {}): {}",
                esc(&m.adapter.name),
                esc(&m.adapter.version),
                esc(&m.adapter.api_version),
                esc(&m.adapter.description)
            ),
        ],
        vec![
            "adapter library sha256".into(),
            format!("<code>{}</code>", esc(&m.adapter.sha256)),
        ],
        vec!["licence".into(), esc(&m.adapter.licence)],
        vec!["feature order".into(), esc(&m.feature_order.join(", "))],
    ];
    for (name, f) in &m.exports {
        rows.push(vec![
            esc(name),
            format!("{} (sha256 <code>{}</code>)", esc(&f.path), esc(&f.sha256)),
        ]);
    }
    table(&mut o, &["", ""], &rows);

    o.push_str("<h2>Reproduce</h2>\n");
    let _ = writeln!(
        o,
        "<pre><code>{}</code></pre>",
        esc(&super::card::command(m))
    );
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::{esc, note_html};

    #[test]
    fn markup_in_manifest_strings_is_text() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            note_html("**Warning**: `a<b>` is <i>"),
            "<strong>Warning</strong>: <code>a&lt;b&gt;</code> is &lt;i&gt;"
        );
        // An unbalanced mark is closed, never left open.
        assert_eq!(note_html("`x"), "<code>x</code>");
    }
}
