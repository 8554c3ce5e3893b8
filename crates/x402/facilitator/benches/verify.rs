//! One `/verify` request (JSON bytes → one-pass typed decoding → `verify_exact` against a
//! dev-genesis ledger state, signature recovery included) against the bare secp256k1 public
//! key recovery of the same signature, on one core, measured in the same run. Their ratio is
//! the facilitator's verification rate as a fraction of the machine's recovery rate
//! (issue 4 §6 asks ≥ 0.80); `symbiont bench x402` measures the same on all cores.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::{
    future::Future,
    hint::black_box,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use alloy_primitives::{Address, B256, Bytes};
use criterion::{Criterion, criterion_group, criterion_main};
use ledger::{Asset, Genesis, genesis::DEV_USD_NAME};
use wallet::PrivateKey;
use x402_facilitator::{Service, SnapshotBackend};
use x402_types::{
    Network, TokenAmount, VerifyRequest,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{Extra, PaymentPayload, PaymentRequirements},
};

const NOW: u64 = 1_700_000_100;

fn ready<T>(f: impl Future<Output = T>) -> T {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

/// A service over a dev ledger, `n` distinct signed request bodies, and their signatures.
fn fixture(n: usize) -> (Service, Vec<Vec<u8>>, Vec<(B256, Bytes)>) {
    let payer = PrivateKey::from_bytes(&[7u8; 32]).unwrap();
    let issuer = PrivateKey::from_bytes(&[8u8; 32]).unwrap();
    let state = Genesis::dev(
        31_337,
        1_700_000_000_000,
        &[issuer.address(), payer.address()],
    )
    .build()
    .unwrap()
    .0;
    let req = PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(31_337),
        amount: TokenAmount::from(10_000u64),
        asset: Asset::derive_id(issuer.address(), DEV_USD_NAME).to_checksum(None),
        pay_to: Address::repeat_byte(0xbe).to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712(DEV_USD_NAME, "1"),
    };
    let domain = exact::domain_for(&req).unwrap();
    let mut bodies = Vec::with_capacity(n);
    let mut sigs = Vec::with_capacity(n);
    for i in 0..n {
        let auth = Authorization {
            from: payer.address(),
            to: Address::repeat_byte(0xbe),
            value: req.amount,
            valid_after: TokenAmount::from(0u64),
            valid_before: TokenAmount::from(NOW + 60),
            nonce: alloy_primitives::keccak256(i.to_be_bytes()),
        };
        let hash = auth.signing_hash(&domain);
        let sig = Bytes::copy_from_slice(&payer.sign_hash(&hash).unwrap().to_bytes());
        sigs.push((hash, sig.clone()));
        let payload = PaymentPayload::new(
            &req,
            None,
            &ExactEvmPayload {
                signature: sig,
                authorization: auth,
            },
        )
        .unwrap();
        bodies.push(serde_json::to_vec(&VerifyRequest::new_v2(&payload, &req).unwrap()).unwrap());
    }
    let service = Service::new().with(Arc::new(SnapshotBackend {
        view: state,
        now_secs: NOW,
    }));
    (service, bodies, sigs)
}

fn bench(c: &mut Criterion) {
    let (service, bodies, sigs) = fixture(256);
    let mut i = 0;
    c.bench_function("verify_json", |b| {
        b.iter(|| {
            i = (i + 1) % bodies.len();
            let r = ready(service.verify_json(black_box(&bodies[i]))).unwrap();
            assert!(r.is_valid);
        })
    });
    let mut j = 0;
    c.bench_function("recover", |b| {
        b.iter(|| {
            j = (j + 1) % sigs.len();
            let (h, s) = &sigs[j];
            black_box(exact::recover(black_box(h), black_box(s)).unwrap())
        })
    });

    // The ratio, interleaved in short rounds so both see the same machine.
    let (mut verify_ns, mut recover_ns) = (Duration::ZERO, Duration::ZERO);
    for round in 0..40 {
        let t = Instant::now();
        for body in &bodies {
            assert!(ready(service.verify_json(body)).unwrap().is_valid);
        }
        let v = t.elapsed();
        let t = Instant::now();
        for (h, s) in &sigs {
            black_box(exact::recover(h, s).unwrap());
        }
        let r = t.elapsed();
        if round >= 5 {
            verify_ns += v;
            recover_ns += r;
        }
    }
    println!(
        "verification rate / recovery rate (one core, interleaved) = {:.2}",
        recover_ns.as_secs_f64() / verify_ns.as_secs_f64()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
