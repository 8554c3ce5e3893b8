//! How `set_weights` stores submitted weights: `vec_u16_max_upscale_to_u16` (math.rs).

use crate::fixed::{I32F32, U16_MAX, ZERO, div};

/// Scales a submitted weight vector so its maximum becomes 65 535, rounding half away
/// from zero, exactly as subtensor does before storing `Weights`. Below a maximum of
/// 32 768 it multiplies before dividing, above it divides first; the two round
/// differently, and that difference is on chain.
pub fn max_upscale(values: &[u16]) -> Vec<u16> {
    let xs: Vec<I32F32> = values
        .iter()
        .map(|&v| I32F32::from_bits(i64::from(v) << 32))
        .collect();
    max_upscale_fixed(&xs)
}

/// `vec_max_upscale_to_u16` on fixed-point input.
pub(crate) fn max_upscale_fixed(xs: &[I32F32]) -> Vec<u16> {
    let Some(&max) = xs.iter().max() else {
        return Vec::new();
    };
    let to_u16 = |x: I32F32| x.saturating_round().saturating_to_num::<u16>();
    if max == ZERO {
        return xs
            .iter()
            .map(|x| x.saturating_mul(U16_MAX).saturating_to_num::<u16>())
            .collect();
    }
    if max > I32F32::from_bits(32_768 << 32) {
        let scale = div(U16_MAX, max);
        return xs.iter().map(|x| to_u16(x.saturating_mul(scale))).collect();
    }
    xs.iter()
        .map(|x| to_u16(div(x.saturating_mul(U16_MAX), max)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::max_upscale;

    #[test]
    fn upstream_cases() {
        // tests/math.rs::test_vec_u16_max_upscale_to_u16
        assert_eq!(max_upscale(&[1]), vec![65535]);
        assert_eq!(max_upscale(&[0, 1]), vec![0, 65535]);
        assert_eq!(max_upscale(&[65534]), vec![65535]);
        assert_eq!(max_upscale(&[0, 1, 65534]), vec![0, 1, 65535]);
        assert_eq!(
            max_upscale(&[0, 1, 2, 3, 4, 65533, 65535]),
            vec![0, 1, 2, 3, 4, 65533, 65535]
        );
        assert_eq!(max_upscale(&[0, 1, 32768, 32769]), vec![0, 2, 65533, 65535]);
        assert_eq!(max_upscale(&[]), Vec::<u16>::new());
        assert_eq!(max_upscale(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale(&[32767, 0, 32767]), vec![65535, 0, 65535]);
    }
}
