//! The mempool: bounded, de-duplicated by hash, nonce-ordered per sender.
//!
//! Signatures are verified before a transaction gets here (in parallel, by the caller). A
//! full pool refuses new transactions with [`Admit::Full`]; nothing is dropped silently.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use ledger::{
    Address, B256, Reject,
    state::AuthKey,
    tx::{Call, VerifiedTx},
};

/// Why the pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// The transaction itself is refused.
    Reject(Reject),
    /// The pool is at capacity; try again later.
    Full,
}

/// Pending transactions.
#[derive(Debug)]
pub struct Mempool {
    capacity: usize,
    nonce_window: u64,
    by_hash: HashMap<B256, (Address, u64)>,
    senders: HashMap<Address, BTreeMap<u64, VerifiedTx>>,
    /// Senders with pending transactions, in order of first arrival (fairness across senders).
    order: VecDeque<Address>,
    auths: HashSet<AuthKey>,
}

impl Mempool {
    /// A pool holding at most `capacity` transactions, accepting nonces up to
    /// `nonce_window` ahead of an account's next nonce.
    pub fn new(capacity: usize, nonce_window: u64) -> Self {
        Mempool {
            capacity,
            nonce_window,
            by_hash: HashMap::new(),
            senders: HashMap::new(),
            order: VecDeque::new(),
            auths: HashSet::new(),
        }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Whether `hash` is pending.
    pub fn contains(&self, hash: &B256) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Admits `vtx`, given its sender's next nonce in the committed state.
    pub fn insert(&mut self, vtx: VerifiedTx, next_nonce: u64) -> Result<(), Admit> {
        let from = vtx.sender();
        let nonce = vtx.signed.tx.nonce;
        if self.by_hash.contains_key(&vtx.hash) {
            return Err(Admit::Reject(Reject::Duplicate { hash: vtx.hash }));
        }
        if nonce < next_nonce {
            return Err(Admit::Reject(Reject::NonceStale {
                expected: next_nonce,
                got: nonce,
            }));
        }
        if nonce - next_nonce >= self.nonce_window {
            return Err(Admit::Reject(Reject::NonceFuture {
                expected: next_nonce,
                got: nonce,
            }));
        }
        if self
            .senders
            .get(&from)
            .is_some_and(|m| m.contains_key(&nonce))
        {
            return Err(Admit::Reject(Reject::NoncePending { nonce }));
        }
        let auth = auth_key(&vtx);
        if let Some(k) = auth
            && self.auths.contains(&k)
        {
            return Err(Admit::Reject(Reject::AuthorizationUsed {
                authorizer: k.1,
                nonce: k.2,
            }));
        }
        if self.by_hash.len() >= self.capacity {
            return Err(Admit::Full);
        }
        if let Some(k) = auth {
            self.auths.insert(k);
        }
        self.by_hash.insert(vtx.hash, (from, nonce));
        let queue = self.senders.entry(from).or_default();
        if queue.is_empty() {
            self.order.push_back(from);
        }
        queue.insert(nonce, vtx);
        Ok(())
    }

    /// Up to `max` transactions ready to execute: for each sender in arrival order, the
    /// consecutive run of nonces starting at its next nonce (`next_nonce`).
    pub fn candidates(&self, max: usize, next_nonce: impl Fn(&Address) -> u64) -> Vec<VerifiedTx> {
        let mut out = Vec::with_capacity(max.min(self.len()));
        for sender in &self.order {
            if out.len() >= max {
                break;
            }
            let Some(queue) = self.senders.get(sender) else {
                continue;
            };
            let mut n = next_nonce(sender);
            for (nonce, vtx) in queue.range(n..) {
                if *nonce != n || out.len() >= max {
                    break;
                }
                out.push(vtx.clone());
                n = n.saturating_add(1);
            }
        }
        out
    }

    /// Removes the given transactions (committed or excluded) and everything of the touched
    /// senders that their new next nonce has made stale. Returns the stale ones removed.
    pub fn remove(
        &mut self,
        hashes: &[B256],
        next_nonce: impl Fn(&Address) -> u64,
    ) -> Vec<(B256, Reject)> {
        let mut touched = HashSet::new();
        for h in hashes {
            if let Some((from, nonce)) = self.by_hash.remove(h) {
                if let Some(q) = self.senders.get_mut(&from)
                    && let Some(vtx) = q.remove(&nonce)
                    && let Some(k) = auth_key(&vtx)
                {
                    self.auths.remove(&k);
                }
                touched.insert(from);
            }
        }
        let mut stale = Vec::new();
        for from in &touched {
            let Some(q) = self.senders.get_mut(from) else {
                continue;
            };
            let next = next_nonce(from);
            let keep = q.split_off(&next);
            for vtx in std::mem::replace(q, keep).into_values() {
                self.by_hash.remove(&vtx.hash);
                if let Some(k) = auth_key(&vtx) {
                    self.auths.remove(&k);
                }
                let got = vtx.signed.tx.nonce;
                stale.push((
                    vtx.hash,
                    Reject::NonceStale {
                        expected: next,
                        got,
                    },
                ));
            }
            if q.is_empty() {
                self.senders.remove(from);
            }
        }
        if !touched.is_empty() {
            let senders = &self.senders;
            self.order.retain(|a| senders.contains_key(a));
        }
        stale
    }
}

fn auth_key(vtx: &VerifiedTx) -> Option<AuthKey> {
    match &vtx.signed.tx.call {
        Call::TransferWithAuthorization(a) => Some((a.asset, a.from, a.nonce)),
        Call::CancelAuthorization(c) => Some((c.asset, c.authorizer, c.nonce)),
        _ => None,
    }
}
