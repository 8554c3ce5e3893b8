//! Every epoch vector of `yuma_vectors.json` (research notes §5): upstream's asserted
//! values within the upstream tolerance, and the bit-level reference outputs exactly.

use serde_json::Value;
use yuma::{EpochOutput, Params};

use crate::chain::{Chain, cutoff};

fn vectors() -> Value {
    let text = include_str!("../data/yuma_vectors.json");
    serde_json::from_str(text).unwrap()
}

fn vector(id: &str) -> Value {
    vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
        .clone()
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn u16s(v: &Value) -> Vec<u16> {
    u64s(v)
        .into_iter()
        .map(|x| u16::try_from(x).unwrap())
        .collect()
}

fn i64s(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<(u16, u16)>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = u16s(p);
                    (p[0], p[1])
                })
                .collect()
        })
        .collect()
}

/// Compares every reference field the output carries.
fn check_reference(label: &str, out: &EpochOutput, r: &Value) {
    let fields: [(&str, Vec<u64>); 7] = [
        (
            "stored_dividends_u16",
            out.dividends.iter().map(|&x| x.into()).collect(),
        ),
        (
            "stored_incentive_u16",
            out.incentive.iter().map(|&x| x.into()).collect(),
        ),
        (
            "stored_consensus_u16",
            out.consensus.iter().map(|&x| x.into()).collect(),
        ),
        (
            "stored_validator_trust_u16",
            out.validator_trust.iter().map(|&x| x.into()).collect(),
        ),
        ("stored_emission", out.combined_emission.clone()),
        ("server_emission", out.server_emission.clone()),
        ("validator_emission", out.validator_emission.clone()),
    ];
    let mut checked = 0;
    for (name, ours) in fields {
        if !r[name].is_null() {
            assert_eq!(ours, u64s(&r[name]), "{label}: {name}");
            checked += 1;
        }
    }
    for (name, ours) in [
        ("consensus_bits", &out.consensus_bits),
        ("incentive_bits", &out.incentive_bits),
        ("dividends_bits", &out.dividends_bits),
    ] {
        if !r[name].is_null() {
            assert_eq!(ours, &i64s(&r[name]), "{label}: {name}");
            checked += 1;
        }
    }
    if !r["stored_bonds_u16"].is_null() {
        assert_eq!(out.bonds, rows(&r["stored_bonds_u16"]), "{label}: bonds");
        checked += 1;
    }
    if !r["new_validator_permits"].is_null() {
        let p: Vec<bool> = r["new_validator_permits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        assert_eq!(out.validator_permit, p, "{label}: permits");
        checked += 1;
    }
    assert!(checked > 0, "{label}: nothing compared");
}

fn yuma2_params(setup: &Value) -> Params {
    let tempo = setup["tempo"].as_u64().unwrap();
    Params {
        tempo,
        activity_cutoff: cutoff(tempo),
        kappa: setup["kappa"].as_u64().unwrap() as u16,
        bonds_penalty: setup["bonds_penalty"].as_u64().unwrap() as u16,
        bonds_moving_average: setup["bonds_moving_average"].as_u64().unwrap(),
        max_allowed_validators: setup["max_allowed_validators"].as_u64().unwrap() as u16,
        yuma3: false,
        liquid_alpha: false,
        ..Params::default()
    }
}

#[test]
fn test_bonds_yuma2_eight_epochs() {
    let v = vector("epoch_test_bonds_yuma2_n8");
    let setup = &v["setup"];
    let mut chain = Chain::new(yuma2_params(setup), u64s(&setup["alpha_stake"]), 1);
    let refs = v["reference_full_outputs"].as_array().unwrap();
    let all: Vec<u16> = vec![16383, 32767, 49149, 65535];
    for (k, r) in refs.iter().enumerate() {
        let block = r["block"].as_u64().unwrap();
        chain.state.current_block = block;
        match block {
            2 => (0..4).for_each(|uid| chain.set_weights(uid, &[4, 5, 6, 7], &all)),
            3 => chain.set_weights(0, &[0], &[u16::MAX]),
            4 => chain.set_weights(1, &[1], &[u16::MAX]),
            5 => chain.set_weights(2, &[2], &[u16::MAX]),
            6 => chain.set_weights(2, &[7], &[u16::MAX]),
            _ => {}
        }
        let out = chain.epoch();
        check_reference(r["label"].as_str().unwrap(), &out, r);

        // The upstream assertions on single bond columns.
        if let Some(step) = v["steps"].as_array().unwrap().get(k)
            && let Some(asserted) = step["asserted"].as_object()
        {
            for (key, want) in asserted {
                let col: usize = key
                    .split("][")
                    .nth(1)
                    .and_then(|s| s.split(']').next())
                    .unwrap()
                    .parse()
                    .unwrap();
                let got: Vec<u64> = (0..4)
                    .map(|i| {
                        out.bonds[i]
                            .iter()
                            .find(|&&(j, _)| usize::from(j) == col)
                            .map_or(0, |&(_, b)| b.into())
                    })
                    .collect();
                assert_eq!(got, u64s(want), "block {block}: {key}");
            }
        }
    }
}

#[test]
fn test_active_stake_cutoff() {
    let v = vector("epoch_test_active_stake_n4");
    let setup = &v["setup"];
    let mut chain = Chain::new(yuma2_params(setup), u64s(&setup["alpha_stake"]), 0);
    let refs = v["reference_full_outputs"].as_array().unwrap();
    let half = [u16::MAX / 2, u16::MAX / 2];
    for r in refs {
        let block = r["block"].as_u64().unwrap();
        match block {
            1 => {
                chain.state.current_block = 1;
                chain.set_weights(0, &[2, 3], &half);
                chain.set_weights(1, &[2, 3], &half);
            }
            5002 => {
                chain.state.current_block = 5002;
                chain.set_weights(0, &[2, 3], &half);
            }
            5003 => {
                // uid 1 set its weights at block 5002, the epoch runs at 5003.
                chain.set_weights(1, &[2, 3], &half);
                chain.state.current_block = 5003;
            }
            _ => chain.state.current_block = block,
        }
        let out = chain.epoch();
        check_reference(r["label"].as_str().unwrap(), &out, r);
    }
}

#[test]
fn test_10_graph_self_weights_fall_back_to_stake() {
    let v = vector("epoch_test_10_graph");
    let setup = &v["setup"];
    let mut chain = Chain::new(Params::default(), u64s(&setup["alpha_stake"]), 0);
    chain.state.current_block = 1;
    for uid in 0..10 {
        chain.set_weights(uid, &[uid as u16], &[u16::MAX]);
    }
    let out = chain.epoch();
    assert_eq!(out.combined_emission, u64s(&v["derived_check"]));
    assert!(out.combined_emission.iter().all(|&e| e == 99_999_999));
    for xs in [&out.consensus, &out.incentive, &out.dividends] {
        assert!(xs.iter().all(|&x| x == 0));
    }
}

#[test]
fn test_zero_weights_fallbacks() {
    let v = vector("epoch_test_zero_weights");
    let setup = &v["setup"];
    let tempo = setup["tempo"].as_u64().unwrap();
    let params = Params {
        tempo,
        activity_cutoff: cutoff(tempo),
        ..Params::default()
    };
    let mut chain = Chain::new(params, u64s(&setup["alpha_stake"]), 0);
    let steps = v["steps"].as_array().unwrap();
    for step in steps {
        let block = step["block"].as_u64().unwrap();
        chain.state.current_block = block;
        match block {
            1 => chain.set_weights(1, &[1], &[u16::MAX]),
            2 => {
                chain.set_weights(0, &[1], &[u16::MAX]);
                // uid 1 is replaced by a registration at block 2: its weights and bonds are
                // cleared and weights pointing at it are zeroed.
                chain.state.block_at_registration[1] = 2;
                chain.state.last_update[1] = 2;
                chain.state.weights[1].clear();
                chain.state.bonds[1].clear();
                for row in &mut chain.state.weights {
                    for e in row.iter_mut().filter(|e| e.0 == 1) {
                        e.1 = 0;
                    }
                }
            }
            3 => chain.set_weights(0, &[1], &[u16::MAX]),
            _ => {}
        }
        let out = chain.epoch();
        assert_eq!(
            out.combined_emission,
            u64s(&step["asserted_emission"]),
            "block {block}"
        );
    }
}

fn yuma3_params(setup: &Value) -> Params {
    let tempo = setup["tempo"].as_u64().unwrap();
    Params {
        tempo,
        activity_cutoff: cutoff(tempo),
        kappa: setup["kappa"].as_u64().unwrap() as u16,
        bonds_penalty: setup["bonds_penalty"].as_u64().unwrap() as u16,
        bonds_moving_average: setup["bonds_moving_average"].as_u64().unwrap(),
        liquid_alpha: setup["liquid_alpha"].as_bool().unwrap(),
        alpha_low: setup["alpha_low_u16"].as_u64().unwrap() as u16,
        alpha_high: setup["alpha_high_u16"].as_u64().unwrap() as u16,
        alpha_sigmoid_steepness: setup["alpha_sigmoid_steepness"].as_i64().unwrap() as i16,
        max_allowed_validators: setup["max_allowed_validators"].as_u64().unwrap() as u16,
        yuma3: true,
        ..Params::default()
    }
}

/// The weights of epoch `e` from a schedule keyed by epoch, ranges ("2..20"), "N+"
/// (unchanged from the last listed epoch) or "every_other_epoch".
fn weights_for(schedule: &Value, e: u64) -> Vec<Vec<u16>> {
    let map = schedule.as_object().unwrap();
    let mut best: Option<(u64, &Value)> = None;
    for (key, val) in map {
        if !val.is_array() || key == "miner_uids" {
            continue;
        }
        if let Ok(k) = key.parse::<u64>() {
            if k == e {
                return val.as_array().unwrap().iter().map(u16s).collect();
            }
            if k < e && best.is_none_or(|(b, _)| k > b) {
                best = Some((k, val));
            }
        } else if let Some((a, b)) = key.split_once("..") {
            let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
            if (a..=b).contains(&e) {
                return val.as_array().unwrap().iter().map(u16s).collect();
            }
        }
    }
    if let Some(other) = map.get("every_other_epoch") {
        return other.as_array().unwrap().iter().map(u16s).collect();
    }
    // "4+": unchanged since the last listed epoch.
    best.unwrap()
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(u16s)
        .collect()
}

fn run_yuma3(id: &str) {
    let v = vector(id);
    let setup = &v["setup"];
    let mut chain = Chain::new(yuma3_params(setup), u64s(&setup["alpha_stake"]), 1);
    chain.next_block();
    chain.epoch(); // block 2: permits for the three validators

    let schedule = &v["weight_schedule"];
    let miners = u16s(&schedule["miner_uids"]);
    let refs = v["reference_outputs"].as_array().unwrap();
    let asserted = &v["asserted_dividends_per_epoch"];
    let last = refs
        .iter()
        .map(|r| r["epoch"].as_u64().unwrap())
        .max()
        .unwrap();
    let mut compared = 0;
    for e in 0..=last {
        for (uid, w) in weights_for(schedule, e).iter().enumerate() {
            chain.set_weights(uid, &miners, w);
        }
        if id.ends_with("bonds_reset") && e == 20 {
            // do_reset_bonds(uid 3): column 3 leaves every stored bond row.
            for row in &mut chain.state.bonds {
                row.retain(|&(j, _)| j != 3);
            }
        }
        chain.next_block();
        let out = chain.epoch();

        if let Some(r) = refs.iter().find(|r| r["epoch"].as_u64() == Some(e)) {
            assert_eq!(
                out.dividends,
                u16s(&r["stored_dividends_u16"]),
                "{id} epoch {e}"
            );
            let validators = rows(&r["stored_bonds_u16_validators"]);
            assert_eq!(
                out.bonds[..validators.len()],
                validators[..],
                "{id} epoch {e} bonds"
            );
            compared += 1;
        }
        let target = if asserted.is_array() {
            asserted.get(e as usize)
        } else {
            asserted.get(e.to_string())
        };
        if let Some(target) = target {
            for (uid, t) in target.as_array().unwrap().iter().enumerate() {
                let t = f64::from(t.as_f64().unwrap() as f32);
                let got = f64::from(out.dividends[uid]) / 65535.0;
                assert!(
                    (got - t).abs() <= 1e-3,
                    "{id} epoch {e} uid {uid}: {got} vs {t}"
                );
            }
        }
    }
    assert_eq!(compared, refs.len(), "{id}: every reference epoch compared");
}

#[test]
fn yuma3_kappa_moves_first() {
    run_yuma3("epoch_test_yuma_3_kappa_moves_first");
}

#[test]
fn yuma3_kappa_moves_second() {
    run_yuma3("epoch_test_yuma_3_kappa_moves_second");
}

#[test]
fn yuma3_kappa_moves_last() {
    run_yuma3("epoch_test_yuma_3_kappa_moves_last");
}

#[test]
fn yuma3_one_epoch_switch() {
    run_yuma3("epoch_test_yuma_3_one_epoch_switch");
}

#[test]
fn yuma3_liquid_alpha_disabled() {
    run_yuma3("epoch_test_yuma_3_liquid_alpha_disabled");
}

#[test]
fn yuma3_stable_miner() {
    run_yuma3("epoch_test_yuma_3_stable_miner");
}

#[test]
fn yuma3_bonds_reset() {
    run_yuma3("epoch_test_yuma_3_bonds_reset");
}

#[test]
fn yuma3_omit_vs_explicit_zero() {
    let v = vector("omit_vs_explicit_zero_weight_yuma3_liquid");
    let base = vector("epoch_test_yuma_3_kappa_moves_first");
    for r in v["reference_outputs"].as_array().unwrap() {
        let omit = r["omit_uid3"].as_bool().unwrap();
        let mut chain = Chain::new(yuma3_params(&base["setup"]), vec![8, 1, 1, 0, 0], 1);
        chain.next_block();
        chain.epoch();
        for uid in 0..3 {
            chain.set_weights(uid, &[3, 4], &[u16::MAX, 0]);
        }
        chain.next_block();
        chain.epoch();
        if omit {
            chain.set_weights(0, &[4], &[u16::MAX]);
        } else {
            chain.set_weights(0, &[3, 4], &[0, u16::MAX]);
        }
        for uid in 1..3 {
            chain.set_weights(uid, &[3, 4], &[u16::MAX, 0]);
        }
        chain.next_block();
        let out = chain.epoch();
        assert_eq!(out.dividends, u16s(&r["dividends_u16"]), "omit {omit}");
        let want: Vec<(u16, u16)> =
            rows(&Value::Array(vec![r["val0_bonds_u16"].clone()])).remove(0);
        assert_eq!(out.bonds[0], want, "omit {omit}");
    }
}
