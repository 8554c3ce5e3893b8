//! The compute market over REST: providers, orders with their bids, leases with their
//! settlement as of the head, and the market's bookkeeping. A sealed bid shows no price
//! until it wins: its price is on no ledger, log or response.

use axum::{
    Json,
    extract::{Path, Query, State},
};
use ledger::compute::{ComputeState, Lease, OrderId, OrderState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, page_limit, parse_address};

fn parse_id(what: &str, s: &str) -> Result<OrderId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not {what} id (an integer from 0)")))
}

/// A lease as of `head` with oracle `price`: its record, the cut-off and what a touch now
/// would settle.
pub fn lease_json(l: &Lease, head: u64, price: u128) -> Value {
    let owed = l.owed(head.saturating_add(1), price);
    json!({
        "lease": l,
        "head": head,
        "paidUntil": l.paid_until(price),
        "servingUntil": l.serving_until(price),
        "serving": l.serves_at(head, price),
        "owed": owed.amount.to_string(),
        "owedBlocks": owed.blocks,
    })
}

pub(super) async fn get_market(State(app): AppState) -> Json<Value> {
    let st = app.state();
    let meta = st.compute.meta_or(&st.params.compute);
    Json(json!({
        "params": st.params.compute,
        "oraclePrice": meta.oracle_price.to_string(),
        "epochs": meta.epochs,
        "minted": meta.minted.to_string(),
        "burned": meta.burned.to_string(),
        "openOrders": meta.open_orders,
        "escrowAccount": ledger::compute::escrow_account(),
        "providers": st.compute.providers.len(),
        "orders": st.compute.orders.len(),
        "leases": st.compute.leases.len(),
        "height": st.head.height,
    }))
}

pub(super) async fn list_providers(State(app): AppState) -> Json<Value> {
    let st = app.state();
    let providers: Vec<_> = st.compute.providers.values().collect();
    Json(json!({ "providers": providers, "height": st.head.height }))
}

pub(super) async fn get_provider(
    State(app): AppState,
    Path(address): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let a = parse_address(&address)?;
    let st = app.state();
    let p = st
        .compute
        .providers
        .get(&a)
        .ok_or_else(|| ApiError::not_found(format!("{a} is not a provider")))?;
    Ok(Json(json!(p)))
}

/// `?state=open|leased|canceled|lapsed&tenant=&offset=&limit=` of the order list.
#[derive(Debug, Deserialize)]
pub(super) struct OrderQuery {
    state: Option<String>,
    tenant: Option<String>,
    offset: Option<u64>,
    limit: Option<usize>,
}

fn order_json(c: &ComputeState, id: OrderId) -> Option<Value> {
    let o = c.orders.get(&id)?;
    let bids: Vec<_> = c.order_bids(id);
    Some(json!({ "order": o, "bids": bids }))
}

pub(super) async fn list_orders(
    State(app): AppState,
    Query(q): Query<OrderQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(q.limit)?;
    let state = match q.state.as_deref() {
        None => None,
        Some("open") => Some(OrderState::Open),
        Some("leased") => Some(OrderState::Leased),
        Some("canceled") => Some(OrderState::Canceled),
        Some("lapsed") => Some(OrderState::Lapsed),
        Some(other) => {
            return Err(ApiError::malformed(format!(
                "state {other:?} is not open, leased, canceled or lapsed"
            )));
        }
    };
    let tenant = q.tenant.as_deref().map(parse_address).transpose()?;
    let st = app.state();
    let orders: Vec<Value> = st
        .compute
        .orders
        .range(q.offset.unwrap_or(0)..)
        .filter(|(_, o)| state.is_none_or(|s| o.state == s))
        .filter(|(_, o)| tenant.is_none_or(|t| o.tenant == t))
        .take(limit)
        .filter_map(|(id, _)| order_json(&st.compute, *id))
        .collect();
    Ok(Json(json!({ "orders": orders, "height": st.head.height })))
}

pub(super) async fn get_order(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("an order", &id)?;
    let st = app.state();
    order_json(&st.compute, id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no order {id}")))
}

pub(super) async fn get_lease(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id("a lease", &id)?;
    let st = app.state();
    let l = st
        .compute
        .leases
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no lease {id}")))?;
    let price = st.compute.meta_or(&st.params.compute).oracle_price;
    Ok(Json(lease_json(l, st.head.height, price)))
}
