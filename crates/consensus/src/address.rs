//! A validator's address: the ledger account it proposes blocks as.

use std::fmt;

use malachitebft_core_types as mc;

/// A validator's address in consensus. It is the ledger account that genesis lists for the
/// validator (the `proposer` of the blocks it builds); the validator *signs* consensus messages
/// with a separate ed25519 key (see [`crate::signing`] and ADR 0003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub ledger::Address);

impl Address {
    /// The ledger account.
    pub fn account(&self) -> ledger::Address {
        self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mc::Address for Address {}
