//! Encrypting and decrypting a key into a keystore v3 document.
//!
//! Web3 Secret Storage Definition v3: derived key `dk` = KDF(passphrase, salt); the secret is
//! encrypted with AES-128-CTR under `dk[0..16]`; `mac = keccak256(dk[16..32] ‖ ciphertext)`.

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use super::json::{Crypto, Kdf, KeystoreJson};
use crate::{Error, PrivateKey, Result};

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// scrypt parameters for [`encrypt`]: `n = 2^log_n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// log2 of the CPU/memory cost `n`.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl ScryptParams {
    /// geth's and ethers' standard: n = 262144, r = 8, p = 1 (256 MiB, about a second).
    pub const STANDARD: Self = Self {
        log_n: 18,
        r: 8,
        p: 1,
    };
    /// geth's `--lightkdf`: n = 4096, r = 8, p = 6. For tests and throwaway keys.
    pub const LIGHT: Self = Self {
        log_n: 12,
        r: 8,
        p: 6,
    };

    /// `n`, the CPU/memory cost.
    pub fn n(&self) -> u64 {
        1u64 << self.log_n.min(63)
    }
}

impl Default for ScryptParams {
    fn default() -> Self {
        Self::STANDARD
    }
}

/// Upper bounds on the KDF cost that [`decrypt_with_limits`] accepts, so that a hostile file
/// cannot make us allocate gigabytes or spin for hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    /// Largest scrypt memory, `128 · r · n` bytes.
    pub max_scrypt_memory: u64,
    /// Largest scrypt parallelism `p`.
    pub max_scrypt_p: u32,
    /// Largest PBKDF2 iteration count.
    pub max_pbkdf2_rounds: u32,
    /// Largest derived key length.
    pub max_dklen: u32,
}

impl KdfLimits {
    /// Generous limits: 1 GiB of scrypt memory (n = 2^20 at r = 8), p ≤ 16, 10 million PBKDF2
    /// rounds, 64-byte derived keys. Every wallet's defaults fit well inside.
    pub const DEFAULT: Self = Self {
        max_scrypt_memory: 1 << 30,
        max_scrypt_p: 16,
        max_pbkdf2_rounds: 10_000_000,
        max_dklen: 64,
    };

    fn check(&self, kdf: &Kdf) -> Result<()> {
        let dklen = match kdf {
            Kdf::Scrypt { n, r, p, dklen, .. } => {
                let memory = u64::from(*r).saturating_mul(128).saturating_mul(*n);
                if memory > self.max_scrypt_memory || *p > self.max_scrypt_p {
                    return Err(Error::KdfTooExpensive(format!(
                        "scrypt n={n} r={r} p={p} (limit {} bytes, p ≤ {})",
                        self.max_scrypt_memory, self.max_scrypt_p
                    )));
                }
                dklen
            }
            Kdf::Pbkdf2 { c, dklen, .. } => {
                if *c > self.max_pbkdf2_rounds {
                    return Err(Error::KdfTooExpensive(format!(
                        "pbkdf2 c={c} (limit {})",
                        self.max_pbkdf2_rounds
                    )));
                }
                dklen
            }
        };
        if *dklen > self.max_dklen {
            return Err(Error::KdfTooExpensive(format!(
                "dklen={dklen} (limit {})",
                self.max_dklen
            )));
        }
        Ok(())
    }
}

impl Default for KdfLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Encrypts `key` under `passphrase` with scrypt, using the operating system's randomness for
/// the salt, IV and UUID.
pub fn encrypt(key: &PrivateKey, passphrase: &[u8], params: ScryptParams) -> Result<KeystoreJson> {
    encrypt_with_rng(key, passphrase, params, &mut rand::rngs::OsRng)
}

/// [`encrypt`] with the randomness supplied by the caller.
pub fn encrypt_with_rng<R: RngCore + CryptoRng>(
    key: &PrivateKey,
    passphrase: &[u8],
    params: ScryptParams,
    rng: &mut R,
) -> Result<KeystoreJson> {
    let mut salt = vec![0u8; 32];
    let mut iv = [0u8; 16];
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    rng.fill_bytes(&mut id);
    let kdf = Kdf::Scrypt {
        n: params.n(),
        r: params.r,
        p: params.p,
        dklen: 32,
        salt,
    };
    let dk = derive_key(&kdf, passphrase)?;
    let mut ciphertext = key.to_bytes().to_vec();
    apply_ctr(&dk, &iv, &mut ciphertext)?;
    let mac = mac(&dk, &ciphertext)?;
    Ok(KeystoreJson {
        address: Some(key.address()),
        id: uuid::Builder::from_random_bytes(id)
            .into_uuid()
            .hyphenated()
            .to_string(),
        crypto: Crypto {
            iv,
            ciphertext,
            kdf,
            mac,
        },
    })
}

/// Decrypts a keystore document with [`KdfLimits::DEFAULT`].
///
/// A wrong passphrase is [`Error::WrongPassphrase`]; a stated `address` that does not match the
/// key is [`Error::AddressMismatch`].
pub fn decrypt(json: &KeystoreJson, passphrase: &[u8]) -> Result<PrivateKey> {
    decrypt_with_limits(json, passphrase, &KdfLimits::DEFAULT)
}

/// Parses and decrypts keystore JSON text in one step (see [`decrypt`]).
pub fn decrypt_json(json: &[u8], passphrase: &[u8]) -> Result<PrivateKey> {
    decrypt(&KeystoreJson::parse(json)?, passphrase)
}

/// [`decrypt`] with explicit bounds on the KDF cost.
pub fn decrypt_with_limits(
    json: &KeystoreJson,
    passphrase: &[u8],
    limits: &KdfLimits,
) -> Result<PrivateKey> {
    let crypto = &json.crypto;
    if crypto.ciphertext.len() != 32 {
        return Err(Error::malformed(
            "crypto.ciphertext",
            format!("expected 32 bytes, found {}", crypto.ciphertext.len()),
        ));
    }
    limits.check(&crypto.kdf)?;
    let dk = derive_key(&crypto.kdf, passphrase)?;
    let expected = mac(&dk, &crypto.ciphertext)?;
    if !constant_time_eq(&expected, &crypto.mac) {
        return Err(Error::WrongPassphrase);
    }
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&crypto.ciphertext);
    apply_ctr(&dk, &crypto.iv, secret.as_mut_slice())?;
    let key = PrivateKey::from_bytes(&secret)?;
    match json.address {
        Some(stated) if stated != key.address() => Err(Error::AddressMismatch {
            stated,
            actual: key.address(),
        }),
        _ => Ok(key),
    }
}

fn derive_key(kdf: &Kdf, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    match kdf {
        Kdf::Scrypt {
            n,
            r,
            p,
            dklen,
            salt,
        } => {
            let mut dk = Zeroizing::new(vec![0u8; *dklen as usize]);
            let log_n = u8::try_from(n.trailing_zeros())
                .map_err(|_| Error::malformed("crypto.kdfparams.n", "too large"))?;
            let params = scrypt::Params::new(log_n, *r, *p)
                .map_err(|e| Error::Unsupported(format!("scrypt parameters: {e}")))?;
            scrypt::scrypt(passphrase, salt, &params, &mut dk)
                .map_err(|e| Error::Unsupported(format!("scrypt output length: {e}")))?;
            Ok(dk)
        }
        Kdf::Pbkdf2 { c, dklen, salt } => {
            let mut dk = Zeroizing::new(vec![0u8; *dklen as usize]);
            pbkdf2::pbkdf2_hmac::<Sha256>(passphrase, salt, *c, &mut dk);
            Ok(dk)
        }
    }
}

fn apply_ctr(dk: &[u8], iv: &[u8; 16], buf: &mut [u8]) -> Result<()> {
    let key = dk
        .get(..16)
        .ok_or_else(|| Error::malformed("crypto.kdfparams.dklen", "too short"))?;
    let mut cipher = Aes128Ctr::new_from_slices(key, iv)
        .map_err(|_| Error::malformed("crypto.cipherparams.iv", "bad length"))?;
    cipher.apply_keystream(buf);
    Ok(())
}

fn mac(dk: &[u8], ciphertext: &[u8]) -> Result<[u8; 32]> {
    let half = dk
        .get(16..32)
        .ok_or_else(|| Error::malformed("crypto.kdfparams.dklen", "too short"))?;
    let mut hasher = Keccak256::new();
    hasher.update(half);
    hasher.update(ciphertext);
    Ok(hasher.finalize().into())
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
