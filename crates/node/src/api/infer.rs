//! Verifiable inference over REST: requests with their deliveries and verdicts, provider
//! bonds and attestations, and registered ZK models.

use axum::{
    Json,
    extract::{Path, Query, State},
};
use ledger::infer::{InferState, RequestId, RequestState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, page_limit, parse_address, parse_hash};

/// A request with its deliveries, in delivery order.
fn request_json(i: &InferState, id: RequestId) -> Option<Value> {
    let r = i.requests.get(&id)?;
    Some(json!({ "request": r, "deliveries": i.request_deliveries(r) }))
}

pub(super) async fn get_summary(State(app): AppState) -> Json<Value> {
    let st = app.state();
    let i = &st.infer;
    let open = i.meta.as_ref().map_or(0, |m| m.deadlines.len());
    let awaiting = i.meta.as_ref().map_or(0, |m| m.payouts.len());
    Json(json!({
        "teeRoot": match &st.params.infer.tee_root {
            None => json!("intel"),
            Some(der) => json!({ "custom": ledger::keccak256(der) }),
        },
        "attestationTtl": st.params.infer.attestation_ttl(),
        "validatorAccount": ledger::infer::validator_account(),
        "escrowAccount": ledger::compute::escrow_account(),
        "requests": i.requests.len(),
        "open": open,
        "awaitingPayout": awaiting,
        "attestations": i.attestations.len(),
        "bonds": i.bonds.len(),
        "zkModels": i.zk_models.len(),
        "height": st.head.height,
    }))
}

/// `?state=open|accepted|settled|expired&requester=&offset=&limit=` of the request list.
#[derive(Debug, Deserialize)]
pub(super) struct RequestQuery {
    state: Option<String>,
    requester: Option<String>,
    offset: Option<u64>,
    limit: Option<usize>,
}

pub(super) async fn list_requests(
    State(app): AppState,
    Query(q): Query<RequestQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(q.limit)?;
    let state = match q.state.as_deref() {
        None => None,
        Some("open") => Some(RequestState::Open),
        Some("accepted") => Some(RequestState::Accepted),
        Some("settled") => Some(RequestState::Settled),
        Some("expired") => Some(RequestState::Expired),
        Some(other) => {
            return Err(ApiError::malformed(format!(
                "state {other:?} is not open, accepted, settled or expired"
            )));
        }
    };
    let requester = q.requester.as_deref().map(parse_address).transpose()?;
    let st = app.state();
    let requests: Vec<Value> = st
        .infer
        .requests
        .range(q.offset.unwrap_or(0)..)
        .filter(|(_, r)| state.is_none_or(|s| r.state == s))
        .filter(|(_, r)| requester.is_none_or(|a| r.requester == a))
        .take(limit)
        .filter_map(|(id, _)| request_json(&st.infer, *id))
        .collect();
    Ok(Json(
        json!({ "requests": requests, "height": st.head.height }),
    ))
}

pub(super) async fn get_request(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: RequestId = id.parse().map_err(|_| {
        ApiError::malformed(format!("{id:?} is not a request id (an integer from 0)"))
    })?;
    let st = app.state();
    let mut v = request_json(&st.infer, id)
        .ok_or_else(|| ApiError::not_found(format!("no inference request {id}")))?;
    v["height"] = json!(st.head.height);
    Ok(Json(v))
}

pub(super) async fn get_provider(
    State(app): AppState,
    Path(address): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let a = parse_address(&address)?;
    let st = app.state();
    Ok(Json(json!({
        "provider": a,
        "bond": st.infer.bonds.get(&a),
        "attestation": st.infer.attestations.get(&a),
        "registered": st.compute.providers.contains_key(&a),
        "height": st.head.height,
    })))
}

pub(super) async fn get_zk_model(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_hash(&id)?;
    let st = app.state();
    let m = st
        .infer
        .zk_models
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no ZK model {id}")))?;
    Ok(Json(json!({ "id": id, "model": m })))
}
