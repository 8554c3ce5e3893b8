//! The v1 messages (`specs/x402-specification-v1.md`; `research/x402.md` §1.3).
//!
//! v1 sends the challenge as the 402 JSON body ([`PaymentRequired`], upstream's
//! `PaymentRequirementsResponse`), the payment in `X-PAYMENT` ([`PaymentPayload`]) and the
//! receipt in `X-PAYMENT-RESPONSE` ([`crate::SettleResponse`]). Networks are names such as
//! `base-sepolia`; see [`crate::Network::from_v1_name`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result, TokenAmount, exact::ExactEvmPayload, v2::Extra};

/// `x402Version` of the messages in this module.
pub const VERSION: u8 = 1;

/// One acceptable way to pay, v1 shape (resource metadata per requirement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequirements {
    /// The scheme, e.g. `exact`.
    pub scheme: String,
    /// The v1 network name, e.g. `base-sepolia`.
    pub network: String,
    /// The price in the asset's smallest unit (v2: `amount`).
    pub max_amount_required: TokenAmount,
    /// The token contract.
    pub asset: String,
    /// The recipient.
    pub pay_to: String,
    /// The resource URL.
    pub resource: String,
    /// A human description (the legacy SDK requires the key; may be empty).
    #[serde(default)]
    pub description: String,
    /// The MIME type of the paid response (required key; may be empty).
    #[serde(default)]
    pub mime_type: String,
    /// A JSON schema of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// How long the client's authorization should stay valid.
    pub max_timeout_seconds: u64,
    /// Scheme-specific data (`{name, version}` for EVM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Extra>,
}

/// The 402 JSON body (`PaymentRequirementsResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// Always [`VERSION`].
    pub x402_version: u8,
    /// Why payment is required, e.g. `"X-PAYMENT header is required"`.
    #[serde(default)]
    pub error: String,
    /// The acceptable payments.
    pub accepts: Vec<PaymentRequirements>,
}

/// The client's payment, v1 shape (no `accepted`; matched on scheme and network).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// Always [`VERSION`].
    pub x402_version: u8,
    /// The scheme.
    pub scheme: String,
    /// The v1 network name.
    pub network: String,
    /// The scheme's payload.
    pub payload: Value,
}

impl PaymentPayload {
    /// `payload` as an EVM `exact` (EIP-3009) payload.
    pub fn exact_evm(&self) -> Result<ExactEvmPayload> {
        ExactEvmPayload::deserialize(&self.payload).map_err(|source| Error::Json {
            what: "payload",
            source,
        })
    }
}
