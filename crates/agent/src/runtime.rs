//! An agent: an identity on the ledger, a client of its signer (which holds the keys and
//! enforces the owner's policy), an x402 payer, and a directory of other agents.

use std::sync::{Arc, OnceLock};

use alloy_primitives::{Address, B256};
use eyre::{WrapErr, bail, eyre};
use ledger::agents::{FeedbackCall, PaymentRef};
use serde_json::Value;
use x402_client::{Payment, SpendControls};

use crate::directory::{Directory, Provider};

/// A purchase: the seller's answer and what was paid for it.
#[derive(Debug, Clone)]
pub struct Purchase {
    /// The seller.
    pub seller: Provider,
    /// The JSON answer.
    pub answer: Value,
    /// The payment (asset, payee, amount, authorization nonce).
    pub payment: Payment,
}

/// One agent's runtime.
pub struct Agent {
    name: String,
    node: ledger_client::Client,
    signer: Arc<wallet_signer::Client>,
    controls: SpendControls,
    directory: Directory,
    id: OnceLock<u64>,
    /// One ledger transaction at a time: each takes the account's next committed nonce, so
    /// two in flight would collide (`nonce_pending`).
    sending: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("name", &self.name)
            .field("address", &self.signer.address())
            .field("id", &self.id.get())
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent called `name` on the ledger at `node`, signing through `signer`; `controls`
    /// are the runtime's own limits, checked before the signer's policy is asked.
    pub fn new(
        name: impl Into<String>,
        node: ledger_client::Client,
        signer: Arc<wallet_signer::Client>,
        controls: SpendControls,
    ) -> eyre::Result<Self> {
        Ok(Agent {
            name: name.into(),
            directory: Directory::new(node.clone())?,
            node,
            signer,
            controls,
            id: OnceLock::new(),
            sending: tokio::sync::Mutex::new(()),
        })
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The agent's address (its wallet).
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Its agent id, once registered.
    pub fn id(&self) -> Option<u64> {
        self.id.get().copied()
    }

    /// The node it uses.
    pub fn node(&self) -> &ledger_client::Client {
        &self.node
    }

    /// Signs `call` through the signer and submits it, one transaction of this agent's at a
    /// time; returns the receipt.
    pub async fn send(&self, call: ledger::Call) -> eyre::Result<Value> {
        let _one_at_a_time = self.sending.lock().await;
        self.node.execute_via(&self.signer, call).await
    }

    /// The directory of other agents.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// An x402 client paying through the signer, allowed to pay only `payees` (when given).
    pub fn payer(&self, payees: Option<Vec<Address>>) -> x402_client::Client {
        let mut controls = self.controls.clone();
        if payees.is_some() {
            controls.payees = payees;
        }
        x402_client::Client::new(self.signer.clone(), controls)
    }

    /// Registers the agent with `uri` as its `agentURI` (once; later calls return the id).
    pub async fn register(&self, uri: &str) -> eyre::Result<u64> {
        if let Some(id) = self.id() {
            return Ok(id);
        }
        let receipt = self
            .send(ledger::Call::RegisterAgent {
                uri: uri.to_owned(),
                metadata: Vec::new(),
            })
            .await
            .wrap_err_with(|| format!("registering {}", self.name))?;
        let id = registered_id(&receipt)
            .ok_or_else(|| eyre!("the registration receipt names no agent id: {receipt}"))?;
        Ok(*self.id.get_or_init(|| id))
    }

    /// Buys one answer from the best-ranked agent selling `service`, posting `body`; pays
    /// only that agent's proven wallet. Tries the next provider when one fails before
    /// payment.
    pub async fn buy(&self, service: &str, body: &Value) -> eyre::Result<Purchase> {
        let providers = self.directory.find(service).await?;
        if providers.is_empty() {
            bail!("no registered agent sells {service:?}");
        }
        let mut last = None;
        for seller in providers {
            if Some(seller.agent_id) == self.id() {
                continue;
            }
            match self.buy_from(&seller, body).await {
                Ok(p) => return Ok(p),
                Err(e) => {
                    tracing::warn!(agent = seller.agent_id, "{}: {e:#}", self.name);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| eyre!("only this agent sells {service:?}")))
    }

    /// Buys from `seller`.
    pub async fn buy_from(&self, seller: &Provider, body: &Value) -> eyre::Result<Purchase> {
        let payer = self.payer(Some(seller.payees.clone()));
        let request = payer.http().post(&seller.endpoint).json(body).build()?;
        let paid = payer
            .execute(request)
            .await
            .wrap_err_with(|| format!("paying agent {} at {}", seller.agent_id, seller.endpoint))?;
        let status = paid.response.status();
        let payment = paid.payment;
        let answer: Value = paid.response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("agent {} answered HTTP {status}: {answer}", seller.agent_id);
        }
        let payment = payment.ok_or_else(|| eyre!("agent {} did not charge", seller.agent_id))?;
        Ok(Purchase {
            seller: seller.clone(),
            answer,
            payment,
        })
    }

    /// Requires that feedback on this agent cite a settled payment to it (ERC-8004 leaves
    /// reputation open to anyone; paid-only feedback resists Sybil spam).
    pub async fn require_paid_feedback(&self) -> eyre::Result<()> {
        let id = self
            .id()
            .ok_or_else(|| eyre!("{} is not registered", self.name))?;
        self.send(ledger::Call::SetAgentMetadata {
            agent_id: id,
            key: ledger::agents::REQUIRES_PAYMENT_KEY.into(),
            value: vec![1u8].into(),
        })
        .await
        .wrap_err_with(|| format!("{}: requiring paid feedback", self.name))?;
        Ok(())
    }

    /// Rates `purchase`'s seller: `value` (0..=100) under `tag`, citing the payment.
    pub async fn rate(&self, purchase: &Purchase, value: i128, tag: &str) -> eyre::Result<()> {
        self.send(ledger::Call::GiveFeedback(feedback(
            purchase.seller.agent_id,
            value,
            tag,
            &purchase.seller.endpoint,
            &purchase.payment,
        )))
        .await
        .wrap_err_with(|| format!("rating agent {}", purchase.seller.agent_id))?;
        Ok(())
    }
}

/// Feedback `value` (0 decimals) under `tag` on `agent_id` for `endpoint`, citing `payment`.
pub fn feedback(
    agent_id: u64,
    value: i128,
    tag: &str,
    endpoint: &str,
    payment: &Payment,
) -> FeedbackCall {
    FeedbackCall {
        agent_id,
        value,
        value_decimals: 0,
        tag1: tag.to_owned(),
        tag2: String::new(),
        endpoint: endpoint.to_owned(),
        feedback_uri: String::new(),
        feedback_hash: B256::ZERO,
        payment: Some(PaymentRef {
            asset: payment.asset,
            nonce: payment.nonce,
        }),
    }
}

/// The agent id a `registerAgent` receipt announces.
pub fn registered_id(receipt: &Value) -> Option<u64> {
    receipt["events"]
        .as_array()?
        .iter()
        .find_map(|e| e["agentRegistered"]["agentId"].as_u64())
}
