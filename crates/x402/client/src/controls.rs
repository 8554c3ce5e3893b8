//! [`SpendControls`]: what the client may pay, checked before anything is signed.
//!
//! All amounts are in the asset's smallest unit. The budget is per asset over a sliding
//! period: a payment reserves its amount when signed and gives it back if the server answers
//! that it did not settle; an answer that never comes keeps it reserved (the money may have
//! moved).

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

use alloy_primitives::{Address, U256};
use x402_types::{Network, v2::PaymentRequirements};

/// Limits on what the client pays. The default allows any `exact` EVM payment; set at least
/// a per-payment cap for anything unattended.
#[derive(Debug, Clone, Default)]
pub struct SpendControls {
    /// Largest single payment.
    pub max_per_payment: Option<U256>,
    /// Most spent per asset within a sliding period.
    pub budget: Option<(U256, Duration)>,
    /// Only these `(network, asset)` pairs.
    pub assets: Option<Vec<(Network, Address)>>,
    /// Only these networks.
    pub networks: Option<Vec<Network>>,
    /// Only these recipients.
    pub payees: Option<Vec<Address>>,
}

/// Why a requirement was not paid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Not `exact` on an `eip155` network, or malformed.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The network is not allowed.
    #[error("network {0} is not allowed")]
    Network(String),
    /// The asset is not allowed.
    #[error("asset {0} on {1} is not allowed")]
    Asset(Address, String),
    /// The payee is not allowed.
    #[error("payee {0} is not allowed")]
    Payee(Address),
    /// Over the per-payment cap.
    #[error("amount {amount} is over the per-payment cap {cap}")]
    OverCap {
        /// The price.
        amount: U256,
        /// The cap.
        cap: U256,
    },
    /// Over what is left of the period's budget.
    #[error("amount {amount} is over the {left} left of the budget")]
    OverBudget {
        /// The price.
        amount: U256,
        /// What is left.
        left: U256,
    },
}

/// A reserved spend, returned by [`Ledger::release`] if the payment did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    id: u64,
}

/// One recorded spend: its id, when, on which network and asset, how much.
type Entry = (u64, Instant, Network, Address, U256);

/// The client's record of recent payments, for the budget.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<(u64, VecDeque<Entry>)>,
}

impl SpendControls {
    /// Checks `r` against everything but the budget; returns `(asset, payee, amount)`.
    pub fn admit(&self, r: &PaymentRequirements) -> Result<(Address, Address, U256), Refusal> {
        if r.scheme != "exact" || r.network.evm_chain_id().is_err() {
            return Err(Refusal::Unsupported(format!(
                "{} on {}",
                r.scheme, r.network
            )));
        }
        let asset: Address = r
            .asset
            .parse()
            .map_err(|_| Refusal::Unsupported(format!("asset {}", r.asset)))?;
        let payee: Address = r
            .pay_to
            .parse()
            .map_err(|_| Refusal::Unsupported(format!("payTo {}", r.pay_to)))?;
        if r.extra.name.is_none() || r.extra.version.is_none() {
            return Err(Refusal::Unsupported("no EIP-712 domain in extra".into()));
        }
        if let Some(ns) = &self.networks
            && !ns.contains(&r.network)
        {
            return Err(Refusal::Network(r.network.to_string()));
        }
        if let Some(assets) = &self.assets
            && !assets.iter().any(|(n, a)| n == &r.network && a == &asset)
        {
            return Err(Refusal::Asset(asset, r.network.to_string()));
        }
        if let Some(payees) = &self.payees
            && !payees.contains(&payee)
        {
            return Err(Refusal::Payee(payee));
        }
        let amount = r.amount.0;
        if let Some(cap) = self.max_per_payment
            && amount > cap
        {
            return Err(Refusal::OverCap { amount, cap });
        }
        Ok((asset, payee, amount))
    }
}

impl Ledger {
    /// Reserves `amount` of `asset` on `network` if the budget allows it.
    pub fn reserve(
        &self,
        controls: &SpendControls,
        network: &Network,
        asset: Address,
        amount: U256,
    ) -> Result<Reservation, Refusal> {
        let Ok(mut guard) = self.entries.lock() else {
            return Err(Refusal::Unsupported("spend ledger poisoned".into()));
        };
        let (next, entries) = &mut *guard;
        *next += 1;
        // Only a budget reads the spend history; without one nothing is kept (a long-running
        // payer's history would otherwise grow forever).
        if let Some((budget, period)) = controls.budget {
            let now = Instant::now();
            while entries
                .front()
                .is_some_and(|(_, at, ..)| now.duration_since(*at) >= period)
            {
                entries.pop_front();
            }
            let spent = entries
                .iter()
                .filter(|(_, _, n, a, _)| n == network && *a == asset)
                .fold(U256::ZERO, |s, (.., v)| s.saturating_add(*v));
            let left = budget.saturating_sub(spent);
            if amount > left {
                return Err(Refusal::OverBudget { amount, left });
            }
            entries.push_back((*next, now, network.clone(), asset, amount));
        }
        Ok(Reservation { id: *next })
    }

    /// Gives a reservation back (the payment did not settle).
    pub fn release(&self, r: &Reservation) {
        if let Ok(mut guard) = self.entries.lock() {
            guard.1.retain(|(id, ..)| *id != r.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_kept_only_for_a_budget_and_enforces_it() {
        let network = Network::eip155(31337);
        let asset = Address::repeat_byte(1);
        let ledger = Ledger::default();
        let free = SpendControls::default();
        for _ in 0..1000 {
            ledger
                .reserve(&free, &network, asset, U256::from(5))
                .unwrap();
        }
        assert_eq!(ledger.entries.lock().unwrap().1.len(), 0, "nothing kept");

        let budgeted = SpendControls {
            budget: Some((U256::from(10), Duration::from_secs(3600))),
            ..SpendControls::default()
        };
        let a = ledger
            .reserve(&budgeted, &network, asset, U256::from(6))
            .unwrap();
        assert_eq!(
            ledger.reserve(&budgeted, &network, asset, U256::from(6)),
            Err(Refusal::OverBudget {
                amount: U256::from(6),
                left: U256::from(4)
            })
        );
        ledger.release(&a);
        assert!(
            ledger
                .reserve(&budgeted, &network, asset, U256::from(10))
                .is_ok()
        );
    }
}
