//! [`EvmConfig`]: which chain, which RPC endpoint, and how long to wait.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use x402_types::Network;

/// How long settlement waits for a receipt by default before answering `settlement_pending`
/// (the reference's `confirmationTimeoutMs` is 180 s; a paid HTTP request should not hang that
/// long, `research/x402.md` §2.1 and §3).
pub const DEFAULT_RECEIPT_TIMEOUT_MS: u64 = 30_000;
/// Receipt polling interval by default.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 250;
/// Timeout of one JSON-RPC request by default.
pub const DEFAULT_RPC_TIMEOUT_MS: u64 = 10_000;

/// One EVM chain to verify and settle on. The relayer key is passed separately to
/// [`crate::EvmBackend::connect`], never kept in a config file.
///
/// ```toml
/// network = "eip155:84532"
/// rpc_url = "https://sepolia.base.org"
/// receipt_timeout_ms = 30000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmConfig {
    /// The CAIP-2 network served, `eip155:<chainId>`; `connect` checks the RPC's
    /// `eth_chainId` against it.
    pub network: Network,
    /// The JSON-RPC endpoint (`http://` or `https://`). It may carry
    /// an API key: it is never logged nor put in answers.
    pub rpc_url: String,
    /// How long `settle` waits for the receipt before answering `settlement_pending` with the
    /// transaction hash.
    #[serde(default = "default_receipt_timeout_ms")]
    pub receipt_timeout_ms: u64,
    /// How often `settle` polls for the receipt.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Timeout of one JSON-RPC request.
    #[serde(default = "default_rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
}

impl EvmConfig {
    /// A config with the default timeouts.
    pub fn new(network: Network, rpc_url: impl Into<String>) -> Self {
        EvmConfig {
            network,
            rpc_url: rpc_url.into(),
            receipt_timeout_ms: DEFAULT_RECEIPT_TIMEOUT_MS,
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            rpc_timeout_ms: DEFAULT_RPC_TIMEOUT_MS,
        }
    }

    /// The same config waiting at most `timeout` for a receipt.
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// [`Self::receipt_timeout_ms`] as a duration.
    pub fn receipt_timeout(&self) -> Duration {
        Duration::from_millis(self.receipt_timeout_ms)
    }

    /// [`Self::poll_interval_ms`] as a duration (at least 10 ms).
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    /// [`Self::rpc_timeout_ms`] as a duration.
    pub fn rpc_timeout(&self) -> Duration {
        Duration::from_millis(self.rpc_timeout_ms)
    }
}

fn default_receipt_timeout_ms() -> u64 {
    DEFAULT_RECEIPT_TIMEOUT_MS
}

fn default_poll_interval_ms() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}

fn default_rpc_timeout_ms() -> u64 {
    DEFAULT_RPC_TIMEOUT_MS
}
