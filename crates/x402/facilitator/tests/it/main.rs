//! Integration tests of `x402-facilitator`: every negative case of issue 4 §5 with real
//! signatures against a dev-genesis ledger state, the happy path settled through the ledger,
//! and a never-panics property.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod props;
mod service;
mod settle;
mod verify;
