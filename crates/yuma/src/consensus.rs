//! Stake-weighted median consensus (`weighted_median_col_sparse`, notes §1.3 step 6, §1.8).
//!
//! Upstream finds each column's median with a pivot-partition search whose pivot is the
//! middle index of the current partition. All its sums are exact fixed-point additions, so
//! whatever pivots it picks it returns the same value: the smallest score `v` whose
//! cumulative stake `Σ{s_i : score_i ≤ v}` exceeds `minority = Σ stake − κ`, or the largest
//! score if none does. We compute that value directly with a weighted quickselect over the
//! column's entries, treating every staked row without an entry as one group at score 0.
//! The test suite checks this against a line-for-line port of the pivot search.

use crate::fixed::{I32F32, ZERO, normalize, sum};
use crate::sparse::{Csr, ascending};

/// Entries (column × staked row) gathered per block on the sorted-rows path: 512 KiB of
/// `(score, stake)` pairs, so a block stays in L2 while its medians are taken.
const BLOCK_CELLS: usize = 1 << 15;

/// Consensus per column `0..columns`: the κ-quantile of the column's scores, weighted by
/// the (re-normalised) stake of rows with positive stake. `sorted` says that every row of
/// `w` is known to be strictly ascending; when false, the staked rows are checked.
pub(crate) fn weighted_median_cols(
    stake: &[I32F32],
    w: &Csr,
    columns: usize,
    kappa: I32F32,
    sorted: bool,
) -> Vec<I32F32> {
    // Rows with positive stake, renormalised among themselves.
    let staked: Vec<usize> = (0..stake.len())
        .filter(|&i| stake.get(i).is_some_and(|&s| s > ZERO))
        .collect();
    let mut use_stake: Vec<I32F32> = staked
        .iter()
        .filter_map(|&i| stake.get(i).copied())
        .collect();
    normalize(&mut use_stake);
    if use_stake.is_empty() {
        return vec![ZERO; columns];
    }
    let stake_sum = sum(use_stake.iter().copied());
    let minority = stake_sum.saturating_sub(kappa).to_bits();

    let staked_rows = staked.len();
    let total_stake = stake_sum.to_bits();
    let median = |col: &mut [(i64, i64)]| -> I32F32 {
        // Staked rows with no positive entry form one group at score 0.
        let zero_rows = staked_rows.saturating_sub(col.len());
        let positive: i64 = col.iter().map(|&(_, s)| s).sum();
        let zero_stake = total_stake.saturating_sub(positive);
        I32F32::from_bits(quantile(col, zero_rows > 0, zero_stake, minority))
    };

    if sorted || staked.iter().all(|&i| ascending(w.row(i).0)) {
        // Sorted rows (the common case): gather one block of columns at a time from the
        // matching slice of every staked row into a flat buffer (column c of the block
        // owns cells `c * stride ..`), and take its medians while the block is in cache.
        // Blocks are independent; each column sees its entries in row order.
        let mut block_cols = (BLOCK_CELLS / staked_rows).clamp(8, 1024);
        if crate::sparse::parallel(w.nnz()) {
            // At least four blocks, so that every thread has one.
            block_cols = block_cols.min(columns.div_ceil(4)).max(8);
        }
        // A column's cells; one spare so that columns do not start at multiples of 4 KiB,
        // which would make the gather's writes alias in L1.
        let stride = staked_rows + 1;
        let mut out = vec![ZERO; columns];
        let block = |(buf, lens): &mut (Vec<(i64, i64)>, Vec<usize>),
                     (b, chunk): (usize, &mut [I32F32])| {
            let lo = b * block_cols;
            let hi = lo + chunk.len();
            buf.resize(chunk.len() * stride, (0, 0));
            lens.clear();
            lens.resize(chunk.len(), 0);
            for (&i, s) in staked.iter().zip(&use_stake) {
                let s = s.to_bits();
                let (cols, vals) = w.row(i);
                let a = cols.partition_point(|&c| usize::from(c) < lo);
                let e = cols.partition_point(|&c| usize::from(c) < hi);
                let (Some(cols), Some(vals)) = (cols.get(a..e), vals.get(a..e)) else {
                    continue;
                };
                for (&j, &v) in cols.iter().zip(vals) {
                    let c = usize::from(j) - lo;
                    if let Some(len) = lens.get_mut(c) {
                        if let Some(cell) = buf.get_mut(c * stride + *len) {
                            *cell = (v.to_bits(), s);
                        }
                        *len += usize::from(v > ZERO);
                    }
                }
            }
            for ((c, col), &len) in chunk
                .iter_mut()
                .zip(buf.chunks_mut(stride))
                .zip(lens.iter())
            {
                *c = median(col.get_mut(..len).unwrap_or_default());
            }
        };
        #[cfg(feature = "parallel")]
        if crate::sparse::worth_parallel(w.nnz()) {
            use rayon::prelude::*;
            out.par_chunks_mut(block_cols)
                .enumerate()
                .for_each_init(|| (Vec::new(), Vec::new()), block);
            return out;
        }
        {
            let mut buf = (Vec::new(), Vec::new());
            out.chunks_mut(block_cols)
                .enumerate()
                .for_each(|x| block(&mut buf, x));
        }
        return out;
    }

    // Transpose the staked rows' positive entries into per-column lists (counting sort).
    let mut count = vec![0_usize; columns + 1];
    for (&i, _) in staked.iter().zip(&use_stake) {
        for (j, v) in w.iter_row(i) {
            if v > ZERO
                && let Some(c) = count.get_mut(usize::from(j) + 1)
            {
                *c += 1;
            }
        }
    }
    for k in 1..count.len() {
        let prev = count.get(k - 1).copied().unwrap_or(0);
        if let Some(c) = count.get_mut(k) {
            *c += prev;
        }
    }
    let total = count.last().copied().unwrap_or(0);
    let mut items: Vec<(i64, i64)> = vec![(0, 0); total];
    let mut fill = count.clone();
    for (&i, s) in staked.iter().zip(&use_stake) {
        for (j, v) in w.iter_row(i) {
            if v > ZERO
                && let Some(pos) = fill.get_mut(usize::from(j))
            {
                if let Some(cell) = items.get_mut(*pos) {
                    *cell = (v.to_bits(), s.to_bits());
                }
                *pos += 1;
            }
        }
    }

    // Split the entries into one mutable slice per column.
    let mut columns_items: Vec<&mut [(i64, i64)]> = Vec::with_capacity(columns);
    let mut rest: &mut [(i64, i64)] = &mut items;
    for j in 0..columns {
        let len = count.get(j + 1).copied().unwrap_or(0) - count.get(j).copied().unwrap_or(0);
        let whole = core::mem::take(&mut rest);
        let (head, tail) = whole.split_at_mut(len.min(whole.len()));
        columns_items.push(head);
        rest = tail;
    }
    #[cfg(feature = "parallel")]
    if crate::sparse::worth_parallel(w.nnz()) {
        use rayon::prelude::*;
        return columns_items.par_iter_mut().map(|c| median(c)).collect();
    }
    columns_items.iter_mut().map(|c| median(c)).collect()
}

/// Smallest score whose cumulative stake exceeds `minority`, or the largest score.
/// `col` holds `(score bits, stake bits)` of positive scores; when `has_zero` a further
/// group scores 0 with stake `zero_stake`.
///
/// A quickselect whose partition steps are branch-free (a sum pass, then a compaction of
/// the side that holds the answer), since which side of the pivot a score falls on is a
/// coin toss the branch predictor cannot learn.
pub(crate) fn quantile(
    col: &mut [(i64, i64)],
    has_zero: bool,
    zero_stake: i64,
    minority: i64,
) -> i64 {
    let mut below = 0_i64;
    if has_zero {
        if zero_stake > minority || col.is_empty() {
            return 0;
        }
        below = zero_stake;
    }
    let mut len = col.len();
    loop {
        let Some(part) = col.get_mut(..len) else {
            return 0;
        };
        let Some(&(pivot, _)) = part.get(part.len() / 2) else {
            return 0;
        };
        let (mut lo_stake, mut eq_stake, mut lt, mut gt) = (0_i64, 0_i64, 0_usize, 0_usize);
        for &(v, s) in part.iter() {
            lo_stake += if v < pivot { s } else { 0 };
            eq_stake += if v == pivot { s } else { 0 };
            lt += usize::from(v < pivot);
            gt += usize::from(v > pivot);
        }
        let keep_below = if below + lo_stake > minority && lt > 0 {
            true
        } else if below + lo_stake + eq_stake > minority || gt == 0 {
            return pivot;
        } else {
            below += lo_stake + eq_stake;
            false
        };
        // Move the kept side to the front, in order, without branching per entry.
        let mut at = 0_usize;
        for k in 0..part.len() {
            let Some(&e) = part.get(k) else { break };
            if let Some(cell) = part.get_mut(at) {
                *cell = e;
            }
            at += usize::from(if keep_below { e.0 < pivot } else { e.0 > pivot });
        }
        len = at;
    }
}
