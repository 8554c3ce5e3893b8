//! 65-byte Ethereum signatures (`r ‖ s ‖ v`) and address recovery.

use std::{fmt, str::FromStr};

use alloy_primitives::{Address, B256};
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};

use crate::{Error, Result, key::public_key_address};

/// A secp256k1 signature as Ethereum writes it: `r ‖ s ‖ v`, 65 bytes, with `v` ∈ {27, 28}.
///
/// Always valid and canonical: `r` and `s` are in range and `s` is in the lower half of the
/// curve order (EIP-2), so a signature has exactly one encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    bytes: [u8; 65],
}

impl Signature {
    /// Parses and validates 65 bytes: `r`, `s` in range, low `s`, `v` ∈ {27, 28}.
    pub fn from_bytes(bytes: &[u8; 65]) -> Result<Self> {
        parse(bytes)?;
        Ok(Self { bytes: *bytes })
    }

    /// Parses a slice that must be exactly 65 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; 65] = bytes
            .try_into()
            .map_err(|_| Error::InvalidSignature("expected 65 bytes"))?;
        Self::from_bytes(bytes)
    }

    /// Parses 130 hex digits, with or without `0x`.
    pub fn from_hex(s: &str) -> Result<Self> {
        let s = s.trim();
        let s = s.strip_prefix("0x").unwrap_or(s);
        let mut bytes = [0u8; 65];
        hex::decode_to_slice(s, &mut bytes)
            .map_err(|_| Error::InvalidSignature("expected 130 hex digits"))?;
        Self::from_bytes(&bytes)
    }

    /// The 65 bytes `r ‖ s ‖ v`.
    pub fn to_bytes(&self) -> [u8; 65] {
        self.bytes
    }

    /// `0x` followed by 130 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.bytes))
    }

    /// The `r` component.
    pub fn r(&self) -> B256 {
        B256::from_slice(&self.bytes[..32])
    }

    /// The `s` component (always in the lower half of the order).
    pub fn s(&self) -> B256 {
        B256::from_slice(&self.bytes[32..64])
    }

    /// The recovery byte, 27 or 28.
    pub fn v(&self) -> u8 {
        self.bytes[64]
    }

    /// The address that produced this signature over `hash`.
    pub fn recover(&self, hash: &B256) -> Result<Address> {
        recover_address(hash, &self.bytes)
    }
}

/// Recovers the signer's address from a hash and a 65-byte `r ‖ s ‖ v` signature.
///
/// Rejects `v` outside {27, 28}, out-of-range `r`/`s` and high-`s` (malleable) signatures.
pub fn recover_address(hash: &B256, sig: &[u8; 65]) -> Result<Address> {
    let (sig, recid) = parse(sig)?;
    let key = VerifyingKey::recover_from_prehash(hash.as_slice(), &sig, recid)
        .map_err(|_| Error::Recovery)?;
    Ok(public_key_address(&key))
}

fn parse(bytes: &[u8; 65]) -> Result<(EcdsaSignature, RecoveryId)> {
    let recid = match bytes[64] {
        27 => RecoveryId::new(false, false),
        28 => RecoveryId::new(true, false),
        _ => return Err(Error::InvalidSignature("v must be 27 or 28")),
    };
    let sig = EcdsaSignature::from_slice(&bytes[..64])
        .map_err(|_| Error::InvalidSignature("r or s out of range"))?;
    if sig.normalize_s().is_some() {
        return Err(Error::InvalidSignature("high s (not canonical, EIP-2)"));
    }
    Ok((sig, recid))
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for Signature {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use k256::elliptic_curve::{Curve, bigint::Encoding};
    use proptest::prelude::*;

    use super::*;
    use crate::PrivateKey;

    fn key(seed: u8) -> PrivateKey {
        PrivateKey::from_bytes(&[seed.max(1); 32]).unwrap()
    }

    #[test]
    fn sign_recover_and_hex_round_trip() {
        let key = key(7);
        let hash = B256::repeat_byte(0x42);
        let sig = key.sign_hash(&hash).unwrap();
        assert!(sig.v() == 27 || sig.v() == 28);
        assert_eq!(sig.recover(&hash).unwrap(), key.address());
        assert_eq!(Signature::from_hex(&sig.to_hex()).unwrap(), sig);
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
        // Deterministic (RFC 6979).
        assert_eq!(key.sign_hash(&hash).unwrap(), sig);
    }

    #[test]
    fn rejects_high_s_and_bad_v() {
        let key = key(9);
        let hash = B256::repeat_byte(1);
        let sig = key.sign_hash(&hash).unwrap().to_bytes();

        let mut bad_v = sig;
        for v in [0u8, 1, 26, 29, 35] {
            bad_v[64] = v;
            assert!(recover_address(&hash, &bad_v).is_err(), "v = {v}");
        }

        // The malleable twin: s' = n - s with the other parity recovers the same key, and must
        // be rejected.
        let n = k256::Secp256k1::ORDER.to_be_bytes();
        let s = k256::elliptic_curve::bigint::U256::from_be_slice(&sig[32..64]);
        let high = k256::elliptic_curve::bigint::U256::from_be_slice(&n).wrapping_sub(&s);
        let mut twin = sig;
        twin[32..64].copy_from_slice(&high.to_be_bytes());
        twin[64] = if sig[64] == 27 { 28 } else { 27 };
        assert!(matches!(
            recover_address(&hash, &twin),
            Err(Error::InvalidSignature(_))
        ));
        assert!(Signature::from_bytes(&twin).is_err());
    }

    #[test]
    fn rejects_zero_r_s() {
        let mut sig = [0u8; 65];
        sig[64] = 27;
        assert!(recover_address(&B256::ZERO, &sig).is_err());
    }

    proptest! {
        #[test]
        fn every_signature_recovers_its_signer(
            secret in proptest::array::uniform32(1u8..),
            hash in proptest::array::uniform32(any::<u8>()),
        ) {
            let key = PrivateKey::from_bytes(&secret).unwrap();
            let hash = B256::from(hash);
            let sig = key.sign_hash(&hash).unwrap();
            prop_assert_eq!(recover_address(&hash, &sig.to_bytes()).unwrap(), key.address());
        }

        #[test]
        fn recover_never_panics(bytes in proptest::array::uniform32(any::<u8>()),
                                sig in proptest::collection::vec(any::<u8>(), 65)) {
            let sig: [u8; 65] = sig.try_into().unwrap();
            let _ = recover_address(&B256::from(bytes), &sig);
        }
    }
}
