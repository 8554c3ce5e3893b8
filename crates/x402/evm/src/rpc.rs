//! [`Rpc`]: the JSON-RPC client (alloy's HTTP provider), with answers split into what the node
//! said (a revert, a refusal) and what went wrong on the way (unreachable, timed out,
//! malformed), and error texts scrubbed of the endpoint URL (it often carries an API key).

use alloy::{
    eips::BlockId,
    providers::{Provider, RootProvider},
    rpc::{client::RpcClient, types::TransactionRequest},
    transports::{RpcError, TransportError, http::reqwest},
};
use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;

use crate::{Error, Result};

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The node answered with an error: for `eth_call` / `eth_estimateGas` a revert, for
    /// `eth_sendRawTransaction` a refusal. Holds its message.
    Node(String),
    /// No usable answer: transport, timeout, malformed response.
    Transport(String),
}

impl Failure {
    /// The message.
    pub(crate) fn message(&self) -> &str {
        match self {
            Failure::Node(m) | Failure::Transport(m) => m,
        }
    }
}

/// The provider and what to scrub from its errors.
#[derive(Debug, Clone)]
pub(crate) struct Rpc {
    pub(crate) provider: RootProvider,
    secrets: Vec<String>,
}

impl Rpc {
    /// An HTTP client for `url`, each request bounded by `timeout`.
    pub(crate) fn http(url: &str, timeout: std::time::Duration) -> Result<Self> {
        let parsed: reqwest::Url = url.parse().map_err(|e| Error::Url(format!("{e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Url(format!("scheme {:?}", parsed.scheme())));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        let mut secrets = vec![url.to_owned(), parsed.as_str().to_owned()];
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(Rpc {
            provider: RootProvider::new(RpcClient::new_http_with_client(client, parsed)),
            secrets,
        })
    }

    /// Classifies an alloy error, with the URL scrubbed.
    pub(crate) fn failure(&self, e: &TransportError) -> Failure {
        match e {
            RpcError::ErrorResp(p) => {
                Failure::Node(self.scrub(&format!("{} ({})", p.message, p.code)))
            }
            other => Failure::Transport(self.scrub(&other.to_string())),
        }
    }

    fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "<rpc_url>"))
    }

    /// `eth_call` of `call` on `to` from `from` at `block`: the decoded return value,
    /// `Ok(None)` when the call reverts or returns something else (no contract, not this
    /// interface).
    pub(crate) async fn view<C: SolCall>(
        &self,
        to: Address,
        call: C,
        block: BlockId,
    ) -> Result<Option<C::Return>, Failure> {
        let tx = TransactionRequest::default()
            .to(to)
            .input(Bytes::from(call.abi_encode()).into());
        match self.provider.call(tx).block(block).await {
            Ok(out) => Ok(C::abi_decode_returns(&out).ok()),
            Err(e) => match self.failure(&e) {
                Failure::Node(_) => Ok(None),
                t @ Failure::Transport(_) => Err(t),
            },
        }
    }

    /// `eth_call` of raw `input` on `to` from `from` at `block`, for its revert only.
    pub(crate) async fn simulate(
        &self,
        from: Address,
        to: Address,
        input: Bytes,
        block: BlockId,
    ) -> Result<(), Failure> {
        let tx = TransactionRequest::default()
            .from(from)
            .to(to)
            .input(input.into());
        self.provider
            .call(tx)
            .block(block)
            .await
            .map(drop)
            .map_err(|e| self.failure(&e))
    }
}
