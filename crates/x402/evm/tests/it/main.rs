//! `x402-evm` against a real anvil: the committed `interop/evm/Eip3009Token` deployed, payments
//! signed with `wallet::PrivateKey` under the token's EIP-712 domain, verified and settled by
//! [`x402_evm::EvmBackend`]; balances read back from the chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod connect;
mod negative;
mod service;
mod settle;
