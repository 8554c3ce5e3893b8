//! The isolated signer: a separate process (`symbiont signer`) that holds an agent's key and
//! signs only what its owner's policy allows. Agents talk to it over a Unix socket and never
//! see the key.
//!
//! - [`policy`] — the TOML policy and [`Policy::evaluate`], a pure function: per-payment caps,
//!   rolling hourly and daily budgets per asset, payee allow/deny lists, chain ids, allowed
//!   ledger calls and typed-data types, a rate limit and an approval threshold; anything not
//!   listed is denied.
//! - [`protocol`] — the line-delimited JSON requests and responses.
//! - [`server`] — [`serve`] runs a signer on an agent socket and an admin socket (both 0600).
//! - [`audit`] — the append-only, hash-chained audit log and [`audit::verify`].
//! - [`client`] — [`Client`] (an `x402_client::Signer`, and a signer of ledger transactions)
//!   and [`AdminClient`] for approvals.
//!
//! `docs/signer.md` describes running one.

pub mod audit;
pub mod client;
pub mod policy;
pub mod protocol;
pub mod server;

pub use client::{AdminClient, Client, ClientError};
pub use policy::{Decision, Denial, Policy, Rule};
pub use server::{Config, Handle, ServeError, serve};
