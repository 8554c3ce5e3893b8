//! How a validator decides that a miner's answer is correct: the same computation, within a
//! documented tolerance.
//!
//! - Embeddings: every vector must have the reference's length and a cosine similarity of at
//!   least [`EMBEDDING_MIN_COSINE`] with the reference's vector. Two honest CPU runs of the
//!   same model agree to ~1e-6; a wrong model, random vectors or answers to other inputs (a
//!   replay) land far below.
//! - Chat: greedy decoding is deterministic, so the text must match exactly.

/// The least cosine similarity an honest embedding has with the validator's own.
pub const EMBEDDING_MIN_COSINE: f64 = 0.999;

/// The cosine similarity of two vectors (0 when either is zero or their lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 || !dot.is_finite() {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// Whether `answer` embeds the same inputs as `reference`, vector by vector.
pub fn embeddings_match(answer: &[Vec<f32>], reference: &[Vec<f32>]) -> bool {
    answer.len() == reference.len()
        && answer
            .iter()
            .zip(reference)
            .all(|(a, r)| cosine(a, r) >= EMBEDDING_MIN_COSINE)
}

/// Whether a chat answer matches the validator's greedy decoding.
pub fn chat_matches(answer: &str, reference: &str) -> bool {
    answer == reference
}

/// The vectors of an OpenAI `/v1/embeddings` response, in index order; `None` when the
/// document is not one.
pub fn parse_embeddings(doc: &serde_json::Value) -> Option<Vec<Vec<f32>>> {
    let data = doc["data"].as_array()?;
    let mut out: Vec<(u64, Vec<f32>)> = data
        .iter()
        .map(|d| {
            let v = d["embedding"]
                .as_array()?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32))
                .collect::<Option<Vec<f32>>>()?;
            Some((d["index"].as_u64()?, v))
        })
        .collect::<Option<_>>()?;
    out.sort_by_key(|(i, _)| *i);
    Some(out.into_iter().map(|(_, v)| v).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tolerance_separates_noise_from_other_answers() {
        let r = vec![vec![0.6f32, 0.8, 0.0], vec![0.0, 0.0, 1.0]];
        let noisy = vec![
            vec![0.600_001f32, 0.799_999, 0.000_001],
            vec![0.0, 0.000_01, 1.0],
        ];
        assert!(embeddings_match(&noisy, &r));
        let swapped = vec![r[1].clone(), r[0].clone()];
        assert!(!embeddings_match(&swapped, &r), "answers to other inputs");
        assert!(!embeddings_match(&r[..1], &r), "a missing vector");
        assert!(
            !embeddings_match(&[vec![0.0; 3], r[1].clone()], &r),
            "a zero vector"
        );
        assert!(chat_matches("Hello.", "Hello.") && !chat_matches("Hello", "Hello."));
    }

    #[test]
    fn parses_openai_embedding_documents() {
        let doc = serde_json::json!({"object": "list", "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, 0.5]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
        ]});
        assert_eq!(
            parse_embeddings(&doc).unwrap(),
            vec![vec![1.0, 0.0], vec![0.5, 0.5]]
        );
        assert!(parse_embeddings(&serde_json::json!({"data": [{"index": 0}]})).is_none());
        assert!(parse_embeddings(&serde_json::json!("x")).is_none());
    }

    proptest! {
        #[test]
        fn cosine_is_bounded_and_never_panics(
            a in prop::collection::vec(any::<f32>(), 0..8),
            b in prop::collection::vec(any::<f32>(), 0..8),
        ) {
            let c = cosine(&a, &b);
            prop_assert!((-1.000_001..=1.000_001).contains(&c), "{c}");
            let _ = embeddings_match(std::slice::from_ref(&a), std::slice::from_ref(&b));
        }
    }
}
