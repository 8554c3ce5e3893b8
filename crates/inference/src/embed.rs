//! Sentence embeddings with all-MiniLM-L6-v2 on candle, computed as sentence-transformers does:
//! WordPiece tokens truncated at the model's `max_seq_length` (256), BERT, mean pooling over
//! the attention mask, L2 normalisation.
//!
//! Texts are sorted by length and run in batches of at most [`Embedder::max_batch`], each padded
//! to its longest member only, so one long text does not make every other one pay for padding.

use std::path::Path;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

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
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
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
        let device = Device::Cpu;
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
        let vb = VarBuilder::from_buffered_safetensors(buffer, DType::F32, &device)?;
        let model = BertModel::load(vb, &config)?;

        let tokenizer_path = paths.file("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| Error::BadModel {
            file: tokenizer_path.clone(),
            reason: e.to_string(),
        })?;
        // tokenizer.json pads and truncates to 128; sentence-transformers truncates at
        // max_seq_length and pads per batch (we pad ourselves, per batch).
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
            device,
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
            let out = self.forward(&batch)?;
            for (&i, v) in chunk.iter().zip(out) {
                vectors[i] = v;
            }
        }
        Ok(Embeddings { vectors, tokens })
    }

    /// One padded batch through BERT, mean pooling and normalisation.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let n = batch.len();
        let len = batch.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut input = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (row, seq) in batch.iter().enumerate() {
            let at = row * len;
            input[at..at + seq.len()].copy_from_slice(seq);
            mask[at..at + seq.len()].fill(1);
        }
        let input = Tensor::from_vec(input, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let types = input.zeros_like()?;
        let hidden = self.model.forward(&input, &types, Some(&mask))?;
        let pooled = mean_pool(&hidden, &mask)?;
        let normalised = l2_normalise(&pooled)?;
        Ok(normalised.to_vec2::<f32>()?)
    }
}

/// Mean of the token vectors where the mask is 1 (sentence-transformers' `Pooling` with
/// `pooling_mode_mean_tokens`): `sum(h * m) / max(sum(m), 1e-9)`.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(D::Minus1)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
    Ok(summed.broadcast_div(&counts)?)
}

/// `x / max(|x|, 1e-12)` per row (torch's `F.normalize`, sentence-transformers' `Normalize`).
fn l2_normalise(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(Error::io("cannot read", path))?;
    serde_json::from_str(&text).map_err(|e| Error::BadModel {
        file: path.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_ignores_padding_and_normalises() {
        let d = Device::Cpu;
        // Two sequences of length 3, hidden size 2; the second has one padding position.
        let h = Tensor::new(
            &[
                [[1f32, 0.], [3., 0.], [5., 4.]],
                [[0., 2.], [0., 4.], [100., 100.]],
            ],
            &d,
        )
        .unwrap();
        let m = Tensor::new(&[[1u32, 1, 1], [1, 1, 0]], &d).unwrap();
        let pooled = mean_pool(&h, &m).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(pooled, vec![vec![3., 4. / 3.], vec![0., 3.]]);
        let unit = l2_normalise(&Tensor::new(&[[3f32, 4.], [0., 0.]], &d).unwrap())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(unit, vec![vec![0.6, 0.8], vec![0., 0.]]);
    }
}
