//! Integration tests of the yuma crate: golden vectors, properties, and the sparse path
//! against a dense reference.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

mod chain;
mod dense;
mod properties;
mod random;
mod sim;
mod vectors;
