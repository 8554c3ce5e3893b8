//! The validator's probe over real HTTP against miners that behave honestly, slowly, wrongly
//! or replay cached answers; the scores that follow rank them as the subnet should.
//!
//! The "model" here is a deterministic stand-in (a vector derived from the input's hash)
//! shared by the honest test miners and the validator, so the test isolates the probe and the
//! scoring; the devnet runs the same probe with all-MiniLM-L6-v2 on both sides.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use subnet::{
    scoring::Scoring,
    validator::{challenges, probe_embeddings},
};

fn embed(s: &str) -> Vec<f32> {
    let h = ledger::keccak256(s.as_bytes());
    let v: Vec<f32> = h.0.iter().take(16).map(|b| f32::from(*b) - 127.5).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

#[derive(Clone, Copy)]
enum Behaviour {
    Honest,
    Slow,
    Wrong,
    Replay,
}

async fn miner(b: Behaviour) -> String {
    let app = Router::new().route(
        "/v1/embeddings",
        post(move |Json(req): Json<Value>| async move {
            let input = req["input"][0].as_str().unwrap_or("").to_owned();
            let v = match b {
                Behaviour::Honest => embed(&input),
                Behaviour::Slow => {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    embed(&input)
                }
                Behaviour::Wrong => embed(&format!("not {input}")),
                // Answers with what it computed for an input it saw before.
                Behaviour::Replay => embed("An earlier challenge."),
            };
            Json(json!({ "object": "list", "data": [{ "object": "embedding", "index": 0, "embedding": v }] }))
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{a}")
}

#[tokio::test]
async fn honest_miners_score_and_cheaters_do_not() {
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Slow,
        Behaviour::Wrong,
        Behaviour::Replay,
    ];
    let mut endpoints = Vec::new();
    for b in behaviours {
        endpoints.push(miner(b).await);
    }
    endpoints.push("http://127.0.0.1:1".into()); // down
    let http = reqwest::Client::new();
    let inputs = challenges(42, 6);
    let reference: Vec<Vec<f32>> = inputs.iter().map(|s| embed(s)).collect();
    let mut observations = Vec::new();
    for (uid, e) in endpoints.iter().enumerate() {
        let o = probe_embeddings(
            &http,
            uid as u16,
            e,
            "m",
            &inputs,
            &reference,
            Duration::from_secs(2),
        )
        .await;
        assert_eq!(o.total, 6);
        observations.push(o);
    }
    let correct: Vec<u32> = observations.iter().map(|o| o.correct).collect();
    assert_eq!(correct, vec![6, 6, 0, 0, 0]);
    let weights = Scoring {
        reference_latency_us: 20_000,
    }
    .weights(&observations);
    assert_eq!(weights.len(), 2, "{weights:?}");
    assert_eq!(weights[0], (0, u16::MAX));
    assert!(
        weights[1].0 == 1 && weights[1].1 < u16::MAX / 2,
        "slow scores lower: {weights:?}"
    );
}
