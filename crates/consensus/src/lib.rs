//! Symbiont on several validators: the ledger driven by the Malachite BFT engine.
//!
//! This is the only crate that imports Malachite (the circlefin line, `arc-malachitebft-*`
//! 0.8, pinned exactly; see `docs/adr/0003-consensus-engine.md`). It maps Malachite's
//! [`Context`](malachitebft_core_types::Context) onto ledger types:
//!
//! - [`height`]: a consensus height is a ledger block height (consensus starts at 1).
//! - [`address`]: a validator is named by its ledger account.
//! - [`validator`]: validators and the set listed in genesis; proposer selection.
//! - [`value`]: the value decided on is a proposed block, by its hash.
//! - [`proposal`]: signed proposals and the parts a block is streamed in.
//! - [`vote`]: prevotes and precommits.
//! - [`signing`]: ed25519 consensus keys (distinct from secp256k1 account keys).
//! - [`codec`]: sign bytes and wire encodings.
//! - [`wire`]: the engine's codecs for Malachite's own messages (WAL, network, sync).
//! - [`stream`]: a block as proposal parts; assembling and authenticating a stream.
//! - [`validate`]: the checks a validator runs on a proposed block (a dry run of `apply_block`).
//! - [`host`]: the application side (build a block, check a stream, commit), behind the
//!   [`host::Ledger`] seam.
//! - [`app`]: the application message loop over Malachite's channels.
//! - [`engine`]: starting Malachite's engine for one validator.
//! - [`context`]: the [`SymbiontContext`] that ties them together.
//! - [`error`]: the crate error.

pub mod address;
pub mod app;
pub mod codec;
pub mod context;
pub mod engine;
pub mod error;
pub mod height;
pub mod host;
pub mod proposal;
pub mod signing;
pub mod stream;
#[cfg(test)]
mod testing;
pub mod validate;
pub mod validator;
pub mod value;
pub mod vote;
pub mod wire;

pub use address::Address;
pub use context::SymbiontContext;
pub use engine::EngineConfig;
pub use error::{Error, Result};
pub use height::Height;
pub use malachitebft_app_channel::app::engine::network::Multiaddr;
pub use malachitebft_signing_ed25519::{Ed25519, PublicKey, Signature};
pub use proposal::{Proposal, ProposalInit, ProposalPart};
pub use signing::{ChainVerifier, ConsensusKey, LocalSigner};
pub use validator::{GenesisValidator, Validator, ValidatorSet};
pub use value::{Value, ValueId};
pub use vote::Vote;

/// Short name for the context in signatures of this crate.
pub(crate) type Ctx = SymbiontContext;
