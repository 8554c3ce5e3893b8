//! The x402 facilitator inside the node (`research/x402.md` §2): `POST /x402/verify`,
//! `POST /x402/settle` and `GET /x402/supported`, settling on this node's ledger.
//!
//! Verification is `x402_facilitator::verify_exact` against the committed state. Settlement
//! re-verifies, then relays the payer's authorization as `Call::TransferWithAuthorization`
//! signed by the facilitator key, submits it to the mempool and waits (at most
//! [`SETTLE_TIMEOUT`]) for its receipt. The facilitator key is dev key 9
//! (`dev::dev_key(9)`, funded by the dev genesis); a configurable key is future work.
//!
//! Concurrent settlements of one authorization: the first holds it in an in-flight set and
//! the others answer `invalid_exact_evm_nonce_already_used` at once; a settlement that
//! reaches the ledger after another used the authorization fails there with
//! `authorization_used`, answered with the same reason. The relayer's transaction nonces come
//! from a local counter under a mutex (resynchronised with the state whenever a submission
//! fails or a transaction is dropped).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    routing::{get, post},
};
use ledger::{Address, B256, Call, Reject, Tx, receipt::Status};
use serde_json::{Map, Value};
use wallet::PrivateKey;
use x402_facilitator::{settlement_call, verify_exact};
use x402_types::{
    Reason, SettleRequest, SettleResponse, SupportedKind, SupportedResponse, VerifyRequest,
    VerifyResponse, v2,
};

use crate::{
    api::ApiError,
    app::{App, SubmitError, TxStatus, now_secs},
};

/// How long `/x402/settle` waits for the receipt before answering `settlement_pending`.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;

/// `(asset, authorizer, nonce)`: one EIP-3009 authorization.
type AuthKey = (Address, Address, B256);

/// The facilitator's state: the node, the relayer key, its next nonce and the
/// authorizations being settled.
pub struct Facilitator {
    app: Arc<App>,
    key: PrivateKey,
    next_nonce: Mutex<Option<u64>>,
    in_flight: Mutex<HashSet<AuthKey>>,
}

impl std::fmt::Debug for Facilitator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facilitator")
            .field("address", &self.key.address())
            .finish_non_exhaustive()
    }
}

impl Facilitator {
    /// A facilitator relaying with `key` on `app`'s ledger.
    pub fn new(app: Arc<App>, key: PrivateKey) -> Self {
        Facilitator {
            app,
            key,
            next_nonce: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// The relayer's address (the `signers` of `/supported`).
    pub fn address(&self) -> Address {
        self.key.address()
    }

    fn network(&self) -> String {
        format!("eip155:{}", self.app.chain_id())
    }

    /// `GET /supported`.
    pub fn supported(&self) -> SupportedResponse {
        let network = self.network();
        let mut extra = Map::new();
        extra.insert(
            "facilitatorAddress".into(),
            Value::String(self.address().to_checksum(None)),
        );
        SupportedResponse {
            kinds: vec![SupportedKind {
                x402_version: v2::VERSION,
                scheme: x402_facilitator::verify::SCHEME.into(),
                network,
                extra: Some(extra),
            }],
            extensions: vec![],
            signers: [(
                "eip155:*".to_owned(),
                vec![self.address().to_checksum(None)],
            )]
            .into_iter()
            .collect(),
        }
    }

    /// `POST /verify`.
    pub fn verify(&self, request: &VerifyRequest) -> VerifyResponse {
        let (payload, req) = match request.v2() {
            Ok(m) => m,
            Err(e) => return VerifyResponse::invalid(decode_reason(&e), None),
        };
        let state = self.app.state();
        verify_exact(&payload, &req, &*state, now_secs())
    }

    /// `POST /settle`.
    pub async fn settle(&self, request: &SettleRequest) -> SettleResponse {
        let (payload, req) = match request.v2() {
            Ok(m) => m,
            Err(e) => return failure(decode_reason(&e), None, String::new(), ""),
        };
        let network = req.network.to_string();
        let verdict = {
            let state = self.app.state();
            verify_exact(&payload, &req, &*state, now_secs())
        };
        let payer = verdict.payer.clone();
        if !verdict.is_valid {
            let reason = verdict
                .invalid_reason
                .unwrap_or(Reason::UnexpectedSettleError);
            return failure(reason, payer, network, "");
        }
        let call = match settlement_call(&payload, &req) {
            Ok(c) => c,
            Err(e) => {
                let mut r = failure(
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
            return failure(Reason::UnexpectedSettleError, payer, network, "");
        };
        let key: AuthKey = (auth.asset, auth.from, auth.nonce);
        let Some(_guard) = InFlight::claim(&self.in_flight, key) else {
            return failure(Reason::InvalidExactEvmNonceAlreadyUsed, payer, network, "");
        };
        let hash = match self.submit(call).await {
            Ok(h) => h,
            Err(e) => {
                self.resync();
                let reason = match &e {
                    SubmitError::Rejected(r) => reject_reason(r),
                    _ => Reason::UnexpectedSettleError,
                };
                let mut r = failure(reason, payer, network, "");
                r.error_message = Some(e.to_string());
                return r;
            }
        };
        let tx = hash.to_string();
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            match self.app.tx_status(&hash) {
                Ok(TxStatus::Committed(rec)) => {
                    return match rec.receipt.status {
                        Status::Success => SettleResponse {
                            success: true,
                            error_reason: None,
                            error_message: None,
                            payer,
                            transaction: tx,
                            network,
                            amount: None,
                            extensions: None,
                        },
                        Status::Failed { code, message } => {
                            let reason = if code == "authorization_used" {
                                Reason::InvalidExactEvmNonceAlreadyUsed
                            } else {
                                Reason::InvalidExactEvmTransactionFailed
                            };
                            let mut r = failure(reason, payer, network, &tx);
                            r.error_message = Some(message);
                            r
                        }
                    };
                }
                Ok(TxStatus::Dropped(rej)) => {
                    self.resync();
                    let mut r = failure(reject_reason(&rej), payer, network, &tx);
                    r.error_message = Some(rej.to_string());
                    return r;
                }
                Ok(TxStatus::Pending | TxStatus::Unknown) | Err(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return failure(Reason::SettlementPending, payer, network, &tx);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
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
        let from = self.address();
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

/// Holds an authorization in the in-flight set until dropped.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<AuthKey>>,
    key: AuthKey,
}

impl<'a> InFlight<'a> {
    fn claim(set: &'a Mutex<HashSet<AuthKey>>, key: AuthKey) -> Option<Self> {
        let mut s = set.lock().ok()?;
        // Not `then_some`: it would build (and drop, re-locking the set) a guard on failure.
        if s.insert(key) {
            Some(InFlight { set, key })
        } else {
            None
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.key);
        }
    }
}

fn decode_reason(e: &x402_types::Error) -> Reason {
    match e {
        x402_types::Error::Version { .. } => Reason::InvalidX402Version,
        _ => Reason::InvalidPayload,
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

fn failure(reason: Reason, payer: Option<String>, network: String, tx: &str) -> SettleResponse {
    SettleResponse {
        success: false,
        error_reason: Some(reason),
        error_message: None,
        payer,
        transaction: tx.to_owned(),
        network,
        amount: None,
        extensions: None,
    }
}

type FacState = State<Arc<Facilitator>>;

/// The facilitator's routes under `/x402`.
pub fn router(facilitator: Arc<Facilitator>) -> Router {
    Router::new()
        .route(
            "/x402/verify",
            post(verify).layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        .route(
            "/x402/settle",
            post(settle).layer(DefaultBodyLimit::max(MAX_BODY)),
        )
        .route("/x402/supported", get(supported))
        .with_state(facilitator)
}

fn parse_request(body: Result<Bytes, BytesRejection>) -> Result<VerifyRequest, ApiError> {
    let body = body?;
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::malformed(format!(
            "x402 request {{x402Version, paymentPayload, paymentRequirements}}: {e}"
        ))
    })
}

async fn verify(
    State(f): FacState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let req = parse_request(body)?;
    Ok(Json(f.verify(&req)))
}

async fn settle(
    State(f): FacState,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SettleResponse>, ApiError> {
    let req = parse_request(body)?;
    Ok(Json(f.settle(&req).await))
}

async fn supported(State(f): FacState) -> Json<SupportedResponse> {
    Json(f.supported())
}
