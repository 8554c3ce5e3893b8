//! secp256k1 private keys and Ethereum addresses.

use std::fmt;

use alloy_primitives::{Address, B256};
use k256::ecdsa::{SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::{Error, Result, Signature};

/// A secp256k1 private key with its Ethereum address.
///
/// The secret scalar is zeroized on drop (by [`SigningKey`]'s own `Drop`). There is no derived
/// `Debug`: the manual one prints only the address, so a key can never end up in a log by
/// accident. Getting the raw bytes out takes an explicit call to [`PrivateKey::to_bytes`].
#[derive(Clone)]
pub struct PrivateKey {
    signing: SigningKey,
    address: Address,
}

impl PrivateKey {
    /// A fresh key from the operating system's random number generator.
    pub fn random() -> Self {
        Self::random_with(&mut rand::rngs::OsRng)
    }

    /// A fresh key from the given cryptographically secure random number generator.
    pub fn random_with<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self::from_signing(SigningKey::random(rng))
    }

    /// The key with these 32 big-endian bytes; rejects zero and values not below the order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        SigningKey::from_slice(bytes)
            .map(Self::from_signing)
            .map_err(|_| Error::InvalidPrivateKey("not in 1..n-1 of secp256k1"))
    }

    /// The key written as 64 hex digits, with or without `0x`; surrounding whitespace is ignored.
    pub fn from_hex(hex_key: &str) -> Result<Self> {
        let s = hex_key.trim();
        let s = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if s.len() != 64 {
            return Err(Error::InvalidPrivateKey("expected 64 hex digits"));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s, bytes.as_mut_slice())
            .map_err(|_| Error::InvalidPrivateKey("not hexadecimal"))?;
        Self::from_bytes(&bytes)
    }

    fn from_signing(signing: SigningKey) -> Self {
        let address = public_key_address(signing.verifying_key());
        Self { signing, address }
    }

    /// The 32 big-endian secret bytes, wiped when the returned value is dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes().into())
    }

    /// The secret as 64 lowercase hex digits without `0x`, wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.to_bytes().as_slice()))
    }

    /// The Ethereum address: the last 20 bytes of keccak256 of the uncompressed public key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }

    /// Signs a 32-byte hash (RFC 6979 deterministic nonce) and returns a low-s signature with
    /// `v` ∈ {27, 28}.
    ///
    /// The signature is computed by libsecp256k1 (Bitcoin Core's constant-time
    /// implementation, already linked for recovery), which signs in about half the time k256
    /// takes. RFC 6979 makes it the same signature k256 gives; a test checks that.
    pub fn sign_hash(&self, hash: &B256) -> Result<Signature> {
        let bytes = self.to_bytes();
        let mut secret = secp256k1::SecretKey::from_byte_array(*bytes)
            .map_err(|_| Error::InvalidSignature("signing failed"))?;
        let sig = secp256k1::SECP256K1
            .sign_ecdsa_recoverable(secp256k1::Message::from_digest(hash.0), &secret);
        secret.non_secure_erase();
        // libsecp256k1 signs with low s (its verifier accepts nothing else).
        let (recid, rs) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&rs);
        out[64] = 27 + u8::from(i32::from(recid) & 1 == 1);
        Signature::from_bytes(&out)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PrivateKey {
    /// Keys are equal when their addresses are (a collision would break Ethereum itself), so
    /// comparing never touches the secret.
    fn eq(&self, other: &Self) -> bool {
        self.address == other.address
    }
}

impl Eq for PrivateKey {}

/// The Ethereum address of a public key.
pub fn public_key_address(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    // Uncompressed SEC1: 0x04 ‖ x ‖ y; the address hashes x ‖ y.
    let hash = Keccak256::digest(point.as_bytes().get(1..).unwrap_or_default());
    Address::from_slice(&hash[12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hardhat/anvil account #0, a well-known test key.
    const ANVIL0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn known_address() {
        let key = PrivateKey::from_hex(ANVIL0).unwrap();
        assert_eq!(
            key.address().to_checksum(None),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(key.to_hex().as_str(), ANVIL0);
        assert_eq!(
            PrivateKey::from_hex(&format!("  0x{ANVIL0}\n")).unwrap(),
            key
        );
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(PrivateKey::from_bytes(&[0; 32]).is_err());
        assert!(PrivateKey::from_bytes(&[0xff; 32]).is_err());
        assert!(PrivateKey::from_hex("12").is_err());
        assert!(PrivateKey::from_hex(&"zz".repeat(32)).is_err());
    }

    proptest::proptest! {
        /// libsecp256k1's signature is k256's (RFC 6979, low s) and recovers to the address.
        #[test]
        fn signatures_match_k256(secret in proptest::array::uniform32(proptest::prelude::any::<u8>()),
                                 hash in proptest::array::uniform32(proptest::prelude::any::<u8>())) {
            let Ok(key) = PrivateKey::from_bytes(&secret) else { return Ok(()) };
            let ours = key.sign_hash(&B256::from(hash)).unwrap().to_bytes();
            let (sig, recid) = key.signing.sign_prehash_recoverable(&hash).unwrap();
            let (sig, odd) = match sig.normalize_s() {
                Some(low) => (low, !recid.is_y_odd()),
                None => (sig, recid.is_y_odd()),
            };
            let theirs = sig.to_bytes();
            proptest::prop_assert_eq!(&ours[..64], theirs.as_slice());
            proptest::prop_assert_eq!(ours[64], 27 + u8::from(odd));
            let recovered = Signature::from_bytes(&ours)
                .unwrap()
                .recover(&B256::from(hash))
                .unwrap();
            proptest::prop_assert_eq!(recovered, key.address());
        }
    }

    #[test]
    fn debug_shows_only_the_address() {
        let key = PrivateKey::from_hex(ANVIL0).unwrap();
        let dbg = format!("{key:?}");
        assert!(!dbg.to_lowercase().contains(&ANVIL0[..16]), "{dbg}");
        assert!(
            dbg.to_lowercase()
                .contains("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
        );
    }
}
