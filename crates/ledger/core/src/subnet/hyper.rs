//! Owner-settable hyperparameters (subtensor's `sudo_set_*` for subnet owners): each by
//! name, within bounds, at most once per [`OWNER_RATE_LIMIT_TEMPOS`] tempos per parameter,
//! and never inside the [`FREEZE_WINDOW`] before an epoch (research notes §1.1, §2).

use super::{Hyperparams, Subnet, UNIT};
use crate::error::Reject;

/// Tempos between two changes of the same parameter (`OwnerHyperparamRateLimit`).
pub const OWNER_RATE_LIMIT_TEMPOS: u64 = 2;
/// Blocks before an epoch during which owners cannot change hyperparameters
/// (`AdminFreezeWindow`).
pub const FREEZE_WINDOW: u64 = 10;
/// The shortest tempo. Subtensor's `MIN_TEMPO` is 360; the devnet allows 10 so that a subnet
/// lifecycle runs in seconds (ADR 0001).
pub const MIN_TEMPO: u64 = 10;
/// The longest tempo (`MAX_TEMPO`).
pub const MAX_TEMPO: u64 = 50_400;

/// The names [`Hyperparams::set`] accepts.
pub const NAMES: &[&str] = &[
    "tempo",
    "maxUids",
    "immunityPeriod",
    "kappa",
    "bondsPenalty",
    "bondsMovingAverage",
    "activityCutoff",
    "maxValidators",
    "liquidAlpha",
    "alphaLow",
    "alphaHigh",
    "yuma3",
    "weightsRateLimit",
    "minAllowedWeights",
    "weightsVersionKey",
    "minBurn",
    "maxBurn",
    "burnHalfLife",
    "commitReveal",
];

fn out_of_bounds(name: &str, value: u64, bounds: &str) -> Reject {
    Reject::InvalidCall {
        reason: format!("{name} = {value} is out of bounds ({bounds})"),
    }
}

fn within(name: &str, value: u64, lo: u64, hi: u64) -> Result<u64, Reject> {
    if value < lo || value > hi {
        return Err(out_of_bounds(name, value, &format!("{lo}..={hi}")));
    }
    Ok(value)
}

fn u16_of(name: &str, value: u64, lo: u16, hi: u16) -> Result<u16, Reject> {
    let v = within(name, value, u64::from(lo), u64::from(hi))?;
    u16::try_from(v).map_err(|_| out_of_bounds(name, value, "u16"))
}

fn flag(name: &str, value: u64) -> Result<bool, Reject> {
    Ok(within(name, value, 0, 1)? == 1)
}

impl Hyperparams {
    /// Sets `name` to `value` if within subtensor's bounds; `n` is the subnet's neuron count.
    pub fn set(&mut self, name: &str, value: u64, n: usize) -> Result<(), Reject> {
        let n = u16::try_from(n).unwrap_or(u16::MAX).max(1);
        match name {
            "tempo" => {
                self.tempo = u16_of(name, value, MIN_TEMPO as u16, u16::MAX)?;
                within(name, value, MIN_TEMPO, MAX_TEMPO)?;
            }
            "maxUids" => self.max_uids = u16_of(name, value, n, 256)?,
            "immunityPeriod" => self.immunity_period = within(name, value, 0, 1_296_000)?,
            "kappa" => self.kappa = u16_of(name, value, 0, u16::MAX)?,
            "bondsPenalty" => self.bonds_penalty = u16_of(name, value, 0, u16::MAX)?,
            "bondsMovingAverage" => {
                self.bonds_moving_average = within(name, value, 0, 975_000)?;
            }
            "activityCutoff" => self.activity_cutoff = within(name, value, 1, u64::MAX)?,
            "maxValidators" => {
                self.max_validators = u16_of(name, value, 1, self.max_uids)?;
            }
            "liquidAlpha" => self.liquid_alpha = flag(name, value)?,
            "alphaLow" => self.alpha_low = u16_of(name, value, 1_638, self.alpha_high)?,
            "alphaHigh" => self.alpha_high = u16_of(name, value, self.alpha_low, u16::MAX)?,
            "yuma3" => self.yuma3 = flag(name, value)?,
            "weightsRateLimit" => self.weights_rate_limit = value,
            "minAllowedWeights" => {
                self.min_allowed_weights = u16_of(name, value, 0, self.max_uids)?;
            }
            "weightsVersionKey" => self.weights_version_key = value,
            "minBurn" => {
                let hi = u64::try_from(UNIT.min(self.max_burn)).unwrap_or(u64::MAX);
                self.min_burn = u128::from(within(name, value, 0, hi)?);
            }
            "maxBurn" => {
                let lo = u64::try_from((UNIT / 10).max(self.min_burn)).unwrap_or(u64::MAX);
                self.max_burn = u128::from(within(name, value, lo, u64::MAX)?);
            }
            "burnHalfLife" => self.burn_half_life = within(name, value, 1, u64::MAX)?,
            "commitReveal" => self.commit_reveal = flag(name, value)?,
            _ => {
                return Err(Reject::InvalidCall {
                    reason: format!(
                        "unknown hyperparameter {name:?}; one of {}",
                        NAMES.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

impl Subnet {
    /// Checks that `caller` may change `name` at `block` and returns the changed subnet.
    pub fn with_hyperparameter(
        &self,
        caller: &alloy_primitives::Address,
        name: &str,
        value: u64,
        block: u64,
    ) -> Result<Subnet, Reject> {
        if *caller != self.owner {
            return Err(Reject::InvalidCall {
                reason: format!("only the owner {} sets hyperparameters", self.owner),
            });
        }
        if self.blocks_until_next_epoch(block) < FREEZE_WINDOW {
            return Err(Reject::RateLimited {
                reason: format!(
                    "hyperparameters are frozen {FREEZE_WINDOW} blocks before an epoch"
                ),
            });
        }
        let limit = OWNER_RATE_LIMIT_TEMPOS.saturating_mul(u64::from(self.hyperparams.tempo));
        if let Some(last) = self.hyperparams_set_at.get(name) {
            let since = block.saturating_sub(*last);
            if since < limit {
                return Err(Reject::RateLimited {
                    reason: format!("{name} was set {since} blocks ago; the limit is {limit}"),
                });
            }
        }
        let mut s = self.clone();
        s.hyperparams.set(name, value, self.neurons.len())?;
        s.hyperparams_set_at.insert(name.to_owned(), block);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bounds() {
        let mut h = Hyperparams::default();
        assert!(h.set("tempo", 9, 1).is_err());
        assert!(h.set("tempo", 50_401, 1).is_err());
        h.set("tempo", 10, 1).unwrap();
        assert_eq!(h.tempo, 10);
        assert!(h.set("maxUids", 257, 1).is_err());
        assert!(h.set("maxUids", 3, 4).is_err(), "not below the current n");
        assert!(h.set("alphaLow", 1_000, 1).is_err());
        assert!(h.set("alphaLow", 60_000, 1).is_err(), "above alpha high");
        assert!(h.set("bondsMovingAverage", 975_001, 1).is_err());
        assert!(h.set("yuma3", 2, 1).is_err());
        h.set("yuma3", 0, 1).unwrap();
        assert!(!h.yuma3);
        assert!(h.set("minBurn", 2 * UNIT as u64, 1).is_err());
        assert!(h.set("nope", 0, 1).is_err());
        for name in NAMES {
            let mut h = Hyperparams::default();
            let v = match *name {
                "maxValidators" | "minAllowedWeights" | "maxUids" => 64,
                "alphaLow" => 2_000,
                "alphaHigh" => 60_000,
                "liquidAlpha" | "yuma3" | "commitReveal" => 1,
                "tempo" => 100,
                "maxBurn" => UNIT as u64,
                _ => 1,
            };
            h.set(name, v, 1).unwrap();
        }
    }
}
