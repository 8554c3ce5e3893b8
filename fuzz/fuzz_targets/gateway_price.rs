//! Fuzzes the gateway's per-token price decoder (`subnet::gateway::token_bound`), which reads
//! untrusted request bodies before anything is charged: it never panics, and a price it
//! accepts charges at least one token and never less than the request's input bytes
//! (clamped to the embedding window) allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use subnet::gateway::{EMBEDDING_WINDOW, token_bound};

fuzz_target!(|data: &[u8]| {
    for path in ["/v1/embeddings", "/v1/chat/completions"] {
        if let Ok(tokens) = token_bound(path, data) {
            assert!(tokens >= 1);
            if path == "/v1/embeddings" {
                let v: serde_json::Value = serde_json::from_slice(data).unwrap();
                let n = match &v["input"] {
                    serde_json::Value::Array(a) => a.len() as u64,
                    _ => 1,
                };
                assert!(tokens >= n && tokens <= n.saturating_mul(EMBEDDING_WINDOW));
            }
        }
    }
});
