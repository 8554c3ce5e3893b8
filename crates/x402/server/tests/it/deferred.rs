//! Deferred settlement (answer before the payment lands, within bounds) and the client's
//! prepayment (pay a known price up front), against a real dev node.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, routing::get};
use tokio::sync::oneshot;
use x402_client::SpendControls;
use x402_server::{DeferredSettlement, HttpFacilitator, PaymentLayer, Pricing};
use x402_types::{
    Facilitator, Reason, SettleRequest, SettleResponse, SupportedResponse, VerifyRequest,
    VerifyResponse,
};

use crate::common::*;

/// The node's facilitator, except that the first settlement waits until the test opens the
/// gate, and settlements can be made to fail.
struct Gated {
    inner: HttpFacilitator,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
    fail: std::sync::atomic::AtomicBool,
}

impl Facilitator for Gated {
    type Error = <HttpFacilitator as Facilitator>::Error;

    async fn verify(&self, r: &VerifyRequest) -> Result<VerifyResponse, Self::Error> {
        self.inner.verify(r).await
    }

    async fn settle(&self, r: &SettleRequest) -> Result<SettleResponse, Self::Error> {
        let gate = self.gate.lock().unwrap().take();
        if let Some(gate) = gate {
            let _ = gate.await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Ok(SettleResponse {
                success: false,
                error_reason: Some(Reason::InvalidExactEvmTransactionFailed),
                error_message: None,
                payer: None,
                transaction: String::new(),
                network: network().to_string(),
                amount: None,
                extensions: None,
            });
        }
        self.inner.settle(r).await
    }

    async fn supported(&self) -> Result<SupportedResponse, Self::Error> {
        self.inner.supported().await
    }
}

struct Setup {
    dev: DevNode,
    url: String,
    policy: Arc<DeferredSettlement>,
    open: Option<oneshot::Sender<()>>,
    facilitator: Arc<Gated>,
}

async fn setup(max_outstanding: usize) -> Setup {
    let dev = start_node().await;
    let (open, gate) = oneshot::channel();
    let facilitator = Arc::new(Gated {
        inner: HttpFacilitator::new(format!("{}/x402", dev.url)),
        gate: Mutex::new(Some(gate)),
        fail: false.into(),
    });
    let policy = DeferredSettlement::new(max_outstanding);
    let app = Router::new().route(
        "/report",
        get(|| async { "paid content" }).layer(
            PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))
                .deferred(Arc::clone(&policy)),
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Setup {
        dev,
        url,
        policy,
        open: Some(open),
        facilitator,
    }
}

/// Polls until `f` holds (at most 5 s).
async fn eventually(mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in 5 s");
}

#[tokio::test]
async fn a_deferred_answer_does_not_wait_for_settlement_and_is_paid_once() {
    let mut s = setup(4).await;
    let payee = dev(5).address();
    let payee0 = s.dev.usd_balance(payee).await;
    // The settlement is held at the gate: the answer arrives anyway, without a receipt.
    let paid = tokio::time::timeout(
        Duration::from_secs(10),
        client(1, SpendControls::default()).get(&s.url),
    )
    .await
    .expect("the answer must not wait for the held settlement")
    .unwrap();
    assert_eq!(paid.response.status(), 200);
    assert!(paid.receipt.is_none());
    assert!(paid.payment.is_some());
    assert_eq!(paid.response.text().await.unwrap(), "paid content");
    assert_eq!(s.policy.stats().outstanding, 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(s.dev.usd_balance(payee).await, payee0, "not settled yet");
    s.open.take().unwrap().send(()).unwrap();
    eventually(async || s.policy.stats().settled == 1).await;
    assert_eq!(
        s.dev.usd_balance(payee).await,
        payee0 + u128::from(PRICE),
        "settled exactly once"
    );
    assert_eq!(s.policy.stats().outstanding, 0);
    s.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_the_bound_a_payer_waits_for_settlement() {
    let mut s = setup(1).await;
    let payee = dev(5).address();
    let payee0 = s.dev.usd_balance(payee).await;
    let c = client(1, SpendControls::default());
    let first = c.get(&s.url).await.unwrap();
    assert!(first.receipt.is_none(), "deferred");
    // One payment of this payer is unsettled: the next one settles before its answer.
    let second = c.get(&s.url).await.unwrap();
    let receipt = second
        .receipt
        .expect("a confirmed answer carries its receipt");
    assert!(receipt.success, "{receipt:?}");
    // Another payer still gets a deferred answer.
    let other = client(2, SpendControls::default())
        .get(&s.url)
        .await
        .unwrap();
    assert!(other.receipt.is_none());
    s.open.take().unwrap().send(()).unwrap();
    eventually(async || s.policy.stats().settled == 2).await;
    assert_eq!(
        s.dev.usd_balance(payee).await,
        payee0 + 3 * u128::from(PRICE)
    );
    s.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_payer_whose_deferred_settlement_failed_is_not_deferred_again() {
    let mut s = setup(4).await;
    s.facilitator.fail.store(true, Ordering::SeqCst);
    let c = client(1, SpendControls::default());
    let first = c.get(&s.url).await.unwrap();
    assert!(first.receipt.is_none());
    s.open.take().unwrap().send(()).unwrap();
    eventually(async || s.policy.stats().failed == 1).await;
    let payer = format!("{:#x}", dev(1).address());
    assert_eq!(s.policy.defaulted(), vec![payer]);
    // From now on this payer's answers wait for settlement, which fails: no content.
    let err = c.get(&s.url).await.unwrap_err();
    assert!(
        matches!(&err, x402_client::Error::Refused { reason, .. } if reason == "invalid_exact_evm_transaction_failed"),
        "{err:?}"
    );
    s.facilitator.fail.store(false, Ordering::SeqCst);
    let third = c.get(&s.url).await.unwrap();
    assert!(third.receipt.unwrap().success, "confirmed, not deferred");
    s.dev.node.shutdown().await.unwrap();
}

#[tokio::test]
async fn prepay_skips_the_402_and_follows_a_price_change() {
    let node = start_node().await;
    let facilitator = Arc::new(HttpFacilitator::new(format!("{}/x402", node.url)));
    let amount = Arc::new(AtomicU64::new(PRICE));
    let hits = Arc::new(AtomicUsize::new(0));
    let (a, h) = (Arc::clone(&amount), Arc::clone(&hits));
    let app = Router::new()
        .route(
            "/report",
            get(|| async { "paid content" }).layer(PaymentLayer::shared(
                facilitator,
                Pricing::dynamic(move |_, _| Ok(vec![price(a.load(Ordering::SeqCst))])),
            )),
        )
        .layer(axum::middleware::from_fn(
            move |r: axum::extract::Request, next: axum::middleware::Next| {
                h.fetch_add(1, Ordering::SeqCst);
                next.run(r)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let payer = dev(1).address();
    let c = client(1, SpendControls::default()).prepay();

    let b0 = node.usd_balance(payer).await;
    c.get(&url).await.unwrap();
    assert_eq!(hits.swap(0, Ordering::SeqCst), 2, "first: 402, then paid");
    c.get(&url).await.unwrap();
    assert_eq!(hits.swap(0, Ordering::SeqCst), 1, "then paid up front");
    assert_eq!(node.usd_balance(payer).await, b0 - 2 * u128::from(PRICE));

    // The price changes: the up-front payment is refused (not charged), the new one is paid.
    amount.store(3 * PRICE, Ordering::SeqCst);
    let paid = c.get(&url).await.unwrap();
    assert_eq!(
        paid.payment.unwrap().amount,
        alloy_primitives::U256::from(3 * PRICE)
    );
    assert_eq!(
        hits.swap(0, Ordering::SeqCst),
        2,
        "refused up front, then paid"
    );
    assert_eq!(
        node.usd_balance(payer).await,
        b0 - 2 * u128::from(PRICE) - u128::from(3 * PRICE)
    );
    c.get(&url).await.unwrap();
    assert_eq!(
        hits.swap(0, Ordering::SeqCst),
        1,
        "the new price is remembered"
    );
    node.node.shutdown().await.unwrap();
}

/// The node's facilitator, watching whether the handler runs before a payment's verdict (each
/// verification gives a concurrent handler up to 1 s to show up), and able to refuse.
struct Watched {
    inner: HttpFacilitator,
    ran: Arc<AtomicUsize>,
    served_while_verifying: Mutex<Vec<bool>>,
    refuse: std::sync::atomic::AtomicBool,
}

impl Facilitator for Watched {
    type Error = <HttpFacilitator as Facilitator>::Error;

    async fn verify(&self, r: &VerifyRequest) -> Result<VerifyResponse, Self::Error> {
        // Every earlier verification in the test was followed by one run of the handler; one
        // more run before this verdict is this request's, started while verifying.
        let earlier = self.served_while_verifying.lock().unwrap().len();
        let mut concurrent = false;
        for _ in 0..50 {
            if self.ran.load(Ordering::SeqCst) > earlier {
                concurrent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.served_while_verifying.lock().unwrap().push(concurrent);
        if self.refuse.load(Ordering::SeqCst) {
            return Ok(VerifyResponse::invalid(
                Reason::InvalidExactEvmSignature,
                None,
            ));
        }
        self.inner.verify(r).await
    }

    async fn settle(&self, r: &SettleRequest) -> Result<SettleResponse, Self::Error> {
        self.inner.settle(r).await
    }

    async fn supported(&self) -> Result<SupportedResponse, Self::Error> {
        self.inner.supported().await
    }
}

#[tokio::test]
async fn a_payer_in_good_standing_is_served_while_verifying_and_a_refusal_ends_it() {
    let node = start_node().await;
    let ran = Arc::new(AtomicUsize::new(0));
    let facilitator = Arc::new(Watched {
        inner: HttpFacilitator::new(format!("{}/x402", node.url)),
        ran: Arc::clone(&ran),
        served_while_verifying: Mutex::new(Vec::new()),
        refuse: false.into(),
    });
    let policy = DeferredSettlement::new(4);
    let counter = Arc::clone(&ran);
    let app = Router::new().route(
        "/report",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "paid content" }
        })
        .layer(
            PaymentLayer::shared(Arc::clone(&facilitator), price(PRICE))
                .deferred(Arc::clone(&policy))
                .verify_while_serving(),
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/report", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let payer = format!("{:#x}", dev(1).address());
    let c = client(1, SpendControls::default());
    let seen = || facilitator.served_while_verifying.lock().unwrap().clone();

    // A newcomer is verified first, then served.
    let first = c.get(&url).await.unwrap();
    assert_eq!(first.response.text().await.unwrap(), "paid content");
    assert_eq!(seen(), vec![false]);
    eventually(async || policy.stats().settled == 1).await;
    assert!(policy.in_good_standing(&payer));

    // In good standing: served while the payment is verified.
    let second = c.get(&url).await.unwrap();
    assert!(second.receipt.is_none(), "deferred");
    assert_eq!(second.response.text().await.unwrap(), "paid content");
    assert_eq!(seen(), vec![false, true]);
    eventually(async || policy.stats().settled == 2).await;

    // A payment that fails verification: the handler ran, its answer is withheld (402), and
    // nothing is settled.
    facilitator.refuse.store(true, Ordering::SeqCst);
    let ran_before = ran.load(Ordering::SeqCst);
    let err = c.get(&url).await.unwrap_err();
    assert!(
        matches!(&err, x402_client::Error::Refused { reason, .. } if reason == "invalid_exact_evm_signature"),
        "{err:?}"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        ran_before + 1,
        "the handler ran"
    );
    assert_eq!(seen(), vec![false, true, true]);
    assert!(!policy.in_good_standing(&payer), "good standing lost");
    assert!(policy.defaulted().is_empty(), "but not defaulted");
    assert_eq!(policy.stats().outstanding, 0);

    // So the next payment is verified first again, and its settlement restores good standing.
    facilitator.refuse.store(false, Ordering::SeqCst);
    let fourth = c.get(&url).await.unwrap();
    assert_eq!(fourth.response.text().await.unwrap(), "paid content");
    assert_eq!(seen(), vec![false, true, true, false]);
    eventually(async || policy.stats().settled == 3).await;
    assert!(policy.in_good_standing(&payer));
    node.node.shutdown().await.unwrap();
}
