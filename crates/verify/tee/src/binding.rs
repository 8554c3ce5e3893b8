//! Binding a provider's key to a quote through the report data (ADR 0005).

use sha3::{Digest, Keccak256};

use crate::{Attestation, Result, Root, TeeError, verify_quote};

/// Domain separator hashed before the address in [`key_binding`].
pub const BINDING_DOMAIN: &[u8] = b"symbiont-tee-key/v1";

/// The report data a provider's quote must carry:
/// `keccak256("symbiont-tee-key/v1" ‖ address)` followed by 32 zero bytes.
pub fn key_binding(address: &[u8; 20]) -> [u8; 64] {
    let mut hasher = Keccak256::new();
    hasher.update(BINDING_DOMAIN);
    hasher.update(address);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&hasher.finalize());
    out
}

/// [`verify_quote`], then require the report data to be [`key_binding`] of `address`.
pub fn verify_binding(
    quote: &[u8],
    collateral_json: &[u8],
    now_secs: u64,
    root: &Root,
    address: &[u8; 20],
) -> Result<Attestation> {
    let attestation = verify_quote(quote, collateral_json, now_secs, root)?;
    let expected = key_binding(address);
    if attestation.report_data != expected {
        return Err(TeeError::NotBound {
            expected: Box::new(expected),
            found: Box::new(attestation.report_data),
        });
    }
    Ok(attestation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_is_keccak_of_domain_and_address_then_zeros() {
        let address = [0x11u8; 20];
        let binding = key_binding(&address);
        let mut preimage = BINDING_DOMAIN.to_vec();
        preimage.extend_from_slice(&address);
        assert_eq!(binding[..32], Keccak256::digest(&preimage)[..]);
        assert_eq!(binding[32..], [0u8; 32]);
        assert_ne!(key_binding(&[0x12u8; 20]), binding);
    }

    #[test]
    fn binding_golden_vector() {
        // keccak256("symbiont-tee-key/v1" ‖ 0x00…00), fixed so that providers in other
        // languages can check their encoding.
        let binding = key_binding(&[0u8; 20]);
        assert_eq!(hex::encode(&binding[..32]), GOLDEN_ZERO_ADDRESS);
    }

    /// Computed independently (a reference Keccak-256 in Python).
    const GOLDEN_ZERO_ADDRESS: &str =
        "de099487143335dccd29876fd93b2b5e1b2d606482c7d22b0086f3f1a7da6dbb";
}
