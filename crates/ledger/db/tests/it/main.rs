//! redb store: what is committed comes back identical, replaying stored blocks rebuilds the
//! state root, and a commit that does not follow the head changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger::{
    Address, Call, Commit, Genesis, NATIVE, State, Store, Tx, apply_block,
    exec::{BlockContext, build_block},
    genesis::AmountStr,
};
use ledger_db::Db;
use wallet::PrivateKey;

fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes(&ledger::keccak256(format!("db key {i}")).0).unwrap()
}

fn genesis() -> Genesis {
    let addrs: Vec<Address> = (0..3).map(|i| key(i).address()).collect();
    let mut g = Genesis::dev(7, 1_700_000_000_000, &addrs);
    g.alloc.insert(Address::repeat_byte(1), AmountStr(5));
    g
}

/// Produces `n` blocks of transfers and commits them to `db`; returns the final state.
fn produce(db: &Db, mut s: State, n: u64) -> State {
    let usd = *s.assets.keys().next().unwrap();
    for h in 0..n {
        let txs = (0..3u32)
            .map(|i| {
                let k = key(i);
                let asset = if h % 2 == 0 { NATIVE } else { usd };
                let call = Call::Transfer {
                    to: key((i + 1) % 3).address(),
                    asset,
                    amount: 10 + u128::from(i),
                };
                let tx = Tx {
                    from: k.address(),
                    nonce: s.nonce(&k.address()),
                    fee: 1_000,
                    expiry: 0,
                    call,
                };
                let signed = tx
                    .sign_with(7, |h| k.sign_hash(h).map(|s| s.to_bytes()))
                    .unwrap();
                signed.verify(7, &s).unwrap()
            })
            .collect();
        let ctx = BlockContext {
            timestamp_ms: s.head.timestamp_ms + 1000,
            proposer: Address::ZERO,
        };
        let built = build_block(&s, ctx, txs);
        assert!(built.excluded.is_empty());
        let head = built.head();
        let commit = Commit::from(built);
        db.commit(&commit).unwrap();
        s.apply_diff(&commit.diff, head);
    }
    s
}

#[test]
fn committed_state_reloads_identically_and_replays_to_the_same_root() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    let final_state = {
        let db = Db::open(&path).unwrap();
        assert!(db.load_state().unwrap().is_none());
        db.init(&g_state, &g_commit).unwrap();
        produce(&db, g_state.clone(), 6)
    };
    let db = Db::open(&path).unwrap();
    let loaded = db.load_state().unwrap().unwrap();
    assert_eq!(loaded, final_state);
    assert_eq!(db.head().unwrap().unwrap().height, 6);

    // Replay every stored block from genesis through the validating path.
    let mut r = g_state;
    for h in 1..=6 {
        let b = db.block(h).unwrap().unwrap();
        assert_eq!(db.height_of(&b.header.hash()).unwrap(), Some(h));
        let (diff, receipts) = apply_block(&r, &b).unwrap();
        for (tx, rec) in b.txs.iter().zip(&receipts) {
            let hash = tx.tx.signing_hash(7);
            assert_eq!(db.tx(&hash).unwrap().unwrap().receipt, *rec);
        }
        assert_eq!(b.header.height, h);
        r.apply_diff(&diff, b.header.head());
    }
    assert_eq!(r, final_state);
    assert_eq!(r.head.state_root, final_state.head.state_root);
}

#[test]
fn commit_not_following_head_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("l.redb")).unwrap();
    let (g_state, g_commit) = genesis().build().unwrap();
    db.init(&g_state, &g_commit).unwrap();
    assert!(db.init(&g_state, &g_commit).is_err(), "init twice");
    let s = produce(&db, g_state, 2);
    // Re-committing genesis as if it were block 3 must fail.
    assert!(db.commit(&g_commit).is_err());
    assert_eq!(db.load_state().unwrap().unwrap(), s);
}

/// Commits one block of `calls` (signer index, call) and returns the new state.
fn commit_calls(db: &Db, mut s: State, calls: Vec<(u32, Call)>) -> State {
    let txs = calls
        .into_iter()
        .map(|(i, call)| {
            let k = key(i);
            let tx = Tx {
                from: k.address(),
                nonce: s.nonce(&k.address()),
                fee: ledger::exec::required_fee(1_000, &call),
                expiry: 0,
                call,
            };
            tx.sign_with(7, |h| k.sign_hash(h).map(|s| s.to_bytes()))
                .unwrap()
                .verify(7, &s)
                .unwrap()
        })
        .collect();
    let ctx = BlockContext {
        timestamp_ms: s.head.timestamp_ms + 1000,
        proposer: Address::ZERO,
    };
    let built = build_block(&s, ctx, txs);
    assert!(built.excluded.is_empty());
    assert!(built.receipts.iter().all(|r| r.status.is_success()));
    let head = built.head();
    let commit = Commit::from(built);
    db.commit(&commit).unwrap();
    s.apply_diff(&commit.diff, head);
    s
}

#[test]
fn subnets_survive_a_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    let final_state = {
        let db = Db::open(&path).unwrap();
        db.init(&g_state, &g_commit).unwrap();
        let s = commit_calls(
            &db,
            g_state.clone(),
            vec![(
                0,
                Call::CreateSubnet {
                    max_lock_cost: u128::MAX,
                },
            )],
        );
        let s = commit_calls(
            &db,
            s,
            vec![
                (
                    1,
                    Call::RegisterNeuron {
                        netuid: 1,
                        max_burn: u128::MAX,
                    },
                ),
                (
                    2,
                    Call::AddStake {
                        netuid: 1,
                        hotkey: key(2).address(),
                        amount: 5_000_000_000,
                        limit_price: 0,
                    },
                ),
            ],
        );
        // The weights rate limit (100 blocks) counts from the owner's registration.
        let s = produce(&db, s, 99);
        let s = commit_calls(
            &db,
            s,
            vec![(
                0,
                Call::SetWeights {
                    netuid: 1,
                    uids: vec![1],
                    values: vec![3],
                    version_key: 0,
                },
            )],
        );
        produce(&db, s, 1)
    };
    assert_eq!(final_state.subnets.len(), 1);
    assert_eq!(final_state.subnets[&1].neurons.len(), 2);
    assert_eq!(
        final_state.subnets[&1].neurons[0].weights,
        vec![(1, 65_535)]
    );
    assert!(final_state.network.last_lock > 0);
    let db = Db::open(&path).unwrap();
    let loaded = db.load_state().unwrap().unwrap();
    assert_eq!(loaded, final_state);
    let mut r = g_state;
    for h in 1..=final_state.head.height {
        let b = db.block(h).unwrap().unwrap();
        let (diff, _) = apply_block(&r, &b).unwrap();
        r.apply_diff(&diff, b.header.head());
    }
    assert_eq!(r, final_state);
}

#[test]
fn registry_state_and_settled_payments_survive_a_restart() {
    use ledger::{
        B256,
        agents::{FeedbackCall, MetadataEntry, PaymentRef, REQUIRES_PAYMENT_KEY},
        eip3009::{self, Authorization},
        tx::Signature,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    let final_state = {
        let db = Db::open(&path).unwrap();
        db.init(&g_state, &g_commit).unwrap();
        let register = Call::RegisterAgent {
            uri: "ipfs://agent".into(),
            metadata: vec![MetadataEntry {
                key: REQUIRES_PAYMENT_KEY.into(),
                value: vec![1u8].into(),
            }],
        };
        let s = commit_calls(&db, g_state, vec![(0, register)]);
        let usd = *s.assets.keys().next().unwrap();
        let asset = &s.assets[&usd];
        let mut auth = Authorization {
            asset: usd,
            from: key(1).address(),
            to: key(0).address(),
            value: 42,
            valid_after: 0,
            valid_before: u64::MAX,
            nonce: B256::repeat_byte(1),
            signature: Signature([0; 65]),
        };
        let d = eip3009::domain(&asset.name, &asset.version, 7, usd);
        auth.signature = Signature(key(1).sign_hash(&auth.signing_hash(&d)).unwrap().to_bytes());
        let s = commit_calls(&db, s, vec![(1, Call::TransferWithAuthorization(auth))]);
        let feedback = Call::GiveFeedback(FeedbackCall {
            agent_id: 0,
            value: -15,
            value_decimals: 1,
            tag1: "starred".into(),
            tag2: String::new(),
            endpoint: String::new(),
            feedback_uri: String::new(),
            feedback_hash: B256::ZERO,
            payment: Some(PaymentRef {
                asset: usd,
                nonce: B256::repeat_byte(1),
            }),
        });
        let request = Call::ValidationRequest {
            validator: key(2).address(),
            agent_id: 0,
            uri: String::new(),
            request_hash: B256::repeat_byte(9),
        };
        let s = commit_calls(&db, s, vec![(1, feedback), (0, request)]);
        assert_eq!(s.registry.feedback.len(), 1);
        assert!(s.payments.values().all(|p| p.cited_by == Some((0, 1))));
        s
    };
    let db = Db::open(&path).unwrap();
    let loaded = db.load_state().unwrap().unwrap();
    assert_eq!(loaded.registry, final_state.registry);
    assert_eq!(loaded.payments, final_state.payments);
    assert_eq!(loaded, final_state);
    assert_eq!(loaded.registry.agents[&0].uri, "ipfs://agent");
}

/// Consensus's records in `store`, the same for redb and the in-memory store: a certificate
/// commits with its block, proposals are kept until their height commits, settings persist.
fn consensus_records_follow_the_chain(store: &dyn Store, g_state: &State) {
    let id = |b: u8| ledger::B256::repeat_byte(b);
    assert_eq!(store.first_certificate().unwrap(), None);
    store.put_proposal(1, &id(1), b"p1").unwrap();
    store.put_proposal(2, &id(2), b"p2").unwrap();
    store.put_proposal(1, &id(3), b"p1'").unwrap();
    assert_eq!(store.proposals().unwrap().len(), 3);

    let ctx = BlockContext {
        timestamp_ms: g_state.head.timestamp_ms + 1000,
        proposer: Address::ZERO,
    };
    let mut commit = Commit::from(build_block(g_state, ctx, vec![]));
    commit.certificate = Some(b"cert 1".to_vec());
    store.commit(&commit).unwrap();
    assert_eq!(
        store.certificate(1).unwrap().as_deref(),
        Some(&b"cert 1"[..])
    );
    assert_eq!(store.certificate(2).unwrap(), None);
    assert_eq!(store.first_certificate().unwrap(), Some(1));
    // Height 1 committed: its proposals are gone, height 2's stays.
    assert_eq!(store.proposals().unwrap(), vec![(2, id(2), b"p2".to_vec())]);

    assert_eq!(store.consensus_meta("validators").unwrap(), None);
    store.put_consensus_meta("validators", b"v").unwrap();
    assert_eq!(
        store.consensus_meta("validators").unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn consensus_records_commit_with_blocks_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    {
        let db = Db::open(&path).unwrap();
        db.init(&g_state, &g_commit).unwrap();
        consensus_records_follow_the_chain(&db, &g_state);
    }
    let db = Db::open(&path).unwrap();
    assert_eq!(db.certificate(1).unwrap().as_deref(), Some(&b"cert 1"[..]));
    assert_eq!(db.proposals().unwrap().len(), 1);
    assert!(db.consensus_meta("validators").unwrap().is_some());

    let mem = ledger::MemStore::default();
    mem.init(&g_state, &g_commit).unwrap();
    consensus_records_follow_the_chain(&mem, &g_state);
}

#[test]
fn the_compute_market_survives_a_restart() {
    use ledger::compute::{ComputeCall, OrderSpec, OrderTerms, Settlement};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    let final_state = {
        let db = Db::open(&path).unwrap();
        db.init(&g_state, &g_commit).unwrap();
        let usd = *g_state.assets.keys().next().unwrap();
        let provider = ComputeCall::RegisterProvider {
            uri: "http://127.0.0.1:9001".into(),
            attributes: [("capacity/rps".to_string(), "10".to_string())].into(),
        };
        let order = |settlement, asset| {
            ComputeCall::CreateOrder(OrderTerms {
                spec: OrderSpec {
                    capacity_rps: 2,
                    ..OrderSpec::default()
                },
                asset,
                settlement,
                max_price: 10,
                duration: 100,
                deposit: 100_000_000,
                min_collateral: 5,
                bid_window: 2,
                sealed: None,
            })
        };
        // One call per signer and block (`commit_calls` signs at the state's nonce).
        let bid = |order| {
            Call::Compute(ComputeCall::PlaceBid {
                order,
                price: 9,
                collateral: 5,
            })
        };
        let s = commit_calls(
            &db,
            g_state,
            vec![
                (1, Call::Compute(provider)),
                (0, Call::Compute(order(Settlement::Pay, usd))),
            ],
        );
        let burn = order(Settlement::Burn, ledger::NATIVE);
        let s = commit_calls(&db, s, vec![(0, Call::Compute(burn)), (1, bid(0))]);
        let mut s = commit_calls(&db, s, vec![(1, bid(1))]);
        // The deadline passes (both leases start), then the provider withdraws from one.
        while s.compute.leases.len() < 2 {
            s = commit_calls(&db, s, vec![]);
        }
        let withdraw = ComputeCall::WithdrawLease { lease: 1 };
        let s = commit_calls(&db, s, vec![(1, Call::Compute(withdraw))]);
        assert!(s.compute.meta.as_ref().unwrap().burned > 0);
        s
    };
    let db = Db::open(&path).unwrap();
    let loaded = db.load_state().unwrap().unwrap();
    assert_eq!(loaded.compute, final_state.compute);
    assert_eq!(loaded.params, final_state.params);
    assert_eq!(loaded, final_state);
}

#[test]
fn verifiable_inference_survives_a_restart() {
    use ledger::infer::{Callback, InferCall, Mode, OutputKind, RequestTerms};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (g_state, g_commit) = genesis().build().unwrap();
    let mlp = verify_zk::Mlp::from_json(include_bytes!(
        "../../../../verify/zk/fixtures/mlp-16-32-32-4.json"
    ))
    .unwrap();
    let keys = verify_zk::setup(&mlp, Some([3; 32])).unwrap();
    let model = ledger::infer::zk_model_id(&keys.verifying_key);
    let input: Vec<i8> = (0..16).map(|i| i * 5 - 40).collect();
    let (output, proof) = verify_zk::prove(&mlp, &keys.proving_key, &input).unwrap();
    let bytes = |v: &[i8]| v.iter().map(|x| *x as u8).collect::<Vec<u8>>();
    let final_state = {
        let db = Db::open(&path).unwrap();
        db.init(&g_state, &g_commit).unwrap();
        let usd = *g_state.assets.keys().next().unwrap();
        let terms = |mode, model, input: Vec<u8>, callback| {
            Call::Infer(InferCall::RequestInference(Box::new(RequestTerms {
                model,
                output: OutputKind::Exact,
                input: input.into(),
                input_hash: ledger::B256::ZERO,
                input_uri: String::new(),
                asset: usd,
                payment: 1_000,
                k: 1,
                mode,
                window: 50,
                netuid: 0,
                min_bond: 0,
                challenge_window: 0,
                callback,
            })))
        };
        let provider = ledger::compute::ComputeCall::RegisterProvider {
            uri: "http://127.0.0.1:9001".into(),
            attributes: Default::default(),
        };
        let agent = Call::RegisterAgent {
            uri: "https://p.test/agent.json".into(),
            metadata: vec![],
        };
        let register = InferCall::RegisterZkModel {
            commitment: mlp.commitment().into(),
            verifying_key: keys.verifying_key.clone().into(),
        };
        let s = commit_calls(
            &db,
            g_state,
            vec![
                (1, Call::Compute(provider)),
                (2, agent),
                (0, Call::Infer(register)),
            ],
        );
        let now = s.head.timestamp_ms / 1000 + 1;
        let (quote, collateral) = verify_tee::dev::DevTee::new(ledger::genesis::DEV_TEE_SEED)
            .quote(verify_tee::key_binding(&key(1).address().0.0), now);
        let bind = InferCall::BindAttestation {
            quote: quote.into(),
            collateral: collateral.into(),
        };
        let agent_id = *s.registry.agents.keys().next().unwrap();
        let bond = InferCall::PostBond {
            amount: 77,
            agent_id,
        };
        let payout = Callback::Pay {
            to: key(2).address(),
            asset: ledger::NATIVE,
            amount: 5,
            if_output_hash: ledger::keccak256(bytes(&output)),
        };
        let s = commit_calls(
            &db,
            s,
            vec![
                (1, Call::Infer(bind)),
                (2, Call::Infer(bond)),
                (0, terms(Mode::Zk, model, bytes(&input), payout.clone())),
            ],
        );
        let deliver = InferCall::DeliverResult {
            request: 0,
            output: bytes(&output).into(),
            proof: proof.into(),
        };
        let open = terms(
            Mode::Tee,
            ledger::B256::repeat_byte(9),
            b"still open".to_vec(),
            payout,
        );
        let s = commit_calls(&db, s, vec![(1, Call::Infer(deliver)), (0, open)]);
        assert_eq!(s.infer.requests.len(), 2);
        assert!(s.infer.requests[&0].result.as_ref().unwrap().zk_proved);
        assert_eq!(s.infer.attestations.len(), 1);
        assert_eq!(s.infer.bonds.len(), 1);
        s
    };
    let db = Db::open(&path).unwrap();
    let loaded = db.load_state().unwrap().unwrap();
    assert_eq!(loaded.infer, final_state.infer);
    assert_eq!(loaded.params, final_state.params);
    assert_eq!(loaded, final_state);
}
