//! The simulation chart: dividends per validator and incentive per miner over the epochs,
//! Yuma3 on top and original Yuma below.

use std::path::Path;

use yuma::sim::{Model, Scenario, Simulation};

use super::simulate::fraction;
use crate::cmd::chart::{self, Panel, Series};

/// Draws `path` (PNG, 1400 × 900).
pub(super) fn draw(scenario: &Scenario, sim: &Simulation, path: &Path) -> eyre::Result<()> {
    let mut panels = Vec::new();
    for model in [Model::Yuma3, Model::Yuma] {
        for validators in [true, false] {
            let what = if validators {
                "dividends per validator"
            } else {
                "incentive per miner"
            };
            let series = sim
                .participants
                .iter()
                .filter(|p| p.validator == validators)
                .map(|p| Series {
                    name: p.name.clone(),
                    points: sim
                        .records
                        .iter()
                        .filter(|r| r.model == model && r.uid == p.uid)
                        .map(|r| {
                            let v = if validators { r.dividends } else { r.incentive };
                            (r.epoch, fraction(v))
                        })
                        .collect(),
                })
                .collect();
            panels.push(Panel {
                caption: format!("{}: {what}", model.name()),
                y_range: Some(0.0..1.0),
                series,
            });
        }
    }
    chart::draw(path, &scenario.name, (1400, 900), (2, 2), &panels)
}
