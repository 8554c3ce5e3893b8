//! A typed HTTP client for the Symbiont node API, used by the CLI, the subnet runtimes and
//! the benchmarks.

use std::time::Duration;

use eyre::{WrapErr, bail, eyre};
use ledger::{
    Address, B256, Call, Tx,
    agents::{Agent, AgentId, Feedback, Summary, Validation},
    tx::SignedTx,
};
use serde_json::Value;
use wallet::PrivateKey;

/// The node API at a base URL such as `http://127.0.0.1:8420`.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

/// An error answer from the node: HTTP status, `code` and `message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiFailure {
    /// HTTP status.
    pub status: u16,
    /// Machine-readable code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl Client {
    /// A client for `base`.
    pub fn new(base: &str) -> eyre::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .wrap_err("building HTTP client")?;
        Ok(Client {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn read(resp: reqwest::Response) -> eyre::Result<Value> {
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| eyre!("node answered {status} with non-JSON ({e})"))?;
        if status.is_success() {
            return Ok(v);
        }
        Err(ApiFailure {
            status: status.as_u16(),
            code: v["code"].as_str().unwrap_or("unknown").to_owned(),
            message: v["message"].as_str().unwrap_or("").to_owned(),
        }
        .into())
    }

    /// Sends GET `path`.
    async fn send_get(&self, path: &str) -> eyre::Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        self.http
            .get(&url)
            .send()
            .await
            .wrap_err_with(|| format!("GET {url}"))
    }

    /// Sends POST `path` with `body` of `content_type`; the answer is JSON.
    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> eyre::Result<Value> {
        let url = format!("{}{path}", self.base);
        let resp = self
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .wrap_err_with(|| format!("POST {url}"))?;
        Self::read(resp).await
    }

    /// GET `path` as JSON.
    pub async fn get(&self, path: &str) -> eyre::Result<Value> {
        Self::read(self.send_get(path).await?).await
    }

    /// GET `path` as bytes (a node error is still read as JSON).
    pub async fn get_bytes(&self, path: &str) -> eyre::Result<Vec<u8>> {
        let resp = self.send_get(path).await?;
        if resp.status().is_success() {
            return Ok(resp.bytes().await?.to_vec());
        }
        Self::read(resp).await.map(|_| Vec::new())
    }

    /// POST opaque bytes (`application/octet-stream`) to `path`; the answer is JSON.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> eyre::Result<Value> {
        self.post(path, "application/octet-stream", body).await
    }

    /// POST raw JSON bytes to `path`.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> eyre::Result<Value> {
        self.post(path, "application/json", body).await
    }

    /// The chain id and minimum fee.
    pub async fn chain(&self) -> eyre::Result<(u64, u64)> {
        let v = self.get("/v1/chain").await?;
        let chain_id = v["chainId"]
            .as_u64()
            .ok_or_else(|| eyre!("chainId missing"))?;
        let min_fee = v["minFee"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| eyre!("minFee missing"))?;
        Ok((chain_id, min_fee))
    }

    /// An account's next nonce.
    pub async fn nonce(&self, address: &Address) -> eyre::Result<u64> {
        let v = self.get(&format!("/v1/accounts/{address}")).await?;
        v["nonce"].as_u64().ok_or_else(|| eyre!("nonce missing"))
    }

    /// Submits one transaction; returns its hash.
    pub async fn submit(&self, tx: &SignedTx) -> eyre::Result<B256> {
        let v = self.post_raw("/v1/tx", serde_json::to_vec(tx)?).await?;
        v["hash"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| eyre!("hash missing"))
    }

    /// A transaction's status document.
    pub async fn tx(&self, hash: &B256) -> eyre::Result<Value> {
        self.get(&format!("/v1/tx/{hash}")).await
    }

    /// Polls until `hash` is committed or dropped, or `timeout` passes.
    pub async fn wait(&self, hash: &B256, timeout: Duration) -> eyre::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let v = self.tx(hash).await?;
            match v["status"].as_str() {
                Some("committed") | Some("dropped") => return Ok(v),
                _ if tokio::time::Instant::now() >= deadline => {
                    bail!("transaction {hash} not committed within {timeout:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The chain id and `call` from `from` at its next nonce, with `fee` or the least fee the
    /// call may pay (`ledger::exec::required_fee`), ready to sign.
    pub async fn unsigned(
        &self,
        from: Address,
        call: Call,
        fee: Option<u64>,
    ) -> eyre::Result<(u64, Tx)> {
        let (chain_id, min_fee) = self
            .chain()
            .await
            .wrap_err("asking the node for the chain")?;
        let tx = Tx {
            from,
            nonce: self.nonce(&from).await?,
            fee: fee.unwrap_or_else(|| ledger::exec::required_fee(min_fee, &call)),
            expiry: 0,
            call,
        };
        Ok((chain_id, tx))
    }

    /// `call` signed by `key` at its next nonce, with `fee` or the chain's minimum fee.
    pub async fn sign(
        &self,
        key: &PrivateKey,
        call: Call,
        fee: Option<u64>,
    ) -> eyre::Result<SignedTx> {
        let (chain_id, tx) = self.unsigned(key.address(), call, fee).await?;
        Ok(tx.sign_with(chain_id, |h| key.sign_hash(h).map(|s| s.to_bytes()))?)
    }

    /// Signs, submits and waits (30 s at most) for `call`; returns the receipt, or an error
    /// naming the failure code when the transaction did not succeed.
    pub async fn execute(&self, key: &PrivateKey, call: Call) -> eyre::Result<Value> {
        let signed = self.sign(key, call, None).await?;
        self.submit_and_wait(&signed).await
    }

    /// `call` from the signer's address at its next nonce with the chain's minimum fee,
    /// signed by an isolated signer (`symbiont signer`), which applies its owner's policy.
    pub async fn sign_via(
        &self,
        signer: &wallet_signer::Client,
        call: Call,
    ) -> eyre::Result<SignedTx> {
        let (chain_id, tx) = self.unsigned(signer.address(), call, None).await?;
        Ok(signer.sign_tx(chain_id, tx).await?)
    }

    /// [`Client::execute`] with the signature from an isolated signer.
    pub async fn execute_via(
        &self,
        signer: &wallet_signer::Client,
        call: Call,
    ) -> eyre::Result<Value> {
        let signed = self.sign_via(signer, call).await?;
        self.submit_and_wait(&signed).await
    }

    /// Submits `signed` and waits (30 s at most) for it; returns the receipt, or an error
    /// naming the failure code when the transaction did not succeed.
    pub async fn submit_and_wait(&self, signed: &SignedTx) -> eyre::Result<Value> {
        let hash = self.submit(signed).await?;
        let doc = self.wait(&hash, Duration::from_secs(30)).await?;
        let receipt = &doc["receipt"];
        if receipt["status"] == "success" {
            return Ok(receipt.clone());
        }
        let failed = &receipt["status"]["failed"];
        bail!(
            "transaction {hash} failed: {} ({})",
            failed["code"].as_str().unwrap_or("dropped"),
            failed["message"].as_str().unwrap_or("")
        )
    }

    /// Agents from id `offset` on, at most `limit` (the node caps a page at 1000).
    pub async fn agents(&self, offset: u64, limit: usize) -> eyre::Result<Vec<Agent>> {
        let v = self
            .get(&format!("/v1/agents?offset={offset}&limit={limit}"))
            .await?;
        serde_json::from_value(v["agents"].clone()).wrap_err("decoding the agent list")
    }

    /// One agent.
    pub async fn agent(&self, id: AgentId) -> eyre::Result<Agent> {
        let v = self.get(&format!("/v1/agents/{id}")).await?;
        serde_json::from_value(v).wrap_err("decoding the agent")
    }

    /// Every feedback on an agent: (client, feedback), by client then index.
    pub async fn feedback(&self, id: AgentId) -> eyre::Result<Vec<(Address, Feedback)>> {
        let v = self.get(&format!("/v1/agents/{id}/feedback")).await?;
        let mut out = Vec::new();
        for f in v["feedback"].as_array().into_iter().flatten() {
            let client: Address = serde_json::from_value(f["client"].clone())
                .wrap_err("decoding a feedback's client")?;
            out.push((
                client,
                serde_json::from_value(f.clone()).wrap_err("decoding a feedback")?,
            ));
        }
        Ok(out)
    }

    /// The ERC-8004 reputation summary of an agent over `clients` (at least one), optionally
    /// filtered by tags ("" for none).
    pub async fn reputation(
        &self,
        id: AgentId,
        clients: &[Address],
        tag1: &str,
        tag2: &str,
    ) -> eyre::Result<Summary> {
        let list: Vec<String> = clients.iter().map(|c| c.to_string()).collect();
        let url = reqwest::Url::parse_with_params(
            &format!("{}/v1/agents/{id}/reputation", self.base),
            &[
                ("clients", list.join(",")),
                ("tag1", tag1.to_owned()),
                ("tag2", tag2.to_owned()),
            ],
        )?;
        let path = &url.as_str()[self.base.len()..];
        let v = self.get(path).await?;
        serde_json::from_value(v).wrap_err("decoding the reputation summary")
    }

    /// The validations of an agent.
    pub async fn agent_validations(&self, id: AgentId) -> eyre::Result<Vec<Validation>> {
        let v = self.get(&format!("/v1/agents/{id}/validations")).await?;
        serde_json::from_value(v["validations"].clone()).wrap_err("decoding validations")
    }

    /// One validation request by its hash.
    pub async fn validation(&self, request_hash: &B256) -> eyre::Result<Validation> {
        let v = self.get(&format!("/v1/validations/{request_hash}")).await?;
        serde_json::from_value(v).wrap_err("decoding the validation")
    }
}
