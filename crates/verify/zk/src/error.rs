//! The crate's one error type.

/// Everything that can go wrong decoding a model, proving or verifying.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// The model JSON does not parse or breaks a limit (shapes, shift, size, overflow).
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The input vector's length differs from the model's first layer.
    #[error("input has {got} values, model takes {expected}")]
    InputLength {
        /// Values supplied.
        got: usize,
        /// Values the model takes.
        expected: usize,
    },
    /// Input and output together do not fill the verifying key's public inputs.
    #[error(
        "input and output have {got} values together, the verifying key takes {expected} \
         (after the commitment and the input length)"
    )]
    PublicInputLength {
        /// `input.len() + output.len()`.
        got: usize,
        /// What the verifying key was made for.
        expected: usize,
    },
    /// The proving key bytes do not decode, or were made for another circuit.
    #[error("malformed proving key: {0}")]
    MalformedProvingKey(String),
    /// The verifying key bytes do not decode to a verifying key.
    #[error("malformed verifying key: {0}")]
    MalformedVerifyingKey(String),
    /// The proof bytes do not decode to a proof.
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// The proof decodes but is not valid for this key and these public inputs.
    #[error("proof does not verify")]
    ProofRejected,
    /// The proving system failed (a bug or a proving key for another model).
    #[error("proving failed: {0}")]
    Proving(String),
}

/// `Result` with [`ZkError`] as the default error.
pub type Result<T, E = ZkError> = std::result::Result<T, E>;
