//! The crate's error type.

/// Everything that can go wrong decoding, validating or verifying x402 data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A header value is longer than [`crate::header::MAX_ENCODED_LEN`].
    #[error("{header} header is {len} bytes, more than the {max}-byte limit")]
    HeaderTooLarge {
        /// The header's name.
        header: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A header value is not base64 (standard or URL-safe, padded or not).
    #[error("{header} header is not valid base64: {source}")]
    Base64 {
        /// The header's name.
        header: &'static str,
        /// The decoder's complaint.
        source: base64::DecodeError,
    },
    /// A header value decodes to bytes that are not UTF-8.
    #[error("{header} header does not decode to UTF-8 text")]
    Utf8 {
        /// The header's name.
        header: &'static str,
    },
    /// JSON that does not have the shape of the expected message.
    #[error("{what} is not valid JSON of the expected shape: {source}")]
    Json {
        /// What was being decoded.
        what: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// A message of the wrong protocol version (`x402Version`).
    #[error("expected x402Version {expected}, got {got}")]
    Version {
        /// The version this decoder handles.
        expected: u8,
        /// The version in the message.
        got: u8,
    },
    /// Not a CAIP-2 network id (`namespace:reference`).
    #[error("invalid CAIP-2 network id {0:?}")]
    Network(String),
    /// A network that is not an EVM chain (`eip155:<chainId>`) where one is required.
    #[error("network {0} is not an eip155 chain")]
    NotEvm(String),
    /// Not a non-negative decimal integer that fits in 256 bits.
    #[error("invalid decimal amount {0:?}")]
    Amount(String),
    /// Not a 20-byte hex address.
    #[error("invalid EVM address {0:?}")]
    Address(String),
    /// `extra.name` or `extra.version` missing: the token's EIP-712 domain is unknown.
    #[error("requirements lack extra.name/extra.version (the token's EIP-712 domain)")]
    MissingEip712Domain,
    /// A signature that is not a canonical 65-byte secp256k1 signature, or does not recover.
    #[error("bad signature: {0}")]
    Signature(&'static str),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
