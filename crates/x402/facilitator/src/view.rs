//! [`LedgerView`]: the read-only state verification needs — the seam between the pure
//! verifier and a chain (the Symbiont ledger's [`State`] here; an EVM node's `eth_call`s later).
//!
//! The reference facilitator learns these facts by simulating `transferWithAuthorization` and,
//! on failure, reading `authorizationState`, `name()`, `version()` and `balanceOf` through
//! Multicall3 (`research/x402.md` §2.1 step 9); a view answers them directly.

use alloy_primitives::{Address, B256, U256};
use ledger::{State, eip3009::AuthorizationState, tx::AssetDomains};
use x402_types::exact::Authorization;

/// What verification reads from a ledger.
pub trait LedgerView {
    /// `balanceOf(owner)` of the token `asset`, in its smallest unit.
    fn balance(&self, asset: Address, owner: Address) -> U256;

    /// EIP-3009 `authorizationState(authorizer, nonce)`: whether the nonce was used or
    /// canceled.
    fn authorization_used(&self, asset: Address, authorizer: Address, nonce: B256) -> bool;

    /// The chain's EIP-155 id (the `N` of `eip155:N`).
    fn chain_id(&self) -> u64;

    /// The token's EIP-712 domain `(name(), version())`, or `None` if there is no EIP-3009
    /// token at `asset`.
    fn token_domain(&self, asset: Address) -> Option<(&str, &str)>;

    /// Whether the chain's transaction format can carry this authorization's numbers (an
    /// EVM token takes any `uint256`; the default says yes).
    fn representable(&self, authorization: &Authorization) -> bool {
        let _ = authorization;
        true
    }
}

impl LedgerView for State {
    fn balance(&self, asset: Address, owner: Address) -> U256 {
        U256::from(State::balance(self, &owner, &asset))
    }

    fn authorization_used(&self, asset: Address, authorizer: Address, nonce: B256) -> bool {
        self.authorization_state(&(asset, authorizer, nonce)) != AuthorizationState::Unused
    }

    fn chain_id(&self) -> u64 {
        self.params.chain_id
    }

    fn token_domain(&self, asset: Address) -> Option<(&str, &str)> {
        self.asset_domain(&asset)
    }

    /// The ledger carries `value` as a positive `u128` and the window as `u64` seconds
    /// (`ledger::eip3009::Authorization`; a zero transfer is rejected by `exec`).
    fn representable(&self, a: &Authorization) -> bool {
        crate::settle::ledger_numbers(a).is_ok_and(|(value, _, _)| value > 0)
    }
}
