//! [`PaymentLayer`]: the paywall as a tower `Layer` for axum routes.
//!
//! Per request (`research/x402.md` §1.1, the reference middleware's order):
//!
//! 1. Buffer the body (at most [`PaymentLayer::max_body`], else 413) and compute the route's
//!    accepted requirements ([`Pricing`]); none means the request is free.
//! 2. No `PAYMENT-SIGNATURE` (v2) or `X-PAYMENT` (v1) header: 402 with the v2
//!    `PAYMENT-REQUIRED` header and the v1 JSON body, `Cache-Control: no-store`.
//! 3. An undecodable header: 400 `invalid_payload` (with the challenge, so a client can retry).
//!    A payload matching none of the requirements (v2: `accepted` deep-equals one; v1: same
//!    scheme and network): 402 `invalid_payment_requirements`.
//! 4. `payment-identifier`: a replay of a served id gets the stored response; the same id for
//!    a different request gets 409.
//! 5. Verify with the facilitator; invalid: 402 with the reason in `error`. No answer: 502.
//! 6. Run the handler with the buffered body. A status ≥ 400 is returned as is, unpaid.
//!    Otherwise settle; on failure 402 with `PAYMENT-RESPONSE` carrying the reason and the
//!    content dropped; on success the response with `PAYMENT-RESPONSE` (v1:
//!    `X-PAYMENT-RESPONSE`) and `Cache-Control: private`.
//!
//! With [`PaymentLayer::settle_before_handler`] step 6 settles first and runs the handler only
//! once paid (for handlers with side effects that cannot be undone). With
//! [`PaymentLayer::deferred`] a served response is answered at once, without a receipt, and
//! settled in the background within the policy's bounds ([`crate::deferred`]). Adding
//! [`PaymentLayer::verify_while_serving`] runs steps 5 and 6 together for payers in good
//! standing: the handler starts while the facilitator verifies, and its response waits for
//! the verdict.
//!
//! Every response exposes the x402 headers to browsers (CORS); `OPTIONS` preflights are
//! answered without payment.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use alloy_primitives::keccak256;
use axum::{
    Json,
    body::{Body, to_bytes},
    http::{
        HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header, request::Parts,
    },
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tower::{Layer, Service};
use x402_types::{
    Facilitator, Reason, SettleResponse, VerifyRequest, header as codec, v1,
    v2::{self, PaymentRequirements, ResourceInfo},
};

use crate::{
    DeferredSettlement, Pricing,
    idempotency::{self, Begin, IdempotencyStore, Stored},
};

/// `PAYMENT-REQUIRED`: the v2 challenge.
pub const PAYMENT_REQUIRED: HeaderName = HeaderName::from_static("payment-required");
/// `PAYMENT-SIGNATURE`: the v2 payment.
pub const PAYMENT_SIGNATURE: HeaderName = HeaderName::from_static("payment-signature");
/// `PAYMENT-RESPONSE`: the v2 receipt.
pub const PAYMENT_RESPONSE: HeaderName = HeaderName::from_static("payment-response");
/// `X-PAYMENT`: the v1 payment.
pub const X_PAYMENT: HeaderName = HeaderName::from_static("x-payment");
/// `X-PAYMENT-RESPONSE`: the v1 receipt.
pub const X_PAYMENT_RESPONSE: HeaderName = HeaderName::from_static("x-payment-response");

const EXPOSED: &str = "PAYMENT-REQUIRED, PAYMENT-RESPONSE, X-PAYMENT-RESPONSE";
const ALLOWED: &str = "PAYMENT-SIGNATURE, X-PAYMENT, Content-Type, Authorization";

/// Default largest request body buffered by the paywall.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Largest response body the paywall holds back until settlement.
pub const MAX_RESPONSE_BODY: usize = 64 * 1024 * 1024;

struct Config<F> {
    facilitator: Arc<F>,
    pricing: Pricing,
    description: Option<String>,
    mime_type: Option<String>,
    base_url: Option<String>,
    settle_before_handler: bool,
    deferred: Option<Arc<DeferredSettlement>>,
    verify_while_serving: bool,
    max_body: usize,
    idempotency: Option<Arc<IdempotencyStore>>,
    require_payment_id: bool,
}

/// The paywall layer: charges every request to the routes it wraps.
///
/// ```no_run
/// # use axum::{Router, routing::get};
/// # use x402_server::{HttpFacilitator, PaymentLayer};
/// # fn requirements() -> x402_types::v2::PaymentRequirements { unimplemented!() }
/// let paywall = PaymentLayer::new(HttpFacilitator::new("http://127.0.0.1:8420/x402"), requirements());
/// let app: Router = Router::new().route("/report", get(|| async { "paid content" }).layer(paywall));
/// ```
pub struct PaymentLayer<F> {
    config: Arc<Config<F>>,
}

impl<F> Clone for PaymentLayer<F> {
    fn clone(&self) -> Self {
        PaymentLayer {
            config: Arc::clone(&self.config),
        }
    }
}

impl<F> std::fmt::Debug for PaymentLayer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentLayer")
            .field("pricing", &self.config.pricing)
            .field("settle_before_handler", &self.config.settle_before_handler)
            .finish_non_exhaustive()
    }
}

impl<F: Facilitator + 'static> PaymentLayer<F> {
    /// A paywall charging `pricing` and verifying and settling through `facilitator`.
    pub fn new(facilitator: F, pricing: impl Into<Pricing>) -> Self {
        Self::shared(Arc::new(facilitator), pricing)
    }

    /// [`PaymentLayer::new`] with a facilitator shared by several layers.
    pub fn shared(facilitator: Arc<F>, pricing: impl Into<Pricing>) -> Self {
        PaymentLayer {
            config: Arc::new(Config {
                facilitator,
                pricing: pricing.into(),
                description: None,
                mime_type: None,
                base_url: None,
                settle_before_handler: false,
                deferred: None,
                verify_while_serving: false,
                max_body: DEFAULT_MAX_BODY,
                idempotency: None,
                require_payment_id: false,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config<F>)) -> Self {
        if let Some(c) = Arc::get_mut(&mut self.config) {
            f(c);
        }
        self
    }

    /// The resource's description in the challenge.
    pub fn description(self, d: impl Into<String>) -> Self {
        self.edit(|c| c.description = Some(d.into()))
    }

    /// The paid response's MIME type in the challenge.
    pub fn mime_type(self, m: impl Into<String>) -> Self {
        self.edit(|c| c.mime_type = Some(m.into()))
    }

    /// The public origin (`https://api.example.com`) used for the resource URL; by default
    /// `http://<Host header>`.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.edit(|c| c.base_url = Some(url.into().trim_end_matches('/').to_owned()))
    }

    /// Settle before running the handler (the handler runs only once paid).
    pub fn settle_before_handler(self) -> Self {
        self.edit(|c| c.settle_before_handler = true)
    }

    /// Answer served requests as soon as the payment is verified and settle them in the
    /// background, within `policy`'s bounds ([`crate::deferred`]); ignored with
    /// [`PaymentLayer::settle_before_handler`].
    pub fn deferred(self, policy: Arc<DeferredSettlement>) -> Self {
        self.edit(|c| c.deferred = Some(policy))
    }

    /// With [`PaymentLayer::deferred`]: for a payer in good standing (their last deferred
    /// settlement went through; [`crate::deferred`]), run the handler while the facilitator
    /// verifies the payment instead of after, which takes the verification off the answer's
    /// time. Nothing is released before the verdict: a payment that does not verify is
    /// answered 402 and the handler's response is dropped. So the handler must do nothing a
    /// client could get without its response (a computation such as an inference forward).
    ///
    /// The payer is read from the unverified payment, so a forged payment in someone's name
    /// also starts the handler; its refusal ends that payer's good standing until their next
    /// settlement, so forgeries cost at most one wasted handler run per real settlement.
    pub fn verify_while_serving(self) -> Self {
        self.edit(|c| c.verify_while_serving = true)
    }

    /// The largest request body accepted (413 above).
    pub fn max_body(self, bytes: usize) -> Self {
        self.edit(|c| c.max_body = bytes)
    }

    /// Honour the `payment-identifier` extension with `store` (share one store between the
    /// routes of a server); with `required`, payments without an id are refused with 400.
    pub fn idempotency(self, store: Arc<IdempotencyStore>, required: bool) -> Self {
        self.edit(|c| {
            c.idempotency = Some(store);
            c.require_payment_id = required;
        })
    }
}

impl<S, F> Layer<S> for PaymentLayer<F> {
    type Service = PaymentService<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        PaymentService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The paywall wrapped around a route's service.
pub struct PaymentService<S, F> {
    inner: S,
    config: Arc<Config<F>>,
}

impl<S: Clone, F> Clone for PaymentService<S, F> {
    fn clone(&self) -> Self {
        PaymentService {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S, F> Service<Request<Body>> for PaymentService<S, F>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    F: Facilitator + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service serves this request; a fresh clone waits for the next one.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let mut response = handle(&config, inner, request).await;
            cors(response.headers_mut());
            Ok(response)
        })
    }
}

/// A payment as the client sent it.
enum Sent {
    /// Boxed: with serde_json's `preserve_order` (dcap-qvl turns it on workspace-wide) its
    /// maps make it much larger than v1's.
    V2(Box<v2::PaymentPayload>),
    V1(v1::PaymentPayload),
}

async fn handle<S, F>(config: &Config<F>, inner: S, request: Request<Body>) -> Response
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
    F: Facilitator + 'static,
{
    let (parts, body) = request.into_parts();
    if parts.method == Method::OPTIONS {
        return preflight();
    }
    let body = match to_bytes(body, config.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("request body over {} bytes", config.max_body),
            );
        }
    };
    let accepts = match config.pricing.requirements(&parts, &body) {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    if accepts.is_empty() {
        return run(inner, parts, body).await;
    }
    let challenge = Challenge {
        config,
        resource: resource(config, &parts),
        accepts: &accepts,
    };

    // 2–3: read the payment and match it to a requirement.
    let sent = match read_payment(&parts.headers) {
        None => return challenge.respond(None, "PAYMENT-SIGNATURE header is required"),
        Some(Err(e)) => {
            let mut r = challenge.respond(None, Reason::InvalidPayload.as_str());
            *r.status_mut() = StatusCode::BAD_REQUEST;
            tracing::debug!(error = %e, "undecodable payment header");
            return r;
        }
        Some(Ok(sent)) => sent,
    };
    let (matched, verify_request, payment_id) = match &sent {
        Sent::V2(p) => {
            let Some(m) = accepts.iter().find(|r| p.accepts(r)) else {
                return challenge.respond(None, Reason::InvalidPaymentRequirements.as_str());
            };
            let id = idempotency::id_of(p.extensions.as_ref()).cloned();
            (m, VerifyRequest::new_v2(p, m), id)
        }
        Sent::V1(p) => {
            let Some(m) = accepts
                .iter()
                .find(|r| r.scheme == p.scheme && v1_network(r) == p.network)
            else {
                return challenge.respond(None, Reason::InvalidPaymentRequirements.as_str());
            };
            let v1_req = to_v1(m, &challenge.resource);
            (m, VerifyRequest::new_v1(p, &v1_req), None)
        }
    };
    let Ok(verify_request) = verify_request else {
        return challenge.respond(None, Reason::InvalidPayload.as_str());
    };

    // 4: idempotency.
    let mut guard = None;
    if let Some(store) = &config.idempotency {
        let id = match payment_id {
            Some(Value::String(id)) if idempotency::valid_id(&id) => Some(id),
            Some(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_payment_identifier",
                    "payment-identifier id must be 16-128 characters of [A-Za-z0-9_-]",
                );
            }
            None if config.require_payment_id => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "payment_identifier_required",
                    "this route requires the payment-identifier extension",
                );
            }
            None => None,
        };
        if let Some(id) = id {
            match store.begin(&id, fingerprint(&parts, &body, matched)).await {
                Begin::Replay(stored) => return replay(stored),
                Begin::Conflict => {
                    return error(
                        StatusCode::CONFLICT,
                        "payment_identifier_conflict",
                        format!("payment identifier {id} was used for a different request"),
                    );
                }
                Begin::Fresh(g) => guard = Some(g),
            }
        }
    }

    let v1 = matches!(sent, Sent::V1(_));
    if let Some(slot) = in_good_standing(config, &sent) {
        // 5 and 6 at once: the handler runs while the facilitator verifies.
        let facilitator = Arc::clone(&config.facilitator);
        let verifying = tokio::spawn(async move {
            let verdict = facilitator.verify(&verify_request).await;
            (verdict, verify_request)
        });
        let response = run(inner, parts, body).await;
        let (verdict, verify_request) = match verifying.await {
            Ok((Ok(v), r)) => (v, r),
            Ok((Err(e), _)) => return facilitator_down(&e),
            Err(e) => return facilitator_down(&e),
        };
        if !verdict.is_valid {
            slot.refused();
            return challenge.respond(None, &invalid_reason(verdict));
        }
        let response = match deferred_answer(config, response, verify_request, slot, v1).await {
            Ok(paid) => paid,
            Err(unpaid) => return unpaid,
        };
        return finish(guard, response);
    }

    // 5: verify.
    let verdict = match config.facilitator.verify(&verify_request).await {
        Ok(v) => v,
        Err(e) => return facilitator_down(&e),
    };
    if !verdict.is_valid {
        return challenge.respond(None, &invalid_reason(verdict));
    }

    // 6: serve and settle (or settle and serve).
    let response = if config.settle_before_handler {
        let receipt = match config.facilitator.settle(&verify_request).await {
            Ok(r) => r,
            Err(e) => return facilitator_down(&e),
        };
        if !receipt.success {
            return challenge.respond(Some((&receipt, v1)), failure_text(&receipt));
        }
        let response = run(inner, parts, body).await;
        let (head, body) = match buffered(response).await {
            Ok(b) => b,
            Err(e) => return e,
        };
        paid(head, Some(&receipt), v1, body)
    } else {
        let response = run(inner, parts, body).await;
        let slot = config
            .deferred
            .as_ref()
            .zip(verdict.payer.as_deref())
            .and_then(|(d, payer)| d.admit(payer));
        if let Some(slot) = slot {
            match deferred_answer(config, response, verify_request, slot, v1).await {
                Ok(paid) => paid,
                Err(unpaid) => return unpaid,
            }
        } else {
            if response.status().as_u16() >= 400 {
                return response; // not served: not charged
            }
            let (head, body) = match buffered(response).await {
                Ok(b) => b,
                Err(e) => return e,
            };
            let receipt = match config.facilitator.settle(&verify_request).await {
                Ok(r) => r,
                Err(e) => return facilitator_down(&e),
            };
            if !receipt.success {
                return challenge.respond(Some((&receipt, v1)), failure_text(&receipt));
            }
            paid(head, Some(&receipt), v1, body)
        }
    };
    finish(guard, response)
}

/// Hands the paid response's stored copy to the idempotency guard and returns the response.
fn finish(
    guard: Option<idempotency::Guard<'_>>,
    (response, stored): (Response, Option<Stored>),
) -> Response {
    if let (Some(g), Some(stored)) = (guard, stored) {
        g.finish(stored);
    }
    response
}

/// The handler's response with its body read (held back until the payment is settled).
async fn buffered(response: Response) -> Result<(Response, Bytes), Response> {
    let (head, body) = response.into_parts();
    match to_bytes(body, MAX_RESPONSE_BODY).await {
        Ok(body) => Ok((Response::from_parts(head, Body::empty()), body)),
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "response body",
        )),
    }
}

/// The reason an invalid verdict gives.
fn invalid_reason(verdict: x402_types::VerifyResponse) -> String {
    verdict
        .invalid_reason
        .map_or_else(|| "invalid_payment".to_owned(), |r| r.as_str().to_owned())
}

/// A slot for running the handler while verifying, when the layer allows it and the payment
/// (v2, its payer read from the unverified EIP-3009 authorization) is from a payer in good
/// standing with the deferral policy.
fn in_good_standing<F>(config: &Config<F>, sent: &Sent) -> Option<crate::deferred::Slot> {
    if !config.verify_while_serving || config.settle_before_handler {
        return None;
    }
    let Sent::V2(p) = sent else { return None };
    let payer = p.payload.get("authorization")?.get("from")?.as_str()?;
    config.deferred.as_ref()?.admit_in_good_standing(payer)
}

/// The handler's `response` to a verified payment, answered at once with its settlement left
/// to the background (holding `slot`); `Err` with the response to return unpaid (a status
/// ≥ 400 is not charged) or an error.
async fn deferred_answer<F: Facilitator + 'static>(
    config: &Config<F>,
    response: Response,
    verify_request: VerifyRequest,
    slot: crate::deferred::Slot,
    v1: bool,
) -> Result<(Response, Option<Stored>), Response> {
    if response.status().as_u16() >= 400 {
        return Err(response); // not served: not charged
    }
    let (head, body) = buffered(response).await?;
    // The settlement starts once the answer is out (its body written or abandoned), so its
    // work does not compete with sending the answer it pays for.
    let (sent, answered) = tokio::sync::oneshot::channel::<()>();
    let facilitator = Arc::clone(&config.facilitator);
    tokio::spawn(async move {
        let _ = answered.await;
        let settled = match facilitator.settle(&verify_request).await {
            Ok(r) if r.success => true,
            // Submitted, not yet included: it lands with the next block.
            Ok(r) if r.error_reason == Some(Reason::SettlementPending) => true,
            Ok(r) => {
                tracing::warn!(payer = ?r.payer, reason = failure_text(&r), "deferred settlement failed");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "deferred settlement: facilitator gave no answer");
                false
            }
        };
        slot.finish(settled);
    });
    let (response, stored) = paid(head, None, v1, body);
    let (head, body) = response.into_parts();
    let body = Body::new(Announced { body, _sent: sent });
    Ok((Response::from_parts(head, body), stored))
}

/// A response body that tells, by dropping `_sent`, when the server is done with it.
struct Announced {
    body: Body,
    _sent: tokio::sync::oneshot::Sender<()>,
}

impl http_body::Body for Announced {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The paid response with its receipt header (none when settlement is deferred), and its
/// stored copy.
fn paid(
    response: Response,
    receipt: Option<&SettleResponse>,
    v1: bool,
    body: Bytes,
) -> (Response, Option<Stored>) {
    let (mut head, _) = response.into_parts();
    if let Some((name, value)) = receipt.and_then(|r| receipt_header(r, v1)) {
        head.headers.insert(name, value);
    }
    if !head.headers.contains_key(header::CACHE_CONTROL) {
        head.headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    let stored = Stored {
        status: head.status,
        headers: head.headers.clone(),
        body: body.clone(),
    };
    (Response::from_parts(head, Body::from(body)), Some(stored))
}

/// The receipt as `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1).
fn receipt_header(receipt: &SettleResponse, v1: bool) -> Option<(HeaderName, HeaderValue)> {
    let (name, value) = if v1 {
        (
            X_PAYMENT_RESPONSE,
            codec::encode_x_payment_response(receipt),
        )
    } else {
        (PAYMENT_RESPONSE, codec::encode_payment_response(receipt))
    };
    let value = HeaderValue::try_from(value.ok()?).ok()?;
    Some((name, value))
}

fn replay(stored: Stored) -> Response {
    let mut r = Response::new(Body::from(stored.body));
    *r.status_mut() = stored.status;
    *r.headers_mut() = stored.headers;
    r
}

fn failure_text(receipt: &SettleResponse) -> &str {
    receipt
        .error_reason
        .as_ref()
        .map_or("settlement failed", Reason::as_str)
}

async fn run<S>(inner: S, parts: Parts, body: Bytes) -> Response
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Send,
    S::Future: Send,
{
    let mut inner = inner;
    match inner
        .call(Request::from_parts(parts, Body::from(body)))
        .await
    {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn read_payment(headers: &HeaderMap) -> Option<Result<Sent, x402_types::Error>> {
    let text = |v: &HeaderValue| v.to_str().map(str::to_owned).unwrap_or_default();
    if let Some(v) = headers.get(PAYMENT_SIGNATURE) {
        return Some(codec::decode_payment_signature(&text(v)).map(|p| Sent::V2(Box::new(p))));
    }
    headers
        .get(X_PAYMENT)
        .map(|v| codec::decode_x_payment(&text(v)).map(Sent::V1))
}

/// The 402 (or, after a failed settlement, 402 with the receipt) for a route.
struct Challenge<'a, F> {
    config: &'a Config<F>,
    resource: ResourceInfo,
    accepts: &'a [PaymentRequirements],
}

impl<F> Challenge<'_, F> {
    fn respond(&self, receipt: Option<(&SettleResponse, bool)>, error_text: &str) -> Response {
        let mut extensions = Map::new();
        if self.config.idempotency.is_some() {
            extensions.insert(
                idempotency::PAYMENT_IDENTIFIER.into(),
                idempotency::declaration(self.config.require_payment_id),
            );
        }
        let required = v2::PaymentRequired {
            x402_version: v2::VERSION,
            error: Some(error_text.to_owned()),
            resource: self.resource.clone(),
            accepts: self.accepts.to_vec(),
            extensions: (!extensions.is_empty()).then_some(extensions),
        };
        let body = v1::PaymentRequired {
            x402_version: v1::VERSION,
            error: error_text.to_owned(),
            accepts: self
                .accepts
                .iter()
                .map(|r| to_v1(r, &self.resource))
                .collect(),
        };
        let mut response = (StatusCode::PAYMENT_REQUIRED, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Ok(Ok(v)) = codec::encode_payment_required(&required).map(HeaderValue::try_from) {
            headers.insert(PAYMENT_REQUIRED, v);
        }
        if let Some((name, value)) = receipt.and_then(|(r, v1)| receipt_header(r, v1)) {
            headers.insert(name, value);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The v1 name of a requirement's network, or its CAIP-2 id when it has none.
fn v1_network(r: &PaymentRequirements) -> String {
    r.network
        .v1_name()
        .map_or_else(|| r.network.to_string(), str::to_owned)
}

/// A v2 requirement in v1 shape.
fn to_v1(r: &PaymentRequirements, resource: &ResourceInfo) -> v1::PaymentRequirements {
    v1::PaymentRequirements {
        scheme: r.scheme.clone(),
        network: v1_network(r),
        max_amount_required: r.amount,
        asset: r.asset.clone(),
        pay_to: r.pay_to.clone(),
        resource: resource.url.clone(),
        description: resource.description.clone().unwrap_or_default(),
        mime_type: resource.mime_type.clone().unwrap_or_default(),
        output_schema: None,
        max_timeout_seconds: r.max_timeout_seconds,
        extra: Some(r.extra.clone()),
    }
}

fn resource<F>(config: &Config<F>, parts: &Parts) -> ResourceInfo {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let origin = config.base_url.clone().unwrap_or_else(|| {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    });
    let mut r = ResourceInfo::new(format!("{origin}{path}"));
    r.description.clone_from(&config.description);
    r.mime_type.clone_from(&config.mime_type);
    r
}

/// What makes two paid requests "the same": method, URI, body and the requirement paid.
fn fingerprint(
    parts: &Parts,
    body: &Bytes,
    matched: &PaymentRequirements,
) -> alloy_primitives::B256 {
    let mut buf = Vec::with_capacity(body.len() + 256);
    buf.extend_from_slice(parts.method.as_str().as_bytes());
    buf.push(0);
    buf.extend_from_slice(parts.uri.to_string().as_bytes());
    buf.push(0);
    buf.extend_from_slice(keccak256(body).as_slice());
    buf.extend_from_slice(&serde_json::to_vec(matched).unwrap_or_default());
    keccak256(&buf)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut r = (
        status,
        Json(json!({"code": code, "message": message.into()})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn facilitator_down(e: &dyn std::error::Error) -> Response {
    tracing::warn!(error = %e, "facilitator gave no answer");
    error(
        StatusCode::BAD_GATEWAY,
        "facilitator_unavailable",
        e.to_string(),
    )
}

fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}

fn cors(h: &mut HeaderMap) {
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    if !h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deferred answer keeps its exact length (`Content-Length`, not chunked) and tells
    /// when the server is done with its body, which starts the settlement.
    #[tokio::test]
    async fn an_announced_body_keeps_its_length_and_tells_when_it_is_done() {
        let (sent, mut answered) = tokio::sync::oneshot::channel::<()>();
        let body = Body::new(Announced {
            body: Body::from("paid content"),
            _sent: sent,
        });
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(12));
        assert_eq!(
            answered.try_recv(),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty),
            "not yet"
        );
        assert_eq!(to_bytes(body, 64).await.unwrap(), "paid content");
        assert!(answered.await.is_err(), "the sender went with the body");
    }
}
