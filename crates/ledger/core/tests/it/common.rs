//! Fixtures: keys, a genesis, signing helpers and a tiny chain driver.

use ledger::{
    Address, Asset, Call, Genesis, State, Tx, VerifiedTx,
    exec::{BlockContext, build_block},
    genesis::{AmountStr, GenesisAsset},
    tx::SignedTx,
};
use wallet::PrivateKey;

pub const CHAIN_ID: u64 = 31_337;
pub const MIN_FEE: u64 = 1_000;
pub const T0_MS: u64 = 1_700_000_000_000;

pub fn key(i: u32) -> PrivateKey {
    let seed = alloy_primitives::keccak256(format!("test key {i}"));
    PrivateKey::from_bytes(&seed.0).unwrap()
}

pub fn addr(i: u32) -> Address {
    key(i).address()
}

/// Genesis: keys 0..n get 1,000 native and 1,000 USD; key 0 issues USD.
pub fn genesis(n: u32) -> Genesis {
    let alloc = (0..n)
        .map(|i| (addr(i), AmountStr(1_000_000_000_000)))
        .collect();
    let usd = (0..n)
        .map(|i| (addr(i), AmountStr(1_000_000_000)))
        .collect();
    Genesis {
        chain_id: CHAIN_ID,
        timestamp_ms: T0_MS,
        min_fee: MIN_FEE,
        alloc,
        assets: vec![GenesisAsset {
            name: "Devnet USD".into(),
            version: "1".into(),
            decimals: 6,
            issuer: addr(0),
            alloc: usd,
        }],
        share_rule: Default::default(),
        validators: Vec::new(),
        compute: None,
        infer: None,
    }
}

/// Runs one block of `(signer, call)` pairs at the signers' next nonces; returns each
/// receipt's status as "ok" or "code: message" ([`status_code`]). Nothing may be left
/// out of the block, and the supplies must stay conserved.
pub fn run(s: &mut State, calls: Vec<(u32, Call)>) -> Vec<String> {
    let mut nonces = std::collections::HashMap::new();
    let txs = calls
        .into_iter()
        .map(|(i, call)| {
            let n = nonces.entry(i).or_insert_with(|| s.nonce(&addr(i)));
            let tx = sign(&key(i), *n, call);
            *n += 1;
            tx
        })
        .collect();
    let b = step(s, txs);
    assert!(b.excluded.is_empty(), "{:?}", b.excluded);
    assert_conserved(s);
    b.receipts.iter().map(|r| status_code(&r.status)).collect()
}

/// A receipt's status as "ok" or "code: message".
pub fn status_code(st: &ledger::Status) -> String {
    match st {
        ledger::Status::Success => "ok".into(),
        ledger::Status::Failed { code, message } => format!("{code}: {message}"),
    }
}

pub fn usd() -> Address {
    Asset::derive_id(addr(0), "Devnet USD")
}

pub fn state(n: u32) -> State {
    genesis(n).build().unwrap().0
}

/// Signs `call` at `nonce` with the least fee it may pay ([`ledger::exec::required_fee`]).
pub fn sign(k: &PrivateKey, nonce: u64, call: Call) -> SignedTx {
    let tx = Tx {
        from: k.address(),
        nonce,
        fee: ledger::exec::required_fee(MIN_FEE, &call),
        expiry: 0,
        call,
    };
    tx.sign_with(CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap()
}

pub fn verify(state: &State, tx: SignedTx) -> VerifiedTx {
    tx.verify(CHAIN_ID, state).unwrap()
}

/// Builds and applies one block at `T0 + height` seconds; returns the built block.
pub fn step(state: &mut State, txs: Vec<SignedTx>) -> ledger::BuiltBlock {
    let vtxs = txs.into_iter().map(|t| verify(state, t)).collect();
    let ctx = BlockContext {
        timestamp_ms: T0_MS + (state.head.height + 1) * 1000,
        proposer: Address::ZERO,
    };
    let built = build_block(state, ctx, vtxs);
    let head = built.head();
    state.apply_diff(&built.diff, head);
    built
}

/// Checks that the native supply equals the balances plus the subnet pools' reserves, every
/// asset's supply the sum of its balances, and each subnet's alpha out the sum of its stakes.
pub fn assert_conserved(state: &State) {
    assert_eq!(
        state.sum_balances(&ledger::NATIVE) + state.pool_reserves(),
        state.native_supply,
        "native supply"
    );
    for s in state.subnets.values() {
        let held: u128 = s.stakes.values().flat_map(|m| m.values()).sum();
        assert_eq!(held, s.alpha_out, "alpha out");
        assert!(
            s.stakes
                .values()
                .all(|m| !m.is_empty() && m.values().all(|v| *v > 0)),
            "zero stakes are dropped"
        );
        assert!(
            state.markets.contains_key(&s.netuid),
            "every subnet has a market"
        );
    }
    for (id, a) in &state.assets {
        assert_eq!(state.sum_balances(id), a.supply, "supply of {}", a.name);
    }
}
