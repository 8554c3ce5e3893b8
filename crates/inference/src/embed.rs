//! Sentence embeddings with all-MiniLM-L6-v2, computed as sentence-transformers does: WordPiece
//! tokens truncated at the model's `max_seq_length` (256), BERT, mean pooling over the
//! attention mask, L2 normalisation.
//!
//! The encoder is [`crate::bert`], a fused forward pass that runs a batch's tokens without
//! padding. Texts are sorted by length and run in batches of at most [`Embedder::max_batch`].

use std::path::Path;

use candle_transformers::models::bert::Config;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::bert::Bert;
use crate::error::{Error, Result};
use crate::models::{ModelKind, ModelPaths};

/// Embeddings of a list of texts, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// One unit-length vector per text.
    pub vectors: Vec<Vec<f32>>,
    /// Tokens each text counted for (after truncation, with `[CLS]` and `[SEP]`).
    pub tokens: Vec<usize>,
}

/// A loaded all-MiniLM-L6-v2 (or another BERT sentence-transformer with mean pooling).
pub struct Embedder {
    model: Bert,
    tokenizer: Tokenizer,
    dim: usize,
    max_seq_len: usize,
    max_batch: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dim", &self.dim)
            .field("max_seq_len", &self.max_seq_len)
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

/// Texts per forward pass, as sentence-transformers' default `batch_size`.
pub const DEFAULT_MAX_BATCH: usize = 32;

impl Embedder {
    /// Loads the model from the directory [`crate::models::ensure`] returned.
    pub fn load(paths: &ModelPaths) -> Result<Self> {
        if paths.spec.kind != ModelKind::Embedding {
            return Err(Error::BadModel {
                file: paths.dir.clone(),
                reason: format!("{} is not an embedding model", paths.spec.name),
            });
        }
        let config: Config = read_json(&paths.file("config.json"))?;
        let st: serde_json::Value = read_json(&paths.file("sentence_bert_config.json"))?;
        let max_seq_len = st
            .get("max_seq_length")
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|&n| n >= 2 && n <= config.max_position_embeddings)
            .ok_or_else(|| Error::BadModel {
                file: paths.file("sentence_bert_config.json"),
                reason: "no valid max_seq_length".into(),
            })?;
        let weights = paths.file("model.safetensors");
        let buffer = std::fs::read(&weights).map_err(Error::io("cannot read", &weights))?;
        let model = Bert::load(&config, &buffer, &weights)?;

        let tokenizer_path = paths.file("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| Error::BadModel {
            file: tokenizer_path.clone(),
            reason: e.to_string(),
        })?;
        // tokenizer.json pads and truncates to 128; sentence-transformers truncates at
        // max_seq_length and pads per batch (our encoder needs no padding).
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(Error::tokenizer)?;
        tokenizer.with_padding(None);
        Ok(Self {
            model,
            tokenizer,
            dim: config.hidden_size,
            max_seq_len,
            max_batch: DEFAULT_MAX_BATCH,
        })
    }

    /// Sets the most texts run in one forward pass (at least 1).
    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// The embedding dimension (384).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Tokens beyond this are cut (256 for all-MiniLM-L6-v2).
    pub fn max_seq_len(&self) -> usize {
        self.max_seq_len
    }

    /// The most texts run in one forward pass.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// The token ids of `text` as the model sees it (truncated, with special tokens).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(Error::tokenizer)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds `texts` (any number; run in length-sorted batches of at most `max_batch`).
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Embeddings> {
        let ids = texts
            .iter()
            .map(|t| self.tokenize(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let tokens = ids.iter().map(Vec::len).collect::<Vec<_>>();
        let mut order = (0..ids.len()).collect::<Vec<_>>();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut vectors = vec![Vec::new(); ids.len()];
        for chunk in order.chunks(self.max_batch) {
            let batch = chunk.iter().map(|&i| ids[i].as_slice()).collect::<Vec<_>>();
            let out = self.model.embed(&batch)?;
            for (&i, v) in chunk.iter().zip(out) {
                vectors[i] = v;
            }
        }
        Ok(Embeddings { vectors, tokens })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(Error::io("cannot read", path))?;
    serde_json::from_str(&text).map_err(|e| Error::BadModel {
        file: path.to_owned(),
        reason: e.to_string(),
    })
}
