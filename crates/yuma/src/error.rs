//! The crate's error type.

/// Why an epoch was refused. The computation itself cannot fail; only input can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A field of the input is inconsistent (length, uid range, duplicate, bounds).
    #[error("invalid input: {field}: {reason}")]
    InvalidInput {
        /// The offending field, e.g. `state.weights[3]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
