//! The simulation chart: dividends per validator and incentive per miner over the epochs,
//! Yuma3 on top and original Yuma below.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use yuma::sim::{Model, Scenario, Simulation};

use super::simulate::fraction;

const FONT: &[u8] = include_bytes!("DejaVuSans.ttf");

/// Draws `path` (PNG, 1400 × 900).
pub(super) fn draw(scenario: &Scenario, sim: &Simulation, path: &Path) -> eyre::Result<()> {
    // Registering twice is harmless; the font ships in the binary so charts need no system fonts.
    let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    let root = BitMapBackend::new(path, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&scenario.name, ("sans-serif", 26))?;
    let panels = root.split_evenly((2, 2));
    let epochs = scenario.epochs.max(1);
    let models = [Model::Yuma3, Model::Yuma];
    for (k, area) in panels.iter().enumerate() {
        let model = models[k / 2];
        let validators = k % 2 == 0;
        let what = if validators {
            "dividends per validator"
        } else {
            "incentive per miner"
        };
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{}: {what}", model.name()), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0_u32..epochs.saturating_sub(1).max(1), 0.0_f64..1.0)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .label_style(("sans-serif", 13))
            .draw()?;
        let who: Vec<_> = sim
            .participants
            .iter()
            .filter(|p| p.validator == validators)
            .collect();
        for (c, p) in who.iter().enumerate() {
            let color = Palette99::pick(c).to_rgba();
            let points: Vec<(u32, f64)> = sim
                .records
                .iter()
                .filter(|r| r.model == model && r.uid == p.uid)
                .map(|r| {
                    let v = if validators { r.dividends } else { r.incentive };
                    (r.epoch, fraction(v))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(p.name.clone())
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
    }
    root.present()?;
    Ok(())
}
