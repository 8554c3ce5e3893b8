//! The lease gate over real HTTP: a tenant's signed requests reach the router with their
//! bodies intact; everyone else is refused (403) with a stable code — another key, no header,
//! malformed headers, an altered request, a replay, a stale nonce, a lease for another
//! provider, a lease not being served, an unknown lease; excess gets 429 with `Retry-After`
//! and passes again once the bucket refills. The node's lease endpoint is read through
//! `NodeLeases`, cached, and its failure is a 503.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::Path,
    http::StatusCode,
    routing::{get, post},
};
use ledger::Address;
use serde_json::{Value, json};
use subnet::lease::{
    self, FRESHNESS_MS, HEADER, LeaseSource, LeaseView, MAX_BODY, MemoryLeases, NodeLeases,
};
use wallet::PrivateKey;

const CHAIN: u64 = 31_337;
const PATH: &str = "/v1/embeddings";
const BODY: &[u8] = br#"{"model":"all-minilm-l6-v2","input":["a lease"]}"#;

/// Leases of the fixture: `OURS` at ample capacity, `SMALL` at 2 rps, and the refusals.
const OURS: u64 = 1;
const SMALL: u64 = 2;
const ELSEWHERE: u64 = 3;
const ENDED: u64 = 4;
const UNKNOWN: u64 = 99;

async fn serve(app: Router) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    a
}

/// A model router that echoes the body it got and names the lease it was served under.
fn echo() -> Router {
    let handler = |Extension(lease): Extension<LeaseView>, body: Bytes| async move {
        ([("x-served-lease", lease.id.to_string())], body)
    };
    Router::new()
        .route(PATH, post(handler))
        .route("/v1/chat/completions", post(handler))
}

struct Fixture {
    url: String,
    tenant: PrivateKey,
    http: reqwest::Client,
}

fn view(id: u64, tenant: Address, provider: Address, rps: u32, serving: bool) -> LeaseView {
    LeaseView {
        id,
        tenant,
        provider,
        capacity_rps: rps,
        serving,
    }
}

async fn fixture() -> Fixture {
    let tenant = PrivateKey::random();
    let provider = PrivateKey::random().address();
    let leases = MemoryLeases::default();
    let t = tenant.address();
    leases.insert(view(OURS, t, provider, 1_000, true));
    leases.insert(view(SMALL, t, provider, 2, true));
    leases.insert(view(ELSEWHERE, t, Address::repeat_byte(7), 1_000, true));
    leases.insert(view(ENDED, t, provider, 1_000, false));
    gated(tenant, provider, leases).await
}

async fn gated<S: LeaseSource>(tenant: PrivateKey, provider: Address, source: S) -> Fixture {
    let addr = serve(lease::gate(echo(), provider, CHAIN, source)).await;
    Fixture {
        url: format!("http://{addr}"),
        tenant,
        http: reqwest::Client::new(),
    }
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

impl Fixture {
    fn sign(&self, lease_id: u64, body: &[u8]) -> String {
        lease::sign_request(&self.tenant, CHAIN, lease_id, "POST", PATH, body).unwrap()
    }

    /// POSTs `body` to `path` with these `X-Lease` values; status, headers and body.
    async fn post_to(
        &self,
        path: &str,
        headers: &[impl AsRef<str>],
        body: &[u8],
    ) -> (StatusCode, reqwest::header::HeaderMap, Bytes) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .body(body.to_vec());
        for h in headers {
            req = req.header(HEADER, h.as_ref());
        }
        let resp = req.send().await.unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap())
    }

    async fn post(&self, header: Option<&str>, body: &[u8]) -> (StatusCode, Bytes) {
        let (status, _, bytes) = self.post_to(PATH, header.as_slice(), body).await;
        (status, bytes)
    }

    /// Expects a refusal with `status` and `code`, in the OpenAI error shape.
    async fn refused(&self, header: Option<&str>, body: &[u8], status: StatusCode, code: &str) {
        let (got, bytes) = self.post(header, body).await;
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            (got, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
        assert_eq!(v["error"]["type"], "lease_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test]
async fn the_tenant_is_served_with_the_body_intact() {
    let f = fixture().await;
    let header = f.sign(OURS, BODY);
    let (status, headers, body) = f.post_to(PATH, &[&header], BODY).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], BODY);
    assert_eq!(headers["x-served-lease"], OURS.to_string());

    // Another route, a query string and an empty body are signed and served just as well.
    let path = "/v1/chat/completions?stream=false";
    let header = lease::sign_request(&f.tenant, CHAIN, OURS, "POST", path, b"").unwrap();
    let (status, _, body) = f.post_to(path, &[&header], b"").await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn another_key_is_not_the_tenant() {
    let f = fixture().await;
    let stranger = PrivateKey::random();
    let header = lease::sign_request(&stranger, CHAIN, OURS, "POST", PATH, BODY).unwrap();
    f.refused(Some(&header), BODY, StatusCode::FORBIDDEN, "not_tenant")
        .await;
}

#[tokio::test]
async fn a_request_without_a_lease_is_refused() {
    let f = fixture().await;
    f.refused(None, BODY, StatusCode::FORBIDDEN, "missing_lease")
        .await;
}

#[tokio::test]
async fn malformed_headers_are_refused() {
    let f = fixture().await;
    let good = f.sign(OURS, BODY);
    let (_, rest) = good.split_once('.').unwrap();
    let (nonce, sig) = rest.split_once('.').unwrap();
    let malformed = [
        String::new(),
        "1".into(),
        format!("{OURS}.{nonce}"),
        format!("{OURS}.{nonce}.{sig}.0"),
        format!("x.{nonce}.{sig}"),
        format!("0{OURS}.{nonce}.{sig}"),
        format!("{OURS}.-{nonce}.{sig}"),
        format!("{OURS}.{nonce}.{}", &sig[2..]),
        format!("{OURS}.{nonce}.{}", &sig[..sig.len() - 2]),
        format!("{OURS}.{nonce}.{}zz", &sig[..sig.len() - 2]),
        format!("{OURS}.{nonce}.{sig}{}", "0".repeat(300)),
    ];
    for header in &malformed {
        f.refused(
            Some(header),
            BODY,
            StatusCode::FORBIDDEN,
            "bad_lease_header",
        )
        .await;
    }
    // Two headers, even two good ones.
    let (status, _, bytes) = f.post_to(PATH, &[&good, &good], BODY).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_lease_header"))
    );
    // Well-formed, but not a signature: v = 0, and a high s.
    let mut bytes = [0x11u8; 65];
    bytes[64] = 0;
    let bad_v = format!("{OURS}.{nonce}.0x{}", alloy_primitives::hex::encode(bytes));
    bytes[32] = 0xff;
    bytes[64] = 27;
    let high_s = format!("{OURS}.{nonce}.0x{}", alloy_primitives::hex::encode(bytes));
    for header in [bad_v, high_s] {
        f.refused(Some(&header), BODY, StatusCode::FORBIDDEN, "bad_signature")
            .await;
    }
    // None of this used the good header's nonce up.
    assert_eq!(f.post(Some(&good), BODY).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_altered_after_signing_is_refused() {
    let f = fixture().await;
    let header = f.sign(OURS, BODY);
    let altered = br#"{"model":"all-minilm-l6-v2","input":["a lease!"]}"#;
    f.refused(Some(&header), altered, StatusCode::FORBIDDEN, "not_tenant")
        .await;
    // Sent to another path, or under another lease of the same tenant.
    let (status, _, _) = f.post_to("/v1/chat/completions", &[&header], BODY).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other_lease = header.replacen(&format!("{OURS}."), &format!("{SMALL}."), 1);
    f.refused(
        Some(&other_lease),
        BODY,
        StatusCode::FORBIDDEN,
        "not_tenant",
    )
    .await;
    // The untouched request still passes.
    assert_eq!(f.post(Some(&header), BODY).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_replayed_header_is_refused() {
    let f = fixture().await;
    let header = f.sign(OURS, BODY);
    assert_eq!(f.post(Some(&header), BODY).await.0, StatusCode::OK);
    f.refused(Some(&header), BODY, StatusCode::FORBIDDEN, "replayed_nonce")
        .await;
    // A fresh signature of the same request is fine.
    assert_eq!(
        f.post(Some(&f.sign(OURS, BODY)), BODY).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_stale_nonce_is_refused() {
    let f = fixture().await;
    let slack = FRESHNESS_MS + 5_000;
    for nonce in [now_ms() - slack, now_ms() + slack] {
        let header =
            lease::sign_request_at(&f.tenant, CHAIN, OURS, nonce, "POST", PATH, BODY).unwrap();
        f.refused(
            Some(&header.to_string()),
            BODY,
            StatusCode::FORBIDDEN,
            "stale_nonce",
        )
        .await;
    }
    // Within the window either way is fine.
    for nonce in [now_ms() - 10_000, now_ms() + 10_000] {
        let header =
            lease::sign_request_at(&f.tenant, CHAIN, OURS, nonce, "POST", PATH, BODY).unwrap();
        assert_eq!(
            f.post(Some(&header.to_string()), BODY).await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn leases_this_provider_does_not_serve_are_refused() {
    let f = fixture().await;
    let cases = [
        (ELSEWHERE, "wrong_provider"),
        (ENDED, "lease_not_serving"),
        (UNKNOWN, "unknown_lease"),
    ];
    for (id, code) in cases {
        let header = f.sign(id, BODY);
        f.refused(Some(&header), BODY, StatusCode::FORBIDDEN, code)
            .await;
    }
    let (_, bytes) = f.post(Some(&f.sign(ELSEWHERE, BODY)), BODY).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["error"]["message"], "lease is for another provider");
    let (_, bytes) = f.post(Some(&f.sign(ENDED, BODY)), BODY).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        v["error"]["message"],
        "lease is not being served: ended, exhausted or closed"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let f = fixture().await;
    let big = vec![b' '; MAX_BODY + 1];
    let header = f.sign(OURS, &big);
    f.refused(
        Some(&header),
        &big,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    )
    .await;
    let exact = vec![b' '; MAX_BODY];
    let header = f.sign(OURS, &exact);
    assert_eq!(f.post(Some(&header), &exact).await.0, StatusCode::OK);
}

/// Capacity 2 rps: of a burst of 6 concurrent requests exactly 2 are served and 4 get 429
/// with `Retry-After`; another lease is unaffected; a second later requests pass again,
/// including one whose earlier attempt got 429 (a 429 does not use the nonce up).
#[tokio::test]
async fn excess_over_the_capacity_gets_429_until_the_bucket_refills() {
    let f = fixture().await;
    let headers: Vec<String> = (0..6).map(|_| f.sign(SMALL, BODY)).collect();
    let answers = futures_util::future::join_all(
        headers
            .iter()
            .map(|h| f.post_to(PATH, std::slice::from_ref(h), BODY)),
    )
    .await;
    let served = answers.iter().filter(|a| a.0 == StatusCode::OK).count();
    let limited: Vec<_> = answers
        .iter()
        .zip(&headers)
        .filter(|(a, _)| a.0 == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!((served, limited.len()), (2, 4));
    for ((_, h, bytes), _) in &limited {
        assert_eq!(h["retry-after"], "1");
        let v: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(v["error"]["code"], "over_capacity");
    }
    assert_eq!(
        f.post(Some(&f.sign(OURS, BODY)), BODY).await.0,
        StatusCode::OK
    );

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let retried = limited[0].1;
    assert_eq!(f.post(Some(retried.as_str()), BODY).await.0, StatusCode::OK);
    assert_eq!(
        f.post(Some(&f.sign(SMALL, BODY)), BODY).await.0,
        StatusCode::OK
    );
}

/// A source that counts its lookups, or fails.
#[derive(Clone)]
struct Counting {
    inner: MemoryLeases,
    lookups: Arc<AtomicUsize>,
    fail: bool,
}

impl LeaseSource for Counting {
    async fn lease(&self, id: u64) -> eyre::Result<Option<LeaseView>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            eyre::bail!("the node is down");
        }
        self.inner.lease(id).await
    }
}

#[tokio::test]
async fn a_burst_looks_the_lease_up_once_and_a_failing_source_is_503() {
    let tenant = PrivateKey::random();
    let provider = Address::repeat_byte(9);
    let inner = MemoryLeases::default();
    inner.insert(view(OURS, tenant.address(), provider, 1_000, true));
    let lookups = Arc::new(AtomicUsize::new(0));
    let source = Counting {
        inner,
        lookups: Arc::clone(&lookups),
        fail: false,
    };
    let f = gated(tenant, provider, source.clone()).await;
    let headers: Vec<String> = (0..8).map(|_| f.sign(OURS, BODY)).collect();
    let answers =
        futures_util::future::join_all(headers.iter().map(|h| f.post(Some(h), BODY))).await;
    assert!(answers.iter().all(|a| a.0 == StatusCode::OK));
    assert_eq!(lookups.load(Ordering::SeqCst), 1);

    let failing = Counting {
        fail: true,
        ..source
    };
    let f = gated(f.tenant, provider, failing).await;
    let (status, headers, bytes) = f.post_to(PATH, &[&f.sign(OURS, BODY)], BODY).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"]["code"], "lease_source_unavailable");
    assert_eq!(headers["retry-after"], "1");
}

/// A node that knows lease 3 (`GET /v1/leases/3`, the API's shape) and nothing else.
async fn node(tenant: Address, provider: Address) -> String {
    let lease = move |Path(id): Path<u64>| async move {
        if id != 3 {
            let e = json!({"code": "not_found", "message": format!("lease {id} does not exist")});
            return (StatusCode::NOT_FOUND, Json(e));
        }
        let doc = json!({
            "lease": {
                "id": 3, "provider": provider, "tenant": tenant, "asset": 0,
                "settlement": "pay", "rate": "10", "capacityRps": 5, "start": 100, "end": 200,
                "collateral": "0", "escrow": {}, "closed": null,
            },
            "head": 120, "servingUntil": 180, "serving": true,
        });
        (StatusCode::OK, Json(doc))
    };
    let app = Router::new()
        .route("/v1/leases/{id}", get(lease))
        .fallback(|| async {
            let e = json!({"code": "not_found", "message": "no such route; see /v1/openapi.json"});
            (StatusCode::NOT_FOUND, Json(e))
        });
    format!("http://{}", serve(app).await)
}

#[tokio::test]
async fn node_leases_read_the_node_api() {
    let tenant = PrivateKey::random();
    let provider = Address::repeat_byte(9);
    let url = node(tenant.address(), provider).await;
    let leases = NodeLeases::new(&url).unwrap();
    assert_eq!(
        leases.lease(3).await.unwrap(),
        Some(view(3, tenant.address(), provider, 5, true))
    );
    assert_eq!(leases.lease(4).await.unwrap(), None);

    // Through the gate: served, unknown, and a node without the endpoint or down is a 503.
    let f = gated(tenant, provider, leases).await;
    assert_eq!(f.post(Some(&f.sign(3, BODY)), BODY).await.0, StatusCode::OK);
    f.refused(
        Some(&f.sign(4, BODY)),
        BODY,
        StatusCode::FORBIDDEN,
        "unknown_lease",
    )
    .await;
    let no_route = NodeLeases::new(&format!("{url}/old")).unwrap();
    assert!(no_route.lease(3).await.is_err());
    let down = NodeLeases::new("http://127.0.0.1:9").unwrap();
    assert!(down.lease(3).await.is_err());
    let f = gated(f.tenant, provider, down).await;
    f.refused(
        Some(&f.sign(3, BODY)),
        BODY,
        StatusCode::SERVICE_UNAVAILABLE,
        "lease_source_unavailable",
    )
    .await;
}
