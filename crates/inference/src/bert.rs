//! A BERT encoder (HuggingFace `BertModel` without the pooler) as one fused forward pass over
//! [`crate::kernels`], for sentence embeddings.
//!
//! Why not candle's `BertModel`: at these sizes (a dozen tokens × 384 features) candle spends
//! more time allocating a tensor per operation and handing each one to its thread pool than
//! multiplying (docs/benchmarks.md, "inference"). Here a batch is one matrix of all its tokens
//! with no padding — the linear layers run once over every real token, attention runs per
//! sequence — and the bias, activation, residual and normalisation are applied where the data
//! already is. The result is the padded computation's to within float rounding: padded keys
//! get an attention weight of exactly zero there, and padded rows are discarded by the pooling.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::kernels::{self, Activation, Linear};

/// Attention work (multiply-adds) below which the heads run on the calling thread.
const PARALLEL_ATTENTION_MACS: usize = 1 << 18;

/// The loaded weights of a BERT encoder.
pub(crate) struct Bert {
    hidden: usize,
    heads: usize,
    eps: f32,
    act: Activation,
    /// `vocab × hidden`.
    word: Vec<f32>,
    /// `max_positions × hidden`, each row with token type 0's embedding added (inputs are
    /// single-segment), so a token's embedding is its word row plus its position row.
    position: Vec<f32>,
    norm: Norm,
    layers: Vec<Layer>,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    /// Query, key and value in one product (`hidden → 3·hidden`).
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

impl Bert {
    /// Reads the encoder's weights from a safetensors buffer, with or without a `bert.` prefix.
    pub(crate) fn load(config: &Config, safetensors: &[u8], file: &Path) -> Result<Self> {
        let bad = |reason: String| Error::BadModel {
            file: file.to_owned(),
            reason,
        };
        let h = config.hidden_size;
        let heads = config.num_attention_heads;
        if h == 0 || heads == 0 || !h.is_multiple_of(heads) {
            return Err(bad(format!(
                "hidden size {h} is not a multiple of {heads} attention heads"
            )));
        }
        let act = match config.hidden_act {
            HiddenAct::Gelu => Activation::Gelu,
            HiddenAct::GeluApproximate => Activation::GeluTanh,
            HiddenAct::Relu => Activation::Relu,
        };
        let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)?;
        let weights = Weights {
            tensors,
            file,
            prefix: "",
        };
        let weights = if weights
            .tensors
            .contains_key("embeddings.word_embeddings.weight")
        {
            weights
        } else {
            Weights {
                prefix: "bert.",
                ..weights
            }
        };
        let i = config.intermediate_size;
        let layers = (0..config.num_hidden_layers)
            .map(|l| {
                let at = |name: &str| format!("encoder.layer.{l}.{name}");
                let mut qkv_w = Vec::with_capacity(3 * h * h);
                let mut qkv_b = Vec::with_capacity(3 * h);
                for part in ["query", "key", "value"] {
                    qkv_w.extend(
                        weights.get(&at(&format!("attention.self.{part}.weight")), &[h, h])?,
                    );
                    qkv_b.extend(weights.get(&at(&format!("attention.self.{part}.bias")), &[h])?);
                }
                Ok(Layer {
                    qkv: Linear::new(&qkv_w, &qkv_b, 3 * h, h),
                    attention_out: weights.linear(&at("attention.output.dense"), h, h)?,
                    attention_norm: weights.norm(&at("attention.output.LayerNorm"), h)?,
                    intermediate: weights.linear(&at("intermediate.dense"), i, h)?,
                    output: weights.linear(&at("output.dense"), h, i)?,
                    output_norm: weights.norm(&at("output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let token_types = weights.get(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        let type_0 = token_types
            .get(..h)
            .ok_or_else(|| bad("embeddings.token_type_embeddings.weight has no type 0".into()))?;
        let mut position = weights.get(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        for row in position.chunks_exact_mut(h) {
            row.iter_mut().zip(type_0).for_each(|(p, t)| *p += t);
        }
        #[allow(clippy::cast_possible_truncation)]
        let eps = config.layer_norm_eps as f32;
        Ok(Self {
            hidden: h,
            heads,
            eps,
            act,
            word: weights.get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            position,
            norm: weights.norm("embeddings.LayerNorm", h)?,
            layers,
        })
    }

    /// The last hidden state's mean over each sequence's tokens, L2-normalised
    /// (sentence-transformers' `Pooling(mean)` then `Normalize`). Token ids must be below the
    /// vocabulary size and sequences no longer than the position table (the tokenizer and its
    /// truncation guarantee both); an empty sequence gives a zero vector.
    pub(crate) fn embed(&self, batch: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let lengths = batch.iter().map(|s| s.len()).collect::<Vec<_>>();
        let total: usize = lengths.iter().sum();
        let vocab = self.word.len() / h;
        let positions = self.position.len() / h;
        if let Some(bad) = batch
            .iter()
            .flat_map(|s| s.iter())
            .find(|&&t| t as usize >= vocab)
        {
            return Err(Error::InvalidRequest {
                message: format!("token id {bad} is outside the vocabulary"),
                param: None,
            });
        }
        if let Some(long) = batch.iter().find(|s| s.len() > positions) {
            return Err(Error::InvalidRequest {
                message: format!(
                    "a sequence of {} tokens is longer than the model's {positions} positions",
                    long.len()
                ),
                param: None,
            });
        }

        // Embeddings: LayerNorm(word + position), a sequence's positions being the first
        // rows of the table.
        let mut x = vec![0.0f32; total * h];
        let mut rest = x.as_mut_slice();
        for seq in batch {
            let (rows, tail) = std::mem::take(&mut rest).split_at_mut(seq.len() * h);
            for (row, &id) in rows.chunks_exact_mut(h).zip(seq.iter()) {
                row.copy_from_slice(&self.word[id as usize * h..][..h]);
            }
            self.add_norm(rows, &self.position[..seq.len() * h], &self.norm);
            rest = tail;
        }

        let mut qkv = vec![0.0f32; total * 3 * h];
        let mut context = vec![0.0f32; total * h];
        let mut scratch = vec![0.0f32; total * h];
        let inter_size = self.layers.first().map_or(0, |l| l.intermediate.outputs());
        let mut inter = vec![0.0f32; total * inter_size];
        for layer in &self.layers {
            layer.qkv.forward(&x, total, Activation::Identity, &mut qkv);
            self.attention(&qkv, &lengths, &mut context);
            layer
                .attention_out
                .forward(&context, total, Activation::Identity, &mut scratch);
            self.add_norm(&mut x, &scratch, &layer.attention_norm);
            layer.intermediate.forward(&x, total, self.act, &mut inter);
            layer
                .output
                .forward(&inter, total, Activation::Identity, &mut scratch);
            self.add_norm(&mut x, &scratch, &layer.output_norm);
        }

        let mut out = Vec::with_capacity(batch.len());
        let mut rows = x.chunks_exact(h);
        for &len in &lengths {
            let mut mean = vec![0.0f32; h];
            for row in rows.by_ref().take(len) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            #[allow(clippy::cast_precision_loss)]
            let count = (len as f32).max(1e-9);
            let norm = (mean.iter().map(|m| (m / count) * (m / count)).sum::<f32>())
                .sqrt()
                .max(1e-12);
            for m in &mut mean {
                *m = *m / count / norm;
            }
            out.push(mean);
        }
        Ok(out)
    }

    /// `x = LayerNorm(x + y)` row by row.
    fn add_norm(&self, x: &mut [f32], y: &[f32], norm: &Norm) {
        /// Rows per task when the rows are spread over the pool.
        const ROWS: usize = 32;
        let h = self.hidden;
        let each = |(rows, adds): (&mut [f32], &[f32])| {
            Arch::new().dispatch(AddNorm {
                rows,
                adds,
                width: h,
                norm,
                eps: self.eps,
            });
        };
        if x.len() >= 2 * ROWS * h {
            x.par_chunks_mut(ROWS * h)
                .zip(y.par_chunks(ROWS * h))
                .for_each(each);
        } else {
            each((x, y));
        }
    }

    /// Scaled dot-product attention of every head of every sequence: `qkv` holds each token's
    /// query, key and value (`3·hidden`), `context` receives each token's heads side by side.
    fn attention(&self, qkv: &[f32], lengths: &[usize], context: &mut [f32]) {
        let h = self.hidden;
        let d = h / self.heads;
        // One task per (sequence, head): the rows of its queries/keys/values and the slices of
        // `context` it writes (disjoint, so the tasks can run in parallel).
        let mut tasks = Vec::with_capacity(lengths.len() * self.heads);
        let mut rows = context.chunks_exact_mut(h);
        let mut first = 0;
        let mut work = 0;
        for &len in lengths {
            let mut outs = (0..self.heads)
                .map(|_| Vec::with_capacity(len))
                .collect::<Vec<Vec<&mut [f32]>>>();
            for row in rows.by_ref().take(len) {
                for (out, head) in outs.iter_mut().zip(row.chunks_exact_mut(d)) {
                    out.push(head);
                }
            }
            for (head, out) in outs.into_iter().enumerate() {
                tasks.push((first, len, head, out));
            }
            first += len;
            work += 2 * len * len * h;
        }
        #[allow(clippy::cast_precision_loss)]
        let scale = 1.0 / (d as f32).sqrt();
        let run = |(first, len, head, mut out): (usize, usize, usize, Vec<&mut [f32]>)| {
            Arch::new().dispatch(Head {
                qkv: &qkv[first * 3 * h..(first + len) * 3 * h],
                hidden: h,
                at: head * d,
                width: d,
                scale,
                out: &mut out,
            });
        };
        if work >= PARALLEL_ATTENTION_MACS {
            tasks.into_par_iter().for_each(run);
        } else {
            tasks.into_iter().for_each(run);
        }
    }
}

/// `rows = LayerNorm(rows + adds)` for rows of `width`.
struct AddNorm<'a> {
    rows: &'a mut [f32],
    adds: &'a [f32],
    width: usize,
    norm: &'a Norm,
    eps: f32,
}

impl WithSimd for AddNorm<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        for (row, add) in self
            .rows
            .chunks_exact_mut(self.width)
            .zip(self.adds.chunks_exact(self.width))
        {
            kernels::add_layer_norm(s, row, add, &self.norm.gamma, &self.norm.beta, self.eps);
        }
    }
}

/// One attention head of one sequence: `out[i] = Σⱼ softmax(q_i·k_j·scale)·v_j`.
struct Head<'a, 'b> {
    /// The sequence's rows of queries, keys and values (`3·hidden` each).
    qkv: &'a [f32],
    hidden: usize,
    /// The head's first feature and its width.
    at: usize,
    width: usize,
    scale: f32,
    out: &'a mut [&'b mut [f32]],
}

impl WithSimd for Head<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let (h, d) = (self.hidden, self.width);
        let token = |t: usize, part: usize| &self.qkv[t * 3 * h + part * h + self.at..][..d];
        let mut scores = vec![0.0f32; self.out.len()];
        for (i, ctx) in self.out.iter_mut().enumerate() {
            let q = token(i, 0);
            for (j, score) in scores.iter_mut().enumerate() {
                *score = kernels::dot(s, q, token(j, 1)) * self.scale;
            }
            kernels::softmax(s, &mut scores);
            ctx.fill(0.0);
            for (j, &p) in scores.iter().enumerate() {
                kernels::axpy(s, ctx, p, token(j, 2));
            }
        }
    }
}

/// The tensors of a safetensors file, read as `f32` with their shapes checked.
struct Weights<'a> {
    tensors: HashMap<String, Tensor>,
    file: &'a Path,
    prefix: &'static str,
}

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let bad = |reason: String| Error::BadModel {
            file: self.file.to_owned(),
            reason,
        };
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| bad(format!("no tensor `{full}`")))?;
        if t.dims() != shape {
            return Err(bad(format!(
                "tensor `{full}` has shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        Ok(t.to_dtype(candle_core::DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    }

    fn linear(&self, name: &str, outputs: usize, inputs: usize) -> Result<Linear> {
        let w = self.get(&format!("{name}.weight"), &[outputs, inputs])?;
        let b = self.get(&format!("{name}.bias"), &[outputs])?;
        Ok(Linear::new(&w, &b, outputs, inputs))
    }

    fn norm(&self, name: &str, size: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.get(&format!("{name}.weight"), &[size])?,
            beta: self.get(&format!("{name}.bias"), &[size])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOCAB: usize = 11;
    const HIDDEN: usize = 8;
    const HEADS: usize = 2;
    const INTER: usize = 12;
    const LAYERS: usize = 2;
    const POSITIONS: usize = 7;

    fn config(hidden: usize) -> Config {
        serde_json::from_value(serde_json::json!({
            "vocab_size": VOCAB, "hidden_size": hidden, "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS, "intermediate_size": INTER, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "max_position_embeddings": POSITIONS,
            "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
        }))
        .unwrap()
    }

    /// Deterministic values in [-0.5, 0.5).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        (0..n as u64)
            .map(|i| {
                let h = (i + 1)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add(seed)
                    >> 40;
                #[allow(clippy::cast_precision_loss)]
                let v = h as f32 / (1u64 << 24) as f32;
                v - 0.5
            })
            .collect()
    }

    /// Every tensor of a tiny BERT, by name, with its shape and values.
    fn tensors(skip: Option<&str>, reshape: Option<&str>) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut out = Vec::new();
        let mut add = |name: String, shape: Vec<usize>| {
            let n = shape.iter().product();
            let seed = out.len() as u64 * 7919;
            let mut v = values(n, seed);
            if name.ends_with("LayerNorm.weight") {
                v.iter_mut().for_each(|x| *x += 1.0);
            }
            out.push((name, shape, v));
        };
        add(
            "embeddings.word_embeddings.weight".into(),
            vec![VOCAB, HIDDEN],
        );
        add(
            "embeddings.position_embeddings.weight".into(),
            vec![POSITIONS, HIDDEN],
        );
        add(
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, HIDDEN],
        );
        add("embeddings.LayerNorm.weight".into(), vec![HIDDEN]);
        add("embeddings.LayerNorm.bias".into(), vec![HIDDEN]);
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}.");
            for (name, o, i) in [
                ("attention.self.query", HIDDEN, HIDDEN),
                ("attention.self.key", HIDDEN, HIDDEN),
                ("attention.self.value", HIDDEN, HIDDEN),
                ("attention.output.dense", HIDDEN, HIDDEN),
                ("intermediate.dense", INTER, HIDDEN),
                ("output.dense", HIDDEN, INTER),
            ] {
                add(format!("{p}{name}.weight"), vec![o, i]);
                add(format!("{p}{name}.bias"), vec![o]);
            }
            for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
                add(format!("{p}{norm}.weight"), vec![HIDDEN]);
                add(format!("{p}{norm}.bias"), vec![HIDDEN]);
            }
        }
        out.retain(|(n, _, _)| Some(n.as_str()) != skip);
        for (n, shape, v) in &mut out {
            if Some(n.as_str()) == reshape {
                shape.push(1);
                v.truncate(shape.iter().product());
            }
        }
        out
    }

    fn safetensors(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let map = tensors
            .iter()
            .map(|(n, shape, v)| {
                let t = Tensor::from_vec(v.clone(), shape.as_slice(), &Device::Cpu);
                (n.clone(), t.unwrap())
            })
            .collect::<HashMap<_, _>>();
        candle_core::safetensors::save(&map, &path).unwrap();
        std::fs::read(&path).unwrap()
    }

    fn load(skip: Option<&str>, reshape: Option<&str>, hidden: usize) -> Result<Bert> {
        let bytes = safetensors(&tensors(skip, reshape));
        Bert::load(&config(hidden), &bytes, Path::new("model.safetensors"))
    }

    /// The textbook encoder in f64, one sequence at a time, for comparison.
    fn reference(seq: &[u32]) -> Vec<f64> {
        let t: HashMap<String, Vec<f64>> = tensors(None, None)
            .into_iter()
            .map(|(n, _, v)| (n, v.into_iter().map(f64::from).collect()))
            .collect();
        let get = |n: &str| t.get(n).cloned().unwrap_or_default();
        let linear = |x: &[Vec<f64>], name: &str, outs: usize| -> Vec<Vec<f64>> {
            let (w, b) = (get(&format!("{name}.weight")), get(&format!("{name}.bias")));
            x.iter()
                .map(|row| {
                    (0..outs)
                        .map(|o| {
                            b[o] + row
                                .iter()
                                .enumerate()
                                .map(|(k, v)| v * w[o * row.len() + k])
                                .sum::<f64>()
                        })
                        .collect()
                })
                .collect()
        };
        let norm = |x: &mut Vec<f64>, name: &str| {
            let (g, b) = (get(&format!("{name}.weight")), get(&format!("{name}.bias")));
            let mean = x.iter().sum::<f64>() / HIDDEN as f64;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / HIDDEN as f64;
            for (i, v) in x.iter_mut().enumerate() {
                *v = (*v - mean) / (var + 1e-12).sqrt() * g[i] + b[i];
            }
        };
        let (word, pos, types) = (
            get("embeddings.word_embeddings.weight"),
            get("embeddings.position_embeddings.weight"),
            get("embeddings.token_type_embeddings.weight"),
        );
        let mut x: Vec<Vec<f64>> = seq
            .iter()
            .enumerate()
            .map(|(p, &id)| {
                let mut row = (0..HIDDEN)
                    .map(|i| word[id as usize * HIDDEN + i] + pos[p * HIDDEN + i] + types[i])
                    .collect();
                norm(&mut row, "embeddings.LayerNorm");
                row
            })
            .collect();
        let d = HIDDEN / HEADS;
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}.");
            let q = linear(&x, &format!("{p}attention.self.query"), HIDDEN);
            let k = linear(&x, &format!("{p}attention.self.key"), HIDDEN);
            let v = linear(&x, &format!("{p}attention.self.value"), HIDDEN);
            let mut ctx = vec![vec![0.0; HIDDEN]; seq.len()];
            for h in 0..HEADS {
                for i in 0..seq.len() {
                    let s: Vec<f64> = (0..seq.len())
                        .map(|j| {
                            (0..d)
                                .map(|c| q[i][h * d + c] * k[j][h * d + c])
                                .sum::<f64>()
                                / (d as f64).sqrt()
                        })
                        .collect();
                    let m = s.iter().copied().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for c in 0..d {
                        ctx[i][h * d + c] =
                            (0..seq.len()).map(|j| e[j] / z * v[j][h * d + c]).sum();
                    }
                }
            }
            let a = linear(&ctx, &format!("{p}attention.output.dense"), HIDDEN);
            for (row, add) in x.iter_mut().zip(&a) {
                row.iter_mut().zip(add).for_each(|(r, a)| *r += a);
                norm(row, &format!("{p}attention.output.LayerNorm"));
            }
            let mut inter = linear(&x, &format!("{p}intermediate.dense"), INTER);
            for v in inter.iter_mut().flatten() {
                *v = 0.5 * *v * (1.0 + kernels::tests::libm_erf(*v / std::f64::consts::SQRT_2));
            }
            let o = linear(&inter, &format!("{p}output.dense"), HIDDEN);
            for (row, add) in x.iter_mut().zip(&o) {
                row.iter_mut().zip(add).for_each(|(r, a)| *r += a);
                norm(row, &format!("{p}output.LayerNorm"));
            }
        }
        let mut mean = [0.0; HIDDEN];
        for row in &x {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, v)| *m += v / seq.len() as f64);
        }
        let n = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
        mean.iter().map(|v| v / n).collect()
    }

    #[test]
    fn a_batch_without_padding_equals_the_textbook_encoder_per_sequence() {
        let bert = load(None, None, HIDDEN).unwrap();
        let batch: [&[u32]; 4] = [&[1, 5, 2], &[1, 7, 3, 9, 10, 2, 4], &[1, 2], &[3]];
        let got = bert.embed(&batch).unwrap();
        for (seq, vector) in batch.iter().zip(&got) {
            let want = reference(seq);
            for (g, w) in vector.iter().zip(&want) {
                assert!((f64::from(*g) - w).abs() < 1e-5, "{seq:?}: {g} vs {w}");
            }
        }
        // Alone or batched, the same vector.
        let alone = bert.embed(&batch[1..2]).unwrap();
        assert_eq!(alone[0], got[1]);
    }

    #[test]
    fn bad_inputs_and_bad_files_are_refused_with_the_reason() {
        let bert = load(None, None, HIDDEN).unwrap();
        let e = bert.embed(&[&[1, 11]]).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("token id 11 is outside the vocabulary"));
        let e = bert.embed(&[&[1; 8]]).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("a sequence of 8 tokens is longer than the model's 7 positions")
        );
        let missing = "encoder.layer.1.output.dense.bias";
        let e = load(Some(missing), None, HIDDEN)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains(&format!("no tensor `{missing}`"))));
        let odd = "encoder.layer.0.attention.self.key.weight";
        let e = load(None, Some(odd), HIDDEN).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("has shape [8, 8, 1], expected [8, 8]")));
        let e = load(None, None, 7).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("not a multiple of 2 attention heads")));
    }
}
