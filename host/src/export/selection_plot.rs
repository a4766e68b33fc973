//! `<id>_selection.svg`: what the model selection chose, as a plot. The
//! ship model's inner cross-validation table drawn as a dot plot: one row
//! per scored candidate, its pooled inner out-of-fold RMSE (the selection
//! criterion; on the corpus's native scale where it has one) as a dot, the
//! range of its inner folds' RMSE as a whisker, the chosen candidate in
//! red. Drawn whenever the ship model was chosen among two or more scored
//! candidates; for a closed-form or SMO head it is the plot that replaces
//! a loss plot with nothing to draw.

use plotters::prelude::*;

use super::plots::{padded_range, plot_err, FONT};
use super::ExportError;
use crate::manifest::Manifest;
use crate::selection::SelectionRecord;

/// The report's caption of the selection plot.
pub const CAPTION: &str = "Model selection: each candidate's inner cross-validation RMSE (dot: \
                           pooled inner out-of-fold, the criterion; whisker: the range over \
                           inner folds); the chosen candidate in red.";

/// The selection plot as an export of the set.
#[derive(Debug, Clone, Copy)]
pub struct SelectionPlot;

impl super::Export for SelectionPlot {
    fn role(&self) -> &'static str {
        "selection_plot"
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_selection.svg")
    }
    fn what(&self) -> &'static str {
        "the model's selection plot"
    }
    fn write(&self, cx: &super::SetContext<'_>) -> Result<super::Written, ExportError> {
        Ok(
            selection_svg(cx.manifest)?.map_or(super::Written::Skipped, |svg| {
                super::Written::Bytes(svg.into_bytes())
            }),
        )
    }
    fn caption(&self) -> Option<&'static str> {
        Some(CAPTION)
    }
}

/// One scored candidate: its name, pooled inner RMSE, the range of its
/// inner folds' RMSE.
type Row<'a> = (&'a str, f64, Option<(f64, f64)>);

/// The scored candidates of `s`, each RMSE times `k` (native units per
/// head unit).
fn rows(s: &SelectionRecord, k: f64) -> Vec<Row<'_>> {
    s.table
        .iter()
        .filter_map(|c| {
            let r = c.rmse.filter(|r| r.is_finite())?;
            let folds: Vec<f64> = c
                .fold_rmse
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let range = (!folds.is_empty()).then(|| {
                let lo = folds.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = folds.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo * k, hi * k)
            });
            Some((c.name.as_str(), r * k, range))
        })
        .collect()
}

/// The ship model's selection as an SVG dot plot; `None` when it was not
/// chosen among two or more scored candidates.
pub fn selection_svg(m: &Manifest) -> Result<Option<String>, ExportError> {
    let e = plot_err("the selection plot");
    let Some(s) = &m.training.selection else {
        return Ok(None);
    };
    // One native scale: the RMSE in its units.
    let native = m.validation.single_native();
    let k = native.map_or(1.0, |n| n.per_head_unit);
    let rows = rows(s, k);
    if rows.len() < 2 {
        return Ok(None);
    }
    let Some((lo, hi)) = padded_range(
        rows.iter()
            .flat_map(|(_, r, range)| [Some(*r), range.map(|x| x.0), range.map(|x| x.1)])
            .flatten(),
    ) else {
        return Ok(None);
    };
    let n = rows.len();
    let height = 110 + 26 * n as u32;
    let unit = native.map_or_else(
        || "1-5 scale".to_owned(),
        |n| format!("{} scale", n.range()),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "model selection for the ship model: {} chosen ({} inner folds, {} rows)",
                    s.chosen, s.inner_folds, s.inner_rows
                ),
                (FONT, 16),
            )
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(300)
            .build_cartesian_2d(lo..hi, -0.5..(n as f64 - 0.5))
            .map_err(&e)?;
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        chart
            .configure_mesh()
            .x_desc(format!(
                "inner cross-validation RMSE ({unit}; lower is better)"
            ))
            .y_labels(n)
            .y_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                // The first candidate on top.
                names
                    .get(n - 1 - i as usize)
                    .map_or_else(String::new, |s| (*s).to_owned())
            })
            .x_label_formatter(&|v| super::plots::sig3(*v))
            .label_style((FONT, 12))
            .disable_y_mesh()
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        for (i, (name, r, range)) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let chosen = *name == s.chosen;
            let colour = if chosen { RED } else { RGBColor(80, 80, 80) };
            if let Some((a, b)) = range {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*a, y), (*b, y)],
                        colour.stroke_width(if chosen { 2 } else { 1 }),
                    )))
                    .map_err(&e)?;
            }
            chart
                .draw_series(std::iter::once(Circle::new(
                    (*r, y),
                    if chosen { 6 } else { 4 },
                    colour.filled(),
                )))
                .map_err(&e)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(Some(svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `auto` run the v1 build wrote, as read today.
    fn auto() -> Manifest {
        const V1: &str = include_str!("../../../tests/data/manifests-v1/auto/v1_auto.json");
        Manifest::parse(std::path::Path::new("v1_auto.json"), V1).unwrap()
    }

    #[test]
    fn every_scored_candidate_is_drawn_and_the_chosen_one_in_red() {
        let m = auto();
        let s = m.training.selection.as_ref().unwrap();
        let svg = selection_svg(&m).unwrap().unwrap();
        let scored: Vec<&str> = s
            .table
            .iter()
            .filter(|c| c.rmse.is_some())
            .map(|c| c.name.as_str())
            .collect();
        assert!(scored.len() >= 2);
        for name in &scored {
            assert!(
                svg.contains(&format!(">\n{name}\n<")),
                "{name} not labelled"
            );
        }
        assert!(svg.contains(&format!("{} chosen", s.chosen)));
        // One dot per candidate, one of them red (the chosen one).
        assert_eq!(svg.matches("<circle").count(), scored.len());
        assert_eq!(svg.matches("fill=\"#FF0000\"").count(), 1, "{svg}");
        // Deterministic.
        assert_eq!(selection_svg(&m).unwrap().unwrap(), svg);
    }

    #[test]
    fn without_two_scored_candidates_there_is_no_plot() {
        let mut m = auto();
        m.training.selection = None;
        assert!(selection_svg(&m).unwrap().is_none());
        let mut m = auto();
        let s = m.training.selection.as_mut().unwrap();
        for c in s.table.iter_mut().skip(1) {
            c.rmse = None;
        }
        assert!(selection_svg(&m).unwrap().is_none());
    }
}
