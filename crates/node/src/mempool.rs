//! The mempool: bounded, de-duplicated by hash, nonce-ordered per sender.
//!
//! Signatures are verified before a transaction gets here (in parallel, by the caller). A
//! full pool refuses new transactions with [`Admit::Full`]; nothing is dropped silently.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use ledger::{
    Address, B256, Reject,
    state::AuthKey,
    tx::{Call, SignedTx, VerifiedTx},
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

    /// Whether the pool holds exactly `tx` (signature included) under `hash`: a transaction
    /// verified on admission, which a block's check need not verify again.
    pub fn holds(&self, hash: &B256, tx: &SignedTx) -> bool {
        self.by_hash.get(hash).is_some_and(|(from, nonce)| {
            self.senders
                .get(from)
                .and_then(|q| q.get(nonce))
                .is_some_and(|v| v.hash == *hash && v.signed == *tx)
        })
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
        // Calls that verify a quote or a proof are limited per block (a ledger rule): past
        // the limit a sender's queue waits, from that call on, for a later block.
        let mut verifications = 0;
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
                if vtx.signed.tx.call.verifies() {
                    if verifications >= ledger::infer::MAX_VERIFICATIONS_PER_BLOCK {
                        break;
                    }
                    verifications += 1;
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

#[cfg(test)]
mod tests {
    use ledger::{Call, Genesis, NATIVE, Tx};
    use wallet::PrivateKey;

    use super::*;

    fn key(i: u8) -> PrivateKey {
        PrivateKey::from_bytes(&[i + 1; 32]).unwrap()
    }

    fn vtx(k: &PrivateKey, nonce: u64) -> VerifiedTx {
        let call = Call::Transfer {
            to: Address::ZERO,
            asset: NATIVE,
            amount: 1,
        };
        vtx_of(k, nonce, call)
    }

    fn vtx_of(k: &PrivateKey, nonce: u64, call: Call) -> VerifiedTx {
        let tx = Tx {
            from: k.address(),
            nonce,
            fee: 1_000,
            expiry: 0,
            call,
        };
        let signed = tx
            .sign_with(1, |h| k.sign_hash(h).map(|s| s.to_bytes()))
            .unwrap();
        let (state, _) = Genesis::dev(1, 0, &[]).build().unwrap();
        signed.verify(1, &state).unwrap()
    }

    /// `holds` vouches for the admitted transaction only: not for another signature or
    /// transaction under its hash, nor after it left the pool.
    #[test]
    fn holds_only_the_exact_admitted_transaction() {
        let a = key(1);
        let mut pool = Mempool::new(100, 10);
        let v = vtx(&a, 0);
        assert!(!pool.holds(&v.hash, &v.signed));
        pool.insert(v.clone(), 0).unwrap();
        assert!(pool.holds(&v.hash, &v.signed));
        let mut forged = v.signed.clone();
        forged.signature.0[5] ^= 1;
        assert!(!pool.holds(&v.hash, &forged));
        let other = vtx(&a, 1);
        assert!(!pool.holds(&v.hash, &other.signed));
        pool.remove(&[v.hash], |_| 1);
        assert!(!pool.holds(&v.hash, &v.signed));
    }

    /// Past the block's budget of quote and proof verifications, a sender's queue waits from
    /// its next verifying call on; other transactions still go.
    #[test]
    fn candidates_respect_the_blocks_verification_budget() {
        let max = ledger::infer::MAX_VERIFICATIONS_PER_BLOCK;
        let bind = || {
            Call::Infer(ledger::infer::InferCall::BindAttestation {
                quote: vec![1, 2, 3].into(),
                collateral: b"{}".to_vec().into(),
            })
        };
        let mut pool = Mempool::new(1_000, 10);
        for i in 0..(max as u8 + 2) {
            let k = key(i);
            pool.insert(vtx_of(&k, 0, bind()), 0).unwrap();
            pool.insert(vtx(&k, 1), 0).unwrap();
        }
        let got = pool.candidates(10_000, |_| 0);
        let verifying = got
            .iter()
            .filter(|v| matches!(&v.signed.tx.call, Call::Infer(_)))
            .count();
        assert_eq!(verifying, max);
        // The senders past the budget send nothing this block (their transfer waits behind
        // their verifying call).
        assert_eq!(got.len(), 2 * max);
    }

    #[test]
    fn candidates_are_consecutive_nonces_per_sender_in_arrival_order() {
        let (a, b) = (key(1), key(2));
        let mut pool = Mempool::new(100, 10);
        for (k, n) in [(&b, 0), (&a, 1), (&a, 0), (&b, 2), (&a, 3)] {
            pool.insert(vtx(k, n), 0).unwrap();
        }
        let got: Vec<(Address, u64)> = pool
            .candidates(100, |_| 0)
            .iter()
            .map(|v| (v.sender(), v.signed.tx.nonce))
            .collect();
        // b arrived first; b's nonce 2 waits for 1; a's nonce 3 waits for 2.
        assert_eq!(got, [(b.address(), 0), (a.address(), 0), (a.address(), 1)]);
        assert_eq!(pool.candidates(2, |_| 0).len(), 2);
    }

    #[test]
    fn refuses_duplicates_stale_far_future_contested_nonces_and_overflow() {
        let a = key(1);
        let mut pool = Mempool::new(3, 10);
        pool.insert(vtx(&a, 5), 5).unwrap();
        let code = |r: Result<(), Admit>| match r {
            Err(Admit::Reject(r)) => r.code(),
            Err(Admit::Full) => "full",
            Ok(()) => "ok",
        };
        assert_eq!(code(pool.insert(vtx(&a, 5), 5)), "duplicate");
        assert_eq!(code(pool.insert(vtx(&a, 4), 5)), "nonce_stale");
        assert_eq!(code(pool.insert(vtx(&a, 15), 5)), "nonce_future");
        assert_eq!(code(pool.insert(vtx(&a, 6), 5)), "ok");
        assert_eq!(code(pool.insert(vtx(&a, 7), 5)), "ok");
        assert_eq!(code(pool.insert(vtx(&a, 8), 5)), "full");
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn remove_drops_included_and_prunes_what_became_stale() {
        let (a, b) = (key(1), key(2));
        let mut pool = Mempool::new(100, 10);
        let txs: Vec<_> = (0..3).map(|n| vtx(&a, n)).collect();
        for t in &txs {
            pool.insert(t.clone(), 0).unwrap();
        }
        pool.insert(vtx(&b, 0), 0).unwrap();
        // Block included a's nonce 0; a's next nonce is now 2 (as if nonce 1 came another way).
        let stale = pool.remove(&[txs[0].hash], |s| if *s == a.address() { 2 } else { 0 });
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].0, txs[1].hash);
        assert!(!pool.contains(&txs[0].hash) && !pool.contains(&txs[1].hash));
        assert!(pool.contains(&txs[2].hash));
        assert_eq!(pool.len(), 2);
        let next = |s: &Address| if *s == a.address() { 2 } else { 0 };
        assert_eq!(pool.candidates(10, next).len(), 2);
    }
}
