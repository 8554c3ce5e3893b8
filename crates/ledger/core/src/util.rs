//! Small helpers: keccak and serde adapters for amounts as decimal strings.

use alloy_primitives::{B256, keccak256};

/// Keccak-256 over the concatenation of `parts`.
pub(crate) fn keccak_concat(parts: &[&[u8]]) -> B256 {
    let mut buf = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        buf.extend_from_slice(p);
    }
    keccak256(&buf)
}

/// Serde adapter: a `u128` as a decimal string in JSON (JavaScript numbers lose precision
/// past 2^53), and as an integer in binary formats.
pub mod amount_str {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes an amount.
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(v)
        } else {
            s.serialize_u128(*v)
        }
    }

    /// Deserializes an amount from a decimal string (or a JSON integer).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        if d.is_human_readable() {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Repr {
                Str(String),
                Num(u64),
            }
            match Repr::deserialize(d)? {
                Repr::Str(s) => parse_amount(&s).map_err(D::Error::custom),
                Repr::Num(n) => Ok(u128::from(n)),
            }
        } else {
            u128::deserialize(d)
        }
    }

    /// Parses a decimal amount string strictly: digits only, no sign, no leading `+`.
    pub fn parse_amount(s: &str) -> Result<u128, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "amount must be a decimal integer string, got {s:?}"
            ));
        }
        s.parse::<u128>()
            .map_err(|_| format!("amount {s:?} does not fit in 128 bits"))
    }
}

/// Serde adapter: a `u64` as a decimal string (or integer) in JSON, as x402 and EIP-3009
/// payloads write `validAfter`, `validBefore` and fees.
pub mod u64_str {
    use serde::{Deserializer, Serializer, de::Error as _};

    /// Serializes as a decimal string in JSON.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(v)
        } else {
            s.serialize_u64(*v)
        }
    }

    /// Deserializes from a decimal string or an integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        if d.is_human_readable() {
            let v = super::amount_str::deserialize(d)?;
            u64::try_from(v).map_err(|_| D::Error::custom("value does not fit in 64 bits"))
        } else {
            serde::Deserialize::deserialize(d)
        }
    }
}

/// Serde adapter: an `i128` as a decimal string in JSON, as an integer in binary formats.
pub mod i128_str {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serializes a signed amount.
    pub fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(v)
        } else {
            s.serialize_i128(*v)
        }
    }

    /// Deserializes a signed amount from a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            let digits = s.strip_prefix('-').unwrap_or(&s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(D::Error::custom(format!(
                    "expected a decimal integer string, got {s:?}"
                )));
            }
            s.parse::<i128>()
                .map_err(|_| D::Error::custom(format!("{s:?} does not fit in 128 bits")))
        } else {
            i128::deserialize(d)
        }
    }
}
