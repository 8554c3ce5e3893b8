//! [`Engine`]: the loaded models behind their inference threads, with an async API that never
//! blocks the runtime. Cheap to clone; the threads stop when the last clone is dropped (or at
//! [`Engine::shutdown`], which also waits for them).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::chat::{ChatModel, GenerateParams, Generation, Message};
use crate::embed::{Embedder, Embeddings};
use crate::error::{Error, Result};
use crate::models::{self, ModelKind, ModelSpec};
use crate::workers::{self, Batching, ChatJob, EmbedJob, Queue};

/// Sizes of the queues and batches, and request limits.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Embedding requests waiting at most; one more is refused with [`Error::Busy`].
    pub embed_queue: usize,
    /// The embedding thread gathers requests up to this many texts into one call.
    pub embed_batch_texts: usize,
    /// ... and waits at most this long for more after the first. The default is zero: a
    /// batch is whatever is waiting when the thread is free, so a lone request never waits
    /// and requests that arrive while a batch runs form the next one.
    pub embed_batch_window: Duration,
    /// Texts per forward pass.
    pub embed_forward_batch: usize,
    /// Chat threads (each runs one generation at a time).
    pub chat_workers: usize,
    /// Chat requests waiting at most.
    pub chat_queue: usize,
    /// Texts in one embedding request at most.
    pub max_inputs: usize,
    /// Bytes in one embedding input at most (the model reads only the first 256 tokens, but
    /// tokenizing costs time for every byte).
    pub max_input_bytes: usize,
    /// Messages in one chat request at most.
    pub max_messages: usize,
    /// `max_tokens` at most.
    pub max_completion_tokens: usize,
    /// `max_tokens` when the request gives none.
    pub default_completion_tokens: usize,
    /// Request bodies larger than this are refused with 413 by [`crate::http::router`].
    pub max_body_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            embed_queue: 64,
            embed_batch_texts: 64,
            embed_batch_window: Duration::ZERO,
            embed_forward_batch: crate::embed::DEFAULT_MAX_BATCH,
            chat_workers: 1,
            chat_queue: 16,
            max_inputs: 256,
            max_input_bytes: 16 * 1024,
            max_messages: 128,
            max_completion_tokens: 1024,
            default_completion_tokens: 256,
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

/// A served model, as `GET /v1/models` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedModel {
    /// Its spec (name, aliases, kind).
    pub spec: &'static ModelSpec,
}

/// Counters since the engine started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Embedding requests accepted into the queue.
    pub embed_requests: u64,
    /// Calls of the embedding model (each gathers one or more requests).
    pub embed_batches: u64,
    /// Texts embedded.
    pub embed_texts: u64,
    /// Chat requests accepted into the queue.
    pub chat_requests: u64,
    /// Requests refused because a queue was full.
    pub busy: u64,
}

/// The counters, shared with the worker threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub embed_requests: AtomicU64,
    pub embed_batches: AtomicU64,
    pub embed_texts: AtomicU64,
    pub chat_requests: AtomicU64,
    pub busy: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

struct EmbedSide {
    spec: &'static ModelSpec,
    queue: Queue<EmbedJob>,
    dim: usize,
}

struct ChatSide {
    spec: &'static ModelSpec,
    queue: Queue<ChatJob>,
    context: usize,
}

struct Inner {
    config: EngineConfig,
    counters: Arc<Counters>,
    embed: Option<EmbedSide>,
    chat: Option<ChatSide>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The models a process serves, each on its own threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field(
                "models",
                &self
                    .models()
                    .iter()
                    .map(|m| m.spec.name)
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Builds an [`Engine`] from loaded models.
#[derive(Debug, Default)]
pub struct EngineBuilder {
    config: EngineConfig,
    embedder: Option<(&'static ModelSpec, Embedder)>,
    chat: Option<(&'static ModelSpec, ChatModel)>,
}

impl EngineBuilder {
    /// Sets the queue sizes and limits.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Serves `embedder` as the model `spec`.
    pub fn embeddings(mut self, spec: &'static ModelSpec, embedder: Embedder) -> Self {
        self.embedder = Some((spec, embedder));
        self
    }

    /// Serves `model` as the model `spec`.
    pub fn chat(mut self, spec: &'static ModelSpec, model: ChatModel) -> Self {
        self.chat = Some((spec, model));
        self
    }

    /// Starts the threads.
    pub fn start(self) -> Result<Engine> {
        let config = self.config;
        let counters = Arc::new(Counters::default());
        let mut threads = Vec::new();
        let embed = match self.embedder {
            Some((spec, embedder)) => {
                let embedder = embedder.with_max_batch(config.embed_forward_batch);
                let dim = embedder.dim();
                let batching = Batching {
                    max_texts: config.embed_batch_texts.max(1),
                    window: config.embed_batch_window,
                };
                let (queue, handle) = workers::spawn_embedder(
                    embedder,
                    config.embed_queue,
                    batching,
                    Arc::clone(&counters),
                )?;
                threads.push(handle);
                Some(EmbedSide { spec, queue, dim })
            }
            None => None,
        };
        let chat = match self.chat {
            Some((spec, model)) => {
                let context = model.context_len();
                let (queue, handles) =
                    workers::spawn_chat(&model, config.chat_workers, config.chat_queue)?;
                threads.extend(handles);
                Some(ChatSide {
                    spec,
                    queue,
                    context,
                })
            }
            None => None,
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                config,
                counters,
                embed,
                chat,
                threads: Mutex::new(threads),
            }),
        })
    }
}

impl Engine {
    /// A builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Fetches (if needed, with [`models::ensure`]) and loads the models called `names` from
    /// the models directory `dir`, and starts them.
    pub fn load(dir: &Path, names: &[&str], config: EngineConfig) -> Result<Engine> {
        let mut builder = Engine::builder().config(config);
        for name in names {
            let paths = models::ensure(name, dir)?;
            builder = match paths.spec.kind {
                ModelKind::Embedding => builder.embeddings(paths.spec, Embedder::load(&paths)?),
                ModelKind::Chat => builder.chat(paths.spec, ChatModel::load(&paths)?),
            };
        }
        builder.start()
    }

    /// The limits in force.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The models served.
    pub fn models(&self) -> Vec<ServedModel> {
        let embed = self.inner.embed.as_ref().map(|e| e.spec);
        let chat = self.inner.chat.as_ref().map(|c| c.spec);
        embed
            .into_iter()
            .chain(chat)
            .map(|spec| ServedModel { spec })
            .collect()
    }

    /// The embedding dimension, if an embedding model is served.
    pub fn embedding_dim(&self) -> Option<usize> {
        self.inner.embed.as_ref().map(|e| e.dim)
    }

    /// The chat model's context length, if one is served.
    pub fn chat_context(&self) -> Option<usize> {
        self.inner.chat.as_ref().map(|c| c.context)
    }

    /// The served embedding model called `model` (any name or alias; `None`: the one served).
    pub fn embedding_model(&self, model: Option<&str>) -> Result<&'static ModelSpec> {
        let side = self.inner.embed.as_ref().map(|e| e.spec);
        resolve(side, model, ModelKind::Embedding)
    }

    /// The served chat model called `model` (any name or alias; `None`: the one served).
    pub fn chat_model(&self, model: Option<&str>) -> Result<&'static ModelSpec> {
        let side = self.inner.chat.as_ref().map(|c| c.spec);
        resolve(side, model, ModelKind::Chat)
    }

    /// Embeds `inputs` (1 to `max_inputs` non-empty texts of at most `max_input_bytes`) on the
    /// embedding thread, batched with concurrent requests.
    pub async fn embed(&self, inputs: Vec<String>) -> Result<Embeddings> {
        let side = self
            .inner
            .embed
            .as_ref()
            .ok_or_else(|| Error::ModelNotServed("(embeddings)".into()))?;
        self.check_inputs(&inputs)?;
        let (reply, rx) = oneshot::channel();
        self.count(side.queue.push(EmbedJob { inputs, reply }), |c| {
            &c.embed_requests
        })?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Answers `messages` on a chat thread.
    pub async fn chat(&self, messages: Vec<Message>, params: GenerateParams) -> Result<Generation> {
        let side = self
            .inner
            .chat
            .as_ref()
            .ok_or_else(|| Error::ModelNotServed("(chat)".into()))?;
        self.check_chat(&messages, &params)?;
        let (reply, rx) = oneshot::channel();
        let job = ChatJob {
            messages,
            params,
            reply,
        };
        self.count(side.queue.push(job), |c| &c.chat_requests)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Counts an enqueue attempt: accepted in `counter`, refused as busy in `busy`.
    fn count(&self, pushed: Result<()>, counter: fn(&Counters) -> &AtomicU64) -> Result<()> {
        let c = &self.inner.counters;
        match &pushed {
            Ok(()) => Counters::bump(counter(c), 1),
            Err(Error::Busy(_)) => Counters::bump(&c.busy, 1),
            Err(_) => {}
        }
        pushed
    }

    /// The counters since the engine started.
    pub fn stats(&self) -> EngineStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            embed_requests: get(&c.embed_requests),
            embed_batches: get(&c.embed_batches),
            embed_texts: get(&c.embed_texts),
            chat_requests: get(&c.chat_requests),
            busy: get(&c.busy),
        }
    }

    fn check_inputs(&self, inputs: &[String]) -> Result<()> {
        let c = &self.inner.config;
        if inputs.is_empty() {
            return Err(Error::invalid("input must not be empty", Some("input")));
        }
        if inputs.len() > c.max_inputs {
            return Err(Error::invalid(
                format!(
                    "too many inputs: {} (at most {})",
                    inputs.len(),
                    c.max_inputs
                ),
                Some("input"),
            ));
        }
        for (i, text) in inputs.iter().enumerate() {
            if text.is_empty() {
                return Err(Error::invalid(
                    format!("input[{i}] is an empty string"),
                    Some("input"),
                ));
            }
            if text.len() > c.max_input_bytes {
                return Err(Error::invalid(
                    format!(
                        "input[{i}] is too long: {} bytes (at most {})",
                        text.len(),
                        c.max_input_bytes
                    ),
                    Some("input"),
                ));
            }
        }
        Ok(())
    }

    fn check_chat(&self, messages: &[Message], params: &GenerateParams) -> Result<()> {
        let c = &self.inner.config;
        if messages.is_empty() {
            return Err(Error::invalid(
                "messages must not be empty",
                Some("messages"),
            ));
        }
        if messages.len() > c.max_messages {
            return Err(Error::invalid(
                format!(
                    "too many messages: {} (at most {})",
                    messages.len(),
                    c.max_messages
                ),
                Some("messages"),
            ));
        }
        if params.max_tokens == 0 || params.max_tokens > c.max_completion_tokens {
            return Err(Error::invalid(
                format!(
                    "max_tokens must be between 1 and {}",
                    c.max_completion_tokens
                ),
                Some("max_tokens"),
            ));
        }
        Ok(())
    }

    /// Stops the threads and waits for them, if this is the last clone (returns false and does
    /// nothing otherwise). A generation in progress runs to its end first.
    pub fn shutdown(self) -> bool {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                let threads = inner
                    .threads
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner());
                // Closing the queues ends the threads' loops.
                drop(inner.embed);
                drop(inner.chat);
                for t in threads {
                    let _ = t.join();
                }
                true
            }
            Err(inner) => {
                drop(Engine { inner });
                false
            }
        }
    }
}

fn resolve(
    served: Option<&'static ModelSpec>,
    asked: Option<&str>,
    kind: ModelKind,
) -> Result<&'static ModelSpec> {
    let what = match kind {
        ModelKind::Embedding => "embedding",
        ModelKind::Chat => "chat",
    };
    match (served, asked) {
        (Some(spec), None) => Ok(spec),
        (Some(spec), Some(name))
            if spec.name.eq_ignore_ascii_case(name)
                || spec.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)) =>
        {
            Ok(spec)
        }
        (_, Some(name)) => Err(Error::ModelNotServed(name.to_owned())),
        (None, None) => Err(Error::ModelNotServed(format!("(no {what} model)"))),
    }
}
