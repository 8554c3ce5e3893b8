//! The agent runtime: an agent is an identity in the ledger's ERC-8004 registry, a client of
//! an isolated signer (the keys and the owner's spend policy live there) and services sold
//! behind x402. It finds other agents in the registry, pays them through the signer, and rates
//! them citing the payment.
//!
//! - [`runtime`]: [`Agent`] — register, discover, buy, rate.
//! - [`directory`]: discovery by service name, ranked by payment-proven reputation.
//! - [`service`]: the storefront — paid routes and the registration file.
//! - [`decide`]: the pluggable decision layer (rules, or an OpenAI-compatible chat model).
//! - [`trip`] and [`flights`]: the three-hop example (traveller → trip planner → flight
//!   search → embedding gateway).

pub mod decide;
pub mod directory;
pub mod flights;
pub mod runtime;
pub mod service;
pub mod trip;

pub use runtime::{Agent, Purchase};
