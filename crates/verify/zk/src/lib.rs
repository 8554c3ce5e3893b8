//! Zero-knowledge proofs that a committed, quantized MLP maps an input to an output
//! (ADR 0005, "Zero-knowledge proofs"): arkworks Groth16 over BN254, 128-byte proofs,
//! verification in milliseconds, cheap enough for the ledger's state transition.
//!
//! ```
//! use verify_zk::{Mlp, prove, setup, verify};
//!
//! // 2 → 1: y = clamp((x0 − x1 + 4) >> 1)
//! let mlp = Mlp::from_json(br#"{"layers":[{"weights":[[1,-1]],"bias":[4],"shift":1}]}"#)?;
//! let keys = setup(&mlp, Some([7; 32]))?;
//! let (output, proof) = prove(&mlp, &keys.proving_key, &[10, 2])?;
//! assert_eq!(output, [6]);
//! verify(&keys.verifying_key, &mlp.commitment(), &[10, 2], &output, &proof)?;
//! assert!(verify(&keys.verifying_key, &mlp.commitment(), &[10, 2], &[5], &proof).is_err());
//! # Ok::<(), verify_zk::ZkError>(())
//! ```
//!
//! - [`model`]: the MLP, its JSON format, commitment and native integer inference.
//! - `circuit`: the R1CS circuit (constraints, public inputs, witness).
//! - `codec`: decoding keys and proofs from untrusted bytes.
//! - `groth16`: [`setup`], [`prove`], [`verify`], [`PreparedVerifier`].
//!
//! The trust model of the setup and the formats are in the crate's README.

mod circuit;
mod codec;
mod error;
mod groth16;
pub mod model;

pub use circuit::{CircuitShape, shape};
pub use codec::PROOF_BYTES;
pub use error::{Result, ZkError};
pub use groth16::{Keys, PreparedVerifier, prove, setup, verify};
pub use model::{Layer, Mlp};
