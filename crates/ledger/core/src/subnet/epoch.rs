//! Epochs and emission (research notes §1.1, §3.1, §3.5): every `tempo` blocks a subnet runs
//! the Yuma epoch from the `yuma` crate on its stored u16 weights and bonds, stores the
//! outputs, and pays the alpha emitted since its last epoch into stake: 18 % to the owner,
//! the rest split by the epoch (50 % incentive to miners, 50 % dividends to validators).
//!
//! Emission is computed when the epoch fires, from the number of blocks since the last one,
//! so blocks between epochs do not touch the subnet.

use super::{Neuron, Subnet};
use crate::Amount;

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

/// What an epoch paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EpochPaid {
    /// Alpha to the owner.
    pub owner: Amount,
    /// Alpha to neurons through the epoch.
    pub neurons: Amount,
}

impl Subnet {
    /// The alpha issued so far: held by stakers plus in the pool.
    pub fn alpha_issuance(&self) -> Amount {
        self.alpha_out.saturating_add(self.pool.alpha)
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

    /// Runs the epoch at `block`: mints the alpha emitted since the last epoch, pays the
    /// owner's cut and the epoch's shares into stake, and stores the epoch's outputs. If the
    /// epoch rejects the stored state (it cannot, by construction), only the clock moves.
    pub fn run_epoch(&mut self, block: u64) -> EpochPaid {
        let since = block.saturating_sub(if self.last_epoch == 0 {
            self.created_at
        } else {
            self.last_epoch
        });
        let emitted = block_emission(self.alpha_issuance()).saturating_mul(Amount::from(since));
        let emitted = emitted.min(ISSUANCE_CAP.saturating_sub(self.alpha_issuance()));
        let owner = emitted.saturating_mul(OWNER_CUT.0) / OWNER_CUT.1;
        let rest = u64::try_from(emitted - owner).unwrap_or(u64::MAX);
        let input = yuma::EpochInput {
            state: self.yuma_state(block),
            emission: rest,
        };
        let mut paid = EpochPaid::default();
        if let Ok(out) = yuma::epoch(&self.yuma_params(), &input) {
            for (uid, n) in self.neurons.iter_mut().enumerate() {
                let get = |v: &[u16]| v.get(uid).copied().unwrap_or(0);
                n.consensus = get(&out.consensus);
                n.incentive = get(&out.incentive);
                n.dividends = get(&out.dividends);
                n.validator_trust = get(&out.validator_trust);
                n.validator_permit = out.validator_permit.get(uid).copied().unwrap_or(false);
                n.bonds = out.bonds.get(uid).cloned().unwrap_or_default();
                n.emission = Amount::from(out.combined_emission.get(uid).copied().unwrap_or(0));
            }
            let credits: Vec<_> = self
                .neurons
                .iter()
                .map(|n| (n.account, n.emission))
                .collect();
            for (account, e) in credits {
                self.credit_alpha(account, e);
                paid.neurons = paid.neurons.saturating_add(e);
            }
        }
        self.credit_alpha(self.owner, owner);
        paid.owner = owner;
        self.last_epoch = block;
        paid
    }

    fn credit_alpha(&mut self, account: alloy_primitives::Address, amount: Amount) {
        if amount == 0 {
            return;
        }
        let st = self.stake(&account).saturating_add(amount);
        self.stakes.insert(account, st);
        self.alpha_out = self.alpha_out.saturating_add(amount);
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
