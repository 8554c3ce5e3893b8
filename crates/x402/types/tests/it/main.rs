//! Integration tests of `x402-types`: golden headers from the reference SDK and the field,
//! codec properties, EIP-712 against viem, and the `Facilitator` trait in use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec;
mod eip712;
mod facilitator;
mod golden;
