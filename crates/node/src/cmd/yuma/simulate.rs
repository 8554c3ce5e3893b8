//! `symbiont yuma simulate scenario.json`: a scenario under Yuma3 and original Yuma.

use std::fmt::Write as _;
use std::path::PathBuf;

use eyre::WrapErr;
use yuma::sim::{Model, Scenario, Simulation, simulate};

/// Runs a scenario for its epochs under both bond models; writes `<out>.csv` and
/// `<out>.png` and prints a summary table.
#[derive(Debug, clap::Args)]
pub struct SimulateCmd {
    /// Scenario file (JSON; see `examples/yuma/`).
    scenario: PathBuf,
    /// Output path without extension [default: the scenario path without `.json`].
    #[arg(long)]
    out: Option<PathBuf>,
}

impl SimulateCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let text = std::fs::read_to_string(&self.scenario)
            .wrap_err_with(|| format!("reading {}", self.scenario.display()))?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let mut scenario: Scenario = match serde_path_to_error::deserialize(de) {
            Ok(s) => s,
            Err(e) => {
                super::invalid_input(format!("invalid scenario: {}: {}", e.path(), e.inner()))
            }
        };
        if scenario.name.is_empty() {
            scenario.name = self
                .scenario
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        let sim = match simulate(&scenario) {
            Ok(s) => s,
            Err(e) => super::invalid_input(e),
        };
        let out = self.out.unwrap_or_else(|| self.scenario.with_extension(""));
        let csv_path = out.with_extension("csv");
        let png_path = out.with_extension("png");
        std::fs::write(&csv_path, csv(&sim))
            .wrap_err_with(|| format!("writing {}", csv_path.display()))?;
        super::chart::draw(&scenario, &sim, &png_path)
            .wrap_err_with(|| format!("drawing {}", png_path.display()))?;
        print!("{}", summary(&scenario, &sim));
        println!("wrote {} and {}", csv_path.display(), png_path.display());
        Ok(())
    }
}

/// u16 proportion as a decimal fraction (display only).
pub(super) fn fraction(x: u16) -> f64 {
    f64::from(x) / 65_535.0
}

fn csv(sim: &Simulation) -> String {
    let mut s = String::from(
        "model,epoch,uid,name,role,dividends,incentive,validator_emission,server_emission\n",
    );
    for r in &sim.records {
        let p = sim.participants.get(usize::from(r.uid));
        let _ = writeln!(
            s,
            "{},{},{},{},{},{:.6},{:.6},{},{}",
            r.model.name(),
            r.epoch,
            r.uid,
            p.map_or("", |p| p.name.as_str()),
            if p.is_some_and(|p| p.validator) {
                "validator"
            } else {
                "miner"
            },
            fraction(r.dividends),
            fraction(r.incentive),
            r.validator_emission,
            r.server_emission,
        );
    }
    s
}

/// Per participant and model: total emission and, for validators, earnings per unit of
/// stake relative to the validator average (1.00 = paid exactly by stake).
fn summary(scenario: &Scenario, sim: &Simulation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — {} epochs, {} rao per epoch",
        scenario.name, scenario.epochs, scenario.emission
    );
    let _ = writeln!(
        s,
        "{:<10} {:<8} {:>16} {:>16} {:>16} {:>16}",
        "name", "role", "yuma3 emission", "yuma emission", "yuma3 per stake", "yuma per stake"
    );
    let total_stake: u64 = scenario.validators.iter().map(|v| v.stake).sum();
    let totals = |model: Model, uid: u16| -> u64 {
        sim.records
            .iter()
            .filter(|r| r.model == model && r.uid == uid)
            .map(|r| r.validator_emission + r.server_emission)
            .sum()
    };
    let validator_total = |model: Model| -> u64 {
        sim.records
            .iter()
            .filter(|r| r.model == model)
            .map(|r| r.validator_emission)
            .sum()
    };
    for p in &sim.participants {
        let (a, b) = (totals(Model::Yuma3, p.uid), totals(Model::Yuma, p.uid));
        let per_stake = |model: Model, earned: u64| -> String {
            let stake = scenario
                .validators
                .get(usize::from(p.uid))
                .map_or(0, |v| v.stake);
            let all = validator_total(model);
            if !p.validator || stake == 0 || all == 0 || total_stake == 0 {
                return "-".into();
            }
            let ratio = (earned as f64 / all as f64) / (stake as f64 / total_stake as f64);
            format!("{ratio:.3}")
        };
        let _ = writeln!(
            s,
            "{:<10} {:<8} {:>16} {:>16} {:>16} {:>16}",
            p.name,
            if p.validator { "validator" } else { "miner" },
            a,
            b,
            per_stake(Model::Yuma3, a),
            per_stake(Model::Yuma, b)
        );
    }
    s
}
