//! The settlement call: a verified payment relayed through the real ledger moves the funds
//! exactly once; payloads the ledger cannot carry are refused.

use alloy_primitives::{Bytes, U256};
use ledger::Call;
use x402_facilitator::{Error, settlement_call};
use x402_types::{TokenAmount, v2::PaymentPayload};

use crate::common::*;

#[test]
fn call_carries_the_authorization_unchanged() {
    let req = requirements();
    let p = pay(&req);
    let Call::TransferWithAuthorization(a) = settlement_call(&p, &req).unwrap() else {
        panic!("not a transferWithAuthorization");
    };
    let exact = p.exact_evm().unwrap();
    assert_eq!(a.asset, usd());
    assert_eq!(a.from, addr(1));
    assert_eq!(a.to, addr(2));
    assert_eq!(a.value, u128::from(PRICE));
    assert_eq!(a.valid_after, NOW - 60);
    assert_eq!(a.valid_before, NOW + 60);
    assert_eq!(a.nonce, exact.authorization.nonce);
    assert_eq!(&a.signature.0[..], exact.signature.as_ref());
}

#[test]
fn verified_payment_settles_once_on_the_ledger() {
    let (mut state, req) = (state(), requirements());
    let p = pay(&req);
    let (payer_before, payee_before) = (
        state.balance(&addr(1), &usd()),
        state.balance(&addr(2), &usd()),
    );
    assert!(verify(&p, &req, &state).is_valid);
    // The ledger checks the authorization's signature under the asset's own domain again
    // (`SignedTx::verify`), so this also proves the two domains agree.
    assert_eq!(
        settle_on_ledger(&mut state, &p, &req),
        ledger::Status::Success
    );
    let price = u128::from(PRICE);
    assert_eq!(state.balance(&addr(1), &usd()), payer_before - price);
    assert_eq!(state.balance(&addr(2), &usd()), payee_before + price);
    assert_rejected(
        &verify(&p, &req, &state),
        "invalid_exact_evm_nonce_already_used",
    );
}

#[test]
fn numbers_beyond_the_ledger_types_are_refused() {
    let req = requirements();
    let p = pay_with(&req, |a| {
        a.valid_before = TokenAmount(U256::from(u64::MAX) + U256::from(1))
    });
    assert!(matches!(
        settlement_call(&p, &req),
        Err(Error::OutOfRange {
            field: "validBefore",
            ..
        })
    ));
    let p = pay_with(&req, |a| {
        a.value = TokenAmount(U256::from(u128::MAX) + U256::from(1))
    });
    assert!(matches!(
        settlement_call(&p, &req),
        Err(Error::OutOfRange { field: "value", .. })
    ));
}

#[test]
fn smart_wallet_signatures_are_refused() {
    let req = requirements();
    let mut exact = pay(&req).exact_evm().unwrap();
    exact.signature = Bytes::from(vec![1u8; 200]);
    let p = PaymentPayload::new(&req, None, &exact).unwrap();
    assert!(matches!(
        settlement_call(&p, &req),
        Err(Error::SignatureLength(200))
    ));
}

#[test]
fn malformed_payloads_are_errors() {
    let req = requirements();
    let mut p = pay(&req);
    p.payload = serde_json::json!({});
    assert!(matches!(settlement_call(&p, &req), Err(Error::Types(_))));
    let mut bad = requirements();
    bad.asset = "not an address".into();
    assert!(matches!(
        settlement_call(&pay(&req), &bad),
        Err(Error::Types(_))
    ));
}
