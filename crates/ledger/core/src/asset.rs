//! The native token and issued assets.
//!
//! An issued asset's 20-byte id doubles as the `verifyingContract` of its EIP-712 domain, so
//! EIP-3009 authorizations for it are signed exactly as for an ERC-20 token contract at that
//! address (see [`crate::eip3009`]).

use alloy_primitives::{Address, keccak256};
use serde::{Deserialize, Serialize};

use crate::{Amount, util::amount_str};

/// An asset id: [`NATIVE`] for the native token, otherwise an issued asset's id.
pub type AssetId = Address;

/// The native token's asset id (the zero address).
pub const NATIVE: AssetId = Address::ZERO;

/// An issued asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The asset id; also the EIP-712 `verifyingContract` of its domain.
    pub id: AssetId,
    /// The EIP-712 domain name, e.g. "Devnet USD".
    pub name: String,
    /// The EIP-712 domain version, e.g. "1".
    pub version: String,
    /// Decimals for display.
    pub decimals: u8,
    /// The account allowed to mint and burn.
    pub issuer: Address,
    /// Current supply in base units.
    #[serde(with = "amount_str")]
    pub supply: Amount,
}

impl Asset {
    /// The id of an asset named `name` issued by `issuer`: the last 20 bytes of
    /// `keccak256("symbiont.asset" ‖ issuer ‖ name)`.
    pub fn derive_id(issuer: Address, name: &str) -> AssetId {
        let mut buf = Vec::with_capacity(14 + 20 + name.len());
        buf.extend_from_slice(b"symbiont.asset");
        buf.extend_from_slice(issuer.as_slice());
        buf.extend_from_slice(name.as_bytes());
        Address::from_slice(&keccak256(&buf)[12..])
    }
}
