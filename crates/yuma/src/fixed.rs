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
    div(from_u16(x), U16_MAX)
}

/// `fixed_proportion_to_u16`: `floor(x * 65535)`, saturating into `0..=65535`.
pub(crate) fn to_u16_proportion(x: I32F32) -> u16 {
    x.saturating_mul(U16_MAX).saturating_to_num::<u16>()
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
    // Fast path: with 0 <= x < 2^52 and 0 < y < 2^53 both convert to f64 exactly, and a
    // quotient estimate below 2^50 is within one of the truth; integer steps correct it.
    if (0..1 << 52).contains(&x) && (1..1 << 53).contains(&y) {
        let est = (x as f64) * 4_294_967_296.0 / (y as f64);
        if est < (1_u64 << 50) as f64 {
            let num = (x as u128) << 32;
            let den = y as u128;
            let mut q = est as u128;
            let mut prod = q * den;
            while prod > num {
                q -= 1;
                prod -= den;
            }
            while prod + den <= num {
                q += 1;
                prod += den;
            }
            return I32F32::from_bits(q as i64);
        }
    }
    a.checked_div(b).unwrap_or(ZERO)
}

/// `safe_div` on `I64F64`.
pub(crate) fn div64(a: I64F64, b: I64F64) -> I64F64 {
    a.checked_div(b).unwrap_or(I64F64::from_bits(0))
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
    for i in 2..32_i64 {
        let prod = (i128::from(term) * i128::from(op)) >> 32;
        term = i64::try_from(prod).ok()?;
        term /= i;
        if term == 0 {
            break;
        }
        result = result.checked_add(term)?;
    }
    if neg {
        if result == 0 {
            return None;
        }
        // 1 / result: (1 << 64) / result, truncated; fits since result > 1.
        let q = (1_i128 << 64) / i128::from(result);
        return i64::try_from(q).ok().map(I32F32::from_bits);
    }
    Some(I32F32::from_bits(result))
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
    xs.iter_mut().for_each(|x| *x = div(*x, total));
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn exp_matches_library(bits in -(21_i64 << 32)..(21_i64 << 32)) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(exp(x), lib_exp(x));
        }

        #[test]
        fn div_matches_library(a in 0_i64..(1 << 53), b in 1_i64..(1 << 40)) {
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
