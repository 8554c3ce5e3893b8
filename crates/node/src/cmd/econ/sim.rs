//! The burn-mint simulation (ADR 0004 "Burn-mint accounting"), pure: parameters in, one record
//! per epoch out. The accounting is the ledger's own, on integer base units:
//! [`bme::emission`] (the schedule), [`bme::distribute`] (what of it is minted) and
//! [`bme::burn_for`] (the burn). Only the demand curves and the price model are `f64`.
//!
//! Each epoch `t`, from the supply `S_t` at its start:
//! 1. demand `D_t` = the starting demand × the [`Scenario`]'s multiplier, rounded to USD base
//!    units (10^-6 USD);
//! 2. the price `P_t` (USD per token) from the [`PriceModel`], set as the oracle price in the
//!    ledger's unit: native base units per USD, `round(10^9 / P_t)`, an integer of at least 1,
//!    so no price above [`MAX_PRICE`];
//! 3. burned = `burn_for(D_t, oracle)`, at most `S_t`: tenants cannot burn tokens that do not
//!    exist, so the burn saturates and the epoch is marked;
//! 4. minted = what `distribute` pays of `emission(t)` (at most the room under the supply cap,
//!    as the ledger does) to the providers. They are modelled as one account under lease every
//!    block of the epoch (availability) that serves all of its demand (work): how the emission is split
//!    among providers changes who holds it, not the supply. With no demand nobody earned the
//!    work pool, so only the availability pool is minted, as on the ledger;
//! 5. `S_{t+1} = S_t − burned + minted`.

use std::collections::BTreeMap;

use ledger::{
    Address, Amount, NATIVE_SUPPLY_CAP,
    compute::{
        ComputeParams,
        bme::{self, Contribution},
    },
};

/// Native base units per token (9 decimals).
pub(crate) const NATIVE_UNIT: f64 = 1e9;
/// USD base units per dollar (6 decimals).
pub(crate) const USD_UNIT: f64 = 1e6;
/// The highest price the simulation sets, in USD per token (the oracle's unit, native base
/// units per USD, expresses up to 10^9; a cap keeps the plots readable).
pub(crate) const MAX_PRICE: f64 = 1e6;

/// A demand curve: USD per epoch as a multiple of the starting demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// The starting demand every epoch.
    Flat,
    /// The starting demand compounding by `--growth` percent per epoch.
    Growth,
    /// Rises linearly to 5× over the first third of the run, falls to 0.2× by its half, and
    /// stays there.
    BoomBust,
    /// No demand: nothing burned, only the availability pool minted.
    None,
}

impl Scenario {
    /// Every scenario, in chart order.
    pub(crate) const ALL: [Scenario; 4] = [
        Scenario::Flat,
        Scenario::Growth,
        Scenario::BoomBust,
        Scenario::None,
    ];

    /// Its name on the command line, in the CSV and on the chart.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Flat => "flat",
            Scenario::Growth => "growth",
            Scenario::BoomBust => "boom-bust",
            Scenario::None => "none",
        }
    }

    /// The demand at `epoch` of `epochs` as a multiple of the starting demand; `growth` is the
    /// growth scenario's rate per epoch (0.01 for 1 %).
    pub(crate) fn multiplier(self, epoch: u64, epochs: u64, growth: f64) -> f64 {
        let t = epoch as f64;
        match self {
            Scenario::Flat => 1.0,
            Scenario::Growth => (1.0 + growth).powf(t),
            Scenario::BoomBust => {
                let (peak, bust) = (5.0, 0.2);
                let top = epochs as f64 / 3.0;
                let bottom = epochs as f64 / 2.0;
                if t < top {
                    1.0 + (peak - 1.0) * t / top
                } else if t < bottom {
                    peak - (peak - bust) * (t - top) / (bottom - top)
                } else {
                    bust
                }
            }
            Scenario::None => 0.0,
        }
    }
}

/// Where the oracle price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PriceModel {
    /// The initial price every epoch.
    Fixed,
    /// The equation of exchange: the market cap is `k` epochs of (smoothed) demand, so
    /// `P = k × D̄ / S`, at least the floor; `k` makes the first price the initial price.
    Exchange,
}

/// What a run is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Config {
    /// The ledger's emission schedule and work share.
    pub params: ComputeParams,
    /// Epochs to run.
    pub epochs: u64,
    /// Native supply at the start, in base units.
    pub initial_supply: Amount,
    /// Demand in the first epoch (the scenarios' unit), USD base units per epoch.
    pub demand: Amount,
    /// USD per token at the start.
    pub initial_price: f64,
    /// The price model.
    pub price_model: PriceModel,
    /// The growth scenario's rate per epoch (0.01 for 1 %).
    pub growth: f64,
    /// Epochs the exchange model's demand average spans (≥ 1; 1: this epoch's demand).
    pub price_lag: u64,
    /// The exchange model's lowest price, USD per token.
    pub price_floor: f64,
}

impl Config {
    /// The exchange model's multiple: the market cap in epochs of demand,
    /// `P_0 × S_0 / D_0` (0 without demand).
    pub(crate) fn cap_multiple(&self) -> f64 {
        let demand = self.demand as f64 / USD_UNIT;
        if demand > 0.0 {
            self.initial_price * (self.initial_supply as f64 / NATIVE_UNIT) / demand
        } else {
            0.0
        }
    }
}

/// One epoch of one scenario. Amounts are base units: native 10^-9, USD 10^-6.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Record {
    pub epoch: u64,
    /// USD base units of work paid for.
    pub demand: Amount,
    /// The model's price, USD per token.
    pub price_usd: f64,
    /// The oracle price it was set as: native base units per USD.
    pub oracle_price: Amount,
    pub supply_start: Amount,
    pub burned: Amount,
    pub minted: Amount,
    pub supply_end: Amount,
    /// The demand would have burned more than the supply.
    pub saturated: bool,
}

/// Runs `scenario` for `cfg.epochs` epochs.
pub(crate) fn simulate(cfg: &Config, scenario: Scenario) -> Vec<Record> {
    let start = cfg.demand as f64;
    let demand: Vec<Amount> = (0..cfg.epochs)
        .map(|t| usd_base(start * scenario.multiplier(t, cfg.epochs, cfg.growth)))
        .collect();
    run(cfg, &demand)
}

/// Runs one epoch per entry of `demand` (USD base units).
pub(crate) fn run(cfg: &Config, demand: &[Amount]) -> Vec<Record> {
    let provider = Address::repeat_byte(1);
    let mut price = Pricing::new(cfg);
    let mut supply = cfg.initial_supply;
    let mut records = Vec::with_capacity(demand.len());
    for (epoch, &demand) in (0u64..).zip(demand) {
        let price_usd = price.next(demand, supply);
        let oracle_price = oracle_price(price_usd);
        let due = bme::burn_for(demand, oracle_price);
        let burned = due.min(supply);
        let after_burn = supply - burned;
        let fleet = BTreeMap::from([(
            provider,
            Contribution {
                work_usd: demand,
                blocks: cfg.params.epoch_blocks,
            },
        )]);
        let room = NATIVE_SUPPLY_CAP.saturating_sub(after_burn);
        let emission = bme::emission(&cfg.params, epoch).min(room);
        let minted = bme::distribute(emission, cfg.params.work_share_bps, &fleet)
            .values()
            .fold(0, |s: Amount, v| s.saturating_add(*v));
        let supply_end = after_burn.saturating_add(minted);
        records.push(Record {
            epoch,
            demand,
            price_usd,
            oracle_price,
            supply_start: supply,
            burned,
            minted,
            supply_end,
            saturated: due > supply,
        });
        supply = supply_end;
    }
    records
}

/// The oracle price for `price` USD per token: native base units per USD, rounded, at least 1.
pub(crate) fn oracle_price(price: f64) -> Amount {
    // `as` saturates; a non-positive or NaN price never gets here (the floor).
    ((NATIVE_UNIT / price).round() as Amount).max(1)
}

/// USD base units of `usd_base` rounded to an integer (negative and NaN to 0).
fn usd_base(usd_base: f64) -> Amount {
    usd_base.round() as Amount
}

/// The price model's state.
enum Pricing {
    Fixed(f64),
    Exchange {
        /// Market cap in epochs of demand.
        k: f64,
        lag: f64,
        floor: f64,
        /// The demand average, USD per epoch.
        average: f64,
    },
}

impl Pricing {
    fn new(cfg: &Config) -> Self {
        match cfg.price_model {
            PriceModel::Fixed => Pricing::Fixed(cfg.initial_price.min(MAX_PRICE)),
            PriceModel::Exchange => Pricing::Exchange {
                k: cfg.cap_multiple(),
                lag: cfg.price_lag.max(1) as f64,
                floor: cfg.price_floor,
                average: cfg.demand as f64 / USD_UNIT,
            },
        }
    }

    /// This epoch's price for its `demand` (USD base units) and the `supply` at its start.
    fn next(&mut self, demand: Amount, supply: Amount) -> f64 {
        match self {
            Pricing::Fixed(p) => *p,
            Pricing::Exchange {
                k,
                lag,
                floor,
                average,
            } => {
                *average += (demand as f64 / USD_UNIT - *average) / *lag;
                let tokens = supply as f64 / NATIVE_UNIT;
                let price = if tokens > 0.0 {
                    *k * *average / tokens
                } else {
                    MAX_PRICE
                };
                price.max(*floor).min(MAX_PRICE)
            }
        }
    }
}

/// A scenario's run in a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Totals {
    pub final_supply: Amount,
    pub minted: Amount,
    pub burned: Amount,
    pub final_price: f64,
    /// The first epoch that burned something and at least what it minted.
    pub equilibrium: Option<u64>,
    /// Epochs that burned something and at least what they minted.
    pub deflationary: u64,
    /// Epochs whose burn was cut to the supply.
    pub saturated: u64,
}

/// Sums up `records` (those of one scenario, from a supply of `initial`).
pub(crate) fn totals(initial: Amount, records: &[Record]) -> Totals {
    Totals {
        final_supply: records.last().map_or(initial, |r| r.supply_end),
        minted: records.iter().fold(0, |s, r| s.saturating_add(r.minted)),
        burned: records.iter().fold(0, |s, r| s.saturating_add(r.burned)),
        final_price: records.last().map_or(0.0, |r| r.price_usd),
        equilibrium: records.iter().find(|r| deflationary(r)).map(|r| r.epoch),
        deflationary: records.iter().filter(|r| deflationary(r)).count() as u64,
        saturated: records.iter().filter(|r| r.saturated).count() as u64,
    }
}

/// Whether `r` burned something and at least what it minted.
fn deflationary(r: &Record) -> bool {
    r.burned > 0 && r.burned >= r.minted
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The command's defaults: 1M tokens at $2, $200 of demand a epoch (the default emission's
    /// worth at $2, so flat demand burns what is minted).
    fn defaults() -> Config {
        Config {
            params: ComputeParams::default(),
            epochs: 520,
            initial_supply: 1_000_000 * 1_000_000_000,
            demand: 200_000_000,
            initial_price: 2.0,
            price_model: PriceModel::Exchange,
            growth: 0.005,
            price_lag: 52,
            price_floor: 0.001,
        }
    }

    fn both_models() -> [Config; 2] {
        let exchange = defaults();
        let fixed = Config {
            price_model: PriceModel::Fixed,
            ..exchange
        };
        [exchange, fixed]
    }

    fn assert_conserves(cfg: &Config, records: &[Record]) {
        assert_eq!(records.len() as u64, cfg.epochs);
        let mut supply = cfg.initial_supply;
        for r in records {
            assert_eq!(r.supply_start, supply, "epoch {}", r.epoch);
            assert_eq!(
                r.supply_end + r.burned,
                r.supply_start + r.minted,
                "epoch {}",
                r.epoch
            );
            assert!(r.burned <= r.supply_start);
            supply = r.supply_end;
        }
    }

    #[test]
    fn supply_is_conserved_every_epoch() {
        for cfg in both_models() {
            for s in Scenario::ALL {
                assert_conserves(&cfg, &simulate(&cfg, s));
            }
        }
    }

    #[test]
    fn no_demand_grows_the_supply_by_the_emission() {
        // With the whole emission paid over availability, `none` mints all of it.
        let cfg = Config {
            params: ComputeParams {
                work_share_bps: 0,
                halving_epochs: 7,
                ..ComputeParams::default()
            },
            epochs: 60,
            ..defaults()
        };
        let total: Amount = (0..60).map(|e| bme::emission(&cfg.params, e)).sum();
        let records = simulate(&cfg, Scenario::None);
        assert!(records.iter().all(|r| r.burned == 0 && r.demand == 0));
        assert_eq!(
            records.last().unwrap().supply_end,
            cfg.initial_supply + total
        );
        // With the default 80 % over work, nobody earned the work pool: 20 % is minted.
        let cfg = Config {
            params: ComputeParams {
                halving_epochs: 7,
                ..ComputeParams::default()
            },
            ..cfg
        };
        let availability: Amount = (0..60)
            .map(|e| {
                let emission = bme::emission(&cfg.params, e);
                emission - emission * 8_000 / 10_000
            })
            .sum();
        let records = simulate(&cfg, Scenario::None);
        assert_eq!(
            records.last().unwrap().supply_end,
            cfg.initial_supply + availability
        );
    }

    #[test]
    fn minted_does_not_depend_on_demand() {
        let minted = |cfg: &Config, s: Scenario| -> Vec<Amount> {
            simulate(cfg, s).iter().map(|r| r.minted).collect()
        };
        let params = ComputeParams {
            halving_epochs: 100,
            ..ComputeParams::default()
        };
        let base = Config {
            params,
            ..defaults()
        };
        let reference = minted(&base, Scenario::Flat);
        assert_eq!(reference[99], params.epoch_emission);
        assert_eq!(reference[100], params.epoch_emission / 2);
        for model in [PriceModel::Exchange, PriceModel::Fixed] {
            for demand in [200_000_000, 50_000_000_000] {
                let cfg = Config {
                    price_model: model,
                    demand,
                    ..base
                };
                for s in [Scenario::Flat, Scenario::Growth, Scenario::BoomBust] {
                    assert_eq!(minted(&cfg, s), reference, "{model:?} {demand} {s:?}");
                }
            }
        }
    }

    #[test]
    fn the_burn_is_burn_for_the_demand_at_the_oracle_price() {
        for cfg in both_models() {
            for s in Scenario::ALL {
                for r in simulate(&cfg, s) {
                    assert_eq!(r.oracle_price, oracle_price(r.price_usd));
                    assert_eq!(
                        r.burned,
                        bme::burn_for(r.demand, r.oracle_price).min(r.supply_start)
                    );
                }
            }
        }
        // At a fixed $2 the oracle price is the ledger's default and $200 burns 100 tokens.
        let fixed = both_models()[1];
        for r in simulate(&fixed, Scenario::Flat) {
            assert_eq!(r.oracle_price, ComputeParams::default().oracle_price);
            assert_eq!(r.burned, 100_000_000_000);
        }
    }

    #[test]
    fn flat_demand_worth_the_emission_holds_the_supply() {
        for cfg in both_models() {
            let records = simulate(&cfg, Scenario::Flat);
            assert!(records.iter().all(|r| r.supply_end == cfg.initial_supply));
            assert_eq!(totals(cfg.initial_supply, &records).equilibrium, Some(0));
        }
    }

    #[test]
    fn exchange_starts_at_the_initial_price() {
        let cfg = defaults();
        for s in [Scenario::Flat, Scenario::Growth, Scenario::BoomBust] {
            assert_eq!(simulate(&cfg, s)[0].price_usd, 2.0);
        }
    }

    #[test]
    fn without_lag_the_exchange_burn_ignores_demand() {
        // Burned tokens = D / P = S / k: demand moves the price, not the supply.
        let cfg = Config {
            epochs: 100,
            price_lag: 1,
            ..defaults()
        };
        let flat = simulate(&cfg, Scenario::Flat).last().unwrap().supply_end as f64;
        for s in [Scenario::Growth, Scenario::BoomBust] {
            let end = simulate(&cfg, s).last().unwrap().supply_end as f64;
            assert!((end / flat - 1.0).abs() < 0.001, "{s:?}: {end} vs {flat}");
        }
        // With a lag the price trails rising demand, so growth burns more.
        let lagged = Config {
            price_lag: 52,
            ..cfg
        };
        let flat = simulate(&lagged, Scenario::Flat).last().unwrap().supply_end;
        let growth = simulate(&lagged, Scenario::Growth)
            .last()
            .unwrap()
            .supply_end;
        assert!(growth < flat);
    }

    #[test]
    fn a_burn_beyond_the_supply_saturates() {
        let cfg = Config {
            price_model: PriceModel::Fixed,
            initial_supply: 1_000 * 1_000_000_000,
            demand: 1_000_000 * 1_000_000,
            epochs: 5,
            ..defaults()
        };
        let records = simulate(&cfg, Scenario::Flat);
        assert_conserves(&cfg, &records);
        for r in &records {
            assert!(r.saturated);
            assert_eq!(r.burned, r.supply_start);
            assert_eq!(r.supply_end, r.minted);
        }
        assert_eq!(totals(cfg.initial_supply, &records).saturated, 5);
    }

    #[test]
    fn prices_stay_within_what_the_oracle_expresses() {
        assert_eq!(oracle_price(2.0), 500_000_000);
        assert_eq!(oracle_price(3.0), 333_333_333);
        assert_eq!(oracle_price(MAX_PRICE), 1_000);
        assert_eq!(oracle_price(f64::INFINITY), 1);
        assert_eq!(oracle_price(0.001), 1_000_000_000_000);
        // Zero demand: the average decays until the floor holds the price.
        let cfg = Config {
            price_lag: 1,
            ..defaults()
        };
        let records = simulate(&cfg, Scenario::None);
        assert!(records.iter().all(|r| r.price_usd == cfg.price_floor));
    }

    #[test]
    fn totals_sum_the_records() {
        let cfg = Config {
            price_model: PriceModel::Fixed,
            ..defaults()
        };
        let records = simulate(&cfg, Scenario::Growth);
        let t = totals(cfg.initial_supply, &records);
        assert_eq!(
            t.final_supply + t.burned,
            cfg.initial_supply + t.minted,
            "{t:?}"
        );
        // Growing demand at a fixed price passes the emission's worth at once.
        assert_eq!(t.equilibrium, Some(0));
        let none = totals(cfg.initial_supply, &simulate(&cfg, Scenario::None));
        assert_eq!(none.equilibrium, None);
        assert_eq!(none.burned, 0);
    }

    #[test]
    fn boom_bust_rises_peaks_and_settles() {
        let m = |t| Scenario::BoomBust.multiplier(t, 600, 0.0);
        assert_eq!(m(0), 1.0);
        assert!(m(100) > 1.0 && m(100) < 5.0);
        assert_eq!(m(200), 5.0);
        assert!(m(250) < 5.0);
        assert_eq!(m(300), 0.2);
        assert_eq!(m(599), 0.2);
    }

    proptest! {
        #[test]
        fn conserved_for_any_parameters(
            epochs in 1u64..80,
            supply in 0u128..(NATIVE_SUPPLY_CAP + 1),
            demand in 1u128..(1u128 << 60),
            price in 0.001f64..1_000.0,
            fixed in any::<bool>(),
            emission in 0u128..(1u128 << 50),
            halving in 0u64..40,
            bps in 0u16..=10_000,
            lag in 1u64..100,
            growth in 0.0f64..0.2,
        ) {
            let cfg = Config {
                params: ComputeParams {
                    epoch_emission: emission,
                    halving_epochs: halving,
                    work_share_bps: bps,
                    ..ComputeParams::default()
                },
                epochs,
                initial_supply: supply,
                demand,
                initial_price: price,
                price_model: if fixed { PriceModel::Fixed } else { PriceModel::Exchange },
                growth,
                price_lag: lag,
                price_floor: 0.001,
            };
            for s in Scenario::ALL {
                let records = simulate(&cfg, s);
                prop_assert_eq!(records.len() as u64, epochs);
                let mut at = supply;
                for r in &records {
                    prop_assert_eq!(r.supply_start, at);
                    prop_assert_eq!(r.supply_end + r.burned, r.supply_start + r.minted);
                    prop_assert!(r.minted <= bme::emission(&cfg.params, r.epoch));
                    prop_assert!(r.supply_end <= NATIVE_SUPPLY_CAP);
                    prop_assert!(r.oracle_price >= 1);
                    at = r.supply_end;
                }
            }
        }
    }
}
