//! The dev chain's paid demo route, `GET /demo/paid`: 0.01 Devnet USD per request, paid with
//! x402 to dev key 8 and settled on this ledger by the node's own facilitator (in process).
//! `symbiont pay http://127.0.0.1:8420/demo/paid` (or any x402 client) buys it.

use std::sync::Arc;

use axum::{Json, Router, extract::State, routing::get};
use ledger::{Asset, genesis::DEV_USD_NAME};
use serde_json::{Value, json};
use x402_server::PaymentLayer;
use x402_types::{
    Network, TokenAmount,
    v2::{Extra, PaymentRequirements},
};

use crate::{app::App, dev};

/// The demo's price: 0.01 Devnet USD (6 decimals).
pub const DEMO_PRICE: u64 = 10_000;

/// The price of `/demo/paid` on this dev chain.
pub fn demo_requirements(app: &App) -> eyre::Result<PaymentRequirements> {
    let usd = Asset::derive_id(dev::dev_key(0)?.address(), DEV_USD_NAME);
    Ok(PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(app.chain_id()),
        amount: TokenAmount::from(DEMO_PRICE),
        asset: usd.to_checksum(None),
        pay_to: dev::dev_key(8)?.address().to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712(DEV_USD_NAME, "1"),
    })
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
