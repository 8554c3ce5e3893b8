//! End-to-end tests of the `symbiont` binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agents;
mod cli;
mod crash;
mod dashboard;
mod demo_agents;
mod devnet;
mod econ;
mod facilitator;
mod infer;
mod keys;
mod market;
mod signer;
mod subnet;
mod testnet;

/// Held by the tests that run the real models (the devnet, the agents demo): on two cores,
/// several at once would starve each other's miners into timeouts.
pub(crate) static MODELS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes [`MODELS`], even after a test that held it failed.
pub(crate) fn models_lock() -> std::sync::MutexGuard<'static, ()> {
    MODELS.lock().unwrap_or_else(|p| p.into_inner())
}
