//! Fixtures: keys, a dev-genesis ledger state, requirements, and signed payloads.

use alloy_primitives::{Address, B256, Bytes, keccak256};
pub use ledger::genesis::DEV_USD_NAME as USD_NAME;
use ledger::{
    Asset, Call, Genesis, State, Tx,
    exec::{BlockContext, build_block, precheck},
    receipt::Status,
};
use wallet::PrivateKey;
use x402_facilitator::{settlement_call, verify_exact};
use x402_types::{
    Network, TokenAmount, VerifyResponse,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{Extra, PaymentPayload, PaymentRequirements},
};

pub const CHAIN_ID: u64 = 31_337;
pub const T0_MS: u64 = 1_700_000_000_000;
/// Verification time: 100 s after genesis.
pub const NOW: u64 = 1_700_000_100;
pub const PRICE: u64 = 10_000;

pub fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes(&keccak256(format!("facilitator test key {i}")).0).unwrap()
}

pub fn addr(i: u32) -> Address {
    key(i).address()
}

/// Key 0 issues Devnet USD and relays; key 1 pays; key 2 is the payee; key 3 holds nothing.
pub fn state() -> State {
    Genesis::dev(CHAIN_ID, T0_MS, &[addr(0), addr(1)])
        .build()
        .unwrap()
        .0
}

pub fn usd() -> Address {
    Asset::derive_id(addr(0), USD_NAME)
}

pub fn requirements() -> PaymentRequirements {
    PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(CHAIN_ID),
        amount: TokenAmount::from(PRICE),
        asset: usd().to_checksum(None),
        pay_to: addr(2).to_checksum(None),
        max_timeout_seconds: 60,
        extra: Extra::eip712(USD_NAME, "1"),
    }
}

/// What the payer (key 1) would sign for `req`.
pub fn authorization(req: &PaymentRequirements) -> Authorization {
    Authorization {
        from: addr(1),
        to: req.pay_to.parse().unwrap(),
        value: req.amount,
        valid_after: TokenAmount::from(NOW - 60),
        valid_before: TokenAmount::from(NOW + 60),
        nonce: B256::repeat_byte(0x42),
    }
}

/// Signs `auth` with `signer` under the domain `{name, version, CHAIN_ID, req.asset}`.
pub fn sign(
    req: &PaymentRequirements,
    auth: Authorization,
    signer: &PrivateKey,
    name: &str,
    version: &str,
) -> ExactEvmPayload {
    let domain = exact::domain(name, version, CHAIN_ID, req.asset.parse().unwrap());
    let sig = signer.sign_hash(&auth.signing_hash(&domain)).unwrap();
    ExactEvmPayload {
        signature: Bytes::copy_from_slice(&sig.to_bytes()),
        authorization: auth,
    }
}

/// A payment for `req` by key 1, its authorization changed by `tweak` before signing.
pub fn pay_with(
    req: &PaymentRequirements,
    tweak: impl FnOnce(&mut Authorization),
) -> PaymentPayload {
    let mut auth = authorization(req);
    tweak(&mut auth);
    let name = req.extra.name.clone().unwrap();
    let version = req.extra.version.clone().unwrap();
    let exact = sign(req, auth, &key(1), &name, &version);
    PaymentPayload::new(req, None, &exact).unwrap()
}

pub fn pay(req: &PaymentRequirements) -> PaymentPayload {
    pay_with(req, |_| {})
}

pub fn verify(
    payload: &PaymentPayload,
    req: &PaymentRequirements,
    state: &State,
) -> VerifyResponse {
    verify_exact(payload, req, state, NOW)
}

/// Asserts a rejection with exactly the canonical `reason` on the wire.
#[track_caller]
pub fn assert_rejected(answer: &VerifyResponse, reason: &str) {
    assert!(!answer.is_valid, "expected {reason}, got a valid answer");
    let json = serde_json::to_value(answer).unwrap();
    assert_eq!(json["isValid"], false);
    assert_eq!(json["invalidReason"], reason, "{answer:?}");
}

/// Settles `payload` on `state` as the node would: key 0 relays the settlement call in a
/// block at `NOW`. Returns the receipt's status.
pub fn settle_on_ledger(
    state: &mut State,
    payload: &PaymentPayload,
    req: &PaymentRequirements,
) -> Status {
    let call: Call = settlement_call(payload, req).unwrap();
    let relayer = key(0);
    let tx = Tx {
        from: relayer.address(),
        nonce: state.nonce(&relayer.address()),
        fee: state.params.min_fee,
        expiry: 0,
        call,
    };
    let signed = tx
        .sign_with(CHAIN_ID, |h| relayer.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap();
    let vtx = signed.verify(CHAIN_ID, &*state).unwrap();
    precheck(state, &vtx, NOW).unwrap();
    let ctx = BlockContext {
        timestamp_ms: NOW * 1000,
        proposer: Address::ZERO,
    };
    let built = build_block(state, ctx, vec![vtx]);
    assert!(built.excluded.is_empty(), "{:?}", built.excluded);
    let head = built.head();
    state.apply_diff(&built.diff, head);
    built.receipts[0].status.clone()
}
