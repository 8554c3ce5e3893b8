//! Quote verification time: the packaged TDX and SGX samples under Intel's root and a dev
//! quote under the dev root (ADR 0005 budgets a few ms per quote inside a block).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use verify_tee::dev::DevTee;
use verify_tee::{Root, key_binding, verify_quote};

/// 2025-06-20T00:00:00Z, inside the samples' collateral windows (as in `tests/samples.rs`).
const SAMPLES_NOW: u64 = 1_750_377_600;

fn bench(c: &mut Criterion) {
    let tdx = (
        include_bytes!("../testdata/tdx_quote").as_slice(),
        include_bytes!("../testdata/tdx_quote_collateral.json").as_slice(),
    );
    let sgx = (
        include_bytes!("../testdata/sgx_quote").as_slice(),
        include_bytes!("../testdata/sgx_quote_collateral.json").as_slice(),
    );
    let mut group = c.benchmark_group("verify_quote");
    for (name, (quote, collateral)) in [("tdx_sample", tdx), ("sgx_sample", sgx)] {
        verify_quote(quote, collateral, SAMPLES_NOW, &Root::Intel).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| verify_quote(black_box(quote), collateral, SAMPLES_NOW, &Root::Intel))
        });
    }
    let dev = DevTee::new([1; 32]);
    let root = Root::Custom(dev.root_ca_der());
    let (quote, collateral) = dev.quote(key_binding(&[2; 20]), SAMPLES_NOW);
    verify_quote(&quote, &collateral, SAMPLES_NOW, &root).unwrap();
    group.bench_function("dev_quote", |b| {
        b.iter(|| verify_quote(black_box(&quote), &collateral, SAMPLES_NOW, &root))
    });
    group.finish();

    c.bench_function("dev_tee/new", |b| {
        b.iter(|| DevTee::new(black_box([1; 32])))
    });
    c.bench_function("dev_tee/quote", |b| {
        b.iter(|| dev.quote(black_box([3; 64]), SAMPLES_NOW))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
