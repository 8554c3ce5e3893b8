//! The application side of consensus, without the engine: what a validator does when asked for
//! a value, when a proposal stream completes and when a value is finalized. [`crate::app`]
//! maps Malachite's `AppMsg`s onto these methods; tests drive them directly.
//!
//! The ledger comes in through the [`Ledger`] seam, which the node implements with its store,
//! state and mempool so that a finalized block is committed by the same path as a solo block.

use std::collections::BTreeMap;

use ledger::{Block, BlockContext, Commit, State, Store, tx::VerifiedTx};
use malachitebft_app_channel::app::types::{
    LocallyProposedValue, ProposedValue,
    core::{ExtendedCommitCertificate, Round, Validity},
    sync::RawDecidedValue,
};
use serde::{Deserialize, Serialize};

use crate::{
    Address, ConsensusKey, Ctx, Height, ProposalPart, ValidatorSet, Value, ValueId,
    error::{Error, Result},
    stream, validate,
};

/// What consensus needs from the ledger node: the head state, mempool candidates, and the
/// commit of a decided block.
pub trait Ledger: Send + Sync {
    /// Runs `f` on the state at the head.
    fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R;
    /// Up to `max` mempool transactions to propose on top of `state`, in inclusion order.
    fn candidates(&self, state: &State, max: usize) -> Vec<VerifiedTx>;
    /// Persists a decided block and its execution result and advances the head (the solo
    /// producer's storage path: one store transaction, state update, mempool pruning).
    fn commit(&self, commit: Commit) -> Result<(), ledger::Error>;
    /// The store: committed blocks and certificates (served to nodes that fell behind),
    /// undecided proposals and the validator set the chain started with.
    fn store(&self) -> &dyn Store;
    /// Whether this node has verified exactly `tx` (signature included) under `hash`, such
    /// as a transaction in its mempool: checking a block then skips its signature recovery.
    fn verified(&self, hash: &ledger::B256, tx: &ledger::SignedTx) -> bool;
}

/// The `consensus_meta` key of the validator set a store's chain runs with.
const VALIDATORS_KEY: &str = "validators";

/// Checks that `set` is the validator set `store`'s chain started with, recording it on the
/// first start. A genesis file whose `validators` changed under an existing chain would
/// otherwise run a different set than its peers.
pub fn check_validator_set(store: &dyn Store, set: &ValidatorSet) -> Result<()> {
    let listed: Vec<(String, String, u64)> = set
        .validators()
        .iter()
        .map(|v| {
            (
                v.address.to_string(),
                hex::encode(v.public_key.as_bytes()),
                v.voting_power,
            )
        })
        .collect();
    let json = serde_json::to_vec(&listed).map_err(|e| Error::Ledger(e.to_string()))?;
    let store_err = |e: ledger::Error| Error::Ledger(e.to_string());
    match store.consensus_meta(VALIDATORS_KEY).map_err(store_err)? {
        None => store
            .put_consensus_meta(VALIDATORS_KEY, &json)
            .map_err(store_err),
        Some(kept) if kept == json => Ok(()),
        Some(kept) => Err(Error::InvalidValidatorSet(format!(
            "the genesis validators differ from the set this node's chain started with ({})",
            String::from_utf8_lossy(&kept)
        ))),
    }
}

/// An undecided block as kept in the store across a restart.
#[derive(Serialize, Deserialize)]
struct Kept {
    round: i64,
    proposer: ledger::Address,
    valid: bool,
    block: Block,
}

/// Most decided values served in one sync response.
pub const MAX_SYNC_BATCH: u64 = 64;

/// A block this node built or received for a height and round, not yet decided.
#[derive(Debug, Clone)]
struct Undecided {
    height: Height,
    round: Round,
    proposer: Address,
    block: Block,
    validity: Validity,
    /// The block's execution on its parent (by hash), when this node built or checked it
    /// since start: `Finalized` commits it instead of executing the block a second time.
    executed: Option<(ledger::B256, validate::Executed)>,
}

/// The validator's application state between engine messages.
pub struct Host<L> {
    ledger: L,
    validators: ValidatorSet,
    me: Address,
    key: ConsensusKey,
    chain_id: u64,
    max_block_txs: usize,
    /// Undecided blocks by id (both built and received).
    undecided: BTreeMap<ValueId, Undecided>,
    /// What this node built per (height, round): it proposes the same block again after a
    /// restart of the round, never a second one.
    built: BTreeMap<(Height, Round), ValueId>,
}

impl<L: Ledger> Host<L> {
    /// A host for validator `me` (signing with `key`) of `validators` on `chain_id`, with
    /// the undecided blocks its store kept above the head (a restart mid-height proposes
    /// the same block again and can finalize one it saw). Fails if `validators` is not the
    /// set the store's chain started with.
    pub fn new(
        ledger: L,
        validators: ValidatorSet,
        me: Address,
        key: ConsensusKey,
        chain_id: u64,
        max_block_txs: usize,
    ) -> Result<Self> {
        check_validator_set(ledger.store(), &validators)?;
        let mut host = Host {
            ledger,
            validators,
            me,
            key,
            chain_id,
            max_block_txs,
            undecided: BTreeMap::new(),
            built: BTreeMap::new(),
        };
        let head = host.ledger.with_state(|s| s.head.height);
        let kept = host
            .ledger
            .store()
            .proposals()
            .map_err(|e| Error::Ledger(e.to_string()))?;
        for (height, id, bytes) in kept {
            let Ok(k) = serde_json::from_slice::<Kept>(&bytes) else {
                tracing::warn!(height, %id, "skipping an unreadable kept proposal");
                continue;
            };
            if height <= head {
                continue;
            }
            let u = Undecided {
                height: Height(height),
                round: Round::from(k.round),
                proposer: Address(k.proposer),
                block: k.block,
                validity: Validity::from_bool(k.valid),
                executed: None,
            };
            if u.proposer == host.me {
                host.built.insert((u.height, u.round), ValueId(id));
            }
            host.undecided.insert(ValueId(id), u);
        }
        Ok(host)
    }

    /// Remembers an undecided block, in memory and durably in the store.
    fn keep(&mut self, id: ValueId, u: Undecided) {
        let kept = Kept {
            round: u.round.as_i64(),
            proposer: u.proposer.0,
            valid: u.validity.is_valid(),
            block: u.block.clone(),
        };
        let stored = serde_json::to_vec(&kept)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                self.ledger
                    .store()
                    .put_proposal(u.height.0, &id.0, &b)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = stored {
            // Still usable from memory; only a restart before the decision loses it.
            tracing::warn!(height = %u.height, %id, error = %e, "cannot keep a proposal in the store");
        }
        self.undecided.insert(id, u);
    }

    /// The ledger.
    pub fn ledger(&self) -> &L {
        &self.ledger
    }

    /// The validator set (fixed at genesis for now).
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The height to start at: the one after the stored head (how a restarted node resumes).
    pub fn start_height(&self) -> Height {
        Height(self.ledger.with_state(|s| s.head.height).saturating_add(1))
    }

    /// The undecided values already known for `(height, round)` (`StartedRound`'s reply).
    pub fn undecided_for(&self, height: Height, round: Round) -> Vec<ProposedValue<Ctx>> {
        self.undecided
            .iter()
            .filter(|(_, u)| u.height == height && u.round == round)
            .map(|(id, u)| proposed(*id, u))
            .collect()
    }

    /// `GetValue`: the block to propose at `(height, round)` and the parts to stream. The same
    /// block if one was built for that round already; otherwise a new one from the mempool,
    /// stamped with `now_ms` (kept after the parent's time).
    pub fn get_value(
        &mut self,
        height: Height,
        round: Round,
        now_ms: u64,
    ) -> Result<(LocallyProposedValue<Ctx>, Vec<ProposalPart>)> {
        let id = match self.built.get(&(height, round)) {
            Some(id) if self.undecided.contains_key(id) => *id,
            _ => self.build(height, round, now_ms)?,
        };
        let block = match self.undecided.get(&id) {
            Some(u) => &u.block,
            None => return Err(Error::Ledger(format!("built block {id} is gone"))),
        };
        let parts = stream::split(
            block,
            stream::init(height, round, self.me),
            &self.key,
            self.chain_id,
        )?;
        Ok((
            LocallyProposedValue::new(height, round, Value::from_id(id)),
            parts,
        ))
    }

    fn build(&mut self, height: Height, round: Round, now_ms: u64) -> Result<ValueId> {
        let me = self.me;
        let max = self.max_block_txs;
        let (block, executed) = self.ledger.with_state(|state| {
            if state.head.height.saturating_add(1) != height.0 {
                return Err(Error::Ledger(format!(
                    "asked to propose at {height} on top of {}",
                    state.head.height
                )));
            }
            let ctx = BlockContext {
                timestamp_ms: validate::proposal_timestamp(state, now_ms),
                proposer: me.0,
            };
            let candidates = self.ledger.candidates(state, max);
            let built = ledger::build_block(state, ctx, candidates);
            Ok((built.block, (state.head.hash, (built.diff, built.receipts))))
        })?;
        let id = Value::of(&block).id();
        self.keep(
            id,
            Undecided {
                height,
                round,
                proposer: me,
                block,
                validity: Validity::Valid,
                executed: Some(executed),
            },
        );
        self.built.insert((height, round), id);
        Ok(id)
    }

    /// `ReceivedProposalPart`, once a stream is complete: authenticate and assemble it, check
    /// the block against the head (a dry run of `apply_block`, timestamp bounds against
    /// `now_ms`), remember it, and return it with its validity. `None` if the stream is not a
    /// well-formed, signed proposal for the next height (it is dropped).
    pub fn received_stream(
        &mut self,
        parts: &[ProposalPart],
        now_ms: u64,
    ) -> Option<ProposedValue<Ctx>> {
        let (init, block) = match stream::assemble(parts, &self.validators, self.chain_id) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "dropping a proposal stream");
                return None;
            }
        };
        let (parent, checked) = self.ledger.with_state(|state| {
            (state.head.height.saturating_add(1) == init.height.0).then(|| {
                (
                    state.head.hash,
                    validate::check_block(state, &block, init.proposer, Some(now_ms), &|h, t| {
                        self.ledger.verified(h, t)
                    }),
                )
            })
        })?;
        let (validity, executed) = match checked {
            Ok(executed) => (Validity::Valid, Some((parent, executed))),
            Err(e) => {
                tracing::warn!(height = %init.height, round = %init.round, error = %e, "invalid proposal");
                (Validity::Invalid, None)
            }
        };
        let id = Value::of(&block).id();
        let u = Undecided {
            height: init.height,
            round: init.round,
            proposer: init.proposer,
            block,
            validity,
            executed,
        };
        let value = ProposedValue {
            valid_round: init.pol_round,
            ..proposed(id, &u)
        };
        self.keep(id, u);
        Some(value)
    }

    /// `RestreamProposal`: the parts of a block this node proposed, re-proposed at `round`
    /// with proof-of-lock round `valid_round`. `None` if it is not ours or is gone.
    pub fn restream(
        &self,
        height: Height,
        round: Round,
        valid_round: Round,
        id: ValueId,
    ) -> Option<Vec<ProposalPart>> {
        let u = self.undecided.get(&id).filter(|u| u.proposer == self.me)?;
        let init = crate::ProposalInit {
            height,
            round,
            pol_round: valid_round,
            proposer: self.me,
        };
        stream::split(&u.block, init, &self.key, self.chain_id).ok()
    }

    /// `ProcessSyncedValue`: a block decided elsewhere, received by sync for the next height.
    /// Checked like a proposal but without the clock bound (it may be old), and remembered so
    /// that `Finalized` can commit it. `None` if the bytes are not a block.
    pub fn synced(
        &mut self,
        height: Height,
        round: Round,
        proposer: Address,
        block_bytes: &[u8],
    ) -> Option<ProposedValue<Ctx>> {
        let block = crate::codec::decode_block(block_bytes).ok()?;
        let executed = self.ledger.with_state(|state| {
            (state.head.height.saturating_add(1) == height.0)
                .then(|| {
                    validate::check_block(state, &block, proposer, None, &|h, t| {
                        self.ledger.verified(h, t)
                    })
                    .ok()
                })
                .flatten()
                .map(|e| (state.head.hash, e))
        });
        let id = Value::of(&block).id();
        let u = Undecided {
            height,
            round,
            proposer,
            block,
            validity: Validity::from_bool(executed.is_some()),
            executed,
        };
        let value = proposed(id, &u);
        self.undecided.insert(id, u);
        Some(value)
    }

    /// `GetHistoryMinHeight`: the lowest height sync can serve, the first committed with a
    /// certificate (the next height if none).
    pub fn history_min_height(&self) -> Height {
        match self.ledger.store().first_certificate() {
            Ok(Some(h)) => Height(h),
            _ => self.start_height(),
        }
    }

    /// `GetDecidedValues`: the stored blocks with their certificates, from `from` up to `to`
    /// (stopping at the first height that cannot be served).
    pub fn decided(&self, from: Height, to: Height) -> Vec<RawDecidedValue<Ctx>> {
        let mut out = vec![];
        for h in from.0..=to.0.min(from.0.saturating_add(MAX_SYNC_BATCH)) {
            let store = self.ledger.store();
            let (Ok(Some(cert)), Ok(Some(block))) = (store.certificate(h), store.block(h)) else {
                break;
            };
            let (Ok(cert), Ok(bytes)) = (
                crate::wire::decode_certificate(&cert),
                crate::codec::encode_block(&block),
            ) else {
                tracing::error!(height = h, "a stored block or certificate does not decode");
                break;
            };
            out.push(RawDecidedValue::new(bytes, cert));
        }
        out
    }

    /// `Finalized`: executes the decided block again on the head state and commits it with
    /// its certificate through the ledger, then forgets undecided blocks at or below its
    /// height.
    pub fn finalize(&mut self, certificate: &ExtendedCommitCertificate<Ctx>) -> Result<()> {
        let (height, id) = (certificate.height, certificate.value_id);
        let (block, executed) = match self.undecided.get_mut(&id) {
            Some(u) if u.height == height => (u.block.clone(), u.executed.take()),
            _ => return Err(Error::Ledger(format!("no block {id} at height {height}"))),
        };
        // The execution from the check, if it ran on the same parent; otherwise run it now.
        let head = self.ledger.with_state(|s| s.head.hash);
        let (diff, receipts) = match executed {
            Some((parent, executed)) if parent == head => executed,
            _ => self
                .ledger
                .with_state(|state| {
                    ledger::apply_block_with(state, &block, &|h, t| self.ledger.verified(h, t))
                })
                .map_err(|e| Error::Ledger(e.to_string()))?,
        };
        let tx_hashes = block
            .txs
            .iter()
            .map(|t| t.tx.signing_hash(t.chain_id))
            .collect();
        self.ledger
            .commit(Commit {
                block,
                tx_hashes,
                receipts,
                diff,
                certificate: Some(crate::wire::encode_certificate(certificate)?.to_vec()),
            })
            .map_err(|e| Error::Ledger(e.to_string()))?;
        self.undecided.retain(|_, u| u.height > height);
        self.built.retain(|(h, _), _| *h > height);
        Ok(())
    }
}

fn proposed(id: ValueId, u: &Undecided) -> ProposedValue<Ctx> {
    ProposedValue {
        height: u.height,
        round: u.round,
        valid_round: Round::Nil,
        proposer: u.proposer,
        value: Value::from_id(id),
        validity: u.validity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemLedger, T0};

    /// Hosts for the round's proposer and for another validator, on fresh genesis ledgers.
    fn hosts(height: Height, round: Round) -> (Host<MemLedger>, Host<MemLedger>) {
        let (set, mut keys) = stream::tests::validators();
        let p = set.proposer(height, round).address;
        let i = keys.iter().position(|(a, _)| *a == p).unwrap();
        let (pa, pk) = keys.remove(i);
        let (qa, qk) = keys.remove(0);
        let host = |a, k| Host::new(MemLedger::genesis(), set.clone(), a, k, 1337, 100).unwrap();
        (host(pa, pk), host(qa, qk))
    }

    /// A certificate for `id` at `height` (its signatures are not checked by the host).
    fn cert(height: Height, id: ValueId) -> ExtendedCommitCertificate<Ctx> {
        ExtendedCommitCertificate {
            height,
            round: Round::new(0),
            value_id: id,
            commit_signatures: vec![],
        }
    }

    #[test]
    fn one_height_in_process_same_block_and_state_everywhere() {
        let (h1, r0) = (Height(1), Round::new(0));
        let (mut proposer, mut other) = hosts(h1, r0);
        assert_eq!(proposer.start_height(), h1);

        let (value, parts) = proposer.get_value(h1, r0, T0 + 1_000).unwrap();
        // Asked again for the same round (a restarted round), it proposes the same block.
        let (again, _) = proposer.get_value(h1, r0, T0 + 9_000).unwrap();
        assert_eq!(again.value, value.value);
        assert_eq!(proposer.undecided_for(h1, r0).len(), 1);

        let seen = other.received_stream(&parts, T0 + 1_000).unwrap();
        assert_eq!(seen.value, value.value);
        assert_eq!(seen.validity, Validity::Valid);
        assert_eq!(seen.proposer, proposer.me);
        assert_eq!(other.undecided_for(h1, r0), vec![seen.clone()]);

        let id = value.value.id();
        proposer.finalize(&cert(h1, id)).unwrap();
        other.finalize(&cert(h1, id)).unwrap();
        let head = |h: &Host<MemLedger>| h.ledger().with_state(|s| s.head);
        assert_eq!(head(&proposer), head(&other));
        assert_eq!(head(&proposer).hash, id.0);
        assert_eq!(head(&proposer).height, 1);
        assert_eq!(proposer.start_height(), Height(2));
        assert!(proposer.undecided_for(h1, r0).is_empty());
        // Finalizing again, or an unknown value, fails without touching the head.
        assert!(other.finalize(&cert(h1, id)).is_err());
        assert_eq!(head(&other).height, 1);
        // A host restarted over the same ledger resumes after its head.
        let Host { ledger, .. } = other;
        let (set, mut keys) = stream::tests::validators();
        let (a, k) = keys.remove(0);
        assert_eq!(
            Host::new(ledger, set, a, k, 1337, 100)
                .unwrap()
                .start_height(),
            Height(2)
        );
    }

    #[test]
    fn a_proposal_from_the_future_is_invalid_and_a_forged_one_dropped() {
        let (h1, r0) = (Height(1), Round::new(0));
        let (mut proposer, mut other) = hosts(h1, r0);
        let (_, parts) = proposer.get_value(h1, r0, T0 + 60_000).unwrap();
        let seen = other.received_stream(&parts, T0 + 1_000).unwrap();
        assert_eq!(seen.validity, Validity::Invalid);
        // The same block, as if proposed by the other validator: not the round's proposer.
        let mut forged = parts.clone();
        if let ProposalPart::Init(init) = &mut forged[0] {
            init.proposer = other.me;
        }
        assert_eq!(other.received_stream(&forged, T0 + 60_000), None);
        // Decided by the others, the block commits (the clock bound only sways a prevote);
        // afterwards a stream for that height is stale and dropped.
        other.finalize(&cert(h1, seen.value.id())).unwrap();
        assert_eq!(other.received_stream(&parts, T0 + 60_000), None);
    }

    /// Restarted mid-height over its store, a host proposes the block it built before and
    /// can finalize a block it received before; after the commit, sync serves the block with
    /// its stored certificate; a changed validator set is refused.
    #[test]
    fn a_restart_keeps_undecided_blocks_certificates_and_the_validator_set() {
        let (h1, r0) = (Height(1), Round::new(0));
        let (mut proposer, mut other) = hosts(h1, r0);
        let (value, parts) = proposer.get_value(h1, r0, T0 + 1_000).unwrap();
        let seen = other.received_stream(&parts, T0 + 1_000).unwrap();
        let restart = |h: Host<MemLedger>| {
            let Host {
                ledger,
                validators,
                me,
                key,
                ..
            } = h;
            Host::new(ledger, validators, me, key, 1337, 100).unwrap()
        };
        let mut proposer = restart(proposer);
        let mut other = restart(other);
        let (again, _) = proposer.get_value(h1, r0, T0 + 5_000).unwrap();
        assert_eq!(
            again.value, value.value,
            "a second block for the same round"
        );
        assert_eq!(other.undecided_for(h1, r0), vec![seen.clone()]);

        let c = cert(h1, seen.value.id());
        other.finalize(&c).unwrap();
        assert!(other.ledger().store().proposals().unwrap().is_empty());
        assert_eq!(other.history_min_height(), h1);
        let served = restart(other).decided(h1, Height(5));
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].certificate, c);
        let block = &proposer.undecided[&seen.value.id()].block;
        assert_eq!(
            &crate::codec::decode_block(&served[0].value_bytes).unwrap(),
            block
        );

        // The same store under another validator set: refused.
        let (other_set, _) = stream::tests::validators_seeded(4, 7);
        let Host {
            ledger, me, key, ..
        } = proposer;
        let refused = Host::new(ledger, other_set, me, key, 1337, 100);
        assert!(matches!(refused, Err(Error::InvalidValidatorSet(_))));
    }
}
