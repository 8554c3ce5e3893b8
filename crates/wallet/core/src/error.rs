//! The crate's one error type.

use std::path::PathBuf;

use alloy_primitives::Address;

/// Everything that can go wrong with keys, signatures and keystores.
///
/// Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a valid secp256k1 secret key (zero, or not below the curve order).
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    /// Bytes that are not a valid 65-byte `r ‖ s ‖ v` signature.
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    /// The signature does not recover to any public key.
    #[error("signature recovery failed")]
    Recovery,
    /// The keystore MAC does not match: the passphrase is wrong (or the file was altered).
    #[error("wrong passphrase (keystore MAC mismatch)")]
    WrongPassphrase,
    /// A keystore JSON document that cannot be read; names the offending field.
    #[error("malformed keystore JSON: field `{field}`: {reason}")]
    Malformed {
        /// The JSON field (dotted path) at fault.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A keystore document that is valid JSON but not valid JSON for a keystore at all.
    #[error("malformed keystore JSON: {0}")]
    Json(String),
    /// A keystore that uses something this implementation does not support.
    #[error("unsupported keystore: {0}")]
    Unsupported(String),
    /// KDF parameters beyond the configured limits (protects against denial of service).
    #[error("keystore KDF parameters exceed the limits: {0}")]
    KdfTooExpensive(String),
    /// The `address` field of a keystore does not match the key inside it.
    #[error("keystore address {stated} does not match its key's address {actual}")]
    AddressMismatch {
        /// The address written in the file.
        stated: Address,
        /// The address of the decrypted key.
        actual: Address,
    },
    /// No key with this address in the keystore directory.
    #[error("no key for address {0} in the keystore")]
    NotFound(Address),
    /// The keystore directory already holds a key with this address.
    #[error("the keystore already holds a key for address {address} ({})", path.display())]
    AlreadyExists {
        /// The address of the key.
        address: Address,
        /// The file that holds it.
        path: PathBuf,
    },
    /// A filesystem error, with the path involved.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn malformed(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
