//! Setup, proving and verification with Groth16 over BN254.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, prepare_verifying_key};
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError,
};
use ark_serialize::CanonicalSerialize;
use ark_std::UniformRand;
use rand::{CryptoRng, RngCore, SeedableRng, rngs::OsRng};
use rand_chacha::ChaCha20Rng;

use crate::circuit::{MlpCircuit, Witness, public_inputs, shape};
use crate::{Mlp, Result, ZkError, codec};

/// A model's Groth16 keys, in arkworks' compressed serialization.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    /// What [`prove`] needs (it embeds the verifying key).
    pub proving_key: Vec<u8>,
    /// What [`verify`] needs: a few hundred bytes.
    pub verifying_key: Vec<u8>,
}

fn serialize(v: &impl CanonicalSerialize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(v.compressed_size());
    v.serialize_compressed(&mut out)
        .map_err(|e| ZkError::Proving(e.to_string()))?;
    Ok(out)
}

/// Runs the per-model trusted setup. `seed` makes it reproducible (ChaCha20); `None` draws
/// from the OS. Whoever knows the randomness can forge proofs for this model (see README).
pub fn setup(mlp: &Mlp, seed: Option<[u8; 32]>) -> Result<Keys> {
    match seed {
        Some(seed) => setup_with(mlp, &mut ChaCha20Rng::from_seed(seed)),
        None => setup_with(mlp, &mut OsRng),
    }
}

fn setup_with(mlp: &Mlp, rng: &mut (impl RngCore + CryptoRng)) -> Result<Keys> {
    let circuit = MlpCircuit { mlp, witness: None };
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, rng)
        .map_err(|e| ZkError::Proving(e.to_string()))?;
    Ok(Keys {
        verifying_key: serialize(&pk.vk)?,
        proving_key: serialize(&pk)?,
    })
}

/// Evaluates `mlp` on `input` and proves it; returns the output and the 128-byte proof.
pub fn prove(mlp: &Mlp, proving_key: &[u8], input: &[i8]) -> Result<(Vec<i8>, Vec<u8>)> {
    let pk = codec::proving_key(proving_key).map_err(ZkError::MalformedProvingKey)?;
    let witness = Witness::new(mlp, input)?;
    let output = witness.output.clone();
    let proof = prove_witness(mlp, &pk, witness, true)?;
    // A proving key of another model (or a corrupted one) yields a proof that does not verify:
    // say so here rather than on the ledger.
    let pvk = prepare_verifying_key(&pk.vk);
    check(
        &pvk,
        &proof,
        &public_inputs(&mlp.commitment(), input, &output),
    )
    .map_err(|_| {
        ZkError::MalformedProvingKey("its proof does not verify: made for another model?".into())
    })?;
    Ok((output, serialize(&proof)?))
}

/// Proves `witness` with `pk`. `check_satisfied = false` lets tests prove a corrupted witness
/// (arkworks' own prover `debug_assert!`s satisfaction, which would panic instead).
pub(crate) fn prove_witness(
    mlp: &Mlp,
    pk: &ProvingKey<Bn254>,
    witness: Witness,
    check_satisfied: bool,
) -> Result<Proof<Bn254>> {
    let synthesis = |e: SynthesisError| ZkError::Proving(e.to_string());
    let expected = shape(mlp)?;
    let (n_inst, n_wit) = (expected.public_inputs + 1, expected.witnesses);
    let sizes = [
        ("gamma_abc_g1", pk.vk.gamma_abc_g1.len(), n_inst),
        ("a_query", pk.a_query.len(), n_inst + n_wit),
        ("b_g1_query", pk.b_g1_query.len(), n_inst + n_wit),
        ("b_g2_query", pk.b_g2_query.len(), n_inst + n_wit),
        ("l_query", pk.l_query.len(), n_wit),
    ];
    for (name, got, want) in sizes {
        if got != want {
            return Err(ZkError::MalformedProvingKey(format!(
                "{name} has {got} points, this model's circuit needs {want}"
            )));
        }
    }
    if pk.h_query.is_empty() {
        return Err(ZkError::MalformedProvingKey("empty h_query".into()));
    }

    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    MlpCircuit {
        mlp,
        witness: Some(witness),
    }
    .generate_constraints(cs.clone())
    .map_err(synthesis)?;
    if check_satisfied && !cs.is_satisfied().map_err(synthesis)? {
        let at = cs.which_is_unsatisfied().map_err(synthesis)?;
        return Err(ZkError::Proving(format!(
            "witness does not satisfy the circuit at {at:?}"
        )));
    }
    cs.finalize();
    let matrices = cs
        .to_matrices()
        .ok_or_else(|| ZkError::Proving("constraint matrices unavailable".into()))?;
    let cs = cs
        .into_inner()
        .ok_or_else(|| ZkError::Proving("constraint system still shared".into()))?;
    let full: Vec<Fr> = [&cs.instance_assignment[..], &cs.witness_assignment[..]].concat();
    let (r, s) = (Fr::rand(&mut OsRng), Fr::rand(&mut OsRng));
    Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        pk,
        r,
        s,
        &matrices,
        cs.num_instance_variables,
        cs.num_constraints,
        &full,
    )
    .map_err(synthesis)
}

fn check(pvk: &PreparedVerifyingKey<Bn254>, proof: &Proof<Bn254>, inputs: &[Fr]) -> Result<()> {
    match Groth16::<Bn254>::verify_proof(pvk, proof, inputs) {
        Ok(true) => Ok(()),
        Ok(false) => Err(ZkError::ProofRejected),
        Err(e) => Err(ZkError::MalformedProof(e.to_string())),
    }
}

/// A parsed, prepared verifying key, for verifying many proofs of one model.
#[derive(Clone)]
pub struct PreparedVerifier {
    pvk: PreparedVerifyingKey<Bn254>,
}

impl PreparedVerifier {
    /// Parses and validates `verifying_key` (compressed arkworks bytes from [`setup`]).
    pub fn new(verifying_key: &[u8]) -> Result<Self> {
        let vk = codec::verifying_key(verifying_key).map_err(ZkError::MalformedVerifyingKey)?;
        if vk.gamma_abc_g1.len() < 4 {
            return Err(ZkError::MalformedVerifyingKey(format!(
                "{} public inputs, at least 3 (commitment, input length) expected",
                vk.gamma_abc_g1.len().saturating_sub(1)
            )));
        }
        Ok(PreparedVerifier {
            pvk: prepare_verifying_key(&vk),
        })
    }

    /// Number of input and output values together that the key takes.
    pub fn values(&self) -> usize {
        self.pvk.vk.gamma_abc_g1.len().saturating_sub(4)
    }

    /// Checks that `proof` shows the model committed to by `commitment` maps `input` to
    /// `output`.
    pub fn verify(
        &self,
        commitment: &[u8; 32],
        input: &[i8],
        output: &[i8],
        proof: &[u8],
    ) -> Result<()> {
        let got = input.len().saturating_add(output.len());
        if got != self.values() {
            return Err(ZkError::PublicInputLength {
                got,
                expected: self.values(),
            });
        }
        let proof = codec::proof(proof).map_err(ZkError::MalformedProof)?;
        check(&self.pvk, &proof, &public_inputs(commitment, input, output))
    }
}

/// Checks that `proof` shows the model committed to by `commitment` maps `input` to
/// `output`, under `verifying_key` (see [`PreparedVerifier`] to verify many).
pub fn verify(
    verifying_key: &[u8],
    commitment: &[u8; 32],
    input: &[i8],
    output: &[i8],
    proof: &[u8],
) -> Result<()> {
    PreparedVerifier::new(verifying_key)?.verify(commitment, input, output, proof)
}

#[cfg(test)]
mod tests {
    use ark_serialize::CanonicalDeserialize;

    use super::*;

    /// A prover who skips the satisfaction check and claims another output (with every
    /// internal value honest) gets a proof that does not verify.
    #[test]
    fn a_proof_of_an_unsatisfied_witness_does_not_verify() -> eyre::Result<()> {
        let mlp = Mlp::from_json(
            br#"{"layers":[{"weights":[[3,-1],[2,2]],"bias":[0,1],"shift":1},
                           {"weights":[[1,1]],"bias":[0],"shift":0}]}"#,
        )?;
        let keys = setup(&mlp, Some([3; 32]))?;
        let pk = ProvingKey::<Bn254>::deserialize_compressed(&keys.proving_key[..])?;
        let input = [20, -4];
        let honest = Witness::new(&mlp, &input)?;
        let mut forged = honest.clone();
        forged.output[0] = forged.output[0].wrapping_add(1);
        let claimed = forged.output.clone();
        assert!(prove_witness(&mlp, &pk, forged.clone(), true).is_err());
        let proof = serialize(&prove_witness(&mlp, &pk, forged, false)?)?;
        let r = verify(
            &keys.verifying_key,
            &mlp.commitment(),
            &input,
            &claimed,
            &proof,
        );
        assert!(matches!(r, Err(ZkError::ProofRejected)), "{r:?}");
        // The honest one does.
        let proof = serialize(&prove_witness(&mlp, &pk, honest.clone(), true)?)?;
        verify(
            &keys.verifying_key,
            &mlp.commitment(),
            &input,
            &honest.output,
            &proof,
        )?;
        Ok(())
    }
}
