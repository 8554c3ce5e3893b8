//! Random subnets for property and differential tests.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use yuma::{EpochInput, Params, State};

/// A random subnet of 2..=`max_n` uids with sorted sparse rows.
pub fn subnet(seed: u64, max_n: usize) -> (Params, EpochInput) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = rng.gen_range(2..=max_n);
    let current_block = rng.gen_range(0..200_u64);
    let pick_u16 = |rng: &mut StdRng| match rng.gen_range(0..6) {
        0 => 0,
        1 => u16::MAX,
        2 => rng.gen_range(1..100),
        _ => rng.r#gen::<u16>(),
    };
    let stake: Vec<u64> = (0..n)
        .map(|_| match rng.gen_range(0..4) {
            0 => 0,
            1 => rng.gen_range(1..10),
            _ => rng.gen_range(0..1_000_000_000_000),
        })
        .collect();
    let sparse_rows = |rng: &mut StdRng, density: f64| -> Vec<Vec<(u16, u16)>> {
        (0..n)
            .map(|_| {
                let mut row = Vec::new();
                for j in 0..n as u16 {
                    if rng.gen_bool(density) {
                        row.push((j, pick_u16(rng)));
                    }
                }
                row
            })
            .collect()
    };
    let density = rng.gen_range(0.1..1.0);
    let weights = sparse_rows(&mut rng, density);
    let bond_density = rng.gen_range(0.0..0.8);
    let bonds = sparse_rows(&mut rng, bond_density);
    let last_update = (0..n).map(|_| rng.gen_range(0..=current_block)).collect();
    let block_at_registration = (0..n)
        .map(|_| rng.gen_range(0..=current_block / 2 + 1))
        .collect();
    let validator_permit = (0..n).map(|_| rng.gen_bool(0.7)).collect();
    let commit_block = rng.gen_bool(0.2).then(|| {
        (0..n)
            .map(|_| {
                if rng.gen_bool(0.5) {
                    u64::MAX
                } else {
                    rng.gen_range(0..=current_block)
                }
            })
            .collect()
    });
    let (a, b) = (pick_u16(&mut rng), pick_u16(&mut rng));
    let params = Params {
        tempo: rng.gen_range(1..50),
        activity_cutoff: rng.gen_range(1..300),
        kappa: if rng.gen_bool(0.5) {
            32_767
        } else {
            pick_u16(&mut rng)
        },
        bonds_penalty: pick_u16(&mut rng),
        bonds_moving_average: *[
            0,
            900_000,
            975_000,
            999_999,
            1_000_000,
            rng.gen_range(0..2_000_000),
        ]
        .choose(&mut rng)
        .unwrap_or(&900_000),
        liquid_alpha: rng.gen_bool(0.6),
        alpha_low: a.min(b),
        alpha_high: a.max(b),
        alpha_sigmoid_steepness: *[1000, -1000, 0, 100, rng.r#gen::<i16>()]
            .choose(&mut rng)
            .unwrap_or(&1000),
        yuma3: rng.gen_bool(0.6),
        max_allowed_validators: rng.gen_range(1..=n as u16 + 2),
        owner_uid: rng.gen_bool(0.3).then(|| rng.gen_range(0..n as u16 + 1)),
        stake_threshold: if rng.gen_bool(0.7) {
            0
        } else {
            rng.gen_range(0..1_000_000_000)
        },
        last_mechanism_step_block: if rng.gen_bool(0.5) {
            0
        } else {
            rng.gen_range(0..=current_block)
        },
    };
    let state = State {
        n: n as u16,
        current_block,
        stake,
        weights,
        bonds,
        last_update,
        block_at_registration,
        validator_permit,
        commit_block,
    };
    let emission = if rng.gen_bool(0.5) {
        1_000_000_000
    } else {
        rng.r#gen::<u64>() >> rng.gen_range(0..40)
    };
    (params, EpochInput { state, emission })
}
