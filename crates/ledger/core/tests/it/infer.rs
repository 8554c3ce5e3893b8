//! Verifiable inference on the ledger: requests with redundancy `k` accepted on agreement
//! (exact and embedding), payment and callbacks, deadlines and late deliveries,
//! re-execution with bonds and the validation registry, TEE attestation bound to a key with
//! the dev root, and ZK proofs — each mode's success and its refusals, with the escrow's books
//! checked after every block.

use std::collections::BTreeMap;

use alloy_primitives::Bytes;

use ledger::{
    Address, B256, Call, NATIVE, State, Tx,
    compute::{ComputeCall, escrow_account},
    genesis::DEV_TEE_SEED,
    infer::{
        Callback, InferCall, InferParams, Mode, OutputKind, RequestState, RequestTerms,
        reexec_validation_hash, validator_account, zk_model_id,
    },
    keccak256,
};

use crate::common::*;

const BUYER: u32 = 0;
const P1: u32 = 1;
const P2: u32 = 2;
const P3: u32 = 3;
const VALIDATOR: u32 = 4;
const PAYEE: u32 = 5;

fn infer_state() -> State {
    let mut g = genesis(7);
    g.infer = Some(InferParams {
        tee_root: Some(
            verify_tee::dev::DevTee::new(DEV_TEE_SEED)
                .root_ca_der()
                .into(),
        ),
        attestation_ttl: 60,
    });
    let mut s = g.build().unwrap().0;
    for p in [P1, P2, P3] {
        let r = crate::common::run(
            &mut s,
            vec![(
                p,
                Call::Compute(ComputeCall::RegisterProvider {
                    uri: format!("http://provider-{p}.test"),
                    attributes: BTreeMap::new(),
                }),
            )],
        );
        assert_eq!(r, ["ok"]);
    }
    s
}

fn run(s: &mut State, calls: Vec<(u32, InferCall)>) -> Vec<String> {
    let calls = calls
        .into_iter()
        .map(|(i, c)| (i, Call::Infer(c)))
        .collect();
    let r = crate::common::run(s, calls);
    check_books(s);
    r
}

fn ok(s: &mut State, who: u32, call: InferCall) {
    let r = run(s, vec![(who, call)]);
    assert_eq!(r, ["ok"], "{r:?}");
}

fn refused(s: &mut State, who: u32, call: InferCall, needle: &str) {
    let before = (s.infer.requests.clone(), s.infer.deliveries.clone());
    let balances = s.accounts.clone();
    let r = run(s, vec![(who, call)]);
    assert!(r[0].contains(needle), "expected {needle:?}, got {r:?}");
    assert_eq!(
        (s.infer.requests.clone(), s.infer.deliveries.clone()),
        before
    );
    // Nothing moved but the fee.
    for (a, acct) in &s.accounts {
        let was = balances.get(a).map(|x| x.balance(&usd())).unwrap_or(0);
        assert_eq!(acct.balance(&usd()), was, "USD of {a} moved");
    }
}

fn empty_blocks(s: &mut State, n: u64) {
    for _ in 0..n {
        step(s, vec![]);
        check_books(s);
    }
}

/// The escrow holds exactly the payments (and payouts) of requests not yet paid, and the
/// bonds.
fn check_books(s: &State) {
    assert_conserved(s);
    let mut held: BTreeMap<Address, u128> = BTreeMap::new();
    for r in s.infer.requests.values() {
        match r.state {
            RequestState::Open | RequestState::Accepted => {
                *held.entry(r.terms.asset).or_default() += r.terms.payment;
            }
            RequestState::Settled | RequestState::Expired => {}
        }
        if r.state == RequestState::Open
            && let Callback::Pay { asset, amount, .. } = r.terms.callback
        {
            *held.entry(asset).or_default() += amount;
        }
    }
    for b in s.infer.bonds.values() {
        *held.entry(NATIVE).or_default() += b.amount;
    }
    for asset in [NATIVE, usd()] {
        assert_eq!(
            s.balance(&escrow_account(), &asset),
            held.get(&asset).copied().unwrap_or(0),
            "escrow of {asset}"
        );
    }
}

fn terms(k: u8, mode: Mode, output: OutputKind) -> RequestTerms {
    RequestTerms {
        model: B256::repeat_byte(7),
        output,
        input: Bytes::from_static(b"what is 2 + 2?"),
        input_hash: B256::ZERO,
        input_uri: String::new(),
        asset: usd(),
        payment: 1_001,
        k,
        mode,
        window: 5,
        netuid: 0,
        min_bond: 0,
        challenge_window: 0,
        callback: Callback::None,
    }
}

fn deliver(request: u64, output: &[u8]) -> InferCall {
    InferCall::DeliverResult {
        request,
        output: Bytes::copy_from_slice(output),
        proof: Bytes::new(),
    }
}

fn usd_of(s: &State, who: u32) -> u128 {
    s.balance(&addr(who), &usd())
}

fn emb(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn k_agreeing_deliveries_accept_pay_and_run_the_callback() {
    let mut s = infer_state();
    let mut t = terms(2, Mode::Redundant, OutputKind::Exact);
    t.callback = Callback::Pay {
        to: addr(PAYEE),
        asset: usd(),
        amount: 50,
        if_output_hash: keccak256(b"4"),
    };
    let buyer0 = usd_of(&s, BUYER);
    ok(&mut s, BUYER, InferCall::RequestInference(Box::new(t)));
    assert_eq!(usd_of(&s, BUYER), buyer0 - 1_051);
    let r = &s.infer.requests[&0];
    assert_eq!(r.terms.input_hash, keccak256(b"what is 2 + 2?"));
    assert_eq!(r.state, RequestState::Open);

    let before: Vec<u128> = [P1, P2, P3].iter().map(|p| usd_of(&s, *p)).collect();
    ok(&mut s, P1, deliver(0, b"4"));
    ok(&mut s, P2, deliver(0, b"5"));
    assert_eq!(s.infer.requests[&0].state, RequestState::Open);
    // The same provider twice does not count twice.
    refused(&mut s, P1, deliver(0, b"4"), "already delivered");
    ok(&mut s, P3, deliver(0, b"4"));
    let r = &s.infer.requests[&0];
    assert_eq!(r.state, RequestState::Settled);
    let result = r.result.as_ref().unwrap();
    assert_eq!(result.providers, vec![addr(P1), addr(P3)]);
    assert_eq!(result.output.as_ref(), b"4");
    // 1001 split over two: 501 to the first, 500 to the second, nothing to the dissenter.
    assert_eq!(usd_of(&s, P1), before[0] + 501);
    assert_eq!(usd_of(&s, P2), before[1]);
    assert_eq!(usd_of(&s, P3), before[2] + 500);
    // The callback's condition held: the payee got the payout.
    assert_eq!(usd_of(&s, PAYEE), 1_000_000_000 + 50);
    refused(&mut s, P2, deliver(0, b"4"), "takes no deliveries");
}

#[test]
fn a_callback_whose_condition_fails_returns_the_payout() {
    let mut s = infer_state();
    let mut t = terms(1, Mode::Redundant, OutputKind::Exact);
    t.callback = Callback::Pay {
        to: addr(PAYEE),
        asset: NATIVE,
        amount: 7_000,
        if_output_hash: keccak256(b"4"),
    };
    ok(&mut s, BUYER, InferCall::RequestInference(Box::new(t)));
    let native0 = s.balance(&addr(BUYER), &NATIVE);
    ok(&mut s, P1, deliver(0, b"22"));
    assert_eq!(s.balance(&addr(BUYER), &NATIVE), native0 + 7_000);
    assert_eq!(s.balance(&addr(PAYEE), &NATIVE), 1_000_000_000_000);
}

#[test]
fn embeddings_agree_within_the_documented_tolerance() {
    let mut s = infer_state();
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(terms(2, Mode::Redundant, OutputKind::Embedding))),
    );
    ok(&mut s, P1, deliver(0, &emb(&[16384, 0, 300])));
    // Cosine ≈ 0.9986 with the first: no agreement.
    ok(&mut s, P2, deliver(0, &emb(&[16384, 860, 300])));
    assert_eq!(s.infer.requests[&0].state, RequestState::Open);
    // Cosine ≈ 0.99996 with the first (not with the second): P1 and P3 agree.
    ok(&mut s, P3, deliver(0, &emb(&[16380, 100, 300])));
    let r = &s.infer.requests[&0];
    assert_eq!(r.state, RequestState::Settled);
    assert_eq!(
        r.result.as_ref().unwrap().providers,
        vec![addr(P1), addr(P3)]
    );
    // Malformed embeddings are refused.
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(terms(1, Mode::Redundant, OutputKind::Embedding))),
    );
    refused(&mut s, P1, deliver(1, &[1, 2, 3]), "little-endian i16");
    refused(&mut s, P1, deliver(1, &[0, 0, 0, 0]), "all zeros");
}

#[test]
fn without_agreement_the_deadline_refunds_and_late_deliveries_are_refused() {
    let mut s = infer_state();
    let mut t = terms(2, Mode::Redundant, OutputKind::Exact);
    t.callback = Callback::Pay {
        to: addr(PAYEE),
        asset: usd(),
        amount: 50,
        if_output_hash: B256::ZERO,
    };
    let buyer0 = usd_of(&s, BUYER);
    ok(&mut s, BUYER, InferCall::RequestInference(Box::new(t)));
    let deadline = s.infer.requests[&0].deadline;
    ok(&mut s, P1, deliver(0, b"4"));
    let p1 = usd_of(&s, P1);
    while s.head.height < deadline {
        empty_blocks(&mut s, 1);
    }
    assert_eq!(s.infer.requests[&0].state, RequestState::Open);
    empty_blocks(&mut s, 1);
    assert_eq!(s.infer.requests[&0].state, RequestState::Expired);
    assert_eq!(usd_of(&s, BUYER), buyer0, "payment and payout refunded");
    let r = run(&mut s, vec![(P2, deliver(0, b"4"))]);
    assert!(r[0].contains("late delivery"), "{r:?}");
    assert_eq!(usd_of(&s, P1), p1, "no payment for the lone delivery");

    // A one-block window: a delivery in the deadline block counts, one after it is late.
    let mut s = infer_state();
    let mut t = terms(1, Mode::Redundant, OutputKind::Exact);
    t.window = 1;
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(t.clone())),
    );
    ok(&mut s, P1, deliver(0, b"4"));
    assert_eq!(s.infer.requests[&0].state, RequestState::Settled);
    ok(&mut s, BUYER, InferCall::RequestInference(Box::new(t)));
    empty_blocks(&mut s, 1);
    let r = run(&mut s, vec![(P1, deliver(1, b"4"))]);
    assert!(r[0].contains("late delivery"), "{r:?}");
}

#[test]
fn only_providers_deliver_and_malformed_requests_are_refused() {
    let mut s = infer_state();
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(terms(1, Mode::Redundant, OutputKind::Exact))),
    );
    refused(&mut s, PAYEE, deliver(0, b"4"), "not a registered provider");
    refused(&mut s, P1, deliver(9, b"4"), "unknown inference request 9");
    refused(
        &mut s,
        P1,
        deliver(0, &vec![1; ledger::infer::MAX_OUTPUT + 1]),
        "limit",
    );
    let bad: Vec<(RequestTerms, &str)> = vec![
        (
            RequestTerms {
                k: 0,
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "k must be",
        ),
        (
            RequestTerms {
                k: 9,
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "k must be",
        ),
        (
            RequestTerms {
                window: 0,
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "window",
        ),
        (
            RequestTerms {
                payment: 0,
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "payment",
        ),
        (
            RequestTerms {
                input_hash: B256::repeat_byte(1),
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "does not match",
        ),
        (
            RequestTerms {
                input: Bytes::new(),
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "inline or its hash",
        ),
        (
            RequestTerms {
                input: Bytes::from(vec![0; ledger::infer::MAX_INPUT + 1]),
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "inline input",
        ),
        (
            RequestTerms {
                payment: u128::MAX / 2,
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "insufficient",
        ),
        (
            terms(1, Mode::Zk, OutputKind::Exact),
            "not a registered zk model",
        ),
        (terms(1, Mode::Reexec, OutputKind::Exact), "unknown"),
        (
            RequestTerms {
                callback: Callback::Validate {
                    request_hash: B256::repeat_byte(3),
                    if_output_hash: B256::ZERO,
                },
                ..terms(1, Mode::Redundant, OutputKind::Exact)
            },
            "unknown",
        ),
    ];
    for (t, needle) in bad {
        let r = run(
            &mut s,
            vec![(BUYER, InferCall::RequestInference(Box::new(t)))],
        );
        assert!(
            r[0].to_lowercase().contains(needle),
            "expected {needle:?}, got {r:?}"
        );
    }
    assert_eq!(s.infer.requests.len(), 1);
}

/// A chain with a subnet (owned by the buyer) on which VALIDATOR holds a validator permit,
/// and P1, P2 bonded with agents.
fn reexec_state() -> State {
    let mut s = infer_state();
    let r = crate::common::run(
        &mut s,
        vec![(
            BUYER,
            Call::CreateSubnet {
                max_lock_cost: u128::MAX,
            },
        )],
    );
    assert_eq!(r, ["ok"]);
    let r = crate::common::run(
        &mut s,
        vec![(
            VALIDATOR,
            Call::RegisterNeuron {
                netuid: 1,
                max_burn: u128::MAX,
            },
        )],
    );
    assert_eq!(r, ["ok"]);
    let sn = s.subnets.get_mut(&1).unwrap();
    let uid = sn.uid_of(&addr(VALIDATOR)).unwrap();
    // A fixture: the permit an epoch would give the top stake.
    sn.neurons[usize::from(uid)].validator_permit = true;
    for p in [P1, P2] {
        let r = crate::common::run(
            &mut s,
            vec![(
                p,
                Call::RegisterAgent {
                    uri: format!("https://agent-{p}.test"),
                    metadata: vec![],
                },
            )],
        );
        assert_eq!(r, ["ok"]);
        let agent_id = s
            .registry
            .agents
            .iter()
            .find(|(_, a)| a.owner == addr(p))
            .map(|(id, _)| *id)
            .unwrap();
        ok(
            &mut s,
            p,
            InferCall::PostBond {
                amount: 10_000,
                agent_id,
            },
        );
    }
    s
}

fn reexec_terms() -> RequestTerms {
    RequestTerms {
        netuid: 1,
        min_bond: 4_000,
        challenge_window: 10,
        ..terms(1, Mode::Reexec, OutputKind::Exact)
    }
}

#[test]
fn reexecution_slashes_a_refuted_provider_and_records_validations() {
    let mut s = reexec_state();
    // An unbonded provider cannot deliver.
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(reexec_terms())),
    );
    refused(&mut s, P3, deliver(0, b"5"), "needs a bond of 4000");
    ok(&mut s, P1, deliver(0, b"5"));
    let r = &s.infer.requests[&0];
    assert_eq!(r.state, RequestState::Accepted, "paid after the window");
    let payout_at = r.result.as_ref().unwrap().payout_at;
    assert_eq!(s.infer.bonds[&addr(P1)].locked_until, payout_at);
    refused(
        &mut s,
        P1,
        InferCall::WithdrawBond { amount: 1 },
        "challenge window ends",
    );
    // Only a permitted validator re-executes.
    refused(
        &mut s,
        P3,
        InferCall::Reexecute {
            request: 0,
            provider: addr(P1),
            output: Bytes::from_static(b"4"),
        },
        "no validator permit",
    );
    let (v0, escrow0, buyer0, p1_0) = (
        s.balance(&addr(VALIDATOR), &NATIVE),
        s.balance(&escrow_account(), &NATIVE),
        usd_of(&s, BUYER),
        usd_of(&s, P1),
    );
    ok(
        &mut s,
        VALIDATOR,
        InferCall::Reexecute {
            request: 0,
            provider: addr(P1),
            output: Bytes::from_static(b"4"),
        },
    );
    // Slashed the request's minimum bond: half to the validator, half burned.
    assert_eq!(s.infer.bonds[&addr(P1)].amount, 6_000);
    assert_eq!(s.infer.bonds[&addr(P1)].slashed, 4_000);
    assert_eq!(s.balance(&addr(VALIDATOR), &NATIVE), v0 - 1_000 + 2_000);
    // The other half left the escrow and no account: burned (the supply check in `run`
    // holds, so it left the supply).
    assert_eq!(s.balance(&escrow_account(), &NATIVE), escrow0 - 4_000);
    let v = &s.registry.validations[&reexec_validation_hash(0, &addr(P1))];
    assert_eq!(v.response, Some(0));
    assert_eq!(v.validator, addr(VALIDATOR));
    assert_eq!(v.tag, "reexec");
    refused(
        &mut s,
        VALIDATOR,
        InferCall::Reexecute {
            request: 0,
            provider: addr(P1),
            output: Bytes::from_static(b"4"),
        },
        "already re-executed",
    );
    // At the end of the window the refuted share goes back to the buyer.
    while s.head.height < payout_at {
        empty_blocks(&mut s, 1);
    }
    assert_eq!(s.infer.requests[&0].state, RequestState::Settled);
    assert_eq!(usd_of(&s, BUYER), buyer0 + 1_001);
    assert_eq!(usd_of(&s, P1), p1_0);
    refused(
        &mut s,
        VALIDATOR,
        InferCall::Reexecute {
            request: 0,
            provider: addr(P1),
            output: Bytes::from_static(b"4"),
        },
        "not in its challenge window",
    );
    ok(&mut s, P1, InferCall::WithdrawBond { amount: 6_000 });

    // A confirmed delivery scores 100 and is paid at the end of the window.
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(reexec_terms())),
    );
    ok(&mut s, P2, deliver(1, b"4"));
    let p2_0 = usd_of(&s, P2);
    ok(
        &mut s,
        VALIDATOR,
        InferCall::Reexecute {
            request: 1,
            provider: addr(P2),
            output: Bytes::from_static(b"4"),
        },
    );
    assert_eq!(s.infer.bonds[&addr(P2)].amount, 10_000);
    let v = &s.registry.validations[&reexec_validation_hash(1, &addr(P2))];
    assert_eq!(v.response, Some(100));
    let payout_at = s.infer.requests[&1].result.as_ref().unwrap().payout_at;
    while s.head.height < payout_at {
        assert_eq!(s.infer.requests[&1].state, RequestState::Accepted);
        empty_blocks(&mut s, 1);
    }
    assert_eq!(s.infer.requests[&1].state, RequestState::Settled);
    assert_eq!(usd_of(&s, P2), p2_0 + 1_001);
}

#[test]
fn an_accepted_result_answers_an_erc8004_validation() {
    let mut s = reexec_state();
    let agent_id = s.infer.bonds[&addr(P1)].agent_id;
    let request_hash = B256::repeat_byte(0xab);
    let r = crate::common::run(
        &mut s,
        vec![(
            P1,
            Call::ValidationRequest {
                validator: validator_account(),
                agent_id,
                uri: String::new(),
                request_hash,
            },
        )],
    );
    assert_eq!(r, ["ok"]);
    let mut t = terms(2, Mode::Redundant, OutputKind::Exact);
    t.callback = Callback::Validate {
        request_hash,
        if_output_hash: keccak256(b"4"),
    };
    ok(&mut s, BUYER, InferCall::RequestInference(Box::new(t)));
    ok(&mut s, P2, deliver(0, b"4"));
    assert_eq!(s.registry.validations[&request_hash].response, None);
    ok(&mut s, P3, deliver(0, b"4"));
    let v = &s.registry.validations[&request_hash];
    assert_eq!(v.response, Some(100));
    assert_eq!(v.response_hash, keccak256(b"4"));
}

fn bind(quote: Vec<u8>, collateral: Vec<u8>) -> InferCall {
    InferCall::BindAttestation {
        quote: quote.into(),
        collateral: collateral.into(),
    }
}

/// The block time of the next block, in seconds ([`step`]).
fn next_time(s: &State) -> u64 {
    T0_MS / 1000 + s.head.height + 1
}

#[test]
fn tee_deliveries_need_a_quote_bound_to_the_providers_key() {
    let mut s = infer_state();
    let tee = verify_tee::dev::DevTee::new(DEV_TEE_SEED);
    let tee_terms = RequestTerms {
        window: 50,
        ..terms(1, Mode::Tee, OutputKind::Exact)
    };
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(tee_terms.clone())),
    );
    refused(&mut s, P1, deliver(0, b"4"), "no TEE attestation");

    let now = next_time(&s);
    let (q1, c1) = tee.quote(verify_tee::key_binding(&addr(P1).0.0), now);
    // P2 presents P1's quote: bound to another key.
    let r = run(&mut s, vec![(P2, bind(q1.clone(), c1.clone()))]);
    assert!(r[0].contains("attestation refused"), "{r:?}");
    assert!(!s.infer.attestations.contains_key(&addr(P2)));
    // A tampered quote (a byte of the enclave report, under the attestation key's signature).
    let mut bad = q1.clone();
    bad[100] ^= 1;
    let r = run(&mut s, vec![(P1, bind(bad, c1.clone()))]);
    assert!(r[0].contains("attestation refused"), "{r:?}");
    // Garbage.
    let r = run(&mut s, vec![(P1, bind(vec![1, 2, 3], c1.clone()))]);
    assert!(r[0].contains("attestation refused"), "{r:?}");
    // A quote from another root (a dev TEE with another seed).
    let other = verify_tee::dev::DevTee::new([9; 32]);
    let (q, c) = other.quote(verify_tee::key_binding(&addr(P1).0.0), now);
    let r = run(&mut s, vec![(P1, bind(q, c))]);
    assert!(r[0].contains("attestation refused"), "{r:?}");

    // Verifying a quote costs every validator milliseconds: the minimum fee is not enough.
    let mut cheap = Tx {
        from: addr(P1),
        nonce: s.nonce(&addr(P1)),
        fee: MIN_FEE,
        expiry: 0,
        call: Call::Infer(bind(q1.clone(), c1.clone())),
    };
    let signed = cheap
        .clone()
        .sign_with(CHAIN_ID, |h| key(P1).sign_hash(h).map(|s| s.to_bytes()))
        .unwrap();
    let b = step(&mut s, vec![signed]);
    assert!(
        matches!(b.excluded[0].1, ledger::Reject::FeeTooLow { min, .. } if min == 100 * MIN_FEE),
        "{:?}",
        b.excluded
    );
    cheap.fee = 100 * MIN_FEE;
    assert_eq!(ledger::exec::required_fee(MIN_FEE, &cheap.call), cheap.fee);

    ok(&mut s, P1, bind(q1, c1));
    let a = &s.infer.attestations[&addr(P1)];
    assert_eq!(a.tcb_status, "UpToDate");
    assert_eq!(a.tee, "sgx");
    assert_eq!(a.measurement.as_ref(), tee.mrenclave().as_slice());
    ok(&mut s, P1, deliver(0, b"4"));
    let r = &s.infer.requests[&0];
    assert_eq!(r.state, RequestState::Settled);
    assert!(r.result.as_ref().unwrap().tee_attested);

    // The attestation lapses after its lifetime (60 s of block time here).
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(RequestTerms {
            window: 100,
            ..tee_terms
        })),
    );
    empty_blocks(&mut s, 60);
    refused(&mut s, P1, deliver(1, b"4"), "does not count");
}

#[test]
fn intel_sample_quotes_do_not_bind_a_provider_key() {
    // The packaged Intel TDX sample verifies as a quote, but its report data is not a
    // provider's binding: refused on a chain that trusts Intel's root.
    let mut g = genesis(3);
    g.infer = None;
    let mut s = g.build().unwrap().0;
    let quote = include_bytes!("../../../../verify/tee/testdata/tdx_quote").to_vec();
    let collateral =
        include_bytes!("../../../../verify/tee/testdata/tdx_quote_collateral.json").to_vec();
    let r = run(&mut s, vec![(P1, bind(quote, collateral))]);
    assert!(r[0].contains("attestation refused"), "{r:?}");
}

#[test]
fn zk_deliveries_need_a_valid_proof_of_the_committed_model() {
    let mlp = verify_zk::Mlp::from_json(include_bytes!(
        "../../../../verify/zk/fixtures/mlp-16-32-32-4.json"
    ))
    .unwrap();
    let keys = verify_zk::setup(&mlp, Some([5; 32])).unwrap();
    let mut s = infer_state();
    let commitment = B256::from(mlp.commitment());
    ok(
        &mut s,
        BUYER,
        InferCall::RegisterZkModel {
            commitment,
            verifying_key: keys.verifying_key.clone().into(),
        },
    );
    let model = zk_model_id(&keys.verifying_key);
    assert_eq!(s.infer.zk_models[&model].commitment, commitment);
    refused(
        &mut s,
        BUYER,
        InferCall::RegisterZkModel {
            commitment,
            verifying_key: Bytes::from_static(b"junk"),
        },
        "verifying key refused",
    );

    let input: Vec<i8> = (0..16).map(|i| (i * 9 - 70) as i8).collect();
    let (output, proof) = verify_zk::prove(&mlp, &keys.proving_key, &input).unwrap();
    let mut t = terms(1, Mode::Zk, OutputKind::Exact);
    t.model = model;
    t.window = 50;
    t.input = input.iter().map(|x| *x as u8).collect::<Vec<u8>>().into();
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(t.clone())),
    );
    let out: Vec<u8> = output.iter().map(|x| *x as u8).collect();

    let zk = |output: &[u8], proof: &[u8]| InferCall::DeliverResult {
        request: 0,
        output: Bytes::copy_from_slice(output),
        proof: Bytes::copy_from_slice(proof),
    };
    // A wrong output with a real proof.
    let mut wrong = out.clone();
    wrong[0] = wrong[0].wrapping_add(1);
    refused(&mut s, P1, zk(&wrong, &proof), "proof refused");
    // A tampered proof.
    let mut tampered = proof.clone();
    tampered[10] ^= 0x40;
    refused(&mut s, P1, zk(&out, &tampered), "proof refused");
    // No proof.
    refused(&mut s, P1, zk(&out, &[]), "proof refused");
    // A proof of another input.
    let other: Vec<i8> = (0..16).map(|i| (i * 3) as i8).collect();
    let (other_out, other_proof) = verify_zk::prove(&mlp, &keys.proving_key, &other).unwrap();
    let other_out: Vec<u8> = other_out.iter().map(|x| *x as u8).collect();
    refused(&mut s, P1, zk(&other_out, &other_proof), "proof refused");

    let p1 = usd_of(&s, P1);
    ok(&mut s, P1, zk(&out, &proof));
    let r = &s.infer.requests[&0];
    assert_eq!(r.state, RequestState::Settled);
    assert!(r.result.as_ref().unwrap().zk_proved);
    assert_eq!(usd_of(&s, P1), p1 + 1_001);

    // A proof is refused outside ZK mode.
    ok(
        &mut s,
        BUYER,
        InferCall::RequestInference(Box::new(terms(1, Mode::Redundant, OutputKind::Exact))),
    );
    let r = run(
        &mut s,
        vec![(
            P1,
            InferCall::DeliverResult {
                request: 1,
                output: Bytes::from_static(b"4"),
                proof: proof.into(),
            },
        )],
    );
    assert!(r[0].contains("only ZK requests take a proof"), "{r:?}");
}

#[test]
fn infer_calls_round_trip_through_json() {
    let calls = vec![
        InferCall::RequestInference(Box::new(RequestTerms {
            callback: Callback::Pay {
                to: addr(1),
                asset: usd(),
                amount: 5,
                if_output_hash: B256::repeat_byte(2),
            },
            ..reexec_terms()
        })),
        deliver(3, b"x"),
        InferCall::Reexecute {
            request: 1,
            provider: addr(2),
            output: Bytes::from_static(b"y"),
        },
        InferCall::PostBond {
            amount: 5,
            agent_id: 2,
        },
        InferCall::WithdrawBond { amount: 5 },
        InferCall::BindAttestation {
            quote: Bytes::from_static(b"q"),
            collateral: Bytes::from_static(b"{}"),
        },
        InferCall::RegisterZkModel {
            commitment: B256::repeat_byte(1),
            verifying_key: Bytes::from_static(b"vk"),
        },
    ];
    for c in calls {
        let call = Call::Infer(c);
        let json = serde_json::to_string(&call).unwrap();
        assert!(json.contains(r#""type":"infer""#), "{json}");
        assert_eq!(serde_json::from_str::<Call>(&json).unwrap(), call);
    }
}

/// A block verifies at most `MAX_VERIFICATIONS_PER_BLOCK` quotes or proofs: the next such call
/// is left out of a built block, and a block that holds one more is invalid.
#[test]
fn a_block_verifies_a_bounded_number_of_quotes_and_proofs() {
    let max = ledger::infer::MAX_VERIFICATIONS_PER_BLOCK;
    let n = u32::try_from(max).unwrap() + 1;
    let mut s = genesis(n).build().unwrap().0;
    let txs: Vec<_> = (0..n)
        .map(|i| sign(&key(i), 0, Call::Infer(bind(vec![1, 2, 3], b"{}".to_vec()))))
        .collect();
    let parent = s.clone();
    let built = step(&mut s, txs.clone());
    assert_eq!(built.receipts.len(), max);
    assert_eq!(built.excluded.len(), 1);
    assert!(
        matches!(
            built.excluded[0].1,
            ledger::Reject::BlockVerificationsFull { .. }
        ),
        "{:?}",
        built.excluded
    );
    // The same block with the left-out call added is refused by every other node.
    let mut block = built.block.clone();
    block.txs.push(txs[max].clone());
    let hashes: Vec<B256> = block
        .txs
        .iter()
        .map(|t| t.tx.signing_hash(CHAIN_ID))
        .collect();
    block.header.tx_root = ledger::block::tx_root(&hashes);
    let err = ledger::apply_block(&parent, &block).unwrap_err();
    assert!(err.to_string().contains("quotes or proofs"), "{err}");
}
