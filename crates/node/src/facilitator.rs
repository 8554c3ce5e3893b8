//! The x402 facilitator inside the node (`research/x402.md` §2): [`LedgerBackend`], the
//! `x402_facilitator::Backend` for this node's ledger, served under `/x402` (`/verify`,
//! `/settle`, `/supported`, `/health`) by `x402_facilitator::router`.
//!
//! Verification is `x402_facilitator::verify_exact` against the committed state. Settlement
//! re-verifies, then relays the payer's authorization as `Call::TransferWithAuthorization`
//! signed by the relayer key, submits it to the mempool and waits (at most the backend's
//! timeout, [`SETTLE_TIMEOUT`] by default) for its receipt. The relayer key is the node's
//! `facilitator_key` setting (dev key 9 on a dev node); it pays the transaction fee.
//!
//! Concurrent settlements of one authorization: the first holds it in an in-flight set and
//! the others answer `invalid_exact_evm_nonce_already_used` at once; a settlement that
//! reaches the ledger after another used the authorization fails there with
//! `authorization_used`, answered with the same reason. The relayer's transaction nonces come
//! from a local counter under a mutex (resynchronised with the state whenever a submission
//! fails or a transaction is dropped).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use ledger::{Address, B256, Call, Reject, Tx, receipt::Status};
use wallet::PrivateKey;
use x402_facilitator::{
    Backend, BoxFuture, Payment,
    backend::{AuthKey, InFlight, settle_failure, settle_success},
    settlement_call, verify_exact,
};
use x402_types::{Network, Reason, SettleResponse, VerifyResponse};

use crate::app::{App, SubmitError, TxStatus, now_secs};

/// How long `/x402/settle` waits for the receipt before answering `settlement_pending`.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ledger backend: the node, the relayer key, its next nonce and the authorizations
/// being settled.
pub struct LedgerBackend {
    app: Arc<App>,
    key: PrivateKey,
    timeout: Duration,
    next_nonce: Mutex<Option<u64>>,
    in_flight: InFlight,
}

impl std::fmt::Debug for LedgerBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerBackend")
            .field("address", &self.key.address())
            .finish_non_exhaustive()
    }
}

impl Backend for LedgerBackend {
    fn network(&self) -> Network {
        Network::eip155(self.app.chain_id())
    }

    fn signer(&self) -> Address {
        self.key.address()
    }

    fn verify<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, VerifyResponse> {
        Box::pin(async move {
            let state = self.app.state();
            verify_exact(&payment.payload, &payment.requirements, &*state, now_secs())
        })
    }

    fn settle<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, SettleResponse> {
        Box::pin(self.settle_payment(payment))
    }
}

impl LedgerBackend {
    /// A backend relaying with `key` on `app`'s ledger.
    pub fn new(app: Arc<App>, key: PrivateKey) -> Self {
        LedgerBackend {
            app,
            key,
            timeout: SETTLE_TIMEOUT,
            next_nonce: Mutex::new(None),
            in_flight: InFlight::default(),
        }
    }

    /// The same backend waiting at most `timeout` for a settlement's receipt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn settle_payment(&self, payment: &Payment) -> SettleResponse {
        let (payload, req) = (&payment.payload, &payment.requirements);
        let network = req.network.to_string();
        let verdict = {
            let state = self.app.state();
            verify_exact(payload, req, &*state, now_secs())
        };
        let payer = verdict.payer.clone();
        if !verdict.is_valid {
            let reason = verdict
                .invalid_reason
                .unwrap_or(Reason::UnexpectedSettleError);
            return settle_failure(reason, payer, network, "");
        }
        let call = match settlement_call(payload, req) {
            Ok(c) => c,
            Err(e) => {
                let mut r = settle_failure(
                    Reason::InvalidExactEvmTransactionSimulationFailed,
                    payer,
                    network,
                    "",
                );
                r.error_message = Some(e.to_string());
                return r;
            }
        };
        let Call::TransferWithAuthorization(auth) = &call else {
            return settle_failure(Reason::UnexpectedSettleError, payer, network, "");
        };
        let key: AuthKey = (auth.asset, auth.from, auth.nonce);
        let Some(_claim) = self.in_flight.claim(key) else {
            return settle_failure(Reason::InvalidExactEvmNonceAlreadyUsed, payer, network, "");
        };
        let submitted = std::time::Instant::now();
        let hash = match self.submit(call).await {
            Ok(h) => h,
            Err(e) => {
                self.resync();
                let reason = match &e {
                    SubmitError::Rejected(r) => reject_reason(r),
                    _ => Reason::UnexpectedSettleError,
                };
                let mut r = settle_failure(reason, payer, network, "");
                r.error_message = Some(e.to_string());
                return r;
            }
        };
        let tx = hash.to_string();
        let deadline = tokio::time::Instant::now() + self.timeout;
        // Subscribed before the first look, so a block committed in between still wakes us.
        let mut events = self.app.subscribe();
        loop {
            match self.app.tx_status(&hash) {
                Ok(TxStatus::Committed(rec)) => {
                    return match rec.receipt.status {
                        Status::Success => {
                            self.app.record_settlement(hash, submitted.elapsed());
                            settle_success(payer, network, tx)
                        }
                        Status::Failed { code, message } => {
                            let reason = if code == "authorization_used" {
                                Reason::InvalidExactEvmNonceAlreadyUsed
                            } else {
                                Reason::InvalidExactEvmTransactionFailed
                            };
                            let mut r = settle_failure(reason, payer, network, &tx);
                            r.error_message = Some(message);
                            r
                        }
                    };
                }
                Ok(TxStatus::Dropped(rej)) => {
                    self.resync();
                    let mut r = settle_failure(reject_reason(&rej), payer, network, &tx);
                    r.error_message = Some(rej.to_string());
                    return r;
                }
                Ok(TxStatus::Pending | TxStatus::Unknown) | Err(_) => {}
            }
            // Wake on the node's next event (a committed block publishes several).
            let wait = tokio::time::timeout_at(deadline, events.recv()).await;
            if wait.is_err() {
                let mut r = settle_failure(Reason::SettlementPending, payer, network, &tx);
                r.error_message = Some(format!(
                    "not included within {} ms; poll GET /v1/tx/{tx}",
                    self.timeout.as_millis()
                ));
                return r;
            }
        }
    }

    /// Signs `call` with the next relayer nonce and submits it. One retry after a resync
    /// when the nonce was refused.
    async fn submit(&self, call: Call) -> Result<B256, SubmitError> {
        let mut last = SubmitError::Internal("not submitted".into());
        for _ in 0..2 {
            let tx = self.sign(call.clone())?;
            let mut results = self.app.submit_many(vec![tx]).await;
            match results.pop() {
                Some(Ok(h)) => return Ok(h),
                Some(Err(SubmitError::Rejected(
                    r @ (Reject::NonceStale { .. }
                    | Reject::NonceFuture { .. }
                    | Reject::NoncePending { .. }),
                ))) => {
                    self.resync();
                    last = SubmitError::Rejected(r);
                }
                Some(Err(e)) => return Err(e),
                None => return Err(SubmitError::Internal("no result".into())),
            }
        }
        Err(last)
    }

    fn sign(&self, call: Call) -> Result<ledger::tx::SignedTx, SubmitError> {
        let from = self.key.address();
        let (chain_id, fee, committed) = {
            let s = self.app.state();
            (s.params.chain_id, s.params.min_fee, s.nonce(&from))
        };
        let nonce = {
            let mut next = self
                .next_nonce
                .lock()
                .map_err(|_| SubmitError::Internal("lock poisoned".into()))?;
            let n = next.map_or(committed, |n| n.max(committed));
            *next = Some(n + 1);
            n
        };
        let tx = Tx {
            from,
            nonce,
            fee,
            expiry: 0,
            call,
        };
        tx.sign_with(chain_id, |h| self.key.sign_hash(h).map(|s| s.to_bytes()))
            .map_err(|e| SubmitError::Internal(format!("signing: {e}")))
    }

    /// Forgets the local nonce; the next settlement starts from the committed state.
    fn resync(&self) {
        if let Ok(mut n) = self.next_nonce.lock() {
            *n = None;
        }
    }
}

fn reject_reason(r: &Reject) -> Reason {
    match r {
        Reject::AuthorizationUsed { .. } => Reason::InvalidExactEvmNonceAlreadyUsed,
        Reject::AuthorizationExpired { .. } => {
            Reason::InvalidExactEvmPayloadAuthorizationValidBefore
        }
        Reject::AuthorizationNotYetValid { .. } => {
            Reason::InvalidExactEvmPayloadAuthorizationValidAfter
        }
        Reject::BadAuthorization { .. } => Reason::InvalidExactEvmSignature,
        Reject::InsufficientFunds { .. } => Reason::InvalidExactEvmInsufficientBalance,
        _ => Reason::InvalidExactEvmTransactionFailed,
    }
}
