//! What the isolated signer costs per x402 payment: an EIP-3009 authorization signed through
//! the signer's Unix socket (connect, policy, audit entry written and fsynced, signature),
//! against the same signature made in process with the key.
//!
//! `cargo bench -p wallet-signer --bench sign`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use alloy_primitives::{Address, B256, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use wallet::PrivateKey;
use wallet_signer::{Client, Config, Policy, serve};
use x402_types::{TokenAmount, exact::Authorization};

const USD: Address = Address::repeat_byte(0x05);

fn key() -> PrivateKey {
    PrivateKey::from_bytes(&[7u8; 32]).unwrap()
}

fn authorization(nonce: u64) -> Authorization {
    Authorization {
        from: key().address(),
        to: Address::repeat_byte(0x51),
        value: TokenAmount(U256::from(1)),
        valid_after: TokenAmount::ZERO,
        valid_before: TokenAmount(U256::from(u64::MAX)),
        nonce: B256::from(U256::from(nonce)),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::parse(&format!(
        "chain_ids = [1337]\nrate_limit_per_minute = 4000000000\n[[assets]]\n\
         address = \"{USD}\"\nsymbol = \"USD\"\ndecimals = 6\nper_payment = 1\n\
         per_hour = \"{m}\"\nper_day = \"{m}\"\n",
        m = u128::MAX
    ))
    .unwrap();
    let (handle, client) = rt.block_on(async {
        let handle = serve(Config {
            policy,
            key: key(),
            socket: dir.path().join("s.sock"),
            admin_socket: dir.path().join("a.sock"),
            audit_log: dir.path().join("audit.log"),
        })
        .await
        .unwrap();
        let client = Client::connect(dir.path().join("s.sock")).await.unwrap();
        (handle, client)
    });
    let domain = x402_types::exact::domain("USD", "1", 1337, USD);
    let local = key();
    let mut nonce = 0u64;
    let mut g = c.benchmark_group("x402 authorization");
    g.bench_function("in process (key in the agent)", |b| {
        b.iter(|| {
            nonce += 1;
            let a = authorization(nonce);
            black_box(local.sign_hash(&a.signing_hash(&domain)).unwrap())
        })
    });
    g.bench_function("isolated signer (socket, policy, fsynced audit)", |b| {
        b.iter(|| {
            nonce += 1;
            let a = authorization(nonce);
            black_box(rt.block_on(client.sign_authorization(&domain, &a)).unwrap())
        })
    });
    g.finish();
    drop(handle);
}

criterion_group!(benches, bench);
criterion_main!(benches);
