//! [`EvmBackend`]: `x402_facilitator::Backend` for an EVM chain over JSON-RPC
//! (`research/x402.md` §2.1 "what the reference facilitator verifies" and "Settlement").
//!
//! **Verify.** The chain facts ([`ChainFacts`]) are read in parallel and
//! `x402_facilitator::verify_exact` checks the payment against them in the reference order
//! with its canonical reasons; a payment that passes is then simulated with `eth_call` of
//! `transferWithAuthorization` from the relayer at the pending block, a revert answering
//! `invalid_exact_evm_transaction_simulation_failed` with the revert message.
//!
//! **Time.** `now` is the later of the wall clock and the latest block's timestamp. The
//! reference uses the wall clock; the transaction cannot be included before either, so the
//! later one is the better bound (a chain whose clock runs ahead, as after
//! `evm_increaseTime`, would otherwise see expired authorizations as valid). The simulation
//! at the pending block applies the token's own strict bounds on top.
//!
//! **Settle.** The authorization `(asset, from, nonce)` is claimed in an in-flight set first —
//! concurrent settlements of one authorization give one success and
//! `invalid_exact_evm_nonce_already_used` for the others — then verified again (with the
//! simulation) and sent by the [`Relayer`]; the receipt is awaited at most
//! `receipt_timeout`: success → `success: true` with the hash; a revert →
//! `invalid_exact_evm_transaction_failed`; no receipt in time → `success: false`,
//! `settlement_pending` with the hash (`research/x402.md` §3). A later settlement of the same
//! authorization while that transaction is still pending answers `settlement_pending` with
//! the same hash instead of sending a second transaction.
//!
//! RPC failures answer `unexpected_verify_error` / `unexpected_settle_error` with a message;
//! once a transaction is broadcast, an RPC failure while waiting answers `settlement_pending`
//! (the payment may still land).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::{eips::BlockId, network::ReceiptResponse, providers::Provider};
use alloy_primitives::{Address, B256, Bytes};
use alloy_sol_types::SolCall;
use wallet::PrivateKey;
use x402_facilitator::{
    Backend, BoxFuture, Payment,
    backend::{AuthKey, InFlight, settle_failure, settle_success},
    verify_exact,
};
use x402_types::{Network, Reason, SettleResponse, VerifyResponse, exact::ExactEvmPayload};

use crate::{
    Error, EvmConfig, Result,
    facts::ChainFacts,
    relayer::{Relayer, SendError},
    rpc::{Failure, Rpc},
    token::IEip3009,
};

/// How many pending settlements are remembered (oldest forgotten first past this).
const PENDING_CAPACITY: usize = 4096;
/// How long a pending settlement is remembered at most.
const PENDING_MEMORY: Duration = Duration::from_secs(3600);

/// The x402 facilitator backend for one EVM chain.
pub struct EvmBackend {
    rpc: Rpc,
    network: Network,
    chain_id: u64,
    relayer: Relayer,
    receipt_timeout: Duration,
    poll_interval: Duration,
    in_flight: InFlight,
    pending: Mutex<HashMap<AuthKey, (B256, Instant)>>,
}

impl std::fmt::Debug for EvmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmBackend")
            .field("network", &self.network)
            .field("relayer", &self.relayer.address())
            .field("receipt_timeout", &self.receipt_timeout)
            .finish_non_exhaustive()
    }
}

impl EvmBackend {
    /// Connects to `config.rpc_url`, checks that it serves `config.network`
    /// (`eth_chainId`), and relays with `key` (which pays the gas).
    pub async fn connect(config: EvmConfig, key: PrivateKey) -> Result<Self> {
        let chain_id = config
            .network
            .evm_chain_id()
            .map_err(|_| Error::Network(config.network.to_string()))?;
        let rpc = Rpc::http(&config.rpc_url, config.rpc_timeout())?;
        let actual = rpc
            .provider
            .get_chain_id()
            .await
            .map_err(|e| Error::Rpc(rpc.failure(&e).message().to_owned()))?;
        if actual != chain_id {
            return Err(Error::ChainMismatch {
                expected: chain_id,
                actual,
            });
        }
        Ok(EvmBackend {
            rpc,
            network: config.network.clone(),
            chain_id,
            relayer: Relayer::new(key, chain_id),
            receipt_timeout: config.receipt_timeout(),
            poll_interval: config.poll_interval(),
            in_flight: InFlight::default(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// The chain id served.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// `POST /verify`: see the module documentation.
    pub async fn verify_payment(&self, payment: &Payment) -> VerifyResponse {
        let target = Target::of(payment);
        match self.check(payment, target.as_ref()).await {
            Ok(verdict) => verdict,
            Err(failure) => {
                let mut r = VerifyResponse::invalid(
                    Reason::UnexpectedVerifyError,
                    target.map(|t| t.payer()),
                );
                r.invalid_message = Some(format!("RPC: {}", failure.message()));
                r
            }
        }
    }

    /// `POST /settle`: see the module documentation.
    pub async fn settle_payment(&self, payment: &Payment) -> SettleResponse {
        let network = payment.requirements.network.to_string();
        let Some(target) = Target::of(payment) else {
            // Does not decode: verification says why.
            let v = self.verify_payment(payment).await;
            return failure(refusal(&v), v.payer, network, "", v.invalid_message);
        };
        let payer = Some(target.payer());
        let Some(_claim) = self.in_flight.claim(target.key()) else {
            let message = "a settlement of this authorization is in progress".to_owned();
            return failure(
                Reason::InvalidExactEvmNonceAlreadyUsed,
                payer,
                network,
                "",
                Some(message),
            );
        };
        if let Some(answer) = self.still_pending(&target, payer.clone(), &network).await {
            return answer;
        }
        let verdict = self.verify_payment(payment).await;
        if !verdict.is_valid {
            let reason = refusal(&verdict);
            let reason = if reason == Reason::UnexpectedVerifyError {
                Reason::UnexpectedSettleError
            } else {
                reason
            };
            return failure(reason, payer, network, "", verdict.invalid_message);
        }
        let hash = match self
            .relayer
            .send(&self.rpc, target.asset, target.calldata())
            .await
        {
            Ok(hash) => hash,
            Err(SendError::Reverts(m)) => {
                let reason = Reason::InvalidExactEvmTransactionSimulationFailed;
                return failure(reason, payer, network, "", Some(m));
            }
            Err(SendError::Rpc(f)) => {
                let m = format!("broadcast: {}", f.message());
                return failure(Reason::UnexpectedSettleError, payer, network, "", Some(m));
            }
            Err(SendError::Signing(m)) => {
                let m = format!("signing: {m}");
                return failure(Reason::UnexpectedSettleError, payer, network, "", Some(m));
            }
        };
        tracing::debug!(%hash, payer = ?payer, "settlement broadcast");
        self.conclude(&target, hash, payer, network).await
    }

    /// Verification proper; `Err` only when the RPC fails.
    async fn check(
        &self,
        payment: &Payment,
        target: Option<&Target>,
    ) -> Result<VerifyResponse, Failure> {
        let (payload, req) = (&payment.payload, &payment.requirements);
        let Some(t) = target else {
            // Rejected before anything is read from the chain (`verify_exact` step 3d).
            return Ok(verify_exact(
                payload,
                req,
                &ChainFacts::none(self.chain_id),
                wall_clock(),
            ));
        };
        let a = &t.exact.authorization;
        let facts = ChainFacts::read(&self.rpc, self.chain_id, t.asset, a.from, a.nonce).await?;
        let now = wall_clock().max(facts.block_time);
        let mut verdict = verify_exact(payload, req, &facts, now);
        if !verdict.is_valid {
            if verdict.invalid_reason == Some(Reason::AssetNotDeployedContract) && facts.deployed {
                verdict.invalid_reason = Some(Reason::InvalidExactEvmEip3009NotSupported);
            }
            return Ok(verdict);
        }
        let from = self.relayer.address();
        match self
            .rpc
            .simulate(from, t.asset, t.calldata(), BlockId::pending())
            .await
        {
            Ok(()) => Ok(verdict),
            Err(Failure::Node(message)) => {
                let reason = Reason::InvalidExactEvmTransactionSimulationFailed;
                let mut r = VerifyResponse::invalid(reason, Some(t.payer()));
                r.invalid_message = Some(message);
                Ok(r)
            }
            Err(transport) => Err(transport),
        }
    }

    /// Waits for `hash`'s receipt (at most the receipt timeout) and answers the settlement.
    async fn conclude(
        &self,
        target: &Target,
        hash: B256,
        payer: Option<String>,
        network: String,
    ) -> SettleResponse {
        let tx = hash.to_string();
        match self.receipt(hash).await {
            Ok(Some(receipt)) if receipt.status() => settle_success(payer, network, tx),
            Ok(Some(receipt)) => {
                let block = receipt.block_number().unwrap_or_default();
                let m = format!("transaction reverted in block {block}");
                failure(
                    Reason::InvalidExactEvmTransactionFailed,
                    payer,
                    network,
                    &tx,
                    Some(m),
                )
            }
            Ok(None) | Err(_) => {
                // The transaction may have been dropped: read the nonce again next time.
                self.relayer.resync().await;
                self.remember_pending(target.key(), hash);
                let m = format!(
                    "not included within {} ms; the transaction may still land",
                    self.receipt_timeout.as_millis()
                );
                failure(Reason::SettlementPending, payer, network, &tx, Some(m))
            }
        }
    }

    /// Polls for a receipt until the receipt timeout; `Ok(None)` when none came in time,
    /// `Err` when the last poll failed.
    async fn receipt(
        &self,
        hash: B256,
    ) -> Result<Option<alloy::rpc::types::TransactionReceipt>, Failure> {
        let deadline = tokio::time::Instant::now() + self.receipt_timeout;
        let mut last = Ok(None);
        loop {
            let poll = self.rpc.provider.get_transaction_receipt(hash);
            match tokio::time::timeout_at(deadline, poll).await {
                Ok(Ok(Some(receipt))) => return Ok(Some(receipt)),
                Ok(Ok(None)) => last = Ok(None),
                Ok(Err(e)) => last = Err(self.rpc.failure(&e)),
                Err(_) => return last,
            }
            if tokio::time::Instant::now() + self.poll_interval >= deadline {
                return last;
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }

    /// If an earlier settlement of this authorization answered `settlement_pending` and its
    /// transaction is still waiting in the node's pool, the same answer with the same hash.
    /// Once included, dropped (or forgotten), `None`: settlement goes on, and verification
    /// sees the nonce used if it was included.
    async fn still_pending(
        &self,
        target: &Target,
        payer: Option<String>,
        network: &str,
    ) -> Option<SettleResponse> {
        let key = target.key();
        let hash = self.pending.lock().ok()?.get(&key).map(|(h, _)| *h)?;
        let provider = &self.rpc.provider;
        let waiting = match provider.get_transaction_receipt(hash).await {
            Ok(Some(_)) => false,
            Ok(None) => !matches!(provider.get_transaction_by_hash(hash).await, Ok(None)),
            // Unknown: do not send a second transaction.
            Err(_) => true,
        };
        if !waiting {
            if let Ok(mut p) = self.pending.lock() {
                p.remove(&key);
            }
            return None;
        }
        let m = "an earlier settlement of this authorization is still pending".to_owned();
        let reason = Reason::SettlementPending;
        Some(failure(
            reason,
            payer,
            network.to_owned(),
            &hash.to_string(),
            Some(m),
        ))
    }

    fn remember_pending(&self, key: AuthKey, hash: B256) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if pending.len() >= PENDING_CAPACITY {
            pending.retain(|_, (_, at)| at.elapsed() < PENDING_MEMORY);
        }
        if pending.len() >= PENDING_CAPACITY {
            let oldest = pending
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                pending.remove(&k);
            }
        }
        pending.insert(key, (hash, Instant::now()));
    }
}

impl Backend for EvmBackend {
    fn network(&self) -> Network {
        self.network.clone()
    }

    fn signer(&self) -> Address {
        self.relayer.address()
    }

    fn verify<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, VerifyResponse> {
        Box::pin(self.verify_payment(payment))
    }

    fn settle<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, SettleResponse> {
        Box::pin(self.settle_payment(payment))
    }
}

/// The token and the decoded EIP-3009 payload of a payment.
struct Target {
    asset: Address,
    exact: ExactEvmPayload,
}

impl Target {
    fn of(payment: &Payment) -> Option<Self> {
        Some(Target {
            asset: payment.requirements.asset.parse().ok()?,
            exact: payment.payload.exact_evm().ok()?,
        })
    }

    fn key(&self) -> AuthKey {
        let a = &self.exact.authorization;
        (self.asset, a.from, a.nonce)
    }

    fn payer(&self) -> String {
        self.exact.authorization.from.to_checksum(None)
    }

    /// `transferWithAuthorization` relaying the payer's authorization unchanged: the
    /// `(v, r, s)` form for a 65-byte ECDSA signature (every EIP-3009 token has it), the
    /// `bytes signature` form of USDC v2.2 otherwise (`research/x402.md` §2.1 "Settlement").
    fn calldata(&self) -> Bytes {
        let a = &self.exact.authorization;
        let sig = &self.exact.signature;
        let encoded = match <&[u8; 65]>::try_from(sig.as_ref()) {
            Ok(sig) => IEip3009::transferWithAuthorization_0Call {
                from: a.from,
                to: a.to,
                value: a.value.0,
                validAfter: a.valid_after.0,
                validBefore: a.valid_before.0,
                nonce: a.nonce,
                v: if sig[64] < 27 { sig[64] + 27 } else { sig[64] },
                r: B256::from_slice(&sig[..32]),
                s: B256::from_slice(&sig[32..64]),
            }
            .abi_encode(),
            Err(_) => IEip3009::transferWithAuthorization_1Call {
                from: a.from,
                to: a.to,
                value: a.value.0,
                validAfter: a.valid_after.0,
                validBefore: a.valid_before.0,
                nonce: a.nonce,
                signature: sig.clone(),
            }
            .abi_encode(),
        };
        encoded.into()
    }
}

/// A failed settlement with a message.
fn failure(
    reason: Reason,
    payer: Option<String>,
    network: String,
    transaction: &str,
    message: Option<String>,
) -> SettleResponse {
    let mut r = settle_failure(reason, payer, network, transaction);
    r.error_message = message;
    r
}

/// The reason of a rejected verification.
fn refusal(v: &VerifyResponse) -> Reason {
    v.invalid_reason
        .clone()
        .unwrap_or(Reason::UnexpectedSettleError)
}

/// Unix seconds.
fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
