//! Integration tests of the `wallet` crate.
//!
//! - [`interop`]: differential tests against ethers and viem from npm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod interop;
