//! Properties over random inputs and random bytes.

use std::sync::OnceLock;

use proptest::prelude::*;
use verify_zk::{PreparedVerifier, prove, verify};

use crate::proofs::{keys, proved};

proptest! {
    // Proving is the slow part: a few cases.
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// For any input, the proven output is native inference's and the proof verifies.
    #[test]
    fn prove_matches_infer_and_verifies(input in prop::collection::vec(any::<i8>(), 16)) {
        let (mlp, keys) = keys();
        let (output, proof) = prove(mlp, &keys.proving_key, &input)?;
        prop_assert_eq!(&output, &mlp.infer(&input)?);
        verify(&keys.verifying_key, &mlp.commitment(), &input, &output, &proof)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `verify` returns an error, never panics, on arbitrary proof bytes...
    #[test]
    fn verify_never_panics_on_random_proofs(
        proof in prop_oneof![
            prop::collection::vec(any::<u8>(), 128),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
    ) {
        let (mlp, keys) = keys();
        let (input, output, _) = proved();
        // Prepared once: the key's parsing is the next property's subject.
        static VERIFIER: OnceLock<PreparedVerifier> = OnceLock::new();
        let verifier = VERIFIER.get_or_init(|| {
            PreparedVerifier::new(&keys.verifying_key).unwrap_or_else(|e| panic!("{e}"))
        });
        prop_assert!(verifier.verify(&mlp.commitment(), input, output, &proof).is_err());
    }

    /// ...on arbitrary verifying keys...
    #[test]
    fn verify_never_panics_on_random_keys(vk in prop::collection::vec(any::<u8>(), 0..1200)) {
        let (mlp, _) = keys();
        let (input, output, proof) = proved();
        prop_assert!(verify(&vk, &mlp.commitment(), input, output, proof).is_err());
    }

    /// ...and on a real key or proof with random bytes overwritten.
    #[test]
    fn verify_never_panics_on_corrupted_keys_and_proofs(
        at in any::<prop::sample::Index>(),
        bytes in prop::collection::vec(any::<u8>(), 1..40),
        in_key in any::<bool>(),
    ) {
        let (mlp, keys) = keys();
        let (input, output, proof) = proved();
        let (mut vk, mut p) = (keys.verifying_key.clone(), proof.clone());
        let target = if in_key { &mut vk } else { &mut p };
        let start = at.index(target.len());
        for (i, b) in bytes.iter().enumerate() {
            if let Some(t) = target.get_mut(start + i) {
                *t = *b;
            }
        }
        let changed = vk != keys.verifying_key || &p != proof;
        let r = verify(&vk, &mlp.commitment(), input, output, &p);
        prop_assert!(r.is_err() || !changed);
    }
}
