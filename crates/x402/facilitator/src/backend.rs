//! [`Backend`]: one chain the facilitator verifies and settles on.
//!
//! The facilitator's HTTP service ([`crate::Service`]) decodes requests (v2, or v1
//! normalised to v2), picks the backend serving the requirements' network and hands it a
//! typed [`Payment`]. Two backends exist: the Symbiont ledger (inside `symbiont node`) and
//! any EVM chain over JSON-RPC (`x402-evm`).

use std::{collections::HashSet, future::Future, pin::Pin, sync::Mutex};

use alloy_primitives::{Address, B256};
use x402_types::{Network, Reason, SettleResponse, VerifyResponse, v2};

use crate::{LedgerView, verify_exact};

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

/// `(asset, authorizer, nonce)`: one EIP-3009 authorization.
pub type AuthKey = (Address, Address, B256);

/// The authorizations a backend is settling right now: the first settlement of an
/// authorization claims it, a concurrent one finds it taken and answers
/// `invalid_exact_evm_nonce_already_used` without touching the chain.
#[derive(Debug, Default)]
pub struct InFlight {
    set: Mutex<HashSet<AuthKey>>,
}

impl InFlight {
    /// Claims `key` until the returned guard drops; `None` if it is already claimed.
    pub fn claim(&self, key: AuthKey) -> Option<Claim<'_>> {
        let mut s = self.set.lock().ok()?;
        // Not `then_some`: it would build (and drop, re-locking the set) a claim on failure.
        if s.insert(key) {
            Some(Claim { owner: self, key })
        } else {
            None
        }
    }
}

/// An authorization held in an [`InFlight`] set until dropped.
#[derive(Debug)]
pub struct Claim<'a> {
    owner: &'a InFlight,
    key: AuthKey,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.owner.set.lock() {
            s.remove(&self.key);
        }
    }
}

/// A verify-only backend over a ledger snapshot at a fixed time: for tests, fuzzing,
/// benchmarks and offline checks. It never settles (`unexpected_settle_error`).
#[derive(Debug)]
pub struct SnapshotBackend<V> {
    /// The ledger state verified against.
    pub view: V,
    /// The verification time, unix seconds.
    pub now_secs: u64,
}

impl<V: LedgerView + Send + Sync> Backend for SnapshotBackend<V> {
    fn network(&self) -> Network {
        Network::eip155(self.view.chain_id())
    }

    fn signer(&self) -> Address {
        Address::ZERO
    }

    fn verify<'a>(&'a self, p: &'a Payment) -> BoxFuture<'a, VerifyResponse> {
        Box::pin(
            async move { verify_exact(&p.payload, &p.requirements, &self.view, self.now_secs) },
        )
    }

    fn settle<'a>(&'a self, p: &'a Payment) -> BoxFuture<'a, SettleResponse> {
        let network = p.requirements.network.to_string();
        Box::pin(async move {
            let mut r = settle_failure(Reason::UnexpectedSettleError, None, network, "");
            r.error_message = Some("a snapshot backend does not settle".into());
            r
        })
    }
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
