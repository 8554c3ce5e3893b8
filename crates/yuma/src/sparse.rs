//! Row-compressed sparse matrices and the `*_sparse` operations of `math.rs`.
//!
//! A row keeps its entries in stored order, as subtensor's `Vec<Vec<(u16, I32F32)>>`
//! does; weight rows are stored in the order `set_weights` received them, and that order
//! is observable (see `bonds::ema_liquid`). Every operation is O(entries); none allocates a
//! dense n × n matrix.

#[cfg(test)]
use crate::fixed::sum;
use crate::fixed::{Divisor, I32F32, ZERO};

/// A sparse matrix with `rows()` rows, columns indexed by `u16` uid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Csr {
    /// `start[i]..start[i + 1]` are row i's entries; `start.len() == rows + 1`.
    start: Vec<usize>,
    col: Vec<u16>,
    val: Vec<I32F32>,
}

impl Csr {
    /// Builds a matrix from rows of `(column, value)` pairs.
    pub(crate) fn from_rows<R, I>(rows: R) -> Self
    where
        R: IntoIterator<Item = I>,
        I: IntoIterator<Item = (u16, I32F32)>,
    {
        let mut m = Self {
            start: vec![0],
            col: Vec::new(),
            val: Vec::new(),
        };
        for row in rows {
            for (j, v) in row {
                m.col.push(j);
                m.val.push(v);
            }
            m.start.push(m.col.len());
        }
        m
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Number of stored entries.
    pub(crate) fn nnz(&self) -> usize {
        self.col.len()
    }

    /// Row i's columns and values (empty past the last row).
    pub(crate) fn row(&self, i: usize) -> (&[u16], &[I32F32]) {
        let (a, b) = match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        };
        (
            self.col.get(a..b).unwrap_or_default(),
            self.val.get(a..b).unwrap_or_default(),
        )
    }

    /// Every row as a [`RowMut`]: its columns and its values, writable on any thread.
    pub(crate) fn rows_mut(&mut self) -> Vec<RowMut<'_>> {
        let mut out = Vec::with_capacity(self.rows());
        let (mut col, mut val): (&[u16], &mut [I32F32]) = (&self.col, &mut self.val);
        for (row, w) in self.start.windows(2).enumerate() {
            let len = match w {
                [a, b] => b - a,
                _ => 0,
            };
            let len = len.min(col.len()).min(val.len());
            let (c, rest_c) = col.split_at(len);
            let (v, rest_v) = core::mem::take(&mut val).split_at_mut(len);
            col = rest_c;
            val = rest_v;
            out.push(RowMut {
                row,
                col: c,
                val: v,
                sum: ZERO,
            });
        }
        out
    }

    /// Row i's entries as pairs.
    pub(crate) fn iter_row(&self, i: usize) -> impl Iterator<Item = (u16, I32F32)> + '_ {
        let (c, v) = self.row(i);
        c.iter().copied().zip(v.iter().copied())
    }

    #[cfg(test)]
    /// Every entry as `(row, column, value)`, rows in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, u16, I32F32)> + '_ {
        (0..self.rows()).flat_map(move |i| self.iter_row(i).map(move |(j, v)| (i, j, v)))
    }

    /// A new matrix keeping, per entry, what `f(row, column, value)` returns.
    pub(crate) fn filter_map(
        &self,
        mut f: impl FnMut(usize, u16, I32F32) -> Option<I32F32>,
    ) -> Self {
        let mut out = Self {
            start: Vec::with_capacity(self.start.len()),
            col: Vec::with_capacity(self.nnz()),
            val: Vec::with_capacity(self.nnz()),
        };
        out.start.push(0);
        for i in 0..self.rows() {
            for (j, v) in self.iter_row(i) {
                if let Some(w) = f(i, j, v) {
                    out.col.push(j);
                    out.val.push(w);
                }
            }
            out.start.push(out.col.len());
        }
        out
    }

    /// Applies `f(row, column, value)` to every value in place.
    pub(crate) fn map_in_place(&mut self, mut f: impl FnMut(usize, u16, I32F32) -> I32F32) {
        for i in 0..self.rows() {
            let (a, b) = (
                self.start.get(i).copied().unwrap_or(0),
                self.start.get(i + 1).copied().unwrap_or(0),
            );
            for k in a..b {
                if let (Some(&j), Some(v)) = (self.col.get(k), self.val.get_mut(k)) {
                    *v = f(i, j, *v);
                }
            }
        }
    }

    #[cfg(test)]
    /// `row_sum_sparse`.
    pub(crate) fn row_sums(&self) -> Vec<I32F32> {
        (0..self.rows())
            .map(|i| sum(self.row(i).1.iter().copied()))
            .collect()
    }

    /// Column sums over `columns` columns, saturating adds in row order.
    pub(crate) fn col_sums(&self, columns: usize) -> Vec<I32F32> {
        let mut sums = vec![ZERO; columns];
        for (&j, &v) in self.col.iter().zip(&self.val) {
            if let Some(s) = sums.get_mut(usize::from(j)) {
                *s = s.saturating_add(v);
            }
        }
        sums
    }

    #[cfg(test)]
    /// `inplace_row_normalize_sparse`: rows with a positive sum are divided by it.
    pub(crate) fn row_normalize(&mut self) {
        for i in 0..self.rows() {
            let (a, b) = (
                self.start.get(i).copied().unwrap_or(0),
                self.start.get(i + 1).copied().unwrap_or(0),
            );
            let Some(vals) = self.val.get_mut(a..b) else {
                continue;
            };
            let s = sum(vals.iter().copied());
            if s > ZERO {
                let d = Divisor::new(s);
                vals.iter_mut().for_each(|v| *v = d.div(*v));
            }
        }
    }

    /// `inplace_col_normalize_sparse`: columns with a non-zero sum are divided by it.
    pub(crate) fn col_normalize(&mut self, columns: usize) {
        let sums: Vec<Divisor> = self
            .col_sums(columns)
            .into_iter()
            .map(Divisor::new)
            .collect();
        self.map_in_place(|_, j, v| match sums.get(usize::from(j)) {
            Some(s) if !s.is_zero() => s.div(v),
            _ => v,
        });
    }

    /// `inplace_col_max_upscale_sparse`: columns with a non-zero maximum are divided by it.
    pub(crate) fn col_max_upscale(&mut self, columns: usize) {
        let mut max = vec![ZERO; columns];
        for (&j, &v) in self.col.iter().zip(&self.val) {
            if let Some(m) = max.get_mut(usize::from(j))
                && *m < v
            {
                *m = v;
            }
        }
        let max: Vec<Divisor> = max.into_iter().map(Divisor::new).collect();
        self.map_in_place(|_, j, v| match max.get(usize::from(j)) {
            Some(m) if !m.is_zero() => m.div(v),
            _ => v,
        });
    }

    #[cfg(test)]
    /// `col_clip_sparse`: `min(M_ij, c_j)`, dropping entries above a threshold `c_j <= 0`.
    pub(crate) fn col_clip(&self, threshold: &[I32F32]) -> Self {
        self.filter_map(|_, j, w| {
            let c = threshold.get(usize::from(j)).copied().unwrap_or(ZERO);
            if c < w {
                (c > ZERO).then_some(c)
            } else {
                Some(w)
            }
        })
    }

    #[cfg(test)]
    /// `matmul_sparse`: `out_j = Σ_i v_i · M_ij`, rows added in order.
    pub(crate) fn vec_mul_left(&self, v: &[I32F32], columns: usize) -> Vec<I32F32> {
        let mut out = vec![ZERO; columns];
        for (i, j, m) in self.iter() {
            let scale = v.get(i).copied().unwrap_or(ZERO);
            if let Some(o) = out.get_mut(usize::from(j)) {
                *o = o.saturating_add(scale.saturating_mul(m));
            }
        }
        out
    }

    /// `matmul_transpose_sparse`: `out_i = Σ_j M_ij · v_j`.
    pub(crate) fn mul_vec(&self, v: &[I32F32]) -> Vec<I32F32> {
        (0..self.rows())
            .map(|i| {
                self.iter_row(i).fold(ZERO, |acc, (j, m)| {
                    let x = v.get(usize::from(j)).copied().unwrap_or(ZERO);
                    acc.saturating_add(x.saturating_mul(m))
                })
            })
            .collect()
    }

    #[cfg(test)]
    /// Converts to stored u16 rows with `f`.
    pub(crate) fn to_rows<T>(&self, mut f: impl FnMut(I32F32) -> T) -> Vec<Vec<(u16, T)>> {
        (0..self.rows())
            .map(|i| self.iter_row(i).map(|(j, v)| (j, f(v))).collect())
            .collect()
    }
}

/// One row of a [`Csr`] with writable values, and a sum for the caller to fill in.
pub(crate) struct RowMut<'a> {
    /// The row index.
    pub(crate) row: usize,
    /// The row's columns.
    pub(crate) col: &'a [u16],
    /// The row's values.
    pub(crate) val: &'a mut [I32F32],
    /// Whatever per-row total the caller computes.
    pub(crate) sum: I32F32,
}

/// Room for a matrix whose row i holds at most `caps[i]` entries: each row is written in
/// place through its [`RowSlot`] (rows on any thread), then [`RowsBuilder::finish`] closes
/// the gaps. No per-row allocation, no copy when every row is full.
pub(crate) struct RowsBuilder {
    start: Vec<usize>,
    col: Vec<u16>,
    val: Vec<I32F32>,
}

/// One row's room in a [`RowsBuilder`]: write `len` entries at the front of `col`/`val`.
pub(crate) struct RowSlot<'a> {
    /// The row index.
    pub(crate) row: usize,
    /// Room for the row's columns.
    pub(crate) col: &'a mut [u16],
    /// Room for the row's values.
    pub(crate) val: &'a mut [I32F32],
    /// Entries written.
    pub(crate) len: usize,
}

impl RowSlot<'_> {
    /// Appends an entry (ignored past the row's capacity, which callers size exactly).
    #[inline]
    pub(crate) fn push(&mut self, j: u16, v: I32F32) {
        if let (Some(c), Some(x)) = (self.col.get_mut(self.len), self.val.get_mut(self.len)) {
            *c = j;
            *x = v;
            self.len += 1;
        }
    }
}

impl RowsBuilder {
    /// Room for rows of at most `caps` entries each.
    pub(crate) fn new(caps: impl IntoIterator<Item = usize>) -> Self {
        let mut start = vec![0];
        let mut total = 0_usize;
        for c in caps {
            total += c;
            start.push(total);
        }
        Self {
            start,
            col: vec![0; total],
            val: vec![ZERO; total],
        }
    }

    /// One slot per row, in row order.
    pub(crate) fn slots(&mut self) -> Vec<RowSlot<'_>> {
        let mut out = Vec::with_capacity(self.start.len().saturating_sub(1));
        let (mut col, mut val): (&mut [u16], &mut [I32F32]) = (&mut self.col, &mut self.val);
        for (row, w) in self.start.windows(2).enumerate() {
            let len = match w {
                [a, b] => b - a,
                _ => 0,
            };
            let len = len.min(col.len()).min(val.len());
            let (c, rest_c) = core::mem::take(&mut col).split_at_mut(len);
            let (v, rest_v) = core::mem::take(&mut val).split_at_mut(len);
            col = rest_c;
            val = rest_v;
            out.push(RowSlot {
                row,
                col: c,
                val: v,
                len: 0,
            });
        }
        out
    }

    /// The matrix whose row i is the first `lens[i]` entries written to its slot.
    pub(crate) fn finish(mut self, lens: &[usize]) -> Csr {
        let mut at = 0_usize;
        let mut start = Vec::with_capacity(self.start.len());
        start.push(0);
        for (i, &len) in lens.iter().enumerate() {
            let (from, cap) = match (self.start.get(i), self.start.get(i + 1)) {
                (Some(&a), Some(&b)) => (a, b - a),
                _ => (at, 0),
            };
            let len = len.min(cap);
            if from != at {
                self.col.copy_within(from..from + len, at);
                self.val.copy_within(from..from + len, at);
            }
            at += len;
            start.push(at);
        }
        self.col.truncate(at);
        self.val.truncate(at);
        Csr {
            start,
            col: self.col,
            val: self.val,
        }
    }
}

/// Runs `f` on every item with a per-thread scratch from `init`. When the `parallel`
/// feature is on and `parallel` is true, the items `busy` picks run on rayon's threads, one
/// per task, and the rest (cheap: empty rows) on the calling thread.
pub(crate) fn each_init<T: Send, S>(
    items: &mut [T],
    parallel: bool,
    busy: impl Fn(&T) -> bool,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, &mut T) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        let (heavy, light): (Vec<&mut T>, Vec<&mut T>) = items.iter_mut().partition(|t| busy(t));
        let mut s = init();
        light.into_iter().for_each(|t| f(&mut s, t));
        heavy
            .into_par_iter()
            .with_max_len(1)
            .for_each_init(init, |s, t| f(s, t));
        return;
    }
    let _ = (parallel, busy);
    let mut s = init();
    items.iter_mut().for_each(|t| f(&mut s, t));
}

/// Runs `f` on every item with an accumulator from `init`, and returns the accumulators
/// combined by `merge`. When the `parallel` feature is on and `parallel` is true, the items
/// run on rayon's threads, each thread's share with its own accumulator (a few per
/// thread), so `merge` must not depend on how the items were shared out.
pub(crate) fn fold_each<T: Send, A: Send>(
    items: &mut [T],
    parallel: bool,
    init: impl Fn() -> A + Sync + Send,
    f: impl Fn(&mut A, &mut T) + Sync + Send,
    merge: impl Fn(A, A) -> A + Sync + Send,
) -> A {
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        return items
            .par_iter_mut()
            .fold(&init, |mut a, t| {
                f(&mut a, t);
                a
            })
            .reduce_with(&merge)
            .unwrap_or_else(&init);
    }
    let _ = (parallel, merge);
    let mut a = init();
    items.iter_mut().for_each(|t| f(&mut a, t));
    a
}

/// Whether `entries` stored entries are enough work to spread over threads: below this,
/// rayon's hand-offs (and waiting for a descheduled worker on a busy machine) cost more
/// than they save. On the 2-core benchmark machine, n = 256 with 64 validators (12 288
/// entries, ≈ 1 ms) gains ≈ 20 % from two threads when the machine is quiet and loses
/// 5–15 % when other builds keep both cores busy (docs/benchmarks.md).
#[cfg(feature = "parallel")]
pub(crate) fn worth_parallel(entries: usize) -> bool {
    entries >= 1 << 13
}

/// [`worth_parallel`], or `false` without the `parallel` feature.
pub(crate) fn parallel(entries: usize) -> bool {
    #[cfg(feature = "parallel")]
    return worth_parallel(entries);
    #[cfg(not(feature = "parallel"))]
    {
        let _ = entries;
        false
    }
}

/// Strictly ascending columns: every entry of such a row is visible to upstream's merge.
pub(crate) fn ascending(cols: &[u16]) -> bool {
    cols.iter().zip(cols.iter().skip(1)).all(|(a, b)| a < b)
}

/// Strictly ascending uids in a stored `(uid, value)` row.
pub(crate) fn ascending_pairs(row: &[(u16, u16)]) -> bool {
    row.iter().zip(row.iter().skip(1)).all(|(a, b)| a.0 < b.0)
}

/// A reusable dense row of `n` cells that remembers which cells were touched, so
/// per-row scatter/gather costs O(entries) rather than O(n).
pub(crate) struct Scratch {
    cell: Vec<Option<I32F32>>,
    touched: Vec<u16>,
}

impl Scratch {
    /// A scratch row of `n` empty cells.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            cell: vec![None; n],
            touched: Vec::new(),
        }
    }

    /// The value at column j, if set.
    pub(crate) fn get(&self, j: u16) -> Option<I32F32> {
        self.cell.get(usize::from(j)).copied().flatten()
    }

    /// Sets column j, or combines with the value already there.
    pub(crate) fn add(
        &mut self,
        j: u16,
        v: I32F32,
        combine: impl FnOnce(I32F32, I32F32) -> I32F32,
    ) {
        if let Some(c) = self.cell.get_mut(usize::from(j)) {
            match c {
                Some(old) => *old = combine(*old, v),
                None => {
                    *c = Some(v);
                    self.touched.push(j);
                }
            }
        }
    }

    /// Touched columns in ascending order with their values; clears the scratch.
    pub(crate) fn drain_sorted(&mut self, mut f: impl FnMut(u16, I32F32)) {
        self.touched.sort_unstable();
        for &j in &self.touched {
            if let Some(c) = self.cell.get_mut(usize::from(j))
                && let Some(v) = c.take()
            {
                f(j, v);
            }
        }
        self.touched.clear();
    }

    /// Clears the scratch without reading it.
    pub(crate) fn clear(&mut self) {
        for &j in &self.touched {
            if let Some(c) = self.cell.get_mut(usize::from(j)) {
                *c = None;
            }
        }
        self.touched.clear();
    }
}
