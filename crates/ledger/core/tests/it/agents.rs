//! The ERC-8004 registries on the ledger: identity (sequential ids, wallet proof, transfer),
//! reputation (no self-feedback, revocation by the giver, responses, the summary, payment
//! proof) and validation (only the named validator, 0..=100).

use ledger::{
    Address, B256, Call, State,
    agents::{self, FeedbackCall, MetadataEntry, PaymentRef, REQUIRES_PAYMENT_KEY, Summary},
    eip3009::{self, Authorization},
    tx::Signature,
};
use proptest::prelude::*;

use crate::common::*;

fn register(uri: &str) -> Call {
    Call::RegisterAgent {
        uri: uri.into(),
        metadata: vec![],
    }
}

fn feedback(agent_id: u64, value: i128, value_decimals: u8, tag1: &str) -> Call {
    Call::GiveFeedback(FeedbackCall {
        agent_id,
        value,
        value_decimals,
        tag1: tag1.into(),
        tag2: String::new(),
        endpoint: "https://agent.example/api".into(),
        feedback_uri: String::new(),
        feedback_hash: B256::ZERO,
        payment: None,
    })
}

/// The block time of the next block (see `common::step`).
fn next_time(s: &State) -> u64 {
    T0_MS / 1000 + s.head.height + 1
}

fn set_wallet(agent_id: u64, owner: u32, wallet: u32, deadline: u64) -> Call {
    let h = agents::wallet_proof_hash(CHAIN_ID, agent_id, addr(wallet), addr(owner), deadline);
    Call::SetAgentWallet {
        agent_id,
        wallet: addr(wallet),
        deadline,
        signature: Signature(key(wallet).sign_hash(&h).unwrap().to_bytes()),
    }
}

#[test]
fn agent_ids_are_sequential_from_zero_and_the_wallet_starts_as_the_owner() {
    let mut s = state(4);
    let out = run(
        &mut s,
        vec![(1, register("ipfs://a")), (2, register("ipfs://b"))],
    );
    assert_eq!(out, ["ok", "ok"]);
    assert_eq!(
        run(&mut s, vec![(1, register("https://c/agent.json"))]),
        ["ok"]
    );
    let ids: Vec<(u64, Address, String)> = s
        .registry
        .agents
        .values()
        .map(|a| (a.id, a.owner, a.uri.clone()))
        .collect();
    assert_eq!(
        ids,
        [
            (0, addr(1), "ipfs://a".into()),
            (1, addr(2), "ipfs://b".into()),
            (2, addr(1), "https://c/agent.json".into())
        ]
    );
    assert_eq!(s.registry.agents[&0].wallet, Some(addr(1)));
    assert_eq!(s.registry.next_id(), 3);
}

#[test]
fn metadata_refuses_the_reserved_wallet_key_and_only_the_owner_sets_it() {
    let mut s = state(3);
    let reserved = Call::RegisterAgent {
        uri: "ipfs://a".into(),
        metadata: vec![MetadataEntry {
            key: "agentWallet".into(),
            value: vec![1u8; 20].into(),
        }],
    };
    let out = run(&mut s, vec![(1, reserved), (1, register("ipfs://a"))]);
    assert!(
        out[0].starts_with("invalid_call") && out[0].contains("reserved"),
        "{out:?}"
    );
    assert_eq!(out[1], "ok");
    let set = |key: &str, value: &[u8]| Call::SetAgentMetadata {
        agent_id: 0,
        key: key.into(),
        value: value.to_vec().into(),
    };
    let out = run(
        &mut s,
        vec![
            (1, set("agentWallet", &[2; 20])),
            (2, set("skills", b"search")),
            (1, set("skills", b"search")),
            (1, set(REQUIRES_PAYMENT_KEY, &[7])),
            (
                1,
                Call::SetAgentUri {
                    agent_id: 0,
                    uri: "ipfs://new".into(),
                },
            ),
        ],
    );
    assert!(out[0].contains("reserved"), "{out:?}");
    assert!(out[1].starts_with("not_agent_owner"), "{out:?}");
    assert_eq!(out[2], "ok");
    assert!(out[3].contains(REQUIRES_PAYMENT_KEY), "{out:?}");
    assert_eq!(out[4], "ok");
    let a = &s.registry.agents[&0];
    assert_eq!(a.metadata["skills"].as_ref(), b"search");
    assert_eq!(a.uri, "ipfs://new");
    assert_eq!(
        a.wallet,
        Some(addr(1)),
        "setMetadata cannot touch the wallet"
    );
}

#[test]
fn wallet_is_set_by_its_own_signature_checked_against_the_deadline_and_cleared_on_transfer() {
    let mut s = state(4);
    run(&mut s, vec![(1, register("ipfs://a"))]);
    let now = next_time(&s);
    // The proof signed by the wrong key is refused before the mempool (the tx does not verify).
    let h = agents::wallet_proof_hash(CHAIN_ID, 0, addr(2), addr(1), now + 60);
    let forged = Call::SetAgentWallet {
        agent_id: 0,
        wallet: addr(2),
        deadline: now + 60,
        signature: Signature(key(3).sign_hash(&h).unwrap().to_bytes()),
    };
    let e = sign(&key(1), s.nonce(&addr(1)), forged)
        .verify(CHAIN_ID, &s)
        .unwrap_err();
    assert_eq!(e.code(), "bad_authorization");
    // A proof for another owner does not verify either: the owner is in the signed struct.
    let other_owner = set_wallet(0, 3, 2, now + 60);
    let e = sign(&key(1), s.nonce(&addr(1)), other_owner)
        .verify(CHAIN_ID, &s)
        .unwrap_err();
    assert_eq!(e.code(), "bad_authorization");

    let calls = vec![
        (1, set_wallet(0, 1, 2, now - 1)),
        (1, set_wallet(0, 1, 2, now + 301)),
        (1, set_wallet(0, 1, 2, now + 300)),
    ];
    let out = run(&mut s, calls);
    assert!(out[0].contains("expired"), "{out:?}");
    assert!(out[1].contains("more than 300 s"), "{out:?}");
    assert_eq!(out[2], "ok");
    assert_eq!(s.registry.agents[&0].wallet, Some(addr(2)));

    let out = run(
        &mut s,
        vec![
            (
                2,
                Call::TransferAgent {
                    agent_id: 0,
                    to: addr(3),
                },
            ),
            (
                1,
                Call::TransferAgent {
                    agent_id: 0,
                    to: addr(3),
                },
            ),
        ],
    );
    assert!(
        out[0].starts_with("not_agent_owner"),
        "the wallet is not the owner"
    );
    assert_eq!(out[1], "ok");
    let a = &s.registry.agents[&0];
    assert_eq!((a.owner, a.wallet), (addr(3), None));
    let out = run(
        &mut s,
        vec![
            (
                1,
                Call::SetAgentUri {
                    agent_id: 0,
                    uri: "x".into(),
                },
            ),
            (3, Call::UnsetAgentWallet { agent_id: 0 }),
        ],
    );
    assert!(out[0].starts_with("not_agent_owner"), "{out:?}");
    assert_eq!(out[1], "ok");
}

#[test]
fn feedback_is_refused_from_the_owner_and_revoked_only_by_its_giver() {
    let mut s = state(4);
    run(&mut s, vec![(1, register("ipfs://a"))]);
    let out = run(
        &mut s,
        vec![
            (1, feedback(0, 90, 0, "starred")),
            (2, feedback(0, 90, 0, "starred")),
            (2, feedback(0, 80, 0, "starred")),
            (3, feedback(0, 9977, 2, "uptime")),
            (2, feedback(7, 1, 0, "")),
            (2, feedback(0, 1, 19, "")),
            (2, feedback(0, agents::MAX_ABS_VALUE + 1, 0, "")),
        ],
    );
    assert!(out[0].starts_with("self_feedback"), "{out:?}");
    assert_eq!(&out[1..4], ["ok", "ok", "ok"]);
    assert!(out[4].starts_with("unknown_agent"), "{out:?}");
    assert!(out[5].contains("valueDecimals"), "{out:?}");
    assert!(out[6].contains("1e38"), "{out:?}");
    let list = &s.registry.feedback[&(0, addr(2))];
    assert_eq!(list.iter().map(|f| f.index).collect::<Vec<_>>(), [1, 2]);

    let revoke = |index| Call::RevokeFeedback { agent_id: 0, index };
    let out = run(
        &mut s,
        vec![
            (3, revoke(2)),
            (1, revoke(1)),
            (2, revoke(0)),
            (2, revoke(1)),
            (2, revoke(1)),
            (
                1,
                Call::AppendResponse {
                    agent_id: 0,
                    client: addr(2),
                    index: 1,
                    uri: "ipfs://refund".into(),
                    hash: B256::ZERO,
                },
            ),
            (
                3,
                Call::AppendResponse {
                    agent_id: 0,
                    client: addr(2),
                    index: 3,
                    uri: "ipfs://x".into(),
                    hash: B256::ZERO,
                },
            ),
        ],
    );
    assert!(
        out[0].starts_with("unknown_feedback"),
        "key 3 gave only one: {out:?}"
    );
    assert!(out[1].starts_with("unknown_feedback"), "{out:?}");
    assert!(out[2].starts_with("unknown_feedback"), "{out:?}");
    assert_eq!(out[3], "ok");
    assert!(out[4].contains("already revoked"), "{out:?}");
    assert_eq!(out[5], "ok");
    assert!(out[6].starts_with("unknown_feedback"), "{out:?}");
    let fb = &s.registry.feedback[&(0, addr(2))][0];
    assert!(fb.revoked);
    assert_eq!(fb.responses[0].responder, addr(1));
}

#[test]
fn summary_matches_the_contract_arithmetic() {
    let mut s = state(5);
    run(&mut s, vec![(1, register("ipfs://a"))]);
    run(
        &mut s,
        vec![
            (2, feedback(0, 87, 0, "starred")),
            (3, feedback(0, 9977, 2, "uptime")),
            (4, feedback(0, -32, 1, "yield")),
            (2, feedback(0, 10, 0, "starred")),
        ],
    );
    let clients = [addr(2), addr(3), addr(4)];
    // 87 + 99.77 − 3.2 + 10 = 193.57, / 4 = 48.3925; modes: 0 (twice) → 48.
    assert_eq!(
        s.registry.summary(0, &clients, "", "").unwrap(),
        Summary {
            count: 4,
            value: 48,
            decimals: 0
        }
    );
    assert_eq!(
        s.registry.summary(0, &[addr(3)], "", "").unwrap(),
        Summary {
            count: 1,
            value: 9977,
            decimals: 2
        }
    );
    assert_eq!(
        s.registry
            .summary(0, &clients, "starred", "")
            .unwrap()
            .count,
        2
    );
    assert_eq!(
        s.registry.summary(0, &clients, "nope", "").unwrap().count,
        0
    );
    assert!(
        s.registry.summary(0, &[], "", "").is_err(),
        "clients are required"
    );
    assert!(s.registry.summary(9, &clients, "", "").is_err());
    // Revoked feedback no longer counts.
    run(
        &mut s,
        vec![(
            2,
            Call::RevokeFeedback {
                agent_id: 0,
                index: 2,
            },
        )],
    );
    // 87 + 99.77 − 3.2 = 183.57, / 3 = 61.19; decimals 0, 2, 1 tie → the lowest, 0.
    assert_eq!(
        s.registry.summary(0, &clients, "", "").unwrap(),
        Summary {
            count: 3,
            value: 61,
            decimals: 0
        }
    );
}

#[test]
fn summarize_truncates_toward_zero_and_rescales_to_the_mode() {
    let sum = |v: &[(i128, u8)]| agents::summarize(v.iter().copied());
    // −1 − 2 + 0.5 = −2.5, / 3 = −0.83…: truncated to 0 at 0 decimals.
    assert_eq!(sum(&[(-1, 0), (-2, 0), (5, 1)]).value, 0);
    assert_eq!(
        sum(&[(-15, 1), (-25, 1)]),
        Summary {
            count: 2,
            value: -20,
            decimals: 1
        }
    );
    assert_eq!(
        sum(&[(-7, 0), (0, 0)]),
        Summary {
            count: 2,
            value: -3,
            decimals: 0
        }
    );
    let extreme = agents::MAX_ABS_VALUE;
    assert_eq!(sum(&[(extreme, 0), (extreme, 0)]).value, extreme);
    assert_eq!(sum(&[(-extreme, 18), (-extreme, 18)]).value, -extreme);
    assert_eq!(sum(&[]).count, 0);
}

/// A reference for `summarize`: positive and negative sums kept apart in unsigned 256-bit.
fn reference(v: &[(i128, u8)]) -> Summary {
    use ledger::U256;
    if v.is_empty() {
        return Summary {
            count: 0,
            value: 0,
            decimals: 0,
        };
    }
    let (mut pos, mut neg) = (U256::ZERO, U256::ZERO);
    let mut counts = [0u64; 19];
    for &(x, d) in v {
        let n = U256::from(x.unsigned_abs()) * U256::from(10u8).pow(U256::from(18 - d));
        if x < 0 {
            neg += n
        } else {
            pos += n
        }
        counts[usize::from(d)] += 1;
    }
    let mode = (0..19).rev().max_by_key(|d| counts[*d]).unwrap();
    let scale = U256::from(10u8).pow(U256::from(18 - mode));
    let count = U256::from(v.len());
    // Solidity's int128(int256) keeps the low 128 bits.
    let low = |r: U256| r.as_limbs()[0] as u128 | (r.as_limbs()[1] as u128) << 64;
    let value = if pos >= neg {
        low((pos - neg) / count / scale) as i128
    } else {
        (low((neg - pos) / count / scale) as i128).wrapping_neg()
    };
    Summary {
        count: v.len() as u64,
        value,
        decimals: mode as u8,
    }
}

proptest! {
    #[test]
    fn summarize_agrees_with_the_reference(
        v in prop::collection::vec(
            (-agents::MAX_ABS_VALUE..=agents::MAX_ABS_VALUE, 0u8..=18),
            0..40,
        )
    ) {
        prop_assert_eq!(agents::summarize(v.iter().copied()), reference(&v));
    }

    #[test]
    fn every_registry_call_round_trips_through_json_with_the_same_hash(
        id in any::<u64>(),
        value in any::<i128>(),
        decimals in any::<u8>(),
        tag in "[a-zA-Z0-9 ]{0,12}",
        response in any::<u8>(),
    ) {
        let calls = vec![
            Call::RegisterAgent {
                uri: tag.clone(),
                metadata: vec![MetadataEntry { key: tag.clone(), value: vec![decimals].into() }],
            },
            Call::SetAgentUri { agent_id: id, uri: tag.clone() },
            Call::GiveFeedback(FeedbackCall {
                agent_id: id, value, value_decimals: decimals, tag1: tag.clone(),
                tag2: tag.clone(), endpoint: String::new(), feedback_uri: String::new(),
                feedback_hash: B256::repeat_byte(decimals),
                payment: Some(PaymentRef { asset: usd(), nonce: B256::repeat_byte(response) }),
            }),
            Call::ValidationResponse {
                request_hash: B256::repeat_byte(decimals), response, uri: tag.clone(),
                hash: B256::ZERO, tag: tag.clone(),
            },
        ];
        for call in calls {
            let tx = sign(&key(1), id % 100, call);
            let json = serde_json::to_string(&tx).unwrap();
            let back: ledger::tx::SignedTx = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back.tx.signing_hash(CHAIN_ID), tx.tx.signing_hash(CHAIN_ID));
            prop_assert_eq!(back, tx);
        }
    }
}

#[test]
fn validation_responses_come_only_from_the_named_validator_within_0_to_100() {
    let mut s = state(4);
    run(&mut s, vec![(1, register("ipfs://a"))]);
    let req = B256::repeat_byte(9);
    let request = |validator| Call::ValidationRequest {
        validator,
        agent_id: 0,
        uri: "ipfs://inputs".into(),
        request_hash: req,
    };
    let respond = |response, tag: &str| Call::ValidationResponse {
        request_hash: req,
        response,
        uri: "ipfs://evidence".into(),
        hash: B256::ZERO,
        tag: tag.into(),
    };
    let out = run(
        &mut s,
        vec![
            (2, request(addr(3))),
            (1, request(Address::ZERO)),
            (1, request(addr(3))),
            (1, request(addr(3))),
            (2, respond(100, "")),
            (3, respond(101, "")),
            (3, respond(100, "soft-finality")),
        ],
    );
    assert!(out[0].starts_with("not_agent_owner"), "{out:?}");
    assert!(out[1].contains("zero address"), "{out:?}");
    assert_eq!(out[2], "ok");
    assert!(out[3].contains("already exists"), "{out:?}");
    assert!(out[4].starts_with("not_validator"), "{out:?}");
    assert!(out[5].contains("above 100"), "{out:?}");
    assert_eq!(out[6], "ok");
    assert_eq!(run(&mut s, vec![(3, respond(40, "hard-finality"))]), ["ok"]);
    let v = &s.registry.validations[&req];
    assert_eq!((v.response, v.tag.as_str()), (Some(40), "hard-finality"));
    assert_eq!(s.registry.agent_validations(0).count(), 1);
    let unknown = Call::ValidationResponse {
        request_hash: B256::ZERO,
        response: 1,
        uri: String::new(),
        hash: B256::ZERO,
        tag: String::new(),
    };
    assert!(run(&mut s, vec![(3, unknown)])[0].starts_with("unknown_validation"));
}

fn pay(s: &State, payer: u32, to: Address, value: u128, nonce: u8) -> Call {
    let now = next_time(s);
    let mut a = Authorization {
        asset: usd(),
        from: addr(payer),
        to,
        value,
        valid_after: 0,
        valid_before: now + 3600,
        nonce: B256::repeat_byte(nonce),
        signature: Signature([0; 65]),
    };
    let asset = &s.assets[&usd()];
    let d = eip3009::domain(&asset.name, &asset.version, CHAIN_ID, usd());
    a.signature = Signature(
        key(payer)
            .sign_hash(&a.signing_hash(&d))
            .unwrap()
            .to_bytes(),
    );
    Call::TransferWithAuthorization(a)
}

fn paid_feedback(nonce: u8) -> Call {
    Call::GiveFeedback(FeedbackCall {
        payment: Some(PaymentRef {
            asset: usd(),
            nonce: B256::repeat_byte(nonce),
        }),
        ..match feedback(0, 5, 0, "starred") {
            Call::GiveFeedback(f) => f,
            _ => unreachable!(),
        }
    })
}

#[test]
fn feedback_requiring_payment_needs_a_settled_payment_from_the_giver_to_the_agent() {
    let mut s = state(4);
    let requires = Call::RegisterAgent {
        uri: "ipfs://a".into(),
        metadata: vec![MetadataEntry {
            key: REQUIRES_PAYMENT_KEY.into(),
            value: vec![1u8].into(),
        }],
    };
    assert_eq!(run(&mut s, vec![(1, requires)]), ["ok"]);
    assert!(s.registry.agents[&0].requires_payment());
    let out = run(
        &mut s,
        vec![(2, feedback(0, 5, 0, "starred")), (2, paid_feedback(1))],
    );
    assert!(
        out[0].starts_with("payment_proof") && out[0].contains("requires"),
        "{out:?}"
    );
    assert!(out[1].contains("no settled payment"), "{out:?}");

    // Key 2 pays the agent (its wallet is the owner, key 1); key 3 pays someone else.
    let calls = vec![
        (2, pay(&s, 2, addr(1), 250, 1)),
        (3, pay(&s, 3, addr(1), 250, 2)),
        (3, pay(&s, 3, addr(0), 250, 3)),
    ];
    let out = run(&mut s, calls);
    assert_eq!(out, ["ok", "ok", "ok"]);
    let out = run(
        &mut s,
        vec![
            (2, paid_feedback(2)),
            (3, paid_feedback(3)),
            (2, paid_feedback(1)),
            (2, paid_feedback(1)),
        ],
    );
    assert!(
        out[0].contains("no settled payment from"),
        "key 3's payment: {out:?}"
    );
    assert!(out[1].contains("not to the agent's wallet"), "{out:?}");
    assert_eq!(out[2], "ok");
    assert!(out[3].contains("already backs feedback 1"), "{out:?}");
    let p = s.payments[&(usd(), addr(2), B256::repeat_byte(1))];
    assert_eq!((p.to, p.value, p.cited_by), (addr(1), 250, Some((0, 1))));

    // Native-token "payments" cannot be cited: refused at verification.
    let native = Call::GiveFeedback(FeedbackCall {
        payment: Some(PaymentRef {
            asset: ledger::NATIVE,
            nonce: B256::ZERO,
        }),
        ..match feedback(0, 5, 0, "") {
            Call::GiveFeedback(f) => f,
            _ => unreachable!(),
        }
    });
    let e = sign(&key(2), s.nonce(&addr(2)), native)
        .verify(CHAIN_ID, &s)
        .unwrap_err();
    assert_eq!(e.code(), "invalid_call");
}

#[test]
fn a_payee_the_owner_names_on_chain_counts_as_payment_proof() {
    // A gateway's payments go to an account no key controls; its owner names it under
    // `x402PayTo`. Payments there prove feedback; payments elsewhere still do not.
    let mut s = state(4);
    let revenue = Address::repeat_byte(0xee);
    let gateway = Call::RegisterAgent {
        uri: "ipfs://gateway".into(),
        metadata: vec![
            MetadataEntry {
                key: REQUIRES_PAYMENT_KEY.into(),
                value: vec![1u8].into(),
            },
            MetadataEntry {
                key: ledger::agents::PAY_TO_KEY.into(),
                value: revenue.to_vec().into(),
            },
        ],
    };
    assert_eq!(run(&mut s, vec![(1, gateway)]), ["ok"]);
    assert_eq!(s.registry.agents[&0].payees(), vec![addr(1), revenue]);
    let calls = vec![
        (2, pay(&s, 2, revenue, 250, 1)),
        (2, pay(&s, 2, addr(3), 250, 2)),
    ];
    assert_eq!(run(&mut s, calls), ["ok", "ok"]);
    let out = run(&mut s, vec![(2, paid_feedback(1)), (2, paid_feedback(2))]);
    assert_eq!(out[0], "ok");
    assert!(out[1].contains("not to the agent's wallet"), "{out:?}");
}

#[test]
fn replaying_registry_blocks_gives_the_same_state_root() {
    let mut s = state(4);
    let start = s.clone();
    let mut blocks = vec![];
    blocks.push(step(&mut s, vec![sign(&key(1), 0, register("ipfs://a"))]).block);
    let txs = vec![
        sign(&key(2), 0, feedback(0, 3, 0, "")),
        sign(&key(2), 1, pay(&s, 2, addr(1), 5, 4)),
    ];
    blocks.push(step(&mut s, txs).block);
    let mut replay = start;
    for b in &blocks {
        let (diff, _) = ledger::apply_block(&replay, b).unwrap();
        replay.apply_diff(&diff, b.header.head());
    }
    assert_eq!(replay, s);
    assert_ne!(blocks[1].header.state_root, blocks[0].header.state_root);
}
