//! The subnet's AMM pool: an equal-weight Balancer pool, i.e. constant product `x·y = k`
//! between the alpha reserve `x` and the native reserve `y` (research notes §4).
//!
//! Integer arithmetic only. The fee (33/65 535 ≈ 0.05 % of the input) is taken before the
//! swap and stays in the input reserve, and every output is rounded down, so `k` never
//! decreases. Prices are native base units per whole alpha token (`10⁹` alpha base units).

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::{
    Amount,
    error::{Reject, invalid},
    util::amount_str,
};

/// Swap fee numerator over [`FEE_DENOMINATOR`] (subtensor's `FeeRate` default 33/65 535).
pub const FEE_NUMERATOR: u128 = 33;
/// Swap fee denominator.
pub const FEE_DENOMINATOR: u128 = 65_535;
/// A swap may not leave its output reserve below this (subtensor's 1 000 000 rao guard).
pub const MIN_RESERVE: Amount = 1_000_000;
/// Price scale: prices are quoted per 10⁹ alpha base units.
pub const PRICE_SCALE: u128 = 1_000_000_000;

/// The reserves of a subnet pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Native token reserve (`SubnetTAO`, y).
    #[serde(with = "amount_str")]
    pub tao: Amount,
    /// Alpha reserve (`SubnetAlphaIn`, x).
    #[serde(with = "amount_str")]
    pub alpha: Amount,
}

/// The result of a swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swap {
    /// The input, fee included.
    pub amount_in: Amount,
    /// The fee, kept in the input reserve.
    pub fee: Amount,
    /// What the swapper receives.
    pub amount_out: Amount,
    /// The pool after the swap.
    pub after: Pool,
    /// Slippage in parts per million: how much worse the fill was than the spot price
    /// before the swap (fee included).
    pub slippage_ppm: u64,
}

/// The fee on `amount` (rounded down).
pub fn fee(amount: Amount) -> Amount {
    // amount < 2^128 / 33 holds for every amount below the native cap by far; saturate anyway.
    amount.saturating_mul(FEE_NUMERATOR) / FEE_DENOMINATOR
}

impl Pool {
    /// `k = x·y`.
    pub fn k(&self) -> U256 {
        U256::from(self.tao) * U256::from(self.alpha)
    }

    /// Spot price: native base units per 10⁹ alpha base units (0 for an empty pool).
    pub fn price(&self) -> u128 {
        if self.alpha == 0 {
            return 0;
        }
        let p = U256::from(self.tao) * U256::from(PRICE_SCALE) / U256::from(self.alpha);
        u128::try_from(p).unwrap_or(u128::MAX)
    }

    /// Whether the price `tao/alpha` is at most `limit` (per [`PRICE_SCALE`]).
    fn price_at_most(&self, limit: u128) -> bool {
        U256::from(self.tao) * U256::from(PRICE_SCALE) <= U256::from(limit) * U256::from(self.alpha)
    }

    /// Buys alpha with `tao_in` native units (fee included). `limit_price`, if non-zero, is
    /// the highest price the pool may reach after the swap; the order fills entirely or not
    /// at all.
    pub fn buy_alpha(&self, tao_in: Amount, limit_price: u128) -> Result<Swap, Reject> {
        if tao_in == 0 {
            return Err(invalid("amount must be positive"));
        }
        let fee = fee(tao_in);
        let net = tao_in - fee;
        let out = mul_div(self.alpha, net, self.tao.saturating_add(net))?;
        let after = Pool {
            tao: self
                .tao
                .checked_add(tao_in)
                .ok_or(invalid("pool overflow"))?,
            alpha: self.alpha - out,
        };
        if out == 0 {
            return Err(invalid("the swap would return nothing"));
        }
        if after.alpha < MIN_RESERVE {
            return Err(invalid("the swap would drain the alpha reserve"));
        }
        if limit_price != 0 && !after.price_at_most(limit_price) {
            return Err(Reject::PriceLimit {
                limit: limit_price.to_string(),
                price: after.price().to_string(),
            });
        }
        let ideal = mul_div(tao_in, PRICE_SCALE, self.price().max(1))?;
        Ok(Swap {
            amount_in: tao_in,
            fee,
            amount_out: out,
            after,
            slippage_ppm: slippage_ppm(ideal, out),
        })
    }

    /// Sells `alpha_in` alpha for native units. `limit_price`, if non-zero, is the lowest
    /// price the pool may reach after the swap; all or nothing.
    pub fn sell_alpha(&self, alpha_in: Amount, limit_price: u128) -> Result<Swap, Reject> {
        if alpha_in == 0 {
            return Err(invalid("amount must be positive"));
        }
        let fee = fee(alpha_in);
        let net = alpha_in - fee;
        let out = mul_div(self.tao, net, self.alpha.saturating_add(net))?;
        let after = Pool {
            tao: self.tao - out,
            alpha: self
                .alpha
                .checked_add(alpha_in)
                .ok_or(invalid("pool overflow"))?,
        };
        if out == 0 {
            return Err(invalid("the swap would return nothing"));
        }
        if after.tao < MIN_RESERVE {
            return Err(invalid("the swap would drain the native reserve"));
        }
        if limit_price != 0 && after.price() < limit_price {
            return Err(Reject::PriceLimit {
                limit: limit_price.to_string(),
                price: after.price().to_string(),
            });
        }
        let ideal = mul_div(alpha_in, self.price(), PRICE_SCALE)?;
        Ok(Swap {
            amount_in: alpha_in,
            fee,
            amount_out: out,
            after,
            slippage_ppm: slippage_ppm(ideal, out),
        })
    }
}

/// `a·b / c` rounded down, exact through 256 bits.
pub(crate) fn mul_div(a: u128, b: u128, c: u128) -> Result<u128, Reject> {
    if c == 0 {
        return Err(invalid("division by zero"));
    }
    let r = U256::from(a) * U256::from(b) / U256::from(c);
    u128::try_from(r).map_err(|_| invalid("amount overflow"))
}

fn slippage_ppm(ideal: u128, got: u128) -> u64 {
    if ideal == 0 || got >= ideal {
        return 0;
    }
    let ppm = mul_div(ideal - got, 1_000_000, ideal).unwrap_or(1_000_000);
    u64::try_from(ppm).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_reserves_price_one() {
        let p = Pool {
            tao: 5_000_000_000,
            alpha: 5_000_000_000,
        };
        assert_eq!(p.price(), PRICE_SCALE);
        let s = p.buy_alpha(1_000_000_000, 0).unwrap();
        assert_eq!(s.fee, 1_000_000_000 * 33 / 65_535);
        assert!(s.amount_out < 1_000_000_000);
        assert!(s.after.k() >= p.k());
        assert!(s.slippage_ppm > 0);
    }

    #[test]
    fn price_limit_refuses() {
        let p = Pool {
            tao: 5_000_000_000,
            alpha: 5_000_000_000,
        };
        let r = p.buy_alpha(1_000_000_000, PRICE_SCALE + 1000);
        assert!(matches!(r, Err(Reject::PriceLimit { .. })));
        let r = p.sell_alpha(1_000_000_000, PRICE_SCALE - 1000);
        assert!(matches!(r, Err(Reject::PriceLimit { .. })));
        assert!(p.buy_alpha(1_000_000_000, 2 * PRICE_SCALE).is_ok());
    }

    proptest! {
        #[test]
        fn k_never_decreases_and_limits_hold(
            tao in MIN_RESERVE..10u128.pow(17),
            alpha in MIN_RESERVE..10u128.pow(17),
            amount in 1u128..10u128.pow(17),
            limit in 0u128..10u128.pow(12),
            buy: bool,
        ) {
            let p = Pool { tao, alpha };
            let r = if buy { p.buy_alpha(amount, limit) } else { p.sell_alpha(amount, limit) };
            if let Ok(s) = r {
                prop_assert!(s.after.k() >= p.k());
                prop_assert!(s.after.tao >= MIN_RESERVE && s.after.alpha >= MIN_RESERVE);
                if buy {
                    prop_assert_eq!(s.after.tao, tao + amount);
                    prop_assert_eq!(s.after.alpha, alpha - s.amount_out);
                    if limit != 0 { prop_assert!(s.after.price() <= limit); }
                } else {
                    prop_assert_eq!(s.after.alpha, alpha + amount);
                    prop_assert_eq!(s.after.tao, tao - s.amount_out);
                    if limit != 0 { prop_assert!(s.after.price() >= limit); }
                }
            }
        }
    }
}
