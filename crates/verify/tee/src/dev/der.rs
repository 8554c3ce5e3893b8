//! A minimal DER writer (X.690) for the dev PKI's certificates, CRLs and SGX extension, and
//! the date formats they need. Only what `pki.rs` uses; every output is canonical DER.

/// Tag, definite length, content.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len.saturating_add(6));
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE of already encoded parts.
pub(super) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// SET of one already encoded part (names have one attribute per RDN here).
pub(super) fn set(part: &[u8]) -> Vec<u8> {
    tlv(0x31, part)
}

/// `[n]` EXPLICIT, constructed context-specific.
pub(super) fn explicit(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0xA0 | n, content)
}

/// OBJECT IDENTIFIER from its arcs.
pub(super) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    if let [first, second, rest @ ..] = arcs {
        base128(&mut body, first.saturating_mul(40).saturating_add(*second));
        for arc in rest {
            base128(&mut body, *arc);
        }
    }
    tlv(0x06, &body)
}

fn base128(out: &mut Vec<u8>, value: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        v >>= 7;
        n += 1;
        if v == 0 || n == groups.len() {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(if i == 0 { groups[i] } else { groups[i] | 0x80 });
    }
}

/// INTEGER from unsigned big-endian bytes: leading zeros dropped, a zero byte added when the
/// high bit is set.
pub(super) fn uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|b| **b == 0).count();
    let significant = be.get(skip..).unwrap_or_default();
    let mut body = Vec::with_capacity(significant.len().saturating_add(1));
    if significant.first().is_none_or(|b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(significant);
    tlv(0x02, &body)
}

/// INTEGER from a `u64`.
pub(super) fn int(value: u64) -> Vec<u8> {
    uint(&value.to_be_bytes())
}

/// ENUMERATED from a small value.
pub(super) fn enumerated(value: u8) -> Vec<u8> {
    let mut int = uint(&[value]);
    if let Some(tag) = int.first_mut() {
        *tag = 0x0A;
    }
    int
}

/// BOOLEAN TRUE (DER: 0xFF).
pub(super) fn bool_true() -> Vec<u8> {
    tlv(0x01, &[0xFF])
}

/// OCTET STRING.
pub(super) fn octets(content: &[u8]) -> Vec<u8> {
    tlv(0x04, content)
}

/// BIT STRING with `unused` padding bits in the last byte.
pub(super) fn bits(unused: u8, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len().saturating_add(1));
    body.push(unused);
    body.extend_from_slice(content);
    tlv(0x03, &body)
}

/// UTF8String.
pub(super) fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0C, s.as_bytes())
}

/// UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5).
pub(super) fn time(unix_secs: u64) -> Vec<u8> {
    let t = Civil::from_unix(unix_secs);
    if t.year < 2050 {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year % 100,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second
        );
        tlv(0x17, s.as_bytes())
    } else {
        let s = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        );
        tlv(0x18, s.as_bytes())
    }
}

/// RFC 3339 in UTC, as Intel's TCB info and QE identity carry dates.
pub(super) fn rfc3339(unix_secs: u64) -> String {
    let t = Civil::from_unix(unix_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// A UTC calendar time.
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

impl Civil {
    /// Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (non-negative here).
    fn from_unix(secs: u64) -> Self {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_values() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_750_330_571), "2025-06-19T10:56:11Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(time(1_750_330_571), tlv(0x17, b"250619105611Z"));
        assert_eq!(time(2_524_608_000), tlv(0x18, b"20500101000000Z"));
    }

    #[test]
    fn integers_and_oids_are_canonical() {
        assert_eq!(int(0), [0x02, 0x01, 0x00]);
        assert_eq!(int(0x80), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(int(256), [0x02, 0x02, 0x01, 0x00]);
        // 1.2.840.10045.4.3.2 (ecdsa-with-SHA256)
        assert_eq!(
            oid(&[1, 2, 840, 10045, 4, 3, 2]),
            [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]
        );
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(long[..4], [0x04, 0x82, 0x01, 0x2C]);
    }
}
