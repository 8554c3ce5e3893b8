//! The x402 HTTP headers: UTF-8 JSON, base64-encoded (`transports-v2/http.md`,
//! `transports-v1/http.md`; `research/x402.md` §1.1).
//!
//! Output is standard base64 with padding (RFC 4648 §4, what the TypeScript SDK's decoder
//! accepts). Input may also be URL-safe (§5) and/or unpadded, and may carry surrounding
//! whitespace; mixing the two alphabets is an error. Values longer than [`MAX_ENCODED_LEN`]
//! are refused before decoding.
//!
//! | header | version | message |
//! | --- | --- | --- |
//! | `PAYMENT-REQUIRED` | v2 | [`v2::PaymentRequired`] |
//! | `PAYMENT-SIGNATURE` | v2 | [`v2::PaymentPayload`] |
//! | `PAYMENT-RESPONSE` | v2 | [`SettleResponse`] |
//! | `X-PAYMENT` | v1 | [`v1::PaymentPayload`] |
//! | `X-PAYMENT-RESPONSE` | v1 | [`SettleResponse`] |
//!
//! HTTP header names are case-insensitive; the constants are the spec's spelling.

use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
use serde::{Deserialize as _, Serialize, de::DeserializeOwned};

use crate::{Error, Result, SettleResponse, facilitator::check_version, v1, v2};

/// `PAYMENT-REQUIRED` (v2 challenge).
pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// `PAYMENT-SIGNATURE` (v2 payment).
pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// `PAYMENT-RESPONSE` (v2 receipt).
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
/// `X-PAYMENT` (v1 payment).
pub const X_PAYMENT: &str = "X-PAYMENT";
/// `X-PAYMENT-RESPONSE` (v1 receipt).
pub const X_PAYMENT_RESPONSE: &str = "X-PAYMENT-RESPONSE";

/// The largest header value accepted for decoding, in bytes (64 KiB: a challenge with
/// several requirements and extension schemas is a few KiB; servers commonly cap all headers
/// at 8–16 KiB).
pub const MAX_ENCODED_LEN: usize = 64 * 1024;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Encodes `value` as standard padded base64 of its JSON.
pub fn encode(header: &'static str, value: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(value).map_err(|source| Error::Json {
        what: header,
        source,
    })?;
    Ok(STANDARD.encode(json))
}

/// Decodes a header value (see the module docs for what is accepted) into JSON of type `T`.
pub fn decode<T: DeserializeOwned>(header: &'static str, value: &str) -> Result<T> {
    let bytes = decode_bytes(header, value)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| Error::Utf8 { header })?;
    serde_json::from_str(text).map_err(|source| Error::Json {
        what: header,
        source,
    })
}

/// Decodes a header value whose JSON carries `x402Version`, checking the version before the
/// shape so that a message of the other version gets [`Error::Version`].
fn decode_versioned<T: DeserializeOwned>(
    header: &'static str,
    value: &str,
    expected: u8,
) -> Result<T> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        #[serde(rename = "x402Version")]
        x402_version: u8,
    }
    let json: serde_json::Value = decode(header, value)?;
    let v = Versioned::deserialize(&json).map_err(|source| Error::Json {
        what: header,
        source,
    })?;
    check_version(expected, v.x402_version)?;
    T::deserialize(json).map_err(|source| Error::Json {
        what: header,
        source,
    })
}

/// Decodes the base64 of a header value, with the size limit.
pub fn decode_bytes(header: &'static str, value: &str) -> Result<Vec<u8>> {
    if value.len() > MAX_ENCODED_LEN {
        return Err(Error::HeaderTooLarge {
            header,
            len: value.len(),
            max: MAX_ENCODED_LEN,
        });
    }
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    let engine = if value.bytes().any(|b| b == b'-' || b == b'_') {
        &LENIENT_URL_SAFE
    } else {
        &LENIENT_STANDARD
    };
    engine
        .decode(value)
        .map_err(|source| Error::Base64 { header, source })
}

/// Encodes a `PAYMENT-REQUIRED` value.
pub fn encode_payment_required(value: &v2::PaymentRequired) -> Result<String> {
    encode(PAYMENT_REQUIRED, value)
}

/// Decodes a `PAYMENT-REQUIRED` value (must be `x402Version` 2).
pub fn decode_payment_required(value: &str) -> Result<v2::PaymentRequired> {
    decode_versioned(PAYMENT_REQUIRED, value, v2::VERSION)
}

/// Encodes a `PAYMENT-SIGNATURE` value.
pub fn encode_payment_signature(value: &v2::PaymentPayload) -> Result<String> {
    encode(PAYMENT_SIGNATURE, value)
}

/// Decodes a `PAYMENT-SIGNATURE` value (must be `x402Version` 2).
pub fn decode_payment_signature(value: &str) -> Result<v2::PaymentPayload> {
    decode_versioned(PAYMENT_SIGNATURE, value, v2::VERSION)
}

/// Encodes a `PAYMENT-RESPONSE` value.
pub fn encode_payment_response(value: &SettleResponse) -> Result<String> {
    encode(PAYMENT_RESPONSE, value)
}

/// Decodes a `PAYMENT-RESPONSE` value.
pub fn decode_payment_response(value: &str) -> Result<SettleResponse> {
    decode(PAYMENT_RESPONSE, value)
}

/// Encodes an `X-PAYMENT` value.
pub fn encode_x_payment(value: &v1::PaymentPayload) -> Result<String> {
    encode(X_PAYMENT, value)
}

/// Decodes an `X-PAYMENT` value (must be `x402Version` 1).
pub fn decode_x_payment(value: &str) -> Result<v1::PaymentPayload> {
    decode_versioned(X_PAYMENT, value, v1::VERSION)
}

/// Encodes an `X-PAYMENT-RESPONSE` value.
pub fn encode_x_payment_response(value: &SettleResponse) -> Result<String> {
    encode(X_PAYMENT_RESPONSE, value)
}

/// Decodes an `X-PAYMENT-RESPONSE` value.
pub fn decode_x_payment_response(value: &str) -> Result<SettleResponse> {
    decode(X_PAYMENT_RESPONSE, value)
}
