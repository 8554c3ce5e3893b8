//! Line charts over epochs as PNG, shared by `symbiont yuma simulate` and
//! `symbiont econ simulate`. The font ships in the binary, so charts need no system fonts.

use std::ops::Range;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

const FONT: &[u8] = include_bytes!("DejaVuSans.ttf");

/// One line: a name for the legend and `(epoch, value)` points.
pub(crate) struct Series {
    pub name: String,
    pub points: Vec<(u32, f64)>,
}

/// One chart of the figure: its lines over epochs.
pub(crate) struct Panel {
    pub caption: String,
    /// The y axis's range; `None` fits the data.
    pub y_range: Option<Range<f64>>,
    pub series: Vec<Series>,
}

/// Draws `panels` row by row on a `rows × cols` grid under `title`, as a PNG of `size` pixels
/// at `path`. Series keep their colour by position across panels.
pub(crate) fn draw(
    path: &Path,
    title: &str,
    size: (u32, u32),
    (rows, cols): (usize, usize),
    panels: &[Panel],
) -> eyre::Result<()> {
    // Registering twice is harmless.
    let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 26))?;
    for (area, panel) in root.split_evenly((rows, cols)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
) -> eyre::Result<()> {
    let last = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .max()
        .unwrap_or(0)
        .max(1);
    let y = panel.y_range.clone().unwrap_or_else(|| fit(&panel.series));
    let span = y.end - y.start;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(64)
        .build_cartesian_2d(0_u32..last, y)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_label_formatter(&|v| label(*v, span))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (c, s) in panel.series.iter().enumerate() {
        let color = Palette99::pick(c).to_rgba();
        chart
            .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// The data's range with 5 % margins (a flat line gets a band of 5 % of its value).
fn fit(series: &[Series]) -> Range<f64> {
    let values = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    // Data that is never negative keeps a non-negative axis.
    let bottom = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    bottom..(hi + pad)
}

/// An axis label with as many decimals as the axis's `span` needs, large values in k or M.
fn label(v: f64, span: f64) -> String {
    let (v, span, suffix) = if v.abs() >= 1e6 {
        (v / 1e6, span / 1e6, "M")
    } else if v.abs() >= 1e4 {
        (v / 1e3, span / 1e3, "k")
    } else {
        (v, span, "")
    };
    // Ten ticks over the span: one significant digit of a tick's step.
    let step = (span / 10.0).abs();
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    format!("{v:.decimals$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fit_the_span() {
        assert_eq!(label(0.3, 1.2), "0.3");
        assert_eq!(label(0.04, 0.3), "0.04");
        assert_eq!(label(1_000_000.0, 60_000.0), "1.000M");
        assert_eq!(label(25_000.0, 12_000.0), "25k");
        assert_eq!(label(2.0, 25.0), "2");
    }

    #[test]
    fn fit_pads_and_handles_flat_lines() {
        let s = |v: f64| Series {
            name: String::new(),
            points: vec![(0, v), (1, v)],
        };
        assert_eq!(fit(&[]), 0.0..1.0);
        let r = fit(&[s(10.0), s(20.0)]);
        assert!(r.start < 10.0 && r.end > 20.0);
        let r = fit(&[s(100.0)]);
        assert!(r.start < 100.0 && r.end > 100.0);
    }
}
