//! Fuzzes the OpenAI request-body decoders of the inference routes on untrusted bytes
//! (`POST /v1/embeddings`, `POST /v1/chat/completions`): they never panic, every refusal is a
//! 400 with a message, accepted inputs round-trip, and an accepted chat request has its
//! parameters in range.
#![no_main]

use inference::http::api::{decode_chat, decode_embeddings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_embeddings(data) {
        // What was accepted re-encodes and decodes to the same texts.
        Ok(r) => {
            let again = serde_json::to_vec(&serde_json::json!({ "input": r.input })).unwrap();
            assert_eq!(decode_embeddings(&again).unwrap().input, r.input);
        }
        Err(e) => assert!(e.status.as_u16() == 400 && !e.message.is_empty()),
    }
    match decode_chat(data) {
        Ok(r) => {
            assert!((0.0..=2.0).contains(&r.temperature));
            assert!(r.top_p > 0.0 && r.top_p <= 1.0);
            assert!(r.stop.len() <= 4);
            if let Err(e) = r.params(256) {
                assert!(!e.to_string().is_empty());
            }
        }
        Err(e) => assert!(e.status.as_u16() == 400 && !e.message.is_empty()),
    }
});
