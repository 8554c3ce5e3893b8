//! `symbiont econ simulate`: the burn-mint supply under demand scenarios (the model is in
//! [`super::sim`]); writes `econ.csv`, `supply.png` and a summary table.

use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::str::FromStr;

use eyre::WrapErr;
use ledger::{Amount, NATIVE_DECIMALS, NATIVE_SUPPLY_CAP, compute::ComputeParams};

use super::sim::{self, Config, MAX_PRICE, NATIVE_UNIT, PriceModel, Record, Scenario, Totals};
use crate::cmd::chart::{self, Panel, Series};
use crate::units::{format_units, parse_units};

/// Decimals of the USD asset the market prices in.
const USD_DECIMALS: u8 = 6;
/// The longest run: 4 scenarios of it stay well under a second and a CSV of tens of MB.
const MAX_EPOCHS: u64 = 100_000;

/// The long help: what the simulation models.
pub(super) const ABOUT: &str = "\
Simulate the native supply under burn-mint with USD demand scenarios.

Each epoch, the USD demand burns native tokens at the oracle price (the ledger's \
bme::burn_for) and the epoch emission (bme::emission: --epoch-emission, halved every \
--halving-epochs) is minted to providers (bme::distribute), whatever was burned: the functions \
the ledger runs, on integer base units. Providers are modelled as one account under lease every \
block, so with no demand only the availability pool (the share not in --work-share-bps) is \
minted, as on the ledger. A burn larger than the supply is cut to the supply (a saturated \
epoch). supply(t+1) = supply(t) - burned + minted.

Price models (--price-model):
  fixed     the oracle price is --initial-price every epoch.
  exchange  the equation of exchange: the market cap is k epochs of demand, so
            price = k * average demand / supply, at least --price-floor; the average is an
            exponential moving average over --price-lag epochs (1: this epoch's demand), and
            k = initial price * initial supply / starting demand, so the first price is
            --initial-price. With --price-lag 1 the tokens burned (demand / price =
            supply / k) do not depend on demand: the lag is what lets demand move the supply.
The oracle price is an integer number of native base units per USD (the ledger's unit: 10^9 \
per dollar-priced token); simulated prices are capped at $1,000,000 per token.

Scenarios (--scenario, all by default): flat (the starting demand), growth (compounding by \
--growth percent per epoch), boom-bust (rising to 5x by a third of the run, 0.2x from its \
half), none (no demand).

Writes DIR/econ.csv (a row per scenario and epoch; amounts in base units: native 1e-9, \
USD 1e-6), DIR/supply.png (supply and price per scenario) and prints a summary. Bad input \
exits with code 2.";

/// Runs the burn-mint accounting over demand scenarios.
#[derive(Debug, clap::Args)]
pub struct SimulateCmd {
    /// Scenarios to run, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME")]
    scenario: Vec<Scenario>,
    /// Epochs to run.
    #[arg(long, default_value_t = 520, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_EPOCHS))]
    epochs: u64,
    /// Native supply at the start, in tokens.
    #[arg(long, default_value = "1000000", value_name = "TOKENS")]
    initial_supply: Tokens,
    /// USD per native token at the start ($2 is the ledger's default oracle price).
    #[arg(long, default_value_t = 2.0, value_name = "USD", value_parser = price)]
    initial_price: f64,
    /// USD of demand in the first epoch (the default is the default emission's worth at $2,
    /// so flat demand starts in equilibrium).
    #[arg(long, default_value = "200", value_name = "USD")]
    demand: Usd,
    /// The growth scenario's demand growth, percent per epoch.
    #[arg(long, default_value_t = 0.5, value_name = "PERCENT", value_parser = percent)]
    growth: f64,
    /// How the oracle price is set each epoch.
    #[arg(long, value_enum, default_value_t = PriceModel::Exchange)]
    price_model: PriceModel,
    /// Epochs the exchange model averages demand over (1: no lag).
    #[arg(long, default_value_t = 52, value_name = "EPOCHS", value_parser = clap::value_parser!(u64).range(1..))]
    price_lag: u64,
    /// The exchange model's lowest price, USD per token.
    #[arg(long, default_value_t = 0.001, value_name = "USD", value_parser = price)]
    price_floor: f64,
    /// Native tokens minted per epoch in the first era.
    #[arg(long, default_value_t = Tokens(ComputeParams::default().epoch_emission), value_name = "TOKENS")]
    epoch_emission: Tokens,
    /// Epochs per era; the emission halves each era (0: never).
    #[arg(long, default_value_t = ComputeParams::default().halving_epochs, value_name = "EPOCHS")]
    halving_epochs: u64,
    /// The share of the emission paid over work (USD served), in basis points; the rest is
    /// paid over availability.
    #[arg(long, default_value_t = ComputeParams::default().work_share_bps, value_name = "BPS",
          value_parser = clap::value_parser!(u16).range(0..=10_000))]
    work_share_bps: u16,
    /// Output directory.
    #[arg(long, default_value = "econ-sim", value_name = "DIR")]
    out: PathBuf,
}

impl SimulateCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let cfg = Config {
            params: ComputeParams {
                epoch_emission: self.epoch_emission.0,
                halving_epochs: self.halving_epochs,
                work_share_bps: self.work_share_bps,
                ..ComputeParams::default()
            },
            epochs: self.epochs,
            initial_supply: self.initial_supply.0,
            demand: self.demand.0,
            initial_price: self.initial_price,
            price_model: self.price_model,
            growth: self.growth / 100.0,
            price_lag: self.price_lag,
            price_floor: self.price_floor,
        };
        if let Err(e) = check(&cfg) {
            super::invalid_input(e);
        }
        let scenarios = if self.scenario.is_empty() {
            Scenario::ALL.to_vec()
        } else {
            let mut s: Vec<Scenario> = Vec::new();
            for x in self.scenario {
                if !s.contains(&x) {
                    s.push(x);
                }
            }
            s
        };
        let runs: Vec<(Scenario, Vec<Record>)> = scenarios
            .iter()
            .map(|s| (*s, sim::simulate(&cfg, *s)))
            .collect();
        std::fs::create_dir_all(&self.out)
            .wrap_err_with(|| format!("creating {}", self.out.display()))?;
        let csv_path = self.out.join("econ.csv");
        let png_path = self.out.join("supply.png");
        std::fs::write(&csv_path, csv(&runs))
            .wrap_err_with(|| format!("writing {}", csv_path.display()))?;
        draw(&cfg, &runs, &png_path).wrap_err_with(|| format!("drawing {}", png_path.display()))?;
        print!("{}", summary(&cfg, &runs));
        println!("wrote {} and {}", csv_path.display(), png_path.display());
        Ok(())
    }
}

/// Checks what the flags cannot check one by one.
fn check(cfg: &Config) -> Result<(), String> {
    if cfg.initial_supply > NATIVE_SUPPLY_CAP {
        return Err(format!(
            "--initial-supply is above the native supply cap ({} tokens)",
            format_units(NATIVE_SUPPLY_CAP, NATIVE_DECIMALS)
        ));
    }
    if cfg.price_model == PriceModel::Exchange {
        if cfg.demand == 0 {
            return Err(
                "--price-model exchange needs --demand above 0 (it prices the token as \
                        a multiple of demand)"
                    .into(),
            );
        }
        if cfg.initial_supply == 0 {
            return Err("--price-model exchange needs --initial-supply above 0".into());
        }
        if cfg.price_floor > cfg.initial_price {
            return Err("--price-floor is above --initial-price".into());
        }
    }
    Ok(())
}

/// A token amount on the command line ("1.5"), held in native base units.
#[derive(Debug, Clone, Copy)]
struct Tokens(Amount);

impl FromStr for Tokens {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_units(s, NATIVE_DECIMALS)
            .map(Tokens)
            .map_err(|e| e.to_string())
    }
}

impl fmt::Display for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_units(self.0, NATIVE_DECIMALS))
    }
}

/// A USD amount on the command line ("12.50"), held in USD base units.
#[derive(Debug, Clone, Copy)]
struct Usd(Amount);

impl FromStr for Usd {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_units(s, USD_DECIMALS)
            .map(Usd)
            .map_err(|e| e.to_string())
    }
}

/// A price in USD per token: above 0, at most what the oracle expresses.
fn price(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(p > 0.0 && p <= MAX_PRICE) {
        return Err(format!(
            "{s} is not a price above 0 and at most {MAX_PRICE} (the oracle's limit)"
        ));
    }
    Ok(p)
}

/// A percentage from 0 to 100.
fn percent(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("{s} is not a percentage from 0 to 100"));
    }
    Ok(p)
}

fn csv(runs: &[(Scenario, Vec<Record>)]) -> String {
    let mut s = String::from(
        "scenario,epoch,demand_usd,price_usd,oracle_price,supply_start,burned,minted,supply_end,saturated\n",
    );
    for (scenario, records) in runs {
        for r in records {
            let _ = writeln!(
                s,
                "{},{},{},{:.6},{},{},{},{},{},{}",
                scenario.name(),
                r.epoch,
                r.demand,
                r.price_usd,
                r.oracle_price,
                r.supply_start,
                r.burned,
                r.minted,
                r.supply_end,
                r.saturated
            );
        }
    }
    s
}

/// Base units as tokens (display only).
fn tokens(v: Amount) -> f64 {
    v as f64 / NATIVE_UNIT
}

fn draw(
    cfg: &Config,
    runs: &[(Scenario, Vec<Record>)],
    path: &std::path::Path,
) -> eyre::Result<()> {
    let series = |value: fn(&Record) -> f64| -> Vec<Series> {
        runs.iter()
            .map(|(s, records)| Series {
                name: s.name().into(),
                points: records
                    .iter()
                    .map(|r| (u32::try_from(r.epoch).unwrap_or(u32::MAX), value(r)))
                    .collect(),
            })
            .collect()
    };
    let panels = [
        Panel {
            caption: "native supply (tokens, at the end of the epoch)".into(),
            y_range: None,
            series: series(|r| tokens(r.supply_end)),
        },
        Panel {
            caption: "price (USD per token)".into(),
            y_range: None,
            series: series(|r| r.price_usd),
        },
    ];
    let title = format!("Burn-mint: {} price model", model_name(cfg.price_model));
    chart::draw(path, &title, (1400, 1000), (2, 1), &panels)
}

fn model_name(m: PriceModel) -> &'static str {
    match m {
        PriceModel::Fixed => "fixed",
        PriceModel::Exchange => "exchange",
    }
}

/// The parameters in a line, then a row per scenario.
fn summary(cfg: &Config, runs: &[(Scenario, Vec<Record>)]) -> String {
    let mut s = String::new();
    let model = match cfg.price_model {
        PriceModel::Fixed => format!("fixed price ${}", cfg.initial_price),
        PriceModel::Exchange => format!(
            "exchange price (market cap {:.0} epochs of demand, lag {}, from ${})",
            cfg.cap_multiple(),
            cfg.price_lag,
            cfg.initial_price
        ),
    };
    let halving = match cfg.params.halving_epochs {
        0 => "never halving".to_string(),
        h => format!("halving every {h} epochs"),
    };
    let _ = writeln!(
        s,
        "burn-mint over {} epochs: {model}; ${} of demand at the start; {} tokens minted an \
         epoch, {halving}, {}% over work; supply {} tokens",
        cfg.epochs,
        format_units(cfg.demand, USD_DECIMALS),
        format_units(cfg.params.epoch_emission, NATIVE_DECIMALS),
        f64::from(cfg.params.work_share_bps) / 100.0,
        format_units(cfg.initial_supply, NATIVE_DECIMALS),
    );
    let _ = writeln!(
        s,
        "{:<10} {:>16} {:>8} {:>14} {:>14} {:>12} {:>16} {:>17} {:>9}",
        "scenario",
        "final supply",
        "change",
        "minted",
        "burned",
        "final price",
        "first burn≥mint",
        "burn≥mint epochs",
        "saturated"
    );
    for (scenario, records) in runs {
        let t: Totals = sim::totals(cfg.initial_supply, records);
        let change = if cfg.initial_supply > 0 {
            format!(
                "{:+.2}%",
                (tokens(t.final_supply) / tokens(cfg.initial_supply) - 1.0) * 100.0
            )
        } else {
            "-".into()
        };
        let _ = writeln!(
            s,
            "{:<10} {:>16.2} {:>8} {:>14.2} {:>14.2} {:>12} {:>16} {:>17} {:>9}",
            scenario.name(),
            tokens(t.final_supply),
            change,
            tokens(t.minted),
            tokens(t.burned),
            format!("${:.4}", t.final_price),
            t.equilibrium
                .map_or("never".into(), |e| format!("epoch {e}")),
            t.deflationary,
            t.saturated
        );
    }
    s
}
