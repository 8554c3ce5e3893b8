//! Integration tests of the ledger core: execution rules, EIP-3009, and properties
//! (conservation of supply, determinism, replay).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agents;
mod common;
mod compute;
mod eip3009;
mod exec;
mod infer;
mod interop;
mod props;
mod subnet;
