//! Bonds and dividends: Yuma3 relative bonds (notes §1.4) and original Yuma (§1.5).

use crate::fixed::{
    Divisor, ExpScratch, I32F32, I64F64, ONE, RECIP_LANES, ZERO, div64, exp_safe,
    exp_safe_many_grouped, from_u16, mul, normalize, recip, recip_many, u16_proportion,
};
use crate::sparse::{Csr, Scratch, ascending};
use crate::types::{Params, SparseRow};

/// What the bond step reads besides the parameters.
pub(crate) struct BondInput<'a> {
    /// Number of uids (rows and columns).
    pub n: usize,
    /// Stored bond rows from the previous epoch.
    pub bonds: &'a [SparseRow],
    /// `W̃`: weights after the bonds-penalty interpolation.
    pub weights_for_bonds: &'a Csr,
    /// This epoch's consensus.
    pub consensus: &'a [I32F32],
    /// This epoch's incentive.
    pub incentive: &'a [I32F32],
    /// Normalised active stake.
    pub active_stake: &'a [I32F32],
    /// `BlockAtRegistration`, for the recently-registered column mask.
    pub block_at_registration: &'a [u64],
    /// First block after the previous epoch (`last_tempo` upstream).
    pub last_tempo: u64,
}

/// The EMA bonds to store (before u16 quantisation) and the dividends.
pub(crate) struct BondOutput {
    pub bonds: Csr,
    pub dividends: Vec<I32F32>,
}

/// The fixed EMA rate `1 − bonds_moving_average / 10⁶`
/// (`compute_disabled_liquid_alpha`, `compute_ema_bonds_normal_sparse`).
fn fixed_alpha(bonds_moving_average: u64) -> I32F32 {
    let bma = div64(
        I64F64::saturating_from_num(bonds_moving_average),
        I64F64::saturating_from_num(1_000_000),
    );
    ONE.saturating_sub(I32F32::saturating_from_num(bma))
}

/// Reads stored bonds with `read`, dropping columns of uids registered at or after
/// `last_tempo` (`scalar_vec_mask_sparse_matrix(.., |t, r| t <= r)`).
fn load_bonds(input: &BondInput<'_>, read: impl Fn(u16) -> I32F32) -> Csr {
    Csr::from_rows(input.bonds.iter().map(|row| {
        row.iter().filter_map(|&(j, b)| {
            let registered = input
                .block_at_registration
                .get(usize::from(j))
                .copied()
                .unwrap_or(0);
            (input.last_tempo > registered).then(|| (j, read(b)))
        })
    }))
}

/// `mat_ema_sparse(new, old, α)`: `α·new + (1−α)·old` over the union of entries, columns
/// ascending, keeping only positive results.
fn ema_fixed(new: &Csr, old: &Csr, alpha: I32F32, n: usize) -> Csr {
    let one_minus = ONE.saturating_sub(alpha);
    let mut acc = Scratch::new(n);
    let mut rows = Vec::with_capacity(new.rows());
    for i in 0..new.rows() {
        for (j, v) in new.iter_row(i) {
            acc.add(j, alpha.saturating_mul(v), |a, b| a.saturating_add(b));
        }
        for (j, v) in old.iter_row(i) {
            acc.add(j, one_minus.saturating_mul(v), |a, b| a.saturating_add(b));
        }
        let mut row = Vec::new();
        acc.drain_sorted(|j, v| {
            if v > ZERO {
                row.push((j, v));
            }
        });
        rows.push(row);
    }
    Csr::from_rows(rows)
}

/// The liquid-alpha sigmoid of `run_epoch.rs::alpha_sigmoid`, with its constants hoisted.
pub(crate) struct Sigmoid {
    low: I32F32,
    high: I32F32,
    slope: I32F32,
    half: I32F32,
    /// α at difference 0.
    pub(crate) at_zero: I32F32,
}

impl Sigmoid {
    pub(crate) fn new(params: &Params) -> Self {
        let low = u16_proportion(params.alpha_low);
        let high = u16_proportion(params.alpha_high);
        let steepness = I32F32::saturating_from_num(params.alpha_sigmoid_steepness);
        let slope = steepness.saturating_div(I32F32::saturating_from_num(-100));
        let half = I32F32::saturating_from_num(0.5);
        let mut s = Self {
            low,
            high,
            slope,
            half,
            at_zero: ZERO,
        };
        s.at_zero = s.alpha_for(ZERO);
        s
    }

    /// α as a function of the clamped difference `d`.
    fn alpha_for(&self, d: I32F32) -> I32F32 {
        self.alpha_from_exp(exp_safe(self.exponent(d)))
    }

    /// The argument of `exp_safe` for difference `d`.
    pub(crate) fn exponent(&self, d: I32F32) -> I32F32 {
        mul(self.slope, d.saturating_sub(self.half))
    }

    /// α from `e = exp_safe(exponent(d))`.
    pub(crate) fn alpha_from_exp(&self, e: I32F32) -> I32F32 {
        // 1 / (1 + e) <= 1 never overflows, so `recip` equals the library's saturating_div.
        let sigmoid = recip(ONE.saturating_add(e));
        let alpha = self
            .low
            .saturating_add(mul(sigmoid, self.high.saturating_sub(self.low)));
        alpha.min(self.high).max(self.low)
    }

    /// [`Sigmoid::alpha_from_exp`] of every `e` in `es`, written to `out`; chunks whose
    /// `1 + e` are all below 2^52 (every `e` of an exponent in `(−8, 8)`) take the
    /// vectorisable [`recip_many`] and 32-bit multiplies.
    pub(crate) fn alphas_from_exps(&self, es: &[I32F32], out: &mut Vec<I32F32>) {
        out.clear();
        let (low, high) = (self.low.to_bits(), self.high.to_bits());
        // `high − low` in [0, 1] (both are u16 proportions, low <= high after validation;
        // otherwise the scalar path).
        let span = high.saturating_sub(low);
        for chunk in es.chunks(RECIP_LANES) {
            let mut y = [1_u64 << 32; RECIP_LANES];
            let mut fits = (0..=1 << 32).contains(&span) && low >= 0;
            for (v, e) in y.iter_mut().zip(chunk) {
                let e = e.to_bits();
                fits &= (0..(1 << 52) - (1 << 32)).contains(&e);
                *v = (e as u64).wrapping_add(1 << 32);
            }
            if !fits {
                out.extend(chunk.iter().map(|&e| self.alpha_from_exp(e)));
                continue;
            }
            // sigmoid = ⌊2^64 / (2^32 + e)⌋ <= 2^32, then `mul(sigmoid, span)` =
            // ⌊sigmoid · span / 2^32⌋ from 32-bit halves (both at most 2^32), then
            // low + that, clamped to [low, high] (no overflow: all in [0, 2]).
            let s = recip_many(y);
            let span = span as u64;
            let (dl, dh) = (span & 0xFFFF_FFFF, span >> 32);
            for (k, _) in chunk.iter().enumerate() {
                let s = s.get(k).copied().unwrap_or(0);
                let (sl, sh) = (s & 0xFFFF_FFFF, s >> 32);
                let m = ((sh * dh) << 32) + sh * dl + sl * dh + ((sl * dl) >> 32);
                let a = (low + m as i64).min(high).max(low);
                out.push(I32F32::from_bits(a));
            }
        }
    }

    /// The clamped difference of `alpha_sigmoid(consensus, weight, bond, ..)`: buying
    /// (`w ≥ b`) looks at how far the weight exceeds consensus, selling at how far the bond
    /// exceeds the weight.
    pub(crate) fn difference(consensus: I32F32, weight: I32F32, bond: I32F32) -> I32F32 {
        let d = if weight >= bond {
            weight.saturating_sub(consensus)
        } else {
            bond.saturating_sub(weight)
        };
        d.min(ONE).max(ZERO)
    }
}

/// One entry of `mat_ema_alpha_sparse`: `min(1, (1 − a)·old + max(0, a·new))`, kept only
/// if positive. Entries exist only where `new` has one.
pub(crate) fn ema_alpha_entry(a: I32F32, old: Option<I32F32>, new: I32F32) -> Option<I32F32> {
    let decayed = old.map_or(ZERO, |b| mul(ONE.saturating_sub(a), b));
    let grown = mul(a, new).max(ZERO);
    let value = decayed.saturating_add(grown).min(ONE);
    (value > ZERO).then_some(value)
}

/// Per-thread scratch of [`ema_liquid`]: all old bonds, the ones the merge sees, the exp
/// inputs and outputs of one row, and per entry the precomputed α (or `None` when it
/// waits for an exp) and the old bond (zero when absent).
type Work = (
    Scratch,
    Scratch,
    Vec<I32F32>,
    Vec<I32F32>,
    Vec<Option<I32F32>>,
    Vec<Option<I32F32>>,
    ExpScratch,
);

/// `mat_ema_alpha_sparse(W̃, B, α)` with α from `compute_liquid_alpha_values_sparse`,
/// evaluated only at W̃'s entries: the only ones the EMA emits (notes §6).
fn ema_liquid(input: &BondInput<'_>, params: &Params, old: &Csr) -> Csr {
    let new = input.weights_for_bonds;
    let sigmoid = Sigmoid::new(params);
    let keep = |_: I32F32, b: I32F32| b;
    let row = |i: usize, (all_old, seen_old, xs, es, alphas, olds, exp_scratch): &mut Work| {
        let (old_cols, old_vals) = old.row(i);
        let (new_cols, new_vals) = new.row(i);
        alphas.clear();
        olds.clear();
        xs.clear();
        let mut push = |j: u16, w_seen: I32F32, b_seen: I32F32, b: Option<I32F32>| {
            let c = input.consensus.get(usize::from(j)).copied().unwrap_or(ZERO);
            let d = Sigmoid::difference(c, w_seen, b_seen);
            // α per entry of W̃: d = 0 (common: buying at or under consensus) is
            // precomputed, the rest go through one batched exp.
            if d == ZERO {
                alphas.push(Some(sigmoid.at_zero));
            } else {
                alphas.push(None);
                xs.push(sigmoid.exponent(d));
            }
            olds.push(b);
        };
        if ascending(old_cols) && ascending(new_cols) {
            // Both rows sorted (the common case): every entry is visible to the merge and
            // a two-pointer walk finds each weight's old bond.
            let mut k = 0;
            for (&j, &w) in new_cols.iter().zip(new_vals) {
                while old_cols.get(k).is_some_and(|&o| o < j) {
                    k += 1;
                }
                let b = match (old_cols.get(k), old_vals.get(k)) {
                    (Some(&o), Some(&v)) if o == j => Some(v),
                    _ => None,
                };
                push(j, w, b.unwrap_or(ZERO), b);
            }
        } else {
            // In a sorted bond row every entry is visible: one scratch serves both lookups.
            let all_seen = ascending(old_cols);
            let mut max: Option<u16> = None;
            for (j, v) in old.iter_row(i) {
                all_old.add(j, v, keep);
                if !all_seen && max.is_none_or(|m| j > m) {
                    max = Some(j);
                    seen_old.add(j, v, keep);
                }
            }
            let seen: &Scratch = if all_seen { all_old } else { seen_old };
            let mut max: Option<u16> = None;
            for (j, w) in new.iter_row(i) {
                // compute_liquid_alpha_values_sparse walks columns 0..n with a forward-only
                // cursor, so in a row whose uids are not ascending it sees an entry only if
                // its uid exceeds every uid before it in the row (sorted rows: every entry).
                let w_seen = if max.is_none_or(|m| j > m) {
                    max = Some(j);
                    w
                } else {
                    ZERO
                };
                push(j, w_seen, seen.get(j).unwrap_or(ZERO), all_old.get(j));
            }
            all_old.clear();
            seen_old.clear();
        }
        exp_safe_many_grouped(xs, es, exp_scratch);
        let mut pending = es.iter();
        let mut row = Vec::with_capacity(new_cols.len());
        for (((&j, &w), a), b) in new_cols
            .iter()
            .zip(new_vals)
            .zip(alphas.iter())
            .zip(olds.iter())
        {
            let a = match a {
                Some(a) => *a,
                None => sigmoid.alpha_from_exp(pending.next().copied().unwrap_or(ZERO)),
            };
            if let Some(value) = ema_alpha_entry(a, *b, w) {
                row.push((j, value));
            }
        }
        row
    };
    let scratch = || -> Work {
        (
            Scratch::new(input.n),
            Scratch::new(input.n),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            ExpScratch::default(),
        )
    };
    let sequential = || -> Vec<Vec<(u16, I32F32)>> {
        let mut s = scratch();
        (0..new.rows()).map(|i| row(i, &mut s)).collect()
    };
    #[cfg(feature = "parallel")]
    let rows: Vec<Vec<(u16, I32F32)>> = if crate::sparse::worth_parallel(new.nnz()) {
        use rayon::prelude::*;
        // Only rows with weights do work (permitted validators); spread those, one per task.
        let busy: Vec<usize> = (0..new.rows())
            .filter(|&i| !new.row(i).0.is_empty())
            .collect();
        let done: Vec<(usize, Vec<(u16, I32F32)>)> = busy
            .par_iter()
            .with_max_len(1)
            .map_init(scratch, |s, &i| (i, row(i, s)))
            .collect();
        let mut rows = vec![Vec::new(); new.rows()];
        for (i, r) in done {
            if let Some(slot) = rows.get_mut(i) {
                *slot = r;
            }
        }
        rows
    } else {
        sequential()
    };
    #[cfg(not(feature = "parallel"))]
    let rows: Vec<Vec<(u16, I32F32)>> = sequential();
    Csr::from_rows(rows)
}

/// Yuma3: relative bonds in `[0, 1]` per (validator, miner); dividends are each
/// validator's bond-share of incentive times its stake (notes §1.4).
pub(crate) fn yuma3(params: &Params, input: &BondInput<'_>) -> BondOutput {
    let old = load_bonds(input, u16_proportion);
    let liquid = params.liquid_alpha && input.consensus.iter().any(|&c| c != ZERO);
    let ema = if liquid {
        ema_liquid(input, params, &old)
    } else {
        let alpha = fixed_alpha(params.bonds_moving_average);
        ema_fixed(input.weights_for_bonds, &old, alpha, input.n)
    };

    // t_i = Σ_j (B'_ij / Σ_k B'_kj) · I_j: `inplace_col_normalize_sparse`, then
    // `mat_vec_mul_sparse` (whose dropped zeros add nothing), then `row_sum_sparse`.
    let col_sums: Vec<Divisor> = ema
        .col_sums(input.n)
        .into_iter()
        .map(Divisor::new)
        .collect();
    let row_total = |i: usize| {
        ema.iter_row(i).fold(ZERO, |acc, (j, b)| {
            let b = match col_sums.get(usize::from(j)) {
                Some(s) if !s.is_zero() => s.div(b),
                _ => b,
            };
            let inc = input.incentive.get(usize::from(j)).copied().unwrap_or(ZERO);
            acc.saturating_add(mul(b, inc))
        })
    };
    // Each row's sum is its own, in its own order: rows may run on any thread.
    #[cfg(feature = "parallel")]
    let per_validator: Vec<I32F32> = if crate::sparse::worth_parallel(ema.nnz()) {
        use rayon::prelude::*;
        (0..ema.rows())
            .into_par_iter()
            .with_min_len(8)
            .map(row_total)
            .collect()
    } else {
        (0..ema.rows()).map(row_total).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let per_validator: Vec<I32F32> = (0..ema.rows()).map(row_total).collect();
    let mut dividends: Vec<I32F32> = per_validator
        .iter()
        .zip(input.active_stake)
        .map(|(t, s)| t.checked_mul(*s).unwrap_or(ZERO))
        .collect();
    normalize(&mut dividends);
    BondOutput {
        bonds: ema,
        dividends,
    }
}

/// Original Yuma: stake-weighted bonds, column-normalised, EMA at a fixed rate; stored
/// column-max-upscaled (notes §1.5).
pub(crate) fn original(params: &Params, input: &BondInput<'_>) -> BondOutput {
    let mut old = load_bonds(input, from_u16);
    old.col_normalize(input.n);

    let mut delta = input.weights_for_bonds.clone();
    delta.map_in_place(|i, _, w| {
        w.saturating_mul(input.active_stake.get(i).copied().unwrap_or(ZERO))
    });
    delta.col_normalize(input.n);

    let alpha = fixed_alpha(params.bonds_moving_average);
    let mut ema = ema_fixed(&delta, &old, alpha, input.n);
    ema.col_normalize(input.n);

    let mut dividends = ema.mul_vec(input.incentive);
    normalize(&mut dividends);

    ema.col_max_upscale(input.n);
    BondOutput {
        bonds: ema,
        dividends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `compute_liquid_alpha_values_sparse`'s merge for one row, transcribed: the weight
    /// and bond it pairs with column `j`.
    fn upstream_merge(row: &[(u16, I32F32)], n: usize) -> Vec<I32F32> {
        let mut it = row.iter().peekable();
        (0..n as u16)
            .map(|j| {
                let mut value = ZERO;
                while let Some(&&(i, v)) = it.peek() {
                    if i < j {
                        it.next();
                    } else {
                        if i == j {
                            value = v;
                        }
                        break;
                    }
                }
                value
            })
            .collect()
    }

    #[test]
    fn alphas_from_exps_match_alpha_from_exp() {
        let mut next = crate::xorshift(0x5DEE_CE66_D1CE_4E5D);
        for (low, high) in [
            (45_875, 58_982),
            (0, 65_535),
            (0, 0),
            (65_535, 65_535),
            (1, 2),
        ] {
            let sigmoid = Sigmoid::new(&Params {
                alpha_low: low,
                alpha_high: high,
                ..Params::default()
            });
            let es: Vec<I32F32> = (0..20_000)
                .map(|k| {
                    let r = next();
                    I32F32::from_bits(match k % 6 {
                        0 => [0, 1, 1 << 32, (1 << 52) - (1 << 32) - 1, 1 << 52, i64::MAX]
                            [(r % 6) as usize],
                        // Occasionally out of the vector range, so that chunks mix.
                        1 if r.is_multiple_of(50) => (1 << 52) + (r >> 20) as i64,
                        _ => (r >> (12 + r % 40)) as i64,
                    })
                })
                .collect();
            let mut got = Vec::new();
            sigmoid.alphas_from_exps(&es, &mut got);
            let want: Vec<I32F32> = es.iter().map(|&e| sigmoid.alpha_from_exp(e)).collect();
            assert_eq!(got, want, "low {low}, high {high}");
        }
    }

    #[test]
    fn unsorted_rows_follow_the_upstream_merge() {
        let p = |x: u16| u16_proportion(x);
        let n = 6;
        // Unsorted W̃ and bond rows, as `set_weights` may store them.
        let w_row = vec![(4, p(30_000)), (1, p(9_000)), (5, p(20_000)), (2, p(1))];
        let b_row = vec![(5, p(50_000)), (2, p(40_000)), (4, p(100)), (1, p(65_535))];
        let weights = Csr::from_rows([w_row.clone()]);
        let old = Csr::from_rows([b_row.clone()]);
        let consensus: Vec<I32F32> = [0, 8_000, 2, 0, 25_000, 30_000].map(p).to_vec();
        let params = Params {
            liquid_alpha: true,
            alpha_low: 6553,
            alpha_high: 19660,
            ..Params::default()
        };
        let input = BondInput {
            n,
            bonds: &[],
            weights_for_bonds: &weights,
            consensus: &consensus,
            incentive: &[],
            active_stake: &[],
            block_at_registration: &[],
            last_tempo: 0,
        };
        let got = ema_liquid(&input, &params, &old);

        let sigmoid = Sigmoid::new(&params);
        let (w_seen, b_seen) = (upstream_merge(&w_row, n), upstream_merge(&b_row, n));
        let want: Vec<(u16, I32F32)> = w_row
            .iter()
            .filter_map(|&(j, w)| {
                let k = usize::from(j);
                let d = Sigmoid::difference(consensus[k], w_seen[k], b_seen[k]);
                let a = sigmoid.alpha_for(d);
                let old = b_row.iter().find(|e| e.0 == j).map(|e| e.1);
                ema_alpha_entry(a, old, w).map(|v| (j, v))
            })
            .collect();
        assert_eq!(got.to_rows(|x| x), vec![want]);
        // Upstream's merge really does hide entries here (uids 1 and 2 follow 4).
        assert_eq!(w_seen[1], ZERO);
        assert_eq!(b_seen[2], ZERO);
    }
}
