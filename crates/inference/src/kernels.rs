//! The dense arithmetic of the BERT forward pass ([`crate::bert`]) on plain `f32` slices.
//!
//! - [`Linear`] is `y = x·Wᵀ + b`, with `W` packed once at load time into panels of [`NR`]
//!   output columns, so each panel is read contiguously. A register-blocked tile of [`MR`] rows ×
//!   [`NR`] columns accumulates over the whole input dimension and applies the bias and the
//!   activation while the tile is still in registers. The panels are split across the rayon
//!   pool when the product is large enough to pay for the hand-off.
//! - [`exp`] and [`erf`] are branch-free, so loops over them vectorise (the standard library's
//!   `expf`/`erff` are scalar calls); [`gelu`], [`softmax`], [`layer_norm`] build on them.
//!
//! No `unsafe`: the kernels are written over fixed-size arrays and the compiler vectorises them
//! for the build's CPU target (x86-64-v3, i.e. AVX2 and FMA; `.cargo/config.toml`).

use rayon::prelude::*;

/// Rows of a register tile.
pub(crate) const MR: usize = 6;
/// Columns of a register tile and of a packed weight panel (two AVX2 registers).
pub(crate) const NR: usize = 16;
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
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        match self {
            Self::Identity => x,
            Self::Gelu => gelu(x),
            Self::GeluTanh => gelu_tanh(x),
            Self::Relu => x.max(0.0),
        }
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
        let panels = self.outputs.div_ceil(NR);
        let threads = if rows * self.inputs * self.outputs >= PARALLEL_MACS {
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
        for row in out.chunks_exact_mut(self.outputs) {
            let mut rest = row;
            for (part, &(p0, p1)) in parts.iter_mut().zip(&ranges) {
                let width = (p1 * NR).min(self.outputs) - p0 * NR;
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(width);
                part.push(head);
                rest = tail;
            }
        }
        if threads == 1 {
            for (mut part, (p0, p1)) in parts.into_iter().zip(ranges) {
                self.panels(x, p0..p1, &mut part, act);
            }
        } else {
            parts
                .into_par_iter()
                .zip(ranges)
                .for_each(|(mut part, (p0, p1))| self.panels(x, p0..p1, &mut part, act));
        }
    }

    /// The columns of panels `range` for every row; `out[i]` is row `i`'s slice for them.
    fn panels(
        &self,
        x: &[f32],
        range: std::ops::Range<usize>,
        out: &mut [&mut [f32]],
        act: Activation,
    ) {
        let k = self.inputs;
        let rows = out.len();
        for p in range.clone() {
            let panel = &self.packed[p * k * NR..(p + 1) * k * NR];
            let mut bias = [0.0; NR];
            bias.copy_from_slice(&self.bias[p * NR..(p + 1) * NR]);
            let col = (p - range.start) * NR;
            let width = NR.min(self.outputs - p * NR);
            let mut i = 0;
            while i + MR <= rows {
                let tile = tile::<MR>(rows_of(x, k, i), panel, &bias, act);
                store(&tile, &mut out[i..i + MR], col, width);
                i += MR;
            }
            let rest = &mut out[i..];
            match rest.len() {
                0 => {}
                1 => store(&tile::<1>(rows_of(x, k, i), panel, &bias, act), rest, col, width),
                2 => store(&tile::<2>(rows_of(x, k, i), panel, &bias, act), rest, col, width),
                3 => store(&tile::<3>(rows_of(x, k, i), panel, &bias, act), rest, col, width),
                4 => store(&tile::<4>(rows_of(x, k, i), panel, &bias, act), rest, col, width),
                _ => store(&tile::<5>(rows_of(x, k, i), panel, &bias, act), rest, col, width),
            }
        }
    }
}

/// Rows `first..first + R` of the row-major `x` with `k` columns.
#[inline(always)]
fn rows_of<const R: usize>(x: &[f32], k: usize, first: usize) -> [&[f32]; R] {
    std::array::from_fn(|r| &x[(first + r) * k..(first + r + 1) * k])
}

/// One `R × NR` tile: `act(Σₖ a[r][k]·panel[k][c] + bias[c])`, accumulated in registers.
#[inline(always)]
fn tile<const R: usize>(
    a: [&[f32]; R],
    panel: &[f32],
    bias: &[f32; NR],
    act: Activation,
) -> [[f32; NR]; R] {
    let (lanes, _) = panel.as_chunks::<NR>();
    let n = lanes.len();
    // Equal lengths let the compiler drop the bounds checks inside the loop.
    let a = a.map(|row| &row[..n]);
    let mut acc = [[0.0f32; NR]; R];
    for (k, b) in lanes.iter().enumerate() {
        for r in 0..R {
            let v = a[r][k];
            for c in 0..NR {
                acc[r][c] = v.mul_add(b[c], acc[r][c]);
            }
        }
    }
    for row in &mut acc {
        for c in 0..NR {
            row[c] = act.apply(row[c] + bias[c]);
        }
    }
    acc
}

#[inline(always)]
fn store<const R: usize>(tile: &[[f32; NR]; R], out: &mut [&mut [f32]], col: usize, width: usize) {
    for (row, values) in out.iter_mut().zip(tile) {
        row[col..col + width].copy_from_slice(&values[..width]);
    }
}

/// `eˣ` to within about 2 ulp, branch-free (Cody–Waite reduction to `r ∈ [-ln2/2, ln2/2]`, a
/// degree-6 polynomial, the exponent set from the bits). Inputs are clamped to
/// `[-87.3, 88.3]`, so the result is never infinite or subnormal.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    let mut p: f32 = 1.0 / 720.0;
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    // `n` is in [-126, 127] after the clamp; 2ⁿ by building the exponent field.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// The error function to within 1.5·10⁻⁷ (Abramowitz & Stegun 7.1.26, the form PyTorch's
/// vectorised CPU kernel uses), branch-free.
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152_1;
    const A5: f32 = 1.061_405_4;
    let a = x.abs();
    let t = 1.0 / P.mul_add(a, 1.0);
    let mut q = A5;
    q = q.mul_add(t, A4);
    q = q.mul_add(t, A3);
    q = q.mul_add(t, A2);
    q = q.mul_add(t, A1);
    let y = 1.0 - q * t * exp(-a * a);
    y.copysign(x)
}

/// `x·Φ(x) = x/2·(1 + erf(x/√2))`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, with `tanh(u) = 1 − 2/(e^{2u} + 1)`.
#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let u = SQRT_2_OVER_PI * (0.044_715 * x * x).mul_add(x, x);
    let tanh = 1.0 - 2.0 / (exp(2.0 * u) + 1.0);
    0.5 * x * (1.0 + tanh)
}

/// Softmax of `v` in place (max subtracted first, as every careful implementation does).
pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in v {
        *x *= inv;
    }
}

/// `row = (row − mean) / √(var + eps) · gamma + beta`, the biased variance as PyTorch's
/// `LayerNorm`.
pub(crate) fn layer_norm(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    #[allow(clippy::cast_precision_loss)]
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((x, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *x = ((*x - mean) * inv).mul_add(*g, *b);
    }
}

/// `Σ aᵢ·bᵢ` in eight interleaved partial sums (so it vectorises).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ac, at) = a.as_chunks::<8>();
    let (bc, bt) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..8 {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    let tail = at.iter().zip(bt).map(|(x, y)| x * y).sum::<f32>();
    acc.iter().sum::<f32>() + tail
}

/// `acc += w·v`.
#[inline(always)]
pub(crate) fn axpy(acc: &mut [f32], w: f32, v: &[f32]) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a = w.mul_add(*x, *a);
    }
}

/// `Σ v` in eight interleaved partial sums.
fn sum(v: &[f32]) -> f32 {
    let (chunks, tail) = v.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l];
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn exp_is_within_a_few_ulp_of_the_standard_library() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 4e-7,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.0137;
        }
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn erf_and_gelu_match_the_definition() {
        let mut x = -6.0f64;
        while x < 6.0 {
            #[allow(clippy::cast_possible_truncation)]
            let xf = x as f32;
            let want = libm_erf(x);
            assert!(
                (f64::from(erf(xf)) - want).abs() < 5e-7,
                "erf({x}) = {}, want {want}",
                erf(xf)
            );
            let g = 0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2));
            assert!((f64::from(gelu(xf)) - g).abs() < 1e-6, "gelu({x})");
            let t = 0.5
                * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x)).tanh());
            assert!((f64::from(gelu_tanh(xf)) - t).abs() < 1e-6, "gelu_tanh({x})");
            x += 0.001_3;
        }
        assert!(erf(0.0).abs() < 1e-7);
        assert_eq!(gelu(-20.0), -0.0);
        assert_eq!(gelu(20.0), 20.0);
    }

    /// erf in f64 by its Maclaurin series (|x| < 3) or the continued fraction of erfc.
    fn libm_erf(x: f64) -> f64 {
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
        let mut v = vec![1.0, 2.0, 3.0, -1e30];
        softmax(&mut v);
        let e = [1f32.exp(), 2f32.exp(), 3f32.exp()];
        let s: f32 = e.iter().sum();
        for (got, want) in v.iter().zip(e.iter().map(|x| x / s)) {
            assert!((got - want).abs() < 1e-6);
        }
        assert!(v[3] < 1e-30);
        let mut row = (0..20).map(|i| i as f32).collect::<Vec<_>>();
        layer_norm(&mut row, &[2.0; 20], &[1.0; 20], 1e-12);
        let mean = row.iter().sum::<f32>() / 20.0;
        let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / 20.0;
        assert!((mean - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 1e-4);
    }

    #[test]
    fn dot_and_axpy() {
        let a = values(37, 1);
        let b = values(37, 2);
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-5);
        let mut acc = b.clone();
        axpy(&mut acc, 2.0, &a);
        for i in 0..37 {
            assert!((acc[i] - (b[i] + 2.0 * a[i])).abs() < 1e-6);
        }
    }
}
