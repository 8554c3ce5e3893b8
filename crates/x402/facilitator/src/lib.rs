#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`verify`]: [`verify_exact`], the reference facilitator's checks in its order
//!   (`research/x402.md` §2.1) with the canonical reasons of `x402_types::Reason`.
//! - [`view`]: [`LedgerView`], what verification reads from a chain; implemented for
//!   `ledger::State`.
//! - [`settle`]: [`settlement_call`], a verified payload as `ledger::Call::TransferWithAuthorization`.
//! - [`Error`]: why a payload cannot become a ledger call.
//! - [`backend`]: [`Backend`], one chain the facilitator settles on (the ledger backend lives
//!   in the node, the EVM one in `x402-evm`).
//! - [`service`]: [`Service`], requests (v2, or v1 normalised) routed to the backend of their
//!   network; implements `x402_types::Facilitator` in process.
//! - [`http`]: [`router`], the HTTP API (`/verify`, `/settle`, `/supported`, `/health`).
//!
//! Verification is pure: time comes in as `now_secs`, state through [`LedgerView`].

pub mod backend;
mod error;
pub mod http;
pub mod service;
pub mod settle;
pub mod verify;
pub mod view;

pub use backend::{Backend, BoxFuture, InFlight, Payment, SnapshotBackend};
pub use error::{Error, Result};
pub use http::router;
pub use service::Service;
pub use settle::settlement_call;
pub use verify::verify_exact;
pub use view::LedgerView;
