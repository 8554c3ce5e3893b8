//! The compute market on the ledger: the order → bid → lease → close lifecycle, automatic
//! awards and lapses, lazy settlement at its boundaries, the exhausted-lease cut-off, sealed
//! auctions, burn-mint accounting, and conservation through escrow under random call
//! sequences.

use std::collections::BTreeMap;

use ledger::{
    Address, B256, Call, NATIVE, State,
    compute::{
        BidState, CloseReason, ComputeCall, ComputeParams, Lease, OrderSpec, OrderState,
        OrderTerms, Sealed, Settlement, bme, escrow_account,
    },
};
use proptest::prelude::*;

use crate::common::*;

const TENANT: u32 = 0;
const P1: u32 = 1;
const P2: u32 = 2;
const OUTSIDER: u32 = 3;
const EPOCH: u64 = 10;
const RESOLVE_TIMEOUT: u64 = 8;

fn market_state() -> State {
    let mut g = genesis(5);
    g.compute = Some(ComputeParams {
        oracle: addr(0),
        oracle_price: 500_000_000,
        epoch_blocks: EPOCH,
        epoch_emission: 1_000_000,
        halving_epochs: 0,
        work_share_bps: 8_000,
        resolve_timeout: RESOLVE_TIMEOUT,
    });
    g.build().unwrap().0
}

/// Runs one block of `(signer, call)` pairs ([`crate::common::run`]) and checks the escrow's
/// books; returns each receipt's status.
fn run(s: &mut State, calls: Vec<(u32, ComputeCall)>) -> Vec<String> {
    let calls = calls
        .into_iter()
        .map(|(i, c)| (i, Call::Compute(c)))
        .collect();
    let statuses = crate::common::run(s, calls);
    check_books(s);
    statuses
}

fn ok(s: &mut State, who: u32, call: ComputeCall) {
    let r = run(s, vec![(who, call)]);
    assert_eq!(r, ["ok"], "{r:?}");
}

fn refused(s: &mut State, who: u32, call: ComputeCall, needle: &str) {
    let before = s.compute.clone();
    let r = run(s, vec![(who, call)]);
    assert!(r[0].contains(needle), "expected {needle:?}, got {r:?}");
    // A failed call changes nothing in the market (the block's own work aside).
    assert_eq!(s.compute.providers, before.providers);
    assert_eq!(s.compute.bids, before.bids);
}

fn empty_blocks(s: &mut State, n: u64) {
    for _ in 0..n {
        step(s, vec![]);
        check_books(s);
    }
}

/// Supply equals balances for every asset, every lease's escrow balances, and the escrow
/// account holds exactly the open orders' deposits, the open leases' balances and every
/// collateral not yet returned.
fn check_books(s: &State) {
    assert_conserved(s);
    let m = &s.compute;
    let mut held: BTreeMap<Address, u128> = BTreeMap::new();
    for o in m.orders.values().filter(|o| o.state == OrderState::Open) {
        *held.entry(o.asset).or_default() += o.deposit;
    }
    for b in m.bids.values().filter(|b| b.state == BidState::Open) {
        *held.entry(NATIVE).or_default() += b.collateral;
    }
    for l in m.leases.values() {
        assert!(l.conserves(), "lease {} books: {:?}", l.id, l.escrow);
        if l.closed.is_none() {
            *held.entry(l.asset).or_default() += l.escrow.balance;
            *held.entry(NATIVE).or_default() += l.collateral;
        } else {
            assert_eq!(l.escrow.balance, 0, "a closed lease holds nothing");
        }
    }
    let escrow = s.account(&escrow_account());
    for (asset, amount) in &held {
        assert_eq!(escrow.balance(asset), *amount, "escrow of {asset}");
    }
    for (asset, amount) in &escrow.balances {
        assert_eq!(
            held.get(asset).copied().unwrap_or(0),
            *amount,
            "escrow of {asset}"
        );
    }
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn register(s: &mut State, who: u32, rps: u32) {
    ok(
        s,
        who,
        ComputeCall::RegisterProvider {
            uri: format!("http://127.0.0.1:{}", 9000 + who),
            attributes: attrs(&[
                ("capacity/rps", &rps.to_string()),
                ("model/all-minilm-l6-v2", "true"),
                ("region", "eu"),
            ]),
        },
    );
}

fn order(max_price: u128, duration: u64, deposit: u128, bid_window: u64) -> ComputeCall {
    ComputeCall::CreateOrder(OrderTerms {
        spec: OrderSpec {
            capacity_rps: 5,
            attributes: attrs(&[("model/all-minilm-l6-v2", "true")]),
            auditors: vec![],
        },
        asset: usd(),
        settlement: Settlement::Pay,
        max_price,
        duration,
        deposit,
        min_collateral: 1_000,
        bid_window,
        sealed: None,
    })
}

fn bid(order: u64, price: u128) -> ComputeCall {
    ComputeCall::PlaceBid {
        order,
        price,
        collateral: 1_000,
    }
}

fn lease(s: &State, id: u64) -> Lease {
    s.compute.leases[&id].clone()
}

fn usd_of(s: &State, who: u32) -> u128 {
    s.balance(&addr(who), &usd())
}

#[test]
fn order_bid_lease_close_lifecycle() {
    let mut s = market_state();
    register(&mut s, P1, 10);
    register(&mut s, P2, 10);
    let tenant_usd = usd_of(&s, TENANT);
    ok(&mut s, TENANT, order(100, 50, 3_000, 20));
    assert_eq!(usd_of(&s, TENANT), tenant_usd - 3_000, "deposit escrowed");
    let o = &s.compute.orders[&0];
    assert_eq!((o.state, o.bid_count), (OrderState::Open, 0));

    // Bids: above the max, from a non-provider, from the tenant, too little collateral.
    refused(&mut s, P1, bid(0, 101), "outside 1..=100");
    refused(&mut s, OUTSIDER, bid(0, 50), "not a registered provider");
    refused(
        &mut s,
        P1,
        ComputeCall::PlaceBid {
            order: 0,
            price: 50,
            collateral: 999,
        },
        "below the order's minimum",
    );
    refused(
        &mut s,
        P1,
        ComputeCall::PlaceSealedBid {
            order: 0,
            ciphertext_hash: B256::repeat_byte(1),
            collateral: 1_000,
        },
        "takes clear bids",
    );
    let p1_native = s.balance(&addr(P1), &NATIVE);
    assert_eq!(
        run(&mut s, vec![(P1, bid(0, 80)), (P2, bid(0, 60))]),
        ["ok", "ok"]
    );
    refused(&mut s, P1, bid(0, 70), "already bid");
    refused(
        &mut s,
        P1,
        ComputeCall::AcceptBid {
            order: 0,
            provider: addr(P2),
        },
        "only the tenant",
    );
    ok(
        &mut s,
        TENANT,
        ComputeCall::AcceptBid {
            order: 0,
            provider: addr(P2),
        },
    );
    let start = s.head.height;
    let l = lease(&s, 0);
    assert_eq!(
        (l.provider, l.rate, l.start, l.end),
        (addr(P2), 60, start, start + 50)
    );
    assert_eq!(s.compute.orders[&0].state, OrderState::Leased);
    assert_eq!(s.compute.bids[&(0, addr(P1))].state, BidState::Lost);
    assert_eq!(s.compute.bids[&(0, addr(P2))].state, BidState::Won);
    // The loser's collateral is back (less the fees of its three transactions since).
    assert_eq!(
        s.balance(&addr(P1), &NATIVE),
        p1_native - 3 * u128::from(MIN_FEE)
    );
    refused(&mut s, P1, bid(0, 50), "not taking bids");

    // Later the provider withdraws exactly the blocks since the start.
    empty_blocks(&mut s, 9);
    let p2_usd = usd_of(&s, P2);
    ok(&mut s, P2, ComputeCall::WithdrawLease { lease: 0 });
    let blocks = s.head.height - start;
    assert_eq!(usd_of(&s, P2), p2_usd + 60 * u128::from(blocks));
    assert_eq!(lease(&s, 0).escrow.settled_at, s.head.height);
    refused(
        &mut s,
        P1,
        ComputeCall::WithdrawLease { lease: 0 },
        "only the provider",
    );

    // The tenant closes: one more block paid, the rest refunded, collateral returned.
    let tenant_usd = usd_of(&s, TENANT);
    let p2_native = s.balance(&addr(P2), &NATIVE);
    ok(
        &mut s,
        TENANT,
        ComputeCall::CloseLease {
            lease: 0,
            reason: "done testing".into(),
        },
    );
    let l = lease(&s, 0);
    let end = s.head.height;
    assert_eq!(
        l.closed,
        Some((end, CloseReason::Tenant("done testing".into())))
    );
    let paid = 60 * u128::from(end - start);
    assert_eq!(l.escrow.paid, paid);
    assert_eq!(l.escrow.refunded, 3_000 - paid);
    assert_eq!(usd_of(&s, TENANT), tenant_usd + 3_000 - paid);
    assert_eq!(usd_of(&s, P2), p2_usd + paid);
    assert_eq!(s.balance(&addr(P2), &NATIVE), p2_native + 1_000);
    refused(
        &mut s,
        P2,
        ComputeCall::CloseLease {
            lease: 0,
            reason: String::new(),
        },
        "already closed",
    );
    refused(
        &mut s,
        TENANT,
        ComputeCall::DepositLease {
            lease: 0,
            amount: 10,
        },
        "not served",
    );
}

#[test]
fn lowest_clear_bid_wins_at_the_deadline_ties_to_the_earliest() {
    let mut s = market_state();
    register(&mut s, P1, 10);
    register(&mut s, P2, 10);
    register(&mut s, OUTSIDER, 10);
    ok(&mut s, TENANT, order(100, 20, 2_000, 3));
    let deadline = s.compute.orders[&0].bid_deadline;
    assert_eq!(
        run(
            &mut s,
            vec![(P1, bid(0, 70)), (P2, bid(0, 40)), (OUTSIDER, bid(0, 40))]
        ),
        ["ok", "ok", "ok"]
    );
    while s.head.height <= deadline {
        assert!(s.compute.leases.is_empty());
        step(&mut s, vec![]);
        check_books(&s);
    }
    let l = lease(&s, 0);
    assert_eq!((l.provider, l.rate, l.start), (addr(P2), 40, deadline + 1));
    assert_eq!(s.compute.bids[&(0, addr(OUTSIDER))].state, BidState::Lost);
}

#[test]
fn an_order_without_bids_lapses_and_is_refunded() {
    let mut s = market_state();
    let before = usd_of(&s, TENANT);
    ok(&mut s, TENANT, order(100, 20, 2_000, 2));
    empty_blocks(&mut s, 3);
    assert_eq!(s.compute.orders[&0].state, OrderState::Lapsed);
    assert_eq!(usd_of(&s, TENANT), before);
    assert!(s.compute.meta.as_ref().unwrap().open_orders.is_empty());

    // Cancel before the deadline refunds deposit and collateral too.
    register(&mut s, P1, 10);
    ok(&mut s, TENANT, order(100, 20, 2_000, 5));
    ok(&mut s, P1, bid(1, 10));
    let p1 = s.balance(&addr(P1), &NATIVE);
    refused(
        &mut s,
        P1,
        ComputeCall::CancelOrder { order: 1 },
        "only the tenant",
    );
    ok(&mut s, TENANT, ComputeCall::CancelOrder { order: 1 });
    assert_eq!(s.compute.orders[&1].state, OrderState::Canceled);
    assert_eq!(usd_of(&s, TENANT), before);
    assert_eq!(
        s.balance(&addr(P1), &NATIVE),
        p1 + 1_000 - u128::from(MIN_FEE)
    );
}

#[test]
fn bids_must_match_the_spec_and_trusted_auditors() {
    let mut s = market_state();
    register(&mut s, P1, 3); // too little capacity for 5 rps
    refused(&mut s, P2, bid(0, 1), "unknown order");
    ok(&mut s, TENANT, order(100, 20, 2_000, 10));
    refused(&mut s, P1, bid(0, 50), "declares 3 requests/s");
    // An order that trusts only auditor 4: self-declared attributes do not count.
    register(&mut s, P2, 10);
    let audited = ComputeCall::CreateOrder(OrderTerms {
        spec: OrderSpec {
            capacity_rps: 5,
            attributes: attrs(&[("region", "eu")]),
            auditors: vec![addr(4)],
        },
        asset: usd(),
        settlement: Settlement::Pay,
        max_price: 100,
        duration: 10,
        deposit: 1_000,
        min_collateral: 0,
        bid_window: 10,
        sealed: None,
    });
    ok(&mut s, TENANT, audited);
    refused(&mut s, P2, bid(1, 50), "lacks attributes");
    // Another auditor's signature does not help; auditor 4's does.
    ok(
        &mut s,
        OUTSIDER,
        ComputeCall::SignAttributes {
            provider: addr(P2),
            attributes: attrs(&[("region", "eu")]),
        },
    );
    refused(&mut s, P2, bid(1, 50), "lacks attributes");
    ok(
        &mut s,
        4,
        ComputeCall::SignAttributes {
            provider: addr(P2),
            attributes: attrs(&[("region", "eu")]),
        },
    );
    ok(&mut s, P2, bid(1, 50));
}

/// Provider 1 leases to the tenant at `rate` for `duration` blocks with `deposit` (lease 0);
/// returns the lease's start.
fn leased(s: &mut State, rate: u128, duration: u64, deposit: u128) -> u64 {
    register(s, P1, 10);
    ok(s, TENANT, order(rate, duration, deposit, 3));
    ok(s, P1, bid(0, rate));
    ok(
        s,
        TENANT,
        ComputeCall::AcceptBid {
            order: 0,
            provider: addr(P1),
        },
    );
    s.head.height
}

#[test]
fn lazy_settlement_at_the_boundaries() {
    let mut s = market_state();
    let start = leased(&mut s, 7, 5, 1_000);
    let l = lease(&s, 0);
    let price = 500;
    // Nothing is owed in the lease's own block; one block later, exactly one rate.
    assert_eq!(l.owed(start, price).amount, 0);
    assert_eq!(l.owed(start + 1, price).amount, 7);
    // Owed stops at the end however late the touch.
    assert_eq!(l.owed(start + 5, price).amount, 35);
    assert_eq!(l.owed(start + 500, price).amount, 35);
    assert!(l.serves_at(start + 4, price));
    assert!(!l.serves_at(start + 5, price));

    // Two withdrawals in one block pay once.
    let r = run(
        &mut s,
        vec![
            (P1, ComputeCall::WithdrawLease { lease: 0 }),
            (P1, ComputeCall::WithdrawLease { lease: 0 }),
        ],
    );
    assert_eq!(r, ["ok", "ok"]);
    assert_eq!(lease(&s, 0).escrow.paid, 7);
    // Past the end: paid for exactly the duration; the epoch pass closes it as ended.
    empty_blocks(&mut s, 8);
    ok(&mut s, P1, ComputeCall::WithdrawLease { lease: 0 });
    assert_eq!(lease(&s, 0).escrow.paid, 35);
    while !s.head.height.is_multiple_of(EPOCH) {
        step(&mut s, vec![]);
    }
    let l = lease(&s, 0);
    assert!(matches!(l.closed, Some((_, CloseReason::Ended))), "{l:?}");
    assert_eq!(l.escrow.refunded, 1_000 - 35);
}

#[test]
fn an_exhausted_lease_stops_being_served_at_the_block_its_funds_run_out() {
    let mut s = market_state();
    // 250 at 100 per block pays two blocks (and leaves 50).
    let start = leased(&mut s, 100, 1_000, 250);
    // Without any touch: served in blocks start+1 and start+2 (heads start, start+1), not after.
    let l = lease(&s, 0);
    assert_eq!(l.paid_until(500), start + 2);
    assert!(l.serves_at(start, 500));
    assert!(l.serves_at(start + 1, 500));
    assert!(!l.serves_at(start + 2, 500));
    empty_blocks(&mut s, 1);
    // A top-up while served extends it.
    ok(
        &mut s,
        TENANT,
        ComputeCall::DepositLease {
            lease: 0,
            amount: 100,
        },
    );
    let l = lease(&s, 0);
    assert_eq!(l.paid_until(500), start + 3);
    assert_eq!(l.escrow.paid, 200, "the top-up touched the lease");
    empty_blocks(&mut s, 3);
    let l = lease(&s, 0);
    assert!(!l.serves_at(s.head.height, 500));
    refused(
        &mut s,
        TENANT,
        ComputeCall::DepositLease {
            lease: 0,
            amount: 100,
        },
        "not served",
    );
    // However late the touch, it pays exactly the funded blocks.
    empty_blocks(&mut s, 2);
    ok(&mut s, P1, ComputeCall::WithdrawLease { lease: 0 });
    let l = lease(&s, 0);
    assert_eq!(l.escrow.paid, 300);
    assert_eq!(l.escrow.balance + l.escrow.refunded, 50);
    while !s.head.height.is_multiple_of(EPOCH) {
        step(&mut s, vec![]);
    }
    let l = lease(&s, 0);
    assert!(
        matches!(l.closed, Some((_, CloseReason::Exhausted))),
        "{l:?}"
    );
    assert_eq!(l.escrow.refunded, 50);
}

fn sealed_order(auctioneer: u32, bid_window: u64) -> ComputeCall {
    ComputeCall::CreateOrder(OrderTerms {
        spec: OrderSpec {
            capacity_rps: 1,
            attributes: BTreeMap::new(),
            auditors: vec![],
        },
        asset: usd(),
        settlement: Settlement::Pay,
        max_price: 1_000,
        duration: 10,
        deposit: 10_000,
        min_collateral: 0,
        bid_window,
        sealed: Some(Sealed {
            auctioneer: addr(auctioneer),
            key_hash: B256::repeat_byte(7),
            tick: 10,
        }),
    })
}

fn sealed_bid(order: u64, byte: u8) -> ComputeCall {
    ComputeCall::PlaceSealedBid {
        order,
        ciphertext_hash: B256::repeat_byte(byte),
        collateral: 5,
    }
}

#[test]
fn a_sealed_order_is_resolved_by_its_auctioneer_only() {
    let mut s = market_state();
    register(&mut s, P1, 10);
    register(&mut s, P2, 10);
    ok(&mut s, TENANT, sealed_order(4, 4));
    refused(&mut s, P1, bid(0, 10), "is sealed");
    assert_eq!(
        run(&mut s, vec![(P1, sealed_bid(0, 1)), (P2, sealed_bid(0, 2))]),
        ["ok", "ok"]
    );
    // Sealed bids carry no price, on the ledger or in their events.
    assert!(s.compute.bids.values().all(|b| b.price.is_none()));
    let resolve = |winner, price_ticks| ComputeCall::ResolveAuction {
        order: 0,
        winner,
        price_ticks,
    };
    refused(&mut s, 4, resolve(1, 30), "takes bids until");
    let deadline = s.compute.orders[&0].bid_deadline;
    while s.head.height <= deadline {
        step(&mut s, vec![]);
    }
    refused(&mut s, TENANT, resolve(1, 30), "only the auctioneer");
    refused(&mut s, 4, resolve(1, 101), "above the max price 1000");
    refused(&mut s, 4, resolve(5, 30), "has no bid 5");
    refused(
        &mut s,
        TENANT,
        ComputeCall::AcceptBid {
            order: 0,
            provider: addr(P1),
        },
        "not taking acceptances",
    );
    ok(&mut s, 4, resolve(1, 30));
    let l = lease(&s, 0);
    assert_eq!((l.provider, l.rate), (addr(P2), 300));
    // Only the winner's price is known; the loser's stays unknown.
    assert_eq!(s.compute.bids[&(0, addr(P2))].price, Some(300));
    assert_eq!(s.compute.bids[&(0, addr(P1))].price, None);
    assert_eq!(s.compute.bids[&(0, addr(P1))].state, BidState::Lost);
}

#[test]
fn an_unresolved_sealed_order_lapses_after_the_timeout() {
    let mut s = market_state();
    register(&mut s, P1, 10);
    let before = usd_of(&s, TENANT);
    ok(&mut s, TENANT, sealed_order(4, 2));
    ok(&mut s, P1, sealed_bid(0, 1));
    let deadline = s.compute.orders[&0].bid_deadline;
    // Open through deadline + resolve timeout, lapsed the block after.
    while s.head.height < deadline + RESOLVE_TIMEOUT {
        step(&mut s, vec![]);
        assert_eq!(s.compute.orders[&0].state, OrderState::Open);
    }
    step(&mut s, vec![]);
    check_books(&s);
    assert_eq!(s.compute.orders[&0].state, OrderState::Lapsed);
    assert_eq!(usd_of(&s, TENANT), before);
    refused(
        &mut s,
        4,
        ComputeCall::ResolveAuction {
            order: 0,
            winner: 0,
            price_ticks: 1,
        },
        "not open",
    );
}

#[test]
fn burn_leases_burn_at_the_oracle_price_and_the_emission_is_independent_of_the_burn() {
    let mut s = market_state();
    register(&mut s, P1, 10);
    register(&mut s, P2, 10);
    let burn_order = |deposit| {
        ComputeCall::CreateOrder(OrderTerms {
            spec: OrderSpec {
                capacity_rps: 1,
                attributes: BTreeMap::new(),
                auditors: vec![],
            },
            asset: NATIVE,
            settlement: Settlement::Burn,
            max_price: 20,
            duration: 1_000,
            deposit,
            min_collateral: 0,
            bid_window: 3,
            sealed: None,
        })
    };
    let mut in_usd = burn_order(1_000_000);
    if let ComputeCall::CreateOrder(OrderTerms { asset, .. }) = &mut in_usd {
        *asset = usd();
    }
    refused(&mut s, TENANT, in_usd, "native token");
    // A burn order pays 20 USD units a block = 10,000 native units at 500.
    assert_eq!(
        run(
            &mut s,
            vec![
                (TENANT, burn_order(1_000_000)),
                (TENANT, burn_order(1_000_000))
            ]
        ),
        ["ok", "ok"]
    );
    assert_eq!(
        run(
            &mut s,
            vec![
                (
                    P1,
                    ComputeCall::PlaceBid {
                        order: 0,
                        price: 20,
                        collateral: 0
                    }
                ),
                (
                    P2,
                    ComputeCall::PlaceBid {
                        order: 1,
                        price: 10,
                        collateral: 0
                    }
                ),
            ]
        ),
        ["ok", "ok"]
    );
    // The deadlines pass: each order's only bid wins.
    while s.compute.leases.len() < 2 {
        step(&mut s, vec![]);
    }
    let start = s.head.height;
    assert_eq!((lease(&s, 0).start, lease(&s, 1).start), (start, start));
    // Run to the next epoch boundary and check the mint.
    let supply0 = s.native_supply;
    let p1_0 = s.balance(&addr(P1), &NATIVE);
    let p2_0 = s.balance(&addr(P2), &NATIVE);
    let minted0 = s.compute.meta.as_ref().unwrap().minted;
    while !s.head.height.is_multiple_of(EPOCH) {
        step(&mut s, vec![]);
        check_books(&s);
    }
    let epoch_end = s.head.height;
    let served = epoch_end - start;
    let meta = s.compute.meta.clone().unwrap();
    let minted = meta.minted - minted0;
    // Work: 20 and 10 USD units per block; availability: equal blocks.
    let expect = bme::distribute(
        1_000_000,
        8_000,
        &BTreeMap::from([
            (
                addr(P1),
                bme::Contribution {
                    work_usd: 20 * u128::from(served),
                    blocks: served,
                },
            ),
            (
                addr(P2),
                bme::Contribution {
                    work_usd: 10 * u128::from(served),
                    blocks: served,
                },
            ),
        ]),
    );
    assert_eq!(s.balance(&addr(P1), &NATIVE) - p1_0, expect[&addr(P1)]);
    assert_eq!(s.balance(&addr(P2), &NATIVE) - p2_0, expect[&addr(P2)]);
    assert_eq!(minted, expect.values().sum::<u128>());
    // Nothing is burned until a touch; the mint did not wait for it.
    assert_eq!(meta.burned, 0);
    assert_eq!(s.native_supply, supply0 + minted);

    // The tenant closes lease 0: its blocks burn at the oracle price.
    let supply1 = s.native_supply;
    ok(
        &mut s,
        TENANT,
        ComputeCall::CloseLease {
            lease: 0,
            reason: String::new(),
        },
    );
    let blocks = s.head.height - start;
    let burned = 20 * 500 * u128::from(blocks);
    assert_eq!(lease(&s, 0).escrow.paid, burned);
    assert_eq!(s.compute.meta.as_ref().unwrap().burned, burned);
    assert_eq!(s.native_supply, supply1 - burned - u128::from(MIN_FEE));

    // The oracle moves the price: lease 1 first pays its blocks so far at the old price.
    refused(
        &mut s,
        P1,
        ComputeCall::SetOraclePrice { price: 1 },
        "oracle",
    );
    ok(
        &mut s,
        TENANT,
        ComputeCall::SetOraclePrice {
            price: 1_000_000_000,
        },
    );
    let l = lease(&s, 1);
    assert_eq!(l.escrow.paid, 10 * 500 * u128::from(s.head.height - start));
    let paid = l.escrow.paid;
    step(&mut s, vec![]);
    ok(&mut s, P2, ComputeCall::WithdrawLease { lease: 1 });
    assert_eq!(lease(&s, 1).escrow.paid, paid + 2 * 10 * 1_000);
}

#[test]
fn malformed_orders_are_refused() {
    let mut s = market_state();
    let make = |f: &dyn Fn(&mut ComputeCall)| {
        let mut c = order(100, 10, 1_000, 5);
        f(&mut c);
        c
    };
    macro_rules! set {
        ($field:ident, $body:expr) => {
            make(&|c| {
                if let ComputeCall::CreateOrder(OrderTerms { $field, .. }) = c {
                    #[allow(clippy::redundant_closure_call)]
                    ($body)($field);
                }
            })
        };
    }
    let sealed_with = |auctioneer, key_hash| {
        set!(sealed, |x: &mut Option<Sealed>| {
            *x = Some(Sealed {
                auctioneer,
                key_hash,
                tick: 1,
            })
        })
    };
    let cases: Vec<(ComputeCall, &str)> = vec![
        (
            set!(spec, |x: &mut OrderSpec| x.capacity_rps = 0),
            "capacity",
        ),
        (set!(max_price, |x: &mut u128| *x = 0), "max price"),
        (set!(duration, |x: &mut u64| *x = 0), "duration"),
        (set!(bid_window, |x: &mut u64| *x = 0), "bid window"),
        (
            set!(deposit, |x: &mut u128| *x = 99),
            "does not pay one block",
        ),
        (
            set!(asset, |x: &mut Address| *x = Address::repeat_byte(9)),
            "unknown_asset",
        ),
        (
            set!(deposit, |x: &mut u128| *x = 10u128.pow(30)),
            "insufficient_funds",
        ),
        (sealed_with(addr(4), B256::ZERO), "key hash"),
        (
            set!(spec, |x: &mut OrderSpec| {
                x.attributes = (0..40).map(|i| (format!("k{i}"), "v".into())).collect()
            }),
            "the limit is 32",
        ),
    ];
    for (call, needle) in cases {
        refused(&mut s, TENANT, call, needle);
    }
    assert!(s.compute.orders.is_empty());
    // A sealed order with a zero auctioneer cannot even be signed into a valid transaction.
    let tx = sign(
        &key(TENANT),
        s.nonce(&addr(TENANT)),
        Call::Compute(sealed_with(Address::ZERO, B256::repeat_byte(1))),
    );
    let err = tx.verify(CHAIN_ID, &s).unwrap_err();
    assert!(err.to_string().contains("non-zero auctioneer"), "{err}");
}

#[test]
fn compute_calls_round_trip_through_json() {
    let call = Call::Compute(sealed_order(4, 2));
    let json = serde_json::to_string(&call).unwrap();
    assert!(json.contains(r#""type":"compute""#) && json.contains(r#""op":"createOrder""#));
    let back: Call = serde_json::from_str(&json).unwrap();
    assert_eq!(back, call);
    // Unknown fields are refused.
    let bad = json.replace(r#""op":"createOrder""#, r#""op":"createOrder","x":1"#);
    assert!(serde_json::from_str::<Call>(&bad).is_err());
}

/// One step of a random market history.
#[derive(Debug, Clone)]
enum Op {
    Order {
        deposit: u128,
        price: u128,
        window: u64,
        duration: u64,
    },
    Bid {
        who: u32,
        order: u64,
        price: u128,
    },
    Accept {
        order: u64,
        who: u32,
    },
    Cancel {
        order: u64,
    },
    Deposit {
        lease: u64,
        amount: u128,
    },
    Withdraw {
        lease: u64,
        who: u32,
    },
    Close {
        lease: u64,
        who: u32,
    },
    Wait {
        blocks: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u128..5_000, 1u128..200, 1u64..4, 1u64..30).prop_map(
            |(deposit, price, window, duration)| {
                Op::Order {
                    deposit,
                    price,
                    window,
                    duration,
                }
            }
        ),
        (1u32..4, 0u64..6, 1u128..200).prop_map(|(who, order, price)| Op::Bid {
            who,
            order,
            price
        }),
        (0u64..6, 1u32..4).prop_map(|(order, who)| Op::Accept { order, who }),
        (0u64..6).prop_map(|order| Op::Cancel { order }),
        (0u64..6, 1u128..2_000).prop_map(|(lease, amount)| Op::Deposit { lease, amount }),
        (0u64..6, 0u32..4).prop_map(|(lease, who)| Op::Withdraw { lease, who }),
        (0u64..6, 0u32..4).prop_map(|(lease, who)| Op::Close { lease, who }),
        (1u64..12).prop_map(|blocks| Op::Wait { blocks }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the calls, every escrow balances (deposits = paid + refunded + held), the
    /// escrow account holds exactly what is owed back, and every supply is the sum of its
    /// balances (checked after each block by `run` and `empty_blocks`).
    #[test]
    fn escrow_conserves_under_random_histories(ops in proptest::collection::vec(op(), 1..40)) {
        let mut s = market_state();
        for who in 1..4 {
            register(&mut s, who, 10);
        }
        let usd_total = s.assets[&usd()].supply;
        for op in ops {
            let (who, call) = match op {
                Op::Order { deposit, price, window, duration } => (
                    TENANT,
                    order(price, duration, deposit.max(price), window),
                ),
                Op::Bid { who, order, price } => (who, bid(order, price)),
                Op::Accept { order, who } => (
                    TENANT,
                    ComputeCall::AcceptBid { order, provider: addr(who) },
                ),
                Op::Cancel { order } => (TENANT, ComputeCall::CancelOrder { order }),
                Op::Deposit { lease, amount } => {
                    (TENANT, ComputeCall::DepositLease { lease, amount })
                }
                Op::Withdraw { lease, who } => (who, ComputeCall::WithdrawLease { lease }),
                Op::Close { lease, who } => (
                    who,
                    ComputeCall::CloseLease { lease, reason: String::new() },
                ),
                Op::Wait { blocks } => {
                    empty_blocks(&mut s, blocks);
                    continue;
                }
            };
            run(&mut s, vec![(who, call)]);
        }
        // Every order is decided after its window; then close what is still open (the epoch
        // pass may close a lease first) and check that every deposit came back or was paid.
        empty_blocks(&mut s, 5);
        prop_assert!(s.compute.orders.values().all(|o| o.state != OrderState::Open));
        let open: Vec<Lease> = s.compute.leases.values().filter(|l| l.closed.is_none()).cloned().collect();
        for l in open {
            let r = run(&mut s, vec![(TENANT, ComputeCall::CloseLease { lease: l.id, reason: String::new() })]);
            prop_assert!(r[0] == "ok" || r[0].contains("already closed"), "{:?}", r);
        }
        let escrow = s.account(&escrow_account());
        prop_assert!(escrow.balances.is_empty(), "escrow left {:?}", escrow.balances);
        let paid: u128 = s.compute.leases.values().map(|l| l.escrow.paid).sum();
        let providers: u128 = (1..4).map(|i| usd_of(&s, i)).sum::<u128>() - 3 * 1_000_000_000;
        prop_assert_eq!(paid, providers);
        prop_assert_eq!(s.assets[&usd()].supply, usd_total);
    }
}
