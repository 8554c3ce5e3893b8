//! Integration tests of `verify-zk`: the fixture, the model format, proofs end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixture;
mod model;
mod proofs;
mod props;
