//! End-to-end tests of the `symbiont` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agents;
mod cli;
mod crash;
mod dashboard;
mod demo_agents;
mod devnet;
mod facilitator;
mod keys;
mod signer;
mod subnet;
