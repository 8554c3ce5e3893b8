//! The paywall and the client against a real dev node, and interop with the x402 TypeScript
//! SDK (`@x402/fetch`, `@x402/express` from `interop/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod deferred;
mod interop;
mod paywall;
