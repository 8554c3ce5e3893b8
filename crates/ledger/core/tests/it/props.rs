//! Properties over random transaction sequences: supply is conserved, `apply_block` is
//! deterministic and agrees with the producer, and replaying the blocks rebuilds the same
//! state root.

use ledger::{Call, NATIVE, SignedTx, apply_block};
use proptest::prelude::*;

use crate::common::*;

const N: u32 = 4;

#[derive(Debug, Clone)]
enum Op {
    Native { from: u32, to: u32, amount: u128 },
    Usd { from: u32, to: u32, amount: u128 },
    Mint { by: u32, to: u32, amount: u128 },
    Burn { by: u32, amount: u128 },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..N;
    // Amounts straddle the balances so that some calls fail.
    let amount = prop_oneof![1u128..1_000, 999_999_999_000u128..1_000_000_001_000];
    prop_oneof![
        (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Op::Native {
            from,
            to,
            amount
        }),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Op::Usd {
            from,
            to,
            amount
        }),
        (who.clone(), who.clone(), amount.clone()).prop_map(|(by, to, amount)| Op::Mint {
            by,
            to,
            amount
        }),
        (who, amount).prop_map(|(by, amount)| Op::Burn { by, amount }),
    ]
}

/// Turns ops into blocks of signed transactions with correct nonces.
fn blocks(ops: &[Vec<Op>]) -> Vec<Vec<SignedTx>> {
    let mut nonces = [0u64; N as usize];
    ops.iter()
        .map(|block| {
            block
                .iter()
                .map(|op| {
                    let (signer, call) = match *op {
                        Op::Native { from, to, amount } => (
                            from,
                            Call::Transfer {
                                to: addr(to),
                                asset: NATIVE,
                                amount,
                            },
                        ),
                        Op::Usd { from, to, amount } => (
                            from,
                            Call::Transfer {
                                to: addr(to),
                                asset: usd(),
                                amount,
                            },
                        ),
                        Op::Mint { by, to, amount } => (
                            by,
                            Call::Mint {
                                asset: usd(),
                                to: addr(to),
                                amount,
                            },
                        ),
                        Op::Burn { by, amount } => (
                            by,
                            Call::Burn {
                                asset: usd(),
                                amount,
                            },
                        ),
                    };
                    let n = &mut nonces[signer as usize];
                    *n += 1;
                    sign(&key(signer), *n - 1, call)
                })
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn supply_conserved_and_replay_deterministic(ops in prop::collection::vec(prop::collection::vec(op(), 0..8), 1..5)) {
        let genesis_state = state(N);
        let mut s = genesis_state.clone();
        let mut chain = vec![];
        let mut burned_fees = 0u128;
        for txs in blocks(&ops) {
            let built = step(&mut s, txs);
            burned_fees += built.receipts.iter().map(|r| u128::from(r.fee_burned)).sum::<u128>();
            assert_conserved(&s);
            chain.push(built.block);
        }
        // Native supply only shrinks, by exactly the fees.
        prop_assert_eq!(s.native_supply + burned_fees, genesis_state.native_supply);

        // Replaying the blocks through the validating path rebuilds the same state, twice.
        for _ in 0..2 {
            let mut r = genesis_state.clone();
            for b in &chain {
                let (diff, _) = apply_block(&r, b).unwrap();
                r.apply_diff(&diff, b.header.head());
            }
            prop_assert_eq!(&r, &s);
        }
    }

    #[test]
    fn decoding_arbitrary_json_never_panics(s in ".{0,400}") {
        let _ = serde_json::from_str::<SignedTx>(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random edits of a valid transaction's JSON: decoding never panics, and whatever still
    /// decodes either verifies or is refused with a rejection code.
    #[test]
    fn mutated_transactions_decode_or_fail_cleanly(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let s = state(2);
        let tx = sign(&key(0), 0, Call::Transfer { to: addr(1), asset: usd(), amount: 99 });
        let mut bytes = serde_json::to_vec(&tx).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(decoded) = serde_json::from_slice::<SignedTx>(&bytes) {
            match decoded.clone().verify(CHAIN_ID, &s) {
                Ok(v) => prop_assert_eq!(v.signed, tx),
                Err(r) => prop_assert!(!r.code().is_empty()),
            }
        }
    }
}
