//! [`HttpFacilitator`]: a remote facilitator over HTTP (`research/x402.md` §3), the
//! `x402_types::Facilitator` a paywall uses when verification and settlement happen
//! elsewhere (the node's `/x402`, `symbiont facilitator`, or any x402 facilitator).

use std::time::Duration;

use serde::de::DeserializeOwned;
use x402_types::{
    Facilitator, SettleRequest, SettleResponse, SupportedResponse, VerifyRequest, VerifyResponse,
};

/// Why a remote facilitator gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FacilitatorError {
    /// The request did not complete (connection, timeout).
    #[error("facilitator {url}: {source}")]
    Transport {
        /// The endpoint.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The facilitator answered with a status and body that are not an x402 answer.
    #[error("facilitator {url} answered {status}: {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer is not the expected JSON.
    #[error("facilitator {url} sent a malformed answer: {source}")]
    Malformed {
        /// The endpoint.
        url: String,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// A facilitator at `base_url` (`…/verify`, `…/settle`, `…/supported`).
#[derive(Debug, Clone)]
pub struct HttpFacilitator {
    base: String,
    http: reqwest::Client,
}

impl HttpFacilitator {
    /// A facilitator at `base_url` (a trailing slash is ignored), with a 30 s request timeout
    /// (settlement waits for a block).
    pub fn new(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self::with_client(base_url, http)
    }

    /// A facilitator reached through `http`.
    pub fn with_client(base_url: impl Into<String>, http: reqwest::Client) -> Self {
        let base = base_url.into().trim_end_matches('/').to_owned();
        HttpFacilitator { base, http }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&VerifyRequest>,
    ) -> Result<T, FacilitatorError> {
        let url = format!("{}{path}", self.base);
        let request = match body {
            Some(b) => self.http.post(&url).json(b),
            None => self.http.get(&url),
        };
        let transport = |source| FacilitatorError::Transport {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        // A non-2xx body that is an x402 answer is still the answer (the TS client treats
        // `isValid`/`success` bodies on 4xx as verdicts).
        match serde_json::from_slice::<T>(&bytes) {
            Ok(v) => Ok(v),
            Err(_) if !status.is_success() => Err(FacilitatorError::Status {
                url,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            }),
            Err(source) => Err(FacilitatorError::Malformed { url, source }),
        }
    }
}

impl Facilitator for HttpFacilitator {
    type Error = FacilitatorError;

    async fn verify(&self, request: &VerifyRequest) -> Result<VerifyResponse, FacilitatorError> {
        self.call("/verify", Some(request)).await
    }

    async fn settle(&self, request: &SettleRequest) -> Result<SettleResponse, FacilitatorError> {
        self.call("/settle", Some(request)).await
    }

    async fn supported(&self) -> Result<SupportedResponse, FacilitatorError> {
        self.call("/supported", None).await
    }
}
