//! Burn-mint accounting (research notes `shared/research/compute.md` §1.2, Render's RNP-001):
//! usage priced in USD burns native tokens at the oracle price; a fixed schedule mints native
//! tokens each epoch to providers pro rata over work and availability. The minted amount is
//! never a function of the burn (RNP-001's rule against circularity).
//!
//! The ledger ([`super::exec`]) and `symbiont econ simulate` call these same functions.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};

use super::ComputeParams;
use crate::Amount;

/// The emission of epoch `epoch` (from 0): [`ComputeParams::epoch_emission`] halved once per
/// [`ComputeParams::halving_epochs`] epochs.
pub fn emission(params: &ComputeParams, epoch: u64) -> Amount {
    let eras = epoch.checked_div(params.halving_epochs).unwrap_or(0);
    if eras >= 128 {
        return 0;
    }
    params.epoch_emission >> eras
}

/// USD base units per dollar: the stablecoin's 6 decimals, in which burn prices are set.
pub const USD_UNIT: Amount = 1_000_000;

/// Native base units burned for `usd` USD base units at `price` (native base units per whole
/// USD), rounded up: `ceil(usd × price / 10^6)`. Rounding up never burns a whole base unit
/// too much, and a positive price never lets USD usage burn nothing.
pub fn burn_for(usd: Amount, price: Amount) -> Amount {
    let n = U256::from(usd) * U256::from(price);
    let d = U256::from(USD_UNIT);
    let q = n.div_ceil(d);
    Amount::try_from(q).unwrap_or(Amount::MAX)
}

/// What a provider did in an epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contribution {
    /// USD base units of leases it served (work).
    pub work_usd: Amount,
    /// Blocks it served leases for (availability).
    pub blocks: u64,
}

/// Splits `emission` over `contributions`: `work_share_bps` of it pro rata over work, the rest
/// pro rata over blocks served. Shares round down; a pool nobody earned is not minted, and
/// neither is the rounding dust. The result never sums to more than `emission`.
pub fn distribute(
    emission: Amount,
    work_share_bps: u16,
    contributions: &BTreeMap<Address, Contribution>,
) -> BTreeMap<Address, Amount> {
    let bps = Amount::from(work_share_bps.min(10_000));
    let work_pool = mul_div(emission, bps, 10_000);
    let availability_pool = emission - work_pool;
    let total_work = contributions
        .values()
        .fold(0u128, |s, c| s.saturating_add(c.work_usd));
    let total_blocks = contributions
        .values()
        .fold(0u128, |s, c| s.saturating_add(Amount::from(c.blocks)));
    let mut out = BTreeMap::new();
    for (who, c) in contributions {
        let mut share = 0;
        if total_work > 0 {
            share += mul_div(work_pool, c.work_usd, total_work);
        }
        if total_blocks > 0 {
            share += mul_div(availability_pool, Amount::from(c.blocks), total_blocks);
        }
        if share > 0 {
            out.insert(*who, share);
        }
    }
    out
}

/// `a × b / d` rounded down, exact (256-bit intermediate); `b ≤ d` keeps it below `a`.
fn mul_div(a: Amount, b: Amount, d: Amount) -> Amount {
    if d == 0 {
        return 0;
    }
    let q = U256::from(a) * U256::from(b) / U256::from(d);
    Amount::try_from(q).unwrap_or(Amount::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emission_halves_each_era() {
        let p = ComputeParams {
            epoch_emission: 1_000,
            halving_epochs: 10,
            ..ComputeParams::default()
        };
        assert_eq!(emission(&p, 0), 1_000);
        assert_eq!(emission(&p, 9), 1_000);
        assert_eq!(emission(&p, 10), 500);
        assert_eq!(emission(&p, 25), 250);
        assert_eq!(emission(&p, 10 * 200), 0);
        let flat = ComputeParams {
            halving_epochs: 0,
            ..p
        };
        assert_eq!(emission(&flat, 1_000_000), 1_000);
    }

    #[test]
    fn burns_round_up_to_whole_base_units() {
        // $2 per token: 5·10^8 native base units per USD.
        assert_eq!(burn_for(1_000_000, 500_000_000), 500_000_000);
        assert_eq!(burn_for(20, 500_000_000), 10_000);
        // A cent at $3,000 per token: 1/300,000 of a token, rounded up.
        assert_eq!(burn_for(10_000, 333_334), 3_334);
        assert_eq!(burn_for(1, 1), 1);
        assert_eq!(burn_for(0, 500), 0);
        assert_eq!(burn_for(u128::MAX, u128::MAX), u128::MAX);
    }

    #[test]
    fn pools_split_by_work_and_blocks() {
        let a = Address::repeat_byte(1);
        let b = Address::repeat_byte(2);
        let c = BTreeMap::from([
            (
                a,
                Contribution {
                    work_usd: 300,
                    blocks: 10,
                },
            ),
            (
                b,
                Contribution {
                    work_usd: 100,
                    blocks: 30,
                },
            ),
        ]);
        let out = distribute(1_000, 8_000, &c);
        // work pool 800: 600 / 200; availability pool 200: 50 / 150.
        assert_eq!(out[&a], 650);
        assert_eq!(out[&b], 350);
    }

    #[test]
    fn nobody_earned_nothing_minted() {
        let c = BTreeMap::from([(Address::repeat_byte(1), Contribution::default())]);
        assert!(distribute(1_000, 8_000, &c).is_empty());
        assert!(distribute(1_000, 8_000, &BTreeMap::new()).is_empty());
    }

    proptest! {
        #[test]
        fn never_mints_more_than_the_emission(
            emission in 0u128..(1u128 << 100),
            bps in 0u16..=10_000,
            work in proptest::collection::vec((0u128..(1u128 << 90), 0u64..1_000_000), 0..20),
        ) {
            let c: BTreeMap<Address, Contribution> = work
                .iter()
                .enumerate()
                .map(|(i, (w, b))| {
                    let mut a = [0u8; 20];
                    a[0] = u8::try_from(i).unwrap();
                    (Address::from(a), Contribution { work_usd: *w, blocks: *b })
                })
                .collect();
            let out = distribute(emission, bps, &c);
            let total: u128 = out.values().sum();
            prop_assert!(total <= emission);
            // Dust is below one unit per provider and pool.
            let any_work = c.values().any(|c| c.work_usd > 0);
            let any_blocks = c.values().any(|c| c.blocks > 0);
            if any_work && any_blocks {
                prop_assert!(emission - total <= 2 * c.len() as u128);
            }
        }
    }
}
