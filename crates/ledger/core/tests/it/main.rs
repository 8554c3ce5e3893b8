//! Integration tests of the ledger core: execution rules, EIP-3009, and properties
//! (conservation of supply, determinism, replay).

mod common;
mod eip3009;
mod exec;
mod interop;
mod props;
