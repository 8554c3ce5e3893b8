//! One module per top-level subcommand.

pub mod agent;
pub mod bench;
pub mod bench_consensus;
pub mod bench_gateway;
pub mod bench_x402;
pub mod demo;
pub mod devnet;
pub mod facilitator;
pub mod genesis;
pub mod keys;
pub mod models;
pub mod node;
pub mod pay;
pub mod query;
pub mod signer;
pub mod subnet;
pub mod testnet;
pub mod tx;
pub mod yuma;
