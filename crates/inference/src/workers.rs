//! The inference threads. Models run here, never on the async runtime: each model has its own
//! named OS threads fed by a bounded queue (`std::sync::mpsc::sync_channel`); a request that
//! finds the queue full is refused at once ([`Error::Busy`]) rather than waiting unboundedly.
//!
//! - One embedding thread owns the [`Embedder`]. It takes a request, then gathers the requests
//!   already waiting (and, if a window is configured, those that arrive within it) up to a
//!   number of texts, and embeds them all in one call (which sorts them by length and runs
//!   each forward batch without padding).
//! - `n` chat threads each own a [`ChatModel::fork`] (the weights are shared) and take one
//!   request at a time.
//!
//! A request whose caller has gone away (its `oneshot` receiver dropped: the HTTP client hung
//! up) is skipped before it runs, and a generation stops between tokens.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::chat::{ChatModel, GenerateParams, Generation, Message};
use crate::embed::{Embedder, Embeddings};
use crate::engine::Counters;
use crate::error::{Error, Result};

/// An embedding request on its way to the embedding thread.
pub(crate) struct EmbedJob {
    pub inputs: Vec<String>,
    pub reply: oneshot::Sender<Result<Embeddings>>,
}

/// A chat request on its way to a chat thread.
pub(crate) struct ChatJob {
    pub messages: Vec<Message>,
    pub params: GenerateParams,
    pub reply: oneshot::Sender<Result<Generation>>,
}

/// The sending side of a bounded queue, with its capacity for the `Busy` error.
pub(crate) struct Queue<J> {
    tx: SyncSender<J>,
    capacity: usize,
}

impl<J> Queue<J> {
    /// Enqueues `job`, or fails at once if the queue is full or the workers are gone.
    pub fn push(&self, job: J) -> Result<()> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Error::Busy(self.capacity),
            TrySendError::Disconnected(_) => Error::Stopped,
        })
    }
}

/// How the embedding thread gathers requests into one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    /// Stop gathering at this many texts.
    pub max_texts: usize,
    /// Gather for at most this long after the first request.
    pub window: Duration,
}

/// Starts the embedding thread.
pub(crate) fn spawn_embedder(
    embedder: Embedder,
    capacity: usize,
    batching: Batching,
    counters: Arc<Counters>,
) -> Result<(Queue<EmbedJob>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    let handle = std::thread::Builder::new()
        .name("inference-embed".into())
        .spawn(move || embed_loop(&embedder, &rx, batching, &counters))
        .map_err(Error::io(
            "cannot start the embedding thread",
            "inference-embed",
        ))?;
    Ok((Queue { tx, capacity }, handle))
}

fn embed_loop(
    embedder: &Embedder,
    rx: &Receiver<EmbedJob>,
    batching: Batching,
    counters: &Counters,
) {
    while let Ok(first) = rx.recv() {
        let mut texts = first.inputs.len();
        let mut jobs = vec![first];
        let deadline = Instant::now() + batching.window;
        while texts < batching.max_texts {
            let wait = deadline.saturating_duration_since(Instant::now());
            let next = if wait.is_zero() {
                rx.try_recv().map_err(|_| RecvTimeoutError::Timeout)
            } else {
                rx.recv_timeout(wait)
            };
            match next {
                Ok(job) => {
                    texts += job.inputs.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() {
            Counters::bump(&counters.embed_batches, 1);
            Counters::bump(
                &counters.embed_texts,
                jobs.iter().map(|j| j.inputs.len() as u64).sum(),
            );
        }
        run_embed_batch(embedder, jobs);
    }
    tracing::debug!("embedding thread stops: its queue is closed");
}

fn run_embed_batch(embedder: &Embedder, jobs: Vec<EmbedJob>) {
    if jobs.is_empty() {
        return;
    }
    let all = jobs
        .iter()
        .flat_map(|j| j.inputs.iter().map(String::as_str))
        .collect::<Vec<_>>();
    let started = Instant::now();
    match embedder.embed(&all) {
        Ok(out) => {
            tracing::debug!(requests = jobs.len(), texts = all.len(), elapsed = ?started.elapsed(), "embedded");
            let mut vectors = out.vectors.into_iter();
            let mut tokens = out.tokens.into_iter();
            for job in jobs {
                let n = job.inputs.len();
                let part = Embeddings {
                    vectors: vectors.by_ref().take(n).collect(),
                    tokens: tokens.by_ref().take(n).collect(),
                };
                // The caller may have gone; nothing to do then.
                let _ = job.reply.send(Ok(part));
            }
        }
        // One request's failure must not fail the others gathered with it: run each alone.
        Err(e) if jobs.len() > 1 => {
            tracing::debug!(error = %e, "batched embedding failed; retrying each request alone");
            for job in jobs {
                let result = embedder.embed(&job.inputs);
                let _ = job.reply.send(result);
            }
        }
        Err(e) => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e));
            }
        }
    }
}

/// Starts `n` chat threads sharing one queue.
pub(crate) fn spawn_chat(
    model: &ChatModel,
    n: usize,
    capacity: usize,
) -> Result<(Queue<ChatJob>, Vec<JoinHandle<()>>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ChatJob>(capacity);
    let rx = Arc::new(Mutex::new(rx));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        let mut model = model.fork();
        let rx = Arc::clone(&rx);
        let name = format!("inference-chat-{i}");
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || chat_loop(&mut model, &rx))
            .map_err(|e| Error::Io {
                context: "cannot start the chat thread",
                path: name.into(),
                source: e,
            })?;
        handles.push(handle);
    }
    Ok((Queue { tx, capacity }, handles))
}

fn chat_loop(model: &mut ChatModel, rx: &Mutex<Receiver<ChatJob>>) {
    loop {
        // Hold the lock only to take a job, never while generating.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { break };
        if job.reply.is_closed() {
            continue;
        }
        let started = Instant::now();
        let result = model
            .prompt_ids(&job.messages)
            .and_then(|prompt| model.generate(&prompt, &job.params, &|| job.reply.is_closed()));
        if let Ok(g) = &result {
            tracing::debug!(
                prompt_tokens = g.prompt_tokens,
                completion_tokens = g.completion_tokens,
                elapsed = ?started.elapsed(),
                "chat completion"
            );
        }
        let _ = job.reply.send(result);
    }
    tracing::debug!("chat thread stops: its queue is closed");
}
