//! OpenAI wire types: request decoders (pure functions from body bytes, fuzzed) and response
//! bodies. Unknown request fields are ignored, as OpenAI clients send many; fields that would
//! change the answer in a way this server cannot honour (`stream`, `n > 1`, token-array
//! inputs, other `dimensions`) are refused with a 400 rather than silently ignored.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::chat::{Decoding, GenerateParams, Generation, Message, Role};
use crate::embed::Embeddings;
use crate::error::Error;

use super::error::ApiError;

/// How embeddings are written in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingFormat {
    /// A JSON array of numbers.
    Float,
    /// Base64 of the little-endian `f32` bytes.
    Base64,
}

/// A decoded `POST /v1/embeddings` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingsRequest {
    /// `model`, if given.
    pub model: Option<String>,
    /// `input` as a list of texts.
    pub input: Vec<String>,
    /// `encoding_format`.
    pub encoding: EncodingFormat,
    /// `dimensions`, if given.
    pub dimensions: Option<u64>,
}

/// A decoded `POST /v1/chat/completions` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// `model`, if given.
    pub model: Option<String>,
    /// `messages`.
    pub messages: Vec<Message>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u64>,
    /// `temperature` (default 1, as OpenAI), in [0, 2].
    pub temperature: f64,
    /// `top_p` (default 1), in (0, 1].
    pub top_p: f64,
    /// `seed`, if given (a negative seed is taken by its two's-complement bits).
    pub seed: Option<u64>,
    /// `stop` strings (at most 4).
    pub stop: Vec<String>,
}

#[derive(Deserialize)]
struct RawEmbeddings {
    model: Option<String>,
    input: Option<serde_json::Value>,
    encoding_format: Option<String>,
    dimensions: Option<u64>,
}

#[derive(Deserialize)]
struct RawChat {
    model: Option<String>,
    messages: Option<Vec<RawMessage>>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    seed: Option<serde_json::Number>,
    n: Option<u64>,
    stream: Option<bool>,
    stop: Option<RawStop>,
}

#[derive(Deserialize)]
struct RawMessage {
    role: String,
    content: Option<RawContent>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawContent {
    Text(String),
    Parts(Vec<RawPart>),
}

#[derive(Deserialize)]
struct RawPart {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawStop {
    One(String),
    Many(Vec<String>),
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A syntax error or a truncated body is about the bytes, not a field: no `param`.
        let about_a_field = inner.is_data() && path != "." && path != "?";
        ApiError::bad_request(
            format!("invalid JSON body: {inner}"),
            about_a_field.then_some(path),
        )
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}"), None))?;
    Ok(value)
}

fn invalid(message: impl Into<String>, param: &str) -> ApiError {
    ApiError::bad_request(message.into(), Some(param.to_owned()))
}

/// Decodes an embeddings request body.
pub fn decode_embeddings(body: &[u8]) -> Result<EmbeddingsRequest, ApiError> {
    let raw: RawEmbeddings = parse(body)?;
    let input = match raw.input {
        None | Some(serde_json::Value::Null) => {
            return Err(invalid("you must provide `input`", "input"));
        }
        Some(serde_json::Value::String(s)) => vec![s],
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Number(_) | serde_json::Value::Array(_) => Err(invalid(
                    "token-id inputs are not supported; send text",
                    &format!("input[{i}]"),
                )),
                _ => Err(invalid(
                    format!("input[{i}] must be a string"),
                    &format!("input[{i}]"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(invalid(
                "`input` must be a string or an array of strings",
                "input",
            ));
        }
    };
    let encoding = match raw.encoding_format.as_deref() {
        None | Some("float") => EncodingFormat::Float,
        Some("base64") => EncodingFormat::Base64,
        Some(other) => {
            return Err(invalid(
                format!("encoding_format `{other}` is not one of float, base64"),
                "encoding_format",
            ));
        }
    };
    Ok(EmbeddingsRequest {
        model: raw.model,
        input,
        encoding,
        dimensions: raw.dimensions,
    })
}

/// Decodes a chat completion request body.
pub fn decode_chat(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let raw: RawChat = parse(body)?;
    if raw.stream == Some(true) {
        return Err(invalid(
            "streaming is not supported; send stream: false",
            "stream",
        ));
    }
    if raw.n.is_some_and(|n| n != 1) {
        return Err(invalid("only n = 1 is supported", "n"));
    }
    let raw_messages = raw
        .messages
        .ok_or_else(|| invalid("you must provide `messages`", "messages"))?;
    let mut messages = Vec::with_capacity(raw_messages.len());
    for (i, m) in raw_messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(invalid(
                    format!(
                        "messages[{i}].role `{other}` is not supported (system, developer, user, assistant)"
                    ),
                    &format!("messages[{i}].role"),
                ));
            }
        };
        let content = match m.content {
            None => String::new(),
            Some(RawContent::Text(t)) => t,
            Some(RawContent::Parts(parts)) => {
                let mut text = String::new();
                for (j, p) in parts.into_iter().enumerate() {
                    match (p.kind.as_str(), p.text) {
                        ("text", Some(t)) => text.push_str(&t),
                        _ => {
                            return Err(invalid(
                                "only text content parts are supported",
                                &format!("messages[{i}].content[{j}]"),
                            ));
                        }
                    }
                }
                text
            }
        };
        messages.push(Message { role, content });
    }
    let temperature = raw.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(invalid(
            "temperature must be between 0 and 2",
            "temperature",
        ));
    }
    let top_p = raw.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(invalid(
            "top_p must be greater than 0 and at most 1",
            "top_p",
        ));
    }
    let seed = match raw.seed {
        None => None,
        Some(n) => Some(
            n.as_u64()
                .or_else(|| n.as_i64().map(|i| u64::from_le_bytes(i.to_le_bytes())))
                .ok_or_else(|| invalid("seed must be an integer", "seed"))?,
        ),
    };
    let stop = match raw.stop {
        None => Vec::new(),
        Some(RawStop::One(s)) => vec![s],
        Some(RawStop::Many(v)) => v,
    };
    if stop.len() > 4 {
        return Err(invalid("at most 4 stop sequences", "stop"));
    }
    Ok(ChatRequest {
        model: raw.model,
        messages,
        max_tokens: raw.max_completion_tokens.or(raw.max_tokens),
        temperature,
        top_p,
        seed,
        stop,
    })
}

impl ChatRequest {
    /// The generation parameters: `max_tokens` defaults to `default_max_tokens`; temperature 0
    /// is greedy; sampling without a seed draws one.
    pub fn params(&self, default_max_tokens: usize) -> Result<GenerateParams, Error> {
        let max_tokens = match self.max_tokens {
            None => default_max_tokens,
            Some(n) => usize::try_from(n)
                .map_err(|_| Error::invalid("max_tokens is too large", Some("max_tokens")))?,
        };
        let decoding = if self.temperature == 0.0 {
            Decoding::Greedy
        } else {
            Decoding::Sample {
                temperature: self.temperature,
                top_p: self.top_p,
                seed: self.seed.unwrap_or_else(rand::random),
            }
        };
        Ok(GenerateParams {
            max_tokens,
            decoding,
            stop: self.stop.clone(),
        })
    }
}

/// `usage` of an embeddings response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmbeddingsUsage {
    /// Tokens of all inputs.
    pub prompt_tokens: usize,
    /// The same.
    pub total_tokens: usize,
}

/// One embedding of a response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingData {
    /// `"embedding"`.
    pub object: String,
    /// The input's position.
    pub index: usize,
    /// The vector: numbers, or base64 of little-endian f32.
    pub embedding: EmbeddingValue,
}

/// An embedding as numbers or base64.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum EmbeddingValue {
    /// `encoding_format: "float"`.
    Float(Vec<f32>),
    /// `encoding_format: "base64"`.
    Base64(String),
}

/// The body of a `POST /v1/embeddings` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingsResponse {
    /// `"list"`.
    pub object: String,
    /// One per input, in order.
    pub data: Vec<EmbeddingData>,
    /// The model's name.
    pub model: String,
    /// Token counts.
    pub usage: EmbeddingsUsage,
}

impl EmbeddingsResponse {
    /// The response for `out`.
    pub fn new(model: &str, out: Embeddings, encoding: EncodingFormat) -> Self {
        let tokens = out.tokens.iter().sum();
        let data = out
            .vectors
            .into_iter()
            .enumerate()
            .map(|(index, v)| EmbeddingData {
                object: "embedding".into(),
                index,
                embedding: match encoding {
                    EncodingFormat::Float => EmbeddingValue::Float(v),
                    EncodingFormat::Base64 => {
                        let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>();
                        EmbeddingValue::Base64(
                            base64::engine::general_purpose::STANDARD.encode(bytes),
                        )
                    }
                },
            })
            .collect();
        Self {
            object: "list".into(),
            data,
            model: model.into(),
            usage: EmbeddingsUsage {
                prompt_tokens: tokens,
                total_tokens: tokens,
            },
        }
    }
}

/// `usage` of a chat completion.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChatUsage {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Their sum.
    pub total_tokens: usize,
}

/// The message of a choice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResponseMessage {
    /// `"assistant"`.
    pub role: String,
    /// The completion.
    pub content: String,
}

/// One choice (there is always exactly one).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Choice {
    /// 0.
    pub index: usize,
    /// The answer.
    pub message: ResponseMessage,
    /// Always null.
    pub logprobs: Option<serde_json::Value>,
    /// `stop` or `length`.
    pub finish_reason: String,
}

/// The body of a `POST /v1/chat/completions` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChatResponse {
    /// `chatcmpl-...`.
    pub id: String,
    /// `"chat.completion"`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model's name.
    pub model: String,
    /// One choice.
    pub choices: Vec<Choice>,
    /// Token counts.
    pub usage: ChatUsage,
}

impl ChatResponse {
    /// The response for `g`.
    pub fn new(id: String, created: u64, model: &str, g: Generation) -> Self {
        Self {
            id,
            object: "chat.completion".into(),
            created,
            model: model.into(),
            choices: vec![Choice {
                index: 0,
                message: ResponseMessage {
                    role: "assistant".into(),
                    content: g.text,
                },
                logprobs: None,
                finish_reason: g.finish_reason.as_str().into(),
            }],
            usage: ChatUsage {
                prompt_tokens: g.prompt_tokens,
                completion_tokens: g.completion_tokens,
                total_tokens: g.prompt_tokens.saturating_add(g.completion_tokens),
            },
        }
    }
}

/// One entry of `GET /v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelObject {
    /// The model's name.
    pub id: String,
    /// `"model"`.
    pub object: String,
    /// 0 (unknown).
    pub created: u64,
    /// `"symbiont"`.
    pub owned_by: String,
}

/// The body of `GET /v1/models`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelList {
    /// `"list"`.
    pub object: String,
    /// The served models.
    pub data: Vec<ModelObject>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_inputs() {
        let r = decode_embeddings(br#"{"model":"m","input":"hi"}"#).unwrap();
        assert_eq!(r.input, vec!["hi"]);
        assert_eq!(r.model.as_deref(), Some("m"));
        let r =
            decode_embeddings(br#"{"input":["a","b"],"encoding_format":"base64","x":1}"#).unwrap();
        assert_eq!((r.input.len(), r.encoding), (2, EncodingFormat::Base64));
        for (body, param) in [
            (&br#"{"input":[1,2]}"#[..], "input[0]"),
            (br#"{"input":{"a":1}}"#, "input"),
            (br#"{"model":"m"}"#, "input"),
            (
                br#"{"input":"a","encoding_format":"hex"}"#,
                "encoding_format",
            ),
            (br#"{"input":"a","model":7}"#, "model"),
        ] {
            let e = decode_embeddings(body).unwrap_err();
            assert_eq!(e.status.as_u16(), 400);
            assert_eq!(e.param.as_deref(), Some(param), "{}", e.message);
        }
        let e = decode_embeddings(b"{not json").unwrap_err();
        assert_eq!((e.status.as_u16(), e.param.as_deref()), (400, None));
        assert!(e.message.starts_with("invalid JSON body"), "{}", e.message);
    }

    #[test]
    fn chat_fields() {
        let r = decode_chat(
            br#"{"model":"m","messages":[{"role":"developer","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
                "max_tokens":5,"temperature":0,"seed":-1,"stop":"\n"}"#,
        )
        .unwrap();
        assert_eq!(r.messages[0].role, Role::System);
        assert_eq!(r.messages[1].content, "ab");
        assert_eq!(
            (r.max_tokens, r.temperature, r.seed),
            (Some(5), 0.0, Some(u64::MAX))
        );
        assert_eq!(r.stop, vec!["\n"]);
        assert_eq!(r.params(9).unwrap().decoding, Decoding::Greedy);
        for (body, param) in [
            (
                &br#"{"messages":[{"role":"user","content":"x"}],"stream":true}"#[..],
                "stream",
            ),
            (
                br#"{"messages":[{"role":"tool","content":"x"}]}"#,
                "messages[0].role",
            ),
            (
                br#"{"messages":[{"role":"user","content":"x"}],"temperature":3}"#,
                "temperature",
            ),
            (
                br#"{"messages":[{"role":"user","content":"x"}],"top_p":0}"#,
                "top_p",
            ),
            (
                br#"{"messages":[{"role":"user","content":"x"}],"n":2}"#,
                "n",
            ),
            (
                br#"{"messages":[{"role":"user","content":"x"}],"seed":1.5}"#,
                "seed",
            ),
            (br#"{"messages":"hi"}"#, "messages"),
            (br#"{}"#, "messages"),
        ] {
            let e = decode_chat(body).unwrap_err();
            assert_eq!(e.param.as_deref(), Some(param), "{}", e.message);
        }
    }
}
