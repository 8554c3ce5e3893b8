//! Subnets (research notes `shared/research/bittensor.md` §2–§4): an owner, hyperparameters,
//! an alpha token traded against the native token in a constant-product [`pool`], neurons
//! registered by burn, stake held as alpha, and weights for the Yuma epoch.
//!
//! One account is one neuron's hotkey and coldkey at once (`docs/adr/0001-subnet-accounts.md`).
//! This module holds the types and the pure rules, [`epoch`] the epochs and emission; `exec`
//! applies them to the state (epochs run at the start of a block, before its transactions).

pub mod epoch;
pub(crate) mod exec;
pub mod hyper;
pub mod market;
pub mod pool;
pub mod reveal;

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::{Amount, error::Reject, util::amount_str};
pub use market::{Market, ShareRule};
pub use pool::Pool;

/// A subnet id.
pub type NetUid = u16;

/// One whole native token (or alpha token) in base units.
pub const UNIT: Amount = 1_000_000_000;
/// The smallest lock a new subnet costs. Subtensor's `NetworkMinLockCost` is 1 000 TAO; the
/// devnet scale divides it by 10 (ADR 0001).
pub const MIN_LOCK_COST: Amount = 100 * UNIT;
/// Blocks over which the doubled lock cost decays back (`NetworkLockReductionInterval`,
/// 14 days of 12 s blocks).
pub const LOCK_REDUCTION_INTERVAL: u64 = 100_800;
/// The most subnets the ledger holds (`SubnetLimit`).
pub const SUBNET_LIMIT: usize = 128;
/// The registration price multiplier per registration, per mille (`BurnIncreaseMult` 1.26).
pub const BURN_INCREASE_PER_MILLE: u128 = 1_260;
/// Scale of the per-block burn decay factor.
const DECAY_SCALE: u128 = 1_000_000_000_000_000_000;
/// `ln 2` on [`DECAY_SCALE`].
const LN2_SCALED: u128 = 693_147_180_559_945_309;

/// Hyperparameters of a subnet, with subtensor's defaults for a new subnet (§1.2, §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hyperparams {
    /// Blocks per epoch.
    pub tempo: u16,
    /// The most uids.
    pub max_uids: u16,
    /// Blocks after registration during which a neuron is not replaced.
    pub immunity_period: u64,
    /// Consensus majority, u16 proportion.
    pub kappa: u16,
    /// Bonds penalty β, u16 proportion.
    pub bonds_penalty: u16,
    /// Bonds moving average, parts per million.
    pub bonds_moving_average: u64,
    /// Blocks without a weight update after which a validator is inactive.
    pub activity_cutoff: u64,
    /// Validator permits per epoch (top-k by stake).
    pub max_validators: u16,
    /// Liquid alpha.
    pub liquid_alpha: bool,
    /// Liquid-alpha low bound, u16 proportion.
    pub alpha_low: u16,
    /// Liquid-alpha high bound, u16 proportion.
    pub alpha_high: u16,
    /// Liquid-alpha sigmoid steepness.
    pub alpha_sigmoid_steepness: i16,
    /// Yuma3 bonds.
    pub yuma3: bool,
    /// Blocks between two `set_weights` of one neuron.
    pub weights_rate_limit: u64,
    /// The fewest weights a non-self `set_weights` carries (capped at n).
    pub min_allowed_weights: u16,
    /// The lowest accepted weights version key (0: any).
    pub weights_version_key: u64,
    /// Lower bound of the registration burn.
    #[serde(with = "amount_str")]
    pub min_burn: Amount,
    /// Upper bound of the registration burn.
    #[serde(with = "amount_str")]
    pub max_burn: Amount,
    /// Blocks for the registration burn to halve.
    pub burn_half_life: u64,
    /// Commit-reveal: weights are committed as a hash and revealed in the next epoch.
    pub commit_reveal: bool,
}

impl Default for Hyperparams {
    fn default() -> Self {
        Hyperparams {
            tempo: 360,
            max_uids: 256,
            immunity_period: 5_000,
            kappa: 32_767,
            bonds_penalty: 65_535,
            bonds_moving_average: 900_000,
            activity_cutoff: 5_000,
            max_validators: 64,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            yuma3: true,
            weights_rate_limit: 100,
            min_allowed_weights: 1,
            weights_version_key: 0,
            min_burn: 500_000,
            max_burn: 100 * UNIT,
            burn_half_life: 360,
            commit_reveal: false,
        }
    }
}

/// A registered neuron: the account behind a uid and what the last epoch stored for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Neuron {
    /// Its account (hotkey and coldkey at once).
    pub account: Address,
    /// `BlockAtRegistration`.
    pub registered_at: u64,
    /// `LastUpdate`: the block of its last weights (or its registration).
    pub last_update: u64,
    /// Stored weights, max-upscaled: `(uid, value)`.
    pub weights: Vec<(u16, u16)>,
    /// Stored bonds: `(uid, value)`.
    pub bonds: Vec<(u16, u16)>,
    /// Validator permit from the last epoch.
    pub validator_permit: bool,
    /// Consensus, u16 proportion.
    pub consensus: u16,
    /// Incentive, u16 proportion.
    pub incentive: u16,
    /// Dividends, u16 proportion.
    pub dividends: u16,
    /// Validator trust, u16 proportion.
    pub validator_trust: u16,
    /// Alpha emitted to it at the last epoch.
    #[serde(with = "amount_str")]
    pub emission: Amount,
    /// The base URL it serves at (`ServeEndpoint`), if advertised.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl Neuron {
    fn new(account: Address, block: u64) -> Self {
        Neuron {
            account,
            registered_at: block,
            last_update: block,
            weights: Vec::new(),
            bonds: Vec::new(),
            validator_permit: false,
            consensus: 0,
            incentive: 0,
            dividends: 0,
            validator_trust: 0,
            emission: 0,
            endpoint: None,
        }
    }
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    /// Its id.
    pub netuid: NetUid,
    /// The owner (also uid 0 at creation, and never replaced).
    pub owner: Address,
    /// The block it was created at.
    pub created_at: u64,
    /// The native tokens locked at creation (they seeded the pool, now in its [`Market`]).
    #[serde(with = "amount_str")]
    pub locked: Amount,
    /// Hyperparameters.
    pub hyperparams: Hyperparams,
    /// Alpha held by stakers (`SubnetAlphaOut`); equals the sum of [`Subnet::stakes`].
    #[serde(with = "amount_str")]
    pub alpha_out: Amount,
    /// Alpha stake by hotkey (the account of the neuron it backs), then by the staking
    /// account (`Alpha[(hotkey, coldkey, netuid)]`). A neuron's stake weight is the sum
    /// behind its account.
    pub stakes: BTreeMap<Address, BTreeMap<Address, Amount>>,
    /// The registration burn as last set.
    #[serde(with = "amount_str")]
    pub burn: Amount,
    /// The block [`Subnet::burn`] was set at; it decays from there.
    pub burn_block: u64,
    /// Neurons by uid.
    pub neurons: Vec<Neuron>,
    /// The block of the last epoch (0 for none).
    pub last_epoch: u64,
    /// The block each hyperparameter was last set by the owner, by name.
    pub hyperparams_set_at: BTreeMap<String, u64>,
    /// Unrevealed weight commits by account: (hash, commit block), oldest first.
    pub commits: BTreeMap<Address, Vec<(alloy_primitives::B256, u64)>>,
}

/// Chain-wide subnet bookkeeping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// The lock paid by the last subnet (0 before the first).
    #[serde(with = "amount_str")]
    pub last_lock: Amount,
    /// The block of the last subnet creation.
    pub last_lock_block: u64,
}

impl Network {
    /// The lock cost of a new subnet at `block` (subtensor's `get_network_lock_cost`): twice
    /// the last lock, decaying linearly over [`LOCK_REDUCTION_INTERVAL`], at least
    /// [`MIN_LOCK_COST`].
    pub fn lock_cost(&self, block: u64) -> Amount {
        let elapsed = Amount::from(block.saturating_sub(self.last_lock_block));
        let reduction =
            self.last_lock.saturating_mul(elapsed) / Amount::from(LOCK_REDUCTION_INTERVAL);
        self.last_lock
            .saturating_mul(2)
            .saturating_sub(reduction)
            .max(MIN_LOCK_COST)
    }
}

impl Subnet {
    /// The uid of `account`, if registered.
    pub fn uid_of(&self, account: &Address) -> Option<u16> {
        self.neurons
            .iter()
            .position(|n| n.account == *account)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// The alpha stake behind `hotkey`: its own and its nominators' (the epoch's stake).
    pub fn stake(&self, hotkey: &Address) -> Amount {
        self.stakes
            .get(hotkey)
            .map_or(0, |m| m.values().fold(0u128, |a, v| a.saturating_add(*v)))
    }

    /// The alpha `coldkey` holds behind `hotkey`.
    pub fn stake_of(&self, hotkey: &Address, coldkey: &Address) -> Amount {
        self.stakes
            .get(hotkey)
            .and_then(|m| m.get(coldkey))
            .copied()
            .unwrap_or(0)
    }

    /// Adds alpha behind `hotkey` for `coldkey` (minted or bought: `alpha_out` grows).
    pub(crate) fn credit_stake(&mut self, hotkey: Address, coldkey: Address, amount: Amount) {
        if amount == 0 {
            return;
        }
        let e = self
            .stakes
            .entry(hotkey)
            .or_default()
            .entry(coldkey)
            .or_insert(0);
        *e = e.saturating_add(amount);
        self.alpha_out = self.alpha_out.saturating_add(amount);
    }

    /// Takes alpha from behind `hotkey` for `coldkey` (sold: `alpha_out` shrinks); the caller
    /// checked the stake suffices.
    pub(crate) fn debit_stake(&mut self, hotkey: Address, coldkey: Address, amount: Amount) {
        if let Some(m) = self.stakes.get_mut(&hotkey) {
            let left = m.get(&coldkey).copied().unwrap_or(0).saturating_sub(amount);
            if left == 0 {
                m.remove(&coldkey);
            } else {
                m.insert(coldkey, left);
            }
            if m.is_empty() {
                self.stakes.remove(&hotkey);
            }
        }
        self.alpha_out = self.alpha_out.saturating_sub(amount);
    }

    /// The registration burn at `block`: the stored burn decayed per block by
    /// `1 − ln2/half_life` (exact integer powers), clamped to `[min_burn, max_burn]`.
    pub fn burn_at(&self, block: u64) -> Amount {
        let hp = &self.hyperparams;
        let dt = block.saturating_sub(self.burn_block);
        let decayed = if hp.burn_half_life == 0 || dt == 0 {
            self.burn
        } else {
            let factor = DECAY_SCALE - LN2_SCALED / u128::from(hp.burn_half_life).max(1);
            let f = pow_scaled(factor, dt);
            let r = U256::from(self.burn) * U256::from(f) / U256::from(DECAY_SCALE);
            u128::try_from(r).unwrap_or(u128::MAX)
        };
        decayed.clamp(hp.min_burn, hp.max_burn.max(hp.min_burn))
    }

    /// The uid a registration at `block` replaces when the subnet is full (`get_neuron_to_prune`):
    /// the lowest emission among non-owner neurons, non-immune ones first; ties go to the
    /// earliest registration, then the lowest uid. `None` when only the owner could be.
    pub fn uid_to_prune(&self, block: u64) -> Option<u16> {
        let immunity = self.hyperparams.immunity_period;
        let candidates = self
            .neurons
            .iter()
            .enumerate()
            .filter(|(_, n)| n.account != self.owner);
        let key = |(uid, n): &(usize, &Neuron)| {
            let immune = block.saturating_sub(n.registered_at) < immunity;
            (immune, n.emission, n.registered_at, *uid)
        };
        candidates
            .min_by_key(key)
            .and_then(|(uid, _)| u16::try_from(uid).ok())
    }

    /// Whether an epoch runs at `block` (subtensor's `blocks_until_next_epoch == 0`:
    /// `(block + netuid + 1) mod (tempo + 1) == 0`).
    pub fn epoch_due(&self, block: u64) -> bool {
        let tempo = u64::from(self.hyperparams.tempo);
        tempo != 0
            && block
                .saturating_add(u64::from(self.netuid) + 1)
                .is_multiple_of(tempo + 1)
    }

    /// Blocks from `block` until the next epoch (subtensor's `blocks_until_next_epoch`): 0 when
    /// one runs at `block`; `u64::MAX` when tempo is 0.
    pub fn blocks_until_next_epoch(&self, block: u64) -> u64 {
        let tempo = u64::from(self.hyperparams.tempo);
        if tempo == 0 {
            return u64::MAX;
        }
        tempo - block.saturating_add(u64::from(self.netuid) + 1) % (tempo + 1)
    }

    /// `WeightsSetRateLimit`: blocks since the uid's last update (weights, commit or
    /// registration).
    pub fn check_rate_limit(&self, uid: u16, block: u64) -> Result<(), Reject> {
        let last = self
            .neurons
            .get(usize::from(uid))
            .map_or(0, |n| n.last_update);
        let since = block.saturating_sub(last);
        if since < self.hyperparams.weights_rate_limit {
            return Err(Reject::RateLimited {
                reason: format!(
                    "weights set {since} blocks ago; the limit is {}",
                    self.hyperparams.weights_rate_limit
                ),
            });
        }
        Ok(())
    }

    /// The epoch index of `block`: epochs end where [`Subnet::epoch_due`] holds.
    pub fn epoch_index(&self, block: u64) -> u64 {
        let tempo = u64::from(self.hyperparams.tempo);
        block.saturating_add(u64::from(self.netuid) + 1) / (tempo + 1)
    }

    /// Checks a `set_weights` from `account` at `block` (subtensor's `internal_set_weights`,
    /// §2) and returns its uid and the row to store.
    pub fn check_weights(
        &self,
        account: &Address,
        uids: &[u16],
        values: &[u16],
        version_key: u64,
        block: u64,
        rate_limited: bool,
    ) -> Result<(u16, Vec<(u16, u16)>), Reject> {
        let bad = |reason: String| Err(Reject::InvalidWeights { reason });
        let hp = &self.hyperparams;
        let Some(uid) = self.uid_of(account) else {
            return Err(Reject::NotRegistered {
                netuid: self.netuid,
                account: *account,
            });
        };
        let n = self.neurons.len();
        if uids.len() != values.len() {
            return bad(format!("{} uids but {} values", uids.len(), values.len()));
        }
        if uids.len() > n {
            return bad(format!("{} weights for {n} uids", uids.len()));
        }
        let mut seen = vec![false; n];
        for &u in uids {
            let Some(s) = seen.get_mut(usize::from(u)) else {
                return bad(format!("uid {u} does not exist (n = {n})"));
            };
            if *s {
                return bad(format!("duplicate uid {u}"));
            }
            *s = true;
        }
        if hp.weights_version_key != 0 && version_key < hp.weights_version_key {
            return bad(format!(
                "version key {version_key} is below {}",
                hp.weights_version_key
            ));
        }
        let neuron = &self.neurons[usize::from(uid)];
        if rate_limited {
            self.check_rate_limit(uid, block)?;
        }
        let self_weight = uids == [uid];
        let is_owner = *account == self.owner;
        if !self_weight && !is_owner && !neuron.validator_permit {
            return bad(format!("uid {uid} has no validator permit"));
        }
        let min = usize::from(hp.min_allowed_weights).min(n);
        if !self_weight && uids.len() < min {
            return bad(format!("{} weights, at least {min} required", uids.len()));
        }
        let stored = yuma::max_upscale(values);
        Ok((uid, uids.iter().copied().zip(stored).collect()))
    }
}

/// `base^exp` on [`DECAY_SCALE`], by squaring (base ≤ scale, so no overflow in 256 bits).
fn pow_scaled(mut base: u128, mut exp: u64) -> u128 {
    let scale = U256::from(DECAY_SCALE);
    let mut acc = U256::from(DECAY_SCALE);
    let mut b = U256::from(base);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * b / scale;
        }
        b = b * b / scale;
        exp >>= 1;
    }
    base = u128::try_from(acc).unwrap_or(0);
    base
}

/// The longest endpoint URL a neuron may advertise.
pub const MAX_ENDPOINT_LEN: usize = 256;

/// Checks an endpoint URL: empty (clear), or `http://`/`https://` followed by a host, printable
/// ASCII without spaces, at most [`MAX_ENDPOINT_LEN`] bytes.
pub fn check_endpoint(url: &str) -> Result<(), Reject> {
    if url.is_empty() {
        return Ok(());
    }
    let bad = |reason: &str| {
        Err(Reject::InvalidCall {
            reason: format!("endpoint {reason}"),
        })
    };
    if url.len() > MAX_ENDPOINT_LEN {
        return bad(&format!("longer than {MAX_ENDPOINT_LEN} bytes"));
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("must be printable ASCII without spaces");
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        Some(_) => bad("has no host"),
        None => bad("must start with http:// or https://"),
    }
}

/// The account a subnet's revenue is paid to (x402 `payTo`), split at every epoch like
/// emission: `keccak256("symbiont/subnet-revenue" ‖ netuid)[12..]`. Nobody holds its key.
pub fn revenue_account(netuid: NetUid) -> Address {
    let h = alloy_primitives::keccak256(
        [b"symbiont/subnet-revenue".as_slice(), &netuid.to_be_bytes()].concat(),
    );
    Address::from_slice(&h[12..])
}

/// The burn after one more registration: `burn × 1.26`, at most `max_burn`.
pub fn bumped_burn(price: Amount, max_burn: Amount) -> Amount {
    (price.saturating_mul(BURN_INCREASE_PER_MILLE) / 1_000).min(max_burn)
}
