//! Serving under a lease (issue 10, requirement 2; ADR 0004 "Serving under a lease"): the
//! gate a provider puts in front of its OpenAI-compatible router, so that it serves the
//! tenant of a lease — and nobody else — up to the leased capacity.
//!
//! A tenant signs every request and sends the signature in an [`X-Lease`](HEADER) header:
//!
//! ```text
//! X-Lease: <lease id>.<nonce>.<0x + 130 hex digits: the 65-byte r ‖ s ‖ v signature>
//! ```
//!
//! The nonce is the tenant's clock in unix milliseconds. The signature is an EIP-191 personal
//! signature ([`request_hash`]) over the method, the path and query, the body's hash, the lease,
//! the nonce and the chain, so a header is good for exactly one request, to one provider's
//! chain, once. For every request the gate ([`gate`]), in this order:
//!
//! 1. parses the header (missing or malformed: 403) and checks that the nonce is within
//!    [`FRESHNESS_MS`] of the provider's clock (403);
//! 2. reads the body, at most [`MAX_BODY`] bytes (413), and recovers the signer (403);
//! 3. looks the lease up through a [`LeaseSource`], cached for [`CACHE_TTL`] (unknown: 403;
//!    the source failing: 503), and requires the signer to be its tenant, this provider to be
//!    its provider and the lease to be served at the chain's head (403 each);
//! 4. refuses a nonce it has already accepted for the lease (403), then takes a token from the
//!    lease's bucket — rate and burst both the leased requests per second — or answers 429 with
//!    `Retry-After`. A 429 does not use the nonce up: the same header may be retried.
//!
//! Refusals are OpenAI-style JSON errors, `{"error": {"message", "type": "lease_error",
//! "param": null, "code"}}`, with a stable [`GateError::code`]. A served request reaches the
//! router with its body restored and the [`LeaseView`] in its extensions.
//!
//! Signing ([`sign_request`]), parsing ([`parse_header`]) and the hash are pure functions; the
//! gate's bookkeeping (nonces seen, token buckets) takes the time as an argument; only the
//! middleware reads clocks.

mod admission;
mod error;
mod header;
mod source;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, header::CONTENT_LENGTH},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;

use admission::Admissions;
pub use error::GateError;
pub use header::{
    DOMAIN, FRESHNESS_MS, LeaseHeader, MAX_HEADER_LEN, is_fresh, parse_header, request_hash,
    sign_request, sign_request_at,
};
pub use source::{LeaseSource, LeaseView, MemoryLeases, NodeLeases};

/// The request header that carries a lease signature.
pub const HEADER: &str = "x-lease";
/// The largest request body the gate reads (413 above).
pub const MAX_BODY: usize = 1 << 20;
/// How long the gate trusts a lease it has looked up.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// How long the gate waits for its [`LeaseSource`] before answering 503.
pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most leases whose lookup is cached at once.
const MAX_CACHED_LEASES: usize = 4096;

/// One cached lookup.
#[derive(Debug, Clone)]
struct Cached {
    at: Instant,
    view: Option<LeaseView>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Lookups cached for [`CACHE_TTL`]; concurrent requests for one lease share one lookup.
#[derive(Debug, Default)]
struct LeaseCache {
    slots: Mutex<HashMap<u64, Slot>>,
}

impl LeaseCache {
    async fn get<S: LeaseSource>(
        &self,
        source: &S,
        id: u64,
    ) -> Result<Option<LeaseView>, GateError> {
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.at.elapsed() < CACHE_TTL) {
            return Ok(c.view.clone());
        }
        let view = match tokio::time::timeout(SOURCE_TIMEOUT, source.lease(id)).await {
            Ok(Ok(view)) => view,
            Ok(Err(e)) => {
                tracing::warn!(lease = id, error = %e, "lease gate: the lease source failed");
                return Err(GateError::SourceUnavailable);
            }
            Err(_) => {
                tracing::warn!(lease = id, "lease gate: the lease source timed out");
                return Err(GateError::SourceUnavailable);
            }
        };
        *slot = Some(Cached {
            at: Instant::now(),
            view: view.clone(),
        });
        Ok(view)
    }

    /// The slot of lease `id`; past [`MAX_CACHED_LEASES`], expired idle slots are dropped, and
    /// if that is not enough the lookup goes uncached.
    fn slot(&self, id: u64) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(&id) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_CACHED_LEASES {
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot
                        .try_lock()
                        .is_ok_and(|c| c.as_ref().is_some_and(|c| c.at.elapsed() < CACHE_TTL))
            });
        }
        let slot = Slot::default();
        if slots.len() < MAX_CACHED_LEASES {
            slots.insert(id, Arc::clone(&slot));
        }
        slot
    }
}

/// The gate's state, shared by every request.
struct Gate<S> {
    provider: Address,
    chain_id: u64,
    source: S,
    cache: LeaseCache,
    admissions: Mutex<Admissions>,
}

/// `router` behind the lease gate: every request must carry the `X-Lease` header of a lease
/// that `provider` serves on chain `chain_id`, signed by its tenant, within the lease's
/// capacity (see the module docs for the checks and their order). Leases come from `source`.
///
/// Routes meant to be public (health checks) go outside: `Router::new().route("/health",
/// ..).merge(gate(model, ..))`.
pub fn gate<S: LeaseSource>(router: Router, provider: Address, chain_id: u64, source: S) -> Router {
    let state = Arc::new(Gate {
        provider,
        chain_id,
        source,
        cache: LeaseCache::default(),
        admissions: Mutex::new(Admissions::default()),
    });
    router.layer(middleware::from_fn_with_state(state, check::<S>))
}

async fn check<S: LeaseSource>(
    State(gate): State<Arc<Gate<S>>>,
    req: Request,
    next: Next,
) -> Response {
    match gate.admit(req).await {
        Ok(req) => next.run(req).await,
        Err(e) => {
            tracing::debug!(code = e.code(), reason = %e, "lease gate: refused");
            e.into_response()
        }
    }
}

impl<S: LeaseSource> Gate<S> {
    /// The request with its body restored and its lease in the extensions, or why not.
    async fn admit(&self, req: Request) -> Result<Request, GateError> {
        let mut values = req.headers().get_all(HEADER).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(if req.headers().contains_key(HEADER) {
                GateError::BadHeader("more than one X-Lease header")
            } else {
                GateError::MissingLease
            });
        };
        let value = value
            .to_str()
            .map_err(|_| GateError::BadHeader("not visible ASCII"))?;
        let lease_header = parse_header(value)?;
        let now_ms = header::unix_ms();
        if !is_fresh(lease_header.nonce, now_ms) {
            return Err(GateError::StaleNonce {
                nonce: lease_header.nonce,
                now: now_ms,
            });
        }

        let (parts, body) = req.into_parts();
        let body = read_body(&parts.headers, body).await?;
        // The target as the client sent it: under `Router::nest` the URI seen here has the
        // prefix stripped, and the original is in the request's extensions.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let hash = request_hash(
            self.chain_id,
            lease_header.lease_id,
            lease_header.nonce,
            parts.method.as_str(),
            path_and_query,
            &body,
        );
        let signer = lease_header
            .recover(&hash)
            .map_err(|e| GateError::BadSignature(e.to_string()))?;

        let lease = self
            .cache
            .get(&self.source, lease_header.lease_id)
            .await?
            .ok_or(GateError::UnknownLease(lease_header.lease_id))?;
        if signer != lease.tenant {
            return Err(GateError::NotTenant { signer });
        }
        if lease.provider != self.provider {
            return Err(GateError::WrongProvider);
        }
        if !lease.serving {
            return Err(GateError::NotServing);
        }
        self.admissions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&lease, lease_header.nonce, now_ms, Instant::now())?;

        let mut req = Request::from_parts(parts, Body::from(body));
        req.extensions_mut().insert(lease);
        Ok(req)
    }
}

/// The whole body, refusing more than [`MAX_BODY`] bytes (by `Content-Length` before reading,
/// and while reading).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, GateError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(GateError::BodyTooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| GateError::UnreadableBody)?;
        if out.len().saturating_add(chunk.len()) > MAX_BODY {
            return Err(GateError::BodyTooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[tokio::test]
    async fn bodies_are_read_up_to_the_limit_even_without_a_length() {
        let exact = read_body(&HeaderMap::new(), Body::from(vec![7u8; MAX_BODY])).await;
        assert_eq!(exact.map(|b| b.len()), Ok(MAX_BODY));
        let over = read_body(&HeaderMap::new(), Body::from(vec![7u8; MAX_BODY + 1])).await;
        assert_eq!(over, Err(GateError::BodyTooLarge));
        let mut declared = HeaderMap::new();
        declared.insert(CONTENT_LENGTH, HeaderValue::from(MAX_BODY + 1));
        let early = read_body(&declared, Body::empty()).await;
        assert_eq!(early, Err(GateError::BodyTooLarge));
    }
}
