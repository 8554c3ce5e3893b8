//! Keys, signatures and keystores for Symbiont accounts, which are Ethereum accounts.
//!
//! - [`PrivateKey`] ([`key`]): a secp256k1 key and its Ethereum address; zeroized on drop,
//!   never printed.
//! - [`Signature`], [`recover_address`] ([`signature`]): 65-byte `r ‖ s ‖ v` signatures,
//!   low-s only, `v` ∈ {27, 28}, deterministic (RFC 6979).
//! - [`keystore`]: the Ethereum keystore v3 format (scrypt / PBKDF2, AES-128-CTR) and a
//!   geth-style [`KeyStore`] directory, so keys move to and from standard Ethereum wallets.
//! - [`Error`], [`Result`] ([`error`]): the crate's one error type.

pub mod error;
pub mod key;
pub mod keystore;
pub mod signature;

pub use alloy_primitives::{Address, B256};
pub use error::{Error, Result};
pub use key::PrivateKey;
pub use keystore::{KeyStore, KeystoreJson, ScryptParams, decrypt, encrypt};
pub use signature::{Signature, recover_address};
