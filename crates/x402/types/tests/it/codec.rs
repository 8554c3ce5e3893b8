//! Properties of the header codecs: every message round-trips through its header, the lenient
//! input forms decode to the same message, and no input makes a decoder panic.

use alloy_primitives::{Address, B256, Bytes, U256};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use proptest::prelude::*;
use serde_json::{Map, Value};
use x402_types::{
    Network, Reason, SettleResponse, TokenAmount,
    exact::{Authorization, ExactEvmPayload},
    header, v1, v2,
};

fn network() -> impl Strategy<Value = Network> {
    prop_oneof![
        any::<u64>().prop_map(Network::eip155),
        ("[a-z0-9-]{3,8}", "[-_a-zA-Z0-9]{1,32}")
            .prop_filter("eip155 needs a decimal reference", |(ns, _)| ns != "eip155")
            .prop_map(|(ns, r)| format!("{ns}:{r}").parse().unwrap()),
    ]
}

fn amount() -> impl Strategy<Value = TokenAmount> {
    any::<[u8; 32]>().prop_map(|b| TokenAmount(U256::from_be_bytes(b)))
}

fn text() -> impl Strategy<Value = String> {
    ".{0,24}"
}

/// A JSON object whose keys cannot collide with a struct's named fields.
fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x[a-zA-Z]{0,6}", text(), 0..3)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

fn extra() -> impl Strategy<Value = v2::Extra> {
    (prop::option::of(text()), prop::option::of(text()), object()).prop_map(
        |(name, version, other)| v2::Extra {
            name,
            version,
            other,
        },
    )
}

fn requirements() -> impl Strategy<Value = v2::PaymentRequirements> {
    (
        text(),
        network(),
        amount(),
        text(),
        text(),
        any::<u64>(),
        extra(),
    )
        .prop_map(
            |(scheme, network, amount, asset, pay_to, max_timeout_seconds, extra)| {
                v2::PaymentRequirements {
                    scheme,
                    network,
                    amount,
                    asset,
                    pay_to,
                    max_timeout_seconds,
                    extra,
                }
            },
        )
}

fn resource() -> impl Strategy<Value = v2::ResourceInfo> {
    (
        text(),
        prop::option::of(text()),
        prop::option::of(text()),
        object(),
    )
        .prop_map(|(url, description, mime_type, other)| v2::ResourceInfo {
            url,
            description,
            mime_type,
            other,
        })
}

fn payment_required() -> impl Strategy<Value = v2::PaymentRequired> {
    (
        prop::option::of(text()),
        resource(),
        prop::collection::vec(requirements(), 0..4),
        prop::option::of(object()),
    )
        .prop_map(
            |(error, resource, accepts, extensions)| v2::PaymentRequired {
                x402_version: 2,
                error,
                resource,
                accepts,
                extensions,
            },
        )
}

fn exact_payload() -> impl Strategy<Value = ExactEvmPayload> {
    (
        prop::collection::vec(any::<u8>(), 0..100),
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
        amount(),
        amount(),
        amount(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(sig, from, to, value, after, before, nonce)| ExactEvmPayload {
                signature: Bytes::from(sig),
                authorization: Authorization {
                    from: Address::from(from),
                    to: Address::from(to),
                    value,
                    valid_after: after,
                    valid_before: before,
                    nonce: B256::from(nonce),
                },
            },
        )
}

fn payment_payload() -> impl Strategy<Value = v2::PaymentPayload> {
    (
        requirements(),
        prop::option::of(resource()),
        exact_payload(),
        prop::option::of(object()),
    )
        .prop_map(|(req, resource, payload, extensions)| {
            let mut p = v2::PaymentPayload::new(&req, resource, &payload).unwrap();
            p.extensions = extensions;
            p
        })
}

fn v1_payload() -> impl Strategy<Value = v1::PaymentPayload> {
    (text(), text(), exact_payload()).prop_map(|(scheme, network, payload)| v1::PaymentPayload {
        x402_version: 1,
        scheme,
        network,
        payload: serde_json::to_value(payload).unwrap(),
    })
}

fn reason() -> impl Strategy<Value = Reason> {
    prop_oneof![
        prop::sample::select(Reason::ALL.to_vec()),
        "[a-z_]{1,30}".prop_map(|s| Reason::parse(&s)),
    ]
}

fn settle_response() -> impl Strategy<Value = SettleResponse> {
    (
        any::<bool>(),
        prop::option::of(reason()),
        prop::option::of(text()),
        prop::option::of(text()),
        text(),
        text(),
        prop::option::of(amount()),
        prop::option::of(object()),
    )
        .prop_map(
            |(success, error_reason, error_message, payer, transaction, network, amount, ext)| {
                SettleResponse {
                    success,
                    error_reason,
                    error_message,
                    payer,
                    transaction,
                    network,
                    amount,
                    extensions: ext,
                }
            },
        )
}

/// The same bytes as `standard`, in the other accepted spellings.
fn variants(standard: &str) -> Vec<String> {
    let url = standard.replace('+', "-").replace('/', "_");
    vec![
        standard.trim_end_matches('=').to_owned(),
        url.clone(),
        url.trim_end_matches('=').to_owned(),
        format!("  {standard}\t"),
    ]
}

fn is_standard_padded(s: &str) -> bool {
    s.len().is_multiple_of(4)
        && s.trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && s.len() - s.trim_end_matches('=').len() <= 2
}

proptest! {
    #[test]
    fn payment_required_round_trips(m in payment_required()) {
        let h = header::encode_payment_required(&m).unwrap();
        prop_assert!(is_standard_padded(&h));
        prop_assert_eq!(&header::decode_payment_required(&h).unwrap(), &m);
        for v in variants(&h) {
            prop_assert_eq!(&header::decode_payment_required(&v).unwrap(), &m);
        }
    }

    #[test]
    fn payment_signature_round_trips(m in payment_payload()) {
        let h = header::encode_payment_signature(&m).unwrap();
        prop_assert!(is_standard_padded(&h));
        let back = header::decode_payment_signature(&h).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.requirements().unwrap(), m.requirements().unwrap());
        prop_assert_eq!(back.exact_evm().unwrap(), m.exact_evm().unwrap());
        for v in variants(&h) {
            prop_assert_eq!(&header::decode_payment_signature(&v).unwrap(), &m);
        }
    }

    #[test]
    fn settle_responses_round_trip(m in settle_response()) {
        let h = header::encode_payment_response(&m).unwrap();
        prop_assert!(is_standard_padded(&h));
        prop_assert_eq!(&header::decode_payment_response(&h).unwrap(), &m);
        let h1 = header::encode_x_payment_response(&m).unwrap();
        prop_assert_eq!(&header::decode_x_payment_response(&h1).unwrap(), &m);
        for v in variants(&h) {
            prop_assert_eq!(&header::decode_payment_response(&v).unwrap(), &m);
        }
    }

    #[test]
    fn x_payment_round_trips(m in v1_payload()) {
        let h = header::encode_x_payment(&m).unwrap();
        prop_assert!(is_standard_padded(&h));
        prop_assert_eq!(&header::decode_x_payment(&h).unwrap(), &m);
        for v in variants(&h) {
            prop_assert_eq!(&header::decode_x_payment(&v).unwrap(), &m);
        }
    }

    #[test]
    fn decoding_arbitrary_strings_never_panics(s in ".{0,200}") {
        decode_all(&s);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(b in prop::collection::vec(any::<u8>(), 0..300)) {
        // Past the base64 layer, into UTF-8 and JSON.
        decode_all(&STANDARD.encode(&b));
        decode_all(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(j in json()) {
        decode_all(&STANDARD.encode(j.to_string()));
    }
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just("x402Version"), Just("2"), Just("eip155:1"), Just("")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("x402Version".to_owned()),
                    Just("accepted".to_owned()),
                    Just("payload".to_owned()),
                    Just("network".to_owned()),
                    "[a-z]{1,4}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode_all(s: &str) {
    let _ = header::decode_payment_required(s);
    if let Ok(p) = header::decode_payment_signature(s) {
        let _ = p.requirements();
        let _ = p.exact_evm();
    }
    let _ = header::decode_payment_response(s);
    if let Ok(p) = header::decode_x_payment(s) {
        let _ = p.exact_evm();
    }
    let _ = header::decode_x_payment_response(s);
}

#[test]
fn lenient_input_and_clear_errors() {
    use x402_types::Error;
    let m = SettleResponse {
        success: false,
        error_reason: Some(Reason::SettlementPending),
        error_message: None,
        payer: None,
        transaction: "0xabc".into(),
        network: "eip155:1".into(),
        amount: None,
        extensions: None,
    };
    let h = header::encode_payment_response(&m).unwrap();
    // Mixed alphabets are refused.
    let mixed = format!("{}-_", h.trim_end_matches('=').replace('/', "+"));
    assert!(matches!(
        header::decode_payment_response(&mixed),
        Err(Error::Base64 { .. })
    ));
    // Too long is refused before decoding.
    let long = "A".repeat(header::MAX_ENCODED_LEN + 1);
    let err = header::decode_payment_response(&long).unwrap_err();
    assert!(
        matches!(
            err,
            Error::HeaderTooLarge {
                header: "PAYMENT-RESPONSE",
                ..
            }
        ),
        "{err}"
    );
    // Not UTF-8, not JSON.
    let not_utf8 = STANDARD.encode([0xff, 0xfe]);
    assert!(matches!(
        header::decode_payment_response(&not_utf8),
        Err(Error::Utf8 { .. })
    ));
    let not_json = STANDARD.encode("{");
    let err = header::decode_payment_response(&not_json).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PAYMENT-RESPONSE is not valid JSON"),
        "{err}"
    );
    assert!(header::decode_payment_response("").is_err());
}

fn v1_requirements() -> impl Strategy<Value = v1::PaymentRequirements> {
    (
        (text(), text(), amount(), text(), text()),
        (text(), text(), text()),
        prop::option::of(object().prop_map(Value::Object)),
        any::<u64>(),
        prop::option::of(extra()),
    )
        .prop_map(
            |(
                (scheme, network, max_amount_required, asset, pay_to),
                (resource, description, mime_type),
                output_schema,
                max_timeout_seconds,
                extra,
            )| v1::PaymentRequirements {
                scheme,
                network,
                max_amount_required,
                asset,
                pay_to,
                resource,
                description,
                mime_type,
                output_schema,
                max_timeout_seconds,
                extra,
            },
        )
}

proptest! {
    #[test]
    fn facilitator_bodies_round_trip(p in payment_payload(), r in requirements()) {
        let req = x402_types::VerifyRequest::new_v2(&p, &r).unwrap();
        let back: x402_types::VerifyRequest =
            serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
        prop_assert_eq!(&back, &req);
        let (p2, r2) = back.v2().unwrap();
        prop_assert_eq!(p2, p);
        prop_assert_eq!(r2, r);
        prop_assert!(back.v1().is_err());
    }

    #[test]
    fn v1_body_round_trips(accepts in prop::collection::vec(v1_requirements(), 0..3), error in text()) {
        let body = v1::PaymentRequired { x402_version: 1, error, accepts };
        let json = serde_json::to_string(&body).unwrap();
        prop_assert_eq!(serde_json::from_str::<v1::PaymentRequired>(&json).unwrap(), body);
    }
}
