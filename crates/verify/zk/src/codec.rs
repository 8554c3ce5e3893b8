//! Decoding arkworks' compressed keys and proofs from untrusted bytes.
//!
//! `ark-serialize` reads a vector's `u64` length and reserves that much memory before reading
//! any element, so a few hostile bytes could ask for exabytes. [`check_layout`] walks the
//! byte layout first and refuses any length the remaining bytes cannot hold; only then does
//! `deserialize_compressed` run, which checks every point is on the curve and in the
//! prime-order subgroup.

use ark_bn254::Bn254;
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use ark_serialize::CanonicalDeserialize;

/// A compressed BN254 G1 point.
const G1: usize = 32;
/// A compressed BN254 G2 point.
const G2: usize = 64;
/// A compressed Groth16 proof: A in G1, B in G2, C in G1.
pub const PROOF_BYTES: usize = G1 + G2 + G1;

#[derive(Clone, Copy)]
enum Item {
    /// One element of this many bytes.
    One(usize),
    /// A `u64` little-endian count, then that many elements of this many bytes.
    Many(usize),
}

/// `alpha_g1, beta_g2, gamma_g2, delta_g2, gamma_abc_g1[]`.
const VERIFYING_KEY: [Item; 5] = [
    Item::One(G1),
    Item::One(G2),
    Item::One(G2),
    Item::One(G2),
    Item::Many(G1),
];

/// The verifying key, then `beta_g1, delta_g1, a_query[], b_g1_query[], b_g2_query[],
/// h_query[], l_query[]`.
const PROVING_KEY_TAIL: [Item; 7] = [
    Item::One(G1),
    Item::One(G1),
    Item::Many(G1),
    Item::Many(G1),
    Item::Many(G2),
    Item::Many(G1),
    Item::Many(G1),
];

/// Checks that `bytes` is exactly `layout`, every count backed by its bytes.
fn check_layout<'a>(
    bytes: &[u8],
    layout: impl IntoIterator<Item = &'a Item>,
) -> Result<(), String> {
    let mut rest = bytes;
    let mut take = |n: usize, what: &str| -> Result<&[u8], String> {
        if rest.len() < n {
            return Err(format!(
                "{} bytes end inside {what} (needs {n} more, {} left)",
                bytes.len(),
                rest.len()
            ));
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    for item in layout {
        match *item {
            Item::One(size) => {
                take(size, "a point")?;
            }
            Item::Many(size) => {
                let mut len = [0u8; 8];
                len.copy_from_slice(take(8, "a vector length")?);
                let len = u64::from_le_bytes(len);
                let bytes = usize::try_from(len)
                    .ok()
                    .and_then(|n| n.checked_mul(size))
                    .ok_or_else(|| format!("vector of {len} points"))?;
                take(bytes, "a vector of points")?;
            }
        }
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("{} trailing bytes", rest.len()))
    }
}

/// A validated verifying key.
pub fn verifying_key(bytes: &[u8]) -> Result<VerifyingKey<Bn254>, String> {
    check_layout(bytes, &VERIFYING_KEY)?;
    VerifyingKey::deserialize_compressed(bytes).map_err(|e| e.to_string())
}

/// A proving key, its layout checked and its points decompressed (so on the curve) but not
/// checked for subgroup membership: that check costs more than the proof, and the proving key
/// is the prover's own. A bad one can only make a proof that does not verify, which
/// [`crate::prove`] checks before returning it.
pub fn proving_key(bytes: &[u8]) -> Result<ProvingKey<Bn254>, String> {
    check_layout(bytes, VERIFYING_KEY.iter().chain(&PROVING_KEY_TAIL))?;
    ProvingKey::deserialize_compressed_unchecked(bytes).map_err(|e| e.to_string())
}

/// A validated proof of exactly [`PROOF_BYTES`] bytes.
pub fn proof(bytes: &[u8]) -> Result<Proof<Bn254>, String> {
    if bytes.len() != PROOF_BYTES {
        return Err(format!("{} bytes, a proof is {PROOF_BYTES}", bytes.len()));
    }
    Proof::deserialize_compressed(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_vector_length_is_refused_before_allocation() {
        let mut vk = vec![0u8; G1 + 3 * G2];
        vk.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(check_layout(&vk, &VERIFYING_KEY).is_err());
        let mut vk = vec![0u8; G1 + 3 * G2];
        vk.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let err = verifying_key(&vk).err().unwrap_or_default();
        assert!(err.contains("end inside a vector of points"), "{err}");
    }

    #[test]
    fn exact_layouts_pass_and_trailing_bytes_do_not() {
        let mut vk = vec![0u8; G1 + 3 * G2];
        vk.extend_from_slice(&2u64.to_le_bytes());
        vk.extend_from_slice(&[0u8; 2 * G1]);
        assert_eq!(check_layout(&vk, &VERIFYING_KEY), Ok(()));
        vk.push(0);
        assert_eq!(
            check_layout(&vk, &VERIFYING_KEY),
            Err("1 trailing bytes".to_string())
        );
    }
}
