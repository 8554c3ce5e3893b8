//! The subnet's paid, OpenAI-compatible gateway (issue 6): `POST /v1/embeddings` and
//! `POST /v1/chat/completions` behind an x402 paywall whose `payTo` is the subnet's revenue
//! account, forwarded to a miner picked by [`crate::routing`] — in proportion to on-chain
//! incentive, among the miners whose health check passed — and retried on another miner when
//! one fails. The routing table is refreshed from the node's metagraph.
//!
//! A miner's 4xx answer is the client's fault and is returned as is (the paywall settles only
//! answers under 400, so it is not charged); a connection error, a timeout or a 5xx marks the
//! miner unhealthy until the next health check and the request goes to another miner. With no
//! miner left the gateway answers 503 and nobody pays.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use ledger::subnet::NetUid;
use serde_json::{Value, json};
use x402_server::{DeferredSettlement, PaymentLayer, Pricing};
use x402_types::{Facilitator, TokenAmount, v2::PaymentRequirements};

use crate::routing::{Candidate, Router as Routes};

/// What the gateway's price is per.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PriceUnit {
    /// The price's amount per request.
    #[default]
    Request,
    /// The price's amount per token, charged up front for an upper bound of the tokens the
    /// request can use (x402's `exact` scheme is paid before the answer exists): for
    /// embeddings, each input's bytes capped at the model's 256-token window; for chat, the
    /// messages' bytes plus `max_tokens` (default 256). A BPE token is at least one byte, so
    /// bytes bound the prompt's tokens.
    Token,
}

/// The most tokens one embedding input is read for (all-MiniLM-L6-v2's window).
pub const EMBEDDING_WINDOW: u64 = 256;
/// `max_tokens` when a chat request does not say.
pub const DEFAULT_MAX_TOKENS: u64 = 256;

/// The token bound [`PriceUnit::Token`] charges for a request body to `path`; an error (a
/// 400, nothing charged) for a body that is not a valid request.
pub fn token_bound(path: &str, body: &[u8]) -> Result<u64, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let bytes = |s: &str| u64::try_from(s.len()).unwrap_or(u64::MAX);
    if path.ends_with("/embeddings") {
        let inputs: Vec<&str> = match &v["input"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().ok_or("input must be strings"))
                .collect::<Result<_, _>>()?,
            _ => return Err("input must be a string or an array of strings".into()),
        };
        if inputs.is_empty() {
            return Err("input is empty".into());
        }
        Ok(inputs
            .iter()
            .map(|s| bytes(s).clamp(1, EMBEDDING_WINDOW))
            .fold(0u64, u64::saturating_add))
    } else {
        let messages = v["messages"]
            .as_array()
            .filter(|m| !m.is_empty())
            .ok_or("messages must be a non-empty array")?;
        let prompt = messages
            .iter()
            .map(|m| m["content"].as_str().map_or(0, bytes))
            .fold(0u64, u64::saturating_add);
        let max_tokens = match &v["max_tokens"] {
            Value::Null => DEFAULT_MAX_TOKENS,
            m => m
                .as_u64()
                .ok_or("max_tokens must be a non-negative integer")?,
        };
        Ok(prompt.saturating_add(max_tokens).max(1))
    }
}

/// The gateway's settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The subnet it sells.
    pub netuid: NetUid,
    /// The node whose metagraph lists the miners.
    pub node_url: String,
    /// The price (its `payTo` should be the subnet's revenue account), per [`GatewayConfig::unit`].
    pub price: PaymentRequirements,
    /// What the price is per.
    pub unit: PriceUnit,
    /// How long a miner may take to answer.
    pub request_timeout: Duration,
    /// Miners tried per request at most.
    pub max_attempts: usize,
    /// Answer before the payment settles, within this policy's bounds (`None`: every answer
    /// waits for its settlement), and forward a request from a payer in good standing while
    /// its payment is verified. See [`x402_server::deferred`].
    pub deferred: Option<Arc<DeferredSettlement>>,
}

/// What the gateway has done, for the devnet's table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Requests answered, by miner uid.
    pub by_uid: BTreeMap<u16, u64>,
    /// Requests no miner could answer.
    pub unavailable: u64,
}

/// The gateway.
#[derive(Debug)]
pub struct Gateway {
    cfg: GatewayConfig,
    routes: RwLock<Routes>,
    served: Mutex<Served>,
    http: reqwest::Client,
    node: ledger_client::Client,
}

fn lock_poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    e.into_inner()
}

impl Gateway {
    /// A gateway with an empty routing table (call [`Gateway::refresh`]).
    pub fn new(cfg: GatewayConfig) -> eyre::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .build()?;
        let node = ledger_client::Client::new(&cfg.node_url)?;
        Ok(Arc::new(Gateway {
            cfg,
            routes: RwLock::new(Routes::default()),
            served: Mutex::new(Served::default()),
            http,
            node,
        }))
    }

    /// Replaces the routing table (the refresh does this from the metagraph).
    pub fn set_candidates(&self, candidates: Vec<Candidate>) {
        self.routes.write().unwrap_or_else(lock_poisoned).candidates = candidates;
    }

    /// The routing table.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.routes
            .read()
            .unwrap_or_else(lock_poisoned)
            .candidates
            .clone()
    }

    /// What has been served so far.
    pub fn served(&self) -> Served {
        self.served.lock().unwrap_or_else(lock_poisoned).clone()
    }

    /// Reads the metagraph and health-checks every miner that advertises an endpoint
    /// (`GET {endpoint}/health`, 2 s), then replaces the routing table.
    pub async fn refresh(&self) -> eyre::Result<()> {
        let mg = self
            .node
            .get(&format!("/v1/subnets/{}/metagraph", self.cfg.netuid))
            .await?;
        let mut candidates: Vec<Candidate> = mg["neurons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| {
                Some(Candidate {
                    uid: u16::try_from(n["uid"].as_u64()?).ok()?,
                    endpoint: n["endpoint"].as_str()?.trim_end_matches('/').to_owned(),
                    incentive: u16::try_from(n["incentive"].as_u64()?).ok()?,
                    healthy: false,
                })
            })
            .collect();
        let checks = candidates.iter().map(|c| {
            let url = format!("{}/health", c.endpoint);
            let http = self.http.clone();
            async move {
                matches!(
                    http.get(url).timeout(Duration::from_secs(2)).send().await,
                    Ok(r) if r.status().is_success()
                )
            }
        });
        let healthy = futures_util::future::join_all(checks).await;
        for (c, h) in candidates.iter_mut().zip(healthy) {
            c.healthy = h;
        }
        self.set_candidates(candidates);
        Ok(())
    }

    /// Refreshes every `period` until the task is aborted; failures are logged.
    pub fn spawn_refresher(self: &Arc<Self>, period: Duration) -> tokio::task::JoinHandle<()> {
        let gw = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = gw.refresh().await {
                    tracing::warn!(error = %e, "gateway: metagraph refresh failed");
                }
                tokio::time::sleep(period).await;
            }
        })
    }

    fn mark_unhealthy(&self, uid: u16) {
        let mut r = self.routes.write().unwrap_or_else(lock_poisoned);
        for c in r.candidates.iter_mut().filter(|c| c.uid == uid) {
            c.healthy = false;
        }
    }

    /// Forwards `body` to `path` on a miner, retrying on another one after a failure.
    pub async fn forward(&self, path: &str, body: Bytes) -> Response {
        let mut tried = Vec::new();
        for _ in 0..self.cfg.max_attempts.max(1) {
            let pick = {
                let r = self.routes.read().unwrap_or_else(lock_poisoned);
                r.pick(rand::random(), &tried).cloned()
            };
            let Some(miner) = pick else { break };
            tried.push(miner.uid);
            let started = Instant::now();
            let sent = self
                .http
                .post(format!("{}{path}", miner.endpoint))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) if !r.status().is_server_error() => r,
                Ok(r) => {
                    tracing::warn!(uid = miner.uid, status = %r.status(), "miner failed; retrying");
                    self.mark_unhealthy(miner.uid);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(uid = miner.uid, error = %e, "miner unreachable; retrying");
                    self.mark_unhealthy(miner.uid);
                    continue;
                }
            };
            let status =
                StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let Ok(bytes) = resp.bytes().await else {
                self.mark_unhealthy(miner.uid);
                continue;
            };
            if status.is_success() {
                let mut s = self.served.lock().unwrap_or_else(lock_poisoned);
                *s.by_uid.entry(miner.uid).or_default() += 1;
            }
            let mut out = (status, bytes).into_response();
            let h = out.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert("x-symbiont-miner", HeaderValue::from(miner.uid));
            if let Ok(ms) = HeaderValue::from_str(&started.elapsed().as_millis().to_string()) {
                h.insert("x-symbiont-miner-ms", ms);
            }
            return out;
        }
        self.served.lock().unwrap_or_else(lock_poisoned).unavailable += 1;
        let e = json!({ "error": {
            "message": "no miner of this subnet is available; try again shortly",
            "type": "unavailable", "param": null, "code": "no_miner",
        }});
        (StatusCode::SERVICE_UNAVAILABLE, Json(e)).into_response()
    }

    /// The HTTP app: the two paid routes behind `facilitator`, and free `GET /v1/miners` (the
    /// routing table) and `GET /health`.
    pub fn app<F: Facilitator + 'static>(self: &Arc<Self>, facilitator: Arc<F>) -> Router {
        let price = self.cfg.price.clone();
        let pricing = match self.cfg.unit {
            PriceUnit::Request => Pricing::fixed([price]),
            PriceUnit::Token => Pricing::dynamic(move |parts, body| {
                let tokens = token_bound(parts.uri.path(), body)?;
                let mut r = price.clone();
                r.amount = TokenAmount::from(
                    price
                        .amount
                        .0
                        .saturating_mul(alloy_primitives::U256::from(tokens)),
                );
                Ok(vec![r])
            }),
        };
        let mut paywall = PaymentLayer::shared(facilitator, pricing)
            .description(format!("Symbiont subnet {} inference", self.cfg.netuid))
            .mime_type("application/json");
        if let Some(policy) = &self.cfg.deferred {
            // A forward only computes: a payer in good standing has it start while the
            // payment is verified (the answer still waits for the verdict).
            paywall = paywall.deferred(Arc::clone(policy)).verify_while_serving();
        }
        Router::new()
            .route("/v1/embeddings", post(embeddings).layer(paywall.clone()))
            .route("/v1/chat/completions", post(chat).layer(paywall))
            .route("/v1/miners", get(miners))
            .route("/health", get(|| async { "ok" }))
            .with_state(Arc::clone(self))
    }
}

async fn embeddings(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    gw.forward("/v1/embeddings", body).await
}

async fn chat(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    gw.forward("/v1/chat/completions", body).await
}

async fn miners(State(gw): State<Arc<Gateway>>) -> Json<Value> {
    Json(
        json!({ "netuid": gw.cfg.netuid, "miners": gw.candidates().iter().map(|c| json!({
        "uid": c.uid, "endpoint": c.endpoint, "incentive": c.incentive, "healthy": c.healthy,
    })).collect::<Vec<_>>() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The price decoder reads untrusted bodies: it never panics, and for valid embedding
        /// requests charges each input's bytes clamped to the window.
        #[test]
        fn token_bound_never_panics_and_counts_inputs(
            raw in prop::collection::vec(any::<u8>(), 0..256),
            inputs in prop::collection::vec(".{0,300}", 1..6),
            chat: bool,
        ) {
            let path = if chat { "/v1/chat/completions" } else { "/v1/embeddings" };
            let _ = token_bound(path, &raw);
            let body = serde_json::to_vec(&json!({ "input": inputs })).unwrap_or_default();
            let want: u64 = inputs
                .iter()
                .map(|s| (s.len() as u64).clamp(1, EMBEDDING_WINDOW))
                .sum();
            prop_assert_eq!(token_bound("/v1/embeddings", &body), Ok(want));
        }
    }
}
