//! The facilitator HTTP API (`research/x402.md` §3): the bodies of `POST /verify`,
//! `POST /settle` and `GET /supported`, the receipt carried by `PAYMENT-RESPONSE`, and the
//! [`Facilitator`] trait a server calls (over HTTP or in process).

use std::{collections::BTreeMap, future::Future};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Reason, Result, TokenAmount, v1, v2};

/// A facilitator: verifies and settles payments, and says which kinds it handles.
///
/// Rejections are answers, not errors: `verify` returns `isValid: false` with a [`Reason`],
/// `settle` returns `success: false`. `Self::Error` is for failures to answer at all
/// (transport, timeouts, malformed responses).
pub trait Facilitator: Send + Sync {
    /// Why no answer could be obtained.
    type Error: std::error::Error + Send + Sync + 'static;

    /// `POST /verify`.
    fn verify(
        &self,
        request: &VerifyRequest,
    ) -> impl Future<Output = Result<VerifyResponse, Self::Error>> + Send;

    /// `POST /settle`.
    fn settle(
        &self,
        request: &SettleRequest,
    ) -> impl Future<Output = Result<SettleResponse, Self::Error>> + Send;

    /// `GET /supported`.
    fn supported(&self) -> impl Future<Output = Result<SupportedResponse, Self::Error>> + Send;
}

/// The body of `POST /verify` (and `POST /settle`, see [`SettleRequest`]).
///
/// Payload and requirements stay JSON values so that the payload reaches the facilitator
/// exactly as the client sent it; [`VerifyRequest::v2`] and [`VerifyRequest::v1`] give typed
/// views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    /// The protocol version of both messages.
    pub x402_version: u8,
    /// The client's payment.
    pub payment_payload: Value,
    /// The server's requirements it matched.
    pub payment_requirements: Value,
}

/// The body of `POST /settle`: the same shape as `/verify`.
pub type SettleRequest = VerifyRequest;

impl VerifyRequest {
    /// A v2 request.
    pub fn new_v2(
        payload: &v2::PaymentPayload,
        requirements: &v2::PaymentRequirements,
    ) -> Result<Self> {
        Ok(Self {
            x402_version: v2::VERSION,
            payment_payload: to_value("paymentPayload", payload)?,
            payment_requirements: to_value("paymentRequirements", requirements)?,
        })
    }

    /// A v1 request.
    pub fn new_v1(
        payload: &v1::PaymentPayload,
        requirements: &v1::PaymentRequirements,
    ) -> Result<Self> {
        Ok(Self {
            x402_version: v1::VERSION,
            payment_payload: to_value("paymentPayload", payload)?,
            payment_requirements: to_value("paymentRequirements", requirements)?,
        })
    }

    /// The typed v2 messages; [`Error::Version`] if this is not a v2 request.
    pub fn v2(&self) -> Result<(v2::PaymentPayload, v2::PaymentRequirements)> {
        check_version(v2::VERSION, self.x402_version)?;
        let payload: v2::PaymentPayload = from_value("paymentPayload", &self.payment_payload)?;
        check_version(v2::VERSION, payload.x402_version)?;
        Ok((
            payload,
            from_value("paymentRequirements", &self.payment_requirements)?,
        ))
    }

    /// The typed v1 messages; [`Error::Version`] if this is not a v1 request.
    pub fn v1(&self) -> Result<(v1::PaymentPayload, v1::PaymentRequirements)> {
        check_version(v1::VERSION, self.x402_version)?;
        let payload: v1::PaymentPayload = from_value("paymentPayload", &self.payment_payload)?;
        check_version(v1::VERSION, payload.x402_version)?;
        Ok((
            payload,
            from_value("paymentRequirements", &self.payment_requirements)?,
        ))
    }
}

pub(crate) fn check_version(expected: u8, got: u8) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::Version { expected, got })
    }
}

fn to_value(what: &'static str, v: &impl Serialize) -> Result<Value> {
    serde_json::to_value(v).map_err(|source| Error::Json { what, source })
}

fn from_value<T: serde::de::DeserializeOwned>(what: &'static str, v: &Value) -> Result<T> {
    T::deserialize(v).map_err(|source| Error::Json { what, source })
}

/// The answer of `POST /verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the payment would settle.
    pub is_valid: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<Reason>,
    /// A human explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_message: Option<String>,
    /// The payer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// Extension results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

impl VerifyResponse {
    /// A valid payment by `payer`.
    pub fn valid(payer: impl Into<String>) -> Self {
        Self {
            is_valid: true,
            invalid_reason: None,
            invalid_message: None,
            payer: Some(payer.into()),
            extensions: None,
        }
    }

    /// A rejected payment.
    pub fn invalid(reason: Reason, payer: Option<String>) -> Self {
        Self {
            is_valid: false,
            invalid_reason: Some(reason),
            invalid_message: None,
            payer,
            extensions: None,
        }
    }
}

/// The answer of `POST /settle`, and the receipt in `PAYMENT-RESPONSE` (v2) and
/// `X-PAYMENT-RESPONSE` (v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettleResponse {
    /// Whether the payment settled.
    pub success: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<Reason>,
    /// A human explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The payer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<String>,
    /// The settlement transaction hash; `""` on failure (or the pending hash with
    /// [`Reason::SettlementPending`]).
    #[serde(default)]
    pub transaction: String,
    /// The network (CAIP-2 in v2, a name in v1). Required by the spec; tolerated missing on
    /// input (some facilitators omit it on failures).
    #[serde(default)]
    pub network: String,
    /// The amount actually charged (`upto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TokenAmount>,
    /// Extension results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

/// One kind a facilitator handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedKind {
    /// The protocol version.
    pub x402_version: u8,
    /// The scheme.
    pub scheme: String,
    /// The network (CAIP-2 in v2, a name in v1).
    pub network: String,
    /// Kind-specific data (`feePayer`, `facilitatorAddress`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
}

/// The answer of `GET /supported`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedResponse {
    /// The kinds handled.
    pub kinds: Vec<SupportedKind>,
    /// Extension keys implemented (absent in v1 → empty).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Signer addresses by CAIP-2 pattern (`eip155:*`) (absent in v1 → empty).
    #[serde(default)]
    pub signers: BTreeMap<String, Vec<String>>,
}
