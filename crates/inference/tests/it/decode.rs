//! Property tests of the request-body decoders: no input makes them panic, and what a client
//! encodes decodes to the same request.

use inference::Role;
use inference::http::api::{decode_chat, decode_embeddings};
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("input".to_owned()),
                    Just("model".to_owned()),
                    Just("messages".to_owned()),
                    Just("role".to_owned()),
                    Just("content".to_owned()),
                    Just("temperature".to_owned()),
                    Just("stop".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_embeddings(&body);
        let _ = decode_chat(&body);
    }

    #[test]
    fn arbitrary_json_never_panics_and_errors_are_400(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap();
        if let Err(e) = decode_embeddings(&body) {
            prop_assert_eq!(e.status.as_u16(), 400);
            prop_assert!(!e.message.is_empty());
        }
        if let Err(e) = decode_chat(&body) {
            prop_assert_eq!(e.status.as_u16(), 400);
        }
    }

    #[test]
    fn embeddings_inputs_round_trip(inputs in prop::collection::vec(any::<String>(), 1..8), one in any::<bool>()) {
        let body = if one {
            serde_json::json!({"model": "all-minilm-l6-v2", "input": inputs[0]})
        } else {
            serde_json::json!({"model": "all-minilm-l6-v2", "input": inputs})
        };
        let r = decode_embeddings(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(r.input, if one { vec![inputs[0].clone()] } else { inputs });
    }

    #[test]
    fn chat_messages_round_trip(
        msgs in prop::collection::vec((0..3usize, any::<String>()), 1..6),
        temperature in 0.0f64..=2.0,
        max_tokens in 1u64..10_000,
    ) {
        let roles = ["system", "user", "assistant"];
        let body = serde_json::json!({
            "messages": msgs.iter().map(|(r, c)| serde_json::json!({"role": roles[*r], "content": c})).collect::<Vec<_>>(),
            "temperature": temperature,
            "max_tokens": max_tokens,
        });
        let r = decode_chat(&serde_json::to_vec(&body).unwrap()).unwrap();
        prop_assert_eq!(r.messages.len(), msgs.len());
        for (m, (role, content)) in r.messages.iter().zip(&msgs) {
            let want = [Role::System, Role::User, Role::Assistant][*role];
            prop_assert_eq!(m.role, want);
            prop_assert_eq!(&m.content, content);
        }
        // serde_json parses floats to within an ulp, not always bit-exactly.
        prop_assert!((r.temperature - temperature).abs() <= 1e-12 * temperature.abs().max(1.0));
        prop_assert_eq!(r.max_tokens, Some(max_tokens));
    }
}
