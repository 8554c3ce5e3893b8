//! Fixed-point arithmetic exactly as subtensor's `epoch/math.rs` does it.
//!
//! Every number inside the epoch is a `substrate-fixed` value (research notes §1.9):
//! stake is `I64F64` then truncated to `I32F32`, all matrix math is `I32F32`, emission
//! amounts are `I96F32`. The helpers here are the handful of `math.rs` conversions the
//! epoch uses, plus two hot-path kernels ([`exp`] and [`div`]) that compute the same
//! bits as the library with cheaper integer instructions. Both are checked against
//! `substrate-fixed` itself in this module's tests.

pub use substrate_fixed::types::{I32F32, I64F64, I96F32};

/// `I32F32` zero.
pub(crate) const ZERO: I32F32 = I32F32::from_bits(0);
/// `I32F32` one.
pub(crate) const ONE: I32F32 = I32F32::from_bits(1 << 32);
/// `u16::MAX` as `I32F32`.
pub(crate) const U16_MAX: I32F32 = I32F32::from_bits((u16::MAX as i64) << 32);

/// `u16_to_fixed`: the integer value of a stored u16 (weights, original-Yuma bonds).
pub(crate) fn from_u16(x: u16) -> I32F32 {
    I32F32::from_bits(i64::from(x) << 32)
}

/// `u16_proportion_to_fixed`: `x / 65535` (kappa, bonds penalty, alpha bounds, Yuma3 bonds).
pub(crate) fn u16_proportion(x: u16) -> I32F32 {
    // (x << 32 << 32) / (65535 << 32) = (x << 32) / 65535, truncated: same bits as the
    // library division, with a constant divisor.
    I32F32::from_bits((i64::from(x) << 32) / 65_535)
}

/// `fixed_proportion_to_u16`: `floor(x * 65535)`, saturating into `0..=65535`.
#[inline]
pub(crate) fn to_u16_proportion(x: I32F32) -> u16 {
    let b = x.to_bits();
    if (0..=1 << 32).contains(&b) {
        // x in [0, 1] (every stored proportion): b · 65535 < 2^49, and its integer part is
        // at most 65535.
        return ((b as u64 * 65_535) >> 32) as u16;
    }
    // x * (65535 << 32) >> 32 is exactly x * 65535 in bits; the library saturates at the
    // I32F32 range and then at u16, which the clamp reproduces.
    let bits = (i128::from(x.to_bits()) * 65_535).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    u16::try_from((bits >> 32).clamp(0, 65_535)).unwrap_or(u16::MAX)
}

/// `safe_div` on `I32F32`: truncating division, 0 on division by zero or overflow.
///
/// The library computes `(a << 32) / b` in 128 bits. When the quotient provably fits in
/// 53 bits we estimate it in `f64` and correct it with exact integer arithmetic, which
/// gives the same bits several times faster; otherwise we fall back to the library.
#[inline]
pub(crate) fn div(a: I32F32, b: I32F32) -> I32F32 {
    let (x, y) = (a.to_bits(), b.to_bits());
    if y == 0 {
        return ZERO;
    }
    // Fast path: for x >= 0 and y > 0 the f64 estimate of (x << 32) / y has relative
    // error below 2^-51, so when it is under 2^50 it is within one of the true quotient;
    // exact integer steps then correct it.
    if x >= 0 && y > 0 {
        let est = (x as f64) * 4_294_967_296.0 / (y as f64);
        if est < (1_u64 << 50) as f64
            && let Some(q) = correct(x, y, est)
        {
            return I32F32::from_bits(q);
        }
    }
    a.checked_div(b).unwrap_or(ZERO)
}

/// `floor((x << 32) / y)` for `x >= 0`, `y > 0`, from an estimate `est` in `[0, 2^50)`
/// within 1/2 of the true quotient (callers' estimates are, see [`div`] and
/// [`Divisor::div`]). Its floor (read from the bits after adding `1.5 · 2^52`, cheaper than
/// a saturating `as` cast; the floor rather than the nearest integer, so that the branch
/// below is almost never taken) is within one of the quotient, and the remainder
/// `(x << 32) − q·y` then lies in `(−y, 2y)`, which for `y < 2^62` fits in an `i64` and so
/// is exact modulo 2^64 with one 64-bit multiply; one step moves `q` by one if needed.
/// `None` (callers fall back to the library) for larger `y`, or if the result fails the
/// final check.
#[inline]
fn correct(x: i64, y: i64, est: f64) -> Option<i64> {
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const ROUND_BITS: u64 = 0x4338_0000_0000_0000;
    if y >= 1 << 62 {
        return None;
    }
    let (num, den) = ((x as u64) << 32, y as u64);
    let q = (est.floor() + ROUND).to_bits().wrapping_sub(ROUND_BITS);
    let rem = num.wrapping_sub(q.wrapping_mul(den)) as i64;
    let (q, rem) = if rem < 0 {
        (q.wrapping_sub(1), rem.wrapping_add(y))
    } else if rem >= y {
        (q + 1, rem - y)
    } else {
        (q, rem)
    };
    (0 <= rem && rem < y).then_some(q as i64)
}

/// `div(ONE, r)` for `r >= 1`: `⌊2^64 / r⌋`, which lies in `[0, 2^32]`.
///
/// The `f64` quotient is within 2^-19 of the true one (relative error below 2^-51 on a
/// value at most 2^32), so its integer part `q` is off by at most one, and the remainder
/// `2^64 − q·r` lies in `(−r, 2r)`. For `r < 2^62` that fits in an `i64`, so it is exact
/// modulo 2^64 with one 64-bit multiply; one step then fixes `q`.
#[inline]
pub(crate) fn recip(r: I32F32) -> I32F32 {
    let y = r.to_bits();
    if !(1 << 32..1 << 62).contains(&y) {
        return div(ONE, r);
    }
    let q = (18_446_744_073_709_551_616.0 / (y as f64)) as u64;
    let y = y as u64;
    let rem = q.wrapping_mul(y).wrapping_neg() as i64;
    let q = if rem < 0 {
        q - 1
    } else if rem as u64 >= y {
        q + 1
    } else {
        q
    };
    I32F32::from_bits(q as i64)
}

/// A divisor reused for many [`div`]s (a row or column sum): its reciprocal is computed
/// once, so each quotient costs an `f64` multiply instead of a division.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divisor {
    bits: i64,
    scale: f64,
}

impl Divisor {
    /// Prepares division by `b`.
    pub(crate) fn new(b: I32F32) -> Self {
        let bits = b.to_bits();
        let scale = if bits > 0 {
            4_294_967_296.0 / (bits as f64)
        } else {
            0.0
        };
        Self { bits, scale }
    }

    /// Whether the divisor is 0.
    pub(crate) fn is_zero(self) -> bool {
        self.bits == 0
    }

    /// `div(a, b)`, bit for bit.
    ///
    /// The estimate `x · (2^32 / y)` has relative error below 2^-51 (three roundings), so
    /// under 2^50 it is off by less than 1/2 and its integer part within one of the true
    /// quotient; the same exact remainder step as in [`div`] then corrects it.
    #[inline]
    pub(crate) fn div(self, a: I32F32) -> I32F32 {
        let (x, y) = (a.to_bits(), self.bits);
        if y == 0 {
            return ZERO;
        }
        if x >= 0 && y > 0 {
            let est = (x as f64) * self.scale;
            if est < (1_u64 << 50) as f64
                && let Some(q) = correct(x, y, est)
            {
                return I32F32::from_bits(q);
            }
        }
        a.checked_div(I32F32::from_bits(y)).unwrap_or(ZERO)
    }
}

/// `I32F32::saturating_mul`, bit for bit.
///
/// The library multiplies `a` by `b << 32` in a full 128 × 128-bit `overflowing_mul` and
/// keeps the high half, i.e. `floor(a · b / 2^32)`, saturating (towards the sign of the
/// product) exactly when that does not fit in 64 bits. One 64 × 64 → 128-bit multiply and
/// a clamp give the same bits.
#[inline]
pub(crate) fn mul(a: I32F32, b: I32F32) -> I32F32 {
    let p = (i128::from(a.to_bits()) * i128::from(b.to_bits())) >> 32;
    // Fits unless the high 64 bits are not the sign extension of the low (never in the
    // epoch's `[0, 1]` arithmetic, so the branch is free).
    let low = p as i64;
    if i128::from(low) == p {
        I32F32::from_bits(low)
    } else if p < 0 {
        I32F32::from_bits(i64::MIN)
    } else {
        I32F32::from_bits(i64::MAX)
    }
}

/// `acc.saturating_add(x)` for sums that cannot saturate: `x` in `[0, 1]` and fewer than
/// 2^16 terms (a row or column of a subnet of `n <= 65 535` uids), so every partial sum is
/// below 2^16, far from `I32F32`'s limit of 2^31, and the plain add (one instruction
/// instead of an add, an overflow test and a select on the sum's dependency chain) gives
/// the same bits.
#[inline]
pub(crate) fn add_unit(acc: I32F32, x: I32F32) -> I32F32 {
    I32F32::from_bits(acc.to_bits().wrapping_add(x.to_bits()))
}

/// `safe_div` on `I64F64`.
pub(crate) fn div64(a: I64F64, b: I64F64) -> I64F64 {
    a.checked_div(b).unwrap_or(I64F64::from_bits(0))
}

/// `inplace_normalize_64`: divide every element by the sum unless the sum is 0.
pub(crate) fn normalize64(xs: &mut [I64F64]) {
    let zero = I64F64::from_bits(0);
    let total = xs.iter().fold(zero, |a, &x| a.saturating_add(x));
    if total != zero {
        xs.iter_mut().for_each(|x| *x = div64(*x, total));
    }
}

/// `exp_safe`: `exp` of the input clamped to `[-20, 20]` (math.rs `exp_safe`).
pub(crate) fn exp_safe(x: I32F32) -> I32F32 {
    let lo = I32F32::from_bits(-20 << 32);
    let hi = I32F32::from_bits(20 << 32);
    let x = if x < lo {
        lo
    } else if hi < x {
        hi
    } else {
        x
    };
    match exp(x) {
        Some(v) => v,
        None if x <= ZERO => ZERO,
        None => I32F32::max_value(),
    }
}

/// `substrate_fixed::transcendental::exp::<I32F32, I32F32>`, bit for bit.
///
/// The library sums the Taylor series `1 + x + Σ_{i=2}^{31} t_i` with
/// `t_i = (t_{i-1} * x) / i`, each product floored and each quotient truncated, and
/// inverts the result for negative inputs. We run the same recurrence on raw bits:
/// `t * x` is exact in 128 bits, `/ i` of a fixed value by the fixed integer `i` is the
/// integer quotient `t / i`, and once a term is 0 all later terms are 0, so we stop.
/// Returns `None` where the library returns `Err`.
pub(crate) fn exp(x: I32F32) -> Option<I32F32> {
    let bits = x.to_bits();
    if bits == 0 {
        return Some(ONE);
    }
    if bits == 1 << 32 {
        // The library returns its constant `E` here, not the series.
        return substrate_fixed::transcendental::exp::<I32F32, I32F32>(x).ok();
    }
    let neg = bits < 0;
    let op = bits.checked_abs()?;
    let mut result = op.checked_add(1 << 32)?;
    let mut term = op;
    // One Taylor step per literal divisor, so each `/ i` compiles to a multiply.
    macro_rules! steps {
        ($($i:literal)*) => {$(
            let prod = (i128::from(term) * i128::from(op)) >> 32;
            term = i64::try_from(prod).ok()? / $i;
            if term == 0 {
                return finish(result, neg);
            }
            result = result.checked_add(term)?;
        )*};
    }
    steps!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    finish(result, neg)
}

/// The last step of [`exp`]: `1 / result` for negative inputs.
#[inline]
fn finish(result: i64, neg: bool) -> Option<I32F32> {
    let r = I32F32::from_bits(result);
    if !neg {
        return Some(r);
    }
    // checked_div(1, r): r > 1 here, so the quotient fits and `recip` is exact.
    (result != 0).then(|| recip(r))
}

/// [`exp_safe`] of many inputs at once, written into `out`.
///
/// Inside the clamp `[-20, 20]` the library's series never overflows (the largest term is
/// below 2^58 and the sum below 2^61), and a term that reaches 0 stays 0, so several series
/// can run in lockstep until all have vanished; interleaving them hides the latency of
/// each multiply-and-divide step. The result is the same as calling [`exp_safe`] on each.
pub(crate) fn exp_safe_many(xs: &[I32F32], out: &mut Vec<I32F32>) {
    let lo = -20_i64 << 32;
    let hi = 20_i64 << 32;
    out.clear();
    for wide in xs.chunks(WIDE) {
        let mut op = [0_u64; WIDE];
        let mut neg = [false; WIDE];
        let mut special = [false; WIDE];
        for (k, x) in wide.iter().enumerate() {
            let b = x.to_bits().clamp(lo, hi);
            // 0 and 1 take the library's shortcuts; leave them to the scalar path.
            special[k] = b == 0 || b == 1 << 32;
            neg[k] = b < 0;
            op[k] = b.unsigned_abs();
        }
        if op.iter().all(|&o| o < NARROW_OP) {
            // Every result is in [2^32, 2^44) (e^8 < 2^12): the reciprocals of the negative
            // inputs' results are taken together.
            let result = series_narrow(op);
            let inverse = recip_many(result);
            for (k, &x) in wide.iter().enumerate() {
                out.push(match (special.get(k), neg.get(k)) {
                    (Some(false), Some(true)) => I32F32::from_bits(inverse[k] as i64),
                    (Some(false), Some(false)) => I32F32::from_bits(result[k] as i64),
                    _ => exp_safe(x),
                });
            }
            continue;
        }
        for (c, chunk) in wide.chunks(LANES).enumerate() {
            let at = c * LANES;
            let mut lanes = [0_u64; LANES];
            for (l, o) in lanes.iter_mut().zip(op.iter().skip(at)) {
                *l = *o;
            }
            let result = if lanes.iter().all(|&o| o < SMALL_OP) {
                series_small(lanes)
            } else {
                series(lanes)
            };
            let result = result.map(|r| r as i64);
            let (special, neg) = (
                special.get(at..).unwrap_or_default(),
                neg.get(at..).unwrap_or_default(),
            );
            return_chunk(chunk, special, neg, &result, out);
        }
    }
}

/// Inputs of [`series_narrow`] in lockstep: four AVX2 registers of 64-bit lanes, enough
/// independent work to hide the latency of each step.
const WIDE: usize = 16;

/// Inputs in lockstep in [`series`] and [`series_small`].
const LANES: usize = 4;

/// Below this `|x|` (16) every `t · x` of the series is under 2^56 (the largest is
/// `i · t_i ≈ 2^32 · 16^16 / 15! < 2^56`), which [`series_small`] needs.
const SMALL_OP: u64 = 16 << 32;

/// The library's series `1 + x + Σ t_i`, `t_i = ⌊⌊t_{i-1} · x⌋ / i⌋`, on raw bits for
/// `LANES` values `x = op / 2^32` with `op <= 20 · 2^32`. Everything is non-negative and
/// below 2^62, so unsigned arithmetic gives the library's signed results.
#[allow(clippy::needless_range_loop)]
fn series(op: [u64; LANES]) -> [u64; LANES] {
    let mut term = op;
    let mut result = op.map(|o| o + (1 << 32));
    macro_rules! steps {
        ($done:lifetime; $($i:literal)*) => {$(
            let mut any = 0_u64;
            for k in 0..LANES {
                let prod = ((u128::from(term[k]) * u128::from(op[k])) >> 32) as u64;
                term[k] = prod / $i;
                result[k] += term[k];
                any |= term[k];
            }
            if any == 0 {
                break $done;
            }
        )*};
    }
    'series: {
        steps!('series; 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    result
}

/// [`series`] for `op < SMALL_OP`, in two phases.
///
/// While a term is large, the division of `y = ⌊t · x⌋ < 2^56` by `i` is one high multiply
/// by `m = ⌈2^64 / i⌉ = (2^64 + e) / i`, `0 <= e < i`: with `y = q·i + r`,
/// `y · m / 2^64 = q + (r + y·e/2^64) / i` and `r + y·e/2^64 < (i − 1) + 2^56·31/2^64 < i`,
/// so the floor is `q`.
///
/// Once every term is below 2^27 it stays there (a term `t_k` with `k <= x` is at least
/// about `2^32`, since `x^k / k! >= 1`; so by then `i > x` and each further step multiplies
/// by `x / i < 1`), and the whole step fits in 64-bit multiplies: `t · op < 2^27 · 2^36 = 2^63`, `y < 2^31`, and `⌊y / i⌋` is
/// `(y · m') >> (31 + ℓ)` with `ℓ = ⌈log2 i⌉`, `m' = ⌈2^(31+ℓ) / i⌉ < 2^32` (Granlund and
/// Montgomery: the error `y·(m'·i − 2^(31+ℓ)) / (i·2^(31+ℓ)) < 2^-ℓ <= 1/i` cannot carry
/// the quotient past the next integer), `y · m' < 2^63`.
#[allow(clippy::needless_range_loop)]
fn series_small(op: [u64; LANES]) -> [u64; LANES] {
    /// Terms below this take the 64-bit steps.
    const LATE: u64 = 1 << 27;
    let mut term = op;
    let mut result = op.map(|o| o + (1 << 32));
    // The first step the late phase runs; 32 when the early phase ran the series out.
    let mut next = 32_u32;
    macro_rules! early {
        ($done:lifetime; $($i:literal)*) => {$(
            let mut any = 0_u64;
            for k in 0..LANES {
                let y = ((u128::from(term[k]) * u128::from(op[k])) >> 32) as u64;
                term[k] = ((u128::from(y) * u128::from(u64::MAX / $i + 1)) >> 64) as u64;
                result[k] += term[k];
                any |= term[k];
            }
            if any == 0 {
                return result;
            }
            if any < LATE {
                next = $i + 1;
                break $done;
            }
        )*};
    }
    'early: {
        early!('early; 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    macro_rules! late {
        ($done:lifetime; $($i:literal)*) => {$(
            if $i >= next {
                const SHIFT: u32 = 31 + (64 - ($i - 1_u64).leading_zeros());
                const M: u64 = (1_u64 << SHIFT).div_ceil($i);
                let mut any = 0_u64;
                for k in 0..LANES {
                    let y = (term[k] * op[k]) >> 32;
                    term[k] = (y * M) >> SHIFT;
                    result[k] += term[k];
                    any |= term[k];
                }
                if any == 0 {
                    break $done;
                }
            }
        )*};
    }
    'late: {
        late!('late; 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    result
}

/// Below this `|x|` (8) [`series_narrow`] applies.
const NARROW_OP: u64 = 8 << 32;

/// The low 32 bits.
const LOW32: u64 = 0xFFFF_FFFF;

/// Bits of the `f64` 2^52: `f64::from_bits(TWO52_BITS | y) = 2^52 + y` for `y < 2^52`.
const TWO52_BITS: u64 = 0x4330_0000_0000_0000;

/// [`series_small`] for `op < NARROW_OP`, with every multiply a 32 × 32 → 64-bit one and the
/// divisions in `f64`, so that the compiler can run the lanes in vector registers (AVX2
/// `vpmuludq`, FMA); the steps compute the same integers.
///
/// Bounds: `x < 8`, and every term is at most its exact value `2^32 · x^i / i!` (floors
/// only lower it), whose maximum over `i` is below `417 · 2^32 < 2^41`.
///
/// Early steps, `t < 2^41`, `op < 2^35`: with `t = t_h·2^32 + t_l` and
/// `op = o_h·2^32 + o_l` (all four below 2^32),
/// `⌊t · op / 2^32⌋ = t_h·o_h·2^32 + t_h·o_l + t_l·o_h + ⌊t_l·o_l / 2^32⌋` exactly, each
/// product fitting in 64 bits, and `y` below 2^44. Then `q = ⌊y / i⌋` in `f64`:
/// `f = 2^52 + y` is exact (bias trick), and `fma(f, fl(1/i), −2^52·fl(1/i))` is `y·fl(1/i)`
/// rounded once (the constant is exact: a power of two times `fl(1/i)`), with relative
/// error below 2^-51.9, so within `2^43 · 2^-51.9 < 2^-8.9` of `y/i`. Adding `2^-7 − 1/2`
/// (rounding error at most 2^-11 at this magnitude) gives `a` with
/// `a − (q − 1/2) ∈ r/i + [0.0053, 0.0103]`, where `y/i = q + r/i` and `r/i` is 0 or at most
/// `30/31 < 0.968`; so `a` lies strictly within 1/2 of `q`, and adding `1.5 · 2^52` rounds
/// it to `q` (the sum stays in `[2^52, 2^53)`, where the spacing is 1), read back from the
/// bits.
///
/// Late steps, once every term is below 2^27 (as in [`series_small`], they stay there):
/// `⌊t · op / 2^32⌋ = t·o_h + ⌊t·o_l / 2^32⌋ < 2^30`, and the division is the same
/// Granlund–Montgomery multiply as in [`series_small`], `m' < 2^32`. The `& LOW32` masks
/// on values already below 2^32 change nothing; they tell the compiler that 32-bit
/// multiplies suffice.
#[allow(clippy::needless_range_loop)]
fn series_narrow(op: [u64; WIDE]) -> [u64; WIDE] {
    /// Terms below this take the late steps.
    const LATE: u64 = 1 << 27;
    const TWO52: f64 = 4_503_599_627_370_496.0;
    /// `1.5 · 2^52`: adding it rounds a value in `(−2^51, 2^51)` to an integer.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const ROUND_BITS: u64 = 0x4338_0000_0000_0000;
    const NUDGE: f64 = 1.0 / 128.0 - 0.5;
    let mut term = op;
    let mut result = op.map(|o| o + (1 << 32));
    // The first step the late phase runs; 32 when the early phase ran the series out.
    let mut next = 32_u32;
    macro_rules! early {
        ($done:lifetime; $($i:literal)*) => {$(
            let inv = 1.0 / f64::from($i as u8);
            let bias = TWO52 * inv;
            let mut any = 0_u64;
            for k in 0..WIDE {
                let (oh, ol) = (op[k] >> 32, op[k] & LOW32);
                let (th, tl) = (term[k] >> 32, term[k] & LOW32);
                let y = ((th * oh) << 32) + th * ol + tl * oh + ((tl * ol) >> 32);
                let p = f64::from_bits(y | TWO52_BITS).mul_add(inv, -bias);
                term[k] = ((p + NUDGE) + ROUND).to_bits().wrapping_sub(ROUND_BITS);
                result[k] += term[k];
                any |= term[k];
            }
            if any == 0 {
                return result;
            }
            if any < LATE {
                next = $i + 1;
                break $done;
            }
        )*};
    }
    'early: {
        early!('early; 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    macro_rules! late {
        ($done:lifetime; $($i:literal)*) => {$(
            if $i >= next {
                const SHIFT: u32 = 31 + (64 - ($i - 1_u64).leading_zeros());
                const M: u64 = (1_u64 << SHIFT).div_ceil($i);
                let mut any = 0_u64;
                for k in 0..WIDE {
                    let t = term[k] & LOW32;
                    let y = t * (op[k] >> 32) + ((t * (op[k] & LOW32)) >> 32);
                    term[k] = ((y & LOW32) * M) >> SHIFT;
                    result[k] += term[k];
                    any |= term[k];
                }
                if any == 0 {
                    break $done;
                }
            }
        )*};
    }
    'late: {
        late!('late; 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    result
}

/// [`recip`] of many values, bit for bit, for `y` in `[2^32, 2^52)` (others: 0, for the
/// caller to do otherwise): `⌊2^64 / y⌋`, written so that the compiler can vectorise it.
///
/// `y` converts exactly (bias trick); the `f64` quotient is within `2^32 · 2^-53` of
/// `Q = 2^64 / y <= 2^32`, so rounding it to the nearest integer (adding `1.5 · 2^52`)
/// gives `q0` with `|q0 − Q| < 1`: `q0` is `⌊Q⌋` or `⌊Q⌋ + 1`, at most 2^32. The remainder
/// `2^64 − q0·y` then lies in `[−y, y)` and is exact modulo 2^64 (computed from 32-bit
/// halves: `q0·y mod 2^64 = q_l·y_l + ((q_l·y_h + q_h·y_l) << 32)`), and `q0` is one too
/// many exactly when it is negative.
#[allow(clippy::needless_range_loop)]
pub(crate) fn recip_many(y: [u64; WIDE]) -> [u64; WIDE] {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    const TWO64: f64 = 18_446_744_073_709_551_616.0;
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const ROUND_BITS: u64 = 0x4338_0000_0000_0000;
    let mut q = [0_u64; WIDE];
    for k in 0..WIDE {
        let y = y[k];
        let ok = (1 << 32..1 << 52).contains(&y);
        let yf = f64::from_bits((y & ((1 << 52) - 1)) | TWO52_BITS) - TWO52;
        let q0 = ((TWO64 / yf) + ROUND).to_bits().wrapping_sub(ROUND_BITS);
        let (ql, qh) = (q0 & LOW32, (q0 >> 32) & LOW32);
        let (yl, yh) = (y & LOW32, y >> 32);
        let low = (ql * yl).wrapping_add((ql * yh + qh * yl) << 32);
        let rem = low.wrapping_neg() as i64;
        let r = q0.wrapping_sub(u64::from(rem < 0));
        q[k] = if ok { r } else { 0 };
    }
    q
}

/// Lanes of [`recip_many`].
pub(crate) const RECIP_LANES: usize = WIDE;

/// Reusable buffers of [`exp_safe_many_grouped`].
#[derive(Default)]
pub(crate) struct ExpScratch {
    order: Vec<u32>,
    sorted: Vec<I32F32>,
    results: Vec<I32F32>,
}

/// [`exp_safe_many`] with the inputs grouped by magnitude first.
///
/// A lockstep group runs until its slowest series vanishes, and the number of terms grows
/// with `|x|`; a counting sort on the sign and the integer part of `|x|` puts inputs of
/// similar length (and the same final step) together. Each input still goes through the
/// same series, so the results are the same.
pub(crate) fn exp_safe_many_grouped(xs: &[I32F32], out: &mut Vec<I32F32>, s: &mut ExpScratch) {
    // Keys 0..=20: the integer part of |x| for x >= 0; 21..=41 the same for x < 0, so
    // that a group also shares its sign (negative results take one more division).
    const KEYS: usize = 42;
    if xs.len() < 64 || u32::try_from(xs.len()).is_err() {
        return exp_safe_many(xs, out);
    }
    let key = |x: &I32F32| {
        let b = x.to_bits();
        (b.unsigned_abs() >> 32).min(20) as usize + if b < 0 { 21 } else { 0 }
    };
    let mut start = [0_usize; KEYS + 1];
    for x in xs {
        if let Some(c) = start.get_mut(key(x) + 1) {
            *c += 1;
        }
    }
    for k in 1..=KEYS {
        let prev = start.get(k - 1).copied().unwrap_or(0);
        if let Some(c) = start.get_mut(k) {
            *c += prev;
        }
    }
    s.order.clear();
    s.order.resize(xs.len(), 0);
    s.sorted.clear();
    s.sorted.resize(xs.len(), ZERO);
    for (i, x) in xs.iter().enumerate() {
        if let Some(p) = start.get_mut(key(x)) {
            if let (Some(o), Some(v)) = (s.order.get_mut(*p), s.sorted.get_mut(*p)) {
                *o = i as u32;
                *v = *x;
            }
            *p += 1;
        }
    }
    exp_safe_many(&s.sorted, &mut s.results);
    out.clear();
    out.resize(xs.len(), ZERO);
    for (&i, &r) in s.order.iter().zip(&s.results) {
        if let Some(o) = out.get_mut(i as usize) {
            *o = r;
        }
    }
}

fn return_chunk(
    chunk: &[I32F32],
    special: &[bool],
    neg: &[bool],
    result: &[i64],
    out: &mut Vec<I32F32>,
) {
    for (k, &x) in chunk.iter().enumerate() {
        let (s, n, r) = (
            special.get(k).copied().unwrap_or(true),
            neg.get(k).copied().unwrap_or(false),
            result.get(k).copied().unwrap_or(0),
        );
        out.push(if s {
            exp_safe(x)
        } else if n {
            recip(I32F32::from_bits(r))
        } else {
            I32F32::from_bits(r)
        });
    }
}

/// Sum with saturating adds in order. Upstream sums with `Iterator::sum`, which is the
/// same value whenever it does not overflow (every sum here is of values in `[0, 1]` or
/// of u16 weights, far from the limit); saturating keeps the crate panic-free.
pub(crate) fn sum(xs: impl IntoIterator<Item = I32F32>) -> I32F32 {
    xs.into_iter().fold(ZERO, |acc, x| acc.saturating_add(x))
}

/// `inplace_normalize`: divide every element by the sum unless the sum is 0.
pub(crate) fn normalize(xs: &mut [I32F32]) {
    let total = sum(xs.iter().copied());
    if total == ZERO {
        return;
    }
    let total = Divisor::new(total);
    xs.iter_mut().for_each(|x| *x = total.div(*x));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lib_exp(x: I32F32) -> Option<I32F32> {
        substrate_fixed::transcendental::exp::<I32F32, I32F32>(x).ok()
    }

    #[test]
    fn exp_matches_library_on_edges() {
        for bits in [
            0_i64,
            1,
            -1,
            1 << 31,
            -(1 << 31),
            1 << 32,
            -(1 << 32),
            5 << 32,
            -(5 << 32),
            20 << 32,
            -(20 << 32),
            (20 << 32) - 1,
            21 << 32,
            -(21 << 32),
            (1 << 32) + 1,
            (1 << 32) - 1,
        ] {
            let x = I32F32::from_bits(bits);
            assert_eq!(exp(x), lib_exp(x), "bits {bits}");
        }
    }

    #[test]
    fn recip_matches_library_on_edges() {
        for bits in [
            1_i64 << 32,
            (1 << 32) + 1,
            (1 << 33) - 1,
            1 << 33,
            3 << 32,
            (1 << 62) - 1,
            1 << 62,
            i64::MAX,
            (1 << 32) - 1,
            1,
        ] {
            let x = I32F32::from_bits(bits);
            assert_eq!(recip(x), ONE.checked_div(x).unwrap_or(ZERO), "1 / {bits}");
        }
    }

    #[test]
    fn mul_matches_library_on_edges() {
        let edges = [
            0_i64,
            1,
            -1,
            1 << 32,
            -(1 << 32),
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1 << 31,
            -(1 << 31),
            (1 << 47) - 1,
            1 << 47,
            -(1 << 47),
        ];
        for a in edges {
            for b in edges {
                let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
                assert_eq!(mul(x, y), x.saturating_mul(y), "{a} * {b}");
            }
        }
    }

    #[test]
    fn div_matches_library_on_edges() {
        let cases = [
            (0_i64, 1_i64),
            (1, 1 << 20),
            ((1 << 52) - 1, 1 << 20),
            ((1 << 52) - 1, (1 << 20) + 1),
            (1 << 32, 65535 << 32),
            (65535 << 32, 65535 << 32),
            (123_456_789, 987_654_321),
            (1 << 40, 3),
            (-(1 << 40), 7 << 32),
            (i64::MAX, 1 << 32),
            (i64::MAX, 1),
            (5, 0),
        ];
        for (a, b) in cases {
            let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
            assert_eq!(div(x, y), x.checked_div(y).unwrap_or(ZERO), "{a} / {b}");
        }
    }

    /// Many inputs of the range liquid alpha uses (|x| <= 5 by default, up to 16 with other
    /// steepness), so that both phases of `series_small` and the switch between them run.
    #[test]
    fn exp_many_matches_scalar_dense() {
        let mut x = 0x1234_5678_u64;
        let xs: Vec<I32F32> = (0..50_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let span = [1_i64 << 20, 1 << 32, 5 << 32, 16 << 32][(x >> 60) as usize % 4];
                I32F32::from_bits((x >> 3) as i64 % (2 * span) - span)
            })
            .collect();
        let mut out = Vec::new();
        exp_safe_many_grouped(&xs, &mut out, &mut ExpScratch::default());
        for (x, e) in xs.iter().zip(&out) {
            assert_eq!(*e, exp_safe(*x), "x bits {}", x.to_bits());
        }
    }

    /// The vector-friendly kernel against the 64/128-bit one, lane by lane, on inputs
    /// spread over its whole range (and its edges), so that both its phases and the switch
    /// between them run with every divisor.
    #[test]
    fn series_narrow_matches_series_small() {
        let mut next = crate::xorshift(0x9E37_79B9_7F4A_7C15);
        let edges = [
            0,
            1,
            2,
            (1 << 32) - 1,
            1 << 32,
            (1 << 32) + 1,
            3 << 31,
            (5 << 32) + 12_345,
            NARROW_OP - 1,
            NARROW_OP - (1 << 20),
            (7 << 32) + 1,
        ];
        for round in 0..40_000 {
            let mut op = [0_u64; WIDE];
            for (k, o) in op.iter_mut().enumerate() {
                *o = match (round + k) % 5 {
                    0 => edges[(next() % edges.len() as u64) as usize],
                    // Lanes of similar size, as the grouped caller makes them.
                    1 | 2 => ((round as u64 % 8) << 32) + (next() >> 32),
                    3 => next() % (1 << (next() % 36)),
                    _ => next() % NARROW_OP,
                } % NARROW_OP;
            }
            let got = series_narrow(op);
            for (c, chunk) in op.chunks(LANES).enumerate() {
                let mut lanes = [0_u64; LANES];
                lanes.copy_from_slice(chunk);
                let want = series_small(lanes);
                assert_eq!(
                    got.get(c * LANES..(c + 1) * LANES),
                    Some(&want[..]),
                    "ops {lanes:?}"
                );
            }
        }
    }

    #[test]
    fn recip_many_matches_recip() {
        let mut next = crate::xorshift(0x2545_F491_4F6C_DD1D);
        let edges = [
            1_u64 << 32,
            (1 << 32) + 1,
            (1 << 33) - 1,
            1 << 33,
            3 << 32,
            (1 << 52) - 1,
            (1 << 51) + 1,
            (1 << 44) - 1,
        ];
        for round in 0..50_000 {
            let mut y = [0_u64; WIDE];
            for (k, v) in y.iter_mut().enumerate() {
                let x = next();
                *v = if (round + k) % 7 == 0 {
                    edges[(x % edges.len() as u64) as usize]
                } else {
                    (1 << 32) + (x >> (12 + x % 32))
                };
            }
            let got = recip_many(y);
            for (&y, &q) in y.iter().zip(&got) {
                let want = recip(I32F32::from_bits(y as i64)).to_bits() as u64;
                if (1 << 32..1 << 52).contains(&y) {
                    assert_eq!(q, want, "1 / {y}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn exp_matches_library(bits in -(21_i64 << 32)..(21_i64 << 32)) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(exp(x), lib_exp(x));
        }

        #[test]
        fn exp_many_matches_scalar(xs in proptest::collection::vec(-(25_i64 << 32)..(25_i64 << 32), 0..20)) {
            let xs: Vec<I32F32> = xs.into_iter().map(I32F32::from_bits).collect();
            let mut out = Vec::new();
            exp_safe_many(&xs, &mut out);
            let want: Vec<I32F32> = xs.iter().map(|&x| exp_safe(x)).collect();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn exp_many_matches_scalar_below_16(xs in proptest::collection::vec(-(16_i64 << 32) + 1..(16_i64 << 32), 0..20)) {
            let xs: Vec<I32F32> = xs.into_iter().map(I32F32::from_bits).collect();
            let mut out = Vec::new();
            exp_safe_many(&xs, &mut out);
            let want: Vec<I32F32> = xs.iter().map(|&x| exp_safe(x)).collect();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn exp_grouped_matches_scalar(xs in proptest::collection::vec(-(25_i64 << 32)..(25_i64 << 32), 0..300)) {
            let xs: Vec<I32F32> = xs.into_iter().map(I32F32::from_bits).collect();
            let mut out = Vec::new();
            exp_safe_many_grouped(&xs, &mut out, &mut ExpScratch::default());
            let want: Vec<I32F32> = xs.iter().map(|&x| exp_safe(x)).collect();
            prop_assert_eq!(out, want);
        }

        #[test]
        fn u16_conversions_match_library(x in any::<u16>(), bits in any::<i64>(), unit in 0_i64..=(1 << 32)) {
            let u = I32F32::from_bits(unit);
            prop_assert_eq!(to_u16_proportion(u), u.saturating_mul(U16_MAX).saturating_to_num::<u16>());
            let lib = I32F32::from_num(x).checked_div(U16_MAX).unwrap_or(ZERO);
            prop_assert_eq!(u16_proportion(x), lib);
            let y = I32F32::from_bits(bits);
            prop_assert_eq!(to_u16_proportion(y), y.saturating_mul(U16_MAX).saturating_to_num::<u16>());
            let small = I32F32::from_bits(bits >> 30);
            prop_assert_eq!(to_u16_proportion(small), small.saturating_mul(U16_MAX).saturating_to_num::<u16>());
        }

        #[test]
        fn div_matches_library(a in 0_i64..(1 << 53), b in 1_i64..(1 << 40)) {
            let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(div(x, y), x.checked_div(y).unwrap_or(ZERO));
        }

        #[test]
        fn divisor_matches_library(a in any::<i64>(), b in any::<i64>(), small in 0_i64..(1 << 40), shift in 0_u32..60) {
            for (a, b) in [(a, b), (small, b >> shift), (a >> shift, small), (small, small >> (shift % 20))] {
                let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
                prop_assert_eq!(Divisor::new(y).div(x), x.checked_div(y).unwrap_or(ZERO), "{} / {}", a, b);
                prop_assert_eq!(Divisor::new(y).div(x), div(x, y));
            }
        }

        #[test]
        fn recip_matches_library(r in (1_i64 << 32)..i64::MAX, small in (1_i64 << 32)..(1_i64 << 40)) {
            for r in [r, small, r >> (r % 31)] {
                let x = I32F32::from_bits(r);
                prop_assert_eq!(recip(x), ONE.checked_div(x).unwrap_or(ZERO), "1 / {}", r);
            }
        }

        #[test]
        fn mul_matches_library(a in any::<i64>(), b in any::<i64>(), shift in 0_u32..63) {
            for (a, b) in [(a, b), (a >> shift, b), (a, b >> shift), (a >> shift, b >> (63 - shift)), (a >> 31, b >> 31)] {
                let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
                prop_assert_eq!(mul(x, y), x.saturating_mul(y), "{} * {}", a, b);
            }
        }

        #[test]
        fn div_matches_library_large_divisors(a in 0_i64..i64::MAX, b in (1_i64 << 50)..i64::MAX) {
            let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(div(x, y), x.checked_div(y).unwrap_or(ZERO));
        }

        #[test]
        fn div_matches_library_small_quotients(a in 0_i64..(1 << 34), b in (1_i64 << 20)..(1 << 34)) {
            let (x, y) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(div(x, y), x.checked_div(y).unwrap_or(ZERO));
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// `cargo test --release -p yuma --lib exp_timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn exp_timing() {
        let mut x = 12345_u64;
        let xs: Vec<I32F32> = (0..1_000_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                I32F32::from_bits(((x >> 20) as i64 % (10_i64 << 32)) - (5 << 32))
            })
            .collect();
        let mut out = Vec::new();
        for _ in 0..3 {
            let t = std::time::Instant::now();
            for c in xs.chunks(3840) {
                exp_safe_many(c, &mut out);
                std::hint::black_box(&out);
            }
            println!("exp_safe_many: {:?} per 1M", t.elapsed());
            let t = std::time::Instant::now();
            for c in xs.chunks(3840) {
                exp_safe_many_grouped(c, &mut out, &mut ExpScratch::default());
                std::hint::black_box(&out);
            }
            println!("exp_safe_many_grouped: {:?} per 1M", t.elapsed());
        }
    }
}
