//! Executing transactions and blocks: pure functions from a state and a block to a diff and
//! receipts.
//!
//! Every transaction first passes the *inclusion checks* (expiry, nonce, minimum fee, fee
//! covered by the native balance). A transaction that fails them cannot be in a block: the
//! producer leaves it out ([`build_block`]) and a block containing one is invalid
//! ([`apply_block`]). Then the fee is burned and the nonce used, and the call runs; a call
//! that fails leaves a failed receipt and changes nothing else. Each call checks everything
//! before it mutates anything, so no rollback is needed.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{Address, B256};
use rayon::prelude::*;

use crate::{
    Amount,
    agents::RegistryDiff,
    asset::{Asset, AssetId, NATIVE},
    block::{Block, Header, receipts_root, tx_root},
    compute::ComputeDiff,
    eip3009::{AuthorizationState, SettledPayment},
    error::{Error, Reject, Result},
    infer::InferDiff,
    receipt::{Event, Receipt, Status},
    state::{Account, AuthKey, Head, State, StateDiff},
    subnet::{Market, NetUid, Network, Subnet, epoch::EpochRecord},
    tx::{Call, SignedTx, Tx, VerifiedTx},
};

/// What the producer decides about a new block besides its transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Block timestamp, unix milliseconds.
    pub timestamp_ms: u64,
    /// The producer's address.
    pub proposer: Address,
}

/// A block built by [`build_block`], ready to commit.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// The block.
    pub block: Block,
    /// Hashes of its transactions, in order.
    pub tx_hashes: Vec<B256>,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// What it changes.
    pub diff: StateDiff,
    /// Candidates left out, with the reason.
    pub excluded: Vec<(B256, Reject)>,
}

impl BuiltBlock {
    /// The head after this block.
    pub fn head(&self) -> Head {
        self.block.header.head()
    }
}

/// Builds the next block from `candidates` (in order), leaving out those that fail the
/// inclusion checks at their turn. The block's time is `ctx.timestamp_ms`, raised to the
/// parent's if the clock went back; execution sees exactly the header's time, as
/// [`apply_block`] does on every other node.
pub fn build_block(state: &State, ctx: BlockContext, candidates: Vec<VerifiedTx>) -> BuiltBlock {
    let timestamp_ms = ctx.timestamp_ms.max(state.head.timestamp_ms);
    let now = timestamp_ms / 1000;
    let mut ov = Overlay::new(state);
    ov.begin_block();
    let mut txs = Vec::with_capacity(candidates.len());
    let mut tx_hashes = Vec::with_capacity(candidates.len());
    let mut receipts = Vec::with_capacity(candidates.len());
    let mut excluded = Vec::new();
    for vtx in candidates {
        match ov.execute(&vtx, now) {
            Ok(receipt) => {
                receipts.push(receipt);
                tx_hashes.push(vtx.hash);
                txs.push(vtx.signed);
            }
            Err(reject) => excluded.push((vtx.hash, reject)),
        }
    }
    let diff = ov.into_diff();
    let header = Header {
        height: state.head.height.saturating_add(1),
        parent_hash: state.head.hash,
        timestamp_ms,
        proposer: ctx.proposer,
        tx_root: tx_root(&tx_hashes),
        receipts_root: receipts_root(&receipts),
        state_root: diff.state_root(&state.head.state_root),
    };
    BuiltBlock {
        block: Block { header, txs },
        tx_hashes,
        receipts,
        diff,
        excluded,
    }
}

/// Validates and executes `block` on `state`: checks the header links to the head, verifies
/// every signature (in parallel), executes, and checks the roots. Pure: `state` is unchanged.
pub fn apply_block(state: &State, block: &Block) -> Result<(StateDiff, Vec<Receipt>)> {
    apply_block_with(state, block, &|_, _| false)
}

/// [`apply_block`], skipping signature recovery for the transactions `verified` vouches
/// for by hash: `verified(hash, tx)` must answer true only for a transaction identical to
/// `tx` (signature included) that this node has verified on this chain, such as one in its
/// mempool. The result is the same as [`apply_block`]'s.
pub fn apply_block_with(
    state: &State,
    block: &Block,
    verified: &(dyn Fn(&B256, &SignedTx) -> bool + Sync),
) -> Result<(StateDiff, Vec<Receipt>)> {
    let h = &block.header;
    let invalid = |m: String| Error::InvalidBlock(m);
    if h.height != state.head.height.saturating_add(1) {
        return Err(invalid(format!(
            "height {} does not follow {}",
            h.height, state.head.height
        )));
    }
    if h.parent_hash != state.head.hash {
        return Err(invalid(format!(
            "parent {} is not the head {}",
            h.parent_hash, state.head.hash
        )));
    }
    if h.timestamp_ms < state.head.timestamp_ms {
        return Err(invalid("timestamp goes backwards".into()));
    }
    let chain_id = state.params.chain_id;
    // Verified in parallel, then checked in block order, so that every node names the same
    // (first) bad transaction.
    let verified: Vec<VerifiedTx> = block
        .txs
        .par_iter()
        .map(|tx| {
            let hash = tx.tx.signing_hash(chain_id);
            if tx.chain_id == chain_id && verified(&hash, tx) {
                Ok(VerifiedTx {
                    signed: tx.clone(),
                    hash,
                })
            } else {
                tx.clone().verify(chain_id, state)
            }
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_, Reject>>()
        .map_err(|r| invalid(format!("transaction signature: {r}")))?;
    let hashes: Vec<B256> = verified.iter().map(|v| v.hash).collect();
    if tx_root(&hashes) != h.tx_root {
        return Err(invalid("tx root mismatch".into()));
    }
    let mut ov = Overlay::new(state);
    ov.begin_block();
    let mut receipts = Vec::with_capacity(verified.len());
    for vtx in &verified {
        let r = ov
            .execute(vtx, h.time_secs())
            .map_err(|r| invalid(format!("transaction {} cannot be included: {r}", vtx.hash)))?;
        receipts.push(r);
    }
    if receipts_root(&receipts) != h.receipts_root {
        return Err(invalid("receipts root mismatch".into()));
    }
    let diff = ov.into_diff();
    if diff.state_root(&state.head.state_root) != h.state_root {
        return Err(invalid("state root mismatch".into()));
    }
    Ok((diff, receipts))
}

/// Checks a transaction against `state` as the mempool does before admitting it: expiry,
/// minimum fee, and that the sender can pay the fee and (for a native transfer) the amount.
/// Nonce ordering is the mempool's business.
pub fn precheck(state: &State, vtx: &VerifiedTx, now_secs: u64) -> Result<(), Reject> {
    let tx = &vtx.signed.tx;
    check_expiry(tx.expiry, now_secs)?;
    check_fee(state, tx)?;
    let acct = state.accounts.get(&tx.from);
    let native = acct.map_or(0, |a| a.balance(&NATIVE));
    let mut need_native = Amount::from(tx.fee);
    match &tx.call {
        Call::Transfer { asset, amount, .. } => {
            if *asset == NATIVE {
                need_native = need_native.saturating_add(*amount);
            } else {
                if !state.assets.contains_key(asset) {
                    return Err(Reject::UnknownAsset { asset: *asset });
                }
                let have = acct.map_or(0, |a| a.balance(asset));
                if have < *amount {
                    return Err(insufficient(*asset, *amount, have));
                }
            }
        }
        Call::TransferWithAuthorization(a) => {
            let key = (a.asset, a.from, a.nonce);
            if state.authorization_state(&key) != AuthorizationState::Unused {
                return Err(Reject::AuthorizationUsed {
                    authorizer: a.from,
                    nonce: a.nonce,
                });
            }
            check_window(a.valid_after, a.valid_before, now_secs)?;
        }
        Call::CreateSubnet { max_lock_cost } => {
            let next = state.head.height.saturating_add(1);
            let lock = state.network.lock_cost(next).min(*max_lock_cost);
            need_native = need_native.saturating_add(lock);
        }
        Call::RegisterNeuron { netuid, max_burn } => {
            let subnet = state
                .subnets
                .get(netuid)
                .ok_or(Reject::UnknownSubnet { netuid: *netuid })?;
            let burn = subnet.burn_at(state.head.height.saturating_add(1));
            need_native = need_native.saturating_add(burn.min(*max_burn));
        }
        Call::AddStake { netuid, amount, .. } => {
            if !state.subnets.contains_key(netuid) {
                return Err(Reject::UnknownSubnet { netuid: *netuid });
            }
            need_native = need_native.saturating_add(*amount);
        }
        Call::RemoveStake { netuid, .. }
        | Call::SetWeights { netuid, .. }
        | Call::SetHyperparameter { netuid, .. }
        | Call::ServeEndpoint { netuid, .. }
        | Call::CommitWeights { netuid, .. }
        | Call::RevealWeights { netuid, .. } => {
            if !state.subnets.contains_key(netuid) {
                return Err(Reject::UnknownSubnet { netuid: *netuid });
            }
        }
        Call::Mint { .. } | Call::Burn { .. } | Call::CancelAuthorization(_) => {}
        // The market checks its own amounts when the call runs.
        Call::Compute(_) | Call::Infer(_) => {}
        // Registry calls spend only the fee.
        Call::RegisterAgent { .. }
        | Call::SetAgentUri { .. }
        | Call::SetAgentMetadata { .. }
        | Call::SetAgentWallet { .. }
        | Call::UnsetAgentWallet { .. }
        | Call::TransferAgent { .. }
        | Call::GiveFeedback(_)
        | Call::RevokeFeedback { .. }
        | Call::AppendResponse { .. }
        | Call::ValidationRequest { .. }
        | Call::ValidationResponse { .. } => {}
    }
    if native < need_native {
        return Err(insufficient(NATIVE, need_native, native));
    }
    Ok(())
}

pub(crate) fn insufficient(asset: AssetId, need: Amount, have: Amount) -> Reject {
    Reject::InsufficientFunds {
        asset,
        need: need.to_string(),
        have: have.to_string(),
    }
}

fn check_expiry(expiry: u64, now: u64) -> Result<(), Reject> {
    if expiry != 0 && now >= expiry {
        return Err(Reject::Expired { expiry, now });
    }
    Ok(())
}

/// The least fee `call` may pay: the chain's minimum, times
/// [`crate::infer::VERIFY_FEE_FACTOR`] for a call the state transition verifies a TEE quote or
/// a ZK proof for (milliseconds of every validator's CPU, where a transfer takes
/// microseconds).
pub fn required_fee(min_fee: u64, call: &Call) -> u64 {
    if call.verifies() {
        min_fee.saturating_mul(crate::infer::VERIFY_FEE_FACTOR)
    } else {
        min_fee
    }
}

fn check_fee(state: &State, tx: &Tx) -> Result<(), Reject> {
    let min = required_fee(state.params.min_fee, &tx.call);
    if tx.fee < min {
        return Err(Reject::FeeTooLow { min, got: tx.fee });
    }
    Ok(())
}

/// EIP-3009: `validAfter < now < validBefore`.
fn check_window(valid_after: u64, valid_before: u64, now: u64) -> Result<(), Reject> {
    if now <= valid_after {
        return Err(Reject::AuthorizationNotYetValid { valid_after, now });
    }
    if now >= valid_before {
        return Err(Reject::AuthorizationExpired { valid_before, now });
    }
    Ok(())
}

/// Copy-on-write view of the state during one block.
pub(crate) struct Overlay<'a> {
    pub(crate) base: &'a State,
    /// The height of the block being executed.
    pub(crate) height: u64,
    accounts: HashMap<Address, Account>,
    assets: BTreeMap<AssetId, Asset>,
    auths: BTreeMap<AuthKey, AuthorizationState>,
    pub(crate) native_supply: Amount,
    pub(crate) subnets: BTreeMap<NetUid, Subnet>,
    pub(crate) network: Network,
    pub(crate) network_changed: bool,
    pub(crate) markets: BTreeMap<NetUid, Market>,
    pub(crate) epochs: Vec<EpochRecord>,
    pub(crate) registry: RegistryDiff,
    pub(crate) payments: BTreeMap<AuthKey, SettledPayment>,
    pub(crate) compute: ComputeDiff,
    pub(crate) infer: InferDiff,
    /// Calls in this block that verify a quote or a proof.
    verifications: usize,
}

impl<'a> Overlay<'a> {
    fn new(base: &'a State) -> Self {
        Overlay {
            base,
            height: base.head.height.saturating_add(1),
            accounts: HashMap::new(),
            assets: BTreeMap::new(),
            auths: BTreeMap::new(),
            native_supply: base.native_supply,
            subnets: BTreeMap::new(),
            network: base.network,
            network_changed: false,
            markets: BTreeMap::new(),
            epochs: Vec::new(),
            registry: RegistryDiff::default(),
            payments: BTreeMap::new(),
            compute: ComputeDiff::default(),
            infer: InferDiff::default(),
            verifications: 0,
        }
    }

    /// The block's own work, before its transactions: the subnets' emission and epochs, then
    /// the compute market's deadlines and emission epoch, then inference deadlines and payouts.
    fn begin_block(&mut self) {
        self.subnets_begin_block();
        self.compute_begin_block();
        self.infer_begin_block();
    }

    pub(crate) fn account(&mut self, a: Address) -> &mut Account {
        let base = self.base;
        self.accounts.entry(a).or_insert_with(|| base.account(&a))
    }

    pub(crate) fn peek_account(&self, a: &Address) -> Option<&Account> {
        self.accounts.get(a).or_else(|| self.base.accounts.get(a))
    }

    pub(crate) fn balance(&self, a: &Address, asset: &AssetId) -> Amount {
        self.peek_account(a).map_or(0, |acct| acct.balance(asset))
    }

    fn asset(&self, id: &AssetId) -> Option<&Asset> {
        self.assets.get(id).or_else(|| self.base.assets.get(id))
    }

    fn auth_state(&self, key: &AuthKey) -> AuthorizationState {
        self.auths
            .get(key)
            .copied()
            .unwrap_or_else(|| self.base.authorization_state(key))
    }

    /// Runs one transaction: inclusion checks (an `Err` means it cannot be in the block), then
    /// the fee and nonce, then the call (whose failure is a failed receipt).
    fn execute(&mut self, vtx: &VerifiedTx, now: u64) -> Result<Receipt, Reject> {
        let tx = &vtx.signed.tx;
        check_expiry(tx.expiry, now)?;
        check_fee(self.base, tx)?;
        let verifies = tx.call.verifies();
        if verifies && self.verifications >= crate::infer::MAX_VERIFICATIONS_PER_BLOCK {
            return Err(Reject::BlockVerificationsFull {
                max: crate::infer::MAX_VERIFICATIONS_PER_BLOCK,
            });
        }
        let (nonce, native) = match self.peek_account(&tx.from) {
            Some(a) => (a.nonce, a.balance(&NATIVE)),
            None => (0, 0),
        };
        if tx.nonce < nonce {
            return Err(Reject::NonceStale {
                expected: nonce,
                got: tx.nonce,
            });
        }
        if tx.nonce > nonce {
            return Err(Reject::NonceFuture {
                expected: nonce,
                got: tx.nonce,
            });
        }
        let fee = Amount::from(tx.fee);
        if native < fee {
            return Err(insufficient(NATIVE, fee, native));
        }
        let acct = self.account(tx.from);
        acct.nonce = nonce.saturating_add(1);
        acct.set_balance(NATIVE, native - fee);
        self.native_supply = self.native_supply.saturating_sub(fee);
        if verifies {
            self.verifications += 1;
        }

        let mut events = Vec::new();
        let status = match self.call(tx.from, &tx.call, now, &mut events) {
            Ok(()) => Status::Success,
            Err(r) => {
                events.clear();
                Status::failed(&r)
            }
        };
        Ok(Receipt {
            tx_hash: vtx.hash,
            status,
            fee_burned: tx.fee,
            events,
        })
    }

    fn call(
        &mut self,
        from: Address,
        call: &Call,
        now: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match call {
            Call::Transfer { to, asset, amount } => {
                self.require_asset(asset)?;
                positive(*amount)?;
                self.transfer(*asset, from, *to, *amount)?;
                events.push(Event::Transfer {
                    asset: *asset,
                    from,
                    to: *to,
                    amount: *amount,
                });
            }
            Call::Mint { asset, to, amount } => {
                positive(*amount)?;
                let mut a = self.issued(asset, from)?;
                a.supply = a
                    .supply
                    .checked_add(*amount)
                    .ok_or(Reject::SupplyCapExceeded { asset: *asset })?;
                let bal = self.balance(to, asset).saturating_add(*amount);
                self.account(*to).set_balance(*asset, bal);
                self.assets.insert(*asset, a);
                events.push(Event::Mint {
                    asset: *asset,
                    to: *to,
                    amount: *amount,
                });
            }
            Call::Burn { asset, amount } => {
                positive(*amount)?;
                let mut a = self.issued(asset, from)?;
                let have = self.balance(&from, asset);
                if have < *amount {
                    return Err(insufficient(*asset, *amount, have));
                }
                a.supply = a.supply.saturating_sub(*amount);
                self.account(from).set_balance(*asset, have - amount);
                self.assets.insert(*asset, a);
                events.push(Event::Burn {
                    asset: *asset,
                    from,
                    amount: *amount,
                });
            }
            Call::TransferWithAuthorization(auth) => {
                self.require_issued(&auth.asset)?;
                positive(auth.value)?;
                check_window(auth.valid_after, auth.valid_before, now)?;
                let key = (auth.asset, auth.from, auth.nonce);
                if self.auth_state(&key) != AuthorizationState::Unused {
                    return Err(Reject::AuthorizationUsed {
                        authorizer: auth.from,
                        nonce: auth.nonce,
                    });
                }
                self.transfer(auth.asset, auth.from, auth.to, auth.value)?;
                self.auths.insert(key, AuthorizationState::Used);
                self.payments.insert(
                    key,
                    SettledPayment {
                        to: auth.to,
                        value: auth.value,
                        cited_by: None,
                    },
                );
                events.push(Event::AuthorizationUsed {
                    asset: auth.asset,
                    authorizer: auth.from,
                    nonce: auth.nonce,
                });
                events.push(Event::Transfer {
                    asset: auth.asset,
                    from: auth.from,
                    to: auth.to,
                    amount: auth.value,
                });
            }
            Call::CreateSubnet { max_lock_cost } => {
                self.create_subnet(from, *max_lock_cost, events)?;
            }
            Call::RegisterNeuron { netuid, max_burn } => {
                self.register_neuron(from, *netuid, *max_burn, events)?;
            }
            Call::AddStake {
                netuid,
                hotkey,
                amount,
                limit_price,
            } => self.add_stake(from, *netuid, *hotkey, *amount, *limit_price, events)?,
            Call::RemoveStake {
                netuid,
                hotkey,
                alpha,
                limit_price,
            } => self.remove_stake(from, *netuid, *hotkey, *alpha, *limit_price, events)?,
            Call::SetWeights {
                netuid,
                uids,
                values,
                version_key,
            } => self.set_weights(from, *netuid, uids, values, *version_key, events)?,
            Call::CommitWeights {
                netuid,
                commit_hash,
            } => self.commit_weights(from, *netuid, *commit_hash)?,
            Call::RevealWeights {
                netuid,
                uids,
                values,
                salt,
                version_key,
            } => self.reveal_weights(from, *netuid, uids, values, *salt, *version_key, events)?,
            Call::ServeEndpoint { netuid, url } => {
                let uid = self.serve_endpoint(from, *netuid, url)?;
                events.push(Event::EndpointServed {
                    netuid: *netuid,
                    uid,
                    url: url.clone(),
                });
            }
            Call::SetHyperparameter {
                netuid,
                name,
                value,
            } => {
                self.set_hyperparameter(from, *netuid, name, *value)?;
                events.push(Event::HyperparameterSet {
                    netuid: *netuid,
                    name: name.clone(),
                    value: *value,
                });
            }
            Call::RegisterAgent { .. }
            | Call::SetAgentUri { .. }
            | Call::SetAgentMetadata { .. }
            | Call::SetAgentWallet { .. }
            | Call::UnsetAgentWallet { .. }
            | Call::TransferAgent { .. }
            | Call::GiveFeedback(_)
            | Call::RevokeFeedback { .. }
            | Call::AppendResponse { .. }
            | Call::ValidationRequest { .. }
            | Call::ValidationResponse { .. } => self.registry_call(from, call, now, events)?,
            Call::Compute(c) => self.compute_call(from, c, events)?,
            Call::Infer(c) => self.infer_call(from, c, now, events)?,
            Call::CancelAuthorization(c) => {
                self.require_issued(&c.asset)?;
                let key = (c.asset, c.authorizer, c.nonce);
                if self.auth_state(&key) != AuthorizationState::Unused {
                    return Err(Reject::AuthorizationUsed {
                        authorizer: c.authorizer,
                        nonce: c.nonce,
                    });
                }
                self.auths.insert(key, AuthorizationState::Canceled);
                events.push(Event::AuthorizationCanceled {
                    asset: c.asset,
                    authorizer: c.authorizer,
                    nonce: c.nonce,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn require_asset(&self, asset: &AssetId) -> Result<(), Reject> {
        if *asset == NATIVE {
            Ok(())
        } else {
            self.require_issued(asset)
        }
    }

    fn require_issued(&self, asset: &AssetId) -> Result<(), Reject> {
        match self.asset(asset) {
            Some(_) => Ok(()),
            None => Err(Reject::UnknownAsset { asset: *asset }),
        }
    }

    /// The issued asset `id`, if `caller` is its issuer.
    fn issued(&self, id: &AssetId, caller: Address) -> Result<Asset, Reject> {
        let a = self.asset(id).ok_or(Reject::UnknownAsset { asset: *id })?;
        if a.issuer != caller {
            return Err(Reject::NotIssuer { asset: *id, caller });
        }
        Ok(a.clone())
    }

    pub(crate) fn transfer(
        &mut self,
        asset: AssetId,
        from: Address,
        to: Address,
        amount: Amount,
    ) -> Result<(), Reject> {
        let have = self.balance(&from, &asset);
        if have < amount {
            return Err(insufficient(asset, amount, have));
        }
        self.account(from).set_balance(asset, have - amount);
        // Credit after debit so that a transfer to oneself is a no-op. The payee's balance
        // cannot overflow: it is bounded by the asset's supply, which fits in u128.
        let bal = self.balance(&to, &asset).saturating_add(amount);
        self.account(to).set_balance(asset, bal);
        Ok(())
    }

    fn into_diff(self) -> StateDiff {
        StateDiff {
            accounts: self.accounts.into_iter().collect(),
            assets: self.assets,
            authorizations: self.auths,
            native_supply: (self.native_supply != self.base.native_supply)
                .then_some(self.native_supply),
            subnets: self.subnets,
            network: self.network_changed.then_some(self.network),
            markets: self.markets,
            epochs: self.epochs,
            registry: self.registry,
            payments: self.payments,
            compute: self.compute,
            infer: self.infer,
        }
    }
}

fn positive(amount: Amount) -> Result<(), Reject> {
    if amount == 0 {
        return Err(Reject::InvalidCall {
            reason: "amount must be positive".into(),
        });
    }
    Ok(())
}
