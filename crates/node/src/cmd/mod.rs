//! One module per top-level subcommand.

pub mod agent;
pub mod bench;
pub mod bench_consensus;
pub mod bench_gateway;
pub mod bench_x402;
pub(crate) mod chart;
pub mod demo;
pub mod devnet;
pub(crate) mod devnet_infer;
pub(crate) mod devnet_lease;
pub mod econ;
pub mod facilitator;
pub mod genesis;
pub mod infer;
pub mod keys;
pub mod market;
pub mod models;
pub mod node;
pub mod pay;
pub mod query;
pub mod signer;
pub mod subnet;
pub mod testnet;
pub mod tx;
pub mod verify;
pub mod yuma;

/// Prints an input error and exits with code 2 (the documented exit code for bad input, as
/// for clap's own usage errors).
pub(crate) fn invalid_input(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}
