//! Setup, prove and verify end to end on the fixture, and every way a proof must fail.

use std::sync::OnceLock;

use verify_zk::{Keys, Mlp, PROOF_BYTES, PreparedVerifier, ZkError, prove, setup, verify};

use crate::fixture::{SplitMix, fixture};

pub fn keys() -> &'static (Mlp, Keys) {
    static KEYS: OnceLock<(Mlp, Keys)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mlp = fixture();
        let keys = setup(&mlp, Some([42; 32])).unwrap_or_else(|e| panic!("setup: {e}"));
        (mlp, keys)
    })
}

/// One honest proof, shared: (input, output, proof).
pub fn proved() -> &'static (Vec<i8>, Vec<i8>, Vec<u8>) {
    static PROOF: OnceLock<(Vec<i8>, Vec<i8>, Vec<u8>)> = OnceLock::new();
    PROOF.get_or_init(|| {
        let (mlp, keys) = keys();
        let input = SplitMix(3).input(16);
        let (output, proof) =
            prove(mlp, &keys.proving_key, &input).unwrap_or_else(|e| panic!("prove: {e}"));
        (input, output, proof)
    })
}

fn rejected(r: Result<(), ZkError>) -> bool {
    matches!(r, Err(ZkError::ProofRejected))
}

#[test]
fn round_trip_on_the_fixture() -> eyre::Result<()> {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    assert_eq!(output, &mlp.infer(input)?);
    assert_eq!(proof.len(), PROOF_BYTES);
    verify(&keys.verifying_key, &mlp.commitment(), input, output, proof)?;
    let prepared = PreparedVerifier::new(&keys.verifying_key)?;
    assert_eq!(prepared.values(), 20);
    prepared.verify(&mlp.commitment(), input, output, proof)?;
    Ok(())
}

#[test]
fn setup_is_reproducible_from_a_seed() -> eyre::Result<()> {
    let mlp = Mlp::from_json(br#"{"layers":[{"weights":[[1,-1]],"bias":[4],"shift":1}]}"#)?;
    let a = setup(&mlp, Some([1; 32]))?;
    assert!(a == setup(&mlp, Some([1; 32]))?);
    assert!(a != setup(&mlp, Some([2; 32]))?);
    assert!(a != setup(&mlp, None)?);
    Ok(())
}

#[test]
fn wrong_output_is_rejected() {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    for i in 0..output.len() {
        let mut wrong = output.clone();
        wrong[i] = wrong[i].wrapping_add(1);
        assert!(rejected(verify(
            &keys.verifying_key,
            &mlp.commitment(),
            input,
            &wrong,
            proof
        )));
    }
}

#[test]
fn wrong_input_is_rejected() {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    let mut wrong = input.clone();
    wrong[5] = wrong[5].wrapping_sub(1);
    assert!(rejected(verify(
        &keys.verifying_key,
        &mlp.commitment(),
        &wrong,
        output,
        proof
    )));
}

#[test]
fn wrong_commitment_is_rejected() {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    for byte in [0, 15, 16, 31] {
        let mut c = mlp.commitment();
        c[byte] ^= 1;
        assert!(rejected(verify(
            &keys.verifying_key,
            &c,
            input,
            output,
            proof
        )));
    }
}

/// The same 20 public values split differently (17 inputs, 3 outputs) are refused: the input
/// length is a public input pinned by the circuit.
#[test]
fn another_input_output_split_is_rejected() {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    let mut long = input.clone();
    long.push(output[0]);
    assert!(rejected(verify(
        &keys.verifying_key,
        &mlp.commitment(),
        &long,
        &output[1..],
        proof
    )));
}

#[test]
fn tampered_proofs_are_rejected() -> eyre::Result<()> {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    let verifier = PreparedVerifier::new(&keys.verifying_key)?;
    // One bit of every byte, alternating low and high bits (the high bits of each point's
    // last byte are its compression flags).
    for i in 0..proof.len() {
        let bit = if i % 2 == 0 { 0 } else { 7 };
        let mut p = proof.clone();
        p[i] ^= 1 << bit;
        match verifier.verify(&mlp.commitment(), input, output, &p) {
            Err(ZkError::ProofRejected | ZkError::MalformedProof(_)) => {}
            other => panic!("byte {i} bit {bit}: {other:?}"),
        }
    }
    // A valid proof for another input does not vouch for this one.
    let other = SplitMix(4).input(16);
    let (other_out, other_proof) = prove(mlp, &keys.proving_key, &other)?;
    verify(
        &keys.verifying_key,
        &mlp.commitment(),
        &other,
        &other_out,
        &other_proof,
    )?;
    assert!(rejected(verify(
        &keys.verifying_key,
        &mlp.commitment(),
        input,
        output,
        &other_proof
    )));
    Ok(())
}

#[test]
fn proofs_are_randomised_but_both_verify() -> eyre::Result<()> {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    let (again, proof2) = prove(mlp, &keys.proving_key, input)?;
    assert_eq!(&again, output);
    assert_ne!(proof, &proof2);
    verify(
        &keys.verifying_key,
        &mlp.commitment(),
        input,
        output,
        &proof2,
    )?;
    Ok(())
}

#[test]
fn another_models_key_is_refused() -> eyre::Result<()> {
    let (mlp, _) = keys();
    let (input, output, proof) = proved();
    // Same shapes, one weight changed: another commitment, other constants.
    let mut json: serde_json::Value = serde_json::from_str(&mlp.to_json())?;
    let w = &mut json["layers"][1]["weights"][3][7];
    *w = serde_json::json!(if w.as_i64() == Some(0) { 1 } else { 0 });
    let other = Mlp::from_json(json.to_string().as_bytes())?;
    assert_ne!(other.commitment(), mlp.commitment());
    let other_keys = setup(&other, Some([42; 32]))?;
    // Its verifying key rejects our proof, even under our commitment.
    assert!(rejected(verify(
        &other_keys.verifying_key,
        &mlp.commitment(),
        input,
        output,
        proof
    )));
    // Proving our model with its proving key is caught before a bad proof leaves the prover.
    assert!(matches!(
        prove(mlp, &other_keys.proving_key, input),
        Err(ZkError::MalformedProvingKey(_))
    ));
    // A key for another shape is refused by its sizes.
    let small = Mlp::from_json(br#"{"layers":[{"weights":[[1]],"bias":[0],"shift":0}]}"#)?;
    let small_keys = setup(&small, Some([1; 32]))?;
    let err = prove(mlp, &small_keys.proving_key, input)
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("this model's circuit needs")));
    let err = verify(
        &small_keys.verifying_key,
        &mlp.commitment(),
        input,
        output,
        proof,
    );
    assert_eq!(
        err.err().map(|e| e.to_string()).as_deref(),
        Some(
            "input and output have 20 values together, the verifying key takes 2 \
             (after the commitment and the input length)"
        )
    );
    Ok(())
}

#[test]
fn garbage_keys_and_proofs_give_clear_errors() {
    let (mlp, keys) = keys();
    let (input, output, proof) = proved();
    let c = mlp.commitment();
    let vk = &keys.verifying_key;
    let msg = |r: Result<(), ZkError>| r.err().map(|e| e.to_string()).unwrap_or_default();

    assert!(msg(verify(&[], &c, input, output, proof)).starts_with("malformed verifying key: "));
    assert!(
        msg(verify(&[0xFF; 1000], &c, input, output, proof))
            .starts_with("malformed verifying key: ")
    );
    assert!(
        msg(verify(&vk[..vk.len() - 1], &c, input, output, proof))
            .starts_with("malformed verifying key: ")
    );
    let mut trailing = vk.clone();
    trailing.push(0);
    assert_eq!(
        msg(verify(&trailing, &c, input, output, proof)),
        "malformed verifying key: 1 trailing bytes"
    );

    assert_eq!(
        msg(verify(vk, &c, input, output, &[])),
        "malformed proof: 0 bytes, a proof is 128"
    );
    assert!(msg(verify(vk, &c, input, output, &[0xFF; 128])).starts_with("malformed proof: "));
    assert!(msg(verify(vk, &c, input, output, &proof[..127])).starts_with("malformed proof: "));
    assert_eq!(
        msg(verify(vk, &c, &input[..15], output, proof)),
        "input and output have 19 values together, the verifying key takes 20 \
         (after the commitment and the input length)"
    );

    let pk = &keys.proving_key;
    for bad in [&[][..], &[0xFF; 500][..], &pk[..pk.len() / 2], &pk[1..]] {
        let r = prove(mlp, bad, input);
        assert!(matches!(r, Err(ZkError::MalformedProvingKey(_))), "{r:?}");
    }
    let r = prove(mlp, pk, &input[..15]).err().map(|e| e.to_string());
    assert_eq!(r.as_deref(), Some("input has 15 values, model takes 16"));
}

/// Writes the `zk_proof` fuzz target's seeds (first byte: the field, see the target) into
/// `fuzz/seeds/zk_proof/`, with the target's setup seed and input.
#[test]
#[ignore = "writes fuzz seeds"]
fn write_fuzz_seeds() -> eyre::Result<()> {
    const INPUT: [i8; 16] = [
        3, -7, 100, -128, 127, 0, 1, -1, 42, -42, 64, -64, 5, 9, -100, 77,
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../fuzz/seeds/zk_proof");
    std::fs::create_dir_all(dir)?;
    let mlp = fixture();
    let keys = setup(&mlp, Some([7; 32]))?;
    let (_, proof) = prove(&mlp, &keys.proving_key, &INPUT)?;
    let small = br#"{"layers":[{"weights":[[1,-1]],"bias":[4],"shift":1}]}"#;
    let seeds: [(&str, u8, &[u8]); 6] = [
        ("proof", 0, &proof),
        ("verifying-key", 1, &keys.verifying_key),
        ("proof-patch", 2, &[0, 0, 1, 2, 3]),
        ("verifying-key-patch", 3, &[200, 0, 0xFF, 0]),
        ("model-fixture", 4, crate::fixture::FIXTURE),
        ("model-small", 4, small),
    ];
    for (name, mode, body) in seeds {
        let mut bytes = vec![mode];
        bytes.extend_from_slice(body);
        std::fs::write(format!("{dir}/{name}"), bytes)?;
    }
    Ok(())
}
