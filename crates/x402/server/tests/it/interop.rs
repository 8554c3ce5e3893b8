//! Interop with the x402 TypeScript SDK 2.27 (`interop/x402/*.mjs`): the reference client
//! pays Symbiont's paywall, Symbiont's client pays the reference Express server, and the
//! reference server refuses bad payments with the canonical reasons given by Symbiont's
//! facilitator — settling on the dev node's ledger, money moving exactly once.

use alloy_primitives::Address;
use ledger::genesis::DEV_USD_NAME;
use serde_json::Value;
use test_utils::{NodeProcess, run_node, spawn_node};
use wallet::PrivateKey;
use x402_client::SpendControls;
use x402_types::{TokenAmount, exact, header as codec, v2::PaymentRequirements};

use crate::common::*;

/// The reference Express server selling `/weather` for `amount` to `pay_to`, with `dev`'s
/// facilitator.
fn reference_server(chain: &DevNode, pay_to: Address, amount: u64) -> (NodeProcess, String) {
    let server = spawn_node(
        "x402/server.mjs",
        &[
            &format!("{}/x402", chain.url),
            &network().to_string(),
            &usd().to_checksum(None),
            &pay_to.to_checksum(None),
            &amount.to_string(),
            DEV_USD_NAME,
            "1",
        ],
    )
    .unwrap();
    let port = serde_json::from_str::<Value>(&server.ready).unwrap()["port"]
        .as_u64()
        .unwrap();
    (server, format!("http://127.0.0.1:{port}/weather"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_client_pays_a_symbiont_paywall() {
    let chain = start_node().await;
    let payer = dev(2);
    let payee = dev(8).address(); // the demo route's payee
    let (payer0, payee0) = (
        chain.usd_balance(payer.address()).await,
        chain.usd_balance(payee).await,
    );
    let url = format!("{}/demo/paid", chain.url);
    let key = format!("0x{}", payer.to_hex().as_str());
    let out = tokio::task::spawn_blocking(move || {
        run_node(
            "x402/pay.mjs",
            &[
                &url,
                &key,
                &network().to_string(),
                &usd().to_checksum(None),
                "50000",
            ],
        )
    })
    .await
    .unwrap()
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert!(
        v["body"]
            .as_str()
            .unwrap()
            .contains("hello from a paid route")
    );
    assert_eq!(v["receipt"]["success"], true, "{v}");
    assert_eq!(
        v["receipt"]["payer"],
        payer.address().to_checksum(None).as_str()
    );
    assert_eq!(
        chain.usd_balance(payer.address()).await,
        payer0 - u128::from(node::demo::DEMO_PRICE)
    );
    assert_eq!(
        chain.usd_balance(payee).await,
        payee0 + u128::from(node::demo::DEMO_PRICE)
    );
    chain.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_symbiont_client_pays_a_reference_server() {
    let chain = start_node().await;
    let payee = PrivateKey::random().address();
    let (_server, url) = reference_server(&chain, payee, 1234);
    let payer0 = chain.usd_balance(dev(3).address()).await;
    let paid = client(3, SpendControls::default()).get(&url).await.unwrap();
    assert_eq!(paid.response.status(), 200);
    let receipt = paid.receipt.clone().unwrap();
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(receipt.network, network().to_string());
    let body: Value = paid.response.json().await.unwrap();
    assert_eq!(body["report"]["weather"], "sunny");
    assert_eq!(chain.usd_balance(payee).await, 1234);
    assert_eq!(chain.usd_balance(dev(3).address()).await, payer0 - 1234);
    chain.node.shutdown().await.unwrap();
}

/// The requirement the reference server sends (read from its 402, echoed verbatim).
async fn offered(url: &str) -> PaymentRequirements {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 402);
    let c =
        codec::decode_payment_required(r.headers()["payment-required"].to_str().unwrap()).unwrap();
    c.accepts[0].clone()
}

/// Sends `header` as `PAYMENT-SIGNATURE`; the status and the 402's `error`.
async fn send(url: &str, header: &str) -> (u16, Option<String>) {
    let r = reqwest::Client::new()
        .get(url)
        .header("PAYMENT-SIGNATURE", header)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let error = r
        .headers()
        .get("payment-required")
        .and_then(|h| codec::decode_payment_required(h.to_str().unwrap()).ok())
        .and_then(|c| c.error);
    (status, error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_payments_get_the_canonical_reason_and_move_nothing() {
    let chain = start_node().await;
    let payee = PrivateKey::random().address();
    let (_server, url) = reference_server(&chain, payee, PRICE);
    let req = offered(&url).await;
    let domain = exact::domain_for(&req).unwrap();
    let payer = dev(1);
    let payer0 = chain.usd_balance(payer.address()).await;
    let now = node::app::now_secs();
    let header = |auth, signer: &PrivateKey, domain| {
        codec::encode_payment_signature(&signed(&req, auth, signer, domain)).unwrap()
    };
    let poor = PrivateKey::random();
    let wrong_domain = exact::domain("USD Coin", "1", node::dev::DEV_CHAIN_ID, usd());
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong amount",
            header(
                exact::Authorization {
                    value: TokenAmount::from(PRICE - 1),
                    ..authorization(&req, 0x01)
                },
                &payer,
                &domain,
            ),
            "invalid_exact_evm_authorization_value",
        ),
        (
            "wrong payee",
            header(
                exact::Authorization {
                    to: dev(6).address(),
                    ..authorization(&req, 0x02)
                },
                &payer,
                &domain,
            ),
            "invalid_exact_evm_recipient_mismatch",
        ),
        (
            "expired",
            header(
                exact::Authorization {
                    valid_before: TokenAmount::from(now - 1),
                    ..authorization(&req, 0x03)
                },
                &payer,
                &domain,
            ),
            "invalid_exact_evm_payload_authorization_valid_before",
        ),
        (
            "not yet valid",
            header(
                exact::Authorization {
                    valid_after: TokenAmount::from(now + 3600),
                    ..authorization(&req, 0x04)
                },
                &payer,
                &domain,
            ),
            "invalid_exact_evm_payload_authorization_valid_after",
        ),
        (
            "bad signature",
            header(authorization(&req, 0x05), &dev(4), &domain),
            "invalid_exact_evm_signature",
        ),
        (
            "wrong EIP-712 domain name",
            header(authorization(&req, 0x06), &payer, &wrong_domain),
            "invalid_exact_evm_signature",
        ),
        (
            "insufficient balance",
            header(
                exact::Authorization {
                    from: poor.address(),
                    ..authorization(&req, 0x07)
                },
                &poor,
                &domain,
            ),
            "invalid_exact_evm_insufficient_balance",
        ),
    ];
    for (case, header, reason) in &cases {
        let (status, error) = send(&url, header).await;
        assert_eq!(status, 402, "{case}");
        assert_eq!(error.as_deref(), Some(*reason), "{case}");
    }
    // A malformed header is refused before reaching the facilitator.
    let (status, _) = send(&url, "definitely not base64 JSON").await;
    assert!((400..500).contains(&status), "malformed: {status}");
    assert_eq!(chain.usd_balance(payer.address()).await, payer0);
    assert_eq!(chain.usd_balance(payee).await, 0);

    // A good payment settles once; its replay is refused.
    let good = header(authorization(&req, 0x08), &payer, &domain);
    assert_eq!(send(&url, &good).await.0, 200);
    let (status, error) = send(&url, &good).await;
    assert_eq!(status, 402);
    assert_eq!(
        error.as_deref(),
        Some("invalid_exact_evm_nonce_already_used")
    );
    assert_eq!(
        chain.usd_balance(payer.address()).await,
        payer0 - u128::from(PRICE)
    );
    assert_eq!(chain.usd_balance(payee).await, u128::from(PRICE));
    chain.node.shutdown().await.unwrap();
}
