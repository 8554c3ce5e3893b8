//! [`Signer`]: who signs the client's EIP-3009 authorizations.
//!
//! The signer receives the typed message (the token's EIP-712 domain and the authorization),
//! not a bare hash, so an isolated signer (a separate process enforcing an agent's policy)
//! can check what it signs. A `wallet::PrivateKey` is the local signer.

use std::{future::Future, pin::Pin};

use alloy_primitives::Address;
use alloy_sol_types::Eip712Domain;
use x402_types::exact::Authorization;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a signer refused or failed.
#[derive(Debug, thiserror::Error)]
#[error("signer: {0}")]
pub struct SignerError(pub String);

/// Signs EIP-3009 `TransferWithAuthorization` messages for one address.
pub trait Signer: Send + Sync {
    /// The payer's address (`authorization.from`).
    fn address(&self) -> Address;

    /// The 65-byte r‖s‖v signature of `authorization` under `domain` (EIP-712).
    fn sign_authorization<'a>(
        &'a self,
        domain: &'a Eip712Domain,
        authorization: &'a Authorization,
    ) -> BoxFuture<'a, Result<[u8; 65], SignerError>>;
}

impl Signer for wallet::PrivateKey {
    fn address(&self) -> Address {
        wallet::PrivateKey::address(self)
    }

    fn sign_authorization<'a>(
        &'a self,
        domain: &'a Eip712Domain,
        authorization: &'a Authorization,
    ) -> BoxFuture<'a, Result<[u8; 65], SignerError>> {
        Box::pin(async move {
            let hash = authorization.signing_hash(domain);
            self.sign_hash(&hash)
                .map(|s| s.to_bytes())
                .map_err(|e| SignerError(e.to_string()))
        })
    }
}
