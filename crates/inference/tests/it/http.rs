//! The OpenAI-compatible routes on a real server (127.0.0.1, an ephemeral port) over reqwest.

use std::time::Duration;

use base64::Engine as _;
use futures_util::future::join_all;
use inference::http::api::{ChatResponse, EmbeddingValue, EmbeddingsResponse, ModelList};
use inference::models::{MINILM, SMOLLM2};
use inference::{ChatModel, Embedder, Engine, EngineConfig};
use serde_json::{Value, json};

use crate::common::{cosine, embedder, ensure};

struct Server {
    url: String,
    engine: Engine,
    client: reqwest::Client,
}

async fn serve(config: EngineConfig, embeddings: bool, chat: bool) -> Server {
    let mut b = Engine::builder().config(config);
    if embeddings {
        b = b.embeddings(
            &MINILM,
            Embedder::load(&ensure("all-minilm-l6-v2")).unwrap(),
        );
    }
    if chat {
        b = b.chat(&SMOLLM2, ChatModel::load(&ensure("smollm2-135m")).unwrap());
    }
    let engine = b.start().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = inference::http::router(engine.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Server {
        url: format!("http://{addr}"),
        engine,
        client: reqwest::Client::new(),
    }
}

impl Server {
    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.post(path, serde_json::to_vec(&body).unwrap()).await
    }
}

/// An OpenAI error body with the given status, type and param.
fn assert_error(got: &(u16, Value), status: u16, kind: &str, param: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    let e = &got.1["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
    assert_eq!(e["type"], kind, "{}", got.1);
    assert_eq!(e["param"].as_str(), param, "{}", got.1);
    assert!(e.get("code").is_some(), "{}", got.1);
}

#[tokio::test]
async fn embeddings_route_answers_like_openai() {
    let s = serve(EngineConfig::default(), true, false).await;
    let texts = ["The girl is carrying a baby.", "Hello, world!"];
    let (status, body) = s
        .post_json(
            "/v1/embeddings",
            json!({"model": "all-minilm-l6-v2", "input": texts}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r: EmbeddingsResponse = serde_json::from_value(body).unwrap();
    assert_eq!(
        (r.object.as_str(), r.model.as_str(), r.data.len()),
        ("list", "all-minilm-l6-v2", 2)
    );
    let direct = embedder().embed(&texts).unwrap();
    assert_eq!(r.usage.prompt_tokens, direct.tokens.iter().sum::<usize>());
    assert_eq!(r.usage.total_tokens, r.usage.prompt_tokens);
    for (i, d) in r.data.iter().enumerate() {
        assert_eq!((d.object.as_str(), d.index), ("embedding", i));
        let EmbeddingValue::Float(v) = &d.embedding else {
            panic!("not floats")
        };
        assert_eq!(v.len(), 384);
        assert!(cosine(v, &direct.vectors[i]) > 0.999_999);
    }

    // A single string, an alias, and base64 (little-endian f32).
    let (status, body) = s
        .post_json(
            "/v1/embeddings",
            json!({"model": "sentence-transformers/all-MiniLM-L6-v2", "input": texts[0], "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r: EmbeddingsResponse = serde_json::from_value(body).unwrap();
    let EmbeddingValue::Base64(b64) = &r.data[0].embedding else {
        panic!("not base64")
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let v = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect::<Vec<_>>();
    assert!(cosine(&v, &direct.vectors[0]) > 0.999_999);

    let models: ModelList = s
        .client
        .get(format!("{}/v1/models", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        models
            .data
            .iter()
            .map(|m| m.id.as_str())
            .collect::<Vec<_>>(),
        ["all-minilm-l6-v2"]
    );
}

#[tokio::test]
async fn bad_embedding_requests_get_openai_errors() {
    let config = EngineConfig {
        max_inputs: 4,
        max_input_bytes: 100,
        max_body_bytes: 4096,
        ..EngineConfig::default()
    };
    let s = serve(config, true, false).await;
    let e = "/v1/embeddings";
    assert_error(
        &s.post(e, "{\"input\": [\"a\",").await,
        400,
        "invalid_request_error",
        None,
    );
    assert_error(
        &s.post_json(e, json!({"input": ""})).await,
        400,
        "invalid_request_error",
        Some("input"),
    );
    assert_error(
        &s.post_json(e, json!({"input": []})).await,
        400,
        "invalid_request_error",
        Some("input"),
    );
    assert_error(
        &s.post_json(e, json!({"model": "x"})).await,
        400,
        "invalid_request_error",
        Some("input"),
    );
    assert_error(
        &s.post_json(e, json!({"input": ["a", "b", "c", "d", "e"]}))
            .await,
        400,
        "invalid_request_error",
        Some("input"),
    );
    assert_error(
        &s.post_json(e, json!({"input": "x".repeat(101)})).await,
        400,
        "invalid_request_error",
        Some("input"),
    );
    assert_error(
        &s.post_json(e, json!({"input": [[1, 2]]})).await,
        400,
        "invalid_request_error",
        Some("input[0]"),
    );
    assert_error(
        &s.post_json(e, json!({"input": "a", "dimensions": 512}))
            .await,
        400,
        "invalid_request_error",
        Some("dimensions"),
    );
    let too_big = s.post_json(e, json!({"input": "x".repeat(5000)})).await;
    assert_error(&too_big, 413, "invalid_request_error", None);
    assert_eq!(too_big.1["error"]["code"], "request_too_large");
    let unknown = s
        .post_json(e, json!({"model": "text-embedding-3-small", "input": "a"}))
        .await;
    assert_error(&unknown, 404, "invalid_request_error", Some("model"));
    assert_eq!(unknown.1["error"]["code"], "model_not_found");
    // No chat model is served here.
    let chat = s
        .post_json(
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_error(&chat, 404, "invalid_request_error", Some("model"));
}

#[tokio::test]
async fn concurrent_embedding_requests_are_batched() {
    let config = EngineConfig {
        embed_batch_window: Duration::from_millis(50),
        ..EngineConfig::default()
    };
    let s = serve(config, true, false).await;
    let texts = (0..24)
        .map(|i| format!("request number {i} about batching"))
        .collect::<Vec<_>>();
    let tasks = texts
        .iter()
        .map(|t| s.post_json("/v1/embeddings", json!({"input": t})))
        .collect::<Vec<_>>();
    let results = join_all(tasks).await;
    let direct = embedder().embed(&texts).unwrap();
    for (i, (status, body)) in results.into_iter().enumerate() {
        assert_eq!(status, 200, "{body}");
        let r: EmbeddingsResponse = serde_json::from_value(body).unwrap();
        let EmbeddingValue::Float(v) = &r.data[0].embedding else {
            panic!()
        };
        assert!(
            cosine(v, &direct.vectors[i]) > 0.999_99,
            "request {i} got another's vector"
        );
    }
    let stats = s.engine.stats();
    assert_eq!(stats.embed_requests, 24);
    assert!(
        stats.embed_batches < 24,
        "no request was batched: {stats:?}"
    );
}

#[tokio::test]
async fn chat_route_answers_like_openai() {
    let s = serve(EngineConfig::default(), false, true).await;
    let body = json!({
        "model": "smollm2-135m",
        "messages": [{"role": "user", "content": "Explain why the sky is blue."}],
        "max_tokens": 24,
        "temperature": 0,
    });
    let (status, a) = s.post_json("/v1/chat/completions", body.clone()).await;
    assert_eq!(status, 200, "{a}");
    let (_, b) = s.post_json("/v1/chat/completions", body).await;
    let a: ChatResponse = serde_json::from_value(a).unwrap();
    let b: ChatResponse = serde_json::from_value(b).unwrap();
    assert_eq!(a.object, "chat.completion");
    assert!(a.id.starts_with("chatcmpl-") && a.id != b.id);
    assert_eq!(a.choices.len(), 1);
    let c = &a.choices[0];
    assert_eq!(c.message.role, "assistant");
    assert!(
        c.message.content.starts_with("The sky is blue"),
        "{:?}",
        c.message.content
    );
    assert_eq!(
        c.message.content, b.choices[0].message.content,
        "greedy answers differ"
    );
    assert!(c.finish_reason == "stop" || c.finish_reason == "length");
    let direct = crate::common::chat_model()
        .chat(
            &[inference::Message::new(
                inference::Role::User,
                "Explain why the sky is blue.",
            )],
            &inference::GenerateParams {
                max_tokens: 24,
                decoding: inference::Decoding::Greedy,
                stop: vec![],
            },
        )
        .unwrap();
    assert_eq!(c.message.content, direct.text);
    assert_eq!(a.usage.prompt_tokens, direct.prompt_tokens);
    assert_eq!(a.usage.completion_tokens, direct.completion_tokens);
    assert_eq!(
        a.usage.total_tokens,
        direct.prompt_tokens + direct.completion_tokens
    );

    // Sampling with a seed is reproducible through the route as well.
    let seeded = json!({
        "messages": [{"role": "user", "content": "Tell me a joke."}],
        "max_tokens": 12, "temperature": 0.9, "top_p": 0.9, "seed": 42,
    });
    let (_, x) = s.post_json("/v1/chat/completions", seeded.clone()).await;
    let (_, y) = s.post_json("/v1/chat/completions", seeded).await;
    assert_eq!(
        x["choices"][0]["message"]["content"],
        y["choices"][0]["message"]["content"]
    );

    for (body, param) in [
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stream": true}),
            "stream",
        ),
        (json!({"messages": []}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            "max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100_000}),
            "max_tokens",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": -1}),
            "temperature",
        ),
        (
            json!({"messages": [{"role": "function", "content": "x"}]}),
            "messages[0].role",
        ),
    ] {
        let got = s.post_json("/v1/chat/completions", body).await;
        assert_error(&got, 400, "invalid_request_error", Some(param));
    }
    assert_error(
        &s.post("/v1/chat/completions", "nope").await,
        400,
        "invalid_request_error",
        None,
    );
}

#[tokio::test]
async fn a_full_queue_answers_503() {
    let config = EngineConfig {
        chat_workers: 1,
        chat_queue: 1,
        ..EngineConfig::default()
    };
    let s = serve(config, false, true).await;
    let body = json!({
        "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
        "max_tokens": 48,
        "temperature": 0,
    });
    let tasks = (0..6)
        .map(|_| s.post_json("/v1/chat/completions", body.clone()))
        .collect::<Vec<_>>();
    let results = join_all(tasks).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let busy = results.iter().filter(|r| r.0 == 503).collect::<Vec<_>>();
    // One runs, one waits, the others find the queue full.
    assert!((1..=2).contains(&ok), "{ok} succeeded");
    assert_eq!(ok + busy.len(), 6);
    for b in busy {
        assert_error(b, 503, "server_error", None);
        assert_eq!(b.1["error"]["code"], "overloaded");
    }
    assert!(s.engine.stats().busy >= 4);
}
