//! Exact conversion between decimal token amounts ("1.25") and base units.

use eyre::{bail, eyre};

/// Parses `s` (digits with at most `decimals` fractional digits) into base units.
pub fn parse_units(s: &str, decimals: u8) -> eyre::Result<u128> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        bail!("{s:?} is not a decimal amount");
    }
    if frac.len() > usize::from(decimals) {
        bail!("{s:?} has more than {decimals} decimals");
    }
    let scale = 10u128
        .checked_pow(u32::from(decimals))
        .ok_or_else(|| eyre!("too many decimals"))?;
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| eyre!("{s:?} is too large"))?
    };
    let mut f: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| eyre!("bad fraction"))?
    };
    for _ in frac.len()..usize::from(decimals) {
        f *= 10;
    }
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(|| eyre!("{s:?} is too large"))
}

/// Formats base units with `decimals`, trimming trailing zeros ("1.5", "3").
pub fn format_units(v: u128, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals.min(38)));
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = usize::from(decimals));
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// An amount as the node's JSON gives it (a decimal string of base units), formatted with
/// `decimals`; "-" when the value is not such a string.
pub fn format_json_units(v: &serde_json::Value, decimals: u8) -> String {
    v.as_str()
        .and_then(|s| s.parse::<u128>().ok())
        .map_or_else(|| "-".to_owned(), |a| format_units(a, decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_units("1.5", 6).unwrap(), 1_500_000);
        assert_eq!(parse_units("0.000001", 6).unwrap(), 1);
        assert_eq!(parse_units("42", 9).unwrap(), 42_000_000_000);
        assert_eq!(parse_units(".5", 1).unwrap(), 5);
        assert!(parse_units("1.0000001", 6).is_err());
        assert!(parse_units("-1", 6).is_err());
        assert!(parse_units("1e5", 6).is_err());
        assert!(parse_units("", 6).is_err());
        assert!(parse_units(".", 6).is_err());
        assert_eq!(format_units(1_500_000, 6), "1.5");
        assert_eq!(format_units(3_000_000_000, 9), "3");
        assert_eq!(format_units(1, 9), "0.000000001");
    }
}
