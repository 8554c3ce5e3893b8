//! Offline verification of Intel DCAP attestation quotes (SGX and TDX) for the ledger.
//!
//! ADR 0005, "TEE attestation": a provider binds its signing key to a quote whose 64-byte
//! report data is [`key_binding`] of its address; the ledger checks it inside the state
//! transition with [`verify_binding`], the block time as `now` and the collateral carried in the
//! transaction. Verification is `dcap-qvl` (pure Rust, no network) against a trusted root:
//! Intel's in production, or the [`dev`] root on a dev chain that has no TEE hardware.
//!
//! - [`verify_quote`]: quote + collateral + time + root → [`Attestation`] (TCB status, advisory
//!   ids, report data, measurement), or a [`TeeError`].
//! - [`key_binding`], [`verify_binding`]: the report data a provider's quote must carry.
//! - [`dev`]: a seeded attestation PKI that plays Intel's role (root CA, PCK certificate with the
//!   SGX extensions, signed TCB info and QE identity, CRLs, SGX quotes).
//!
//! Inputs are bounded ([`MAX_QUOTE_BYTES`], [`MAX_COLLATERAL_BYTES`]) before anything is parsed,
//! and no input makes the functions panic (proptest and the `tee_quote` fuzz target).

mod binding;
pub mod dev;
mod error;
mod verify;

pub use binding::{BINDING_DOMAIN, key_binding, verify_binding};
pub use error::{Result, TeeError};
pub use verify::{Attestation, MAX_COLLATERAL_BYTES, MAX_QUOTE_BYTES, Root, TeeKind, verify_quote};
