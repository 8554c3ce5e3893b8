//! The gateway's forwarding over real HTTP: traffic goes to healthy miners by incentive, a
//! failing or unreachable miner is retried elsewhere and marked unhealthy, a client error is
//! returned without retry, no miner → 503; unpaid requests get the x402 challenge with the
//! subnet's revenue account as `payTo`.
//!
//! The miners here are small axum servers that behave well or badly on purpose (fault
//! injection); the devnet test runs the gateway in front of real model-serving miners.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Json, Router, http::StatusCode, routing::post};
use serde_json::{Value, json};
use subnet::{
    gateway::{Gateway, GatewayConfig, PriceUnit, token_bound},
    routing::Candidate,
};
use x402_types::{
    Network, TokenAmount,
    v2::{Extra, PaymentRequirements},
};

async fn serve(app: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    a
}

/// A miner that answers with its name, or fails with `status`.
async fn miner(name: &'static str, status: StatusCode) -> String {
    let app = Router::new().route(
        "/v1/embeddings",
        post(move |Json(body): Json<Value>| async move {
            if body["input"] == "bad" {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": {"message": "bad input"}})),
                );
            }
            (
                status,
                Json(json!({ "miner": name, "echo": body["input"] })),
            )
        }),
    );
    format!("http://{}", serve(app).await)
}

fn price() -> PaymentRequirements {
    PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(31_337),
        amount: TokenAmount::from(1_000u64),
        asset: ledger::Address::repeat_byte(0x11).to_checksum(None),
        pay_to: ledger::subnet::revenue_account(1).to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712("Devnet USD", "1"),
    }
}

fn gateway() -> Arc<Gateway> {
    gateway_per(PriceUnit::Request)
}

fn gateway_per(unit: PriceUnit) -> Arc<Gateway> {
    Gateway::new(GatewayConfig {
        netuid: 1,
        node_url: "http://127.0.0.1:1".into(),
        price: price(),
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        deferred: None,
        unit,
    })
    .unwrap()
}

fn candidate(uid: u16, endpoint: &str, incentive: u16) -> Candidate {
    Candidate {
        uid,
        endpoint: endpoint.into(),
        incentive,
        healthy: true,
    }
}

#[tokio::test]
async fn forwards_by_incentive_and_retries_past_failing_miners() {
    let good = miner("good", StatusCode::OK).await;
    let other = miner("other", StatusCode::OK).await;
    let broken = miner("broken", StatusCode::INTERNAL_SERVER_ERROR).await;
    let gw = gateway();
    gw.set_candidates(vec![
        candidate(1, &good, 40_000),
        candidate(2, &other, 10_000),
        candidate(3, &broken, 60_000),
        candidate(4, "http://127.0.0.1:1", 60_000),
    ]);
    let body = |input: &str| {
        serde_json::to_vec(&json!({ "input": input }))
            .unwrap()
            .into()
    };
    let mut by_name = std::collections::BTreeMap::<String, u32>::new();
    for i in 0..200 {
        let r = gw.forward("/v1/embeddings", body(&format!("x{i}"))).await;
        assert_eq!(r.status(), StatusCode::OK);
        let uid: u16 = r.headers()["x-symbiont-miner"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(uid == 1 || uid == 2, "{uid}");
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        *by_name
            .entry(v["miner"].as_str().unwrap().into())
            .or_default() += 1;
    }
    // The broken and the unreachable miners were marked unhealthy on their first failure.
    let health: Vec<bool> = gw.candidates().iter().map(|c| c.healthy).collect();
    assert_eq!(health, vec![true, true, false, false]);
    assert!(by_name["good"] > by_name["other"] * 2, "{by_name:?}");
    let served = gw.served();
    assert_eq!(served.by_uid.values().sum::<u64>(), 200);
    assert!(!served.by_uid.contains_key(&3));

    // A client error is the client's: returned as is, no retry, the miner stays healthy.
    let r = gw.forward("/v1/embeddings", body("bad")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(gw.candidates()[..2].iter().all(|c| c.healthy));

    // Nobody left: 503 in OpenAI's error shape.
    gw.set_candidates(vec![candidate(3, &broken, 1)]);
    let r = gw.forward("/v1/embeddings", body("y")).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["error"]["code"], "no_miner");
    assert_eq!(gw.served().unavailable, 1);
}

#[tokio::test]
async fn unpaid_requests_get_the_challenge_with_the_revenue_account() {
    let gw = gateway();
    let facilitator = Arc::new(x402_server::HttpFacilitator::new("http://127.0.0.1:1"));
    let addr = serve(gw.app(facilitator)).await;
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/v1/embeddings"))
        .json(&json!({ "input": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 402);
    let header = r.headers()["payment-required"].to_str().unwrap().to_owned();
    let challenge = x402_types::header::decode_payment_required(&header).unwrap();
    assert_eq!(
        challenge.accepts[0].pay_to,
        ledger::subnet::revenue_account(1).to_checksum(None)
    );
    let miners: Value = reqwest::get(format!("http://{addr}/v1/miners"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(miners["netuid"], 1);
}

#[tokio::test]
async fn per_token_prices_charge_an_upper_bound_up_front() {
    let gw = gateway_per(PriceUnit::Token);
    let facilitator = Arc::new(x402_server::HttpFacilitator::new("http://127.0.0.1:1"));
    let addr = serve(gw.app(facilitator)).await;
    let http = reqwest::Client::new();
    let ask = |path: &'static str, body: Value| {
        let http = http.clone();
        async move {
            http.post(format!("http://{addr}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Two inputs: 5 bytes and 300 bytes (read for 256 tokens at most): 261 tokens at 1 000.
    let r = ask(
        "/v1/embeddings",
        json!({ "input": ["hello", "x".repeat(300)] }),
    )
    .await;
    assert_eq!(r.status().as_u16(), 402);
    let h = r.headers()["payment-required"].to_str().unwrap().to_owned();
    let c = x402_types::header::decode_payment_required(&h).unwrap();
    assert_eq!(
        c.accepts[0].amount,
        x402_types::TokenAmount::from(261_000u64)
    );
    // Chat: the messages' bytes plus max_tokens.
    let r = ask(
        "/v1/chat/completions",
        json!({ "messages": [{ "role": "user", "content": "Hi there" }], "max_tokens": 32 }),
    )
    .await;
    let h = r.headers()["payment-required"].to_str().unwrap().to_owned();
    let c = x402_types::header::decode_payment_required(&h).unwrap();
    assert_eq!(
        c.accepts[0].amount,
        x402_types::TokenAmount::from(40_000u64)
    );
    // A body that is not a request is refused before any price: 400, nothing to pay.
    for (path, body) in [
        ("/v1/embeddings", json!({ "input": [] })),
        ("/v1/embeddings", json!({ "input": 7 })),
        ("/v1/chat/completions", json!({ "messages": [] })),
        (
            "/v1/chat/completions",
            json!({ "messages": [{"content": "a"}], "max_tokens": -1 }),
        ),
    ] {
        assert_eq!(ask(path, body).await.status().as_u16(), 400);
    }
    assert_eq!(token_bound("/v1/embeddings", b"{\"input\": \"\"}"), Ok(1));
    assert!(token_bound("/v1/embeddings", b"not json").is_err());
}
