//! A subnet's market and the per-block emission (research notes §3.2, §4): the pool, the
//! moving price, the net native flow, and the alpha emitted each block but paid out only at
//! the epoch.
//!
//! This is the part of a subnet that changes every block. It is kept apart from
//! [`super::Subnet`] (the metagraph) so that a block rewrites a few hundred bytes per subnet,
//! not every neuron's weights and bonds.
//!
//! Each block, before its transactions ([`emit_block`]):
//! 1. the last block's net flow enters the flow EMA;
//! 2. the native block emission (halving by native issuance, [`super::epoch::block_emission`])
//!    is split across subnets in proportion to their moving prices (subtensor since 2026-06),
//!    or to their positive flow EMAs under [`ShareRule::Taoflow`] (2025-11 → 2026-06);
//! 3. each subnet's share enters its pool at an unchanged price: `alpha_in = tao / price`,
//!    capped at `min(alpha_emission, block_emission)`; when capped, the excess native tokens buy
//!    alpha from the pool without fee (a "chain buy") and that alpha is held by the protocol;
//! 4. the subnet's own alpha emission (halving by its alpha issuance) is set aside: 18 % for the
//!    owner, the rest for the epoch to split between miners and validators;
//! 5. the moving price steps toward the spot price (capped at 1.0).

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};

use super::{
    Pool,
    epoch::{ISSUANCE_CAP, OWNER_CUT, block_emission},
    pool::{MIN_RESERVE, mul_div},
};
use crate::{
    Amount,
    util::{amount_str, i128_str},
};

/// Scale of [`Market::moving_price`]: 10¹⁸ is a price of one native token per alpha.
pub const MOVING_SCALE: u128 = 1_000_000_000_000_000_000;
/// `SubnetMovingPrice` steps with `α = 3·10⁻⁶ · b / (b + 201 600)`, `b` the subnet's age in
/// blocks: numerator per block of age, and the denominator's scale and offset.
const MOVING_ALPHA_NUMERATOR: u128 = 3;
const MOVING_ALPHA_SCALE: u128 = 1_000_000;
const MOVING_HALF_BLOCKS: u128 = 201_600;
/// The flow EMA's smoothing factor, `29 597 889 189 277 / 2⁶³` ≈ 3.2·10⁻⁶ (about a 30-day
/// half-life at 12 s blocks).
const FLOW_FACTOR: u128 = 29_597_889_189_277;
/// [`Market::flow_ema`] is in native base units shifted left by this many bits (I96F32-like).
pub const FLOW_FRACTION_BITS: usize = 32;

/// How the native block emission is split across subnets (a chain parameter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShareRule {
    /// In proportion to each subnet's moving price (subtensor since 2026-06).
    #[default]
    MovingPrice,
    /// In proportion to each subnet's positive net-flow EMA (Taoflow, 2025-11 → 2026-06);
    /// falls back to moving prices while no subnet has a positive flow.
    Taoflow,
}

/// What entered a subnet's pool since its last epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    /// Native emission added to the native reserve at unchanged price.
    #[serde(with = "amount_str")]
    pub tao_in: Amount,
    /// Alpha added to the alpha reserve with it.
    #[serde(with = "amount_str")]
    pub alpha_in: Amount,
    /// Native emission spent on fee-free chain buys (it ends in the native reserve too).
    #[serde(with = "amount_str")]
    pub chain_buy_tao: Amount,
    /// Alpha those chain buys took out of the pool (now protocol alpha).
    #[serde(with = "amount_str")]
    pub chain_buy_alpha: Amount,
}

/// A subnet's market.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Market {
    /// The pool.
    pub pool: Pool,
    /// `SubnetMovingPrice`: the EMA of `min(spot, 1)` on [`MOVING_SCALE`].
    #[serde(with = "amount_str")]
    pub moving_price: u128,
    /// Net native flow into the pool during the current block (stake and registration in,
    /// unstake out), in native base units.
    #[serde(with = "i128_str")]
    pub block_flow: i128,
    /// `SubnetTaoFlow`'s EMA of [`Market::block_flow`], in native base units shifted left by
    /// [`FLOW_FRACTION_BITS`].
    #[serde(with = "i128_str")]
    pub flow_ema: i128,
    /// Alpha bought by the protocol with excess emission (`SubnetProtocolAlpha`).
    #[serde(with = "amount_str")]
    pub protocol_alpha: Amount,
    /// Alpha emitted for the owner, paid at the next epoch.
    #[serde(with = "amount_str")]
    pub pending_owner: Amount,
    /// Alpha emitted for miners and validators, split by the next epoch.
    #[serde(with = "amount_str")]
    pub pending_neurons: Amount,
    /// What entered the pool since the last epoch.
    pub since_epoch: Injected,
    /// The native emission this subnet received in the last block.
    #[serde(with = "amount_str")]
    pub last_tao_emission: Amount,
}

impl Market {
    /// A market whose pool is seeded with `lock` on both sides (price 1, ADR 0001).
    pub fn seeded(lock: Amount) -> Self {
        Market {
            pool: Pool {
                tao: lock,
                alpha: lock,
            },
            ..Market::default()
        }
    }

    /// Alpha the market holds or owes: the pool reserve, protocol alpha and pending emission.
    pub fn alpha_held(&self) -> Amount {
        self.pool
            .alpha
            .saturating_add(self.protocol_alpha)
            .saturating_add(self.pending_owner)
            .saturating_add(self.pending_neurons)
    }

    /// Records native tokens entering (`+`) or leaving (`−`) the pool through a transaction.
    pub fn record_flow(&mut self, native: i128) {
        self.block_flow = self.block_flow.saturating_add(native);
    }

    /// The spot price capped at 1.0, on [`MOVING_SCALE`].
    fn capped_spot(&self) -> u128 {
        if self.pool.alpha == 0 {
            return 0;
        }
        mul_div(self.pool.tao, MOVING_SCALE, self.pool.alpha)
            .unwrap_or(u128::MAX)
            .min(MOVING_SCALE)
    }

    /// One step of the moving price at subnet age `age` blocks.
    fn step_moving_price(&mut self, age: u64) {
        let b = u128::from(age);
        let num = MOVING_ALPHA_NUMERATOR.saturating_mul(b);
        let den = MOVING_ALPHA_SCALE.saturating_mul(b.saturating_add(MOVING_HALF_BLOCKS));
        let v = U256::from(num) * U256::from(self.capped_spot())
            + U256::from(den.saturating_sub(num)) * U256::from(self.moving_price);
        self.moving_price = u128::try_from(v / U256::from(den)).unwrap_or(MOVING_SCALE);
    }

    /// Folds the last block's flow into the flow EMA and starts a new block.
    fn step_flow(&mut self) {
        let one = I256::ONE << 63;
        let f = I256::try_from(FLOW_FACTOR).unwrap_or(I256::ZERO);
        let flow = I256::try_from(self.block_flow).unwrap_or(I256::ZERO) << FLOW_FRACTION_BITS;
        let old = I256::try_from(self.flow_ema).unwrap_or(I256::ZERO);
        let v = (f * flow + (one - f) * old).asr(63);
        self.flow_ema = i128::try_from(v).unwrap_or(if v.is_negative() {
            i128::MIN
        } else {
            i128::MAX
        });
        self.block_flow = 0;
    }
}

/// A subnet as the block emission sees it.
#[derive(Debug)]
pub struct Emitting<'a> {
    /// Its market, updated in place.
    pub market: &'a mut Market,
    /// Alpha held by its stakers (`SubnetAlphaOut`).
    pub alpha_out: Amount,
    /// Blocks since it was created.
    pub age: u64,
}

/// What one block's emission did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockEmission {
    /// The native block emission at the native issuance before the block.
    pub block_emission: Amount,
    /// Native tokens minted into the pools (at most `block_emission`; rounding keeps the rest
    /// unminted).
    pub minted: Amount,
}

/// Runs one block's emission over every subnet (see the module documentation) and returns
/// what it minted in native tokens; the caller adds that to the native supply.
pub fn emit_block(
    subnets: &mut [Emitting<'_>],
    native_issuance: Amount,
    rule: ShareRule,
) -> BlockEmission {
    for s in subnets.iter_mut() {
        s.market.step_flow();
    }
    let e = block_emission(native_issuance).min(ISSUANCE_CAP.saturating_sub(native_issuance));
    let shares = shares(subnets, rule);
    let total: U256 = shares.iter().fold(U256::ZERO, |a, w| a + *w);
    let mut minted: Amount = 0;
    for (s, w) in subnets.iter_mut().zip(&shares) {
        let tao = if total.is_zero() {
            0
        } else {
            u128::try_from(U256::from(e) * *w / total).unwrap_or(0)
        };
        minted = minted.saturating_add(inject(s, tao, e));
        emit_alpha(s);
        s.market.step_moving_price(s.age);
    }
    BlockEmission {
        block_emission: e,
        minted,
    }
}

/// The share weights of `rule`: moving prices (spot prices while every moving price is 0, as
/// on a new chain; equal shares while those are 0 too), or positive flow EMAs.
fn shares(subnets: &[Emitting<'_>], rule: ShareRule) -> Vec<U256> {
    if rule == ShareRule::Taoflow {
        let flows: Vec<U256> = subnets
            .iter()
            .map(|s| U256::from(u128::try_from(s.market.flow_ema.max(0)).unwrap_or(0)))
            .collect();
        if flows.iter().any(|w| !w.is_zero()) {
            return flows;
        }
    }
    let moving: Vec<U256> = subnets
        .iter()
        .map(|s| U256::from(s.market.moving_price))
        .collect();
    if moving.iter().any(|w| !w.is_zero()) {
        return moving;
    }
    let spot: Vec<U256> = subnets
        .iter()
        .map(|s| U256::from(s.market.capped_spot()))
        .collect();
    if spot.iter().any(|w| !w.is_zero()) {
        return spot;
    }
    vec![U256::from(1u8); subnets.len()]
}

/// Puts `tao` native emission into the subnet's pool (step 3) and returns what was minted.
fn inject(s: &mut Emitting<'_>, tao: Amount, block_emission: Amount) -> Amount {
    let m = &mut *s.market;
    m.last_tao_emission = 0;
    if tao == 0 || m.pool.tao == 0 || m.pool.alpha == 0 {
        return 0;
    }
    let cap = alpha_emission(m, s.alpha_out).min(block_emission);
    let mut alpha_in = mul_div(tao, m.pool.alpha, m.pool.tao).unwrap_or(u128::MAX);
    let mut tao_in = tao;
    if alpha_in > cap {
        alpha_in = cap;
        tao_in = mul_div(cap, m.pool.tao, m.pool.alpha).unwrap_or(0).min(tao);
    }
    m.pool.tao = m.pool.tao.saturating_add(tao_in);
    m.pool.alpha = m.pool.alpha.saturating_add(alpha_in);
    m.since_epoch.tao_in = m.since_epoch.tao_in.saturating_add(tao_in);
    m.since_epoch.alpha_in = m.since_epoch.alpha_in.saturating_add(alpha_in);
    let mut minted = tao_in;
    let excess = tao - tao_in;
    if excess > 0 {
        // A fee-free chain buy; skipped (and the excess not minted) if it would drain the
        // alpha reserve.
        let bought = mul_div(m.pool.alpha, excess, m.pool.tao.saturating_add(excess)).unwrap_or(0);
        if bought > 0 && m.pool.alpha - bought >= MIN_RESERVE {
            m.pool.tao = m.pool.tao.saturating_add(excess);
            m.pool.alpha -= bought;
            m.protocol_alpha = m.protocol_alpha.saturating_add(bought);
            m.since_epoch.chain_buy_tao = m.since_epoch.chain_buy_tao.saturating_add(excess);
            m.since_epoch.chain_buy_alpha = m.since_epoch.chain_buy_alpha.saturating_add(bought);
            minted = minted.saturating_add(excess);
        }
    }
    m.last_tao_emission = minted;
    minted
}

/// The subnet's alpha emission this block: the halving function at its alpha issuance
/// (stakers' alpha plus what the market holds), never past the cap.
fn alpha_emission(m: &Market, alpha_out: Amount) -> Amount {
    let issuance = alpha_out.saturating_add(m.alpha_held());
    block_emission(issuance).min(ISSUANCE_CAP.saturating_sub(issuance))
}

/// Sets aside the block's alpha emission (step 4): the owner's cut and the neurons' part.
fn emit_alpha(s: &mut Emitting<'_>) {
    let emitted = alpha_emission(s.market, s.alpha_out);
    let owner = emitted.saturating_mul(OWNER_CUT.0) / OWNER_CUT.1;
    let m = &mut *s.market;
    m.pending_owner = m.pending_owner.saturating_add(owner);
    m.pending_neurons = m.pending_neurons.saturating_add(emitted - owner);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::subnet::{UNIT, epoch::BASE_EMISSION};

    fn market(tao: Amount, alpha: Amount) -> Market {
        Market {
            pool: Pool { tao, alpha },
            ..Market::default()
        }
    }

    fn run(markets: &mut [Market], rule: ShareRule, issuance: Amount) -> BlockEmission {
        let mut e: Vec<Emitting<'_>> = markets
            .iter_mut()
            .map(|m| Emitting {
                market: m,
                alpha_out: 0,
                age: 1_000,
            })
            .collect();
        emit_block(&mut e, issuance, rule)
    }

    #[test]
    fn first_block_splits_by_spot_price_at_unchanged_prices() {
        // Price 1 and price 0.5: shares 2:1.
        let mut m = [
            market(100 * UNIT, 100 * UNIT),
            market(50 * UNIT, 100 * UNIT),
        ];
        let before: Vec<u128> = m.iter().map(|m| m.pool.price()).collect();
        let out = run(&mut m, ShareRule::MovingPrice, 0);
        assert_eq!(out.block_emission, BASE_EMISSION);
        assert_eq!(m[0].last_tao_emission, BASE_EMISSION * 2 / 3);
        assert_eq!(m[1].last_tao_emission, BASE_EMISSION / 3);
        assert_eq!(out.minted, m[0].last_tao_emission + m[1].last_tao_emission);
        for (m, p) in m.iter().zip(before) {
            assert!(m.pool.price().abs_diff(p) <= 1, "injection moves no price");
            assert_eq!(m.protocol_alpha, 0);
            let owner = BASE_EMISSION * 11_796 / 65_535;
            assert_eq!(m.pending_owner, owner);
            assert_eq!(m.pending_neurons, BASE_EMISSION - owner);
            assert!(m.moving_price > 0);
        }
    }

    #[test]
    fn a_cheap_alpha_is_capped_and_the_excess_buys_alpha() {
        // Price 0.1: one token of emission would inject 10 alpha, over the 1-alpha cap.
        let mut m = [market(10 * UNIT, 100 * UNIT)];
        let out = run(&mut m, ShareRule::MovingPrice, 0);
        let s = m[0].since_epoch;
        assert_eq!(s.alpha_in, BASE_EMISSION);
        assert_eq!(s.tao_in, BASE_EMISSION / 10);
        assert_eq!(s.chain_buy_tao, BASE_EMISSION - s.tao_in);
        assert_eq!(m[0].protocol_alpha, s.chain_buy_alpha);
        assert!(s.chain_buy_alpha > 0);
        assert_eq!(out.minted, BASE_EMISSION);
        assert!(
            m[0].pool.price() > 100_000_000,
            "the chain buy lifts the price"
        );
    }

    #[test]
    fn emission_halves_with_native_issuance() {
        let mut m = [market(100 * UNIT, 100 * UNIT)];
        let out = run(&mut m, ShareRule::MovingPrice, ISSUANCE_CAP / 2);
        assert_eq!(out.block_emission, BASE_EMISSION / 2);
        let mut m = [market(100 * UNIT, 100 * UNIT)];
        let out = run(&mut m, ShareRule::MovingPrice, ISSUANCE_CAP);
        assert_eq!(out.minted, 0);
    }

    #[test]
    fn taoflow_follows_positive_flow_and_falls_back_to_prices() {
        let mut m = [
            market(100 * UNIT, 100 * UNIT),
            market(100 * UNIT, 100 * UNIT),
        ];
        m[0].record_flow(-5 * UNIT as i128);
        m[1].record_flow(5 * UNIT as i128);
        run(&mut m, ShareRule::Taoflow, 0);
        assert!(m[0].flow_ema < 0 && m[1].flow_ema > 0);
        assert_eq!(m[0].last_tao_emission, 0);
        assert_eq!(m[1].last_tao_emission, BASE_EMISSION);
        assert_eq!(m[1].block_flow, 0, "a new block starts with no flow");
        // Nobody has a positive flow: moving prices decide.
        let mut m = [
            market(100 * UNIT, 100 * UNIT),
            market(100 * UNIT, 100 * UNIT),
        ];
        run(&mut m, ShareRule::Taoflow, 0);
        assert_eq!(m[0].last_tao_emission, BASE_EMISSION / 2);
    }

    #[test]
    fn moving_price_creeps_toward_a_capped_spot() {
        let mut m = market(300 * UNIT, 100 * UNIT); // spot 3.0, capped at 1.0
        for age in 1..=1_000 {
            m.step_moving_price(age);
        }
        assert!(m.moving_price > 0 && m.moving_price < MOVING_SCALE / 1_000);
        let mut n = market(300 * UNIT, 100 * UNIT);
        n.moving_price = MOVING_SCALE;
        n.step_moving_price(1_000_000);
        assert_eq!(n.moving_price, MOVING_SCALE, "the cap holds a price of 1.0");
    }
}
