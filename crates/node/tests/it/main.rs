//! Node integration tests: a real node (redb, HTTP on loopback) in this process.

mod api;
mod common;
