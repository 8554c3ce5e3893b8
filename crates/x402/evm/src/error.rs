//! The crate's error type: why a backend could not be built. Verification and settlement
//! never fail; they answer with a reason (`unexpected_verify_error` / `unexpected_settle_error`
//! when the RPC is the problem).

/// Why [`crate::EvmBackend::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured network is not `eip155:<chainId>`.
    #[error("network {0} is not an eip155 chain")]
    Network(String),
    /// `rpc_url` does not parse as an http(s) URL.
    #[error("rpc_url is not an http(s) URL: {0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// The RPC endpoint did not answer (the message never contains the URL).
    #[error("RPC: {0}")]
    Rpc(String),
    /// The RPC endpoint serves another chain.
    #[error("the RPC serves chain {actual}, the config says {expected}")]
    ChainMismatch {
        /// The configured chain id.
        expected: u64,
        /// `eth_chainId`.
        actual: u64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
