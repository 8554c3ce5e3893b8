//! The miner runtime: joins a subnet (registers by burn if it is not a neuron yet, advertises
//! its endpoint) and serves a model's OpenAI-compatible router with `GET /health`.
//!
//! For the devnet's dishonest miners, [`Behaviour`] wraps an honest router: a slow miner
//! waits before answering, a wrong one perturbs every embedding, a replaying one computes its
//! first answer once and returns it for every later request (the cheapest cheat: no
//! computation at all).

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use ledger::{Call, subnet::NetUid};
use tokio::sync::Mutex;

/// How a miner treats requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Computes every answer.
    Honest,
    /// Computes every answer after a delay.
    Slow(Duration),
    /// Computes, then returns vectors that are not the model's (each one rotated).
    WrongVectors,
    /// Returns its first embedding answer for every later embedding request.
    Replay,
}

impl Behaviour {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Behaviour::Honest => "honest",
            Behaviour::Slow(_) => "slow",
            Behaviour::WrongVectors => "wrong",
            Behaviour::Replay => "replay",
        }
    }
}

/// `model` (an OpenAI-compatible router) with `GET /health`, served as `behaviour` says.
pub fn app(model: Router, behaviour: Behaviour) -> Router {
    let cache: Arc<Mutex<Option<Bytes>>> = Arc::new(Mutex::new(None));
    let model = model.route("/health", get(|| async { "ok" }));
    if behaviour == Behaviour::Honest {
        return model;
    }
    model.layer(middleware::from_fn(move |req: Request, next: Next| {
        let cache = Arc::clone(&cache);
        async move { misbehave(behaviour, cache, req, next).await }
    }))
}

async fn misbehave(
    behaviour: Behaviour,
    cache: Arc<Mutex<Option<Bytes>>>,
    req: Request,
    next: Next,
) -> Response {
    let embeddings = req.uri().path() == "/v1/embeddings";
    match behaviour {
        Behaviour::Honest => next.run(req).await,
        Behaviour::Slow(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Behaviour::Replay if embeddings => {
            let mut c = cache.lock().await;
            if let Some(body) = c.as_ref() {
                return json_response(body.clone());
            }
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let Ok(bytes) = to_bytes(body, 64 << 20).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            if parts.status.is_success() {
                *c = Some(bytes.clone());
            }
            Response::from_parts(parts, Body::from(bytes))
        }
        Behaviour::WrongVectors if embeddings => {
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let Ok(bytes) = to_bytes(body, 64 << 20).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                return Response::from_parts(parts, Body::from(bytes));
            };
            for d in doc["data"].as_array_mut().into_iter().flatten() {
                if let Some(v) = d["embedding"].as_array_mut() {
                    v.rotate_left(1);
                }
            }
            json_response(Bytes::from(doc.to_string()))
        }
        Behaviour::Replay | Behaviour::WrongVectors => next.run(req).await,
    }
}

fn json_response(body: Bytes) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

/// The uid of `account` in a metagraph document (`GET /v1/subnets/{netuid}/metagraph`), if it
/// is a neuron.
pub fn uid_of(metagraph: &serde_json::Value, account: ledger::Address) -> Option<u16> {
    metagraph["neurons"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|n| {
            let acct: ledger::Address = n["account"].as_str()?.parse().ok()?;
            (acct == account).then(|| n["uid"].as_u64().and_then(|u| u16::try_from(u).ok()))?
        })
}

/// Joins `netuid` as `key`: registers (paying the current burn) unless already a neuron, and
/// advertises `endpoint`. Returns the uid.
pub async fn join(
    node: &ledger_client::Client,
    key: &wallet::PrivateKey,
    netuid: NetUid,
    endpoint: &str,
) -> eyre::Result<u16> {
    let me = key.address();
    let uid_of = |mg: &serde_json::Value| uid_of(mg, me);
    let path = format!("/v1/subnets/{netuid}/metagraph");
    if uid_of(&node.get(&path).await?).is_none() {
        node.execute(
            key,
            Call::RegisterNeuron {
                netuid,
                max_burn: u128::MAX,
            },
        )
        .await?;
    }
    node.execute(
        key,
        Call::ServeEndpoint {
            netuid,
            url: endpoint.to_owned(),
        },
    )
    .await?;
    uid_of(&node.get(&path).await?)
        .ok_or_else(|| eyre::eyre!("{me} is not a neuron of subnet {netuid} after registering"))
}
