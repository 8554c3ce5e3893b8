//! Chat completion with a quantized llama-architecture GGUF model (SmolLM2-135M-Instruct,
//! Q4_1) on candle: the tokenizer and the chat template come from the GGUF metadata; decoding
//! is greedy (deterministic) at temperature 0, or samples with temperature and top-p from a
//! seeded generator; it stops at the end-of-sequence tokens, a stop string or `max_tokens`.

pub mod template;
pub mod tokenizer;

use std::fs::File;
use std::io::BufReader;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::{self, ModelWeights};
use tokenizers::Tokenizer;

pub use template::{ChatTemplate, Message, Role};

use crate::error::{Error, Result};
use crate::models::{ModelKind, ModelPaths, SMOLLM2_GGUF};

/// How to pick each next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoding {
    /// The most likely token (temperature 0): the same prompt gives the same output.
    Greedy,
    /// Sample from the softmax at `temperature`, restricted to the top-`top_p` mass, with a
    /// generator seeded by `seed` (the same seed gives the same output).
    Sample {
        /// Above 0.
        temperature: f64,
        /// In (0, 1]; 1 keeps every token.
        top_p: f64,
        /// The generator's seed.
        seed: u64,
    },
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateParams {
    /// The most completion tokens.
    pub max_tokens: usize,
    /// Greedy or sampled.
    pub decoding: Decoding,
    /// Generation stops before the first of these strings (which is not returned).
    pub stop: Vec<String>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// An end-of-sequence token or a stop string.
    Stop,
    /// `max_tokens` was reached.
    Length,
}

impl FinishReason {
    /// The OpenAI name (`stop`, `length`).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// A completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The completion's text.
    pub text: String,
    /// The completion's token ids (without the end-of-sequence token).
    pub tokens: Vec<u32>,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Tokens generated (including an end-of-sequence token, which costs a forward pass).
    pub completion_tokens: usize,
    /// Why it stopped.
    pub finish_reason: FinishReason,
}

/// A loaded chat model. Not `Sync`: it holds a KV cache; [`ChatModel::fork`] gives another
/// instance sharing the weights for another thread.
#[derive(Debug, Clone)]
pub struct ChatModel {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    stop_ids: Vec<u32>,
    bos: Option<u32>,
    context: usize,
    device: Device,
}

impl ChatModel {
    /// Loads the GGUF model from the directory [`crate::models::ensure`] returned.
    pub fn load(paths: &ModelPaths) -> Result<Self> {
        if paths.spec.kind != ModelKind::Chat {
            return Err(Error::BadModel {
                file: paths.dir.clone(),
                reason: format!("{} is not a chat model", paths.spec.name),
            });
        }
        let path = paths.file(SMOLLM2_GGUF);
        let bad = |reason: String| Error::BadModel {
            file: path.clone(),
            reason,
        };
        let mut reader =
            BufReader::new(File::open(&path).map_err(Error::io("cannot open", &path))?);
        let ct = gguf_file::Content::read(&mut reader).map_err(|e| bad(e.to_string()))?;
        let tok = tokenizer::from_gguf(&ct)?;
        let template = match ct.metadata.get("tokenizer.chat_template") {
            Some(v) => ChatTemplate::from_jinja(Some(v.to_string()?))?,
            None => ChatTemplate::from_jinja(None)?,
        };
        let context = ct
            .metadata
            .get("llama.context_length")
            .and_then(|v| v.to_u32().ok())
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(quantized_llama::MAX_SEQ_LEN)
            .min(quantized_llama::MAX_SEQ_LEN);
        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(ct, &mut reader, &device)?;
        let mut stop_ids = tok.eos.into_iter().collect::<Vec<_>>();
        for name in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = tok.tokenizer.token_to_id(name) {
                stop_ids.push(id);
            }
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();
        if stop_ids.is_empty() {
            return Err(bad("no end-of-sequence token".into()));
        }
        Ok(Self {
            weights,
            tokenizer: tok.tokenizer,
            template,
            stop_ids,
            bos: tok.bos.filter(|_| tok.add_bos),
            context,
            device,
        })
    }

    /// Another instance with the same weights (shared, not copied) and an empty KV cache.
    pub fn fork(&self) -> Self {
        let mut other = self.clone();
        other.weights.clear_kv_cache();
        other
    }

    /// The context length: prompt and completion tokens together stay within it.
    pub fn context_len(&self) -> usize {
        self.context
    }

    /// The chat template.
    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The tokenizer built from the GGUF metadata.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The prompt's token ids for `messages` (template applied, special tokens recognised).
    pub fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>> {
        let text = self.template.render(messages);
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(Error::tokenizer)?;
        let mut ids = Vec::with_capacity(enc.len() + 1);
        ids.extend(self.bos);
        ids.extend_from_slice(enc.get_ids());
        Ok(ids)
    }

    /// Answers `messages`.
    pub fn chat(&mut self, messages: &[Message], params: &GenerateParams) -> Result<Generation> {
        let prompt = self.prompt_ids(messages)?;
        self.generate(&prompt, params, &|| false)
    }

    /// Continues `prompt` (token ids). `cancelled` is polled between tokens: when it answers
    /// true generation ends early with what it has.
    pub fn generate(
        &mut self,
        prompt: &[u32],
        params: &GenerateParams,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Generation> {
        if prompt.is_empty() {
            return Err(Error::invalid("the prompt is empty", Some("messages")));
        }
        let budget = prompt.len().saturating_add(params.max_tokens);
        if budget > self.context {
            return Err(Error::invalid(
                format!(
                    "this model's context is {} tokens; the prompt has {} and max_tokens asks \
                     for {} more",
                    self.context,
                    prompt.len(),
                    params.max_tokens
                ),
                Some("messages"),
            ));
        }
        let mut sampler = match params.decoding {
            Decoding::Greedy => LogitsProcessor::from_sampling(0, Sampling::ArgMax),
            Decoding::Sample {
                temperature,
                top_p,
                seed,
            } => {
                let sampling = if top_p >= 1.0 {
                    Sampling::All { temperature }
                } else {
                    Sampling::TopP {
                        p: top_p,
                        temperature,
                    }
                };
                LogitsProcessor::from_sampling(seed, sampling)
            }
        };
        self.weights.clear_kv_cache();
        let result = self.decode_loop(prompt, params, &mut sampler, cancelled);
        self.weights.clear_kv_cache();
        result
    }

    fn decode_loop(
        &mut self,
        prompt: &[u32],
        params: &GenerateParams,
        sampler: &mut LogitsProcessor,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Generation> {
        let mut tokens: Vec<u32> = Vec::new();
        let mut completion_tokens = 0;
        let mut text = String::new();
        let mut finish_reason = FinishReason::Length;
        let mut input = Tensor::new(prompt, &self.device)?.unsqueeze(0)?;
        let mut pos = 0;
        while completion_tokens < params.max_tokens && !cancelled() {
            let logits = self.weights.forward(&input, pos)?.squeeze(0)?;
            pos += input.dim(1)?;
            let next = sampler.sample(&logits)?;
            completion_tokens += 1;
            if self.stop_ids.contains(&next) {
                finish_reason = FinishReason::Stop;
                break;
            }
            tokens.push(next);
            text = self
                .tokenizer
                .decode(&tokens, true)
                .map_err(Error::tokenizer)?;
            if let Some(at) = first_stop(&text, &params.stop) {
                text.truncate(at);
                finish_reason = FinishReason::Stop;
                break;
            }
            input = Tensor::new(&[next], &self.device)?.unsqueeze(0)?;
        }
        Ok(Generation {
            text,
            tokens,
            prompt_tokens: prompt.len(),
            completion_tokens,
            finish_reason,
        })
    }
}

/// The byte offset of the earliest stop string in `text`.
fn first_stop(text: &str, stop: &[String]) -> Option<usize> {
    stop.iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_stop_string_wins() {
        let stop = vec!["\n\n".to_owned(), "END".to_owned(), String::new()];
        assert_eq!(first_stop("abc END x\n\n", &stop), Some(4));
        assert_eq!(first_stop("abc", &stop), None);
        assert_eq!(first_stop("abc", &[]), None);
    }
}
