//! A slow, obviously correct dense reference of the sparse epoch.
//!
//! Matrices are dense `n × n` grids of `Option<I32F32>`, where `None` is an entry the
//! sparse matrix does not store; so this reference follows the chain's *sparse* semantics
//! (dropped clipped entries, bonds dropped with their weight, the owner's kept self-weight)
//! while computing everything the plain way: the upstream pivot-partition weighted median,
//! a full n × n liquid-alpha matrix with the library's `exp`, and library division.
//! Rows are assumed to be stored in ascending uid order.

use substrate_fixed::types::{I32F32, I64F64, I96F32};
use yuma::{EpochInput, EpochOutput, Params};

type Grid = Vec<Vec<Option<I32F32>>>;

fn zero() -> I32F32 {
    I32F32::from_num(0)
}
fn one() -> I32F32 {
    I32F32::from_num(1)
}
fn div(a: I32F32, b: I32F32) -> I32F32 {
    a.checked_div(b).unwrap_or(zero())
}
fn proportion(x: u16) -> I32F32 {
    div(I32F32::from_num(x), I32F32::from_num(u16::MAX))
}
fn to_u16(x: I32F32) -> u16 {
    x.saturating_mul(I32F32::from_num(u16::MAX))
        .saturating_to_num::<u16>()
}
fn normalize(x: &mut [I32F32]) {
    let s = x.iter().fold(zero(), |a, b| a.saturating_add(*b));
    if s != zero() {
        x.iter_mut().for_each(|v| *v = div(*v, s));
    }
}
fn grid(n: usize) -> Grid {
    vec![vec![None; n]; n]
}

/// math.rs `weighted_median`, transcribed.
fn weighted_median(
    stake: &[I32F32],
    score: &[I32F32],
    idx: &[usize],
    minority: I32F32,
    mut lo: I32F32,
    mut hi: I32F32,
) -> I32F32 {
    let mut part = idx.to_vec();
    for _ in 0..=idx.len() {
        let n = part.len();
        if n == 0 {
            return zero();
        }
        if n == 1 {
            return score[part[0]];
        }
        let pivot = score[part[n / 2]];
        let (mut lo_stake, mut hi_stake) = (zero(), zero());
        let (mut lower, mut upper) = (vec![], vec![]);
        for &i in &part {
            if score[i] == pivot {
                continue;
            }
            if score[i] < pivot {
                lo_stake = lo_stake.saturating_add(stake[i]);
                lower.push(i);
            } else {
                hi_stake = hi_stake.saturating_add(stake[i]);
                upper.push(i);
            }
        }
        if minority < lo.saturating_add(lo_stake) && !lower.is_empty() {
            part = lower;
            hi = lo.saturating_add(lo_stake);
        } else if hi.saturating_sub(hi_stake) <= minority && !upper.is_empty() {
            part = upper;
            lo = hi.saturating_sub(hi_stake);
        } else {
            return pivot;
        }
    }
    zero()
}

fn exp_safe(x: I32F32) -> I32F32 {
    let x = x.max(I32F32::from_num(-20)).min(I32F32::from_num(20));
    substrate_fixed::transcendental::exp::<I32F32, I32F32>(x).unwrap_or(if x <= zero() {
        zero()
    } else {
        I32F32::max_value()
    })
}

fn alpha_sigmoid(p: &Params, c: I32F32, w: I32F32, b: I32F32) -> I32F32 {
    let (low, high) = (proportion(p.alpha_low), proportion(p.alpha_high));
    let steep = I32F32::from_num(p.alpha_sigmoid_steepness);
    let buy = w.saturating_sub(c).min(one()).max(zero());
    let sell = b.saturating_sub(w).min(one()).max(zero());
    let d = if w >= b { buy } else { sell };
    let e = exp_safe(
        steep
            .saturating_div(I32F32::from_num(-100))
            .saturating_mul(d.saturating_sub(I32F32::from_num(0.5))),
    );
    let s = one().saturating_div(one().saturating_add(e));
    let a = low.saturating_add(s.saturating_mul(high.saturating_sub(low)));
    a.min(high).max(low)
}

fn col_normalize(m: &mut Grid, n: usize) {
    for j in 0..n {
        let s = (0..n).fold(zero(), |a, i| a.saturating_add(m[i][j].unwrap_or(zero())));
        if s != zero() {
            for row in m.iter_mut() {
                if let Some(v) = &mut row[j] {
                    *v = div(*v, s);
                }
            }
        }
    }
}

fn ema_fixed(new: &Grid, old: &Grid, alpha: I32F32, n: usize) -> Grid {
    let mut out = grid(n);
    for i in 0..n {
        for j in 0..n {
            if new[i][j].is_none() && old[i][j].is_none() {
                continue;
            }
            let a = alpha.saturating_mul(new[i][j].unwrap_or(zero()));
            let b = one()
                .saturating_sub(alpha)
                .saturating_mul(old[i][j].unwrap_or(zero()));
            let v = zero().saturating_add(a).saturating_add(b);
            out[i][j] = (v > zero()).then_some(v);
        }
    }
    out
}

/// One epoch, the slow way.
pub fn epoch(p: &Params, input: &EpochInput) -> EpochOutput {
    let st = &input.state;
    let n = usize::from(st.n);
    let owner = p.owner_uid.map(usize::from);
    let active: Vec<bool> = (0..n)
        .map(|i| st.last_update[i].saturating_add(p.activity_cutoff) >= st.current_block)
        .collect();

    let mut s64: Vec<I64F64> = (0..n)
        .map(|i| {
            let s = I64F64::saturating_from_num(st.stake[i]);
            if owner != Some(i) && s.saturating_to_num::<u64>() < p.stake_threshold {
                I64F64::from_num(0)
            } else {
                s
            }
        })
        .collect();
    let total = s64
        .iter()
        .fold(I64F64::from_num(0), |a, b| a.saturating_add(*b));
    if total != I64F64::from_num(0) {
        s64.iter_mut()
            .for_each(|s| *s = s.checked_div(total).unwrap_or(I64F64::from_num(0)));
    }
    let stake: Vec<I32F32> = s64
        .iter()
        .map(|s| I32F32::saturating_from_num(*s))
        .collect();

    let mut permit = st.validator_permit.clone();
    if let Some(o) = owner.filter(|&o| o < n) {
        permit[o] = true;
    }
    // is_topk_nonzero
    let k = usize::from(p.max_allowed_validators);
    let mut new_permit: Vec<bool> = stake.iter().map(|s| *s != zero()).collect();
    if n >= k {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by_key(|&i| stake[i]);
        for &i in idx.iter().take(n - k) {
            new_permit[i] = false;
        }
    }
    if let Some(o) = owner.filter(|&o| o < n) {
        new_permit[o] = true;
    }

    let mut active_stake: Vec<I32F32> = (0..n)
        .map(|i| {
            if active[i] && permit[i] {
                stake[i]
            } else {
                zero()
            }
        })
        .collect();
    normalize(&mut active_stake);

    // Weights with every mask, then row normalisation.
    let mut w = grid(n);
    for i in 0..n {
        for &(j, v) in &st.weights[i] {
            let j = usize::from(j);
            let keep = permit[i]
                && (i != j || owner == Some(i))
                && st.last_update[i] > st.block_at_registration[j]
                && st
                    .commit_block
                    .as_ref()
                    .is_none_or(|c| c[i] >= st.block_at_registration[j]);
            if keep {
                w[i][j] = Some(I32F32::from_num(v));
            }
        }
        let s = w[i]
            .iter()
            .flatten()
            .fold(zero(), |a, b| a.saturating_add(*b));
        if s > zero() {
            w[i].iter_mut().flatten().for_each(|v| *v = div(*v, s));
        }
    }

    // Consensus: weighted_median_col_sparse.
    let kappa = proportion(p.kappa);
    let rows: Vec<usize> = (0..n).filter(|&i| active_stake[i] > zero()).collect();
    let mut use_stake: Vec<I32F32> = rows.iter().map(|&i| active_stake[i]).collect();
    normalize(&mut use_stake);
    let stake_sum = use_stake.iter().fold(zero(), |a, b| a.saturating_add(*b));
    let minority = stake_sum.saturating_sub(kappa);
    let idx: Vec<usize> = (0..rows.len()).collect();
    let consensus: Vec<I32F32> = (0..n)
        .map(|j| {
            let score: Vec<I32F32> = rows.iter().map(|&i| w[i][j].unwrap_or(zero())).collect();
            weighted_median(&use_stake, &score, &idx, minority, zero(), stake_sum)
        })
        .collect();

    let mut clipped = grid(n);
    for i in 0..n {
        for j in 0..n {
            if let Some(v) = w[i][j] {
                let c = consensus[j];
                clipped[i][j] = if c < v {
                    (c > zero()).then_some(c)
                } else {
                    Some(v)
                };
            }
        }
    }
    let trust: Vec<I32F32> = (0..n)
        .map(|i| {
            clipped[i]
                .iter()
                .flatten()
                .fold(zero(), |a, b| a.saturating_add(*b))
        })
        .collect();
    let mut incentive = vec![zero(); n];
    for i in 0..n {
        for j in 0..n {
            if let Some(v) = clipped[i][j] {
                incentive[j] = incentive[j].saturating_add(active_stake[i].saturating_mul(v));
            }
        }
    }
    normalize(&mut incentive);

    let beta = proportion(p.bonds_penalty);
    let wb: Grid = if beta == zero() {
        w.clone()
    } else if beta == one() {
        clipped.clone()
    } else {
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let (a, b) = (w[i][j].unwrap_or(zero()), clipped[i][j].unwrap_or(zero()));
                        let x = a.saturating_add(beta.saturating_mul(b.saturating_sub(a)));
                        (x > zero()).then_some(x)
                    })
                    .collect()
            })
            .collect()
    };

    let last_tempo = if p.last_mechanism_step_block == 0 {
        st.current_block.saturating_sub(p.tempo)
    } else {
        p.last_mechanism_step_block.saturating_add(1)
    };
    let read_bonds = |f: &dyn Fn(u16) -> I32F32| -> Grid {
        let mut b = grid(n);
        for i in 0..n {
            for &(j, v) in &st.bonds[i] {
                let j = usize::from(j);
                if last_tempo > st.block_at_registration[j] {
                    b[i][j] = Some(f(v));
                }
            }
        }
        b
    };
    let bma = I64F64::saturating_from_num(p.bonds_moving_average)
        .checked_div(I64F64::from_num(1_000_000))
        .unwrap_or(I64F64::from_num(0));
    let fixed_alpha = one().saturating_sub(I32F32::saturating_from_num(bma));

    let (mut ema, mut dividends);
    if p.yuma3 {
        let old = read_bonds(&proportion);
        if p.liquid_alpha && consensus.iter().any(|c| *c != zero()) {
            let alpha: Vec<Vec<I32F32>> = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| {
                            let wv = wb[i][j].unwrap_or(zero());
                            let bv = old[i][j].unwrap_or(zero());
                            alpha_sigmoid(p, consensus[j], wv, bv)
                        })
                        .collect()
                })
                .collect();
            ema = grid(n);
            for i in 0..n {
                for j in 0..n {
                    if let Some(nv) = wb[i][j] {
                        let a = alpha[i][j];
                        let decayed =
                            old[i][j].map_or(zero(), |b| one().saturating_sub(a).saturating_mul(b));
                        let v = decayed
                            .saturating_add(a.saturating_mul(nv).max(zero()))
                            .min(one());
                        ema[i][j] = (v > zero()).then_some(v);
                    }
                }
            }
        } else {
            ema = ema_fixed(&wb, &old, fixed_alpha, n);
        }
        let mut norm = ema.clone();
        col_normalize(&mut norm, n);
        dividends = (0..n)
            .map(|i| {
                let t = (0..n).fold(zero(), |a, j| {
                    a.saturating_add(norm[i][j].unwrap_or(zero()).saturating_mul(incentive[j]))
                });
                t.checked_mul(active_stake[i]).unwrap_or(zero())
            })
            .collect::<Vec<_>>();
        normalize(&mut dividends);
    } else {
        let mut old = read_bonds(&|v| I32F32::from_num(v));
        col_normalize(&mut old, n);
        let mut delta = wb.clone();
        for i in 0..n {
            for v in delta[i].iter_mut().flatten() {
                *v = v.saturating_mul(active_stake[i]);
            }
        }
        col_normalize(&mut delta, n);
        ema = ema_fixed(&delta, &old, fixed_alpha, n);
        col_normalize(&mut ema, n);
        dividends = (0..n)
            .map(|i| {
                (0..n).fold(zero(), |a, j| {
                    a.saturating_add(incentive[j].saturating_mul(ema[i][j].unwrap_or(zero())))
                })
            })
            .collect();
        normalize(&mut dividends);
        for j in 0..n {
            let m = (0..n).fold(zero(), |m, i| m.max(ema[i][j].unwrap_or(zero())));
            if m != zero() {
                for row in ema.iter_mut() {
                    if let Some(v) = &mut row[j] {
                        *v = div(*v, m);
                    }
                }
            }
        }
    }

    let combined: Vec<I32F32> = (0..n)
        .map(|i| incentive[i].saturating_add(dividends[i]))
        .collect();
    let sum = combined.iter().fold(zero(), |a, b| a.saturating_add(*b));
    let share = |x: &[I32F32]| -> Vec<I32F32> {
        if sum == zero() {
            x.to_vec()
        } else {
            x.iter().map(|v| div(*v, sum)).collect()
        }
    };
    let server = share(&incentive);
    let mut validator = share(&dividends);
    let mut comb = combined.clone();
    normalize(&mut comb);
    if sum == zero() {
        let fb = if active_stake.iter().all(|s| *s == zero()) {
            &stake
        } else {
            &active_stake
        };
        validator = fb.clone();
        comb = fb.clone();
    }
    let e = I96F32::saturating_from_num(input.emission);
    let rao = |x: &[I32F32]| -> Vec<u64> {
        x.iter()
            .map(|v| {
                I96F32::saturating_from_num(*v)
                    .saturating_mul(e)
                    .saturating_to_num::<u64>()
            })
            .collect()
    };
    let bonds = (0..n)
        .map(|i| {
            if !new_permit[i] {
                return vec![];
            }
            (0..n)
                .filter_map(|j| ema[i][j].map(|v| (j as u16, to_u16(v))))
                .collect()
        })
        .collect();
    let u16s = |x: &[I32F32]| x.iter().map(|v| to_u16(*v)).collect();
    let bits = |x: &[I32F32]| x.iter().map(|v| v.to_bits()).collect();
    EpochOutput {
        consensus: u16s(&consensus),
        incentive: u16s(&incentive),
        dividends: u16s(&dividends),
        validator_trust: u16s(&trust),
        bonds,
        validator_permit: new_permit,
        server_emission: rao(&server),
        validator_emission: rao(&validator),
        combined_emission: rao(&comb),
        consensus_bits: bits(&consensus),
        incentive_bits: bits(&incentive),
        dividends_bits: bits(&dividends),
        active,
        stake_weight: u16s(&stake),
    }
}
