//! The dev chain's paid demo route, `GET /demo/paid`: 0.01 Devnet USD per request, paid with
//! x402 to dev key 8 and settled on this ledger by the node's own facilitator (in process).
//! `symbiont pay http://127.0.0.1:8420/demo/paid` (or any x402 client) buys it.

use std::sync::Arc;

use axum::{Json, Router, extract::State, routing::get};
use serde_json::{Value, json};
use x402_server::PaymentLayer;
use x402_types::v2::PaymentRequirements;

use crate::{app::App, dev};

/// The demo's price: 0.01 Devnet USD (6 decimals).
pub const DEMO_PRICE: u64 = 10_000;

/// The price of `/demo/paid` on this dev chain.
pub fn demo_requirements(app: &App) -> eyre::Result<PaymentRequirements> {
    dev::usd_price(app.chain_id(), dev::dev_key(8)?.address(), DEMO_PRICE)
}

/// `/demo/paid` behind a paywall settling through `facilitator`.
pub fn router(app: Arc<App>, facilitator: Arc<x402_facilitator::Service>) -> eyre::Result<Router> {
    let paywall = PaymentLayer::shared(facilitator, demo_requirements(&app)?)
        .description("Symbiont dev-chain demo: a paid hello")
        .mime_type("application/json");
    Ok(Router::new()
        .route("/demo/paid", get(paid).layer(paywall))
        .with_state(app))
}

async fn paid(State(app): State<Arc<App>>) -> Json<Value> {
    let height = app.state().head.height;
    Json(json!({
        "message": "hello from a paid route: this response cost 0.01 Devnet USD",
        "height": height,
    }))
}
