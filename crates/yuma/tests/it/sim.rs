//! The simulator reproduces known behaviours.

use yuma::sim::{Event, Model, Scenario, ScenarioParams, Validator, Weights, simulate};

fn weights(pairs: &[(&str, u16)]) -> Weights {
    pairs.iter().map(|&(m, w)| (m.to_string(), w)).collect()
}

fn validator(name: &str, stake: u64, w: Weights) -> Validator {
    Validator {
        name: name.into(),
        stake,
        weights: w,
        copy: None,
        lag: 1,
        joins: 0,
    }
}

fn earned(sim: &yuma::sim::Simulation, model: Model, uid: u16) -> u64 {
    sim.records
        .iter()
        .filter(|r| r.model == model && r.uid == uid)
        .map(|r| r.validator_emission)
        .sum()
}

#[test]
fn weight_copier_earns_less_per_stake_under_yuma3() {
    let a = weights(&[("m1", 65535), ("m2", 16384)]);
    let b = weights(&[("m2", 65535), ("m1", 16384)]);
    let mut copier = validator("copier", 300, Weights::new());
    copier.copy = Some("alice".into());
    let mut events = Vec::new();
    for (k, e) in [5_u32, 10, 15, 20].into_iter().enumerate() {
        let w = if k % 2 == 0 { b.clone() } else { a.clone() };
        for v in ["alice", "bob"] {
            events.push(Event {
                epoch: e,
                validator: v.into(),
                weights: Some(w.clone()),
                stake: None,
            });
        }
    }
    let scenario = Scenario {
        name: "copier".into(),
        epochs: 25,
        emission: 1_000_000_000,
        params: ScenarioParams {
            bonds_moving_average: 975_000,
            alpha_low: 6553,
            alpha_high: 19660,
            ..ScenarioParams::default()
        },
        validators: vec![
            validator("alice", 350, a.clone()),
            validator("bob", 350, a),
            copier,
        ],
        miners: vec!["m1".into(), "m2".into()],
        events,
    };
    let sim = simulate(&scenario).unwrap();
    let per_stake = |uid: u16, stake: u64| earned(&sim, Model::Yuma3, uid) as f64 / stake as f64;
    assert!(
        per_stake(2, 300) < per_stake(0, 350),
        "copier should trail alice"
    );
    assert!(
        per_stake(2, 300) < per_stake(1, 350),
        "copier should trail bob"
    );
    // Each epoch pays out no more than its emission.
    for model in [Model::Yuma3, Model::Yuma] {
        for e in 0..25 {
            let paid: u64 = sim
                .records
                .iter()
                .filter(|r| r.model == model && r.epoch == e)
                .map(|r| r.validator_emission + r.server_emission)
                .sum();
            assert!(paid <= 1_000_000_000);
        }
    }
}

#[test]
fn unknown_names_are_refused() {
    let mut scenario = Scenario {
        name: String::new(),
        epochs: 2,
        emission: 1,
        params: ScenarioParams::default(),
        validators: vec![validator("v", 1, weights(&[("nope", 1)]))],
        miners: vec!["m".into()],
        events: vec![],
    };
    assert!(simulate(&scenario).is_err());
    scenario.validators[0].weights = weights(&[("m", 1)]);
    assert!(simulate(&scenario).is_ok());
}
