//! The crate's error type.

/// Result with [`TeeError`] as the default error.
pub type Result<T, E = TeeError> = std::result::Result<T, E>;

/// Why a quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeeError {
    /// The quote or the collateral is larger than its bound; nothing was parsed.
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// `"quote"` or `"collateral"`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The quote bytes do not parse as a DCAP quote (v3 SGX, v4/v5 TDX).
    #[error("malformed quote: {0}")]
    MalformedQuote(String),
    /// The collateral is not `QuoteCollateralV3` JSON.
    #[error("malformed collateral: {0}")]
    MalformedCollateral(String),
    /// The quote parsed but did not verify: certificate chains, CRLs, signatures, TCB
    /// matching, collateral dates or report attributes; the reason is dcap-qvl's.
    #[error("quote verification failed: {0}")]
    VerificationFailed(String),
    /// The quote verified but its report data is not the binding of the expected key. (Boxed:
    /// 128 bytes inline would make every `Result` of the crate that large.)
    #[error(
        "quote is not bound to the key: report data {}, expected {}",
        hex::encode(&.found[..]),
        hex::encode(&.expected[..])
    )]
    NotBound {
        /// [`crate::key_binding`] of the address.
        expected: Box<[u8; 64]>,
        /// The quote's report data.
        found: Box<[u8; 64]>,
    },
}
