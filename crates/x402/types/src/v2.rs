//! The v2 messages (`specs/x402-specification-v2.md` §5; `research/x402.md` §1.2).
//!
//! - [`PaymentRequired`]: the 402 challenge, base64'd into `PAYMENT-REQUIRED`.
//! - [`PaymentPayload`]: the client's payment, base64'd into `PAYMENT-SIGNATURE`.
//! - The receipt in `PAYMENT-RESPONSE` is [`crate::SettleResponse`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Network, Result, TokenAmount, exact::ExactEvmPayload};

/// `x402Version` of the messages in this module.
pub const VERSION: u8 = 2;

/// The paid resource (`ResourceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// The resource's URL.
    pub url: String,
    /// A human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The MIME type of the paid response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Bazaar metadata and later additions (`serviceName`, `tags`, `iconUrl`, …), verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ResourceInfo {
    /// A resource with only a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            description: None,
            mime_type: None,
            other: Map::new(),
        }
    }
}

/// Scheme-specific `extra` of a requirement. For EVM `exact` it carries the token's EIP-712
/// domain `name` and `version`; every other key is kept verbatim in `other`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Extra {
    /// The token's EIP-712 domain name (e.g. `"USDC"` on Base Sepolia, `"USD Coin"` on Base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The token's EIP-712 domain version (e.g. `"2"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other keys (`assetTransferMethod`, `feePayer`, `facilitatorAddress`, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Extra {
    /// `{name, version}`, the EVM `exact` EIP-712 domain.
    pub fn eip712(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            version: Some(version.into()),
            other: Map::new(),
        }
    }
}

/// One acceptable way to pay (`PaymentRequirements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// The scheme, e.g. `exact`.
    pub scheme: String,
    /// The CAIP-2 network.
    pub network: Network,
    /// The price in the asset's smallest unit.
    pub amount: TokenAmount,
    /// The token contract (or mint, or currency code).
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// How long the client's authorization should stay valid.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data. Always written (`{}` when empty): the TypeScript type
    /// `PaymentRequirements.extra` is not optional. Missing on input reads as empty.
    #[serde(default)]
    pub extra: Extra,
}

/// The 402 challenge (`PaymentRequired`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Always [`VERSION`].
    pub x402_version: u8,
    /// Why payment is (still) required, e.g. `"PAYMENT-SIGNATURE header is required"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The paid resource.
    pub resource: ResourceInfo,
    /// The acceptable payments.
    pub accepts: Vec<PaymentRequirements>,
    /// Declared extensions, `key -> {info, schema}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

/// The client's payment (`PaymentPayload`).
///
/// `accepted` and `payload` are kept as JSON values: `accepted` must be the server's entry
/// echoed verbatim (the reference server matches it with a deep equality), and `payload` is
/// scheme-specific. Typed views: [`PaymentPayload::requirements`],
/// [`PaymentPayload::exact_evm`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Always [`VERSION`].
    pub x402_version: u8,
    /// The resource, echoed from the 402 (optional since TS 2.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceInfo>,
    /// The chosen [`PaymentRequirements`], exactly as the server sent it.
    pub accepted: Value,
    /// The scheme's payload (for EVM `exact`/EIP-3009: `{signature, authorization}`).
    pub payload: Value,
    /// Extensions echoed from the 402, plus the client's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

impl PaymentPayload {
    /// A payload for `accepted`, echoing it as JSON.
    pub fn new(
        accepted: &PaymentRequirements,
        resource: Option<ResourceInfo>,
        payload: &ExactEvmPayload,
    ) -> Result<Self> {
        let json = |what, e| Error::Json { what, source: e };
        Ok(Self {
            x402_version: VERSION,
            resource,
            accepted: serde_json::to_value(accepted).map_err(|e| json("accepted", e))?,
            payload: serde_json::to_value(payload).map_err(|e| json("payload", e))?,
            extensions: None,
        })
    }

    /// `accepted` as typed requirements.
    pub fn requirements(&self) -> Result<PaymentRequirements> {
        PaymentRequirements::deserialize(&self.accepted).map_err(|source| Error::Json {
            what: "accepted",
            source,
        })
    }

    /// Whether `accepted` is exactly `requirements` (the reference server's deep equality).
    pub fn accepts(&self, requirements: &PaymentRequirements) -> bool {
        serde_json::to_value(requirements).is_ok_and(|v| v == self.accepted)
    }

    /// `payload` as an EVM `exact` (EIP-3009) payload.
    pub fn exact_evm(&self) -> Result<ExactEvmPayload> {
        ExactEvmPayload::deserialize(&self.payload).map_err(|source| Error::Json {
            what: "payload",
            source,
        })
    }
}
