//! The REST API under `/v1`, the event stream, `/health`, `/metrics`, the OpenAPI
//! document and the dashboard at `/` ([`crate::dashboard`]). Every error has the shape `{code, message}` ([`ApiError`]).

mod activity;
mod agents;
pub mod compute;
mod error;
mod infer;
mod subnets;
mod ws;

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
pub use error::ApiError;
use ledger::{
    Address, B256, Block, NATIVE, NATIVE_DECIMALS, NATIVE_SUPPLY_CAP, Receipt,
    eip3009::AuthorizationState, tx::SignedTx,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, value::RawValue};

use crate::app::{App, Origin, TxStatus};

/// Largest body for a single transaction.
pub const MAX_TX_BODY: usize = 64 * 1024;
/// Largest body for a batch.
pub const MAX_BATCH_BODY: usize = 32 * 1024 * 1024;
/// Most transactions in one batch.
pub const MAX_BATCH_TXS: usize = 20_000;

/// The OpenAPI document served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

type AppState = State<Arc<App>>;

/// The node's HTTP router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/v1/tx",
            post(submit_tx).layer(DefaultBodyLimit::max(MAX_TX_BODY)),
        )
        .route(
            "/v1/txs",
            post(submit_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BODY)),
        )
        .route("/v1/tx/{hash}", get(get_tx))
        .route("/v1/chain", get(get_chain))
        .route("/v1/accounts/{address}", get(get_account))
        .route("/v1/assets", get(list_assets))
        .route("/v1/assets/{id}", get(get_asset))
        .route(
            "/v1/assets/{id}/authorizations/{authorizer}/{nonce}",
            get(get_authorization_state),
        )
        .route("/v1/subnets", get(subnets::list_subnets))
        .route("/v1/subnets/{netuid}", get(subnets::get_subnet))
        .route(
            "/v1/subnets/{netuid}/metagraph",
            get(subnets::get_metagraph),
        )
        .route(
            "/v1/subnets/{netuid}/emissions",
            get(subnets::get_emissions),
        )
        .route("/v1/agents", get(agents::list_agents))
        .route("/v1/agents/{id}", get(agents::get_agent))
        .route("/v1/agents/{id}/feedback", get(agents::get_feedback))
        .route("/v1/agents/{id}/reputation", get(agents::get_reputation))
        .route(
            "/v1/agents/{id}/validations",
            get(agents::get_agent_validations),
        )
        .route("/v1/validations/{hash}", get(agents::get_validation))
        .route("/v1/compute", get(compute::get_market))
        .route("/v1/compute/providers", get(compute::list_providers))
        .route(
            "/v1/compute/providers/{address}",
            get(compute::get_provider),
        )
        .route("/v1/compute/orders", get(compute::list_orders))
        .route("/v1/compute/orders/{id}", get(compute::get_order))
        .route("/v1/leases/{id}", get(compute::get_lease))
        .route("/v1/infer", get(infer::get_summary))
        .route("/v1/infer/requests", get(infer::list_requests))
        .route("/v1/infer/requests/{id}", get(infer::get_request))
        .route("/v1/infer/providers/{address}", get(infer::get_provider))
        .route("/v1/infer/zk-models/{id}", get(infer::get_zk_model))
        .route("/v1/activity", get(activity::get_activity))
        .route("/v1/blocks/latest", get(get_latest_block))
        .route("/v1/blocks/{id}", get(get_block))
        .route("/v1/events", get(ws::events))
        .route("/v1/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(crate::dashboard::router())
        .fallback(|| async { ApiError::not_found("no such route; see /v1/openapi.json") })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            count_requests,
        ))
        .with_state(app)
}

async fn count_requests(
    State(app): AppState,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    app.metrics.http_requests.inc();
    next.run(req).await
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, ApiError> {
    serde_json::from_str(s).map_err(|e| ApiError::malformed(format!("{what}: {e}")))
}

fn parse_hash(s: &str) -> Result<B256, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not a 32-byte hex hash")))
}

/// The most items one page of a list (agents, orders, inference requests) holds.
pub const MAX_PAGE: usize = 1000;

/// A list's `limit` query parameter: 100 by default, refused above [`MAX_PAGE`].
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(100);
    if limit > MAX_PAGE {
        return Err(ApiError::malformed(format!(
            "limit {limit} is above {MAX_PAGE}"
        )));
    }
    Ok(limit)
}

fn parse_address(s: &str) -> Result<Address, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not a 20-byte hex address")))
}

/// `{hash}` of an accepted transaction.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The transaction hash.
    pub hash: B256,
}

async fn submit_tx(
    State(app): AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let body = body?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::malformed("body is not UTF-8"))?;
    let tx: SignedTx = parse("transaction", text)?;
    let mut results = app.submit_many(vec![tx]).await;
    match results.pop() {
        Some(Ok(hash)) => Ok((StatusCode::ACCEPTED, Json(Accepted { hash }))),
        Some(Err(e)) => Err(e.into()),
        None => Err(ApiError::internal("no result")),
    }
}

async fn submit_batch(
    State(app): AppState,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let origin = if headers.contains_key(crate::relay::RELAY_HEADER) {
        Origin::Relay
    } else {
        Origin::Client
    };
    let body = body?;
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::malformed("body is not UTF-8"))?;
    let raw: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|e| ApiError::malformed(format!("batch (a JSON array of transactions): {e}")))?;
    if raw.len() > MAX_BATCH_TXS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "a batch holds at most {MAX_BATCH_TXS} transactions, got {}",
                raw.len()
            ),
        ));
    }
    // Decode each item on its own so one malformed item fails alone.
    let mut decoded = Vec::with_capacity(raw.len());
    let mut slots: Vec<Result<usize, ApiError>> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        match serde_json::from_str::<SignedTx>(r.get()) {
            Ok(tx) => {
                slots.push(Ok(decoded.len()));
                decoded.push(tx);
            }
            Err(e) => slots.push(Err(ApiError::malformed(format!("transaction {i}: {e}")))),
        }
    }
    let results = app.submit_from(decoded, origin).await;
    let items: Vec<serde_json::Value> = slots
        .into_iter()
        .map(|slot| {
            match slot.and_then(|i| match results.get(i) {
                Some(Ok(h)) => Ok(*h),
                Some(Err(e)) => Err(ApiError::from(e.clone())),
                None => Err(ApiError::internal("missing result")),
            }) {
                Ok(hash) => json!({ "hash": hash }),
                Err(e) => json!({ "error": e }),
            }
        })
        .collect();
    Ok(Json(json!({ "results": items })))
}

async fn get_tx(State(app): AppState, Path(hash): Path<String>) -> Result<Response, ApiError> {
    let hash = parse_hash(&hash)?;
    let body = match app.tx_status(&hash)? {
        TxStatus::Committed(rec) => json!({
            "hash": hash, "status": "committed", "height": rec.height, "index": rec.index,
            "receipt": rec.receipt,
        }),
        TxStatus::Pending => json!({ "hash": hash, "status": "pending" }),
        TxStatus::Dropped(r) => json!({
            "hash": hash, "status": "dropped", "reason": { "code": r.code(), "message": r.to_string() },
        }),
        TxStatus::Unknown => {
            return Err(ApiError::not_found(format!(
                "transaction {hash} is unknown"
            )));
        }
    };
    Ok(Json(body).into_response())
}

async fn get_chain(State(app): AppState) -> Json<serde_json::Value> {
    let s = app.state();
    Json(json!({
        "chainId": s.params.chain_id,
        "network": format!("eip155:{}", s.params.chain_id),
        "minFee": s.params.min_fee.to_string(),
        "head": head_json(&s.head),
        "nativeSupply": s.native_supply.to_string(),
    }))
}

fn head_json(h: &ledger::state::Head) -> serde_json::Value {
    json!({ "height": h.height, "hash": h.hash, "stateRoot": h.state_root, "timestampMs": h.timestamp_ms })
}

async fn get_account(
    State(app): AppState,
    Path(address): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let address = parse_address(&address)?;
    let s = app.state();
    let acct = s.account(&address);
    let balances: BTreeMap<Address, String> = acct
        .balances
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    Ok(Json(json!({
        "address": address,
        "nonce": acct.nonce,
        "balances": balances,
        "height": s.head.height,
    })))
}

fn native_asset_json(supply: u128) -> serde_json::Value {
    json!({
        "id": NATIVE, "name": "Symbiont", "symbol": "SYM", "version": "1",
        "decimals": NATIVE_DECIMALS, "issuer": null, "supply": supply.to_string(),
        "cap": NATIVE_SUPPLY_CAP.to_string(),
    })
}

async fn list_assets(State(app): AppState) -> Json<serde_json::Value> {
    let s = app.state();
    let mut list = vec![native_asset_json(s.native_supply)];
    list.extend(s.assets.values().map(|a| json!(a)));
    Json(json!({ "assets": list }))
}

async fn get_asset(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let s = app.state();
    if id == "native" {
        return Ok(Json(native_asset_json(s.native_supply)));
    }
    let id = parse_address(&id)?;
    if id == NATIVE {
        return Ok(Json(native_asset_json(s.native_supply)));
    }
    match s.assets.get(&id) {
        Some(a) => Ok(Json(json!(a))),
        None => Err(ApiError::not_found(format!("asset {id} does not exist"))),
    }
}

/// EIP-3009 `authorizationState(authorizer, nonce)`.
async fn get_authorization_state(
    State(app): AppState,
    Path((id, authorizer, nonce)): Path<(String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (id, authorizer, nonce) = (
        parse_address(&id)?,
        parse_address(&authorizer)?,
        parse_hash(&nonce)?,
    );
    let s = app.state();
    if !s.assets.contains_key(&id) {
        return Err(ApiError::not_found(format!("asset {id} does not exist")));
    }
    let st = s.authorization_state(&(id, authorizer, nonce));
    Ok(Json(json!({
        "asset": id, "authorizer": authorizer, "nonce": nonce,
        "state": st, "used": st != AuthorizationState::Unused,
    })))
}

#[derive(Serialize)]
struct BlockView<'a> {
    hash: B256,
    #[serde(flatten)]
    block: &'a Block,
    receipts: Option<Vec<Receipt>>,
}

fn block_json(app: &App, height: u64) -> Result<Json<serde_json::Value>, ApiError> {
    let block = app
        .store()
        .block(height)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    let view = BlockView {
        hash: block.header.hash(),
        block: &block,
        receipts: None,
    };
    Ok(Json(json!(view)))
}

async fn get_latest_block(State(app): AppState) -> Result<Json<serde_json::Value>, ApiError> {
    let h = app.state().head.height;
    block_json(&app, h)
}

async fn get_block(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let height = if id.starts_with("0x") {
        let hash = parse_hash(&id)?;
        app.store()
            .height_of(&hash)?
            .ok_or_else(|| ApiError::not_found(format!("no block with hash {hash}")))?
    } else {
        id.parse::<u64>()
            .map_err(|_| ApiError::malformed(format!("{id:?} is neither a height nor a 0x hash")))?
    };
    block_json(&app, height)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn health(State(app): AppState) -> Json<serde_json::Value> {
    let s = app.state();
    Json(json!({
        "status": "ok",
        "height": s.head.height,
        "mempool": app.mempool_len(),
        "uptimeSecs": app.uptime_secs(),
    }))
}

async fn metrics(State(app): AppState) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}
