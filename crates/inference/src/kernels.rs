//! The dense arithmetic of the BERT forward pass ([`crate::bert`]) on plain `f32` slices, in
//! explicit SIMD chosen at run time (`pulp`: AVX-512 where the CPU has it, else AVX2 and FMA).
//!
//! - [`Linear`] is `y = x·Wᵀ + b`, with `W` packed once at load time into panels of [`NR`]
//!   output columns, so each panel is read contiguously. A register tile of a few rows × [`NR`]
//!   columns accumulates over the whole input dimension, starting from the bias, and applies
//!   the activation before it leaves the registers. The panels are split across the rayon pool
//!   when the product is large enough to pay for the hand-off.
//! - [`add_layer_norm`], [`softmax`], [`dot`], [`axpy`] are the per-row work around it; the
//!   exponential and the error function are branch-free polynomials so they run a vector at a
//!   time (the standard library's `expf`/`erff` are scalar calls).
//!
//! No `unsafe` here: `pulp` compiles each kernel once per instruction set and picks one by
//! CPU detection.

use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

/// Columns of a packed weight panel and of a register tile (two AVX-512 or four AVX2 vectors).
pub(crate) const NR: usize = 32;
/// Multiply-adds below which a product runs on the calling thread alone.
const PARALLEL_MACS: usize = 1 << 19;

/// What is applied to each output of a [`Linear`] after the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// The output as is.
    Identity,
    /// `x·Φ(x)` with the exact normal CDF (BERT's `gelu`).
    Gelu,
    /// The tanh approximation of GELU (`gelu_new`/`gelu_pytorch_tanh`).
    GeluTanh,
    /// `max(x, 0)`.
    Relu,
}

impl Activation {
    /// The activation as a constant for [`activation`]'s parameter.
    const fn code(self) -> u8 {
        match self {
            Self::Identity => 0,
            Self::Gelu => 1,
            Self::GeluTanh => 2,
            Self::Relu => 3,
        }
    }
}

/// The activation with [`Activation::code`] `ACT`. A constant parameter rather than a value:
/// a `match` inside the tile's epilogue keeps the compiler from holding the accumulators in
/// registers through the main loop (they were written back to the stack every step).
#[inline(always)]
fn activation<S: Simd, const ACT: u8>(s: S, x: S::f32s) -> S::f32s {
    match ACT {
        1 => gelu(s, x),
        2 => gelu_tanh(s, x),
        3 => s.max_f32s(x, s.splat_f32s(0.0)),
        _ => x,
    }
}

/// A dense layer `y = x·Wᵀ + b` with its weight packed for [`Linear::forward`].
#[derive(Clone)]
pub(crate) struct Linear {
    inputs: usize,
    outputs: usize,
    /// Panel `p` holds, for each input `k` in order, `W[p·NR + c][k]` for `c` in `0..NR`
    /// (zero past `outputs`).
    packed: Vec<f32>,
    /// The bias, zero-padded to whole panels.
    bias: Vec<f32>,
}

impl std::fmt::Debug for Linear {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linear")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl Linear {
    /// Packs `weight` (`outputs × inputs`, row-major, as PyTorch stores `nn.Linear`) and `bias`.
    /// The caller checks the lengths (`weight.len() == outputs·inputs`, `bias.len() == outputs`).
    pub(crate) fn new(weight: &[f32], bias: &[f32], outputs: usize, inputs: usize) -> Self {
        debug_assert_eq!(weight.len(), outputs * inputs);
        debug_assert_eq!(bias.len(), outputs);
        let panels = outputs.div_ceil(NR);
        let mut packed = vec![0.0; panels * NR * inputs];
        for (p, panel) in packed.chunks_exact_mut(NR * inputs).enumerate() {
            for (k, lane) in panel.chunks_exact_mut(NR).enumerate() {
                for (c, v) in lane.iter_mut().enumerate() {
                    let o = p * NR + c;
                    if o < outputs {
                        *v = weight[o * inputs + k];
                    }
                }
            }
        }
        let mut padded = bias.to_vec();
        padded.resize(panels * NR, 0.0);
        Self {
            inputs,
            outputs,
            packed,
            bias: padded,
        }
    }

    /// Output features.
    pub(crate) fn outputs(&self) -> usize {
        self.outputs
    }

    /// `out = act(x·Wᵀ + b)` for `x` of `rows × inputs` and `out` of `rows × outputs`, both
    /// row-major.
    pub(crate) fn forward(&self, x: &[f32], rows: usize, act: Activation, out: &mut [f32]) {
        debug_assert_eq!(x.len(), rows * self.inputs);
        debug_assert_eq!(out.len(), rows * self.outputs);
        if rows == 0 {
            return;
        }
        Arch::new().dispatch(Forward {
            linear: self,
            x,
            act,
            out,
            parallel: rows * self.inputs * self.outputs >= PARALLEL_MACS,
        });
    }
}

#[cfg(test)]
impl Linear {
    /// [`Linear::forward`] on one thread with the given instruction set.
    fn forward_with<S: Simd>(&self, s: S, x: &[f32], rows: usize, act: Activation) -> Vec<f32> {
        let mut out = vec![0.0; rows * self.outputs];
        s.vectorize(Forward {
            linear: self,
            x,
            act,
            out: &mut out,
            parallel: false,
        });
        out
    }
}

/// One product of a [`Linear`], dispatched once: the instruction set it picks packs the rows
/// in its tile height and runs every thread's share of the panels.
struct Forward<'a> {
    linear: &'a Linear,
    x: &'a [f32],
    act: Activation,
    out: &'a mut [f32],
    /// Whether to split the panels over the rayon pool.
    parallel: bool,
}

impl WithSimd for Forward<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        // A tile is MR rows × W vectors of accumulators, W·lanes columns at a time (V/W passes
        // over the panel), sized so the accumulators, W panel vectors and a broadcast fit the
        // registers: 24 + 3 of AVX-512's 32, 12 + 3 of AVX2's 16.
        match S::F32_LANES {
            16 => self.run::<S, 2, 2, 12>(s),
            8 => self.run::<S, 4, 2, 6>(s),
            4 => self.run::<S, 8, 2, 6>(s),
            _ => self.run::<pulp::Scalar, NR, 4, 2>(pulp::Scalar),
        }
    }
}

impl Forward<'_> {
    #[inline(always)]
    fn run<S: Simd, const V: usize, const W: usize, const MR: usize>(self, s: S) {
        let linear = self.linear;
        let rows = self.x.len() / linear.inputs;
        let panels = linear.outputs.div_ceil(NR);
        let threads = if self.parallel {
            rayon::current_num_threads().clamp(1, panels)
        } else {
            1
        };
        // Contiguous panel ranges, one per thread, and for each the slices of every output row
        // that its panels write: disjoint borrows, so the threads share `out` without locks.
        let ranges = (0..threads)
            .map(|t| (panels * t / threads, panels * (t + 1) / threads))
            .collect::<Vec<_>>();
        let mut parts = ranges
            .iter()
            .map(|_| Vec::with_capacity(rows))
            .collect::<Vec<Vec<&mut [f32]>>>();
        for row in self.out.chunks_exact_mut(linear.outputs) {
            let mut rest = row;
            for (part, &(p0, p1)) in parts.iter_mut().zip(&ranges) {
                let width = (p1 * NR).min(linear.outputs) - p0 * NR;
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(width);
                part.push(head);
                rest = tail;
            }
        }
        // The rows are packed once for all threads.
        let packed = pack_rows(self.x, rows, linear.inputs, MR, threads > 1 && rows > MR);
        let act = self.act;
        let run = |(mut out, (first, end)): (Vec<&mut [f32]>, (usize, usize))| {
            // On a pool thread the closure is outside the dispatched function: `vectorize`
            // enters the same instruction set again.
            s.vectorize(Panels::<V, W, MR> {
                linear,
                packed: &packed,
                first,
                end,
                out: &mut out,
                act,
            });
        };
        if threads == 1 {
            parts.into_iter().zip(ranges).for_each(run);
        } else {
            parts.into_par_iter().zip(ranges).for_each(run);
        }
    }
}

/// The `rows × k` matrix `x` in blocks of `mr` rows, interleaved (`[block][k][r]`, the last
/// block zero-padded), so a tile reads one contiguous group of `mr` values per step: no
/// bounds checks and no index arithmetic in its inner loop.
fn pack_rows(x: &[f32], rows: usize, k: usize, mr: usize, parallel: bool) -> Vec<f32> {
    let mut packed = vec![0.0f32; rows.div_ceil(mr) * k * mr];
    let pack = |(b, block): (usize, &mut [f32])| {
        for r in 0..mr.min(rows - b * mr) {
            let row = &x[(b * mr + r) * k..(b * mr + r + 1) * k];
            for (group, &v) in block.chunks_exact_mut(mr).zip(row) {
                group[r] = v;
            }
        }
    };
    if parallel {
        packed.par_chunks_mut(k * mr).enumerate().for_each(pack);
    } else {
        packed.chunks_mut(k * mr).enumerate().for_each(pack);
    }
    packed
}

/// Panels `first..end` of a [`Linear`] for every row, with `V` vectors per panel row, `W`
/// of them per pass and `MR` rows per tile; `out[i]` is row `i`'s slice for the panels.
struct Panels<'a, 'b, const V: usize, const W: usize, const MR: usize> {
    linear: &'a Linear,
    /// The input rows as [`pack_rows`] lays them out for `MR`.
    packed: &'a [f32],
    first: usize,
    end: usize,
    out: &'a mut [&'b mut [f32]],
    act: Activation,
}

impl<const V: usize, const W: usize, const MR: usize> WithSimd for Panels<'_, '_, V, W, MR> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        const IDENTITY: u8 = Activation::Identity.code();
        const GELU: u8 = Activation::Gelu.code();
        const GELU_TANH: u8 = Activation::GeluTanh.code();
        const RELU: u8 = Activation::Relu.code();
        match self.act {
            Activation::Identity => self.run::<S, IDENTITY>(s),
            Activation::Gelu => self.run::<S, GELU>(s),
            Activation::GeluTanh => self.run::<S, GELU_TANH>(s),
            Activation::Relu => self.run::<S, RELU>(s),
        }
    }
}

impl<const V: usize, const W: usize, const MR: usize> Panels<'_, '_, V, W, MR> {
    #[inline(always)]
    fn run<S: Simd, const ACT: u8>(self, s: S) {
        let k = self.linear.inputs;
        let rows = self.out.len();
        for p in self.first..self.end {
            let (panel, _) = S::as_simd_f32s(&self.linear.packed[p * k * NR..(p + 1) * k * NR]);
            let (panel, _) = panel.as_chunks::<V>();
            let (bias, _) = S::as_simd_f32s(&self.linear.bias[p * NR..(p + 1) * NR]);
            let bias: [S::f32s; V] = std::array::from_fn(|v| bias[v]);
            let col = (p - self.first) * NR;
            let width = NR.min(self.linear.outputs - p * NR);
            for (b, block) in self.packed.chunks_exact(k * MR).enumerate() {
                let (a, _) = block.as_chunks::<MR>();
                let t = tile::<S, V, W, MR, ACT>(s, a, panel, bias);
                let first = b * MR;
                let n = MR.min(rows - first);
                store::<S, V, MR>(&t, &mut self.out[first..first + n], col, width);
            }
        }
    }
}

/// One `R × NR` tile: `act(bias[c] + Σₖ a[k][r]·panel[k][c])`, accumulated in registers,
/// `W` of the panel's `V` vectors per pass.
#[inline(always)]
fn tile<S: Simd, const V: usize, const W: usize, const R: usize, const ACT: u8>(
    s: S,
    a: &[[f32; R]],
    panel: &[[S::f32s; V]],
    bias: [S::f32s; V],
) -> [[S::f32s; V]; R] {
    let mut acc = [bias; R];
    for pass in 0..V / W {
        let at = pass * W;
        let mut part: [[S::f32s; W]; R] = std::array::from_fn(|r| {
            let row = &acc[r];
            std::array::from_fn(|c| row[at + c])
        });
        for (ak, b) in a.iter().zip(panel) {
            let b: [S::f32s; W] = std::array::from_fn(|c| b[at + c]);
            for r in 0..R {
                let v = s.splat_f32s(ak[r]);
                for c in 0..W {
                    part[r][c] = s.mul_add_f32s(v, b[c], part[r][c]);
                }
            }
        }
        for (row, values) in acc.iter_mut().zip(part) {
            row[at..at + W].copy_from_slice(&values);
        }
    }
    for row in &mut acc {
        for v in row {
            *v = activation::<S, ACT>(s, *v);
        }
    }
    acc
}

/// Columns `col..col + width` of the rows of `out` (at most `R`) from a tile.
#[inline(always)]
fn store<S: Simd, const V: usize, const R: usize>(
    tile: &[[S::f32s; V]; R],
    out: &mut [&mut [f32]],
    col: usize,
    width: usize,
) {
    for (row, values) in out.iter_mut().zip(tile) {
        let dst = &mut row[col..col + width];
        if width == NR {
            S::as_mut_simd_f32s(dst).0.copy_from_slice(values);
        } else {
            // The last panel of a layer whose width is not a multiple of NR.
            let mut full = [0.0f32; NR];
            S::as_mut_simd_f32s(&mut full).0.copy_from_slice(values);
            dst.copy_from_slice(&full[..width]);
        }
    }
}

/// `eˣ` to within a few ulp, branch-free: Cody–Waite reduction to `r ∈ [-ln2/2, ln2/2]` (the
/// rounding of `x·log₂e` done by adding 1.5·2²³), a degree-6 polynomial, and `2ⁿ` built in
/// the exponent bits. Inputs are clamped to `[-87.3, 88.3]`, so the result is never infinite
/// or subnormal.
#[inline(always)]
pub(crate) fn exp<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    const MAGIC: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = s.min_f32s(s.max_f32s(x, s.splat_f32s(-87.3)), s.splat_f32s(88.3));
    let t = s.mul_add_f32s(
        x,
        s.splat_f32s(std::f32::consts::LOG2_E),
        s.splat_f32s(MAGIC),
    );
    let n = s.sub_f32s(t, s.splat_f32s(MAGIC));
    let r = s.mul_add_f32s(n, s.splat_f32s(-LN2_HI), x);
    let r = s.mul_add_f32s(n, s.splat_f32s(-LN2_LO), r);
    let mut p = s.splat_f32s(1.0 / 720.0);
    for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = s.mul_add_f32s(p, r, s.splat_f32s(c));
    }
    // The low bits of `t` hold `n` (in [-126, 127]) above 0x4B40_0000; move it, biased, into
    // the exponent field.
    let e = s.add_u32s(
        s.transmute_u32s_f32s(t),
        s.splat_u32s(127u32.wrapping_sub(0x4B40_0000)),
    );
    let scale = s.transmute_f32s_u32s(s.wrapping_dyn_shl_u32s(e, s.splat_u32s(23)));
    s.mul_f32s(p, scale)
}

/// The error function to within 5·10⁻⁷ (Abramowitz & Stegun 7.1.26, the form PyTorch's
/// vectorised CPU kernel uses), branch-free.
#[inline(always)]
pub(crate) fn erf<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    const P: f32 = 0.327_591_1;
    let a = s.abs_f32s(x);
    let one = s.splat_f32s(1.0);
    let t = s.div_f32s(one, s.mul_add_f32s(s.splat_f32s(P), a, one));
    let mut q = s.splat_f32s(1.061_405_4);
    for c in [-1.453_152_1, 1.421_413_8, -0.284_496_74, 0.254_829_6] {
        q = s.mul_add_f32s(q, t, s.splat_f32s(c));
    }
    let tail = s.mul_f32s(s.mul_f32s(q, t), exp(s, s.neg_f32s(s.mul_f32s(a, a))));
    let y = s.sub_f32s(one, tail);
    s.or_f32s(y, s.and_f32s(x, s.splat_f32s(-0.0)))
}

/// `x·Φ(x) = x/2·(1 + erf(x/√2))`.
#[inline(always)]
pub(crate) fn gelu<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let e = erf(
        s,
        s.mul_f32s(x, s.splat_f32s(std::f32::consts::FRAC_1_SQRT_2)),
    );
    let half_x = s.mul_f32s(x, s.splat_f32s(0.5));
    s.mul_add_f32s(half_x, e, half_x)
}

/// `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, with `1 + tanh(u) = 2 − 2/(e^{2u} + 1)`.
#[inline(always)]
pub(crate) fn gelu_tanh<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let x3 = s.mul_f32s(s.mul_f32s(x, x), x);
    let u = s.mul_f32s(
        s.splat_f32s(SQRT_2_OVER_PI),
        s.mul_add_f32s(s.splat_f32s(0.044_715), x3, x),
    );
    let e = exp(s, s.add_f32s(u, u));
    let two = s.splat_f32s(2.0);
    let one_plus_tanh = s.sub_f32s(two, s.div_f32s(two, s.add_f32s(e, s.splat_f32s(1.0))));
    s.mul_f32s(s.mul_f32s(x, s.splat_f32s(0.5)), one_plus_tanh)
}

/// `act(x)` for every element (the activations on their own, for the tests).
#[cfg(test)]
pub(crate) fn activate(values: &mut [f32], act: Activation) {
    struct Op<'a>(&'a mut [f32], Activation);
    impl WithSimd for Op<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, s: S) {
            #[inline(always)]
            fn each<S: Simd, const ACT: u8>(s: S, values: &mut [f32]) {
                let (head, tail) = S::as_mut_simd_f32s(values);
                for v in head {
                    *v = activation::<S, ACT>(s, *v);
                }
                for v in tail {
                    *v = activation::<pulp::Scalar, ACT>(pulp::Scalar, *v);
                }
            }
            match self.1 {
                Activation::Identity => each::<S, { Activation::Identity.code() }>(s, self.0),
                Activation::Gelu => each::<S, { Activation::Gelu.code() }>(s, self.0),
                Activation::GeluTanh => each::<S, { Activation::GeluTanh.code() }>(s, self.0),
                Activation::Relu => each::<S, { Activation::Relu.code() }>(s, self.0),
            }
        }
    }
    Arch::new().dispatch(Op(values, act));
}

/// `Σ aᵢ·bᵢ`.
#[inline(always)]
pub(crate) fn dot<S: Simd>(s: S, a: &[f32], b: &[f32]) -> f32 {
    let (av, at) = S::as_simd_f32s(a);
    let (bv, bt) = S::as_simd_f32s(b);
    let mut acc = s.splat_f32s(0.0);
    for (x, y) in av.iter().zip(bv) {
        acc = s.mul_add_f32s(*x, *y, acc);
    }
    s.reduce_sum_f32s(acc) + at.iter().zip(bt).map(|(x, y)| x * y).sum::<f32>()
}

/// `acc += w·v`.
#[inline(always)]
pub(crate) fn axpy<S: Simd>(s: S, acc: &mut [f32], w: f32, v: &[f32]) {
    let (av, at) = S::as_mut_simd_f32s(acc);
    let (vv, vt) = S::as_simd_f32s(v);
    let wv = s.splat_f32s(w);
    for (a, x) in av.iter_mut().zip(vv) {
        *a = s.mul_add_f32s(wv, *x, *a);
    }
    for (a, x) in at.iter_mut().zip(vt) {
        *a = w.mul_add(*x, *a);
    }
}

/// Softmax of `v` in place (max subtracted first).
#[inline(always)]
pub(crate) fn softmax<S: Simd>(s: S, v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (head, tail) = S::as_mut_simd_f32s(v);
    let m = s.splat_f32s(max);
    let mut sum = s.splat_f32s(0.0);
    for x in head.iter_mut() {
        *x = exp(s, s.sub_f32s(*x, m));
        sum = s.add_f32s(sum, *x);
    }
    let mut total = s.reduce_sum_f32s(sum);
    for x in tail.iter_mut() {
        *x = exp(pulp::Scalar, *x - max);
        total += *x;
    }
    let inv = 1.0 / total;
    let iv = s.splat_f32s(inv);
    for x in head {
        *x = s.mul_f32s(*x, iv);
    }
    for x in tail {
        *x *= inv;
    }
}

/// `row = LayerNorm(row + add)`: `(y − mean)/√(var + eps)·gamma + beta` with the biased
/// variance, as PyTorch's `LayerNorm`.
#[inline(always)]
pub(crate) fn add_layer_norm<S: Simd>(
    s: S,
    row: &mut [f32],
    add: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    #[allow(clippy::cast_precision_loss)]
    let n = row.len() as f32;
    let mut sum = s.splat_f32s(0.0);
    let mut tail_sum = 0.0;
    {
        let (rv, rt) = S::as_mut_simd_f32s(row);
        let (av, at) = S::as_simd_f32s(add);
        for (r, a) in rv.iter_mut().zip(av) {
            *r = s.add_f32s(*r, *a);
            sum = s.add_f32s(sum, *r);
        }
        for (r, a) in rt.iter_mut().zip(at) {
            *r += a;
            tail_sum += *r;
        }
    }
    let mean = (s.reduce_sum_f32s(sum) + tail_sum) / n;
    let mv = s.splat_f32s(mean);
    let mut var = s.splat_f32s(0.0);
    let (rv, rt) = S::as_mut_simd_f32s(row);
    for r in rv.iter() {
        let d = s.sub_f32s(*r, mv);
        var = s.mul_add_f32s(d, d, var);
    }
    let tail_var = rt.iter().map(|r| (r - mean) * (r - mean)).sum::<f32>();
    let inv = 1.0 / ((s.reduce_sum_f32s(var) + tail_var) / n + eps).sqrt();
    let iv = s.splat_f32s(inv);
    let (gv, gt) = S::as_simd_f32s(gamma);
    let (bv, bt) = S::as_simd_f32s(beta);
    for ((r, g), b) in rv.iter_mut().zip(gv).zip(bv) {
        *r = s.mul_add_f32s(s.mul_f32s(s.sub_f32s(*r, mv), iv), *g, *b);
    }
    for ((r, g), b) in rt.iter_mut().zip(gt).zip(bt) {
        *r = ((*r - mean) * inv).mul_add(*g, *b);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    fn naive(w: &[f32], b: &[f32], x: &[f32], rows: usize, outs: usize, ins: usize) -> Vec<f32> {
        let mut y = vec![0.0; rows * outs];
        for i in 0..rows {
            for o in 0..outs {
                let mut s = f64::from(b[o]);
                for k in 0..ins {
                    s += f64::from(x[i * ins + k]) * f64::from(w[o * ins + k]);
                }
                #[allow(clippy::cast_possible_truncation)]
                let s = s as f32;
                y[i * outs + o] = s;
            }
        }
        y
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 9;
                #[allow(clippy::cast_precision_loss)]
                let v = h as f32 / (1u32 << 23) as f32;
                v * 2.0 - 1.0
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every shape: rows not a multiple of the tile, outputs not a multiple of the panel,
        /// products on either side of the threading threshold.
        #[test]
        fn linear_matches_the_definition(
            rows in 0usize..40,
            outs in 1usize..80,
            ins in 1usize..600,
            seed in any::<u32>(),
        ) {
            let w = values(outs * ins, seed);
            let b = values(outs, seed ^ 1);
            let x = values(rows * ins, seed ^ 2);
            let lin = Linear::new(&w, &b, outs, ins);
            let mut y = vec![f32::NAN; rows * outs];
            lin.forward(&x, rows, Activation::Identity, &mut y);
            let want = naive(&w, &b, &x, rows, outs, ins);
            for (got, want) in y.iter().zip(&want) {
                #[allow(clippy::cast_precision_loss)]
                let tol = 1e-5 * ins as f32;
                prop_assert!((got - want).abs() <= tol, "{got} vs {want}");
            }
        }
    }

    /// The AVX2 and portable tiles (this machine may run the AVX-512 ones) against the
    /// dispatched one.
    #[test]
    fn every_instruction_set_computes_the_same_layer() {
        let (rows, outs, ins) = (29, 100, 77);
        let w = values(outs * ins, 3);
        let b = values(outs, 4);
        let x = values(rows * ins, 5);
        let lin = Linear::new(&w, &b, outs, ins);
        let mut want = vec![0.0; rows * outs];
        lin.forward(&x, rows, Activation::Gelu, &mut want);
        let mut others = vec![lin.forward_with(pulp::Scalar, &x, rows, Activation::Gelu)];
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            others.push(lin.forward_with(v3, &x, rows, Activation::Gelu));
        }
        for got in others {
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
        }
    }

    #[test]
    fn linear_splits_large_products_across_threads_exactly() {
        let (rows, outs, ins) = (37, 1536, 384);
        assert!(rows * outs * ins >= PARALLEL_MACS);
        let w = values(outs * ins, 7);
        let b = values(outs, 8);
        let x = values(rows * ins, 9);
        let lin = Linear::new(&w, &b, outs, ins);
        let mut threaded = vec![0.0; rows * outs];
        lin.forward(&x, rows, Activation::Gelu, &mut threaded);
        // One row at a time stays under the threshold: the same tiles on one thread.
        for i in 0..rows {
            let mut alone = vec![0.0; outs];
            lin.forward(&x[i * ins..(i + 1) * ins], 1, Activation::Gelu, &mut alone);
            assert_eq!(alone, threaded[i * outs..(i + 1) * outs]);
        }
    }

    /// `f` of every element, with the vector kernels of this CPU (and the scalar tail).
    fn map(values: &[f32], f: Unary) -> Vec<f32> {
        struct Op<'a>(&'a mut [f32], Unary);
        impl WithSimd for Op<'_> {
            type Output = ();
            fn with_simd<S: Simd>(self, s: S) {
                let (head, tail) = S::as_mut_simd_f32s(self.0);
                for v in head {
                    *v = self.1.apply(s, *v);
                }
                for v in tail {
                    *v = self.1.apply(pulp::Scalar, *v);
                }
            }
        }
        let mut out = values.to_vec();
        Arch::new().dispatch(Op(&mut out, f));
        out
    }

    #[derive(Clone, Copy)]
    enum Unary {
        Exp,
        Erf,
    }

    impl Unary {
        fn apply<S: Simd>(self, s: S, x: S::f32s) -> S::f32s {
            match self {
                Self::Exp => exp(s, x),
                Self::Erf => erf(s, x),
            }
        }
    }

    #[test]
    fn exp_is_within_a_few_ulp_of_the_standard_library() {
        let xs = (0..12_700)
            .map(|i| -87.0 + i as f32 * 0.0137)
            .collect::<Vec<_>>();
        for (x, got) in xs.iter().zip(map(&xs, Unary::Exp)) {
            let want = x.exp();
            assert!(
                ((got - want) / want).abs() < 4e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
        let edges = map(&[0.0, -1000.0, 1000.0, 88.3, -87.3], Unary::Exp);
        assert_eq!(edges[0], 1.0);
        assert!(edges[1] > 0.0 && edges[1] < 1e-37);
        assert!(edges[2].is_finite() && edges[3].is_finite() && edges[4] > 0.0);
    }

    #[test]
    fn erf_and_gelu_match_the_definition() {
        let xs = (0..9_231)
            .map(|i| -6.0 + f64::from(i) * 0.001_3)
            .collect::<Vec<_>>();
        #[allow(clippy::cast_possible_truncation)]
        let xf = xs.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let erfs = map(&xf, Unary::Erf);
        let mut gelus = xf.clone();
        activate(&mut gelus, Activation::Gelu);
        let mut tanhs = xf.clone();
        activate(&mut tanhs, Activation::GeluTanh);
        let mut relus = xf.clone();
        activate(&mut relus, Activation::Relu);
        for i in 0..xs.len() {
            let x = f64::from(xf[i]);
            let want = libm_erf(x);
            assert!(
                (f64::from(erfs[i]) - want).abs() < 5e-7,
                "erf({x}) = {}, want {want}",
                erfs[i]
            );
            let g = 0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
            assert!((f64::from(gelus[i]) - g).abs() < 1e-6, "gelu({x})");
            let t = 0.5
                * x
                * (1.0
                    + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x)).tanh());
            assert!((f64::from(tanhs[i]) - t).abs() < 1e-6, "gelu_tanh({x})");
            assert_eq!(relus[i], xf[i].max(0.0));
        }
        let mut edges = vec![0.0, -20.0, 20.0];
        activate(&mut edges, Activation::Gelu);
        assert_eq!(edges, [0.0, 0.0, 20.0]);
    }

    /// erf in f64 by its Maclaurin series (|x| < 3) or the continued fraction of erfc.
    pub(crate) fn libm_erf(x: f64) -> f64 {
        let a = x.abs();
        let y = if a < 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = f64::from(k) / 2.0 / (a + f);
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / (a + f)
        };
        y.copysign(x)
    }

    #[test]
    fn softmax_and_layer_norm() {
        struct Op;
        impl WithSimd for Op {
            type Output = (Vec<f32>, Vec<f32>);
            fn with_simd<S: Simd>(self, s: S) -> Self::Output {
                let mut v = vec![1.0, 2.0, 3.0, -1e30, 0.5, 0.25, -2.0, 1.5, 0.0, 3.0, -1.0];
                softmax(s, &mut v);
                let mut row = (0..21).map(|i| i as f32).collect::<Vec<_>>();
                let add = vec![1.0; 21];
                add_layer_norm(s, &mut row, &add, &[2.0; 21], &[1.0; 21], 1e-12);
                (v, row)
            }
        }
        for (v, row) in every_instruction_set(|| Op) {
            let inputs = [
                1.0f32, 2.0, 3.0, -1e30, 0.5, 0.25, -2.0, 1.5, 0.0, 3.0, -1.0,
            ];
            let e = inputs.iter().map(|x| (x - 3.0).exp()).collect::<Vec<_>>();
            let total: f32 = e.iter().sum();
            for (got, want) in v.iter().zip(e.iter().map(|x| x / total)) {
                assert!((got - want).abs() < 1e-6, "{got} vs {want}");
            }
            assert!(v[3] < 1e-30);
            let mean = row.iter().sum::<f32>() / 21.0;
            let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / 21.0;
            assert!((mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-4);
        }
    }

    /// `op` with the dispatched instruction set, AVX2 where the CPU has it, and portable code.
    fn every_instruction_set<O: WithSimd>(op: impl Fn() -> O) -> Vec<O::Output> {
        let mut out = vec![Arch::new().dispatch(op()), pulp::Scalar.vectorize(op())];
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            out.push(Simd::vectorize(v3, op()));
        }
        out
    }

    #[test]
    fn dot_and_axpy() {
        struct Op;
        impl WithSimd for Op {
            type Output = (f32, Vec<f32>);
            fn with_simd<S: Simd>(self, s: S) -> Self::Output {
                let (a, b) = (values(37, 1), values(37, 2));
                let mut acc = b.clone();
                axpy(s, &mut acc, 2.0, &a);
                (dot(s, &a, &b), acc)
            }
        }
        for (d, acc) in every_instruction_set(|| Op) {
            let (a, b) = (values(37, 1), values(37, 2));
            let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((d - want).abs() < 1e-5);
            for i in 0..37 {
                assert!((acc[i] - (b[i] + 2.0 * a[i])).abs() < 1e-6);
            }
        }
    }
}
