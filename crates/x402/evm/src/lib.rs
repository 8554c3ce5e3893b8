#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`EvmConfig`]: network, RPC endpoint and timeouts (serde, for the facilitator's config).
//! - [`EvmBackend`]: `x402_facilitator::Backend` over JSON-RPC — verification by chain facts,
//!   `verify_exact` and an `eth_call` simulation; settlement with an in-flight set, a local
//!   relayer nonce and a bounded receipt wait (`research/x402.md` §2.1, §3).
//! - `facts`: the chain facts one verification reads, as an `x402_facilitator::LedgerView`.
//! - `relayer`: signing and broadcasting with the relayer key and its local nonce.
//! - `rpc`: the alloy HTTP provider, with node answers told apart from transport failures.
//! - [`token`]: the EIP-3009 token interface (USDC v2.2 shapes).
//! - [`Error`]: why [`EvmBackend::connect`] failed.

mod backend;
mod config;
mod error;
mod facts;
mod relayer;
mod rpc;
pub mod token;

pub use backend::EvmBackend;
pub use config::{
    DEFAULT_POLL_INTERVAL_MS, DEFAULT_RECEIPT_TIMEOUT_MS, DEFAULT_RPC_TIMEOUT_MS, EvmConfig,
};
pub use error::{Error, Result};
