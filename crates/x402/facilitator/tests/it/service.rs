//! `Service`: whole `/verify` bodies (v2, v1 normalised) routed by network to a backend that
//! verifies against a dev-genesis ledger state; and the HTTP router over real HTTP.

use std::{
    future::Future,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use alloy_primitives::Address;
use proptest::prelude::*;
use serde_json::{Value, json};
use x402_facilitator::{Service, SnapshotBackend};
use x402_types::{VerifyRequest, VerifyResponse};

use crate::common::*;

fn service() -> Service {
    Service::new().with(Arc::new(SnapshotBackend {
        view: state(),
        now_secs: NOW,
    }))
}

/// Polls a future that never waits.
fn ready<T>(f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the state backend never waits"),
    }
}

fn v2_body() -> Value {
    let req = requirements();
    serde_json::to_value(VerifyRequest::new_v2(&pay(&req), &req).unwrap()).unwrap()
}

/// The v2 body in v1 shape (named by the ledger's CAIP-2 id: it has no v1 name).
fn v1_body(max_amount: &str) -> Value {
    let v2 = v2_body();
    let req = &v2["paymentRequirements"];
    json!({
        "x402Version": 1,
        "paymentPayload": {
            "x402Version": 1, "scheme": "exact", "network": req["network"],
            "payload": v2["paymentPayload"]["payload"],
        },
        "paymentRequirements": {
            "scheme": "exact", "network": req["network"], "maxAmountRequired": max_amount,
            "asset": req["asset"], "payTo": req["payTo"], "resource": "http://127.0.0.1/r",
            "description": "", "mimeType": "", "maxTimeoutSeconds": 60, "extra": req["extra"],
        },
    })
}

fn verify(body: &Value) -> VerifyResponse {
    ready(service().verify(&serde_json::from_value(body.clone()).unwrap()))
}

#[test]
fn v2_and_v1_requests_verify() {
    assert!(verify(&v2_body()).is_valid);
    let price = requirements().amount.to_string();
    assert!(verify(&v1_body(&price)).is_valid);
    // v1 "meets or exceeds": a lower price is fine, a higher one is refused with v1's reason.
    assert!(verify(&v1_body("1")).is_valid);
    let over = (requirements().amount.0 + alloy_primitives::U256::from(1)).to_string();
    let answer = verify(&v1_body(&over));
    assert_eq!(
        answer
            .invalid_reason
            .map(|r| r.as_str().to_owned())
            .as_deref(),
        Some("invalid_exact_evm_payload_authorization_value")
    );
    // A v1 payload naming another network than its requirement.
    let mut body = v1_body(&price);
    body["paymentPayload"]["network"] = json!("base");
    assert_rejected(&verify(&body), "invalid_exact_evm_network_mismatch");
}

#[test]
fn one_pass_decoding_answers_as_the_general_path() {
    let good = serde_json::to_vec(&v2_body()).unwrap();
    let answer = ready(service().verify_json(&good)).unwrap();
    assert!(answer.is_valid);
    let mut other = v2_body();
    other["paymentPayload"]["payload"]["authorization"]["value"] = json!("1");
    let bytes = serde_json::to_vec(&other).unwrap();
    assert_eq!(
        ready(service().verify_json(&bytes)).unwrap(),
        verify(&other)
    );
    assert!(ready(service().verify_json(b"{")).is_err());
    assert!(!ready(service().settle_json(&good)).unwrap().success);
}

#[test]
fn routing_versions_and_shapes() {
    let mut body = v2_body();
    body["paymentRequirements"]["network"] = json!("eip155:1");
    assert_rejected(&verify(&body), "invalid_network");
    let mut body = v2_body();
    body["x402Version"] = json!(3);
    assert_rejected(&verify(&body), "invalid_x402_version");
    let mut body = v2_body();
    body["paymentRequirements"] = json!({"scheme": 1});
    assert_rejected(&verify(&body), "invalid_payment_requirements");
    let mut body = v2_body();
    body["paymentPayload"] = json!([]);
    assert_rejected(&verify(&body), "invalid_payload");

    let s = service().supported();
    assert_eq!(s.kinds.len(), 1);
    assert_eq!(s.kinds[0].network, format!("eip155:{CHAIN_ID}"));
    assert_eq!(s.signers["eip155:*"], [Address::ZERO.to_checksum(None)]);
}

#[tokio::test]
async fn the_router_answers_over_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = x402_facilitator::router(Arc::new(service()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let v: Value = http
        .post(format!("{url}/verify"))
        .json(&v2_body())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["isValid"], true, "{v}");
    let r = http
        .post(format!("{url}/verify"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{url}/settle"))
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = http
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["networks"], json!([format!("eip155:{CHAIN_ID}")]));
    let v: Value = http
        .get(format!("{url}/supported"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["kinds"][0]["scheme"], "exact");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes as a `/verify` body: decoding, v1 normalisation, routing and verification
    /// never panic, and the answer is well-formed.
    #[test]
    fn whole_bodies_never_panic(
        version in prop_oneof![Just(1u8), Just(2u8), any::<u8>()],
        payload in crate::props::arb_json(),
        requirements in crate::props::arb_json(),
    ) {
        let body = json!({"x402Version": version, "paymentPayload": payload, "paymentRequirements": requirements});
        let bytes = serde_json::to_vec(&body).unwrap();
        if let Ok(request) = serde_json::from_value::<VerifyRequest>(body) {
            let answer = ready(service().verify(&request));
            // The one-pass typed decoding answers exactly as the general path.
            prop_assert_eq!(&ready(service().verify_json(&bytes)).unwrap(), &answer);
            prop_assert_eq!(answer.is_valid, answer.invalid_reason.is_none());
            prop_assert!(!answer.is_valid);
            prop_assert!(!ready(service().settle(&request)).success);
        }
    }
}
