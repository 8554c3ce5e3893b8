//! The crate error.

/// What can go wrong in the consensus glue.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A validator set is empty, lists an address twice, or has a validator without power.
    #[error("invalid validator set: {0}")]
    InvalidValidatorSet(String),
    /// A consensus public key or signature does not decode.
    #[error("invalid key or signature: {0}")]
    InvalidKey(String),
    /// Bytes that do not decode to the expected consensus message.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The ledger refused or failed (a block that does not apply, a store error).
    #[error("ledger: {0}")]
    Ledger(String),
    /// The engine could not start.
    #[error("consensus engine: {0}")]
    Engine(String),
    /// A value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// The crate result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
