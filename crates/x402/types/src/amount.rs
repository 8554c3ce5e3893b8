//! Integers as x402 writes them: non-negative decimal strings (`"10000"`), never JSON numbers
//! and never hex, so that JavaScript clients keep full 256-bit precision.

use std::{fmt, str::FromStr};

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{Error, Result};

/// An amount of a token in its smallest unit (or any `uint256` field of a payload), carried as
/// a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TokenAmount(pub U256);

impl TokenAmount {
    /// Zero.
    pub const ZERO: Self = Self(U256::ZERO);
}

impl From<u64> for TokenAmount {
    fn from(v: u64) -> Self {
        Self(U256::from(v))
    }
}

impl From<u128> for TokenAmount {
    fn from(v: u128) -> Self {
        Self(U256::from(v))
    }
}

impl From<U256> for TokenAmount {
    fn from(v: U256) -> Self {
        Self(v)
    }
}

impl fmt::Display for TokenAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for TokenAmount {
    type Err = Error;

    /// Accepts `[0-9]+` only (no sign, no `0x`, no whitespace); leading zeros are allowed.
    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Amount(s.to_owned()));
        }
        U256::from_str_radix(s, 10)
            .map(Self)
            .map_err(|_| Error::Amount(s.to_owned()))
    }
}

impl Serialize for TokenAmount {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenAmount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_only() {
        assert_eq!(
            "10000".parse::<TokenAmount>().unwrap(),
            TokenAmount::from(10_000u64)
        );
        assert_eq!(
            "007".parse::<TokenAmount>().unwrap(),
            TokenAmount::from(7u64)
        );
        for bad in ["", "-1", "+1", "0x10", "1.5", " 1", "1e3"] {
            assert!(bad.parse::<TokenAmount>().is_err(), "{bad:?}");
        }
        let max = U256::MAX.to_string();
        assert_eq!(max.parse::<TokenAmount>().unwrap().0, U256::MAX);
        assert!(format!("{max}0").parse::<TokenAmount>().is_err());
    }

    #[test]
    fn serde_is_a_string() {
        let a = TokenAmount::from(u128::MAX);
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, format!("\"{}\"", u128::MAX));
        assert_eq!(serde_json::from_str::<TokenAmount>(&j).unwrap(), a);
        assert!(serde_json::from_str::<TokenAmount>("10000").is_err());
    }
}
