//! A `tokenizers::Tokenizer` built from a GGUF file's metadata (`tokenizer.ggml.*`), for
//! GPT-2 style byte-level BPE vocabularies (`tokenizer.ggml.model = "gpt2"`), as llama.cpp
//! reads them: the tokens are the vocabulary in id order, `merges` are `"left right"` pairs in
//! rank order, tokens of type 3 (control) are special.
//!
//! The pre-tokenizer follows `tokenizer.ggml.pre`: `smollm` (SmolLM, SmolLM2) splits digits
//! one by one before the GPT-2 regex, as their `tokenizer.json` and llama.cpp do; `gpt2` and
//! `default` use the GPT-2 regex alone.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use crate::error::{Error, Result};

/// GGUF token type of control tokens (`<|im_start|>`, `<|endoftext|>`, ...).
const TOKEN_TYPE_CONTROL: i32 = 3;

/// The tokenizer and the special ids read from a GGUF file.
#[derive(Debug, Clone)]
pub struct GgufTokenizer {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos: Option<u32>,
    /// `tokenizer.ggml.add_bos_token` (false if absent).
    pub add_bos: bool,
    /// The ids of the control tokens.
    pub control: Vec<u32>,
}

fn meta<'a>(ct: &'a Content, key: &str) -> Result<&'a Value> {
    ct.metadata
        .get(key)
        .ok_or_else(|| Error::Tokenizer(format!("the GGUF metadata has no {key}")))
}

fn strings(ct: &Content, key: &str) -> Result<Vec<String>> {
    meta(ct, key)?
        .to_vec()?
        .iter()
        .map(|v| Ok(v.to_string()?.clone()))
        .collect()
}

/// Builds the tokenizer from `ct`'s metadata.
pub fn from_gguf(ct: &Content) -> Result<GgufTokenizer> {
    let model = meta(ct, "tokenizer.ggml.model")?.to_string()?;
    if model != "gpt2" {
        return Err(Error::Tokenizer(format!(
            "tokenizer.ggml.model is `{model}`; only `gpt2` (byte-level BPE) is supported"
        )));
    }
    let tokens = strings(ct, "tokenizer.ggml.tokens")?;
    let merges = strings(ct, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| Error::Tokenizer(format!("bad merge `{m}`")))
        })
        .collect::<Result<Vec<_>>>()?;
    let types = match ct.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()?
            .iter()
            .map(|t| Ok(t.to_i32()?))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let optional_id = |key: &str| -> Result<Option<u32>> {
        ct.metadata
            .get(key)
            .map(|v| v.to_u32())
            .transpose()
            .map_err(Error::from)
    };
    let bos = optional_id("tokenizer.ggml.bos_token_id")?;
    let eos = optional_id("tokenizer.ggml.eos_token_id")?;
    let add_bos = match ct.metadata.get("tokenizer.ggml.add_bos_token") {
        Some(v) => v.to_bool()?,
        None => false,
    };
    let pre = match ct.metadata.get("tokenizer.ggml.pre") {
        Some(v) => v.to_string()?.clone(),
        None => "default".to_owned(),
    };

    if u32::try_from(tokens.len()).is_err() {
        return Err(Error::Tokenizer("vocabulary too large".into()));
    }
    let vocab: Vocab = tokens.iter().cloned().zip(0u32..).collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(Error::tokenizer)?;
    let mut tokenizer = Tokenizer::new(bpe);
    let byte_level = ByteLevel::new(false, true, true);
    let pre_tokenizer: PreTokenizerWrapper = match pre.as_str() {
        "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
        "gpt2" | "default" => byte_level.into(),
        other => {
            return Err(Error::Tokenizer(format!(
                "tokenizer.ggml.pre `{other}` is not supported (smollm, gpt2)"
            )));
        }
    };
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(ByteLevel::default()));

    let mut control = Vec::new();
    let mut special = Vec::new();
    for (id, (tok, ty)) in tokens.iter().zip(types.iter()).enumerate() {
        if *ty == TOKEN_TYPE_CONTROL {
            control.push(u32::try_from(id).map_err(|_| Error::Tokenizer("bad id".into()))?);
            special.push(AddedToken::from(tok.clone(), true));
        }
    }
    tokenizer
        .add_special_tokens(special)
        .map_err(Error::tokenizer)?;
    Ok(GgufTokenizer {
        tokenizer,
        bos,
        eos,
        add_bos,
        control,
    })
}
