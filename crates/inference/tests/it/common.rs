//! Shared test setup: the models directory and the loaded models.

use std::path::PathBuf;
use std::sync::OnceLock;

use inference::models::{self, ModelPaths};
use inference::{ChatModel, Embedder};

/// The models directory the CLI would use (`SYMBIONT_MODELS_DIR`, the XDG cache, `~/.cache`),
/// so that a test run reuses what `symbiont models fetch` fetched and the other way round.
pub fn models_dir() -> PathBuf {
    models::default_dir(|k| std::env::var_os(k))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("models"))
}

/// `models::ensure`, once per process and model.
pub fn ensure(name: &str) -> ModelPaths {
    static MINILM: OnceLock<ModelPaths> = OnceLock::new();
    static SMOLLM2: OnceLock<ModelPaths> = OnceLock::new();
    let cell = match name {
        "all-minilm-l6-v2" => &MINILM,
        "smollm2-135m" => &SMOLLM2,
        _ => panic!("unknown model {name}"),
    };
    cell.get_or_init(|| models::ensure(name, &models_dir()).unwrap())
        .clone()
}

/// The embedding model, loaded once.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| Embedder::load(&ensure("all-minilm-l6-v2")).unwrap())
}

/// A fresh instance of the chat model (weights loaded once, shared).
pub fn chat_model() -> ChatModel {
    static C: OnceLock<ChatModel> = OnceLock::new();
    C.get_or_init(|| ChatModel::load(&ensure("smollm2-135m")).unwrap())
        .fork()
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}
