//! The x402 facilitator endpoints (`/x402/*`) settling on the node's ledger.

use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes};
use ledger::{Asset, genesis::DEV_USD_NAME};
use serde_json::{Value, json};
use wallet::PrivateKey;
use x402_types::{
    Network, TokenAmount, VerifyRequest,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{Extra, PaymentPayload, PaymentRequirements},
};

use crate::common::*;

const FAST: Duration = Duration::from_millis(100);
const PRICE: u64 = 10_000;

fn usd() -> Address {
    Asset::derive_id(addr(0), DEV_USD_NAME)
}

fn requirements() -> PaymentRequirements {
    PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(CHAIN_ID),
        amount: TokenAmount::from(PRICE),
        asset: usd().to_checksum(None),
        pay_to: addr(2).to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712(DEV_USD_NAME, "1"),
    }
}

/// A request paying `req` by key 1, signed by `signer`, with authorization nonce `nonce`.
fn request(req: &PaymentRequirements, signer: &PrivateKey, nonce: u8) -> Value {
    let now = node::app::now_secs();
    let auth = Authorization {
        from: addr(1),
        to: req.pay_to.parse().unwrap(),
        value: req.amount,
        valid_after: TokenAmount::from(now - 60),
        valid_before: TokenAmount::from(now + 300),
        nonce: B256::repeat_byte(nonce),
    };
    let domain = exact::domain(DEV_USD_NAME, "1", CHAIN_ID, usd());
    let sig = signer.sign_hash(&auth.signing_hash(&domain)).unwrap();
    let exact = ExactEvmPayload {
        signature: Bytes::copy_from_slice(&sig.to_bytes()),
        authorization: auth,
    };
    let payload = PaymentPayload::new(req, None, &exact).unwrap();
    serde_json::to_value(VerifyRequest::new_v2(&payload, req).unwrap()).unwrap()
}

async fn usd_balance(n: &TestNode, a: Address) -> u128 {
    let (_, v) = n.get(&format!("/v1/accounts/{a}")).await;
    let key = format!("{:#x}", usd());
    let balances = v["balances"].as_object().unwrap();
    balances
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        .map_or(0, |(_, b)| b.as_str().unwrap().parse().unwrap())
}

async fn post_json(n: &TestNode, path: &str, body: &Value) -> (u16, Value) {
    let (s, v, _) = n.post(path, serde_json::to_vec(body).unwrap()).await;
    (s, v)
}

#[tokio::test]
async fn supported_names_the_kind_and_the_signer() {
    let n = start(FAST, 1000).await;
    let (s, v) = n.get("/x402/supported").await;
    assert_eq!(s, 200);
    assert_eq!(v["kinds"][0]["x402Version"], 2);
    assert_eq!(v["kinds"][0]["scheme"], "exact");
    assert_eq!(v["kinds"][0]["network"], format!("eip155:{CHAIN_ID}"));
    let relayer = node::dev::dev_key(9).unwrap().address().to_checksum(None);
    assert_eq!(v["signers"]["eip155:*"][0], relayer.as_str());
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn verify_then_settle_moves_the_amount_once() {
    let n = start(FAST, 1000).await;
    let req = requirements();
    let body = request(&req, &key(1), 0x01);
    let (payer0, payee0) = (
        usd_balance(&n, addr(1)).await,
        usd_balance(&n, addr(2)).await,
    );

    let (s, v) = post_json(&n, "/x402/verify", &body).await;
    assert_eq!(s, 200);
    assert_eq!(v["isValid"], true, "{v}");
    assert_eq!(v["payer"], addr(1).to_checksum(None).as_str());

    let (s, v) = post_json(&n, "/x402/settle", &body).await;
    assert_eq!(s, 200);
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["network"], format!("eip155:{CHAIN_ID}"));
    assert_eq!(v["payer"], addr(1).to_checksum(None).as_str());
    let tx = v["transaction"].as_str().unwrap();
    let status = n.committed(tx).await;
    assert_eq!(status["receipt"]["status"], "success", "{status}");

    assert_eq!(usd_balance(&n, addr(1)).await, payer0 - u128::from(PRICE));
    assert_eq!(usd_balance(&n, addr(2)).await, payee0 + u128::from(PRICE));
    // The activity lists the settlement with the facilitator's latency.
    let (_, activity) = n.get("/v1/activity?blocks=0&txs=5").await;
    let listed = &activity["txs"][0];
    assert_eq!(listed["hash"], tx, "{activity}");
    assert_eq!(listed["call"]["type"], "transferWithAuthorization");
    assert!(listed["settleMs"].as_u64().is_some(), "{activity}");

    // Replays are refused, on verify and on settle.
    let (_, v) = post_json(&n, "/x402/verify", &body).await;
    assert_eq!(v["invalidReason"], "invalid_exact_evm_nonce_already_used");
    let (_, v) = post_json(&n, "/x402/settle", &body).await;
    assert_eq!(v["success"], false);
    assert_eq!(v["errorReason"], "invalid_exact_evm_nonce_already_used");
    assert_eq!(usd_balance(&n, addr(1)).await, payer0 - u128::from(PRICE));
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_settlements_of_one_authorization_settle_once() {
    let n = start(FAST, 1000).await;
    let req = requirements();
    let body = request(&req, &key(1), 0x02);
    let (payer0, payee0) = (
        usd_balance(&n, addr(1)).await,
        usd_balance(&n, addr(2)).await,
    );
    let url = format!("{}/x402/settle", n.url);
    let answers = futures_util::future::join_all((0..5).map(|_| {
        let (http, url, body) = (n.http.clone(), url.clone(), body.clone());
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            r.json::<Value>().await.unwrap()
        }
    }))
    .await;
    let ok = answers.iter().filter(|v| v["success"] == true).count();
    assert_eq!(ok, 1, "{answers:?}");
    for v in answers.iter().filter(|v| v["success"] != true) {
        assert_eq!(
            v["errorReason"], "invalid_exact_evm_nonce_already_used",
            "{v}"
        );
    }
    assert_eq!(usd_balance(&n, addr(1)).await, payer0 - u128::from(PRICE));
    assert_eq!(usd_balance(&n, addr(2)).await, payee0 + u128::from(PRICE));

    // The relayer's nonces stay in step: a second payment settles too.
    let (_, v) = post_json(&n, "/x402/settle", &request(&req, &key(1), 0x03)).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(
        usd_balance(&n, addr(2)).await,
        payee0 + 2 * u128::from(PRICE)
    );
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_bad_signature_is_rejected_and_moves_nothing() {
    let n = start(FAST, 1000).await;
    let req = requirements();
    let body = request(&req, &key(3), 0x04); // signed by key 3, claims key 1
    let (payer0, payee0) = (
        usd_balance(&n, addr(1)).await,
        usd_balance(&n, addr(2)).await,
    );
    let (s, v) = post_json(&n, "/x402/verify", &body).await;
    assert_eq!(s, 200);
    assert_eq!(v["isValid"], false);
    assert_eq!(v["invalidReason"], "invalid_exact_evm_signature");
    let (s, v) = post_json(&n, "/x402/settle", &body).await;
    assert_eq!(s, 200);
    assert_eq!(v["success"], false);
    assert_eq!(v["errorReason"], "invalid_exact_evm_signature");
    assert_eq!(v["transaction"], "");
    tokio::time::sleep(FAST * 3).await;
    assert_eq!(usd_balance(&n, addr(1)).await, payer0);
    assert_eq!(usd_balance(&n, addr(2)).await, payee0);
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let n = start(FAST, 1000).await;
    for path in ["/x402/verify", "/x402/settle"] {
        for body in ["{", "[]", "{\"x402Version\":2}"] {
            let (s, v, _) = n.post(path, body).await;
            assert_eq!(s, 400, "{path} {body}: {v}");
            assert_eq!(v["code"], "malformed");
        }
        // Well-formed but not a v2 payment: a 200 rejection.
        let (s, v) = post_json(
            &n,
            path,
            &json!({"x402Version": 2, "paymentPayload": {}, "paymentRequirements": {}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["isValid"].as_bool().or(v["success"].as_bool()),
            Some(false)
        );
    }
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_names_the_network() {
    let n = start(FAST, 1000).await;
    let (s, v) = n.get("/x402/health").await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["networks"][0], format!("eip155:{CHAIN_ID}"));
    n.node.shutdown().await.unwrap();
}

/// `req` as a v1 request paying `value` (v1 names the network; the ledger's has no v1 name,
/// so it is spelled in CAIP-2).
fn v1_request(req: &PaymentRequirements, value: u64, nonce: u8) -> Value {
    let mut paid = req.clone();
    paid.amount = TokenAmount::from(value);
    let v2 = request(&paid, &key(1), nonce);
    json!({
        "x402Version": 1,
        "paymentPayload": {
            "x402Version": 1,
            "scheme": "exact",
            "network": req.network.to_string(),
            "payload": v2["paymentPayload"]["payload"],
        },
        "paymentRequirements": {
            "scheme": "exact",
            "network": req.network.to_string(),
            "maxAmountRequired": req.amount.to_string(),
            "asset": req.asset,
            "payTo": req.pay_to,
            "resource": "http://127.0.0.1/paid",
            "description": "",
            "mimeType": "application/json",
            "maxTimeoutSeconds": 60,
            "extra": {"name": DEV_USD_NAME, "version": "1"},
        },
    })
}

#[tokio::test]
async fn v1_payments_meet_or_exceed_the_price() {
    let n = start(FAST, 1000).await;
    let req = requirements();
    let payee0 = usd_balance(&n, addr(2)).await;

    // Below the price: the v1 reason, nothing moves.
    let (s, v) = post_json(&n, "/x402/settle", &v1_request(&req, PRICE - 1, 0x20)).await;
    assert_eq!(s, 200);
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(
        v["errorReason"],
        "invalid_exact_evm_payload_authorization_value"
    );

    // Above the price: settled as signed ("meets or exceeds").
    let body = v1_request(&req, PRICE + 5, 0x21);
    let (_, v) = post_json(&n, "/x402/verify", &body).await;
    assert_eq!(v["isValid"], true, "{v}");
    let (_, v) = post_json(&n, "/x402/settle", &body).await;
    assert_eq!(v["success"], true, "{v}");
    assert_eq!(v["network"], req.network.to_string());
    assert_eq!(
        usd_balance(&n, addr(2)).await,
        payee0 + u128::from(PRICE + 5)
    );
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_slow_block_answers_settlement_pending_with_the_hash() {
    // Blocks every 3 s, settlements wait 200 ms.
    let n = start_with(Duration::from_secs(3), 1000, |c| {
        c.settle_timeout = Duration::from_millis(200);
    })
    .await;
    let req = requirements();
    let payee0 = usd_balance(&n, addr(2)).await;
    let (s, v) = post_json(&n, "/x402/settle", &request(&req, &key(1), 0x30)).await;
    assert_eq!(s, 200);
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["errorReason"], "settlement_pending");
    let tx = v["transaction"].as_str().unwrap();
    assert!(tx.starts_with("0x") && tx.len() == 66, "{v}");
    // The pending transaction lands in the next block: paid exactly once.
    let status = n.committed(tx).await;
    assert_eq!(status["receipt"]["status"], "success", "{status}");
    assert_eq!(usd_balance(&n, addr(2)).await, payee0 + u128::from(PRICE));
    n.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_node_without_a_relayer_serves_no_network() {
    let n = start_with(FAST, 1000, |c| c.facilitator_key = None).await;
    let (_, v) = n.get("/x402/supported").await;
    assert_eq!(v["kinds"], json!([]));
    let (s, v) = post_json(&n, "/x402/verify", &request(&requirements(), &key(1), 0x40)).await;
    assert_eq!(s, 200);
    assert_eq!(v["invalidReason"], "invalid_network", "{v}");
    n.node.shutdown().await.unwrap();
}
