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
//!
//! No I/O and no clock: time comes in as `now_secs`, state through [`LedgerView`]. The HTTP
//! endpoints and the settlement backends build on this.

mod error;
pub mod settle;
pub mod verify;
pub mod view;

pub use error::{Error, Result};
pub use settle::settlement_call;
pub use verify::verify_exact;
pub use view::LedgerView;
