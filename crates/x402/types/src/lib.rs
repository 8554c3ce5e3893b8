#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`v2`]: the v2 messages (`PAYMENT-REQUIRED`, `PAYMENT-SIGNATURE`, `PAYMENT-RESPONSE`).
//! - [`v1`]: the v1 messages (402 JSON body, `X-PAYMENT`, `X-PAYMENT-RESPONSE`).
//! - [`facilitator`]: `/verify`, `/settle`, `/supported` bodies and the [`Facilitator`] trait.
//! - [`header`]: base64 header codecs with a size limit.
//! - [`network`]: CAIP-2 network ids and the v1 network names.
//! - [`reason`]: the canonical verify/settle reason strings.
//! - [`exact`]: the `exact` EVM scheme payload (EIP-3009), its EIP-712 hash and signature
//!   recovery.
//! - [`amount`]: decimal-string integers as x402 puts them on the wire.
//!
//! Spec: `x402-specification-v2.md` and `transports-v2/http.md` of `x402-foundation/x402`;
//! notes in `shared/research/x402.md` §1–§3.

pub mod amount;
mod error;
pub mod exact;
pub mod facilitator;
pub mod header;
pub mod network;
pub mod reason;
pub mod v1;
pub mod v2;

pub use amount::TokenAmount;
pub use error::{Error, Result};
pub use facilitator::{
    Facilitator, SettleRequest, SettleResponse, SupportedKind, SupportedResponse, VerifyRequest,
    VerifyResponse,
};
pub use network::Network;
pub use reason::Reason;
