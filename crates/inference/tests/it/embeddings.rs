//! all-MiniLM-L6-v2 against the reference sentence-transformers (fixtures/gen_embeddings.py).

use serde::Deserialize;

use crate::common::{cosine, embedder};

#[derive(Deserialize)]
struct Fixture {
    model: String,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    tokens: usize,
    embedding: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../../fixtures/minilm_embeddings.json")).unwrap()
}

#[test]
fn matches_sentence_transformers_on_the_fixture_sentences() {
    let f = fixture();
    assert_eq!(f.model, "all-minilm-l6-v2");
    assert_eq!(f.items.len(), 20);
    let e = embedder();
    assert_eq!((e.dim(), e.max_seq_len()), (384, 256));
    let texts = f.items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>();
    let out = e.embed(&texts).unwrap();
    let mut worst = 1.0f64;
    for (i, item) in f.items.iter().enumerate() {
        let cos = cosine(&out.vectors[i], &item.embedding);
        worst = worst.min(cos);
        assert!(cos >= 0.9999, "sentence {i} {:?}: cosine {cos}", item.text);
        assert_eq!(
            out.tokens[i], item.tokens,
            "token count of sentence {i} {:?}",
            item.text
        );
        let norm = out.vectors[i].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "sentence {i} not normalised: {norm}"
        );
    }
    // The fixture exercises truncation: its longest sentence is cut at max_seq_length.
    assert_eq!(f.items.iter().map(|i| i.tokens).max(), Some(256));
    eprintln!("worst cosine against sentence-transformers: {worst:.7}");
}

#[test]
fn batching_and_padding_do_not_change_results() {
    let f = fixture();
    let e = embedder();
    let texts = f.items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>();
    let batched = e.embed(&texts).unwrap();
    for (i, t) in texts.iter().enumerate().step_by(3) {
        let alone = e.embed(&[*t]).unwrap();
        assert_eq!(alone.tokens[0], batched.tokens[i]);
        let cos = cosine(&alone.vectors[0], &batched.vectors[i]);
        assert!(
            cos > 0.999_999,
            "sentence {i}: alone vs batched cosine {cos}"
        );
    }
    // Order is preserved although batches run sorted by length.
    let reversed = texts.iter().rev().copied().collect::<Vec<_>>();
    let r = e.embed(&reversed).unwrap();
    for i in 0..texts.len() {
        assert!(cosine(&r.vectors[texts.len() - 1 - i], &batched.vectors[i]) > 0.999_999);
    }
}

#[test]
fn similar_sentences_are_closer_than_unrelated_ones() {
    let e = embedder();
    let out = e
        .embed(&[
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The stock market fell sharply today.",
        ])
        .unwrap();
    let near = cosine(&out.vectors[0], &out.vectors[1]);
    let far = cosine(&out.vectors[0], &out.vectors[2]);
    assert!(near > 0.7 && far < 0.3, "near {near}, far {far}");
}
