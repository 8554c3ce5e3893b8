//! One test per negative case of issue 4 §5, each asserting the canonical reason, plus the
//! reference order's other rejections and the boundaries of the time window.

use alloy_primitives::U256;
use serde_json::json;
use x402_types::{Network, TokenAmount, v2::Extra};

use crate::common::*;

#[test]
fn happy_path_is_valid_with_the_payer() {
    let (state, req) = (state(), requirements());
    let answer = verify(&pay(&req), &req, &state);
    assert!(answer.is_valid, "{answer:?}");
    assert_eq!(answer.invalid_reason, None);
    assert_eq!(answer.payer, Some(addr(1).to_checksum(None)));
    let json = serde_json::to_value(&answer).unwrap();
    assert_eq!(json["isValid"], true);
    assert!(json.get("invalidReason").is_none());
}

#[test]
fn wrong_amount() {
    let (state, req) = (state(), requirements());
    for value in [PRICE - 1, PRICE + 1] {
        let p = pay_with(&req, |a| a.value = TokenAmount::from(value));
        assert_rejected(
            &verify(&p, &req, &state),
            "invalid_exact_evm_authorization_value",
        );
    }
}

#[test]
fn wrong_payee() {
    let (state, req) = (state(), requirements());
    let p = pay_with(&req, |a| a.to = addr(3));
    let answer = verify(&p, &req, &state);
    assert_rejected(&answer, "invalid_exact_evm_recipient_mismatch");
    assert_eq!(answer.payer, Some(addr(1).to_checksum(None)));
}

#[test]
fn payee_compares_as_an_address_not_as_text() {
    let (state, mut req) = (state(), requirements());
    req.pay_to = req.pay_to.to_lowercase();
    assert!(verify(&pay(&req), &req, &state).is_valid);
}

#[test]
fn expired() {
    let (state, req) = (state(), requirements());
    // validBefore must be at least now + 6 (the reference's block-time buffer).
    for before in [NOW - 1, NOW, NOW + 5] {
        let p = pay_with(&req, |a| a.valid_before = TokenAmount::from(before));
        assert_rejected(
            &verify(&p, &req, &state),
            "invalid_exact_evm_payload_authorization_valid_before",
        );
    }
    let p = pay_with(&req, |a| a.valid_before = TokenAmount::from(NOW + 6));
    assert!(verify(&p, &req, &state).is_valid);
}

#[test]
fn not_yet_valid() {
    let (state, req) = (state(), requirements());
    for after in [NOW + 1, NOW + 30] {
        let p = pay_with(&req, |a| a.valid_after = TokenAmount::from(after));
        assert_rejected(
            &verify(&p, &req, &state),
            "invalid_exact_evm_payload_authorization_valid_after",
        );
    }
    let p = pay_with(&req, |a| a.valid_after = TokenAmount::from(NOW));
    assert!(verify(&p, &req, &state).is_valid);
}

#[test]
fn bad_signature() {
    let (state, req) = (state(), requirements());
    // Signed by someone other than `from`.
    let exact = sign(&req, authorization(&req), &key(3), USD_NAME, "1");
    let p = x402_types::v2::PaymentPayload::new(&req, None, &exact).unwrap();
    assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_signature");

    // A valid signature over another message (value changed after signing).
    let mut p = pay(&req);
    p.payload["authorization"]["validBefore"] = json!((NOW + 61).to_string());
    assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_signature");

    // Corrupted bytes, a bad v, a truncated signature.
    let good = pay(&req).payload["signature"].as_str().unwrap().to_owned();
    let flip = |at: usize, to: &str| format!("{}{to}{}", &good[..at], &good[at + 2..]);
    for sig in [
        flip(10, "00"),
        flip(130, "1d"),
        good[..good.len() - 2].to_owned(),
        "0x".to_owned(),
    ] {
        let mut p = pay(&req);
        p.payload["signature"] = json!(sig);
        assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_signature");
    }
}

#[test]
fn wrong_eip712_domain_name() {
    let (state, req) = (state(), requirements());
    // The client signed under another name than `extra.name`: the signature does not recover.
    let exact = sign(&req, authorization(&req), &key(1), "USD Coin", "1");
    let p = x402_types::v2::PaymentPayload::new(&req, None, &exact).unwrap();
    assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_signature");

    // The server advertised the wrong name and the client signed it: the token's own name
    // differs, as the reference finds through `name()` after a failed simulation.
    let mut wrong = requirements();
    wrong.extra = Extra::eip712("USD Coin", "1");
    assert_rejected(
        &verify(&pay(&wrong), &wrong, &state),
        "invalid_exact_evm_token_name_mismatch",
    );
    wrong.extra = Extra::eip712(USD_NAME, "2");
    assert_rejected(
        &verify(&pay(&wrong), &wrong, &state),
        "invalid_exact_evm_token_version_mismatch",
    );
}

#[test]
fn replayed_nonce() {
    let (mut state, req) = (state(), requirements());
    let p = pay(&req);
    assert!(verify(&p, &req, &state).is_valid);
    assert_eq!(
        settle_on_ledger(&mut state, &p, &req),
        ledger::Status::Success
    );
    assert_rejected(
        &verify(&p, &req, &state),
        "invalid_exact_evm_nonce_already_used",
    );
    // A fresh nonce from the same payer is fine.
    let fresh = pay_with(&req, |a| {
        a.nonce = alloy_primitives::B256::repeat_byte(0x43)
    });
    assert!(verify(&fresh, &req, &state).is_valid);
}

#[test]
fn insufficient_balance() {
    let state = state();
    let balance = state.balance(&addr(1), &usd());
    let mut req = requirements();
    req.amount = TokenAmount::from(balance + 1);
    assert_rejected(
        &verify(&pay(&req), &req, &state),
        "invalid_exact_evm_insufficient_balance",
    );
    req.amount = TokenAmount::from(balance);
    assert!(verify(&pay(&req), &req, &state).is_valid);
    // Beyond the ledger's u128: no one holds that much.
    req.amount = TokenAmount(U256::MAX);
    assert_rejected(
        &verify(&pay(&req), &req, &state),
        "invalid_exact_evm_insufficient_balance",
    );
}

#[test]
fn malformed_payload() {
    let (state, req) = (state(), requirements());
    let cases = [
        json!({}),
        json!(null),
        json!("0xdeadbeef"),
        json!({ "signature": "0xzz", "authorization": pay(&req).payload["authorization"] }),
        json!({ "signature": pay(&req).payload["signature"] }),
        json!({ "signature": pay(&req).payload["signature"],
                "authorization": { "from": "0x1", "to": "0x2", "value": "1",
                                   "validAfter": "0", "validBefore": "1", "nonce": "0x00" } }),
    ];
    for payload in cases {
        let mut p = pay(&req);
        p.payload = payload;
        let answer = verify(&p, &req, &state);
        assert_rejected(&answer, "invalid_payload");
        assert_eq!(answer.payer, None);
    }
    // Integers must be decimal strings.
    let mut p = pay(&req);
    p.payload["authorization"]["value"] = json!(PRICE);
    assert_rejected(&verify(&p, &req, &state), "invalid_payload");
}

#[test]
fn zero_amount_cannot_settle_on_the_ledger() {
    let (state, mut req) = (state(), requirements());
    req.amount = TokenAmount::ZERO;
    assert_rejected(
        &verify(&pay(&req), &req, &state),
        "invalid_exact_evm_transaction_simulation_failed",
    );
}

#[test]
fn scheme_network_domain_and_accepted() {
    let (state, req) = (state(), requirements());

    let mut p = pay(&req);
    p.x402_version = 1;
    assert_rejected(&verify(&p, &req, &state), "invalid_x402_version");

    let mut other = requirements();
    other.scheme = "upto".into();
    assert_rejected(
        &verify(&pay(&req), &other, &state),
        "invalid_exact_evm_scheme",
    );
    let mut p = pay(&req);
    p.accepted["scheme"] = json!("upto");
    assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_scheme");

    let mut no_domain = requirements();
    no_domain.extra = Extra::default();
    assert_rejected(
        &verify(&pay(&req), &no_domain, &state),
        "invalid_exact_evm_missing_eip712_domain",
    );

    let mut p = pay(&req);
    p.accepted["network"] = json!("eip155:8453");
    assert_rejected(
        &verify(&p, &req, &state),
        "invalid_exact_evm_network_mismatch",
    );

    // Another chain than this ledger's, consistently on both sides.
    let mut base = requirements();
    base.network = Network::eip155(8453);
    assert_rejected(&verify(&pay(&base), &base, &state), "invalid_network");

    // `accepted` must echo the requirement verbatim.
    let mut p = pay(&req);
    p.accepted["maxTimeoutSeconds"] = json!(3600);
    assert_rejected(&verify(&p, &req, &state), "invalid_payment_requirements");

    let mut permit2 = requirements();
    permit2
        .extra
        .other
        .insert("assetTransferMethod".into(), json!("permit2"));
    assert_rejected(
        &verify(&pay(&permit2), &permit2, &state),
        "unsupported_payload_type",
    );
    permit2
        .extra
        .other
        .insert("assetTransferMethod".into(), json!("eip3009"));
    assert!(verify(&pay(&permit2), &permit2, &state).is_valid);
}

#[test]
fn unknown_asset() {
    let (state, mut req) = (state(), requirements());
    req.asset = addr(3).to_checksum(None);
    assert_rejected(
        &verify(&pay(&req), &req, &state),
        "asset_not_deployed_contract",
    );
}

#[test]
fn reference_order_signature_before_recipient_and_time() {
    // Everything wrong at once: the signature (step 4) is reported first.
    let (state, req) = (state(), requirements());
    let mut auth = authorization(&req);
    auth.to = addr(3);
    auth.value = TokenAmount::from(1u64);
    auth.valid_before = TokenAmount::from(NOW);
    let exact = sign(&req, auth, &key(3), USD_NAME, "1");
    let p = x402_types::v2::PaymentPayload::new(&req, None, &exact).unwrap();
    assert_rejected(&verify(&p, &req, &state), "invalid_exact_evm_signature");
    // Recipient (5) before time (6–7) before value (8).
    let p = pay_with(&req, |a| {
        a.to = addr(3);
        a.valid_before = TokenAmount::from(NOW);
        a.value = TokenAmount::from(1u64);
    });
    assert_rejected(
        &verify(&p, &req, &state),
        "invalid_exact_evm_recipient_mismatch",
    );
    let p = pay_with(&req, |a| {
        a.valid_before = TokenAmount::from(NOW);
        a.valid_after = TokenAmount::from(NOW + 1);
        a.value = TokenAmount::from(1u64);
    });
    assert_rejected(
        &verify(&p, &req, &state),
        "invalid_exact_evm_payload_authorization_valid_before",
    );
}
