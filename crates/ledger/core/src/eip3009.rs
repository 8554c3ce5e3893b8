//! EIP-3009 authorizations, native on the ledger.
//!
//! An authorization is signed by the token holder under the asset's own EIP-712 domain
//! `{name, version, chainId, verifyingContract = asset id}` with the exact struct of
//! EIP-3009 (`TransferWithAuthorization(address from,address to,uint256 value,
//! uint256 validAfter,uint256 validBefore,bytes32 nonce)` and
//! `CancelAuthorization(address authorizer,bytes32 nonce)`), so an unmodified x402 EVM client
//! pays on this ledger as it would pay a USDC contract. Anyone may submit it; nonces are
//! unique per (asset, authorizer) and the time window is checked against the block time:
//! `validAfter < now < validBefore`.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::{
    Amount,
    asset::AssetId,
    tx::Signature,
    util::{amount_str, u64_str},
};

/// The EIP-3009 structs, exactly as the standard (and USDC) defines them.
pub mod typed {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        struct TransferWithAuthorization {
            address from;
            address to;
            uint256 value;
            uint256 validAfter;
            uint256 validBefore;
            bytes32 nonce;
        }
        struct CancelAuthorization {
            address authorizer;
            bytes32 nonce;
        }
    }
}

/// An asset's EIP-712 domain.
pub fn domain(name: &str, version: &str, chain_id: u64, asset: AssetId) -> Eip712Domain {
    Eip712Domain::new(
        Some(name.to_owned().into()),
        Some(version.to_owned().into()),
        Some(U256::from(chain_id)),
        Some(asset),
        None,
    )
}

/// A signed `transferWithAuthorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authorization {
    /// The asset (the domain's `verifyingContract`).
    pub asset: AssetId,
    /// The payer, who signed.
    pub from: Address,
    /// The payee.
    pub to: Address,
    /// Amount in base units.
    #[serde(with = "amount_str")]
    pub value: Amount,
    /// Valid strictly after this unix time.
    #[serde(with = "u64_str")]
    pub valid_after: u64,
    /// Valid strictly before this unix time.
    #[serde(with = "u64_str")]
    pub valid_before: u64,
    /// A unique 32-byte nonce chosen by the payer.
    pub nonce: B256,
    /// The payer's signature.
    pub signature: Signature,
}

impl Authorization {
    /// The EIP-712 signing hash under `domain`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        typed::TransferWithAuthorization {
            from: self.from,
            to: self.to,
            value: U256::from(self.value),
            validAfter: U256::from(self.valid_after),
            validBefore: U256::from(self.valid_before),
            nonce: self.nonce,
        }
        .eip712_signing_hash(domain)
    }
}

/// A signed `cancelAuthorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cancellation {
    /// The asset.
    pub asset: AssetId,
    /// Whose authorization nonce is canceled; the signer.
    pub authorizer: Address,
    /// The nonce to cancel.
    pub nonce: B256,
    /// The authorizer's signature.
    pub signature: Signature,
}

impl Cancellation {
    /// The EIP-712 signing hash under `domain`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        typed::CancelAuthorization {
            authorizer: self.authorizer,
            nonce: self.nonce,
        }
        .eip712_signing_hash(domain)
    }
}

/// The state of an authorization nonce, as EIP-3009's `authorizationState` reports it
/// (`true` once used or canceled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationState {
    /// Never seen.
    Unused,
    /// Used by a transfer.
    Used,
    /// Canceled.
    Canceled,
}

/// A settled `transferWithAuthorization`, kept by (asset, payer, nonce) so that feedback can
/// cite it as proof of payment ([`crate::agents`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettledPayment {
    /// The payee.
    pub to: Address,
    /// The amount, base units.
    #[serde(with = "amount_str")]
    pub value: Amount,
    /// The feedback that cited it, `(agent id, feedback index)`: a payment backs one feedback.
    pub cited_by: Option<(u64, u64)>,
}
