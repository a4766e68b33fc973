//! SVG plots drawn with `plotters` (SVG backend only, no font files: text
//! is emitted as SVG `<text>` and laid out with plotters' built-in
//! estimate, so the output depends on nothing but the data).
//!
//! - [`validation_svg`]: predicted vs MOS, one panel per validation fold,
//!   with the fold's fitted VQEG logistic (`Metrics.logistic`) and `y = x`;
//! - [`loss_svg`]: the solver's training objective and monitor MSE per
//!   iteration (`SolveRecord.loss`, `monitor_loss`), for the ship model and
//!   every fold, on log axes.
//!
//! Deterministic: the plotters SVG backend writes no ids, timestamps or
//! random values, and every coordinate comes from the manifest, so the same
//! run gives byte-identical files.

use plotters::prelude::*;

use super::{has_predictions, ExportError};
use crate::evaluation::oof::OofPredictions;
use crate::manifest::Manifest;
use crate::manifest::SolveRecord;

const FONT: &str = "sans-serif";

fn plot_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ExportError {
    move |e| ExportError::Plot {
        what: what.into(),
        message: e.to_string(),
    }
}

/// `[lo, hi]` of the finite values, padded by 5 % (a unit span around a
/// constant).
fn padded_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f64, f64)>, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })?;
    let span = hi - lo;
    if span < 1e-9 {
        Some((lo - 0.5, hi + 0.5))
    } else {
        Some((lo - 0.05 * span, hi + 0.05 * span))
    }
}

/// Most points drawn per fold in the validation scatter.
pub const MAX_POINTS_PER_FOLD: usize = 3000;

/// Predicted vs MOS per fold with its fitted logistic; `None` when the folds
/// hold no predictions (a manifest re-exported without its validation
/// sidecar).
pub fn validation_svg(
    m: &Manifest,
    predictions: &OofPredictions,
) -> Result<Option<String>, ExportError> {
    if !has_predictions(m, predictions) {
        return Ok(None);
    }
    let e = plot_err("the validation plot");
    let folds = &m.validation.folds;
    let n = folds.len();
    let cols = ((n as f64).sqrt().ceil() as usize).clamp(1, 5);
    let rows = n.div_ceil(cols);
    let (pw, ph, title_h) = (440u32, 400u32, 44u32);
    let size = ((pw * cols as u32).max(680), ph * rows as u32 + title_h);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let body = root
            .titled(
                &format!(
                    "{}: predicted vs MOS per validation fold ({})",
                    m.id, m.validation.name
                ),
                (FONT, 18),
            )
            .map_err(&e)?;
        let panels = body.split_evenly((rows, cols));
        for ((area, f), pts) in panels.iter().zip(folds).zip(&predictions.folds) {
            let (x0, x1) = padded_range(pts.iter().map(|p| p.prediction)).unwrap_or((1.0, 5.0));
            let (y0, y1) = padded_range(
                pts.iter()
                    .map(|p| p.mos)
                    .chain([m.mos_range[0], m.mos_range[1]]),
            )
            .unwrap_or((1.0, 5.0));
            let h = &f.head;
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!(
                        "fold {}: PLCC {} (mapped {}), RMSE {}, n {}",
                        f.fold,
                        super::card::f4(h.plcc),
                        super::card::f4(h.plcc_mapped),
                        super::card::f4(h.rmse),
                        f.n_eval
                    ),
                    (FONT, 13),
                )
                .margin(10)
                .x_label_area_size(34)
                .y_label_area_size(40)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(&e)?;
            chart
                .configure_mesh()
                .x_desc("predicted MOS")
                .y_desc("MOS")
                .x_labels(6)
                .y_labels(6)
                .light_line_style(WHITE)
                .draw()
                .map_err(&e)?;
            let (d0, d1) = (x0.max(y0), x1.min(y1));
            if d1 > d0 {
                chart
                    .draw_series(LineSeries::new(
                        [(d0, d0), (d1, d1)],
                        BLACK.mix(0.3).stroke_width(1),
                    ))
                    .map_err(&e)?;
            }
            // A large fold is thinned to every k-th row (deterministic), so
            // the SVG stays small enough to open; the axes, the logistic and
            // the card's figures still cover every row.
            let stride = pts.len().div_ceil(MAX_POINTS_PER_FOLD).max(1);
            chart
                .draw_series(
                    pts.iter()
                        .step_by(stride)
                        .map(|r| (r.prediction, r.mos))
                        .filter(|(p, y)| p.is_finite() && y.is_finite())
                        .map(|(p, y)| Circle::new((p, y), 2, BLUE.mix(0.45).filled())),
                )
                .map_err(&e)?;
            if let Some(l) = &h.logistic {
                let curve = (0..=120).filter_map(|i| {
                    let x = x0 + (x1 - x0) * f64::from(i) / 120.0;
                    let y = l.apply(x);
                    (y.is_finite() && y >= y0 && y <= y1).then_some((x, y))
                });
                chart
                    .draw_series(LineSeries::new(curve, RED.stroke_width(2)))
                    .map_err(&e)?;
            }
        }
        root.present().map_err(&e)?;
    }
    Ok(Some(svg))
}

/// One panel of the loss plot: `pick` selects the series of each solve.
fn loss_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    solves: &[(String, &SolveRecord)],
    pick: fn(&SolveRecord) -> &[f64],
) -> Result<(), ExportError> {
    let e = plot_err("the loss plot");
    // Plotted as log10(loss) on a linear axis labelled with the loss
    // itself: a log scale whose labels stay readable within one decade.
    let positive = |s: &SolveRecord| -> Vec<(f64, f64)> {
        pick(s)
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && **v > 0.0)
            .map(|(i, v)| (i as f64, v.log10()))
            .collect()
    };
    let all: Vec<Vec<(f64, f64)>> = solves.iter().map(|(_, s)| positive(s)).collect();
    let Some((lo, hi)) = padded_range(all.iter().flatten().map(|p| p.1)) else {
        area.titled(&format!("{title}: no values"), (FONT, 15))
            .map_err(&e)?;
        return Ok(());
    };
    let xmax = all.iter().flatten().map(|p| p.0).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 15))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..xmax, lo..hi)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("iteration")
        .y_desc("loss (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| sig3(10f64.powf(*v)))
        .light_line_style(WHITE)
        .draw()
        .map_err(&e)?;
    let legend = solves.len() <= 11;
    // Folds first, the ship model (index 0) last, on top.
    let order = (1..solves.len()).chain([0]);
    let mut all: Vec<Option<Vec<(f64, f64)>>> = all.into_iter().map(Some).collect();
    for i in order {
        let label = &solves[i].0;
        let Some(points) = all[i].take().filter(|p| !p.is_empty()) else {
            continue;
        };
        let style = if i == 0 {
            BLACK.stroke_width(2)
        } else {
            Palette99::pick(i - 1).stroke_width(1)
        };
        let drawn = chart
            .draw_series(LineSeries::new(points, style))
            .map_err(&e)?;
        if legend {
            drawn
                .label(label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 12))
            .draw()
            .map_err(&e)?;
    }
    Ok(())
}

/// Training objective and monitor MSE per iteration: the ship model (black)
/// and every fold's head.
pub fn loss_svg(m: &Manifest) -> Result<String, ExportError> {
    let e = plot_err("the loss plot");
    let mut solves: Vec<(String, &SolveRecord)> = vec![("ship model".into(), &m.training.solve)];
    solves.extend(
        m.validation
            .folds
            .iter()
            .map(|f| (format!("fold {}", f.fold), &f.solve)),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let body = root
            .titled(
                &format!(
                    "{}: solver loss per iteration ({} head, {})",
                    m.id,
                    m.head.spec.kind.as_str(),
                    m.training.solve.solver
                ),
                (FONT, 18),
            )
            .map_err(&e)?;
        let (left, right) = body.split_horizontally(500);
        loss_panel(&left, "training objective", &solves, |s| &s.loss)?;
        loss_panel(&right, "monitor MSE (early stopping)", &solves, |s| {
            &s.monitor_loss
        })?;
        root.present().map_err(&e)?;
    }
    Ok(svg)
}

/// Three significant digits, scientific outside 0.01-1000.
fn sig3(v: f64) -> String {
    if (0.01..1000.0).contains(&v.abs()) {
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded_and_never_empty() {
        assert_eq!(padded_range([1.0, 3.0].into_iter()), Some((0.9, 3.1)));
        assert_eq!(padded_range([2.0, 2.0].into_iter()), Some((1.5, 2.5)));
        assert_eq!(padded_range([f64::NAN].into_iter()), None);
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(1.2345), "1.23");
        assert_eq!(sig3(123.45), "123");
        assert_eq!(sig3(0.0012345), "1.23e-3");
    }
}
