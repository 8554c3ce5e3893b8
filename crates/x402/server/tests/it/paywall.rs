//! The paywall against a real dev node: its ledger settles, its `/x402` facilitator verifies
//! over HTTP (or in process), and `x402-client` pays.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy_primitives::U256;
use axum::{
    Router,
    body::Bytes as Body,
    http::StatusCode,
    routing::{get, post},
};
use node::facilitator::LedgerBackend;
use serde_json::Value;
use x402_client::{Refusal, SpendControls};
use x402_server::{HttpFacilitator, IdempotencyStore, PaymentLayer, Pricing};
use x402_types::{
    Network, TokenAmount, VerifyRequest, header as codec, v1, v2::PaymentRequirements,
};

use crate::common::*;

/// A dev node and a paid API in front of it.
struct Fixture {
    dev: DevNode,
    app_url: String,
    handler_runs: Arc<AtomicUsize>,
}

/// A paid API in front of a dev node, verifying and settling through its `/x402` over HTTP.
async fn fixture() -> Fixture {
    let dev = start_node().await;
    let node_url = dev.url.clone();
    let facilitator = Arc::new(HttpFacilitator::new(format!("{node_url}/x402")));
    let runs = Arc::new(AtomicUsize::new(0));
    let idem = Arc::new(IdempotencyStore::default());
    let counted = Arc::clone(&runs);
    let counted2 = Arc::clone(&runs);
    let double_spender = node_url.clone();
    let app = Router::new()
        .route(
            "/report",
            get(|| async { "paid content" })
                .layer(PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "broken") })
                .layer(PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))),
        )
        .route(
            // Two ways to pay: on a chain this facilitator does not serve, or in Devnet USD.
            "/multi",
            get(|| async { "either" }).layer(PaymentLayer::shared(
                Arc::clone(&facilitator),
                Pricing::fixed([
                    PaymentRequirements {
                        network: Network::eip155(8453),
                        ..price(PRICE)
                    },
                    price(2 * PRICE),
                ]),
            )),
        )
        .route(
            // 100 units per body byte.
            "/echo",
            post(|body: Body| async move { body }).layer(
                PaymentLayer::shared(
                    Arc::clone(&facilitator),
                    Pricing::dynamic(|_, body| {
                        if body.is_empty() {
                            return Err("empty body".into());
                        }
                        Ok(vec![price(100 * body.len() as u64)])
                    }),
                )
                .max_body(1024)
                .idempotency(Arc::clone(&idem), false),
            ),
        )
        .route(
            "/once",
            get(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ran"
            })
            .layer(
                PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))
                    .settle_before_handler(),
            ),
        )
        .route(
            // The handler settles the client's payment itself before the paywall does: the
            // paywall's settlement then fails and the content must not leave.
            "/race",
            get(move |headers: axum::http::HeaderMap| async move {
                counted2.fetch_add(1, Ordering::SeqCst);
                let p =
                    codec::decode_payment_signature(headers["payment-signature"].to_str().unwrap())
                        .unwrap();
                let req: PaymentRequirements = p.requirements().unwrap();
                let body = VerifyRequest::new_v2(&p, &req).unwrap();
                let r: Value = reqwest::Client::new()
                    .post(format!("{double_spender}/x402/settle"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(r["success"], true, "{r}");
                "secret"
            })
            .layer(PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Fixture {
        dev,
        app_url,
        handler_runs: runs,
    }
}

#[tokio::test]
async fn no_payment_gets_the_challenge_in_both_versions() {
    let f = fixture().await;
    let r = reqwest::get(format!("{}/report", f.app_url)).await.unwrap();
    assert_eq!(r.status(), 402);
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("PAYMENT-REQUIRED")
    );
    let challenge =
        codec::decode_payment_required(h["payment-required"].to_str().unwrap()).unwrap();
    assert_eq!(challenge.x402_version, 2);
    assert_eq!(challenge.accepts, vec![price(PRICE)]);
    assert_eq!(challenge.resource.url, format!("{}/report", f.app_url));
    assert_eq!(
        challenge.error.as_deref(),
        Some("PAYMENT-SIGNATURE header is required")
    );
    let body: v1::PaymentRequired = r.json().await.unwrap();
    assert_eq!(body.x402_version, 1);
    assert_eq!(
        body.accepts[0].max_amount_required,
        TokenAmount::from(PRICE)
    );
    assert_eq!(body.accepts[0].network, "eip155:31337");
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_client_pays_and_the_ledger_moves_the_price_once() {
    let f = fixture().await;
    let (payer0, payee0) = (
        f.dev.usd_balance(dev(1).address()).await,
        f.dev.usd_balance(dev(5).address()).await,
    );
    let paid = client(1, SpendControls::default())
        .get(&format!("{}/report", f.app_url))
        .await
        .unwrap();
    assert_eq!(paid.response.status(), 200);
    assert_eq!(paid.response.headers()["cache-control"], "private");
    let receipt = paid.receipt.clone().unwrap();
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(receipt.network, "eip155:31337");
    assert_eq!(
        receipt.payer.as_deref(),
        Some(dev(1).address().to_checksum(None).as_str())
    );
    let payment = paid.payment.clone().unwrap();
    assert_eq!(payment.amount, U256::from(PRICE));
    assert_eq!(paid.response.text().await.unwrap(), "paid content");
    assert_eq!(
        f.dev.usd_balance(dev(1).address()).await,
        payer0 - u128::from(PRICE)
    );
    assert_eq!(
        f.dev.usd_balance(dev(5).address()).await,
        payee0 + u128::from(PRICE)
    );
    // The receipt's transaction is on the ledger.
    let tx: Value = reqwest::get(format!("{}/v1/tx/{}", f.dev.url, receipt.transaction))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tx["status"], "committed", "{tx}");
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failing_handler_is_not_charged() {
    let f = fixture().await;
    let payer0 = f.dev.usd_balance(dev(1).address()).await;
    let paid = client(1, SpendControls::default())
        .get(&format!("{}/fail", f.app_url))
        .await
        .unwrap();
    assert_eq!(paid.response.status(), 500);
    assert!(paid.receipt.is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.dev.usd_balance(dev(1).address()).await, payer0);
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_settlement_never_returns_the_content() {
    let f = fixture().await;
    let payee0 = f.dev.usd_balance(dev(5).address()).await;
    let err = client(1, SpendControls::default())
        .get(&format!("{}/race", f.app_url))
        .await
        .unwrap_err();
    match err {
        x402_client::Error::Refused { reason, receipt } => {
            assert_eq!(reason, "invalid_exact_evm_nonce_already_used");
            assert!(!receipt.unwrap().success);
        }
        other => panic!("{other:?}"),
    }
    // Paid exactly once (by the handler's own settlement), and "secret" never left.
    assert_eq!(
        f.dev.usd_balance(dev(5).address()).await,
        payee0 + u128::from(PRICE)
    );
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_replayed_payment_header_is_refused() {
    let f = fixture().await;
    let header = payment_header(&price(PRICE), 0x51, None);
    let payer0 = f.dev.usd_balance(dev(1).address()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/report", f.app_url);
    let first = http
        .get(&url)
        .header("PAYMENT-SIGNATURE", &header)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = http
        .get(&url)
        .header("PAYMENT-SIGNATURE", &header)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 402);
    let c = codec::decode_payment_required(second.headers()["payment-required"].to_str().unwrap())
        .unwrap();
    assert_eq!(
        c.error.as_deref(),
        Some("invalid_exact_evm_nonce_already_used")
    );
    assert_eq!(
        f.dev.usd_balance(dev(1).address()).await,
        payer0 - u128::from(PRICE)
    );
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_headers_and_bodies_are_refused_before_any_charge() {
    let f = fixture().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/report", f.app_url))
        .header("PAYMENT-SIGNATURE", "not base64 at all!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let c =
        codec::decode_payment_required(r.headers()["payment-required"].to_str().unwrap()).unwrap();
    assert_eq!(c.error.as_deref(), Some("invalid_payload"));

    // A payment for a different price matches no requirement.
    let r = http
        .get(format!("{}/report", f.app_url))
        .header("PAYMENT-SIGNATURE", payment_header(&price(1), 0x52, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 402);
    let c =
        codec::decode_payment_required(r.headers()["payment-required"].to_str().unwrap()).unwrap();
    assert_eq!(c.error.as_deref(), Some("invalid_payment_requirements"));

    // Over the body limit.
    let r = http
        .post(format!("{}/echo", f.app_url))
        .body(vec![b'x'; 2048])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // The price function refuses an empty body.
    let r = http
        .post(format!("{}/echo", f.app_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A preflight is free.
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{}/report", f.app_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("PAYMENT-SIGNATURE")
    );
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn dynamic_prices_follow_the_request_and_the_body_is_replayed() {
    let f = fixture().await;
    let payee0 = f.dev.usd_balance(dev(5).address()).await;
    let c = client(1, SpendControls::default());
    let req = c
        .http()
        .post(format!("{}/echo", f.app_url))
        .body("hello")
        .build()
        .unwrap();
    let paid = c.execute(req).await.unwrap();
    assert_eq!(paid.payment.as_ref().unwrap().amount, U256::from(500u64));
    assert_eq!(paid.response.text().await.unwrap(), "hello");
    assert_eq!(f.dev.usd_balance(dev(5).address()).await, payee0 + 500);
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_payment_identifier_replays_the_receipt_and_never_charges_twice() {
    let f = fixture().await;
    let payer0 = f.dev.usd_balance(dev(1).address()).await;
    let http = reqwest::Client::new();
    let id = "pay_0123456789abcdef0123";
    let header = payment_header(&price(300), 0x61, Some(id));
    let send = |body: &'static str, header: String| {
        let http = http.clone();
        let url = format!("{}/echo", f.app_url);
        async move {
            http.post(url)
                .header("PAYMENT-SIGNATURE", header)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let (a, b) = tokio::join!(send("abc", header.clone()), send("abc", header.clone()));
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let receipts: Vec<String> = [&a, &b]
        .iter()
        .map(|r| r.headers()["payment-response"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(receipts[0], receipts[1], "the same receipt");
    assert_eq!(a.text().await.unwrap(), "abc");
    assert_eq!(b.text().await.unwrap(), "abc");
    // The same id for a different request: 409.
    let c = send("abd", header).await;
    assert_eq!(c.status(), 409);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.dev.usd_balance(dev(1).address()).await, payer0 - 300);

    // The client adds an id when the server declares the extension.
    let paid = client(1, SpendControls::default())
        .execute(
            reqwest::Client::new()
                .post(format!("{}/echo", f.app_url))
                .body("xy")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(paid.response.status(), 200);
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn settle_before_handler_runs_the_handler_only_once_paid() {
    let f = fixture().await;
    let r = reqwest::get(format!("{}/once", f.app_url)).await.unwrap();
    assert_eq!(r.status(), 402);
    assert_eq!(f.handler_runs.load(Ordering::SeqCst), 0);
    let paid = client(2, SpendControls::default())
        .get(&format!("{}/once", f.app_url))
        .await
        .unwrap();
    assert_eq!(paid.response.status(), 200);
    assert!(paid.receipt.unwrap().success);
    assert_eq!(f.handler_runs.load(Ordering::SeqCst), 1);
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn spend_controls_refuse_before_signing() {
    let f = fixture().await;
    let url = format!("{}/report", f.app_url);
    let payer0 = f.dev.usd_balance(dev(3).address()).await;
    let capped = client(
        3,
        SpendControls {
            max_per_payment: Some(U256::from(PRICE - 1)),
            ..SpendControls::default()
        },
    );
    match capped.get(&url).await.unwrap_err() {
        x402_client::Error::NoAcceptablePayment(r) => {
            assert!(matches!(r[0].1, Refusal::OverCap { .. }), "{r:?}")
        }
        e => panic!("{e:?}"),
    }
    let elsewhere = client(
        3,
        SpendControls {
            payees: Some(vec![dev(6).address()]),
            ..SpendControls::default()
        },
    );
    assert!(matches!(
        elsewhere.get(&url).await.unwrap_err(),
        x402_client::Error::NoAcceptablePayment(_)
    ));
    let other_asset = client(
        3,
        SpendControls {
            assets: Some(vec![(Network::eip155(1), usd())]),
            ..SpendControls::default()
        },
    );
    assert!(other_asset.get(&url).await.is_err());
    // A budget of two payments per hour.
    let budget = client(
        3,
        SpendControls {
            budget: Some((U256::from(2 * PRICE), Duration::from_secs(3600))),
            ..SpendControls::default()
        },
    );
    assert_eq!(budget.get(&url).await.unwrap().response.status(), 200);
    assert_eq!(budget.get(&url).await.unwrap().response.status(), 200);
    match budget.get(&url).await.unwrap_err() {
        x402_client::Error::NoAcceptablePayment(r) => {
            assert!(matches!(r[0].1, Refusal::OverBudget { .. }), "{r:?}")
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        f.dev.usd_balance(dev(3).address()).await,
        payer0 - 2 * u128::from(PRICE)
    );
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_v1_payment_settles_with_a_v1_receipt() {
    let f = fixture().await;
    let payee0 = f.dev.usd_balance(dev(5).address()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/report", f.app_url);
    let challenge: v1::PaymentRequired = http.get(&url).send().await.unwrap().json().await.unwrap();
    let req = &challenge.accepts[0];
    let header = payment_header(&price(PRICE), 0x71, None);
    let v2p = codec::decode_payment_signature(&header).unwrap();
    let v1p = v1::PaymentPayload {
        x402_version: 1,
        scheme: req.scheme.clone(),
        network: req.network.clone(),
        payload: v2p.payload,
    };
    let r = http
        .get(&url)
        .header("X-PAYMENT", codec::encode_x_payment(&v1p).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let receipt =
        codec::decode_x_payment_response(r.headers()["x-payment-response"].to_str().unwrap())
            .unwrap();
    assert!(receipt.success, "{receipt:?}");
    assert_eq!(
        f.dev.usd_balance(dev(5).address()).await,
        payee0 + u128::from(PRICE)
    );
    f.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_in_process_facilitator_serves_the_same_paywall() {
    let chain = start_node().await;
    let service = x402_facilitator::Service::new().with(Arc::new(LedgerBackend::new(
        Arc::clone(&chain.node.app),
        dev(9),
    )));
    let app = Router::new().route(
        "/report",
        get(|| async { "local" }).layer(PaymentLayer::new(service, price(PRICE))),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let paid = client(4, SpendControls::default()).get(&url).await.unwrap();
    assert_eq!(paid.response.status(), 200);
    assert!(paid.receipt.unwrap().success);
    chain.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_facilitator_is_a_502() {
    let app = Router::new().route(
        "/report",
        get(|| async { "x" }).layer(PaymentLayer::new(
            HttpFacilitator::new("http://127.0.0.1:9"),
            price(PRICE),
        )),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let r = reqwest::Client::new()
        .get(&url)
        .header(
            "PAYMENT-SIGNATURE",
            payment_header(&price(PRICE), 0x81, None),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
}

#[tokio::test]
async fn the_client_picks_the_first_requirement_its_controls_allow() {
    let f = fixture().await;
    let url = format!("{}/multi", f.app_url);
    let r = reqwest::get(&url).await.unwrap();
    let c =
        codec::decode_payment_required(r.headers()["payment-required"].to_str().unwrap()).unwrap();
    assert_eq!(c.accepts.len(), 2);
    let payee0 = f.dev.usd_balance(dev(5).address()).await;
    let paid = client(
        2,
        SpendControls {
            networks: Some(vec![network()]),
            ..SpendControls::default()
        },
    )
    .get(&url)
    .await
    .unwrap();
    assert_eq!(paid.response.status(), 200);
    assert_eq!(paid.payment.unwrap().amount, U256::from(2 * PRICE));
    assert_eq!(
        f.dev.usd_balance(dev(5).address()).await,
        payee0 + 2 * u128::from(PRICE)
    );
    // Without the network control the client picks the first entry, which this facilitator
    // does not serve: refused with invalid_network, nothing paid.
    match client(2, SpendControls::default())
        .get(&url)
        .await
        .unwrap_err()
    {
        x402_client::Error::Refused { reason, .. } => assert_eq!(reason, "invalid_network"),
        e => panic!("{e:?}"),
    }
    assert_eq!(
        f.dev.usd_balance(dev(5).address()).await,
        payee0 + 2 * u128::from(PRICE)
    );
    f.dev.node.shutdown().await.unwrap();
}
