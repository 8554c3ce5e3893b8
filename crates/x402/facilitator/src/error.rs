//! The crate's error type: why a payload cannot become a ledger transaction.

/// Why a payment cannot be turned into a settlement call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The payload or requirements do not decode (shape, version, addresses).
    #[error(transparent)]
    Types(#[from] x402_types::Error),
    /// A number the ledger's transaction format cannot carry (`value` above `u128`, or a time
    /// above `u64`).
    #[error("{field} = {value} does not fit the ledger's {ty}")]
    OutOfRange {
        /// The authorization field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The ledger type it must fit.
        ty: &'static str,
    },
    /// The signature is not 65 bytes (smart-wallet signatures cannot settle on the ledger).
    #[error("signature is {0} bytes, the ledger takes 65 (r‖s‖v)")]
    SignatureLength(usize),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
