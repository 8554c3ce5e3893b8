//! The genesis file: chain parameters, native allocations and issued assets.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::{
    Amount, NATIVE_SUPPLY_CAP,
    asset::{Asset, NATIVE},
    block::{Block, Header, receipts_root, tx_root},
    compute::ComputeParams,
    error::{Error, Result},
    infer::InferParams,
    state::{Account, ChainParams, State, StateDiff},
    store::Commit,
    subnet::ShareRule,
    util::{amount_str, u64_str},
};

/// Name of the dev stablecoin.
pub const DEV_USD_NAME: &str = "Devnet USD";
/// The seed of a dev chain's attestation root (`verify_tee::dev::DevTee`): public, so a dev
/// provider can produce quotes the chain accepts. Never a production root.
pub const DEV_TEE_SEED: [u8; 32] = *b"symbiont dev attestation root v1";

/// A genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Genesis {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Genesis timestamp, unix milliseconds.
    pub timestamp_ms: u64,
    /// Minimum fee per transaction, native base units.
    #[serde(with = "u64_str")]
    pub min_fee: u64,
    /// Native token allocations, base units (10^-9).
    #[serde(default)]
    pub alloc: BTreeMap<Address, AmountStr>,
    /// Issued assets.
    #[serde(default)]
    pub assets: Vec<GenesisAsset>,
    /// How the native block emission is split across subnets (`movingPrice`, the default, or
    /// `taoflow`).
    #[serde(default)]
    pub share_rule: ShareRule,
    /// The validator set of a chain run by BFT consensus (`symbiont node --validator-key`).
    /// Empty, and left out of the file, for a solo chain. Not part of the state: listing
    /// validators changes neither the genesis block nor the state root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validators: Vec<GenesisValidator>,
    /// The compute market's parameters ([`ComputeParams`]); the defaults when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<ComputeParams>,
    /// Verifiable inference's parameters ([`InferParams`]): the TEE root; the defaults (Intel's
    /// root) when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infer: Option<InferParams>,
}

/// A validator as the genesis file lists it: the ledger account it proposes blocks as, its
/// ed25519 consensus public key (32 bytes, hex) and its voting power (ADR 0003).
///
/// ```json
/// { "address": "0x…", "consensusKey": "0x…64 hex digits…", "power": 1 }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisValidator {
    /// The validator's ledger account (the block header's `proposer`).
    pub address: Address,
    /// The ed25519 public key that signs its votes and proposals, hex with or without `0x`.
    pub consensus_key: String,
    /// Voting power, a positive integer.
    pub power: u64,
}

/// An amount written as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AmountStr(#[serde(with = "amount_str")] pub Amount);

/// An issued asset at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisAsset {
    /// EIP-712 domain name.
    pub name: String,
    /// EIP-712 domain version.
    pub version: String,
    /// Display decimals.
    pub decimals: u8,
    /// The issuer (mints and burns).
    pub issuer: Address,
    /// Initial balances.
    #[serde(default)]
    pub alloc: BTreeMap<Address, AmountStr>,
}

impl Genesis {
    /// A development genesis: `funded` accounts get 1,000 native tokens and 10,000 Devnet USD
    /// each; the first account issues Devnet USD (6 decimals).
    pub fn dev(chain_id: u64, timestamp_ms: u64, funded: &[Address]) -> Self {
        let native = 1_000 * 10u128.pow(u32::from(crate::NATIVE_DECIMALS));
        let usd = 10_000 * 1_000_000u128;
        let alloc = funded.iter().map(|a| (*a, AmountStr(native))).collect();
        let usd_alloc = funded.iter().map(|a| (*a, AmountStr(usd))).collect();
        let assets = funded
            .first()
            .map(|issuer| GenesisAsset {
                name: DEV_USD_NAME.into(),
                version: "1".into(),
                decimals: 6,
                issuer: *issuer,
                alloc: usd_alloc,
            })
            .into_iter()
            .collect();
        Genesis {
            chain_id,
            timestamp_ms,
            min_fee: 1_000,
            alloc,
            assets,
            share_rule: ShareRule::default(),
            validators: Vec::new(),
            // The first funded account is the devnet's price oracle.
            compute: Some(ComputeParams {
                oracle: funded.first().copied().unwrap_or_default(),
                ..ComputeParams::default()
            }),
            // No TEE on a dev machine: quotes chain to the dev attestation root instead of
            // Intel's (`verify_tee::dev`).
            infer: Some(InferParams {
                tee_root: Some(
                    verify_tee::dev::DevTee::new(DEV_TEE_SEED)
                        .root_ca_der()
                        .into(),
                ),
                ..InferParams::default()
            }),
        }
    }

    /// The genesis state and the commit of block 0 (for a store).
    pub fn build(&self) -> Result<(State, Commit)> {
        let bad = |m: String| Error::InvalidGenesis(m);
        let mut diff = StateDiff::default();
        let mut native: Amount = 0;
        for (addr, amt) in &self.alloc {
            native = native
                .checked_add(amt.0)
                .filter(|s| *s <= NATIVE_SUPPLY_CAP)
                .ok_or_else(|| bad("native allocations exceed the 21,000,000 cap".into()))?;
            credit(&mut diff, *addr, NATIVE, amt.0);
        }
        diff.native_supply = Some(native);
        for ga in &self.assets {
            let id = Asset::derive_id(ga.issuer, &ga.name);
            if diff.assets.contains_key(&id) {
                return Err(bad(format!("asset {:?} is defined twice", ga.name)));
            }
            let mut supply: Amount = 0;
            for (addr, amt) in &ga.alloc {
                supply = supply
                    .checked_add(amt.0)
                    .ok_or_else(|| bad(format!("supply of {:?} overflows", ga.name)))?;
                credit(&mut diff, *addr, id, amt.0);
            }
            let asset = Asset {
                id,
                name: ga.name.clone(),
                version: ga.version.clone(),
                decimals: ga.decimals,
                issuer: ga.issuer,
                supply,
            };
            diff.assets.insert(id, asset);
        }
        let header = Header {
            height: 0,
            parent_hash: B256::ZERO,
            timestamp_ms: self.timestamp_ms,
            proposer: Address::ZERO,
            tx_root: tx_root(&[]),
            receipts_root: receipts_root(&[]),
            state_root: diff.state_root(&B256::ZERO),
        };
        let head = header.head();
        let mut state = State {
            params: ChainParams {
                chain_id: self.chain_id,
                min_fee: self.min_fee,
                share_rule: self.share_rule,
                compute: self.compute.unwrap_or_default(),
                infer: self.infer.clone().unwrap_or_default(),
            },
            head,
            accounts: Default::default(),
            assets: Default::default(),
            authorizations: Default::default(),
            native_supply: 0,
            subnets: Default::default(),
            network: Default::default(),
            markets: Default::default(),
            epochs: Default::default(),
            registry: Default::default(),
            payments: Default::default(),
            compute: Default::default(),
            infer: Default::default(),
        };
        state.apply_diff(&diff, head);
        let block = Block {
            header,
            txs: vec![],
        };
        Ok((
            state,
            Commit {
                block,
                tx_hashes: vec![],
                receipts: vec![],
                diff,
                certificate: None,
            },
        ))
    }
}

fn credit(diff: &mut StateDiff, addr: Address, asset: Address, amount: Amount) {
    let acct: &mut Account = diff.accounts.entry(addr).or_default();
    let bal = acct.balance(&asset).saturating_add(amount);
    acct.set_balance(asset, bal);
}
