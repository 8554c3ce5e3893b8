//! Deferred settlement: answer as soon as the payment is verified and the handler has served,
//! and settle in the background.
//!
//! A confirmed settlement waits for the ledger to include the transfer (up to a block time on
//! the Symbiont ledger, seconds on an L2), which dwarfs the work of a millisecond-scale API
//! such as an embedding. With [`DeferredSettlement`] the seller takes that wait off the
//! request's path and carries the risk instead: verification has already checked the
//! signature, the time window, the nonce and the payer's balance, so a deferred settlement
//! fails only if the payer spends the same funds elsewhere before the transfer lands. The risk
//! is bounded:
//!
//! - at most [`DeferredSettlement::new`]'s `max_outstanding` unsettled payments per payer;
//!   more concurrent requests from that payer settle before they are answered, as usual;
//! - a payer whose deferred settlement failed is never deferred again (every later request
//!   of theirs waits for its settlement), see [`DeferredSettlement::defaulted`].
//!
//! With [`crate::PaymentLayer::verify_while_serving`] a payer in good standing — one whose
//! earlier deferred settlement went through, with no verification or settlement failed since —
//! also has the handler started while the facilitator verifies the payment. The answer still
//! waits for the verdict; a payment that fails it is answered 402, its response is dropped,
//! and the payer loses good standing until a later settlement of theirs succeeds.
//!
//! The deferred response carries no `PAYMENT-RESPONSE` receipt (there is no transaction
//! outcome yet); the payer can look the authorization up on the ledger (EIP-3009
//! `authorizationState`). x402 defines no header for a pending receipt, and inventing one
//! would mislead clients that read `success`.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

/// The deferral policy and its bookkeeping; share one between the routes of a server.
#[derive(Debug)]
pub struct DeferredSettlement {
    max_outstanding: usize,
    state: Mutex<State>,
}

/// The most payers remembered in good standing (the set starts over when full).
const MAX_IN_GOOD_STANDING: usize = 100_000;

#[derive(Debug, Default)]
struct State {
    outstanding: HashMap<String, usize>,
    defaulted: HashSet<String>,
    /// Payers whose last deferred settlement succeeded, with no failure since.
    good_standing: HashSet<String>,
    settled: u64,
    failed: u64,
}

/// Counters of a [`DeferredSettlement`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeferredStats {
    /// Deferred settlements that succeeded.
    pub settled: u64,
    /// Deferred settlements that failed (their payers are now [`DeferredSettlement::defaulted`]).
    pub failed: u64,
    /// Deferred settlements still running.
    pub outstanding: usize,
}

impl DeferredSettlement {
    /// Defers at most `max_outstanding` unsettled payments per payer (0 defers nothing).
    pub fn new(max_outstanding: usize) -> Arc<Self> {
        Arc::new(DeferredSettlement {
            max_outstanding,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for one deferred settlement by `payer`, or `None` when this payment must settle
    /// before it is answered (the payer has defaulted, or has `max_outstanding` in flight).
    pub(crate) fn admit(self: &Arc<Self>, payer: &str) -> Option<Slot> {
        self.admit_where(payer, false)
    }

    /// A slot like [`DeferredSettlement::admit`]'s, but only for a payer in good standing:
    /// their handler may run while their payment is verified.
    pub(crate) fn admit_in_good_standing(self: &Arc<Self>, payer: &str) -> Option<Slot> {
        self.admit_where(payer, true)
    }

    /// Both admissions, decided under one lock (so standing cannot change between the check
    /// and the slot).
    fn admit_where(self: &Arc<Self>, payer: &str, in_good_standing: bool) -> Option<Slot> {
        let payer = payer.to_ascii_lowercase();
        let mut s = self.state();
        if s.defaulted.contains(&payer) || (in_good_standing && !s.good_standing.contains(&payer)) {
            return None;
        }
        let n = s.outstanding.entry(payer.clone()).or_default();
        if *n >= self.max_outstanding {
            return None;
        }
        *n += 1;
        Some(Slot {
            policy: Arc::clone(self),
            payer,
            done: false,
        })
    }

    /// Whether `payer` is in good standing (see [`crate::deferred`]).
    pub fn in_good_standing(&self, payer: &str) -> bool {
        self.state()
            .good_standing
            .contains(&payer.to_ascii_lowercase())
    }

    /// Payers whose deferred settlement failed (lowercase hex); they are no longer deferred.
    pub fn defaulted(&self) -> Vec<String> {
        let mut v: Vec<String> = self.state().defaulted.iter().cloned().collect();
        v.sort();
        v
    }

    /// Settled, failed and running deferred settlements.
    pub fn stats(&self) -> DeferredStats {
        let s = self.state();
        DeferredStats {
            settled: s.settled,
            failed: s.failed,
            outstanding: s.outstanding.values().sum(),
        }
    }
}

/// One deferred settlement in flight; released when finished or dropped (a dropped slot, e.g.
/// a task cancelled at shutdown, counts as neither settled nor failed).
#[derive(Debug)]
pub(crate) struct Slot {
    policy: Arc<DeferredSettlement>,
    payer: String,
    done: bool,
}

impl Slot {
    /// Records the outcome: a success puts the payer in good standing, a failure marks them
    /// as defaulted.
    pub(crate) fn finish(mut self, settled: bool) {
        let mut s = self.policy.state();
        if settled {
            s.settled += 1;
            if s.good_standing.len() >= MAX_IN_GOOD_STANDING {
                s.good_standing.clear();
            }
            s.good_standing.insert(self.payer.clone());
        } else {
            s.failed += 1;
            s.good_standing.remove(&self.payer);
            s.defaulted.insert(self.payer.clone());
        }
        release(&mut s, &self.payer);
        self.done = true;
    }

    /// The payment this slot was for did not verify: the payer is no longer in good standing
    /// (not defaulted: nothing was deferred, and the payment may not even be theirs).
    pub(crate) fn refused(mut self) {
        let mut s = self.policy.state();
        s.good_standing.remove(&self.payer);
        release(&mut s, &self.payer);
        self.done = true;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.done {
            release(&mut self.policy.state(), &self.payer);
        }
    }
}

fn release(s: &mut State, payer: &str) {
    if let Some(n) = s.outstanding.get_mut(payer) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            s.outstanding.remove(payer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_payer_and_a_failure_ends_deferral() {
        let d = DeferredSettlement::new(2);
        let a1 = d.admit("0xAA").unwrap();
        let a2 = d.admit("0xaa").unwrap();
        assert!(d.admit("0xAa").is_none(), "a third unsettled payment waits");
        let b = d.admit("0xbb").unwrap();
        assert_eq!(d.stats().outstanding, 3);
        a1.finish(true);
        let a3 = d.admit("0xaa").unwrap();
        a3.finish(false);
        assert_eq!(d.defaulted(), vec!["0xaa".to_owned()]);
        assert!(
            d.admit("0xaa").is_none(),
            "a defaulted payer is never deferred"
        );
        drop(a2);
        drop(b);
        assert_eq!(
            d.stats(),
            DeferredStats {
                settled: 1,
                failed: 1,
                outstanding: 0
            }
        );
        assert!(DeferredSettlement::new(0).admit("0xcc").is_none());
    }

    #[test]
    fn good_standing_is_earned_by_a_settlement_and_lost_by_a_refusal() {
        let d = DeferredSettlement::new(1);
        assert!(d.admit_in_good_standing("0xAA").is_none(), "a newcomer");
        d.admit("0xaa").unwrap().finish(true);
        assert!(d.in_good_standing("0xAA"));
        let early = d.admit_in_good_standing("0xAA").unwrap();
        assert!(
            d.admit_in_good_standing("0xaa").is_none(),
            "bounded like any deferral"
        );
        early.refused();
        assert!(!d.in_good_standing("0xaa"), "a refused payment ends it");
        assert!(d.defaulted().is_empty(), "but does not default the payer");
        assert_eq!(d.stats().outstanding, 0);
        d.admit("0xaa").unwrap().finish(true);
        assert!(
            d.in_good_standing("0xaa"),
            "the next settlement restores it"
        );
        d.admit("0xaa").unwrap().finish(false);
        assert!(!d.in_good_standing("0xaa"));
        assert!(d.admit_in_good_standing("0xaa").is_none());
    }
}
