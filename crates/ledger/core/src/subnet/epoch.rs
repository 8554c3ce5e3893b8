//! Epochs (research notes §1.1, §1.6, §3.1): every `tempo` blocks a subnet runs the Yuma epoch
//! from the `yuma` crate on its stored u16 weights and bonds, stores the outputs, and pays the
//! alpha its [`Market`] set aside block by block ([`super::market`]): 18 % to the owner, the
//! rest split by the epoch (50 % incentive to miners, 50 % dividends to validators, who keep
//! their take and share the rest with their nominators).

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::{Market, NetUid, Neuron, Subnet, market::Injected, pool::mul_div};
use crate::{Amount, util::amount_str};

/// The alpha and native tokens' cap: 21 000 000 tokens of 10⁹ base units.
pub const ISSUANCE_CAP: Amount = 21_000_000 * 1_000_000_000;
/// Emission per block before the first halving: one token.
pub const BASE_EMISSION: Amount = 1_000_000_000;
/// The owner's cut, `SubnetOwnerCut` = 11 796 / 65 535 ≈ 18 %.
pub const OWNER_CUT: (Amount, Amount) = (11_796, 65_535);

/// Emission per block at `issuance` (§3.1): `floor(10⁹ / 2^floor(log2(1 / (1 − issuance/cap))))`,
/// 0 once the cap is reached. Exact: the halving count is the largest `h` with
/// `2^h · (cap − issuance) ≤ cap`.
pub fn block_emission(issuance: Amount) -> Amount {
    if issuance >= ISSUANCE_CAP {
        return 0;
    }
    let rest = ISSUANCE_CAP - issuance;
    let mut halvings = 0u32;
    while halvings < 64
        && rest
            .checked_shl(halvings + 1)
            .is_some_and(|v| v <= ISSUANCE_CAP)
    {
        halvings += 1;
    }
    BASE_EMISSION.checked_shr(halvings).unwrap_or(0)
}

/// The validator take: the part of a hotkey's dividends it keeps before the rest is shared
/// with everyone staked behind it (`DefaultDelegateTake` = 11 796 / 65 535 ≈ 18 %).
pub const VALIDATOR_TAKE: (Amount, Amount) = (11_796, 65_535);

/// One neuron's part of an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeuronEpoch {
    /// Its uid.
    pub uid: u16,
    /// Its account.
    pub account: Address,
    /// Incentive, u16 proportion.
    pub incentive: u16,
    /// Dividends, u16 proportion.
    pub dividends: u16,
    /// Alpha it earned: incentive and dividends (before sharing dividends with nominators).
    #[serde(with = "amount_str")]
    pub emission: Amount,
}

/// An epoch as the emission history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochRecord {
    /// The subnet.
    pub netuid: NetUid,
    /// The block the epoch ran at.
    pub block: u64,
    /// What entered the pool since the previous epoch.
    pub injected: Injected,
    /// Alpha paid to the owner.
    #[serde(with = "amount_str")]
    pub owner_cut: Amount,
    /// Alpha paid to miners as incentive.
    #[serde(with = "amount_str")]
    pub incentive: Amount,
    /// Alpha paid to validators as dividends (the takes and the nominators' shares included).
    #[serde(with = "amount_str")]
    pub dividends: Amount,
    /// The part of the dividends validators kept as their take.
    #[serde(with = "amount_str")]
    pub take: Amount,
    /// Each neuron's part.
    pub neurons: Vec<NeuronEpoch>,
    /// The subnet's revenue (x402 payments to [`super::revenue_account`]) split at this epoch,
    /// one entry per asset.
    #[serde(default)]
    pub revenue: Vec<RevenueSplit>,
}

/// One asset of revenue split at an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevenueSplit {
    /// The asset.
    pub asset: Address,
    /// To the owner.
    #[serde(with = "amount_str")]
    pub owner: Amount,
    /// To miners, by incentive.
    #[serde(with = "amount_str")]
    pub miners: Amount,
    /// To validators, by dividends.
    #[serde(with = "amount_str")]
    pub validators: Amount,
}

impl Subnet {
    /// How the revenue left after the owner's cut divides between miners and validators: in
    /// half, or all to one side when the other earned nothing at this epoch.
    pub fn revenue_sides(&self, rest: Amount) -> (Amount, Amount) {
        let earned = |f: fn(&Neuron) -> u16| self.neurons.iter().any(|n| f(n) > 0);
        let to_miners = match (earned(|n| n.incentive), earned(|n| n.dividends)) {
            (false, _) => 0,
            (true, false) => rest,
            (true, true) => rest / 2,
        };
        (to_miners, rest - to_miners)
    }

    /// How `amount` of revenue splits after an epoch (ADR 0002 §9): the owner's cut, then
    /// half to miners by incentive and half to validators by dividends — all of the rest to
    /// one side when the other earned nothing. Returns `(account, amount)` payouts (rounded
    /// down; the dust stays with the revenue account), or nothing while nobody earned.
    pub fn revenue_payouts(&self, amount: Amount) -> Vec<(Address, Amount)> {
        let incentive: u128 = self.neurons.iter().map(|n| u128::from(n.incentive)).sum();
        let dividends: u128 = self.neurons.iter().map(|n| u128::from(n.dividends)).sum();
        if amount == 0 || (incentive == 0 && dividends == 0) {
            return Vec::new();
        }
        let owner = amount.saturating_mul(OWNER_CUT.0) / OWNER_CUT.1;
        let (to_miners, to_validators) = self.revenue_sides(amount - owner);
        let mut out = vec![(self.owner, owner)];
        for n in &self.neurons {
            let m = mul_div(to_miners, u128::from(n.incentive), incentive.max(1)).unwrap_or(0);
            let v = mul_div(to_validators, u128::from(n.dividends), dividends.max(1)).unwrap_or(0);
            if m + v > 0 {
                out.push((n.account, m + v));
            }
        }
        out
    }
}

impl Subnet {
    /// The alpha issued so far: held by stakers, in the pool, owned by the protocol, and
    /// emitted but not yet paid.
    pub fn alpha_issuance(&self, market: &Market) -> Amount {
        self.alpha_out.saturating_add(market.alpha_held())
    }

    /// The Yuma parameters of this subnet.
    pub fn yuma_params(&self) -> yuma::Params {
        let hp = &self.hyperparams;
        yuma::Params {
            tempo: u64::from(hp.tempo),
            activity_cutoff: hp.activity_cutoff,
            kappa: hp.kappa,
            bonds_penalty: hp.bonds_penalty,
            bonds_moving_average: hp.bonds_moving_average,
            liquid_alpha: hp.liquid_alpha,
            alpha_low: hp.alpha_low,
            alpha_high: hp.alpha_high,
            alpha_sigmoid_steepness: hp.alpha_sigmoid_steepness,
            yuma3: hp.yuma3,
            max_allowed_validators: hp.max_validators,
            owner_uid: self.uid_of(&self.owner),
            stake_threshold: 0,
            last_mechanism_step_block: self.last_epoch,
        }
    }

    /// The epoch's input state at `block`.
    pub fn yuma_state(&self, block: u64) -> yuma::State {
        let ns = &self.neurons;
        let stake = |n: &Neuron| u64::try_from(self.stake(&n.account)).unwrap_or(u64::MAX);
        yuma::State {
            n: u16::try_from(ns.len()).unwrap_or(u16::MAX),
            current_block: block,
            stake: ns.iter().map(stake).collect(),
            weights: ns.iter().map(|n| n.weights.clone()).collect(),
            bonds: ns.iter().map(|n| n.bonds.clone()).collect(),
            last_update: ns.iter().map(|n| n.last_update).collect(),
            block_at_registration: ns.iter().map(|n| n.registered_at).collect(),
            validator_permit: ns.iter().map(|n| n.validator_permit).collect(),
            // Commit-reveal (§1.3 step 5.4): weights toward miners registered after the
            // validator's earliest live commit are masked.
            commit_block: self.hyperparams.commit_reveal.then(|| {
                ns.iter()
                    .map(|n| {
                        self.commits
                            .get(&n.account)
                            .and_then(|c| c.iter().map(|(_, b)| *b).min())
                            .unwrap_or(u64::MAX)
                    })
                    .collect()
            }),
        }
    }

    /// Runs the epoch at `block` and records it: splits the alpha the market set aside since
    /// the last epoch (the owner's cut to the owner's stake; the rest by the Yuma epoch,
    /// incentive to each miner's own stake, dividends to each validator's take and then pro
    /// rata to everyone staked behind it) and stores the epoch's outputs. If the epoch rejects
    /// the stored state (it cannot, by construction), nothing is paid and the pending alpha
    /// waits for the next epoch.
    pub fn run_epoch(&mut self, market: &mut Market, block: u64) -> EpochRecord {
        let pending = u64::try_from(market.pending_neurons).unwrap_or(u64::MAX);
        let input = yuma::EpochInput {
            state: self.yuma_state(block),
            emission: pending,
        };
        let mut record = EpochRecord {
            netuid: self.netuid,
            block,
            injected: std::mem::take(&mut market.since_epoch),
            owner_cut: 0,
            incentive: 0,
            dividends: 0,
            take: 0,
            neurons: Vec::new(),
            revenue: Vec::new(),
        };
        self.last_epoch = block;
        let Ok(out) = yuma::epoch(&self.yuma_params(), &input) else {
            return record;
        };
        let get = |v: &[u16], uid: usize| v.get(uid).copied().unwrap_or(0);
        let mut paid = Vec::with_capacity(self.neurons.len());
        for (uid, n) in self.neurons.iter_mut().enumerate() {
            n.consensus = get(&out.consensus, uid);
            n.incentive = get(&out.incentive, uid);
            n.dividends = get(&out.dividends, uid);
            n.validator_trust = get(&out.validator_trust, uid);
            n.validator_permit = out.validator_permit.get(uid).copied().unwrap_or(false);
            n.bonds = out.bonds.get(uid).cloned().unwrap_or_default();
            let server = Amount::from(out.server_emission.get(uid).copied().unwrap_or(0));
            let validator = Amount::from(out.validator_emission.get(uid).copied().unwrap_or(0));
            n.emission = server.saturating_add(validator);
            paid.push((n.account, server, validator));
            record.neurons.push(NeuronEpoch {
                uid: u16::try_from(uid).unwrap_or(u16::MAX),
                account: n.account,
                incentive: n.incentive,
                dividends: n.dividends,
                emission: n.emission,
            });
        }
        for (account, server, validator) in paid {
            self.credit_stake(account, account, server);
            record.incentive = record.incentive.saturating_add(server);
            record.take = record
                .take
                .saturating_add(self.pay_dividends(account, validator));
            record.dividends = record.dividends.saturating_add(validator);
        }
        let owner = std::mem::take(&mut market.pending_owner);
        self.credit_stake(self.owner, self.owner, owner);
        record.owner_cut = owner;
        // What the epoch did not pay (rounding) is never issued.
        market.pending_neurons = 0;
        record
    }

    /// Pays `amount` of dividends to `hotkey`: its take first, the rest pro rata to the stake
    /// behind it (rounded down; the dust goes to the hotkey). Returns the take.
    fn pay_dividends(&mut self, hotkey: Address, amount: Amount) -> Amount {
        if amount == 0 {
            return 0;
        }
        let take = amount.saturating_mul(VALIDATOR_TAKE.0) / VALIDATOR_TAKE.1;
        let rest = amount - take;
        let total = self.stake(&hotkey);
        let nominators: Vec<(Address, Amount)> = self
            .stakes
            .get(&hotkey)
            .map(|m| {
                m.iter()
                    .filter(|(c, _)| **c != hotkey)
                    .map(|(c, s)| (*c, *s))
                    .collect()
            })
            .unwrap_or_default();
        let mut shared: Amount = 0;
        if total > 0 {
            for (coldkey, stake) in nominators {
                let part = mul_div(rest, stake, total).unwrap_or(0);
                self.credit_stake(hotkey, coldkey, part);
                shared = shared.saturating_add(part);
            }
        }
        self.credit_stake(hotkey, hotkey, amount - shared);
        take
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every `block_emission_for_issuance` reference output of the golden vectors (§5).
    #[test]
    fn block_emission_matches_subtensor_vectors() {
        let all: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../yuma/tests/data/yuma_vectors.json"
        ))
        .unwrap();
        let v = all["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == "block_emission_for_issuance")
            .unwrap();
        let cases = v["reference_outputs"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for c in cases {
            let issuance = u128::from(c["issuance_rao"].as_u64().unwrap());
            let expected = u128::from(c["block_emission_rao"].as_u64().unwrap());
            assert_eq!(block_emission(issuance), expected, "issuance {issuance}");
        }
    }

    #[test]
    fn halving_boundaries() {
        assert_eq!(block_emission(0), BASE_EMISSION);
        let half = ISSUANCE_CAP / 2;
        assert_eq!(block_emission(half - 1), BASE_EMISSION);
        assert_eq!(block_emission(half), BASE_EMISSION / 2);
        let q = ISSUANCE_CAP / 4 * 3;
        assert_eq!(block_emission(q - 1), BASE_EMISSION / 2);
        assert_eq!(block_emission(q), BASE_EMISSION / 4);
        assert_eq!(block_emission(ISSUANCE_CAP - 1), 0);
        assert_eq!(
            block_emission(ISSUANCE_CAP - ISSUANCE_CAP / 1024),
            BASE_EMISSION >> 10
        );
        assert_eq!(block_emission(ISSUANCE_CAP), 0);
    }
}
