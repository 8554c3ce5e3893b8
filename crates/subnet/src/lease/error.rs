//! Why the gate refuses a request, and how each refusal is answered.

use std::{fmt, time::Duration};

use alloy_primitives::Address;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{FRESHNESS_MS, MAX_BODY};

/// Why the gate refused a request. [`GateError::code`] is stable and machine-readable; the
/// HTTP status is in the one [`IntoResponse`] impl.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GateError {
    /// No `X-Lease` header (403 `missing_lease`).
    MissingLease,
    /// An `X-Lease` header that does not parse, or more than one (403 `bad_lease_header`).
    BadHeader(&'static str),
    /// A signature that is not a valid low-`s` signature (403 `bad_signature`).
    BadSignature(String),
    /// A nonce too far from the provider's clock (403 `stale_nonce`).
    StaleNonce {
        /// The header's nonce.
        nonce: u64,
        /// The provider's clock, unix milliseconds.
        now: u64,
    },
    /// A body over [`MAX_BODY`] (413 `body_too_large`).
    BodyTooLarge,
    /// A body that could not be read (400 `unreadable_body`).
    UnreadableBody,
    /// No such lease (403 `unknown_lease`).
    UnknownLease(u64),
    /// The signer is not the lease's tenant, or the request was altered after signing (403
    /// `not_tenant`).
    NotTenant {
        /// Who signed what the provider received.
        signer: Address,
    },
    /// The lease is another provider's (403 `wrong_provider`).
    WrongProvider,
    /// The lease has not started, has ended, ran out of funds or was closed (403
    /// `lease_not_serving`).
    NotServing,
    /// The lease already accepted this nonce (403 `replayed_nonce`).
    ReplayedNonce,
    /// The lease's token bucket is empty (429 `over_capacity`, with `Retry-After`).
    OverCapacity {
        /// How long until the next token.
        retry_after: Duration,
    },
    /// The lease source failed or timed out (503 `lease_source_unavailable`).
    SourceUnavailable,
}

impl GateError {
    /// The stable machine-readable code, the `code` of the JSON error.
    pub fn code(&self) -> &'static str {
        match self {
            GateError::MissingLease => "missing_lease",
            GateError::BadHeader(_) => "bad_lease_header",
            GateError::BadSignature(_) => "bad_signature",
            GateError::StaleNonce { .. } => "stale_nonce",
            GateError::BodyTooLarge => "body_too_large",
            GateError::UnreadableBody => "unreadable_body",
            GateError::UnknownLease(_) => "unknown_lease",
            GateError::NotTenant { .. } => "not_tenant",
            GateError::WrongProvider => "wrong_provider",
            GateError::NotServing => "lease_not_serving",
            GateError::ReplayedNonce => "replayed_nonce",
            GateError::OverCapacity { .. } => "over_capacity",
            GateError::SourceUnavailable => "lease_source_unavailable",
        }
    }
}

/// Whole seconds to wait, rounded up, at least one.
fn retry_after_secs(wait: Duration) -> u64 {
    u64::try_from(wait.as_micros().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::MissingLease => f.write_str(
                "this provider serves leases only: sign the request and send it in an \
                 X-Lease header",
            ),
            GateError::BadHeader(why) => write!(
                f,
                "malformed X-Lease header ({why}); expected <lease id>.<nonce>.<0x signature>"
            ),
            GateError::BadSignature(why) => write!(f, "invalid X-Lease signature: {why}"),
            GateError::StaleNonce { nonce, now } => write!(
                f,
                "the X-Lease nonce {nonce} is more than {} s from the provider's clock \
                 ({now} ms since 1970)",
                FRESHNESS_MS / 1000
            ),
            GateError::BodyTooLarge => {
                write!(f, "the request body is larger than {MAX_BODY} bytes")
            }
            GateError::UnreadableBody => f.write_str("the request body could not be read"),
            GateError::UnknownLease(id) => write!(f, "there is no lease {id}"),
            GateError::NotTenant { signer } => write!(
                f,
                "the request is signed by {signer}, not by the lease's tenant (or it was \
                 altered after signing)"
            ),
            GateError::WrongProvider => f.write_str("lease is for another provider"),
            GateError::NotServing => {
                f.write_str("lease is not being served: ended, exhausted or closed")
            }
            GateError::ReplayedNonce => f.write_str(
                "this X-Lease header was already used (replayed nonce); sign every request \
                 with a fresh nonce",
            ),
            GateError::OverCapacity { retry_after } => write!(
                f,
                "over the lease's capacity; retry after {} s",
                retry_after_secs(*retry_after)
            ),
            GateError::SourceUnavailable => {
                f.write_str("the provider cannot look leases up right now; try again shortly")
            }
        }
    }
}

impl std::error::Error for GateError {}

impl IntoResponse for GateError {
    fn into_response(self) -> Response {
        let (status, retry_after) = match &self {
            GateError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None),
            GateError::UnreadableBody => (StatusCode::BAD_REQUEST, None),
            GateError::OverCapacity { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                Some(retry_after_secs(*retry_after)),
            ),
            GateError::SourceUnavailable => (StatusCode::SERVICE_UNAVAILABLE, Some(1)),
            _ => (StatusCode::FORBIDDEN, None),
        };
        let body = json!({ "error": {
            "message": self.to_string(), "type": "lease_error", "param": null,
            "code": self.code(),
        }});
        let mut resp = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_statuses_and_codes() {
        let cases = [
            (GateError::MissingLease, 403, "missing_lease"),
            (GateError::BadHeader("x"), 403, "bad_lease_header"),
            (GateError::BadSignature("x".into()), 403, "bad_signature"),
            (
                GateError::StaleNonce { nonce: 0, now: 0 },
                403,
                "stale_nonce",
            ),
            (GateError::BodyTooLarge, 413, "body_too_large"),
            (GateError::UnreadableBody, 400, "unreadable_body"),
            (GateError::UnknownLease(1), 403, "unknown_lease"),
            (
                GateError::NotTenant {
                    signer: Address::ZERO,
                },
                403,
                "not_tenant",
            ),
            (GateError::WrongProvider, 403, "wrong_provider"),
            (GateError::NotServing, 403, "lease_not_serving"),
            (GateError::ReplayedNonce, 403, "replayed_nonce"),
            (
                GateError::OverCapacity {
                    retry_after: Duration::from_millis(1_200),
                },
                429,
                "over_capacity",
            ),
            (
                GateError::SourceUnavailable,
                503,
                "lease_source_unavailable",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.code(), code);
            let resp = e.into_response();
            assert_eq!(resp.status().as_u16(), status, "{code}");
            if status == 429 {
                assert_eq!(resp.headers()[header::RETRY_AFTER], "2");
            }
        }
    }
}
