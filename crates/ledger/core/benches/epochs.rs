//! Block processing with subnets (issue 5): a block that runs the epochs of 8 subnets of 256
//! uids (64 validators weighting every miner, bonds on the same pairs, Yuma3 with liquid
//! alpha) against ordinary blocks on the same chain: an empty one (the per-block emission into
//! the 8 markets) and one carrying 1 000 native transfers.
//!
//! `cargo bench -p ledger --bench epochs` measures `apply_block` (what every node does to a
//! block: signatures, execution, state root) and prints the ratios.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use ledger::{
    Address, Block, Call, Genesis, NATIVE, State, Tx,
    exec::{BlockContext, build_block},
    genesis::AmountStr,
    subnet::{Hyperparams, Market, Neuron, Subnet, UNIT},
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wallet::PrivateKey;

const CHAIN_ID: u64 = 31_337;
const SUBNETS: u16 = 8;
const UIDS: usize = 256;
const VALIDATORS: usize = 64;
const TRANSFERS: usize = 1_000;

fn key(i: usize) -> PrivateKey {
    let seed = alloy_primitives::keccak256(format!("bench key {i}"));
    PrivateKey::from_bytes(&seed.0).unwrap()
}

/// A subnet whose epoch is due at `block` when `due`, else 100 blocks later.
fn subnet(netuid: u16, block: u64, due: bool, rng: &mut StdRng) -> (Subnet, Market) {
    let account = |uid: usize| {
        let mut a = [0u8; 20];
        a[..2].copy_from_slice(&netuid.to_be_bytes());
        a[2..4].copy_from_slice(&(uid as u16).to_be_bytes());
        a[19] = 1;
        Address::from(a)
    };
    // Due at `block` when (block + netuid + 1) is a multiple of tempo + 1.
    let at = if due { block } else { block + 100 };
    let tempo = u16::try_from(at + u64::from(netuid)).unwrap();
    let row = |rng: &mut StdRng, uid: usize| -> Vec<(u16, u16)> {
        if uid >= VALIDATORS {
            return vec![];
        }
        (VALIDATORS..UIDS)
            .map(|j| (j as u16, rng.gen_range(1..=u16::MAX)))
            .collect()
    };
    let neurons = (0..UIDS)
        .map(|uid| Neuron {
            account: account(uid),
            registered_at: 0,
            last_update: block - 1,
            weights: row(rng, uid),
            bonds: row(rng, uid),
            validator_permit: uid < VALIDATORS,
            consensus: 0,
            incentive: 0,
            dividends: 0,
            validator_trust: 0,
            emission: 0,
            endpoint: None,
        })
        .collect();
    let mut stakes = std::collections::BTreeMap::new();
    let mut alpha_out = 0;
    for uid in 0..VALIDATORS {
        let st = rng.gen_range(UNIT..1_000 * UNIT);
        stakes.insert(account(uid), [(account(uid), st)].into_iter().collect());
        alpha_out += st;
    }
    let s = Subnet {
        netuid,
        owner: account(0),
        created_at: 0,
        locked: 100 * UNIT,
        hyperparams: Hyperparams {
            tempo,
            liquid_alpha: true,
            max_validators: VALIDATORS as u16,
            ..Hyperparams::default()
        },
        alpha_out,
        stakes,
        burn: UNIT,
        burn_block: 0,
        neurons,
        last_epoch: 0,
        hyperparams_set_at: Default::default(),
        commits: Default::default(),
    };
    (s, Market::seeded(1_000 * UNIT))
}

fn chain(due: bool) -> State {
    let senders: Vec<Address> = (0..TRANSFERS).map(|i| key(i).address()).collect();
    let g = Genesis {
        chain_id: CHAIN_ID,
        timestamp_ms: 1_700_000_000_000,
        min_fee: 1_000,
        alloc: senders
            .iter()
            .map(|a| (*a, AmountStr(1_000 * UNIT)))
            .collect(),
        assets: vec![],
        share_rule: Default::default(),
        validators: Vec::new(),
        compute: None,
        infer: None,
    };
    let mut state = g.build().unwrap().0;
    let mut rng = StdRng::seed_from_u64(7);
    let next = state.head.height + 1;
    for netuid in 1..=SUBNETS {
        let (s, m) = subnet(netuid, next, due, &mut rng);
        assert_eq!(s.epoch_due(next), due);
        state.native_supply += m.pool.tao;
        state.subnets.insert(netuid, s);
        state.markets.insert(netuid, m);
    }
    state
}

fn block(state: &State, transfers: usize) -> Block {
    let txs = (0..transfers)
        .map(|i| {
            let k = key(i);
            let tx = Tx {
                from: k.address(),
                nonce: 0,
                fee: 1_000,
                expiry: 0,
                call: Call::Transfer {
                    to: key((i + 1) % TRANSFERS).address(),
                    asset: NATIVE,
                    amount: 1,
                },
            };
            let signed = tx
                .sign_with(CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
                .unwrap();
            signed.verify(CHAIN_ID, state).unwrap()
        })
        .collect();
    let ctx = BlockContext {
        timestamp_ms: state.head.timestamp_ms + 1_000,
        proposer: Address::ZERO,
    };
    let built = build_block(state, ctx, txs);
    assert!(built.excluded.is_empty());
    if state
        .subnets
        .values()
        .any(|s| s.epoch_due(built.block.header.height))
    {
        assert_eq!(built.diff.epochs.len(), usize::from(SUBNETS));
    } else {
        assert!(built.diff.epochs.is_empty());
    }
    built.block
}

fn bench(c: &mut Criterion) {
    let quiet = chain(false);
    let epochs = chain(true);
    let cases = [
        ("empty block, 8 subnets", &quiet, block(&quiet, 0)),
        (
            "1000 transfers, 8 subnets",
            &quiet,
            block(&quiet, TRANSFERS),
        ),
        ("8 epochs of 256 uids", &epochs, block(&epochs, 0)),
        (
            "8 epochs + 1000 transfers",
            &epochs,
            block(&epochs, TRANSFERS),
        ),
    ];
    let mut g = c.benchmark_group("apply_block");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    let mut means = Vec::new();
    for (name, state, b) in &cases {
        g.bench_function(*name, |bench| {
            bench.iter(|| ledger::apply_block(black_box(state), black_box(b)).unwrap())
        });
        // A plain mean over a few runs for the ratios printed below.
        let runs = 10;
        let t = std::time::Instant::now();
        for _ in 0..runs {
            black_box(ledger::apply_block(state, b).unwrap());
        }
        means.push((*name, t.elapsed().as_secs_f64() * 1e3 / f64::from(runs)));
    }
    g.finish();
    println!("\nmean apply_block (ms), ratio to the 1000-transfer block:");
    let base = means[1].1;
    for (name, ms) in &means {
        println!("  {name:<28} {ms:>9.2} ms  {:>6.2}x", ms / base);
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
