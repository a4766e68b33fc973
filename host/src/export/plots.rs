//! SVG plots drawn with `plotters` (SVG backend only, no font files: text
//! is emitted as SVG `<text>` and laid out with plotters' built-in
//! estimate, so the output depends on nothing but the data).
//!
//! - [`validation_svg`]: predicted vs MOS, the pooled out-of-fold scatter on
//!   the native scale with `y = x`, the pooled VQEG logistic and the
//!   prediction band (the conformal interval around `y = x`), beside
//!   per-fold panels (few folds) or the per-split metrics' distribution
//!   (repeated splits);
//! - [`loss_svg`]: the solver's training objective and monitor MSE per
//!   iteration (`SolveRecord.loss`, `monitor_loss`), for the ship model and
//!   every fold, on log axes.
//!
//! Deterministic: the plotters SVG backend writes no ids, timestamps or
//! random values, and every coordinate comes from the manifest, so the same
//! run gives byte-identical files.

use plotters::prelude::*;

use super::{has_predictions, ExportError};
use crate::manifest::Manifest;
use crate::manifest::SolveRecord;
use crate::validation::oof::OofPredictions;

/// The font family every plot names.
pub(super) const FONT: &str = "sans-serif";

/// The error of drawing `what`.
pub(super) fn plot_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> ExportError {
    move |e| ExportError::Plot {
        what: what.into(),
        message: e.to_string(),
    }
}

/// `[lo, hi]` of the finite values, padded by 5 % (a unit span around a
/// constant).
pub(super) fn padded_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
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

/// The report's caption of the validation plot.
pub const SCATTER_CAPTION: &str =
    "Predicted vs MOS on the held-out rows, with the fitted logistic and the prediction band.";

/// The report's caption of the loss plot.
pub const LOSS_CAPTION: &str =
    "Solver loss per iteration: training objective and monitor MSE, ship model and each fold.";

/// The predicted-vs-MOS plot `<id>_validation.svg` as an export of the
/// set: drawn when the validation predictions hold every fold's rows.
#[derive(Debug, Clone, Copy)]
pub struct Scatter;

impl super::Export for Scatter {
    fn role(&self) -> &'static str {
        "validation_plot"
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_validation.svg")
    }
    fn what(&self) -> &'static str {
        "the model's validation plot"
    }
    fn write(&self, cx: &super::SetContext<'_>) -> Result<super::Written, ExportError> {
        Ok(
            validation_svg(cx.manifest, cx.predictions)?.map_or(super::Written::Skipped, |svg| {
                super::Written::Bytes(svg.into_bytes())
            }),
        )
    }
    fn caption(&self) -> Option<&'static str> {
        Some(SCATTER_CAPTION)
    }
}

/// The solver-loss plot `<id>_loss.svg` as an export of the set: drawn
/// when a solve iterated.
#[derive(Debug, Clone, Copy)]
pub struct Loss;

impl super::Export for Loss {
    fn role(&self) -> &'static str {
        "loss_plot"
    }
    fn file_name(&self, id: &str) -> String {
        format!("{id}_loss.svg")
    }
    fn what(&self) -> &'static str {
        "the model's loss plot"
    }
    fn write(&self, cx: &super::SetContext<'_>) -> Result<super::Written, ExportError> {
        Ok(
            loss_svg(cx.manifest)?.map_or(super::Written::Skipped, |svg| {
                super::Written::Bytes(svg.into_bytes())
            }),
        )
    }
    fn caption(&self) -> Option<&'static str> {
        Some(LOSS_CAPTION)
    }
}

/// Most points drawn per fold in the validation scatter.
pub const MAX_POINTS_PER_FOLD: usize = 3000;

/// Per-fold panels are drawn beside the pooled scatter up to this many
/// folds; beyond it (repeated splits), the distribution of the per-split
/// metrics is drawn instead.
pub const MAX_FOLD_PANELS: usize = 6;

/// The axes of the validation plot: the native scale when every row has a
/// native value and every slot shares one scale, else the head's 1-5.
struct Axes {
    /// `(native_min, native_max, to_head_offset, to_head_scale)` of the one
    /// native scale, or `None` for the head scale.
    native: Option<(f64, f64, f64, f64)>,
    label: String,
}

impl Axes {
    fn of(m: &Manifest, predictions: &OofPredictions) -> Axes {
        let mut scales = m.data.mos_scales.values();
        let one = scales.next().filter(|first| {
            scales.all(|s| {
                s.to_head_scale == first.to_head_scale && s.to_head_offset == first.to_head_offset
            })
        });
        let all_native = predictions
            .folds
            .iter()
            .flatten()
            .all(|r| r.mos_native.is_some() && r.prediction_native.is_some());
        match one {
            Some(s) if all_native => Axes {
                native: Some((
                    s.native_min,
                    s.native_max,
                    s.to_head_offset,
                    s.to_head_scale,
                )),
                label: format!(
                    "native {}-{}",
                    crate::evaluation::native::num(s.native_min),
                    crate::evaluation::native::num(s.native_max)
                ),
            },
            _ => Axes {
                native: None,
                label: "head scale 1-5".into(),
            },
        }
    }

    /// The scale's width (figures are printed at a precision that fits it).
    fn width(&self) -> f64 {
        self.native.map_or(4.0, |(lo, hi, _, _)| hi - lo)
    }

    /// A row's (prediction, MOS) on these axes.
    fn point(&self, r: &crate::validation::oof::OofRow) -> (f64, f64) {
        match (self.native, r.prediction_native, r.mos_native) {
            (Some(_), Some(p), Some(y)) => (p, y),
            _ => (r.prediction, r.mos),
        }
    }

    /// A head-scale RMSE on these axes.
    fn rmse(&self, v: Option<f64>) -> Option<f64> {
        match self.native {
            Some((_, _, _, k)) => v.map(|v| v / k),
            None => v,
        }
    }

    /// A head-scale half-width on these axes.
    fn half_width(&self, w: f64) -> f64 {
        match self.native {
            Some((_, _, _, k)) => w / k,
            None => w,
        }
    }

    /// The logistic (fitted on the head scale) as a curve on these axes.
    fn logistic(&self, l: &crate::evaluation::LogisticFit, x: f64) -> f64 {
        match self.native {
            Some((_, _, off, k)) => (l.apply(off + k * x) - off) / k,
            None => l.apply(x),
        }
    }

    /// The range both axes share: the points', padded.
    fn range(&self, pts: &[(f64, f64)], m: &Manifest) -> (f64, f64) {
        let ends = match self.native {
            Some((lo, hi, _, _)) => [lo, hi],
            None => [m.mos_range[0], m.mos_range[1]],
        };
        let (lo, hi) = pts
            .iter()
            .flat_map(|&(p, y)| [p, y])
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        // The points' range (both axes alike), else the scale's ends.
        let (lo, hi) = if lo.is_finite() {
            (lo, hi)
        } else {
            (ends[0], ends[1])
        };
        padded_range([lo, hi].into_iter()).unwrap_or((ends[0], ends[1]))
    }
}

/// The band `|y - x| <= w` clipped to the square `[lo, hi]^2`, as a
/// polygon (the whole square when the band is wider than it).
fn band_polygon(lo: f64, hi: f64, w: f64) -> Vec<(f64, f64)> {
    if w >= hi - lo {
        return vec![(lo, lo), (lo, hi), (hi, hi), (hi, lo)];
    }
    vec![
        (lo, lo),
        (lo, lo + w),
        (hi - w, hi),
        (hi, hi),
        (hi, hi - w),
        (lo + w, lo),
    ]
}

/// Every `stride`-th point so a large fold stays small enough to open.
fn thinned<T: Copy>(pts: &[T]) -> impl Iterator<Item = T> + '_ {
    let stride = pts.len().div_ceil(MAX_POINTS_PER_FOLD).max(1);
    pts.iter().step_by(stride).copied()
}

/// Predicted vs MOS: the pooled out-of-fold scatter (points coloured by
/// fold, shared square axes on the native scale, the identity line, the
/// pooled VQEG logistic and, when the model records prediction intervals,
/// the band a clip's MOS falls in around its prediction (`y = x -/+ w`),
/// with a legend); beside it one small panel per fold
/// when folds are few, or the distribution of the per-split PLCC and RMSE
/// for repeated splits. `None` when the folds hold no predictions (a
/// manifest re-exported without its validation sidecar).
pub fn validation_svg(
    m: &Manifest,
    predictions: &OofPredictions,
) -> Result<Option<String>, ExportError> {
    if !has_predictions(m, predictions) {
        return Ok(None);
    }
    let e = plot_err("the validation plot");
    let folds = &m.validation.folds;
    let axes = Axes::of(m, predictions);
    let per_fold: Vec<Vec<(f64, f64)>> = predictions
        .folds
        .iter()
        .map(|f| {
            f.iter()
                .map(|r| axes.point(r))
                .filter(|(p, y)| p.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = per_fold.iter().flatten().copied().collect();
    let (lo, hi) = axes.range(&all, m);
    let width = axes.width();
    let show = |v: f64| crate::evaluation::native::fixed(v, width);
    // Tick labels one decimal shorter than the figures.
    let tick = |v: &f64| crate::evaluation::native::fixed(*v, width * 10.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1120, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let body = root
            .titled(
                &format!(
                    "predicted vs MOS, out of fold ({}, {})",
                    m.validation.name, axes.label
                ),
                (FONT, 18),
            )
            .map_err(&e)?;
        let (left, right) = body.split_horizontally(600);
        let pooled = m.validation.pooled.as_ref();
        let caption = match pooled {
            Some(p) => format!(
                "pooled: PLCC {}, SROCC {}, RMSE {}, {} rows",
                super::card::f4(p.head.plcc),
                super::card::f4(p.head.srocc),
                axes.rmse(p.head.rmse).map_or("-".into(), show),
                p.n
            ),
            None => format!("{} rows", all.len()),
        };
        let mut chart = ChartBuilder::on(&left)
            .caption(caption, (FONT, 15))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(52)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(format!("predicted MOS ({})", axes.label))
            .y_desc(format!("MOS ({})", axes.label))
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        if let Some(pi) = &m.prediction_intervals {
            let w = axes.half_width(pi.half_width);
            let band = BLUE.mix(0.12).filled();
            chart
                .draw_series(std::iter::once(Polygon::new(band_polygon(lo, hi, w), band)))
                .map_err(&e)?
                .label(format!(
                    "{:.0}% prediction interval (conformal, prediction -/+ {})",
                    pi.coverage * 100.0,
                    show(w)
                ))
                .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 18, y + 4)], band));
        }
        let coloured = folds.len() <= 10 && folds.len() > 1;
        for (i, pts) in per_fold.iter().enumerate() {
            let colour = if coloured {
                Palette99::pick(i).mix(0.7)
            } else {
                BLUE.mix(0.45)
            };
            let drawn = chart
                .draw_series(thinned(pts).map(|(p, y)| Circle::new((p, y), 2, colour.filled())))
                .map_err(&e)?;
            if coloured {
                drawn
                    .label(format!("fold {}", folds.get(i).map_or(i, |f| f.fold)))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.filled()));
            }
        }
        let identity = BLACK.mix(0.5).stroke_width(1);
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], identity))
            .map_err(&e)?
            .label("identity (y = x)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], identity));
        if let Some(l) = pooled.and_then(|p| p.head.logistic.as_ref()) {
            let red = RED.stroke_width(2);
            let curve = (0..=200).filter_map(|i| {
                let x = lo + (hi - lo) * f64::from(i) / 200.0;
                let y = axes.logistic(l, x);
                (y.is_finite() && y >= lo && y <= hi).then_some((x, y))
            });
            chart
                .draw_series(LineSeries::new(curve, red))
                .map_err(&e)?
                .label("VQEG logistic fitted on the pooled rows")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 12))
            .draw()
            .map_err(&e)?;
        if folds.len() <= MAX_FOLD_PANELS {
            fold_panels(&right, m, &per_fold, (lo, hi), &axes)?;
        } else {
            split_distributions(&right, m, &axes)?;
        }
        root.present().map_err(&e)?;
    }
    Ok(Some(svg))
}

/// One small panel per fold, on the pooled panel's axes.
fn fold_panels<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    m: &Manifest,
    per_fold: &[Vec<(f64, f64)>],
    (lo, hi): (f64, f64),
    axes: &Axes,
) -> Result<(), ExportError> {
    let e = plot_err("the validation plot");
    let n = per_fold.len();
    if n < 2 {
        return Ok(());
    }
    let width = axes.width();
    let show = |v: f64| crate::evaluation::native::fixed(v, width);
    let rows = n.div_ceil(2);
    let panels = area.split_evenly((rows.max(2), 2));
    for ((i, panel), pts) in panels.iter().enumerate().zip(per_fold) {
        let f = &m.validation.folds[i];
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "fold {}: PLCC {}, RMSE {}",
                    f.fold,
                    super::card::f4(f.head.plcc),
                    axes.rmse(f.head.rmse).map_or("-".into(), show)
                ),
                (FONT, 12),
            )
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(34)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_labels(4)
            .y_labels(4)
            .x_label_formatter(&|v| crate::evaluation::native::fixed(*v, width * 10.0))
            .y_label_formatter(&|v| crate::evaluation::native::fixed(*v, width * 10.0))
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        chart
            .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.5)))
            .map_err(&e)?;
        let colour = Palette99::pick(i).mix(0.7);
        chart
            .draw_series(thinned(pts).map(|(p, y)| Circle::new((p, y), 2, colour.filled())))
            .map_err(&e)?;
    }
    Ok(())
}

/// The distribution (empirical CDF) of the per-split PLCC and RMSE, with
/// the median marked: what a repeated-splits validation says, in two panels.
fn split_distributions<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    m: &Manifest,
    axes: &Axes,
) -> Result<(), ExportError> {
    let e = plot_err("the validation plot");
    let folds = &m.validation.folds;
    let (top, bottom) = area.split_vertically(area.dim_in_pixel().1 / 2);
    let series: [(&DrawingArea<DB, plotters::coord::Shift>, &str, Vec<f64>); 2] = [
        (
            &top,
            "PLCC",
            folds.iter().filter_map(|f| f.head.plcc).collect(),
        ),
        (
            &bottom,
            "RMSE",
            folds
                .iter()
                .filter_map(|f| axes.rmse(f.head.rmse))
                .collect(),
        ),
    ];
    for (panel, name, mut values) in series {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let Some((x0, x1)) = padded_range(values.iter().copied()) else {
            continue;
        };
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let q = |p: f64| values[((p * (n - 1) as f64).round() as usize).min(n - 1)];
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "per-split {name} over {n} splits: median {}, 5-95% {}-{}",
                    sig3(median),
                    sig3(q(0.05)),
                    sig3(q(0.95))
                ),
                (FONT, 13),
            )
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, 0.0..1.0)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(if name == "RMSE" {
                format!("RMSE ({})", axes.label)
            } else {
                "PLCC".to_owned()
            })
            .y_desc("share of splits <= x")
            .x_label_formatter(&|v| sig3(*v))
            .light_line_style(WHITE)
            .draw()
            .map_err(&e)?;
        let steps: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .flat_map(|(i, &v)| [(v, i as f64 / n as f64), (v, (i + 1) as f64 / n as f64)])
            .collect();
        chart
            .draw_series(LineSeries::new(steps, BLUE.stroke_width(2)))
            .map_err(&e)?;
        chart
            .draw_series(LineSeries::new(
                [(median, 0.0), (median, 1.0)],
                RED.mix(0.7).stroke_width(1),
            ))
            .map_err(&e)?;
    }
    Ok(())
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
pub fn loss_svg(m: &Manifest) -> Result<Option<String>, ExportError> {
    let e = plot_err("the loss plot");
    let mut solves: Vec<(String, &SolveRecord)> = vec![("ship model".into(), &m.training.solve)];
    solves.extend(
        m.validation
            .folds
            .iter()
            .map(|f| (format!("fold {}", f.fold), &f.solve)),
    );
    // A closed-form or SMO head has no iterations to draw: no plot, rather
    // than two empty panels.
    if solves
        .iter()
        .all(|(_, s)| s.loss.is_empty() && s.monitor_loss.is_empty())
    {
        return Ok(None);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let body = root
            .titled(
                &format!(
                    "solver loss per iteration ({} head)",
                    m.head.spec.kind.as_str()
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
    Ok(Some(svg))
}

/// Three significant digits, scientific outside 0.01-1000.
pub(super) fn sig3(v: f64) -> String {
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
    fn the_band_is_clipped_to_the_square() {
        // |y - x| <= 1 in [0, 4]^2: a hexagon of area 16 - 2 * (3 * 3 / 2).
        let poly = band_polygon(0.0, 4.0, 1.0);
        assert_eq!(
            poly,
            [
                (0.0, 0.0),
                (0.0, 1.0),
                (3.0, 4.0),
                (4.0, 4.0),
                (4.0, 3.0),
                (1.0, 0.0)
            ]
        );
        let area = poly
            .iter()
            .zip(poly.iter().cycle().skip(1))
            .map(|(a, b)| a.0 * b.1 - b.0 * a.1)
            .sum::<f64>()
            / 2.0;
        assert!((area.abs() - 7.0).abs() < 1e-12, "{area}");
        // Wider than the square: all of it.
        assert_eq!(band_polygon(0.0, 1.0, 2.0).len(), 4);
    }

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
