//! EIP-3009 semantics: authorization signed under the asset's domain, relayed by anyone.

use ledger::{
    B256, Call, State, Status,
    eip3009::{self, Authorization, AuthorizationState, Cancellation},
    tx::Signature,
};

use crate::common::*;

fn authorization(
    s: &State,
    payer: u32,
    to: u32,
    value: u128,
    nonce: u8,
    window: (u64, u64),
) -> Authorization {
    let mut a = Authorization {
        asset: usd(),
        from: addr(payer),
        to: addr(to),
        value,
        valid_after: window.0,
        valid_before: window.1,
        nonce: B256::repeat_byte(nonce),
        signature: Signature([0; 65]),
    };
    let asset = &s.assets[&usd()];
    let d = eip3009::domain(&asset.name, &asset.version, CHAIN_ID, usd());
    a.signature = Signature(
        key(payer)
            .sign_hash(&a.signing_hash(&d))
            .unwrap()
            .to_bytes(),
    );
    a
}

fn status_code(st: &Status) -> &str {
    match st {
        Status::Success => "ok",
        Status::Failed { code, .. } => code,
    }
}

#[test]
fn relayed_transfer_with_authorization_pays_and_uses_the_nonce_once() {
    let mut s = state(3);
    let now = T0_MS / 1000;
    let a = authorization(&s, 1, 2, 250, 7, (0, now + 3600));
    // Key 0 relays (pays the fee); key 1's USD moves to key 2.
    let b = step(
        &mut s,
        vec![sign(&key(0), 0, Call::TransferWithAuthorization(a.clone()))],
    );
    assert_eq!(status_code(&b.receipts[0].status), "ok");
    assert_eq!(s.balance(&addr(2), &usd()), 1_000_000_000 + 250);
    assert_eq!(
        s.authorization_state(&(usd(), addr(1), a.nonce)),
        AuthorizationState::Used
    );
    // Relayed again (by someone else): the nonce is spent.
    let b = step(
        &mut s,
        vec![sign(&key(2), 0, Call::TransferWithAuthorization(a))],
    );
    assert_eq!(status_code(&b.receipts[0].status), "authorization_used");
    assert_eq!(s.balance(&addr(2), &usd()), 1_000_000_000 + 250);
    assert_conserved(&s);
}

#[test]
fn window_is_strict_on_both_ends() {
    let mut s = state(3);
    let next = T0_MS / 1000 + 1; // the next block's time in seconds
    let too_early = authorization(&s, 1, 2, 1, 1, (next, next + 100));
    let too_late = authorization(&s, 1, 2, 1, 2, (0, next));
    let b = step(
        &mut s,
        vec![
            sign(&key(0), 0, Call::TransferWithAuthorization(too_early)),
            sign(&key(0), 1, Call::TransferWithAuthorization(too_late)),
        ],
    );
    assert_eq!(
        status_code(&b.receipts[0].status),
        "authorization_not_yet_valid"
    );
    assert_eq!(status_code(&b.receipts[1].status), "authorization_expired");
}

#[test]
fn authorization_signed_by_someone_else_or_for_another_domain_is_refused() {
    let s = state(3);
    let mut a = authorization(&s, 1, 2, 1, 1, (0, u64::MAX));
    a.value = 2; // the payer signed 1
    let tx = sign(&key(0), 0, Call::TransferWithAuthorization(a));
    assert_eq!(
        tx.verify(CHAIN_ID, &s).unwrap_err().code(),
        "bad_authorization"
    );

    // Signed under the ledger's own domain instead of the asset's.
    let mut a = authorization(&s, 1, 2, 1, 1, (0, u64::MAX));
    let wrong = a.signing_hash(&ledger::tx::domain(CHAIN_ID));
    a.signature = Signature(key(1).sign_hash(&wrong).unwrap().to_bytes());
    let tx = sign(&key(0), 0, Call::TransferWithAuthorization(a));
    assert_eq!(
        tx.verify(CHAIN_ID, &s).unwrap_err().code(),
        "bad_authorization"
    );
}

#[test]
fn cancel_authorization_blocks_later_use() {
    let mut s = state(3);
    let a = authorization(&s, 1, 2, 5, 9, (0, u64::MAX));
    let asset = &s.assets[&usd()];
    let d = eip3009::domain(&asset.name, &asset.version, CHAIN_ID, usd());
    let mut c = Cancellation {
        asset: usd(),
        authorizer: addr(1),
        nonce: a.nonce,
        signature: Signature([0; 65]),
    };
    c.signature = Signature(key(1).sign_hash(&c.signing_hash(&d)).unwrap().to_bytes());
    let b = step(
        &mut s,
        vec![
            sign(&key(0), 0, Call::CancelAuthorization(c.clone())),
            sign(&key(0), 1, Call::TransferWithAuthorization(a)),
            sign(&key(0), 2, Call::CancelAuthorization(c)),
        ],
    );
    let codes: Vec<_> = b
        .receipts
        .iter()
        .map(|r| status_code(&r.status).to_owned())
        .collect();
    assert_eq!(codes, ["ok", "authorization_used", "authorization_used"]);
    assert_eq!(
        s.authorization_state(&(usd(), addr(1), B256::repeat_byte(9))),
        AuthorizationState::Canceled
    );
}

/// The EIP-712 hash of the EIP-3009 struct equals one computed by hand from the spec's
/// type string, so any ERC-3009 client (x402's EVM client included) signs the same bytes.
#[test]
fn eip3009_typehash_matches_the_standard() {
    use alloy_primitives::keccak256;
    use alloy_sol_types::SolStruct;
    let th = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)",
    );
    let t = eip3009::typed::TransferWithAuthorization {
        from: addr(1),
        to: addr(2),
        value: Default::default(),
        validAfter: Default::default(),
        validBefore: Default::default(),
        nonce: B256::ZERO,
    };
    assert_eq!(t.eip712_type_hash(), th);
    let th = keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");
    let c = eip3009::typed::CancelAuthorization {
        authorizer: addr(1),
        nonce: B256::ZERO,
    };
    assert_eq!(c.eip712_type_hash(), th);
}
