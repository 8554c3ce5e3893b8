//! Execution rules of the call kinds and the inclusion checks.

use ledger::{
    Address, Call, NATIVE, Reject, Status, Tx, apply_block,
    exec::{BlockContext, build_block, precheck},
};

use crate::common::*;

#[test]
fn transfer_moves_value_and_burns_fee() {
    let mut s = state(2);
    let before = s.native_supply;
    let call = Call::Transfer {
        to: addr(1),
        asset: NATIVE,
        amount: 500,
    };
    let b = step(&mut s, vec![sign(&key(0), 0, call)]);
    assert!(b.receipts[0].status.is_success());
    assert_eq!(s.balance(&addr(1), &NATIVE), 1_000_000_000_000 + 500);
    assert_eq!(
        s.balance(&addr(0), &NATIVE),
        1_000_000_000_000 - 500 - u128::from(MIN_FEE)
    );
    assert_eq!(s.native_supply, before - u128::from(MIN_FEE));
    assert_eq!(s.nonce(&addr(0)), 1);
    assert_conserved(&s);
}

#[test]
fn failed_call_burns_fee_uses_nonce_changes_nothing_else() {
    let mut s = state(2);
    let call = Call::Transfer {
        to: addr(1),
        asset: usd(),
        amount: 10_000_000_000,
    };
    let b = step(&mut s, vec![sign(&key(1), 0, call)]);
    match &b.receipts[0].status {
        Status::Failed { code, .. } => assert_eq!(code, "insufficient_funds"),
        s => panic!("expected failure, got {s:?}"),
    }
    assert!(b.receipts[0].events.is_empty());
    assert_eq!(s.nonce(&addr(1)), 1);
    assert_eq!(s.balance(&addr(1), &usd()), 1_000_000_000);
    assert_conserved(&s);
}

#[test]
fn mint_and_burn_only_by_issuer() {
    let mut s = state(2);
    let b = step(
        &mut s,
        vec![
            sign(
                &key(0),
                0,
                Call::Mint {
                    asset: usd(),
                    to: addr(1),
                    amount: 7,
                },
            ),
            sign(
                &key(1),
                0,
                Call::Mint {
                    asset: usd(),
                    to: addr(1),
                    amount: 7,
                },
            ),
            sign(
                &key(0),
                1,
                Call::Burn {
                    asset: usd(),
                    amount: 3,
                },
            ),
            sign(
                &key(1),
                1,
                Call::Burn {
                    asset: usd(),
                    amount: 3,
                },
            ),
        ],
    );
    let codes: Vec<_> = b
        .receipts
        .iter()
        .map(|r| match &r.status {
            Status::Success => "ok".to_string(),
            Status::Failed { code, .. } => code.clone(),
        })
        .collect();
    assert_eq!(codes, ["ok", "not_issuer", "ok", "not_issuer"]);
    assert_eq!(s.assets[&usd()].supply, 2_000_000_000 + 7 - 3);
    assert_conserved(&s);
}

#[test]
fn inclusion_checks_exclude_bad_nonce_low_fee_expired_and_unfunded() {
    let s = state(2);
    let stranger = key(99);
    let mut expired = Tx {
        from: addr(0),
        nonce: 0,
        fee: MIN_FEE,
        expiry: 5,
        call: Call::Transfer {
            to: addr(1),
            asset: NATIVE,
            amount: 1,
        },
    };
    let k0 = key(0);
    let sign_tx = |t: Tx| {
        t.sign_with(CHAIN_ID, |h| k0.sign_hash(h).map(|s| s.to_bytes()))
            .unwrap()
    };
    let expired_tx = sign_tx(expired.clone());
    expired.expiry = 0;
    expired.fee = 1;
    let low_fee = sign_tx(expired);
    let call = Call::Transfer {
        to: addr(1),
        asset: NATIVE,
        amount: 1,
    };
    let candidates = vec![
        verify(&s, sign(&key(0), 1, call.clone())), // future nonce
        verify(&s, expired_tx),                     // expired
        verify(&s, low_fee),                        // fee too low
        verify(&s, sign(&stranger, 0, call.clone())), // cannot pay the fee
    ];
    let ctx = BlockContext {
        timestamp_ms: T0_MS + 1000,
        proposer: Address::ZERO,
    };
    let b = build_block(&s, ctx, candidates);
    assert!(b.block.txs.is_empty());
    let codes: Vec<_> = b.excluded.iter().map(|(_, r)| r.code()).collect();
    assert_eq!(
        codes,
        [
            "nonce_future",
            "expired",
            "fee_too_low",
            "insufficient_funds"
        ]
    );
}

#[test]
fn signature_checks() {
    let s = state(2);
    let call = Call::Transfer {
        to: addr(1),
        asset: NATIVE,
        amount: 1,
    };
    let good = sign(&key(0), 0, call.clone());

    let mut wrong_chain = good.clone();
    wrong_chain.chain_id = 1;
    assert_eq!(
        wrong_chain.verify(CHAIN_ID, &s).unwrap_err().code(),
        "wrong_chain_id"
    );

    let mut tampered = good.clone();
    tampered.tx.nonce = 5;
    assert_eq!(
        tampered.verify(CHAIN_ID, &s).unwrap_err().code(),
        "signer_mismatch"
    );

    // The same signature with s flipped to the high half of the curve order is malleable.
    let mut high_s = good.clone();
    let n = alloy_primitives::U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap();
    let s_val = alloy_primitives::U256::from_be_slice(&good.signature.0[32..64]);
    high_s.signature.0[32..64].copy_from_slice(&(n - s_val).to_be_bytes::<32>());
    high_s.signature.0[64] = 55 - high_s.signature.0[64]; // 27 <-> 28
    match high_s.verify(CHAIN_ID, &s).unwrap_err() {
        Reject::BadSignature { reason } => assert!(reason.contains("high s"), "{reason}"),
        r => panic!("expected bad_signature, got {r:?}"),
    }

    let mut bad_v = good.clone();
    bad_v.signature.0[64] = 29;
    assert_eq!(
        bad_v.verify(CHAIN_ID, &s).unwrap_err().code(),
        "bad_signature"
    );
    assert!(good.verify(CHAIN_ID, &s).is_ok());
}

#[test]
fn precheck_catches_unfunded_native_transfer() {
    let s = state(2);
    let call = Call::Transfer {
        to: addr(1),
        asset: NATIVE,
        amount: 2_000_000_000_000,
    };
    let v = verify(&s, sign(&key(0), 0, call));
    assert_eq!(
        precheck(&s, &v, T0_MS / 1000).unwrap_err().code(),
        "insufficient_funds"
    );
}

#[test]
fn apply_block_rejects_tampered_blocks() {
    let mut s = state(2);
    let s0 = s.clone();
    let call = Call::Transfer {
        to: addr(1),
        asset: NATIVE,
        amount: 1,
    };
    let built = step(&mut s, vec![sign(&key(0), 0, call)]);
    let (diff, receipts) = apply_block(&s0, &built.block).unwrap();
    assert_eq!(diff, built.diff);
    assert_eq!(receipts, built.receipts);

    let mut bad = built.block.clone();
    bad.header.state_root = Default::default();
    assert!(apply_block(&s0, &bad).is_err());
    let mut bad = built.block.clone();
    bad.header.height = 7;
    assert!(apply_block(&s0, &bad).is_err());
    let mut bad = built.block.clone();
    bad.txs[0].tx.fee += 1; // breaks the signature
    assert!(apply_block(&s0, &bad).is_err());
    let mut bad = built.block;
    bad.txs.push(bad.txs[0].clone()); // replay inside the block
    assert!(apply_block(&s0, &bad).is_err());
}

#[test]
fn json_wire_format_round_trips_and_is_strict() {
    let tx = sign(
        &key(0),
        3,
        Call::Transfer {
            to: addr(1),
            asset: usd(),
            amount: 12345,
        },
    );
    let json = serde_json::to_string(&tx).unwrap();
    assert!(json.contains(r#""type":"transfer""#), "{json}");
    assert!(json.contains(r#""amount":"12345""#), "{json}");
    let back: ledger::SignedTx = serde_json::from_str(&json).unwrap();
    assert_eq!(back, tx);
    let extra = json.replacen("{", r#"{"extra":1,"#, 1);
    assert!(serde_json::from_str::<ledger::SignedTx>(&extra).is_err());
    let neg = json.replace(r#""12345""#, r#""-5""#);
    assert!(serde_json::from_str::<ledger::SignedTx>(&neg).is_err());
    let short_sig = json.replace(&format!("{:?}", tx.signature), "0x1234");
    assert!(serde_json::from_str::<ledger::SignedTx>(&short_sig).is_err());
}

/// A producer whose clock went back builds a block at its parent's time, and executes it at
/// that time too: a transaction expiring in between is left out, so every node applying the
/// block computes the same receipts and roots.
#[test]
fn a_block_built_with_a_clock_behind_the_parent_executes_at_the_header_time() {
    let mut s = state(2);
    step(&mut s, vec![]);
    let parent_secs = s.head.timestamp_ms / 1000;
    let tx = Tx {
        from: addr(0),
        nonce: 0,
        fee: MIN_FEE,
        expiry: parent_secs,
        call: Call::Transfer {
            to: addr(1),
            asset: NATIVE,
            amount: 1,
        },
    };
    let k0 = key(0);
    let signed = tx
        .sign_with(CHAIN_ID, |h| k0.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap();
    let ctx = BlockContext {
        timestamp_ms: s.head.timestamp_ms - 5_000,
        proposer: Address::ZERO,
    };
    let built = build_block(&s, ctx, vec![verify(&s, signed)]);
    assert_eq!(built.block.header.timestamp_ms, s.head.timestamp_ms);
    assert_eq!(built.excluded.len(), 1, "expired at the header's time");
    let (diff, receipts) = apply_block(&s, &built.block).unwrap();
    assert_eq!(diff, built.diff);
    assert_eq!(receipts, built.receipts);
}
