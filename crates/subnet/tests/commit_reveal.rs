//! The validator's commit-reveal schedule against the real ledger rules: driven once per
//! epoch through blocks, every commitment is accepted and revealed in time, and the revealed
//! weights are what the validator scored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger::{
    Address, B256, Call, Genesis, State, Status, Tx,
    exec::{BlockContext, build_block},
    genesis::AmountStr,
};
use subnet::validator::CommitReveal;
use wallet::PrivateKey;

const CHAIN_ID: u64 = 31_337;

fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes(&ledger::keccak256(format!("subnet test key {i}")).0).unwrap()
}

fn step(s: &mut State, calls: Vec<(u32, Call)>) {
    let mut sent = std::collections::HashMap::<u32, u64>::new();
    let txs = calls
        .into_iter()
        .map(|(i, call)| {
            let k = key(i);
            let n = sent.entry(i).or_default();
            *n += 1;
            let tx = Tx {
                from: k.address(),
                nonce: s.nonce(&k.address()) + *n - 1,
                fee: 1_000,
                expiry: 0,
                call,
            };
            tx.sign_with(CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
                .unwrap()
                .verify(CHAIN_ID, s)
                .unwrap()
        })
        .collect();
    let ctx = BlockContext {
        timestamp_ms: s.head.timestamp_ms + 1_000,
        proposer: Address::ZERO,
    };
    let built = build_block(s, ctx, txs);
    assert!(built.excluded.is_empty(), "{:?}", built.excluded);
    for r in &built.receipts {
        assert_eq!(r.status, Status::Success, "{r:?}");
    }
    let head = built.head();
    s.apply_diff(&built.diff, head);
}

#[test]
fn the_schedule_commits_and_reveals_in_time_on_the_ledger() {
    let g = Genesis {
        chain_id: CHAIN_ID,
        timestamp_ms: 1_700_000_000_000,
        min_fee: 1_000,
        alloc: (0..4)
            .map(|i| (key(i).address(), AmountStr(1_000_000_000_000)))
            .collect(),
        assets: vec![],
        share_rule: Default::default(),
        validators: Vec::new(),
        compute: None,
        infer: None,
    };
    let mut s = g.build().unwrap().0;
    step(
        &mut s,
        vec![(
            0,
            Call::CreateSubnet {
                max_lock_cost: u128::MAX,
            },
        )],
    );
    for k in 1..4 {
        step(
            &mut s,
            vec![(
                k,
                Call::RegisterNeuron {
                    netuid: 1,
                    max_burn: u128::MAX,
                },
            )],
        );
    }
    let set = |name: &str, value| Call::SetHyperparameter {
        netuid: 1,
        name: name.into(),
        value,
    };
    step(
        &mut s,
        vec![(0, set("weightsRateLimit", 0)), (0, set("commitReveal", 1))],
    );
    step(&mut s, vec![(0, set("tempo", 10))]);
    // The validator: key 1 with stake, so it holds a permit after the next epoch.
    step(
        &mut s,
        vec![(
            1,
            Call::AddStake {
                netuid: 1,
                hotkey: key(1).address(),
                amount: 50_000_000_000,
                limit_price: 0,
            },
        )],
    );
    let mut cr = CommitReveal::new(key(1).address(), 1, 0);
    let mut revealed = Vec::new();
    let mut last_epoch = u64::MAX;
    for _ in 0..80 {
        let sn = &s.subnets[&1];
        let next = s.head.height + 1;
        let epoch = sn.epoch_index(next);
        if epoch != last_epoch && sn.neurons[1].validator_permit {
            last_epoch = epoch;
            // This epoch's scores: miner 2 or 3 in turn.
            let w = if epoch.is_multiple_of(2) {
                vec![(2, 65_535), (3, 100)]
            } else {
                vec![(2, 100), (3, 65_535)]
            };
            let calls = cr.calls(epoch, &w, B256::from(ledger::U256::from(epoch)));
            for c in &calls {
                if let Call::RevealWeights { uids, values, .. } = c {
                    revealed.push((uids.clone(), values.clone()));
                }
            }
            step(&mut s, calls.into_iter().map(|c| (1, c)).collect());
            if let Some((uids, values)) = revealed.last() {
                let stored: Vec<(u16, u16)> = s.subnets[&1].neurons[1].weights.clone();
                let expected: Vec<(u16, u16)> =
                    uids.iter().copied().zip(values.iter().copied()).collect();
                assert_eq!(stored, expected, "the revealed weights are stored");
            }
        } else {
            step(&mut s, vec![]);
        }
    }
    assert!(revealed.len() >= 5, "{} reveals", revealed.len());
    assert_eq!(cr.pending().len(), 1, "only this epoch's commitment waits");
}
