//! One Yuma3 epoch with liquid alpha, dense random weights from every validator to every
//! miner and random bonds on the same pairs: the worst case the chain can store.
//!
//! `cargo bench -p yuma --bench epoch` measures the sparse path at n = 256 (64
//! validators) and n = 4096 (256 validators), then times the dense reference of the tests
//! on the same inputs and prints the ratio. Set `YUMA_BENCH_DENSE_4096=0` to skip the
//! dense run at n = 4096 (about a minute).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/it/dense.rs"]
#[allow(dead_code, clippy::needless_range_loop)]
mod dense;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yuma::{EpochInput, Params, State, epoch};

fn subnet(n: usize, validators: usize) -> (Params, EpochInput) {
    let mut rng = StdRng::seed_from_u64(42);
    let block = 10_000;
    let row = |rng: &mut StdRng, i: usize| -> Vec<(u16, u16)> {
        if i >= validators {
            return vec![];
        }
        (validators..n)
            .map(|j| (j as u16, rng.gen_range(1..=u16::MAX)))
            .collect()
    };
    let weights = (0..n).map(|i| row(&mut rng, i)).collect();
    let bonds = (0..n).map(|i| row(&mut rng, i)).collect();
    let state = State {
        n: n as u16,
        current_block: block,
        stake: (0..n)
            .map(|i| {
                if i < validators {
                    rng.gen_range(1_000_000_000..1_000_000_000_000)
                } else {
                    0
                }
            })
            .collect(),
        weights,
        bonds,
        last_update: vec![block - 1; n],
        block_at_registration: vec![0; n],
        validator_permit: (0..n).map(|i| i < validators).collect(),
        commit_block: None,
    };
    let params = Params {
        yuma3: true,
        liquid_alpha: true,
        max_allowed_validators: validators as u16,
        ..Params::default()
    };
    (
        params,
        EpochInput {
            state,
            emission: 1_000_000_000,
        },
    )
}

fn time<F: FnMut()>(mut f: F, runs: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed() / runs
}

fn benches(c: &mut Criterion) {
    for (n, v) in [(256, 64), (4096, 256)] {
        let (p, input) = subnet(n, v);
        c.bench_function(&format!("yuma3_liquid_alpha/n{n}_v{v}"), |b| {
            b.iter(|| epoch(black_box(&p), black_box(&input)).unwrap())
        });
    }
}

fn ratios() {
    let skip_big = std::env::var("YUMA_BENCH_DENSE_4096").is_ok_and(|v| v == "0");
    for (n, v) in [(256, 64), (4096, 256)] {
        if n == 4096 && skip_big {
            continue;
        }
        let (p, input) = subnet(n, v);
        let sparse_out = epoch(&p, &input).unwrap();
        let sparse = time(|| drop(black_box(epoch(&p, &input).unwrap())), 20);
        let runs = if n > 1000 { 1 } else { 5 };
        let mut dense_out = None;
        let dense = time(|| dense_out = Some(dense::epoch(&p, &input)), runs);
        assert_eq!(
            dense_out.as_ref(),
            Some(&sparse_out),
            "dense and sparse disagree"
        );
        println!(
            "n={n} validators={v}: sparse {sparse:?}, dense reference {dense:?}, ratio {:.0}x (outputs identical)",
            dense.as_secs_f64() / sparse.as_secs_f64()
        );
    }
}

criterion_group!(epoch_benches, benches);

fn main() {
    // `YUMA_BENCH_LOOP=k` runs k epochs at n = 4096 (or `YUMA_BENCH_N=256`: n = 256, 64
    // validators) and nothing else, for `perf stat`.
    if let Some(k) = std::env::var("YUMA_BENCH_LOOP")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        let (n, v) = if std::env::var("YUMA_BENCH_N").is_ok_and(|v| v == "256") {
            (256, 64)
        } else {
            (4096, 256)
        };
        let (p, input) = subnet(n, v);
        let t = time(|| drop(black_box(epoch(&p, &input).unwrap())), k);
        println!("n={n} validators={v}: {t:?} per epoch (wall)");
        return;
    }
    epoch_benches();
    Criterion::default().configure_from_args().final_summary();
    // `YUMA_BENCH_RATIO=0` skips the dense-reference comparison (e.g. when profiling).
    if std::env::var("YUMA_BENCH_RATIO").is_ok_and(|v| v == "0") {
        return;
    }
    ratios();
}
