//! Node integration tests: a real node (redb, HTTP on loopback) in this process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent_runtime;
mod agents;
mod api;
mod common;
mod subnets;
mod x402;
