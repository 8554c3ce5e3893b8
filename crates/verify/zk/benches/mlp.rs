//! Setup, prove and verify for the reference model `fixtures/mlp-16-32-32-4.json`
//! (docs/benchmarks.md, "verify-zk"; ezkl on the same model: `ezkl/bench.py`).
//!
//! `cargo bench -p verify-zk --bench mlp` prints the circuit's size, the key and proof sizes,
//! then criterion's figures for `setup`, `prove` (from proving-key bytes to proof bytes, the
//! public API) and `verify` (from verifying-key bytes) and `verify_prepared`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use verify_zk::{Mlp, PreparedVerifier, prove, setup, shape, verify};

const FIXTURE: &[u8] = include_bytes!("../fixtures/mlp-16-32-32-4.json");
/// The same input as `ezkl/bench.py`.
const INPUT: [i8; 16] = [
    3, -7, 100, -128, 127, 0, 1, -1, 42, -42, 64, -64, 5, 9, -100, 77,
];

fn bench(c: &mut Criterion) {
    let mlp = Mlp::from_json(FIXTURE).unwrap();
    let keys = setup(&mlp, Some([1; 32])).unwrap();
    let (output, proof) = prove(&mlp, &keys.proving_key, &INPUT).unwrap();
    let commitment = mlp.commitment();
    verify(&keys.verifying_key, &commitment, &INPUT, &output, &proof).unwrap();
    let s = shape(&mlp).unwrap();
    println!(
        "mlp-16-32-32-4: {} constraints, {} public inputs, {} witness variables; \
         proof {} bytes, verifying key {} bytes, proving key {} bytes; output {output:?}",
        s.constraints,
        s.public_inputs,
        s.witnesses,
        proof.len(),
        keys.verifying_key.len(),
        keys.proving_key.len(),
    );

    let mut g = c.benchmark_group("mlp-16-32-32-4");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("setup", |b| {
        b.iter(|| setup(black_box(&mlp), Some([1; 32])).unwrap())
    });
    g.bench_function("prove", |b| {
        b.iter(|| prove(black_box(&mlp), &keys.proving_key, &INPUT).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("mlp-16-32-32-4");
    g.sample_size(50);
    g.bench_function("verify", |b| {
        b.iter(|| {
            verify(
                &keys.verifying_key,
                &commitment,
                &INPUT,
                &output,
                black_box(&proof),
            )
            .unwrap()
        })
    });
    let verifier = PreparedVerifier::new(&keys.verifying_key).unwrap();
    g.bench_function("verify_prepared", |b| {
        b.iter(|| {
            verifier
                .verify(&commitment, &INPUT, &output, black_box(&proof))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
