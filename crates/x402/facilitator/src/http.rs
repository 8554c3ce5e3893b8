//! The facilitator's HTTP API (`research/x402.md` §3): `POST /verify`, `POST /settle`,
//! `GET /supported` and `GET /health`, as an axum [`Router`] over a [`Service`].
//!
//! Rejections answer 200 with `isValid: false` / `success: false` (the reference
//! facilitator's behaviour). A body that is not the `{x402Version, paymentPayload,
//! paymentRequirements}` wrapper answers 400, a body over [`MAX_BODY`] 413, both as
//! `{code, message}`.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Serialize;
use serde_json::json;
use x402_types::{SettleResponse, SupportedResponse, VerifyResponse};

use crate::Service;

/// Largest request body: a payment is a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The routes at the router's root; nest it (`/x402` inside the node).
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/verify", post(verify))
        .route("/settle", post(settle))
        .route("/supported", get(supported))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(service)
}

/// A request the facilitator cannot read: `{code, message}` with a 4xx status.
#[derive(Debug, Serialize)]
pub struct BadRequest {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}

impl From<BytesRejection> for BadRequest {
    fn from(e: BytesRejection) -> Self {
        let status = e.status();
        BadRequest {
            status,
            code: if status == StatusCode::PAYLOAD_TOO_LARGE {
                "too_large"
            } else {
                "malformed"
            },
            message: e.body_text(),
        }
    }
}

fn malformed(e: &serde_json::Error) -> BadRequest {
    BadRequest {
        status: StatusCode::BAD_REQUEST,
        code: "malformed",
        message: format!("x402 request {{x402Version, paymentPayload, paymentRequirements}}: {e}"),
    }
}

async fn verify(
    State(s): State<Arc<Service>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<VerifyResponse>, BadRequest> {
    let body = body?;
    s.verify_json(&body)
        .await
        .map(Json)
        .map_err(|e| malformed(&e))
}

async fn settle(
    State(s): State<Arc<Service>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SettleResponse>, BadRequest> {
    let body = body?;
    s.settle_json(&body)
        .await
        .map(Json)
        .map_err(|e| malformed(&e))
}

async fn supported(State(s): State<Arc<Service>>) -> Json<SupportedResponse> {
    Json(s.supported())
}

async fn health(State(s): State<Arc<Service>>) -> Json<serde_json::Value> {
    let networks: Vec<String> = s.networks().iter().map(ToString::to_string).collect();
    Json(json!({ "status": "ok", "networks": networks }))
}
