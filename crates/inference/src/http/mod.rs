//! The OpenAI-compatible routes as an axum [`Router`], to be mounted by a miner, the gateway
//! or the node: `POST /v1/embeddings`, `POST /v1/chat/completions` (non-streaming) and
//! `GET /v1/models`.
//!
//! Bodies are read as bytes (up to [`EngineConfig::max_body_bytes`](crate::EngineConfig),
//! 413 beyond) and decoded by [`api::decode_embeddings`] and [`api::decode_chat`]; every error
//! is answered in OpenAI's shape ([`ApiError`]): 400 for a malformed or invalid request, 404 for
//! a model not served here, 503 (with `Retry-After`) when the queue is full.

pub mod api;
pub mod error;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

pub use error::ApiError;

use crate::engine::Engine;
use api::{ChatResponse, EmbeddingsResponse, ModelList, ModelObject};

/// The routes, serving `engine`.
pub fn router(engine: Engine) -> Router {
    let limit = engine.config().max_body_bytes;
    Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(engine)
}

fn body(engine: &Engine, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(engine.config().max_body_bytes)
        } else {
            ApiError::bad_request(rejection.body_text(), None)
        }
    })
}

async fn embeddings(
    State(engine): State<Engine>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<EmbeddingsResponse>, ApiError> {
    let bytes = body(&engine, raw)?;
    let request = api::decode_embeddings(&bytes)?;
    let spec = engine.embedding_model(request.model.as_deref())?;
    if let Some(d) = request.dimensions
        && Some(d) != engine.embedding_dim().and_then(|n| u64::try_from(n).ok())
    {
        return Err(ApiError::bad_request(
            format!(
                "{} has {} dimensions; it cannot give {d}",
                spec.name,
                engine.embedding_dim().unwrap_or(0)
            ),
            Some("dimensions".into()),
        ));
    }
    let out = engine.embed(request.input).await?;
    Ok(Json(EmbeddingsResponse::new(
        spec.name,
        out,
        request.encoding,
    )))
}

async fn chat_completions(
    State(engine): State<Engine>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ChatResponse>, ApiError> {
    let bytes = body(&engine, raw)?;
    let request = api::decode_chat(&bytes)?;
    let spec = engine.chat_model(request.model.as_deref())?;
    let params = request.params(engine.config().default_completion_tokens)?;
    let generation = engine.chat(request.messages, params).await?;
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!("chatcmpl-{:016x}", rand::random::<u64>());
    Ok(Json(ChatResponse::new(id, created, spec.name, generation)))
}

async fn models(State(engine): State<Engine>) -> Json<ModelList> {
    Json(ModelList {
        object: "list".into(),
        data: engine
            .models()
            .into_iter()
            .map(|m| ModelObject {
                id: m.spec.name.into(),
                object: "model".into(),
                created: 0,
                owned_by: "symbiont".into(),
            })
            .collect(),
    })
}
