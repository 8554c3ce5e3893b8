//! Subnets through transactions: creation and lock cost, registration by burn and its price,
//! replacement order, staking as pool swaps, `set_weights` rules, and conservation of the
//! native token over random operation sequences.

use ledger::{
    Address, B256, Call, Event, State, Status, apply_block,
    subnet::{MIN_LOCK_COST, Neuron, UNIT, pool::PRICE_SCALE, reveal::commit_hash},
};
use proptest::prelude::*;

use crate::common::*;

fn create(max: u128) -> Call {
    Call::CreateSubnet { max_lock_cost: max }
}

fn register(netuid: u16) -> Call {
    Call::RegisterNeuron {
        netuid,
        max_burn: u128::MAX,
    }
}

fn ok(b: &ledger::BuiltBlock) {
    assert!(b.excluded.is_empty(), "{:?}", b.excluded);
    for r in &b.receipts {
        assert_eq!(r.status, Status::Success, "{r:?}");
    }
}

fn failed_code(b: &ledger::BuiltBlock, i: usize) -> String {
    match &b.receipts[i].status {
        Status::Failed { code, .. } => code.clone(),
        s => panic!("receipt {i} succeeded: {s:?}"),
    }
}

/// A chain with one subnet owned by key 0 and keys 1..n registered, in order.
fn with_subnet(n: u32) -> State {
    let mut s = state(n + 2);
    ok(&step(&mut s, vec![sign(&key(0), 0, create(u128::MAX))]));
    for i in 1..n {
        ok(&step(&mut s, vec![sign(&key(i), 0, register(1))]));
    }
    s
}

/// Puts `alpha` of self-stake behind `account` (a test fixture, outside transactions).
fn put_stake(sn: &mut ledger::subnet::Subnet, account: Address, alpha: u128) {
    sn.stakes.entry(account).or_default().insert(account, alpha);
    sn.alpha_out += alpha;
}

fn empty_blocks(s: &mut State, n: u64) {
    for _ in 0..n {
        step(s, vec![]);
    }
}

#[test]
fn create_subnet_locks_into_the_pool_and_registers_the_owner() {
    let mut s = state(2);
    let before = s.balance(&addr(0), &ledger::NATIVE);
    let b = step(&mut s, vec![sign(&key(0), 0, create(u128::MAX))]);
    ok(&b);
    let sn = &s.subnets[&1];
    assert_eq!(sn.locked, MIN_LOCK_COST);
    assert_eq!(s.markets[&1].pool.tao, MIN_LOCK_COST);
    assert_eq!(s.markets[&1].pool.alpha, MIN_LOCK_COST);
    assert_eq!(s.markets[&1].pool.price(), PRICE_SCALE);
    assert_eq!(sn.owner, addr(0));
    assert_eq!(sn.uid_of(&addr(0)), Some(0));
    assert_eq!(
        s.balance(&addr(0), &ledger::NATIVE),
        before - MIN_LOCK_COST - u128::from(MIN_FEE)
    );
    assert!(matches!(
        b.receipts[0].events[0],
        Event::SubnetCreated { netuid: 1, .. }
    ));
    assert_conserved(&s);

    // The next lock is twice the last, minus the linear decay; a lower cap refuses it.
    let cost = s.network.lock_cost(s.head.height + 1);
    assert!(cost > MIN_LOCK_COST && cost <= 2 * MIN_LOCK_COST);
    let b = step(&mut s, vec![sign(&key(1), 0, create(cost - 1))]);
    assert_eq!(failed_code(&b, 0), "price_limit");
    let b = step(&mut s, vec![sign(&key(1), 1, create(cost))]);
    ok(&b);
    // One block later the decay took a little off.
    assert!(s.subnets[&2].locked <= cost && s.subnets[&2].locked > MIN_LOCK_COST);
    assert_conserved(&s);
}

#[test]
fn registration_burns_at_a_rising_then_decaying_price() {
    let mut s = with_subnet(1);
    let sn = &s.subnets[&1];
    assert_eq!(sn.burn_at(sn.burn_block), UNIT);
    // One block of decay at a 360-block half-life.
    let p0 = sn.burn_at(s.head.height + 1);
    assert!(p0 < UNIT && p0 > UNIT * 998 / 1000, "{p0}");
    let bal = s.balance(&addr(1), &ledger::NATIVE);
    let before = s.markets[&1].clone();
    let b = step(&mut s, vec![sign(&key(1), 0, register(1))]);
    ok(&b);
    assert_eq!(
        s.balance(&addr(1), &ledger::NATIVE),
        bal - p0 - u128::from(MIN_FEE)
    );
    let sn = &s.subnets[&1];
    let m = &s.markets[&1];
    // The block's emission entered the pool first, then the burn.
    assert!(m.last_tao_emission > 0);
    assert_eq!(m.pool.tao, before.pool.tao + m.last_tao_emission + p0);
    let injected = m.since_epoch.alpha_in - before.since_epoch.alpha_in;
    assert!(
        m.pool.alpha < before.pool.alpha + injected,
        "the alpha bought is destroyed"
    );
    assert_eq!(
        m.block_flow,
        i128::try_from(p0).unwrap(),
        "the burn is inflow"
    );
    assert_eq!(sn.alpha_out, 0);
    assert_eq!(sn.uid_of(&addr(1)), Some(1));
    // ×1.26 per registration.
    let p1 = sn.burn_at(s.head.height);
    assert_eq!(p1, p0 * 126 / 100);
    // Refused twice, and under a lower cap.
    let b = step(
        &mut s,
        vec![
            sign(&key(1), 1, register(1)),
            sign(
                &key(2),
                0,
                Call::RegisterNeuron {
                    netuid: 1,
                    max_burn: p1 * 99 / 100,
                },
            ),
        ],
    );
    assert_eq!(failed_code(&b, 0), "already_registered");
    assert_eq!(failed_code(&b, 1), "price_limit");
    // Decays with a half-life of 360 blocks (to within 0.1 %).
    let h = s.subnets[&1].burn_block;
    let half = s.subnets[&1].burn_at(h + 360);
    assert!(half.abs_diff(p1 / 2) * 1000 < p1, "{half} vs {}", p1 / 2);
    assert_eq!(s.subnets[&1].burn_at(h + 1_000_000), 500_000, "min burn");
    assert_conserved(&s);
}

#[test]
fn replacement_takes_lowest_emission_then_earliest_then_lowest_uid() {
    let mut s = with_subnet(4); // owner uid 0, keys 1..3 at uids 1..3
    let sn = s.subnets.get_mut(&1).unwrap();
    sn.hyperparams.max_uids = 4;
    sn.hyperparams.immunity_period = 10;
    let reg = |n: &Neuron| n.registered_at;
    let regs: Vec<u64> = sn.neurons.iter().map(reg).collect();
    // All immune: the lowest emission among immune non-owners still goes first.
    sn.neurons[1].emission = 5;
    sn.neurons[2].emission = 0;
    sn.neurons[3].emission = 0;
    assert_eq!(
        sn.uid_to_prune(regs[3] + 1),
        Some(2),
        "earliest registration"
    );
    sn.neurons[3].registered_at = regs[2];
    assert_eq!(sn.uid_to_prune(regs[3] + 1), Some(2), "then lowest uid");
    sn.neurons[3].registered_at = regs[3];
    // Non-immune before immune, whatever the emission.
    sn.neurons[1].registered_at = 0;
    sn.neurons[1].emission = 1_000;
    assert_eq!(sn.uid_to_prune(10), Some(1));
    // The owner is never pruned, even with zero emission.
    sn.neurons[0].emission = 0;
    assert_ne!(sn.uid_to_prune(u64::MAX), Some(0));

    // Through a transaction: key 4 replaces uid 1, and weights pointing to it are cleared.
    sn.neurons[0].weights = vec![(1, 65_535), (2, 100)];
    sn.hyperparams.immunity_period = 3;
    let b = step(&mut s, vec![sign(&key(4), 0, register(1))]);
    ok(&b);
    let sn = &s.subnets[&1];
    assert_eq!(sn.neurons.len(), 4);
    assert_eq!(sn.uid_of(&addr(4)), Some(1));
    assert_eq!(sn.uid_of(&addr(1)), None);
    assert_eq!(sn.neurons[0].weights, vec![(2, 100)]);
    assert!(matches!(
        &b.receipts[0].events[0],
        Event::NeuronRegistered { uid: 1, replaced: Some(a), .. } if *a == addr(1)
    ));
}

#[test]
fn staking_swaps_through_the_pool() {
    let mut s = with_subnet(2);
    let k0 = s.markets[&1].pool.k();
    let bal = s.balance(&addr(1), &ledger::NATIVE);
    let add = Call::AddStake {
        netuid: 1,
        hotkey: addr(1),
        amount: 10 * UNIT,
        limit_price: 0,
    };
    let b = step(&mut s, vec![sign(&key(1), 1, add)]);
    ok(&b);
    let Event::StakeAdded {
        alpha,
        slippage_ppm,
        ..
    } = b.receipts[0].events[0]
    else {
        panic!()
    };
    assert!(slippage_ppm > 0);
    assert_eq!(
        s.balance(&addr(1), &ledger::NATIVE),
        bal - 10 * UNIT - u128::from(MIN_FEE)
    );
    let sn = &s.subnets[&1];
    assert_eq!(sn.stake(&addr(1)), alpha);
    assert!(s.markets[&1].pool.k() >= k0);
    assert!(s.markets[&1].pool.price() > PRICE_SCALE);
    assert_conserved(&s);

    // A limit below the price the swap would reach fails and changes nothing but the fee.
    let price = s.markets[&1].pool.price();
    let before = s.subnets[&1].clone();
    let b = step(
        &mut s,
        vec![sign(
            &key(1),
            2,
            Call::AddStake {
                netuid: 1,
                hotkey: addr(1),
                amount: UNIT,
                limit_price: price,
            },
        )],
    );
    assert_eq!(failed_code(&b, 0), "price_limit");
    assert_eq!(s.subnets[&1], before);

    // Unstake half, then more than is left.
    let k1 = s.markets[&1].pool.k();
    let rm = |a| Call::RemoveStake {
        netuid: 1,
        hotkey: addr(1),
        alpha: a,
        limit_price: 0,
    };
    let b = step(&mut s, vec![sign(&key(1), 3, rm(alpha / 2))]);
    ok(&b);
    assert!(s.markets[&1].pool.k() >= k1);
    assert_eq!(s.subnets[&1].stake(&addr(1)), alpha - alpha / 2);
    let b = step(&mut s, vec![sign(&key(1), 4, rm(alpha))]);
    assert_eq!(failed_code(&b, 0), "insufficient_stake");
    let b = step(&mut s, vec![sign(&key(1), 5, rm(alpha - alpha / 2))]);
    ok(&b);
    assert_eq!(s.subnets[&1].stake(&addr(1)), 0);
    assert!(s.subnets[&1].stakes.is_empty());
    // Nothing is created: the pool kept the fees (the emission injected between the blocks
    // deepened it, which a round trip may profit from, as on subtensor).
    assert_conserved(&s);
}

fn weights(uids: Vec<u16>, values: Vec<u16>) -> Call {
    Call::SetWeights {
        netuid: 1,
        uids,
        values,
        version_key: 0,
    }
}

#[test]
fn set_weights_follows_subtensor_rules() {
    let mut s = with_subnet(4);
    // Registration sets last_update: the rate limit (100 blocks) applies at once.
    let b = step(&mut s, vec![sign(&key(1), 1, weights(vec![1], vec![1]))]);
    assert_eq!(failed_code(&b, 0), "rate_limited");
    empty_blocks(&mut s, 100);
    let cases = [
        (weights(vec![2, 3], vec![1]), "invalid_weights"), // lengths
        (weights(vec![2, 2], vec![1, 1]), "invalid_weights"), // duplicate
        (weights(vec![9], vec![1]), "invalid_weights"),    // uid range
        (weights(vec![2, 3], vec![1, 2]), "invalid_weights"), // no permit
    ];
    for (i, (call, code)) in cases.into_iter().enumerate() {
        let b = step(&mut s, vec![sign(&key(1), 2 + i as u64, call)]);
        assert_eq!(failed_code(&b, 0), code);
    }
    // A self-weight needs no permit; it is stored max-upscaled.
    let b = step(&mut s, vec![sign(&key(1), 6, weights(vec![1], vec![7]))]);
    ok(&b);
    assert_eq!(s.subnets[&1].neurons[1].weights, vec![(1, 65_535)]);
    assert_eq!(s.subnets[&1].neurons[1].last_update, s.head.height);
    // The owner needs no permit; values are max-upscaled.
    let b = step(
        &mut s,
        vec![sign(&key(0), 1, weights(vec![2, 3], vec![1, 2]))],
    );
    ok(&b);
    assert_eq!(
        s.subnets[&1].neurons[0].weights,
        vec![(2, 32_768), (3, 65_535)]
    );
    // Version key.
    s.subnets
        .get_mut(&1)
        .unwrap()
        .hyperparams
        .weights_version_key = 5;
    s.subnets.get_mut(&1).unwrap().neurons[2].validator_permit = true;
    empty_blocks(&mut s, 100);
    let mut call = weights(vec![1, 3], vec![1, 1]);
    let b = step(&mut s, vec![sign(&key(2), 1, call.clone())]);
    assert_eq!(failed_code(&b, 0), "invalid_weights");
    if let Call::SetWeights { version_key, .. } = &mut call {
        *version_key = 5;
    }
    ok(&step(&mut s, vec![sign(&key(2), 2, call)]));
    // Min allowed weights.
    s.subnets
        .get_mut(&1)
        .unwrap()
        .hyperparams
        .min_allowed_weights = 3;
    empty_blocks(&mut s, 100);
    let b = step(
        &mut s,
        vec![sign(&key(0), 2, weights(vec![2, 3], vec![1, 2]))],
    );
    assert_eq!(failed_code(&b, 0), "invalid_weights");
    // Unknown subnet.
    let b = step(
        &mut s,
        vec![sign(
            &key(0),
            3,
            Call::SetWeights {
                netuid: 7,
                uids: vec![],
                values: vec![],
                version_key: 0,
            },
        )],
    );
    assert_eq!(failed_code(&b, 0), "unknown_subnet");
}

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    Register(u8, u16),
    Add(u8, u16, u8, u64),
    Remove(u8, u16, u8, u8),
    Weights(u8, u16, Vec<u16>),
    Hyper(u8, u16, bool),
    Empty(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..4).prop_map(Op::Create),
        (0u8..4, 1u16..3).prop_map(|(k, n)| Op::Register(k, n)),
        (0u8..4, 1u16..3, 0u8..4, 1u64..200_000_000_000)
            .prop_map(|(k, n, h, a)| Op::Add(k, n, h, a)),
        (0u8..4, 1u16..3, 0u8..4, 1u8..=100).prop_map(|(k, n, h, p)| Op::Remove(k, n, h, p)),
        (0u8..4, 1u16..3, prop::collection::vec(0u16..1000, 0..4))
            .prop_map(|(k, n, v)| Op::Weights(k, n, v)),
        (0u8..4, 1u16..3, any::<bool>()).prop_map(|(k, n, t)| Op::Hyper(k, n, t)),
        (1u8..120).prop_map(Op::Empty),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Native supply = balances + pool reserves after every block, and = genesis + emission
    /// minted − fees burned; alpha out = Σ stakes (own and nominated); k never decreases
    /// outside registrations (which add native and remove alpha: k may drop there, but price
    /// only rises); replaying each block gives the same diff.
    #[test]
    fn conservation_over_random_operations(ops in prop::collection::vec(op(), 1..40)) {
        let mut s = state(4);
        let mut nonces = [0u64; 4];
        let mut expected = s.native_supply;
        let mut track = |b: &ledger::BuiltBlock, supply: u128| {
            let minted: u128 = b.diff.markets.values().map(|m| m.last_tao_emission).sum();
            let fees: u128 = b.receipts.iter().map(|r| u128::from(r.fee_burned)).sum();
            expected = expected + minted - fees;
            assert_eq!(supply, expected, "supply = genesis + minted - burned");
        };
        for op in ops {
            let mut call = |k: u8, c: Call| {
                let t = sign(&key(u32::from(k)), nonces[usize::from(k)], c);
                nonces[usize::from(k)] += 1;
                t
            };
            let tx = match op {
                Op::Create(k) => call(k, create(u128::MAX)),
                Op::Register(k, n) => call(k, register(n)),
                Op::Add(k, n, h, a) => call(k, Call::AddStake { netuid: n, hotkey: addr(u32::from(h)), amount: u128::from(a), limit_price: 0 }),
                Op::Remove(k, n, h, pct) => {
                    let (hk, ck) = (addr(u32::from(h)), addr(u32::from(k)));
                    let have = s.subnets.get(&n).map_or(1, |sn| sn.stake_of(&hk, &ck));
                    call(k, Call::RemoveStake { netuid: n, hotkey: hk, alpha: (have * u128::from(pct) / 100).max(1), limit_price: 0 })
                }
                Op::Weights(k, n, v) => call(k, Call::SetWeights { netuid: n, uids: (0..v.len() as u16).collect(), values: v, version_key: 0 }),
                // Short tempos and no rate limit make epochs (and their emission) frequent.
                Op::Hyper(k, n, tempo) => {
                    let (name, value) = if tempo { ("tempo", 10) } else { ("weightsRateLimit", 0) };
                    call(k, Call::SetHyperparameter { netuid: n, name: name.into(), value })
                }
                Op::Empty(n) => {
                    for _ in 0..n {
                        let b = step(&mut s, vec![]);
                        track(&b, s.native_supply);
                    }
                    assert_conserved(&s);
                    continue;
                }
            };
            let pools: Vec<_> = s.markets.iter().map(|(n, m)| (*n, m.pool)).collect();
            let before = s.clone();
            let b = step(&mut s, vec![tx]);
            prop_assert!(b.excluded.is_empty());
            let (diff, receipts) = apply_block(&before, &b.block).unwrap();
            prop_assert_eq!(&diff, &b.diff);
            prop_assert_eq!(receipts, b.receipts.clone());
            track(&b, s.native_supply);
            assert_conserved(&s);
            let registered = b.receipts[0].events.iter().any(|e| matches!(e, Event::NeuronRegistered { burn, .. } if *burn > 0));
            if !registered {
                for (n, p) in pools {
                    prop_assert!(s.markets[&n].pool.k() >= p.k());
                }
            }
        }
    }
}

#[test]
fn subnet_addresses_are_distinct_accounts() {
    // One account is one neuron: a second subnet gives the same account another uid.
    let mut s = with_subnet(2);
    ok(&step(&mut s, vec![sign(&key(1), 1, create(u128::MAX))]));
    ok(&step(&mut s, vec![sign(&key(0), 1, register(2))]));
    assert_eq!(s.subnets[&2].uid_of(&addr(0)), Some(1));
    assert_eq!(s.subnets[&2].uid_of(&Address::ZERO), None);
}

#[test]
fn epochs_pay_incentive_and_dividends_as_the_pure_crate_computes() {
    // Owner uid 0, validator key 1 (uid 1), miners keys 2 and 3 (uids 2, 3).
    let mut s = with_subnet(4);
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        sn.hyperparams.tempo = 10;
        sn.hyperparams.weights_rate_limit = 0;
    }
    let add = Call::AddStake {
        netuid: 1,
        hotkey: addr(1),
        amount: 50 * UNIT,
        limit_price: 0,
    };
    ok(&step(&mut s, vec![sign(&key(1), 1, add)]));
    // Run to the first epoch: (block + netuid + 1) mod (tempo + 1) == 0.
    while !s.subnets[&1].epoch_due(s.head.height + 1) {
        step(&mut s, vec![]);
    }
    let before = s.subnets[&1].clone();
    step(&mut s, vec![]);
    let sn = &s.subnets[&1];
    assert_eq!(sn.last_epoch, s.head.height);
    assert!(sn.neurons[1].validator_permit, "top stake gets a permit");
    // The owner's 18 % of 10-ish blocks of emission.
    let owner_paid = sn.stake(&addr(0));
    assert!(owner_paid > 0);
    assert!(sn.alpha_out > before.alpha_out);
    assert_conserved(&s);

    // The validator weights miner 2 above miner 3; the next epoch follows the crate.
    let w = Call::SetWeights {
        netuid: 1,
        uids: vec![2, 3],
        values: vec![60_000, 20_000],
        version_key: 0,
    };
    ok(&step(&mut s, vec![sign(&key(1), 2, w)]));
    while !s.subnets[&1].epoch_due(s.head.height + 1) {
        step(&mut s, vec![]);
    }
    let before = s.subnets[&1].clone();
    let market = s.markets[&1].clone();
    let block = s.head.height + 1;
    // The epoch block emits once more before the epoch splits what was set aside.
    let last = ledger::subnet::epoch::block_emission(before.alpha_issuance(&market));
    let last_owner = last * 11_796 / 65_535;
    let emitted = market.pending_neurons + last - last_owner;
    let owner = market.pending_owner + last_owner;
    let expected = yuma::epoch(
        &before.yuma_params(),
        &yuma::EpochInput {
            state: before.yuma_state(block),
            emission: u64::try_from(emitted).unwrap(),
        },
    )
    .unwrap();
    step(&mut s, vec![]);
    let sn = &s.subnets[&1];
    for (uid, n) in sn.neurons.iter().enumerate() {
        assert_eq!(n.bonds, expected.bonds[uid], "bonds of {uid}");
        assert_eq!(n.dividends, expected.dividends[uid], "dividends of {uid}");
        assert_eq!(n.incentive, expected.incentive[uid], "incentive of {uid}");
        assert_eq!(n.emission, u128::from(expected.combined_emission[uid]));
    }
    assert!(sn.neurons[2].incentive > sn.neurons[3].incentive);
    assert!(sn.neurons[3].incentive > 0);
    assert_eq!(sn.neurons[1].dividends, 65_535);
    assert!(sn.stake(&addr(2)) > 0 && sn.stake(&addr(2)) > sn.stake(&addr(3)));
    let paid = sn.alpha_out - before.alpha_out - owner;
    assert!(
        paid <= emitted && paid + 4 >= emitted,
        "{paid} of {emitted}"
    );
    assert_eq!(s.markets[&1].pending_neurons, 0);
    assert_eq!(s.markets[&1].pending_owner, 0);
    let record = s.epochs[&1].back().unwrap();
    assert_eq!(record.block, block);
    assert_eq!(record.owner_cut, owner);
    assert_eq!(record.incentive + record.dividends, paid);
    assert_conserved(&s);
}

fn set(name: &str, value: u64) -> Call {
    Call::SetHyperparameter {
        netuid: 1,
        name: name.into(),
        value,
    }
}

#[test]
fn owner_sets_hyperparameters_within_bounds_and_rate_limits() {
    let mut s = with_subnet(2);
    // Only the owner; bounds; unknown names.
    let b = step(
        &mut s,
        vec![
            sign(&key(1), 1, set("tempo", 100)),
            sign(&key(0), 1, set("tempo", 9)),
            sign(&key(0), 2, set("colour", 1)),
        ],
    );
    for i in 0..3 {
        assert_eq!(failed_code(&b, i), "invalid_call");
    }
    ok(&step(&mut s, vec![sign(&key(0), 3, set("tempo", 100))]));
    assert_eq!(s.subnets[&1].hyperparams.tempo, 100);
    // The same parameter again within two tempos is rate limited; another one is not.
    let b = step(
        &mut s,
        vec![
            sign(&key(0), 4, set("tempo", 200)),
            sign(&key(0), 5, set("weightsRateLimit", 0)),
        ],
    );
    assert_eq!(failed_code(&b, 0), "rate_limited");
    assert_eq!(b.receipts[1].status, Status::Success);
    assert_eq!(s.subnets[&1].hyperparams.weights_rate_limit, 0);
    // Frozen in the 10 blocks before an epoch.
    while s.subnets[&1].blocks_until_next_epoch(s.head.height + 1) >= 10 {
        step(&mut s, vec![]);
    }
    let b = step(&mut s, vec![sign(&key(0), 6, set("kappa", 1))]);
    assert_eq!(failed_code(&b, 0), "rate_limited");
    assert_eq!(s.subnets[&1].hyperparams.kappa, 32_767);
    assert_conserved(&s);
}

#[test]
fn commit_reveal_refuses_a_wrong_salt_an_early_and_a_late_reveal() {
    let mut s = with_subnet(3);
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        sn.hyperparams.tempo = 10;
        sn.hyperparams.weights_rate_limit = 0;
        sn.hyperparams.commit_reveal = true;
        // Stake keeps the permit through the epochs on the way.
        sn.neurons[1].validator_permit = true;
        put_stake(sn, addr(1), UNIT);
    }
    let (uids, values) = (vec![2u16], vec![7u16]);
    let salt = B256::repeat_byte(5);
    let reveal = |salt: B256| Call::RevealWeights {
        netuid: 1,
        uids: uids.clone(),
        values: values.clone(),
        salt,
        version_key: 0,
    };
    // Plain weights are refused while commit-reveal is on.
    let b = step(
        &mut s,
        vec![sign(&key(1), 1, weights(uids.clone(), values.clone()))],
    );
    assert_eq!(failed_code(&b, 0), "invalid_weights");

    let hash = commit_hash(addr(1), 1, &uids, &values, salt, 0);
    let b = step(
        &mut s,
        vec![sign(
            &key(1),
            2,
            Call::CommitWeights {
                netuid: 1,
                commit_hash: hash,
            },
        )],
    );
    ok(&b);
    let commit_epoch = s.subnets[&1].epoch_index(s.head.height);
    assert_eq!(s.subnets[&1].neurons[1].last_update, s.head.height);
    // Too early (same epoch), unless the commit landed at the epoch's last block.
    if s.subnets[&1].epoch_index(s.head.height + 1) == commit_epoch {
        let b = step(&mut s, vec![sign(&key(1), 3, reveal(salt))]);
        assert_eq!(failed_code(&b, 0), "invalid_weights");
    } else {
        step(&mut s, vec![sign(&key(1), 3, weights(vec![], vec![]))]);
    }
    while s.subnets[&1].epoch_index(s.head.height + 1) == commit_epoch {
        step(&mut s, vec![]);
    }
    // A wrong salt matches no commit.
    let b = step(&mut s, vec![sign(&key(1), 4, reveal(B256::repeat_byte(6)))]);
    assert_eq!(failed_code(&b, 0), "invalid_weights");
    // Once in the next epoch: stored max-upscaled, the commit consumed.
    assert_eq!(
        s.subnets[&1].epoch_index(s.head.height + 1),
        commit_epoch + 1
    );
    ok(&step(&mut s, vec![sign(&key(1), 5, reveal(salt))]));
    assert_eq!(s.subnets[&1].neurons[1].weights, vec![(2, 65_535)]);
    assert!(s.subnets[&1].commits.is_empty());
    let b = step(&mut s, vec![sign(&key(1), 6, reveal(salt))]);
    assert_eq!(
        failed_code(&b, 0),
        "invalid_weights",
        "a commit reveals once"
    );

    // A commit revealed two epochs later has expired.
    let salt2 = B256::repeat_byte(9);
    let hash2 = commit_hash(addr(1), 1, &uids, &values, salt2, 0);
    ok(&step(
        &mut s,
        vec![sign(
            &key(1),
            7,
            Call::CommitWeights {
                netuid: 1,
                commit_hash: hash2,
            },
        )],
    ));
    let e = s.subnets[&1].epoch_index(s.head.height);
    while s.subnets[&1].epoch_index(s.head.height + 1) < e + 2 {
        step(&mut s, vec![]);
    }
    let b = step(&mut s, vec![sign(&key(1), 8, reveal(salt2))]);
    assert_eq!(failed_code(&b, 0), "invalid_weights");
    match &b.receipts[0].status {
        Status::Failed { message, .. } => assert!(message.contains("expired"), "{message}"),
        s => panic!("{s:?}"),
    }
    assert_conserved(&s);
}

/// Subtensor's `test_bonds` (golden vector `epoch_test_bonds_yuma2_n8`) through transactions:
/// the vector's uids 0..7 are uids 1..8 here (the owner holds uid 0 with no stake and no
/// weights), one epoch every other block (tempo 1) with each step's `set_weights` in the
/// block before it, emission switched off (alpha issuance at the cap) so that stake
/// stays at the vector's 1, 2, 3, 4. The stored bonds and dividends equal the vector's.
#[test]
fn test_bonds_vector_through_transactions() {
    use ledger::subnet::epoch::ISSUANCE_CAP;
    let all: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../yuma/tests/data/yuma_vectors.json"
    ))
    .unwrap();
    let v = all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "epoch_test_bonds_yuma2_n8")
        .unwrap();
    let reference = v["reference_full_outputs"].as_array().unwrap();

    let mut s = state(10);
    let mut txs = vec![sign(&key(0), 0, create(u128::MAX))];
    txs.extend((1..=8).map(|i| sign(&key(i), 0, register(1))));
    ok(&step(&mut s, txs));
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        assert!(sn.neurons.iter().all(|n| n.registered_at == 1));
        let hp = &mut sn.hyperparams;
        hp.tempo = 1;
        hp.yuma3 = false;
        hp.max_validators = 8;
        hp.weights_rate_limit = 0;
        hp.activity_cutoff = 5_000;
        for i in 1..=4u32 {
            put_stake(sn, addr(i), u128::from(i));
        }
        s.markets.get_mut(&1).unwrap().pool.alpha = ISSUANCE_CAP;
    }
    let w = |k: u32, nonce: u64, uids: Vec<u16>| {
        let values = if uids.len() == 4 {
            vec![16_383, 32_767, 49_149, 65_535]
        } else {
            vec![65_535]
        };
        sign(&key(k), nonce, weights(uids, values))
    };
    // The vector's actions before its epoch k (k = 1..=9), in our uids.
    let actions = |k: usize| -> Vec<ledger::tx::SignedTx> {
        match k {
            2 => (1..=4).map(|i| w(i, 1, vec![5, 6, 7, 8])).collect(),
            3 => vec![w(1, 2, vec![1])],
            4 => vec![w(2, 2, vec![2])],
            5 => vec![w(3, 2, vec![3])],
            6 => vec![w(3, 3, vec![8])],
            _ => vec![],
        }
    };
    for (k, r) in reference.iter().enumerate().map(|(i, r)| (i + 1, r)) {
        // Epoch k runs at block 2k; step k's weights go in the block before it.
        if k > 1 {
            ok(&step(&mut s, actions(k)));
        }
        assert!(s.subnets[&1].epoch_due(s.head.height + 1));
        step(&mut s, vec![]);
        let sn = &s.subnets[&1];
        assert_eq!(sn.last_epoch, s.head.height);
        for uid in 0..8 {
            let n = &sn.neurons[uid + 1];
            let bonds: Vec<(u16, u16)> = r["stored_bonds_u16"][uid]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_u64().unwrap() as u16 + 1,
                        p[1].as_u64().unwrap() as u16,
                    )
                })
                .collect();
            assert_eq!(n.bonds, bonds, "{} uid {uid}", r["label"]);
            assert_eq!(
                u64::from(n.dividends),
                r["stored_dividends_u16"][uid].as_u64().unwrap(),
                "{} uid {uid}",
                r["label"]
            );
        }
    }
}

/// Subtensor's Yuma3 scenarios `test_yuma_3_stable_miner` and `test_yuma_3_kappa_moves_*`
/// (golden vectors: Yuma3, liquid alpha, bonds penalty 0) through transactions, with the
/// same uid shift and schedule as [`test_bonds_vector_through_transactions`]: every epoch's
/// stored dividends are within the vectors' 10⁻³ of subtensor's.
#[test]
fn yuma3_vectors_through_transactions() {
    for id in [
        "epoch_test_yuma_3_stable_miner",
        "epoch_test_yuma_3_kappa_moves_first",
        "epoch_test_yuma_3_kappa_moves_second",
        "epoch_test_yuma_3_kappa_moves_last",
    ] {
        yuma3_vector(id);
    }
}

fn yuma3_vector(id: &str) {
    use ledger::subnet::epoch::ISSUANCE_CAP;
    let all: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../yuma/tests/data/yuma_vectors.json"
    ))
    .unwrap();
    let v = all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap();
    let setup = &v["setup"];
    let schedule = &v["weight_schedule"];
    let targets = v["asserted_dividends_per_epoch"].as_array().unwrap();

    let n = setup["n"].as_u64().unwrap() as u32;
    let mut s = state(n + 2);
    let mut txs = vec![sign(&key(0), 0, create(u128::MAX))];
    txs.extend((1..=n).map(|i| sign(&key(i), 0, register(1))));
    ok(&step(&mut s, txs));
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        let hp = &mut sn.hyperparams;
        hp.tempo = 1;
        hp.yuma3 = true;
        hp.liquid_alpha = setup["liquid_alpha"].as_bool().unwrap();
        hp.alpha_low = setup["alpha_low_u16"].as_u64().unwrap() as u16;
        hp.alpha_high = setup["alpha_high_u16"].as_u64().unwrap() as u16;
        hp.bonds_penalty = setup["bonds_penalty"].as_u64().unwrap() as u16;
        hp.bonds_moving_average = setup["bonds_moving_average"].as_u64().unwrap();
        hp.kappa = setup["kappa"].as_u64().unwrap() as u16;
        hp.max_validators = setup["max_allowed_validators"].as_u64().unwrap() as u16;
        hp.weights_rate_limit = 0;
        hp.activity_cutoff = 5_000;
        for (i, st) in setup["alpha_stake"].as_array().unwrap().iter().enumerate() {
            let st = u128::from(st.as_u64().unwrap());
            if st > 0 {
                put_stake(sn, addr(i as u32 + 1), st);
            }
        }
        s.markets.get_mut(&1).unwrap().pool.alpha = ISSUANCE_CAP;
    }
    // The epoch without weights that hands out the permits.
    step(&mut s, vec![]);
    assert_eq!(s.subnets[&1].last_epoch, s.head.height);
    let miners: Vec<u16> = schedule["miner_uids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_u64().unwrap() as u16 + 1)
        .collect();
    let mut rows = schedule["0"].clone();
    let mut nonces = [1u64; 3];
    for (e, target) in targets.iter().enumerate() {
        if let Some(r) = schedule.get(e.to_string()) {
            rows = r.clone();
        }
        let txs = rows
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(val, row)| {
                let values = row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u16)
                    .collect();
                let t = sign(
                    &key(val as u32 + 1),
                    nonces[val],
                    weights(miners.clone(), values),
                );
                nonces[val] += 1;
                t
            })
            .collect();
        ok(&step(&mut s, txs));
        assert!(s.subnets[&1].epoch_due(s.head.height + 1));
        step(&mut s, vec![]);
        let sn = &s.subnets[&1];
        for (uid, t) in target.as_array().unwrap().iter().enumerate() {
            let got = f64::from(sn.neurons[uid + 1].dividends) / 65_535.0;
            let want = t.as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-3,
                "{id} epoch {e} uid {uid}: {got} vs {want}"
            );
        }
    }
}

/// Signs `call` from key `k` at its next nonce.
fn tx(s: &State, k: u32, call: Call) -> ledger::SignedTx {
    sign(&key(k), s.nonce(&addr(k)), call)
}

/// One block with one transaction from key `k`.
fn send(s: &mut State, k: u32, call: Call) -> ledger::BuiltBlock {
    let t = tx(s, k, call);
    step(s, vec![t])
}

/// Steps to the next epoch block and through it; returns that epoch's record.
fn through_next_epoch(s: &mut State) -> ledger::subnet::epoch::EpochRecord {
    while !s.subnets[&1].epoch_due(s.head.height + 1) {
        step(s, vec![]);
    }
    step(s, vec![]);
    s.epochs[&1].back().unwrap().clone()
}

/// A commitment's opening: uids, values, salt.
type Revealed = (Vec<u16>, Vec<u16>, B256);

#[test]
fn a_weight_copier_earns_less_than_honest_validators_under_yuma3() {
    // Owner key 0; honest validators keys 1 and 2; a copier, key 3; miners keys 4..=7. Equal
    // validator stakes. Commit-reveal is on: honest validators commit what they measure now and
    // reveal it an epoch later; the copier can only copy weights once they are revealed, so it
    // commits them one epoch late, and the best miner moves every epoch.
    let mut s = with_subnet(8);
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        assert!(sn.hyperparams.yuma3);
        sn.hyperparams.tempo = 10;
        sn.hyperparams.weights_rate_limit = 0;
        sn.hyperparams.commit_reveal = true;
        for v in 1..=3 {
            put_stake(sn, addr(v), 100 * UNIT);
        }
    }
    through_next_epoch(&mut s); // hands out the validator permits
    let measured = |epoch: usize| -> (Vec<u16>, Vec<u16>) {
        let best = epoch % 4;
        let values = (0..4)
            .map(|m| match (m + 4 - best) % 4 {
                0 => 65_535,
                1 => 32_768,
                _ => 8_192,
            })
            .collect();
        ((4..8).collect(), values)
    };
    let commit = |k: u32, uids: &[u16], values: &[u16], salt: B256| Call::CommitWeights {
        netuid: 1,
        commit_hash: commit_hash(addr(k), 1, uids, values, salt, 0),
    };
    let reveal = |(uids, values, salt): Revealed| Call::RevealWeights {
        netuid: 1,
        uids,
        values,
        salt,
        version_key: 0,
    };
    let mut pending: Vec<(u32, Revealed)> = Vec::new();
    let mut earned = [0u128; 4];
    for epoch in 0..12usize {
        // Reveal last epoch's commits.
        let reveals: Vec<_> = pending
            .drain(..)
            .map(|(k, c)| tx(&s, k, reveal(c)))
            .collect();
        ok(&step(&mut s, reveals));
        // Commit: the honest validators what they measure now, the copier what it can read.
        let mut commits = Vec::new();
        for k in 1..=3u32 {
            let (uids, values) = if k == 3 {
                let row = &s.subnets[&1].neurons[1].weights;
                if row.is_empty() {
                    continue;
                }
                row.iter().copied().unzip()
            } else {
                measured(epoch)
            };
            let salt = B256::repeat_byte(u8::try_from(epoch * 4).unwrap() + k as u8);
            commits.push(tx(&s, k, commit(k, &uids, &values, salt)));
            pending.push((k, (uids, values, salt)));
        }
        ok(&step(&mut s, commits));
        let record = through_next_epoch(&mut s);
        if epoch >= 4 {
            for n in &record.neurons[1..4] {
                earned[usize::from(n.uid)] += n.emission;
            }
        }
    }
    let honest = earned[1].min(earned[2]);
    assert!(honest > 0, "{earned:?}");
    assert!(
        earned[3] * 100 < honest * 95,
        "the copier earns less than 95 % of an honest validator: {earned:?}"
    );
    assert_conserved(&s);
}

#[test]
fn nominators_share_dividends_after_the_validators_take() {
    // Owner key 0, validator key 1, miner key 2; key 3 nominates the validator.
    let mut s = with_subnet(3);
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        sn.hyperparams.tempo = 10;
        sn.hyperparams.weights_rate_limit = 0;
    }
    let add = |hotkey: Address, amount: u128| Call::AddStake {
        netuid: 1,
        hotkey,
        amount,
        limit_price: 0,
    };
    // Nominating an account that is not a neuron is refused; backing oneself is not.
    let b = send(&mut s, 3, add(addr(9), UNIT));
    assert_eq!(failed_code(&b, 0), "not_registered");
    ok(&send(&mut s, 1, add(addr(1), 30 * UNIT)));
    ok(&send(&mut s, 3, add(addr(1), 10 * UNIT)));
    let sn = &s.subnets[&1];
    let (own, nominated) = (
        sn.stake_of(&addr(1), &addr(1)),
        sn.stake_of(&addr(1), &addr(3)),
    );
    assert!(own > 0 && nominated > 0);
    assert_eq!(
        sn.stake(&addr(1)),
        own + nominated,
        "the neuron's weight is both"
    );
    assert_eq!(
        sn.stake(&addr(3)),
        0,
        "the nominator backs no neuron of its own"
    );
    // Someone else's stake cannot be removed.
    let rm = |hotkey: Address, alpha: u128| Call::RemoveStake {
        netuid: 1,
        hotkey,
        alpha,
        limit_price: 0,
    };
    let b = send(&mut s, 2, rm(addr(1), 1));
    assert_eq!(failed_code(&b, 0), "insufficient_stake");

    through_next_epoch(&mut s); // permits
    ok(&send(&mut s, 1, weights(vec![2], vec![1])));
    let before = s.subnets[&1].clone();
    let (own, nominated) = (
        before.stake_of(&addr(1), &addr(1)),
        before.stake_of(&addr(1), &addr(3)),
    );
    let miner_before = before.stake(&addr(2));
    let record = through_next_epoch(&mut s);
    let sn = &s.subnets[&1];
    let dividends = record.neurons[1].emission;
    assert!(dividends > 0 && record.dividends == dividends, "{record:?}");
    let take = dividends * 11_796 / 65_535;
    assert_eq!(record.take, take);
    let rest = dividends - take;
    let total = before.stake(&addr(1));
    let nominator_share = rest * nominated / total;
    assert_eq!(
        sn.stake_of(&addr(1), &addr(3)),
        nominated + nominator_share,
        "the nominator gets its pro-rata part of the dividends after the take"
    );
    assert_eq!(
        sn.stake_of(&addr(1), &addr(1)),
        own + dividends - nominator_share,
        "the validator gets its take, its own part and the dust"
    );
    assert_eq!(record.incentive, record.neurons[2].emission);
    assert_eq!(
        sn.stake(&addr(2)),
        miner_before + record.incentive,
        "incentive to the miner's own stake"
    );

    // The nominator leaves with its alpha, dividends included.
    let all = sn.stake_of(&addr(1), &addr(3));
    ok(&send(&mut s, 3, rm(addr(1), all)));
    assert_eq!(s.subnets[&1].stake_of(&addr(1), &addr(3)), 0);
    assert_conserved(&s);
}

#[test]
fn native_emission_halves_at_half_the_cap() {
    // The supply starts 3 tokens short of 10.5M: the first blocks mint one token each, and
    // every block that starts at or past half the cap mints half a token.
    let half = ledger::NATIVE_SUPPLY_CAP / 2;
    let mut g = genesis(1);
    g.alloc
        .insert(addr(0), ledger::genesis::AmountStr(half - 3 * UNIT));
    let mut s = g.build().unwrap().0;
    // The subnet's lock cost stays in its pool; the fee is burned.
    ok(&step(&mut s, vec![sign(&key(0), 0, create(u128::MAX))]));
    let mut minted = Vec::new();
    for _ in 0..6 {
        let before = s.native_supply;
        let b = step(&mut s, vec![]);
        let m: u128 = b.diff.markets.values().map(|m| m.last_tao_emission).sum();
        assert_eq!(s.native_supply, before + m);
        minted.push((before, m));
    }
    for (supply, m) in minted {
        let expected = if supply >= half { UNIT / 2 } else { UNIT };
        assert_eq!(m, expected, "at supply {supply}");
    }
    assert!(s.native_supply >= half);
}

#[test]
fn neurons_advertise_endpoints() {
    let mut s = with_subnet(2);
    let serve = |url: &str| Call::ServeEndpoint {
        netuid: 1,
        url: url.into(),
    };
    ok(&send(&mut s, 1, serve("http://127.0.0.1:9000/v1")));
    assert_eq!(
        s.subnets[&1].neurons[1].endpoint.as_deref(),
        Some("http://127.0.0.1:9000/v1")
    );
    for bad in [
        "ftp://x",
        "http://",
        "http:///path",
        "https://a b",
        &format!("https://{}", "a".repeat(256)),
    ] {
        let b = send(&mut s, 1, serve(bad));
        assert_eq!(failed_code(&b, 0), "invalid_call", "{bad}");
    }
    let b = send(&mut s, 3, serve("https://example.org"));
    assert_eq!(failed_code(&b, 0), "not_registered");
    ok(&send(&mut s, 1, serve("")));
    assert_eq!(s.subnets[&1].neurons[1].endpoint, None);
}

#[test]
fn subnet_revenue_is_split_at_the_epoch_like_emission() {
    // Owner key 0, validator key 1, miners keys 2 and 3; key 4 pays the subnet in USD.
    let mut s = with_subnet(4);
    {
        let sn = s.subnets.get_mut(&1).unwrap();
        sn.hyperparams.tempo = 10;
        sn.hyperparams.weights_rate_limit = 0;
        put_stake(sn, addr(1), 10 * UNIT);
    }
    through_next_epoch(&mut s); // permits
    ok(&send(&mut s, 1, weights(vec![2, 3], vec![3, 1])));
    let revenue = ledger::subnet::revenue_account(1);
    let paid = 1_000_000u128; // one Devnet USD
    ok(&send(
        &mut s,
        4,
        Call::Transfer {
            to: revenue,
            asset: usd(),
            amount: paid,
        },
    ));
    let before: Vec<u128> = (0..4).map(|i| s.balance(&addr(i), &usd())).collect();
    let record = through_next_epoch(&mut s);
    let split = &record.revenue[0];
    assert_eq!(split.asset, usd());
    let owner = paid * 11_796 / 65_535;
    assert_eq!(split.owner, owner);
    assert_eq!(split.miners, (paid - owner) / 2);
    assert_eq!(split.validators, paid - owner - split.miners);
    let gained: Vec<u128> = (0..4)
        .map(|i| s.balance(&addr(i), &usd()) - before[i as usize])
        .collect();
    assert_eq!(gained[0], owner);
    assert_eq!(gained[1], split.validators, "the only validator");
    let sn = &s.subnets[&1];
    let (i2, i3) = (sn.neurons[2].incentive, sn.neurons[3].incentive);
    assert!(i2 > i3 && i3 > 0);
    assert_eq!(
        gained[2],
        split.miners * u128::from(i2) / u128::from(i2 + i3)
    );
    assert_eq!(
        gained[3],
        split.miners * u128::from(i3) / u128::from(i2 + i3)
    );
    let dust = s.balance(&revenue, &usd());
    assert_eq!(gained.iter().sum::<u128>() + dust, paid);
    assert!(dust < 4, "only rounding stays: {dust}");
    assert_conserved(&s);
    // Nothing new arrived: the next epoch splits only the dust (or nothing).
    let record = through_next_epoch(&mut s);
    assert!(
        record
            .revenue
            .iter()
            .all(|r| r.owner + r.miners + r.validators < 4)
    );
}
