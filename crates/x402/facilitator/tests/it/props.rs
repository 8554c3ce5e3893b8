//! Verification never panics, whatever JSON the client sends, and its answer is always
//! well-formed (`isValid` iff no reason).

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use x402_facilitator::verify_exact;
use x402_types::v2::PaymentPayload;

use crate::common::*;

pub fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,80}".prop_map(Value::String),
        "0x[0-9a-fA-F]{0,140}".prop_map(Value::String),
        "[0-9]{0,90}".prop_map(Value::String),
        Just(json!("exact")),
        Just(json!(format!("eip155:{CHAIN_ID}"))),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{1,12}",
                    Just("signature".to_owned()),
                    Just("authorization".to_owned()),
                    Just("from".to_owned()),
                    Just("to".to_owned()),
                    Just("value".to_owned()),
                    Just("validAfter".to_owned()),
                    Just("validBefore".to_owned()),
                    Just("nonce".to_owned()),
                    Just("scheme".to_owned()),
                    Just("network".to_owned()),
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Replaces the value at a path of keys (creating objects as needed) inside `v`.
fn set_path(v: &mut Value, path: &[&str], new: Value) {
    match path.split_first() {
        None => *v = new,
        Some((k, rest)) => {
            if !v.is_object() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                set_path(m.entry(*k).or_insert(Value::Null), rest, new);
            }
        }
    }
}

const PATHS: &[&[&str]] = &[
    &["payload"],
    &["payload", "signature"],
    &["payload", "authorization"],
    &["payload", "authorization", "from"],
    &["payload", "authorization", "to"],
    &["payload", "authorization", "value"],
    &["payload", "authorization", "validAfter"],
    &["payload", "authorization", "validBefore"],
    &["payload", "authorization", "nonce"],
    &["accepted"],
    &["accepted", "scheme"],
    &["accepted", "network"],
    &["accepted", "amount"],
    &["accepted", "extra"],
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary `accepted` and `payload` JSON.
    #[test]
    fn never_panics_on_arbitrary_json(
        accepted in arb_json(),
        payload in arb_json(),
        version in any::<u8>(),
        now in any::<u64>(),
    ) {
        let state = state();
        let req = requirements();
        let p = PaymentPayload { x402_version: version, resource: None, accepted, payload, extensions: None };
        let answer = verify_exact(&p, &req, &state, now);
        prop_assert_eq!(answer.is_valid, answer.invalid_reason.is_none());
        prop_assert!(!answer.is_valid);
    }

    /// A valid payment with one field replaced by arbitrary JSON.
    #[test]
    fn never_panics_on_a_mutated_payment(
        path in prop::sample::select(PATHS),
        new in arb_json(),
        now in prop_oneof![any::<u64>(), (NOW - 100)..(NOW + 100)],
    ) {
        let state = state();
        let req = requirements();
        let mut json = serde_json::to_value(pay(&req)).unwrap();
        let unchanged = {
            let mut probe = json.clone();
            set_path(&mut probe, path, new.clone());
            probe == json
        };
        set_path(&mut json, path, new);
        if let Ok(p) = serde_json::from_value::<PaymentPayload>(json) {
            let answer = verify_exact(&p, &req, &state, now);
            prop_assert_eq!(answer.is_valid, answer.invalid_reason.is_none());
            if answer.is_valid {
                // Only the untouched payment, at a time inside its window, is valid.
                prop_assert!(unchanged);
                prop_assert!(now >= NOW - 60 && now + 6 <= NOW + 60);
            }
        }
    }
}
