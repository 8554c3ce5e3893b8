//! [`Backend`]: one chain the facilitator verifies and settles on.
//!
//! The facilitator's HTTP service ([`crate::Service`]) decodes requests (v2, or v1
//! normalised to v2), picks the backend serving the requirements' network and hands it a
//! typed [`Payment`]. Two backends exist: the Symbiont ledger (inside `symbiont node`) and
//! any EVM chain over JSON-RPC (`x402-evm`).

use std::{future::Future, pin::Pin};

use alloy_primitives::Address;
use x402_types::{Network, SettleResponse, VerifyResponse, v2};

/// A boxed, sendable future: what a dyn-compatible async trait method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A decoded v2 payment: the client's payload and the server's matched requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The client's payment.
    pub payload: v2::PaymentPayload,
    /// The server's requirements it claims to satisfy.
    pub requirements: v2::PaymentRequirements,
}

/// One chain: verifies payments against its state and settles them with its relayer key.
///
/// Rejections are answers (`isValid: false`, `success: false` with a canonical reason), never
/// errors: a backend that cannot reach its chain answers `unexpected_verify_error` /
/// `unexpected_settle_error` with a message.
pub trait Backend: Send + Sync {
    /// The CAIP-2 network served (`eip155:<chainId>`).
    fn network(&self) -> Network;

    /// The address that signs settlement transactions (`/supported` `signers`).
    fn signer(&self) -> Address;

    /// `POST /verify` for a payment on this network.
    fn verify<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, VerifyResponse>;

    /// `POST /settle` for a payment on this network: re-verifies, submits the transfer and
    /// waits (bounded) for its receipt; on timeout answers `settlement_pending` with the
    /// transaction hash.
    fn settle<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, SettleResponse>;
}

/// A failed settlement with `reason`.
pub fn settle_failure(
    reason: x402_types::Reason,
    payer: Option<String>,
    network: String,
    transaction: &str,
) -> SettleResponse {
    SettleResponse {
        success: false,
        error_reason: Some(reason),
        error_message: None,
        payer,
        transaction: transaction.to_owned(),
        network,
        amount: None,
        extensions: None,
    }
}

/// A successful settlement in `transaction`.
pub fn settle_success(
    payer: Option<String>,
    network: String,
    transaction: String,
) -> SettleResponse {
    SettleResponse {
        success: true,
        error_reason: None,
        error_message: None,
        payer,
        transaction,
        network,
        amount: None,
        extensions: None,
    }
}
