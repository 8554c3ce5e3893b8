//! Fuzzes what `verify-zk` decodes from untrusted bytes: verifying keys and proofs (as the
//! ledger will, in `verify`), and model JSON (`Mlp::from_json`). The first byte picks the
//! field; the rest replaces it whole, or patches the real one at an offset (random bytes
//! alone almost never decode to curve points). Never a panic or an unbounded allocation; the
//! real key and proof verify; a decoded model round-trips through JSON.
//!
//! Changed bytes may still verify, legitimately: Groth16 proofs are randomised (the seed
//! corpus holds another valid proof of the same statement), and the verifying key's point
//! for a public input whose value is 0 does not enter the check (the seed
//! `verifying-key-patch-zero-input` changes the point of input 5, which is 0).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verify_zk::{Keys, Mlp, prove, setup, verify};

const FIXTURE: &[u8] = include_bytes!("../../crates/verify/zk/fixtures/mlp-16-32-32-4.json");
const INPUT: [i8; 16] = [3, -7, 100, -128, 127, 0, 1, -1, 42, -42, 64, -64, 5, 9, -100, 77];

struct Fixture {
    mlp: Mlp,
    keys: Keys,
    output: Vec<i8>,
    proof: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mlp = Mlp::from_json(FIXTURE).unwrap();
        let keys = setup(&mlp, Some([7; 32])).unwrap();
        let (output, proof) = prove(&mlp, &keys.proving_key, &INPUT).unwrap();
        Fixture { mlp, keys, output, proof }
    })
}

/// `base` with `patch[2..]` written at offset `u16(patch[0..2]) % len`.
fn patched(base: &[u8], patch: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    if let [a, b, bytes @ ..] = patch {
        let at = usize::from(u16::from_le_bytes([*a, *b])) % out.len().max(1);
        for (o, p) in out.iter_mut().skip(at).zip(bytes) {
            *o = *p;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let f = fixture();
    let c = f.mlp.commitment();
    let (vk, proof) = match mode % 5 {
        0 => (f.keys.verifying_key.clone(), rest.to_vec()),
        1 => (rest.to_vec(), f.proof.clone()),
        2 => (f.keys.verifying_key.clone(), patched(&f.proof, rest)),
        3 => (patched(&f.keys.verifying_key, rest), f.proof.clone()),
        _ => {
            if let Ok(mlp) = Mlp::from_json(rest) {
                assert_eq!(Mlp::from_json(mlp.to_json().as_bytes()).unwrap(), mlp);
                let out = mlp.infer(&vec![-1; mlp.n_inputs()]).unwrap();
                assert_eq!(out.len(), mlp.n_outputs());
            }
            return;
        }
    };
    let r = verify(&vk, &c, &INPUT, &f.output, &proof);
    if vk == f.keys.verifying_key && proof == f.proof {
        assert!(r.is_ok(), "{r:?}");
    }
});
