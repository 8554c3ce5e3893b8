//! Steps 7–13 of a Yuma3 epoch with liquid alpha, one sweep per row (notes §1.3 steps 7–13,
//! §1.4, §6).
//!
//! The general path (`epoch::run` with `bonds::yuma3`) builds the clipped weights, `W̃`,
//! the stored bonds and the EMA as separate matrices. When every weight row and every
//! stored bond row is sorted by uid (what `set_weights` and the chain produce, and what
//! upstream's liquid-alpha merge needs to see every entry), each validator's row can go
//! through all of it at once: clip at consensus, interpolate, find the old bond with a
//! two-pointer walk, evaluate α (the `exp`s of a row batched), EMA, written over the
//! row's weights. The column sums of the incentive and of the bonds ride along, one set
//! per thread, added up at the end (equal to upstream's row-order sums: see
//! `RowScratch::merge`). Nothing else changes: per entry the same operations on the same
//! values, every row sum in row order. `tests` below checks the sweep against the general
//! path on random subnets.

use crate::bonds::{Sigmoid, ema_alpha_entry};
use crate::fixed::{
    Divisor, ExpScratch, I32F32, ONE, ZERO, add_unit, exp_safe_many_grouped, mul, normalize,
    to_u16_proportion, u16_proportion,
};
use crate::sparse::{Csr, RowMut, ascending, ascending_pairs, each_init, fold_each, parallel};
use crate::types::{Params, SparseRow};

/// What the sweep reads.
pub(crate) struct SweepInput<'a> {
    /// Number of uids.
    pub n: usize,
    /// Stored bond rows (sorted), u16 proportions.
    pub bonds: &'a [SparseRow],
    /// `BlockAtRegistration`, for the recently-registered bond mask.
    pub block_at_registration: &'a [u64],
    /// First block after the previous epoch (`last_tempo` upstream).
    pub last_tempo: u64,
    /// This epoch's consensus (not all zero: liquid alpha is on).
    pub consensus: &'a [I32F32],
    /// Normalised active stake.
    pub active_stake: &'a [I32F32],
    /// Permits for the next epoch: only their bond rows are stored.
    pub new_permit: &'a [bool],
}

/// What the sweep produces.
pub(crate) struct SweepOutput {
    /// Row sums of the clipped weights.
    pub validator_trust: Vec<I32F32>,
    /// Normalised stake-weighted column sums of the clipped weights.
    pub incentive: Vec<I32F32>,
    /// Normalised dividends.
    pub dividends: Vec<I32F32>,
    /// Bond rows to store, u16.
    pub bonds: Vec<SparseRow>,
}

/// Whether the sweep applies: sorted weight rows and sorted stored bond rows.
pub(crate) fn applies(weights: &Csr, bonds: &[SparseRow]) -> bool {
    (0..weights.rows()).all(|i| ascending(weights.row(i).0))
        && bonds.iter().all(|r| ascending_pairs(r))
}

/// How `W̃ = W + β(W̄ − W)` treats an entry (`interpolate_sparse`).
#[derive(Clone, Copy)]
enum Penalty {
    /// β = 0: `W̃ = W`, explicit zeros kept.
    Zero,
    /// β = 1: `W̃ = W̄`, explicit zeros kept.
    One,
    /// Otherwise: the interpolation, positives only.
    Mid(I32F32),
}

/// Per-thread buffers of one row, and the thread's share of the column sums.
struct RowScratch {
    /// Per entry of `W̃`: its position in the row, value, old bond, and whether α waits
    /// for an `exp`.
    entries: Vec<(u32, I32F32, Option<I32F32>, bool)>,
    /// The exponents of the entries waiting for an `exp`, in order (then their α), and
    /// their `exp`s.
    xs: Vec<I32F32>,
    es: Vec<I32F32>,
    exp: ExpScratch,
    /// Column sums over this thread's rows: `stake_i · min(W_ij, c_j)` (step 9's
    /// `matmul_sparse(W̄, S)`) and the EMA bonds (`inplace_col_normalize_sparse`).
    rank: Vec<I32F32>,
    bond_sums: Vec<I32F32>,
}

impl RowScratch {
    fn new(n: usize) -> Self {
        Self {
            entries: Vec::new(),
            xs: Vec::new(),
            es: Vec::new(),
            exp: ExpScratch::default(),
            rank: vec![ZERO; n],
            bond_sums: vec![ZERO; n],
        }
    }

    /// Adds the column sums of `other`'s rows to ours.
    ///
    /// Column sums in any grouping of the rows equal upstream's sums in row order: every
    /// summand lies in `[0, 1]` (stake and clipped weights are in `[0, 1]`, an EMA bond is
    /// at most 1) and a column has at most 65 535 rows, so no partial sum comes near the
    /// `I32F32` limit of 2^31, the saturating adds never saturate, and integer addition is
    /// associative.
    fn merge(mut self, other: Self) -> Self {
        for (a, b) in self.rank.iter_mut().zip(&other.rank) {
            *a = a.saturating_add(*b);
        }
        for (a, b) in self.bond_sums.iter_mut().zip(&other.bond_sums) {
            *a = a.saturating_add(*b);
        }
        self
    }
}

/// Steps 7 (clip), 8 (trust), 9 (incentive), 10 (`W̃`), 11 (liquid-alpha EMA, dividends)
/// and 13 (bond quantisation). `weights` is `W` (row-normalised, masked, sorted rows); the
/// EMA bonds are written over its values.
pub(crate) fn sweep(params: &Params, input: &SweepInput<'_>, mut weights: Csr) -> SweepOutput {
    let n = input.n;
    let beta = crate::fixed::u16_proportion(params.bonds_penalty);
    let penalty = if beta == ZERO {
        Penalty::Zero
    } else if beta == ONE {
        Penalty::One
    } else {
        Penalty::Mid(beta)
    };
    let sigmoid = Sigmoid::new(params);
    // `scalar_vec_mask_sparse_matrix(.., |t, r| t <= r)`: bonds to recent registrations drop.
    let bond_kept: Vec<bool> = (0..n)
        .map(|j| {
            let registered = input.block_at_registration.get(j).copied().unwrap_or(0);
            input.last_tempo > registered
        })
        .collect();
    let consensus = |j: u16| input.consensus.get(usize::from(j)).copied().unwrap_or(ZERO);

    // One row: clip, W̃, old bond, α, EMA. Overwrites the row's weights with its EMA bonds
    // (0 where the EMA keeps no entry: every kept EMA value is positive), sets the row's
    // sum to its trust, and adds the row to the scratch's column sums.
    let row = |sc: &mut RowScratch, r: &mut RowMut<'_>| {
        let i = r.row;
        let old: &[(u16, u16)] = input.bonds.get(i).map_or(&[], Vec::as_slice);
        let stake = input.active_stake.get(i).copied().unwrap_or(ZERO);
        sc.entries.clear();
        sc.xs.clear();
        let mut t = ZERO;
        let mut k = 0;
        for (p, (&j, &v)) in r.col.iter().zip(r.val.iter()).enumerate() {
            let c = consensus(j);
            let (clipped, kept) = clip(v, c);
            // A dropped entry adds 0, as its absence does.
            // Weights, consensus and stake are in [0, 1]: `add_unit` is the saturating add.
            t = add_unit(t, clipped);
            if let Some(o) = sc.rank.get_mut(usize::from(j)) {
                *o = add_unit(*o, mul(stake, clipped));
            }
            let wt = match penalty {
                Penalty::Zero => Some(v),
                Penalty::One => kept.then_some(clipped),
                Penalty::Mid(beta) => {
                    // A dropped entry of W̄ is 0 in the interpolation.
                    let x = v.saturating_add(beta.saturating_mul(clipped.saturating_sub(v)));
                    (x > ZERO).then_some(x)
                }
            };
            let Some(wt) = wt else { continue };
            while old.get(k).is_some_and(|&(o, _)| o < j) {
                k += 1;
            }
            let b = match old.get(k) {
                Some(&(o, b))
                    if o == j && bond_kept.get(usize::from(j)).copied().unwrap_or(false) =>
                {
                    Some(u16_proportion(b))
                }
                _ => None,
            };
            let d = Sigmoid::difference(c, wt, b.unwrap_or(ZERO));
            // α: d = 0 (common: buying at or under consensus) is precomputed, the rest go
            // through one batched exp.
            let waits = d != ZERO;
            if waits {
                sc.xs.push(sigmoid.exponent(d));
            }
            // Rows are at most u16::MAX + 1 long.
            sc.entries.push((p as u32, wt, b, waits));
        }
        r.sum = t;
        r.val.iter_mut().for_each(|v| *v = ZERO);
        exp_safe_many_grouped(&sc.xs, &mut sc.es, &mut sc.exp);
        sigmoid.alphas_from_exps(&sc.es, &mut sc.xs);
        let mut alphas = sc.xs.iter();
        for &(p, wt, b, waits) in &sc.entries {
            let a = if waits {
                alphas.next().copied().unwrap_or(ZERO)
            } else {
                sigmoid.at_zero
            };
            if let Some(value) = ema_alpha_entry(a, b, wt) {
                let p = p as usize;
                if let (Some(&j), Some(v)) = (r.col.get(p), r.val.get_mut(p)) {
                    *v = value;
                    if let Some(o) = sc.bond_sums.get_mut(usize::from(j)) {
                        *o = add_unit(*o, value);
                    }
                }
            }
        }
    };
    let threads = parallel(weights.nnz());
    let mut rows = weights.rows_mut();
    // Rows without weights have nothing to do; spread the others.
    let mut busy: Vec<&mut RowMut<'_>> = rows.iter_mut().filter(|r| !r.col.is_empty()).collect();
    let sums = fold_each(
        &mut busy,
        threads,
        || RowScratch::new(n),
        |sc, r| row(sc, r),
        RowScratch::merge,
    );
    drop(busy);
    let validator_trust: Vec<I32F32> = rows.iter().map(|r| r.sum).collect();
    drop(rows);
    let ema = weights;
    let mut incentive = sums.rank;
    normalize(&mut incentive);
    let bond_sums: Vec<Divisor> = sums.bond_sums.into_iter().map(Divisor::new).collect();

    // Dividends t_i = Σ_j (B_ij / Σ_k B_kj) · I_j per row, and the u16 rows to store. An
    // absent EMA entry is 0 here and adds 0.
    let mut per_row: Vec<(usize, I32F32, SparseRow)> =
        (0..ema.rows()).map(|i| (i, ZERO, Vec::new())).collect();
    each_init(
        &mut per_row,
        threads,
        |(i, _, _)| !ema.row(*i).0.is_empty(),
        || (),
        |_, (i, total, stored)| {
            let (cols, vals) = ema.row(*i);
            let mut t = ZERO;
            for (&j, &b) in cols.iter().zip(vals) {
                let b = match bond_sums.get(usize::from(j)) {
                    Some(s) if !s.is_zero() => s.div(b),
                    _ => b,
                };
                let inc = incentive.get(usize::from(j)).copied().unwrap_or(ZERO);
                // b <= 1 (a share of its column's sum), incentive in [0, 1].
                t = add_unit(t, mul(b, inc));
            }
            *total = t;
            if input.new_permit.get(*i).copied().unwrap_or(false) {
                *stored = cols
                    .iter()
                    .zip(vals)
                    .filter(|&(_, &v)| v > ZERO)
                    .map(|(&j, &v)| (j, to_u16_proportion(v)))
                    .collect();
            }
        },
    );
    let mut dividends: Vec<I32F32> = per_row
        .iter()
        .zip(input.active_stake)
        .map(|((_, t, _), s)| t.checked_mul(*s).unwrap_or(ZERO))
        .collect();
    normalize(&mut dividends);
    SweepOutput {
        validator_trust,
        incentive,
        dividends,
        bonds: per_row.into_iter().map(|(_, _, r)| r).collect(),
    }
}

/// `col_clip_sparse` of one entry: `min(w, c)`, dropped when above a consensus `c <= 0`.
/// Returns the value added to sums (0 when dropped) and whether the entry is kept.
/// Written without branches: whether a weight is over consensus is a coin toss.
#[inline]
fn clip(w: I32F32, c: I32F32) -> (I32F32, bool) {
    let over = c < w;
    let dropped = over & (c <= ZERO);
    let x = if over { c } else { w };
    (if dropped { ZERO } else { x }, !dropped)
}

#[cfg(test)]
mod tests {
    use crate::epoch::{run_general, run_with};
    use crate::types::{EpochInput, Params, State};

    /// A random subnet with sorted rows, some uids without stake, weights or bonds.
    fn subnet(seed: u64, n: usize, validators: usize, beta: u16) -> (Params, EpochInput) {
        let mut next = crate::xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut rows = |density: u64| -> Vec<Vec<(u16, u16)>> {
            let mut out = vec![Vec::new(); n];
            for row in out.iter_mut().take(validators) {
                for j in 0..n as u16 {
                    if next() % 100 < density {
                        let v = match next() % 5 {
                            0 => 0,
                            1 => u16::MAX,
                            _ => next() as u16,
                        };
                        row.push((j, v));
                    }
                }
            }
            out
        };
        let weights = rows(70);
        let bonds = rows(50);
        let state = State {
            n: n as u16,
            current_block: 1_000,
            stake: (0..n)
                .map(|i| {
                    if i < validators {
                        next() % 1_000_000_000_000
                    } else {
                        0
                    }
                })
                .collect(),
            weights,
            bonds,
            last_update: (0..n as u64).map(|i| 990 + i % 11).collect(),
            block_at_registration: (0..n as u64).map(|i| (i * 37) % 1_000).collect(),
            validator_permit: (0..n).map(|i| i < validators).collect(),
            commit_block: None,
        };
        let params = Params {
            liquid_alpha: true,
            bonds_penalty: beta,
            alpha_low: 6_000,
            alpha_high: 60_000,
            max_allowed_validators: validators as u16,
            ..Params::default()
        };
        (
            params,
            EpochInput {
                state,
                emission: 1_000_000_000,
            },
        )
    }

    #[test]
    fn sweep_matches_the_general_path() {
        for seed in 0..24 {
            for beta in [0, 65_535, 30_000] {
                let (p, input) = subnet(seed, 40 + seed as usize, 12, beta);
                let fused = run_with(&p, &input, true);
                assert!(fused.1, "the sweep ran");
                assert_eq!(fused.0, run_general(&p, &input), "seed {seed}, beta {beta}");
            }
        }
    }

    #[test]
    fn sweep_matches_the_general_path_over_the_parallel_threshold() {
        let (p, input) = subnet(99, 700, 150, 65_535);
        assert!(input.state.weights.iter().map(Vec::len).sum::<usize>() >= 1 << 16);
        let fused = run_with(&p, &input, true);
        assert!(fused.1);
        assert_eq!(fused.0, run_general(&p, &input));
    }
}
