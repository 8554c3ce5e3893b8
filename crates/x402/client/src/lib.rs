#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! - [`client`]: [`Client`], pays 402 answers and returns the response with its receipt.
//! - [`controls`]: [`SpendControls`] (per-payment cap, per-period budget, allowed assets,
//!   networks and payees) and the client's spend [`Ledger`].
//! - [`signer`]: [`Signer`], who signs the authorizations (a `wallet::PrivateKey`, or an
//!   isolated signer).

pub mod client;
pub mod controls;
pub mod signer;

pub use client::{Client, Error, Paid, Payment};
pub use controls::{Ledger, Refusal, SpendControls};
pub use signer::{Signer, SignerError};
