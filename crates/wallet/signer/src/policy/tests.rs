use proptest::prelude::*;

use super::*;

const USD: Address = Address::repeat_byte(0x05);
const SHOP: Address = Address::repeat_byte(0x51);
const THIEF: Address = Address::repeat_byte(0x66);

fn policy(extra: &str) -> Policy {
    let text = format!(
        r#"
chain_ids = [1337]
allowed_calls = ["transfer", "giveFeedback"]
rate_limit_per_minute = 1000
{extra}
[payees]
deny = ["{THIEF}"]

[[assets]]
address = "{USD}"
symbol = "USD"
decimals = 6
per_payment = "100000"
per_hour = 250000
per_day = "400000"
approve_above = "80000"

[[assets]]
address = "0x0000000000000000000000000000000000000000"
symbol = "SYM"
decimals = 18
per_payment = "1000000000000000000"
per_hour = "1000000000000000000"
per_day = "1000000000000000000"
"#
    );
    Policy::parse(&text).unwrap_or_else(|e| unreachable!("{e}"))
}

fn pay(amount: u128, payee: Address) -> Intent {
    Intent {
        chain_id: 1337,
        kind: Kind::Payment,
        spends: vec![Spend {
            asset: USD,
            amount,
            payee: Some(payee),
        }],
    }
}

fn denied_by(d: &Decision) -> Option<String> {
    match d {
        Decision::Deny(d) => Some(d.rule.to_string()),
        _ => None,
    }
}

#[test]
fn the_example_policy_loads() {
    let text = include_str!("../../../../../docs/examples/policy.toml");
    let p = Policy::parse(text).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(!p.assets.is_empty());
}

#[test]
fn unknown_fields_are_refused_at_load_naming_them() {
    let err = Policy::parse("chain_ids = [1]\nrate_limit_per_minute = 1\nper_hour_limit = 5\n")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("per_hour_limit"), "{err}");
    let err = Policy::parse(
        "chain_ids = [1]\nrate_limit_per_minute = 1\n[[assets]]\naddress = \"0x0000000000000000000000000000000000000000\"\nsymbol = \"X\"\nper_payment = 1\nper_hour = 1\nper_day = 1\nmax = 3\n",
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("max"), "{err}");
}

#[test]
fn inconsistent_policies_are_refused() {
    for (text, needle) in [
        ("chain_ids = []\nrate_limit_per_minute = 1\n", "chain_ids"),
        (
            "chain_ids = [1]\nrate_limit_per_minute = 1\nallowed_calls = [\"stealAll\"]\n",
            "stealAll",
        ),
        (
            "chain_ids = [1]\nrate_limit_per_minute = 1\n[[assets]]\naddress = \"0x0000000000000000000000000000000000000000\"\nsymbol = \"X\"\nper_payment = 5\nper_hour = 1\nper_day = 1\n",
            "per_payment <= per_hour",
        ),
        (
            "chain_ids = [1]\nrate_limit_per_minute = 1\n[[assets]]\naddress = \"0x0000000000000000000000000000000000000000\"\nsymbol = \"X\"\nper_payment = \"-1\"\nper_hour = 1\nper_day = 1\n",
            "base units",
        ),
    ] {
        let err = Policy::parse(text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

#[test]
fn each_rule_refuses_and_names_itself() {
    let p = policy("");
    let h = History::default();
    assert_eq!(p.evaluate(&h, &pay(10, SHOP), 0), Decision::Allow);
    assert_eq!(p.evaluate(&h, &pay(90_000, SHOP), 0), Decision::Hold);
    let cases = [
        (pay(100_001, SHOP), "assets.USD.per_payment"),
        (pay(1, THIEF), "payees.deny"),
        (
            Intent {
                chain_id: 1,
                ..pay(1, SHOP)
            },
            "chain_ids",
        ),
        (
            Intent {
                kind: Kind::Call("createSubnet".into()),
                ..pay(1, SHOP)
            },
            "allowed_calls",
        ),
        (
            Intent {
                kind: Kind::TypedData("Permit".into()),
                spends: vec![],
                chain_id: 1337,
            },
            "allowed_typed_data",
        ),
        (
            Intent {
                spends: vec![Spend {
                    asset: Address::repeat_byte(9),
                    amount: 1,
                    payee: Some(SHOP),
                }],
                ..pay(1, SHOP)
            },
            "assets",
        ),
    ];
    for (intent, rule) in cases {
        assert_eq!(
            denied_by(&p.evaluate(&h, &intent, 0)).as_deref(),
            Some(rule)
        );
    }
}

#[test]
fn an_allowlist_admits_only_its_payees() {
    let p = policy("");
    let mut p2 = p.clone();
    p2.payees.allow.insert(SHOP);
    let h = History::default();
    let other = Address::repeat_byte(0x77);
    assert_eq!(p.evaluate(&h, &pay(1, other), 0), Decision::Allow);
    assert_eq!(
        denied_by(&p2.evaluate(&h, &pay(1, other), 0)).as_deref(),
        Some("payees.allow")
    );
    assert_eq!(p2.evaluate(&h, &pay(1, SHOP), 0), Decision::Allow);
}

#[test]
fn budgets_roll_over_the_hour_and_the_day() {
    let p = policy("");
    let mut h = History::default();
    for (i, t) in [0u64, 10, 20].into_iter().enumerate() {
        assert!(p.evaluate(&h, &pay(80_000, SHOP), t) == Decision::Allow);
        h.record(i as u64, t, &pay(80_000, SHOP).spends);
    }
    // 240 000 spent this hour: 10 001 more breaks the hourly 250 000.
    let d = p.evaluate(&h, &pay(10_001, SHOP), 30);
    assert_eq!(denied_by(&d).as_deref(), Some("assets.USD.per_hour"));
    let msg = match d {
        Decision::Deny(d) => d.to_string(),
        _ => String::new(),
    };
    assert!(
        msg.contains("0.24 USD") && msg.contains("0.25 USD"),
        "{msg}"
    );
    // An hour later the hourly window is clear but the day holds 240 000 of 400 000.
    assert_eq!(
        p.evaluate(&h, &pay(80_000, SHOP), HOUR + 21),
        Decision::Allow
    );
    h.record(9, HOUR + 21, &pay(80_000, SHOP).spends);
    assert_eq!(
        denied_by(&p.evaluate(&h, &pay(80_001, SHOP), HOUR + 22)).as_deref(),
        Some("assets.USD.per_day")
    );
    // A day later everything is clear again.
    assert_eq!(
        p.evaluate(&h, &pay(80_000, SHOP), DAY + HOUR + 22),
        Decision::Allow
    );
    // A released (rejected) hold frees its reservation.
    h.release(9);
    assert_eq!(
        p.evaluate(&h, &pay(80_000, SHOP), HOUR + 22),
        Decision::Allow
    );
}

#[test]
fn the_rate_limit_counts_the_last_minute() {
    let mut p = policy("");
    p.rate_limit_per_minute = 3;
    let mut h = History::default();
    for t in 0..3 {
        h.note_request(t);
    }
    assert_eq!(
        denied_by(&p.evaluate(&h, &pay(1, SHOP), 5)).as_deref(),
        Some("rate_limit_per_minute")
    );
    assert_eq!(p.evaluate(&h, &pay(1, SHOP), 61), Decision::Allow);
}

#[test]
fn amounts_show_in_units() {
    let p = policy("");
    assert_eq!(p.assets[0].show(20_000), "0.02 USD");
    assert_eq!(p.assets[0].show(3_000_000), "3 USD");
    assert_eq!(p.assets[1].show(1), "0.000000000000000001 SYM");
}

proptest! {
    /// Whatever sequence of payments arrives, the ones allowed never exceed a cap: in any
    /// rolling hour or day, or singly.
    #[test]
    fn allowed_spending_never_exceeds_the_budgets(
        steps in proptest::collection::vec((0u64..900, 0u128..150_000, any::<bool>()), 1..120)
    ) {
        let p = policy("");
        let mut h = History::default();
        let mut now = 0u64;
        let mut allowed: Vec<(u64, u128)> = Vec::new();
        for (i, (dt, amount, thief)) in steps.into_iter().enumerate() {
            now += dt;
            let payee = if thief { THIEF } else { SHOP };
            let intent = pay(amount, payee);
            let d = p.evaluate(&h, &intent, now);
            h.note_request(now);
            if matches!(d, Decision::Allow | Decision::Hold) {
                prop_assert!(!thief, "a denied payee was paid");
                prop_assert!(amount <= 100_000);
                h.record(i as u64, now, &intent.spends);
                allowed.push((now, amount));
            }
            for (window, cap) in [(HOUR, 250_000u128), (DAY, 400_000)] {
                let total: u128 = allowed
                    .iter()
                    .filter(|(t, _)| *t >= now.saturating_sub(window))
                    .map(|(_, a)| a)
                    .sum();
                prop_assert!(total <= cap, "window {window}: {total} > {cap}");
            }
        }
    }

    /// The decision is a function of its inputs.
    #[test]
    fn evaluation_is_deterministic(amount in any::<u128>(), t in any::<u64>(), chain in 1330u64..1340) {
        let p = policy("");
        let h = History::default();
        let intent = Intent { chain_id: chain, ..pay(amount, SHOP) };
        prop_assert_eq!(p.evaluate(&h, &intent, t), p.evaluate(&h, &intent, t));
        if chain != 1337 {
            let rule = denied_by(&p.evaluate(&h, &intent, t));
            prop_assert_eq!(rule.as_deref(), Some("chain_ids"));
        }
    }
}
