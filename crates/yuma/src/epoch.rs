//! One epoch: subtensor's sparse `epoch_mechanism` (run_epoch.rs), notes §1.3.

use crate::Result;
use std::borrow::Cow;

use crate::bonds::{self, BondInput};
use crate::consensus::weighted_median_cols;
use crate::fixed::{
    Divisor, I32F32, I64F64, I96F32, ONE, ZERO, div, from_u16, mul, normalize, normalize64, sum,
    to_u16_proportion, u16_proportion,
};
use crate::fused;
use crate::sparse::{Csr, RowSlot, RowsBuilder, Scratch, each_init, parallel};
use crate::types::{EpochInput, EpochOutput, Params};

/// Runs one Yuma epoch and returns what subtensor would store.
///
/// Inputs are validated first ([`Params::validate`], [`EpochInput::validate`]); after that
/// the computation cannot fail or panic.
pub fn epoch(params: &Params, input: &EpochInput) -> Result<EpochOutput> {
    params.validate()?;
    let sorted = input.state.check()?;
    Ok(run(params, input, true, sorted).0)
}

/// [`epoch`] on validated input through the general path only (no [`fused::sweep`]).
#[cfg(test)]
pub(crate) fn run_general(params: &Params, input: &EpochInput) -> EpochOutput {
    run(params, input, false, false).0
}

/// [`epoch`] on validated input, through [`fused::sweep`] if it applies and `allow_sweep`.
/// Also returns whether it did.
#[cfg(test)]
pub(crate) fn run_with(
    params: &Params,
    input: &EpochInput,
    allow_sweep: bool,
) -> (EpochOutput, bool) {
    let sorted = input.state.check().unwrap_or(false);
    run(params, input, allow_sweep, sorted)
}

/// One epoch on validated input; with `allow_sweep`, steps 7–13 of a Yuma3 liquid-alpha
/// epoch over sorted rows go through [`fused::sweep`]. `sorted` says that every stored
/// weight and bond row is known to be strictly ascending (from [`State::check`]); when
/// false, the rows the fast paths read are checked again. Also returns whether the sweep
/// ran.
///
/// [`State::check`]: crate::types::State::check
fn run(
    params: &Params,
    input: &EpochInput,
    allow_sweep: bool,
    sorted: bool,
) -> (EpochOutput, bool) {
    let st = &input.state;
    let n = usize::from(st.n);
    let owner = params.owner_uid.map(usize::from);

    // §1.3 step 1: activity.
    let active: Vec<bool> = st
        .last_update
        .iter()
        .map(|&u| u.saturating_add(params.activity_cutoff) >= st.current_block)
        .collect();

    // Step 2: stake, thresholded (owner exempt), normalised in I64F64, truncated to I32F32.
    let mut stake64: Vec<I64F64> = st
        .stake
        .iter()
        .enumerate()
        .map(|(uid, &s)| {
            let s = I64F64::saturating_from_num(s);
            if owner != Some(uid) && s.saturating_to_num::<u64>() < params.stake_threshold {
                I64F64::from_bits(0)
            } else {
                s
            }
        })
        .collect();
    normalize64(&mut stake64);
    let stake: Vec<I32F32> = stake64
        .iter()
        .map(|&s| I32F32::saturating_from_num(s))
        .collect();

    // Step 3: permits. Last epoch's (owner forced) gate this epoch; new ones are stored.
    let mut permit = st.validator_permit.clone();
    if let Some(p) = owner.and_then(|o| permit.get_mut(o)) {
        *p = true;
    }
    let mut new_permit = is_topk_nonzero(&stake, usize::from(params.max_allowed_validators));
    if let Some(p) = owner.and_then(|o| new_permit.get_mut(o)) {
        *p = true;
    }

    // Step 4: active stake: inactive and unpermitted uids masked, renormalised.
    let mut active_stake: Vec<I32F32> = stake
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let ok =
                active.get(i).copied().unwrap_or(false) && permit.get(i).copied().unwrap_or(false);
            if ok { s } else { ZERO }
        })
        .collect();
    normalize(&mut active_stake);

    // Step 5: weights, masked in subtensor's order, then row-normalised.
    let weights = load_weights(params, input, &permit);

    // Step 6: consensus.
    let kappa = u16_proportion(params.kappa);
    let consensus = weighted_median_cols(&active_stake, &weights, n, kappa, sorted);

    let last_tempo = if params.last_mechanism_step_block == 0 {
        st.current_block.saturating_sub(params.tempo)
    } else {
        params.last_mechanism_step_block.saturating_add(1)
    };
    let liquid = params.liquid_alpha && consensus.iter().any(|&c| c != ZERO);
    // Masked weight rows keep their stored order, so stored rows ascending ⇒ W's too.
    let swept =
        allow_sweep && params.yuma3 && liquid && (sorted || fused::applies(&weights, &st.bonds));
    let (validator_trust, incentive, dividends, stored_bonds) = if swept {
        let out = fused::sweep(
            params,
            &fused::SweepInput {
                n,
                bonds: &st.bonds,
                block_at_registration: &st.block_at_registration,
                last_tempo,
                consensus: &consensus,
                active_stake: &active_stake,
                new_permit: &new_permit,
            },
            weights,
        );
        (out.validator_trust, out.incentive, out.dividends, out.bonds)
    } else {
        general(
            params,
            input,
            GeneralInput {
                n,
                weights: &weights,
                consensus: &consensus,
                active_stake: &active_stake,
                new_permit: &new_permit,
                last_tempo,
            },
        )
    };

    // Step 12: emission split, with the fallback to stake when nothing is earned.
    let combined: Vec<I32F32> = incentive
        .iter()
        .zip(&dividends)
        .map(|(i, d)| i.saturating_add(*d))
        .collect();
    let emission_sum = sum(combined.iter().copied());
    let share = |xs: &[I32F32]| -> Vec<I32F32> {
        if emission_sum == ZERO {
            xs.to_vec()
        } else {
            xs.iter().map(|&x| div(x, emission_sum)).collect()
        }
    };
    let server_share = share(&incentive);
    let mut validator_share = share(&dividends);
    let mut combined_share = combined;
    normalize(&mut combined_share);
    if emission_sum == ZERO {
        let fallback = if sum(active_stake.iter().copied()) == ZERO {
            &stake
        } else {
            &active_stake
        };
        validator_share.clone_from(fallback);
        combined_share.clone_from(fallback);
    }
    let budget = I96F32::saturating_from_num(input.emission);
    let rao = |xs: &[I32F32]| -> Vec<u64> {
        xs.iter()
            .map(|&x| {
                I96F32::saturating_from_num(x)
                    .saturating_mul(budget)
                    .saturating_to_num::<u64>()
            })
            .collect()
    };

    let u16s = |xs: &[I32F32]| xs.iter().map(|&x| to_u16_proportion(x)).collect();
    let bits = |xs: &[I32F32]| xs.iter().map(|x| x.to_bits()).collect();
    let out = EpochOutput {
        consensus: u16s(&consensus),
        incentive: u16s(&incentive),
        dividends: u16s(&dividends),
        validator_trust: u16s(&validator_trust),
        bonds: stored_bonds,
        validator_permit: new_permit,
        server_emission: rao(&server_share),
        validator_emission: rao(&validator_share),
        combined_emission: rao(&combined_share),
        consensus_bits: bits(&consensus),
        incentive_bits: bits(&incentive),
        dividends_bits: bits(&dividends),
        active,
        stake_weight: u16s(&stake),
    };
    (out, swept)
}

/// What steps 7–13 of the general path read besides the parameters and the input.
struct GeneralInput<'a> {
    n: usize,
    weights: &'a Csr,
    consensus: &'a [I32F32],
    active_stake: &'a [I32F32],
    new_permit: &'a [bool],
    last_tempo: u64,
}

/// Steps 7–13, one matrix at a time: validator trust, incentive, dividends (all
/// `I32F32`) and the u16 bond rows to store.
#[allow(clippy::type_complexity)]
fn general(
    params: &Params,
    input: &EpochInput,
    g: GeneralInput<'_>,
) -> (Vec<I32F32>, Vec<I32F32>, Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    let st = &input.state;
    let GeneralInput {
        n,
        weights,
        consensus,
        active_stake,
        new_permit,
        last_tempo,
    } = g;
    // Step 7: clip at consensus; entries over a zero consensus are dropped.
    // Steps 8 and 9 ride along in the same pass: validator trust is the row sum of the
    // clipped weights (`row_sum_sparse`) and rank the stake-weighted column sum
    // (`matmul_sparse`), accumulated in the same row order as upstream.
    let mut validator_trust = vec![ZERO; n];
    let mut incentive = vec![ZERO; n];
    let clipped = weights.filter_map(|i, j, w| {
        let c = consensus.get(usize::from(j)).copied().unwrap_or(ZERO);
        let v = if c < w {
            (c > ZERO).then_some(c)
        } else {
            Some(w)
        };
        if let Some(v) = v {
            if let Some(t) = validator_trust.get_mut(i) {
                *t = t.saturating_add(v);
            }
            let s = active_stake.get(i).copied().unwrap_or(ZERO);
            if let Some(r) = incentive.get_mut(usize::from(j)) {
                *r = r.saturating_add(mul(s, v));
            }
        }
        v
    });
    // Step 9: incentive = normalised rank.
    normalize(&mut incentive);

    // Step 10: weights for bonds, W̃ = W + β(W̄ − W).
    let beta = u16_proportion(params.bonds_penalty);
    let weights_for_bonds = interpolate(weights, &clipped, n, beta);

    // Step 11: bonds and dividends.
    let bond_input = BondInput {
        n,
        bonds: &st.bonds,
        weights_for_bonds: &weights_for_bonds,
        consensus,
        incentive: &incentive,
        active_stake,
        block_at_registration: &st.block_at_registration,
        last_tempo,
    };
    let out = if params.yuma3 {
        bonds::yuma3(params, &bond_input)
    } else {
        bonds::original(params, &bond_input)
    };
    // Step 13: bond storage: uids with a new permit keep their EMA row, others none.
    let store = |i: usize| -> Vec<(u16, u16)> {
        if new_permit.get(i).copied().unwrap_or(false) {
            out.bonds
                .iter_row(i)
                .map(|(j, v)| (j, to_u16_proportion(v)))
                .collect()
        } else {
            Vec::new()
        }
    };
    #[cfg(feature = "parallel")]
    let stored_bonds: Vec<Vec<(u16, u16)>> = if crate::sparse::worth_parallel(out.bonds.nnz()) {
        use rayon::prelude::*;
        (0..out.bonds.rows())
            .into_par_iter()
            .with_max_len(4)
            .map(store)
            .collect()
    } else {
        (0..out.bonds.rows()).map(store).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let stored_bonds: Vec<Vec<(u16, u16)>> = (0..out.bonds.rows()).map(store).collect();

    (validator_trust, incentive, out.dividends, stored_bonds)
}

/// Step 5: stored weights as `I32F32` integers, masked — rows without a permit; the
/// diagonal except the owner's; entries where the validator last updated at or before
/// the miner registered; entries older than the miner under commit-reveal — then
/// row-normalised.
fn load_weights(params: &Params, input: &EpochInput, permit: &[bool]) -> Csr {
    let st = &input.state;
    let owner = params.owner_uid.map(usize::from);
    let permitted = |i: usize| permit.get(i).copied().unwrap_or(false);
    let mut rows = RowsBuilder::new(
        st.weights
            .iter()
            .enumerate()
            .map(|(i, r)| if permitted(i) { r.len() } else { 0 }),
    );
    // Each row is masked and normalised on its own (its sum in its own order), so rows
    // may run on any thread.
    let row = |_: &mut (), slot: &mut RowSlot<'_>| {
        let i = slot.row;
        let Some(stored) = st.weights.get(i).filter(|_| permitted(i)) else {
            return;
        };
        let updated = st.last_update.get(i).copied().unwrap_or(0);
        let committed = st
            .commit_block
            .as_ref()
            .map(|c| c.get(i).copied().unwrap_or(u64::MAX));
        let mut total = ZERO;
        for &(j, v) in stored {
            let registered = st
                .block_at_registration
                .get(usize::from(j))
                .copied()
                .unwrap_or(0);
            if (usize::from(j) != i || owner == Some(i))
                && updated > registered
                && committed.is_none_or(|c| c >= registered)
            {
                let v = from_u16(v);
                total = total.saturating_add(v);
                slot.push(j, v);
            }
        }
        // `inplace_row_normalize_sparse`.
        if total > ZERO {
            let d = Divisor::new(total);
            let len = slot.len;
            if let Some(vals) = slot.val.get_mut(..len) {
                vals.iter_mut().for_each(|v| *v = d.div(*v));
            }
        }
    };
    let mut slots = rows.slots();
    each_init(
        &mut slots,
        parallel(st.weights.iter().map(Vec::len).sum()),
        |s| !s.col.is_empty(),
        || (),
        row,
    );
    let lens: Vec<usize> = slots.iter().map(|s| s.len).collect();
    drop(slots);
    rows.finish(&lens)
}

/// `is_topk_nonzero`: true for the k largest values (stable ascending sort, so on ties
/// at the cut lower uids lose), never for 0; every non-zero value if fewer than k.
pub(crate) fn is_topk_nonzero(values: &[I32F32], k: usize) -> Vec<bool> {
    let n = values.len();
    let mut out: Vec<bool> = values.iter().map(|&v| v != ZERO).collect();
    if n < k {
        return out;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| values.get(i).copied().unwrap_or(ZERO));
    for &i in idx.iter().take(n - k) {
        if let Some(o) = out.get_mut(i) {
            *o = false;
        }
    }
    out
}

/// `interpolate_sparse(W, W̄, β)`: β = 0 and β = 1 return an input unchanged (explicit
/// zeros kept); otherwise the union of entries, columns ascending, positives only.
pub(crate) fn interpolate<'a>(
    w: &'a Csr,
    clipped: &'a Csr,
    n: usize,
    beta: I32F32,
) -> Cow<'a, Csr> {
    if beta == ZERO {
        return Cow::Borrowed(w);
    }
    if beta == ONE {
        return Cow::Borrowed(clipped);
    }
    let mut a = Scratch::new(n);
    let mut b = Scratch::new(n);
    let mut rows = Vec::with_capacity(w.rows());
    for i in 0..w.rows() {
        for (j, v) in w.iter_row(i) {
            a.add(j, v, |_, v| v);
            b.add(j, ZERO, |old, _| old);
        }
        for (j, v) in clipped.iter_row(i) {
            b.add(j, v, |_, v| v);
            a.add(j, ZERO, |old, _| old);
        }
        let mut row = Vec::new();
        let mut second = Vec::new();
        b.drain_sorted(|j, v| second.push((j, v)));
        let mut k = 0;
        a.drain_sorted(|j, v1| {
            let v2 = second.get(k).map_or(ZERO, |&(_, v)| v);
            k += 1;
            let x = v1.saturating_add(beta.saturating_mul(v2.saturating_sub(v1)));
            if x > ZERO {
                row.push((j, x));
            }
        });
        rows.push(row);
    }
    Cow::Owned(Csr::from_rows(rows))
}
