//! [`Relayer`]: signs and broadcasts settlement transactions with the facilitator's key, with
//! its account nonce kept locally.
//!
//! The nonce is a counter under an async mutex, initialised from
//! `eth_getTransactionCount(relayer, "pending")` and advanced per accepted broadcast, so
//! concurrent settlements get consecutive nonces without asking the node each time. It is
//! forgotten (and read again next time) when the node refuses a transaction — once retried
//! at once if the refusal is about the nonce — and when a receipt does not come in time (the
//! transaction may have been dropped, leaving a gap).

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::{BlockId, Encodable2718},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use tokio::sync::Mutex;
use wallet::PrivateKey;

use crate::rpc::{Failure, Rpc};

/// Gas headroom over `eth_estimateGas`, in percent.
const GAS_HEADROOM_PERCENT: u64 = 25;

/// A refused or failed broadcast.
#[derive(Debug)]
pub(crate) enum SendError {
    /// `eth_estimateGas` reverted: the transfer would fail now.
    Reverts(String),
    /// The node refused the transaction, or the RPC failed.
    Rpc(Failure),
    /// Local signing failed.
    Signing(String),
}

/// The facilitator's account on one chain.
pub(crate) struct Relayer {
    key: PrivateKey,
    address: Address,
    chain_id: u64,
    next_nonce: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Relayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relayer")
            .field("address", &self.address)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl Relayer {
    pub(crate) fn new(key: PrivateKey, chain_id: u64) -> Self {
        Relayer {
            address: key.address(),
            key,
            chain_id,
            next_nonce: Mutex::new(None),
        }
    }

    pub(crate) fn address(&self) -> Address {
        self.address
    }

    /// Sends a call of `input` on `to` with EIP-1559 fees from the node and a gas limit from
    /// `eth_estimateGas` (at the pending block); returns the transaction hash once the node
    /// accepted it.
    pub(crate) async fn send(
        &self,
        rpc: &Rpc,
        to: Address,
        input: Bytes,
    ) -> Result<B256, SendError> {
        let estimate = TransactionRequest::default()
            .from(self.address)
            .to(to)
            .input(input.clone().into());
        let (gas, fees) = tokio::join!(
            async {
                rpc.provider
                    .estimate_gas(estimate)
                    .block(BlockId::pending())
                    .await
            },
            rpc.provider.estimate_eip1559_fees(),
        );
        let gas = gas.map_err(|e| match rpc.failure(&e) {
            Failure::Node(m) => SendError::Reverts(m),
            t => SendError::Rpc(t),
        })?;
        let fees = fees.map_err(|e| SendError::Rpc(rpc.failure(&e)))?;
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce: 0,
            gas_limit: gas.saturating_add(gas.saturating_mul(GAS_HEADROOM_PERCENT) / 100),
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value: U256::ZERO,
            access_list: Default::default(),
            input,
        };

        let mut next = self.next_nonce.lock().await;
        let mut retried = false;
        loop {
            tx.nonce = match *next {
                Some(n) => n,
                None => rpc
                    .provider
                    .get_transaction_count(self.address)
                    .pending()
                    .await
                    .map_err(|e| SendError::Rpc(rpc.failure(&e)))?,
            };
            let raw = self.sign(tx.clone())?;
            match rpc.provider.send_raw_transaction(&raw).await {
                Ok(pending) => {
                    *next = Some(tx.nonce.saturating_add(1));
                    return Ok(*pending.tx_hash());
                }
                Err(e) => {
                    *next = None;
                    let failure = rpc.failure(&e);
                    if retried || !is_nonce_refusal(&failure) {
                        return Err(SendError::Rpc(failure));
                    }
                    tracing::debug!(nonce = tx.nonce, "relayer nonce refused, resynchronising");
                    retried = true;
                }
            }
        }
    }

    /// Forgets the local nonce: the next send reads it from the node.
    pub(crate) async fn resync(&self) {
        *self.next_nonce.lock().await = None;
    }

    fn sign(&self, tx: TxEip1559) -> Result<Vec<u8>, SendError> {
        let hash = tx.signature_hash();
        let sig = self
            .key
            .sign_hash(&hash)
            .map_err(|e| SendError::Signing(e.to_string()))?;
        let sig = Signature::from_raw_array(&sig.to_bytes())
            .map_err(|e| SendError::Signing(e.to_string()))?;
        Ok(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
    }
}

/// Whether a refusal is about the account nonce (geth, reth, anvil, erigon wordings).
fn is_nonce_refusal(f: &Failure) -> bool {
    let Failure::Node(m) = f else { return false };
    let m = m.to_ascii_lowercase();
    m.contains("nonce") || m.contains("already known") || m.contains("replacement transaction")
}
