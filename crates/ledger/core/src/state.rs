//! Accounts, assets and authorization nonces; the diff a block makes; the state root.
//!
//! The state root is a chained hash: `keccak256(parent_root ‖ keccak256(encode(diff)))`, where
//! the diff is sorted (B-tree maps) and encoded canonically. A Merkle tree with proofs can
//! replace it later without changing callers.

use std::collections::{BTreeMap, HashMap, VecDeque};

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    Amount,
    agents::{Registry, RegistryDiff},
    asset::{Asset, AssetId, NATIVE},
    compute::{ComputeDiff, ComputeParams, ComputeState},
    eip3009::{AuthorizationState, SettledPayment},
    infer::{InferDiff, InferParams, InferState},
    subnet::{Market, NetUid, Network, ShareRule, Subnet, epoch::EpochRecord},
    tx::AssetDomains,
    util::keccak_concat,
};

/// Chain-wide parameters fixed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainParams {
    /// The EIP-155 chain id (also the x402 network `eip155:<chainId>`).
    pub chain_id: u64,
    /// The minimum fee per transaction in native base units.
    pub min_fee: u64,
    /// How the native block emission is split across subnets.
    #[serde(default)]
    pub share_rule: ShareRule,
    /// The compute market's parameters. Stored apart from the other parameters (so stores
    /// written before the market keep loading); the defaults when a store has none.
    #[serde(skip)]
    pub compute: ComputeParams,
    /// Verifiable inference's parameters, stored apart like the market's.
    #[serde(skip)]
    pub infer: InferParams,
}

/// Epochs kept per subnet in memory for the emission history (the store keeps them all).
pub const HISTORY_EPOCHS: usize = 64;

/// An account: its next nonce and non-zero balances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The next transaction nonce.
    pub nonce: u64,
    /// Balances by asset id ([`NATIVE`] for the native token); zero balances are absent.
    pub balances: BTreeMap<AssetId, Amount>,
}

impl Account {
    /// The balance of `asset`.
    pub fn balance(&self, asset: &AssetId) -> Amount {
        self.balances.get(asset).copied().unwrap_or(0)
    }

    /// Sets a balance, dropping zero entries.
    pub fn set_balance(&mut self, asset: AssetId, amount: Amount) {
        if amount == 0 {
            self.balances.remove(&asset);
        } else {
            self.balances.insert(asset, amount);
        }
    }
}

/// Where the chain stands: the last committed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Height of the last block (0 is genesis).
    pub height: u64,
    /// Its hash.
    pub hash: B256,
    /// Its state root.
    pub state_root: B256,
    /// Its timestamp, unix milliseconds.
    pub timestamp_ms: u64,
}

/// A key of the authorization-nonce set: (asset, authorizer, nonce).
pub type AuthKey = (AssetId, Address, B256);

/// The whole ledger state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Chain parameters.
    pub params: ChainParams,
    /// The last committed block.
    pub head: Head,
    /// Accounts by address.
    pub accounts: HashMap<Address, Account>,
    /// Issued assets by id.
    pub assets: BTreeMap<AssetId, Asset>,
    /// Used or canceled EIP-3009 nonces.
    pub authorizations: HashMap<AuthKey, AuthorizationState>,
    /// Native token supply in base units.
    pub native_supply: Amount,
    /// Subnets by id.
    pub subnets: BTreeMap<NetUid, Subnet>,
    /// Chain-wide subnet bookkeeping (the lock cost's memory).
    pub network: Network,
    /// Subnet markets (pool, moving price, flow, pending emission) by subnet id.
    pub markets: BTreeMap<NetUid, Market>,
    /// The last [`HISTORY_EPOCHS`] epochs of each subnet, oldest first.
    pub epochs: BTreeMap<NetUid, VecDeque<EpochRecord>>,
    /// Agents, feedback and validations ([`crate::agents`]).
    pub registry: Registry,
    /// Settled EIP-3009 transfers by (asset, payer, nonce).
    pub payments: HashMap<AuthKey, SettledPayment>,
    /// The compute market ([`crate::compute`]).
    pub compute: ComputeState,
    /// Verifiable inference ([`crate::infer`]).
    pub infer: InferState,
}

/// What one block changes: new values of everything it touched, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDiff {
    /// Accounts touched, with their new values.
    pub accounts: BTreeMap<Address, Account>,
    /// Assets whose supply changed, with their new values.
    pub assets: BTreeMap<AssetId, Asset>,
    /// Authorization nonces used or canceled.
    pub authorizations: BTreeMap<AuthKey, AuthorizationState>,
    /// The native supply after the block, if it changed.
    pub native_supply: Option<Amount>,
    /// Subnets touched, with their new values.
    pub subnets: BTreeMap<NetUid, Subnet>,
    /// The subnet bookkeeping after the block, if it changed.
    pub network: Option<Network>,
    /// Subnet markets touched (every market, once subnets exist), with their new values.
    pub markets: BTreeMap<NetUid, Market>,
    /// The epochs this block ran.
    pub epochs: Vec<EpochRecord>,
    /// Agents, feedback lists and validations touched, with their new values.
    #[serde(default)]
    pub registry: RegistryDiff,
    /// EIP-3009 transfers settled (or cited by feedback), with their new values.
    #[serde(default)]
    pub payments: BTreeMap<AuthKey, SettledPayment>,
    /// Market objects touched, with their new values.
    #[serde(default)]
    pub compute: ComputeDiff,
    /// Inference requests, deliveries, bonds, attestations and ZK models touched.
    #[serde(default)]
    pub infer: InferDiff,
}

impl StateDiff {
    /// Canonical hash of the diff.
    pub fn hash(&self) -> B256 {
        // postcard over B-tree maps is canonical: fixed field order, sorted keys. The subnet
        // fields are appended only when present, so diffs without subnets hash as before; the
        // same for the registry fields, and the market's.
        let base = (
            &self.accounts,
            &self.assets,
            &self.authorizations,
            &self.native_supply,
        );
        let subnets = (&self.subnets, &self.network, &self.markets, &self.epochs);
        let registry = (&self.registry, &self.payments);
        let encoded = if !self.infer.is_empty() {
            postcard::to_stdvec(&(base, subnets, registry, &self.compute, &self.infer))
        } else if !self.compute.is_empty() {
            postcard::to_stdvec(&(base, subnets, registry, &self.compute))
        } else if !self.registry.is_empty() || !self.payments.is_empty() {
            postcard::to_stdvec(&(base, subnets, registry))
        } else if self.subnets.is_empty()
            && self.network.is_none()
            && self.markets.is_empty()
            && self.epochs.is_empty()
        {
            postcard::to_stdvec(&base)
        } else {
            postcard::to_stdvec(&(base, subnets))
        };
        match encoded {
            Ok(bytes) => keccak256(bytes),
            // Encoding into a Vec cannot fail for these types; hash nothing rather than panic.
            Err(_) => B256::ZERO,
        }
    }

    /// The state root after this diff, chained onto `parent_root`.
    pub fn state_root(&self, parent_root: &B256) -> B256 {
        keccak_concat(&[parent_root.as_slice(), self.hash().as_slice()])
    }
}

impl State {
    /// An account, or the empty account.
    pub fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).cloned().unwrap_or_default()
    }

    /// The next nonce of `address`.
    pub fn nonce(&self, address: &Address) -> u64 {
        self.accounts.get(address).map_or(0, |a| a.nonce)
    }

    /// A balance.
    pub fn balance(&self, address: &Address, asset: &AssetId) -> Amount {
        self.accounts.get(address).map_or(0, |a| a.balance(asset))
    }

    /// The state of an EIP-3009 nonce.
    pub fn authorization_state(&self, key: &AuthKey) -> AuthorizationState {
        self.authorizations
            .get(key)
            .copied()
            .unwrap_or(AuthorizationState::Unused)
    }

    /// Total supply of `asset`.
    pub fn supply(&self, asset: &AssetId) -> Option<Amount> {
        if *asset == NATIVE {
            Some(self.native_supply)
        } else {
            self.assets.get(asset).map(|a| a.supply)
        }
    }

    /// Applies a diff produced by [`crate::apply_block`] and moves the head.
    pub fn apply_diff(&mut self, diff: &StateDiff, head: Head) {
        for (addr, acct) in &diff.accounts {
            if acct.nonce == 0 && acct.balances.is_empty() {
                self.accounts.remove(addr);
            } else {
                self.accounts.insert(*addr, acct.clone());
            }
        }
        for (id, asset) in &diff.assets {
            self.assets.insert(*id, asset.clone());
        }
        for (k, v) in &diff.authorizations {
            self.authorizations.insert(*k, *v);
        }
        if let Some(s) = diff.native_supply {
            self.native_supply = s;
        }
        for (id, subnet) in &diff.subnets {
            self.subnets.insert(*id, subnet.clone());
        }
        if let Some(n) = diff.network {
            self.network = n;
        }
        for (id, market) in &diff.markets {
            self.markets.insert(*id, market.clone());
        }
        for e in &diff.epochs {
            self.record_epoch(e.clone());
        }
        self.registry.apply(&diff.registry);
        for (k, p) in &diff.payments {
            self.payments.insert(*k, *p);
        }
        self.compute.apply(&diff.compute);
        self.infer.apply(&diff.infer);
        self.head = head;
    }

    /// Appends an epoch to its subnet's in-memory history, dropping the oldest past
    /// [`HISTORY_EPOCHS`].
    pub fn record_epoch(&mut self, e: EpochRecord) {
        let h = self.epochs.entry(e.netuid).or_default();
        h.push_back(e);
        while h.len() > HISTORY_EPOCHS {
            h.pop_front();
        }
    }

    /// The native tokens held by subnet pools.
    pub fn pool_reserves(&self) -> Amount {
        self.markets
            .values()
            .map(|m| m.pool.tao)
            .fold(0u128, u128::saturating_add)
    }

    /// Sums every balance of `asset` (a test and audit helper: with the pool reserves for
    /// the native token, must equal the supply).
    pub fn sum_balances(&self, asset: &AssetId) -> Amount {
        self.accounts
            .values()
            .map(|a| a.balance(asset))
            .fold(0u128, u128::saturating_add)
    }
}

impl AssetDomains for State {
    fn asset_domain(&self, asset: &AssetId) -> Option<(&str, &str)> {
        self.assets
            .get(asset)
            .map(|a| (a.name.as_str(), a.version.as_str()))
    }
}

impl AssetDomains for BTreeMap<AssetId, Asset> {
    fn asset_domain(&self, asset: &AssetId) -> Option<(&str, &str)> {
        self.get(asset)
            .map(|a| (a.name.as_str(), a.version.as_str()))
    }
}
