//! Sealed auction time for 8 and 32 bids (issue 10's benchmark; target ≤ 10 s for 8 bids
//! on this 2-core machine): bids sealed beforehand, each iteration checks, expands and
//! reduces them and decrypts the result. Key generation is outside the measurement.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use compute_sealed::{Auctioneer, seal};
use criterion::{Criterion, criterion_group, criterion_main};

fn auction(c: &mut Criterion) {
    let a = Auctioneer::generate();
    let pk = a.public_key().unwrap();
    let mut g = c.benchmark_group("sealed_auction");
    g.sample_size(10).warm_up_time(Duration::from_millis(1));
    for n in [8u16, 32] {
        let bids: Vec<Vec<u8>> = (0..n)
            .map(|i| seal(&pk, 40_000 - (i * 7_919) % 9_000).unwrap())
            .collect();
        g.measurement_time(Duration::from_secs(u64::from(n) * 10));
        g.bench_function(format!("{n}_bids_u16"), |b| {
            b.iter(|| a.resolve(&bids, &|_, _| {}).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, auction);
criterion_main!(benches);
