//! Yuma consensus, the incentive mechanism of Bittensor, bit-exact with subtensor.
//!
//! [`epoch`] is subtensor's sparse `epoch_mechanism` as a pure function: integer state in,
//! integer state out, the same `substrate-fixed` arithmetic in between, so every stored
//! value (consensus, incentive, dividends, bonds, emission) has the chain's bits. Section
//! numbers in comments refer to the research notes `shared/research/bittensor.md`.
//!
//! ```
//! use yuma::{epoch, EpochInput, Params, State};
//!
//! // Two validators (uids 0, 1) weight two miners (uids 2, 3).
//! let state = State {
//!     n: 4,
//!     current_block: 100,
//!     stake: vec![3_000, 1_000, 0, 0],
//!     weights: vec![vec![(2, 65_535), (3, 65_535)], vec![(2, 65_535)], vec![], vec![]],
//!     bonds: vec![vec![]; 4],
//!     last_update: vec![100; 4],
//!     block_at_registration: vec![0; 4],
//!     validator_permit: vec![true, true, false, false],
//!     commit_block: None,
//! };
//! let out = epoch(&Params::default(), &EpochInput { state, emission: 1_000_000_000 })?;
//! assert!(out.incentive[2] > out.incentive[3]);
//! assert!(out.combined_emission.iter().sum::<u64>() <= 1_000_000_000);
//! # Ok::<(), yuma::Error>(())
//! ```
//!
//! - [`types`]: the inputs and outputs.
//! - `epoch`: the step-by-step pipeline.
//! - `consensus`, `bonds`: the stake-weighted median and the two bond models.
//! - `fused`: steps 7–13 of a Yuma3 liquid-alpha epoch in one sweep per row.
//! - `sparse`, `fixed`: the sparse-matrix and fixed-point kernels.
//! - [`max_upscale`]: how `set_weights` stores submitted weights.
//! - [`sim`]: multi-epoch scenarios for subnet designers.
//! - `wire` (feature `serde`): the JSON shape of `symbiont yuma epoch`.

// The fixed-point code estimates some quotients in `f64` (`fixed.rs`); the reciprocal estimates
// are exact only with IEEE-754 binary64 rounding, which x87 (32-bit x86 without SSE2) does
// not give. Every validator must compute epochs bit for bit alike, so refuse that target.
#[cfg(all(target_arch = "x86", not(target_feature = "sse2")))]
compile_error!(
    "yuma needs IEEE-754 binary64 floating point: build for x86 with SSE2 (i686) or a 64-bit target"
);

mod bonds;
mod consensus;
mod epoch;
mod error;
mod fixed;
mod fused;
pub mod sim;
mod sparse;
pub mod types;
mod upscale;
#[cfg(test)]
mod vectors;

/// The tests' deterministic generator: xorshift64 from `seed` (which must not be 0).
#[cfg(test)]
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
#[cfg(feature = "serde")]
pub mod wire;

pub use epoch::epoch;
pub use error::{Error, Result};
pub use types::{EpochInput, EpochOutput, Params, SparseRow, State};
pub use upscale::max_upscale;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
