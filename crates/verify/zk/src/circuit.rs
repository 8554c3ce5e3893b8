//! The R1CS circuit of an [`Mlp`] and its witness.
//!
//! Weights and biases are circuit constants, so each accumulator `acc = bias + Σ w·x` is a
//! linear combination of the previous layer's variables and costs no constraint. Each neuron
//! then costs 43 constraints (fewer when `shift ≥ 24` and no clamp can trigger):
//!
//! 1. **Floor shift.** `t = acc + 2^31` is decomposed into 32 boolean bits `b_0..b_31`
//!    (32 constraints `b·(1−b) = 0`, one `Σ 2^k b_k = acc + 2^31`). Validation keeps every
//!    honest `acc` in `[−2^31, 2^31)`, so the decomposition exists, and `2^32 < p` makes it
//!    unique. The low `shift` bits are the remainder; `c_k = b_{k+shift}` for
//!    `k = 0..=m` (`m = 31 − shift`) are the bits of `q + 2^m`, `q = acc >> shift`, and
//!    `b_31 = 1` iff `q ≥ 0`.
//! 2. **Clamp to int8** (only when `m > 7`). With `L = Σ_{k<7} 2^k c_k` and
//!    `H = Σ_{7≤k<m} 2^{k−7} c_k`: `q > 127` iff `q ≥ 0` and `H ≠ 0`; `q < −128` iff `q < 0`
//!    and `H ≠ 2^{m−7} − 1`; otherwise `q = L − 128·(1 − b_31)`. Two is-nonzero gadgets
//!    (3 constraints each, the inverse pinned to 0 when the value is 0 so that every witness
//!    value is unique), `over = b_31·nz(H)`, `under = (1 − b_31)·nz(2^{m−7} − 1 − H)`,
//!    `sel = (over + under)·L`, and `y = L − 128·(1 − b_31) + 127·over − sel` (a linear
//!    combination). When `m ≤ 7`, `y = L − 2^m·(1 − b_31)` with `L` over the `m` low bits.
//! 3. **ReLU** (hidden layers): `a = b_31·y`, one constraint (`y ≥ 0` iff `q ≥ 0`).
//!    **Output** (last layer): `y = output_i`, one constraint.
//!
//! Public inputs, in this order (after arkworks' constant 1): the commitment's first and
//! second 16 bytes as big-endian 128-bit integers, the number of input values, the input
//! values, the output values (int8 as field elements, negative `v` as `p − |v|`). The first
//! three are constrained to this model's constants, so a verifying key only accepts proofs
//! that name its own model and read the input/output split it was made for.

use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};

use crate::model::{Layer, Mlp};
use crate::{Result, ZkError};

/// Bits of the shifted accumulator `acc + 2^31`.
const ACC_BITS: u32 = 32;
/// Bits of `q` below the int8 sign: the clamp window.
const LOW_BITS: u32 = 7;

/// The public inputs of a proof about `commitment`, `input` and `output` (see module docs).
pub fn public_inputs(commitment: &[u8; 32], input: &[i8], output: &[i8]) -> Vec<Fr> {
    let (hi, lo) = commitment_halves(commitment);
    let mut out = Vec::with_capacity(3 + input.len() + output.len());
    out.extend([hi, lo, Fr::from(input.len() as u64)]);
    out.extend(input.iter().chain(output).map(|&v| Fr::from(v)));
    out
}

fn commitment_halves(c: &[u8; 32]) -> (Fr, Fr) {
    let mut hi = [0u8; 16];
    let mut lo = [0u8; 16];
    hi.copy_from_slice(&c[..16]);
    lo.copy_from_slice(&c[16..]);
    (
        Fr::from(u128::from_be_bytes(hi)),
        Fr::from(u128::from_be_bytes(lo)),
    )
}

/// Witness values of one neuron, as field elements so that tests can corrupt them.
#[derive(Clone, Debug)]
pub(crate) struct NeuronWitness {
    /// `acc + 2^31`, least significant bit first.
    pub bits: Vec<Fr>,
    /// Present iff the layer's shift is below 24 (the clamp can trigger).
    pub clamp: Option<ClampWitness>,
    /// `max(y, 0)`, hidden layers only.
    pub relu: Option<Fr>,
}

#[derive(Clone, Debug)]
pub(crate) struct ClampWitness {
    pub inv_high: Fr,
    pub nz_high: Fr,
    pub inv_low: Fr,
    pub nz_low: Fr,
    pub over: Fr,
    pub under: Fr,
    pub sel: Fr,
}

/// Everything the prover knows: the input, the claimed output, each neuron's witness.
#[derive(Clone, Debug)]
pub(crate) struct Witness {
    pub input: Vec<i8>,
    pub output: Vec<i8>,
    pub neurons: Vec<Vec<NeuronWitness>>,
}

/// `v ≠ 0` as a field element and its pinned inverse (0 when `v = 0`).
fn nonzero(v: u64) -> (Fr, Fr) {
    if v == 0 {
        (Fr::zero(), Fr::zero())
    } else {
        (Fr::one(), Fr::from(v).inverse().unwrap_or_default())
    }
}

impl Witness {
    /// The honest witness of `mlp` on `input`, from the native evaluation.
    pub fn new(mlp: &Mlp, input: &[i8]) -> Result<Witness> {
        let acts = mlp.activations(input)?;
        let n = mlp.layers().len();
        let mut neurons = Vec::with_capacity(n);
        for (k, layer) in mlp.layers().iter().enumerate() {
            let x = if k == 0 {
                input
            } else {
                acts.get(k - 1).map_or(&[][..], Vec::as_slice)
            };
            let hidden = k + 1 < n;
            let y = acts.get(k).map_or(&[][..], Vec::as_slice);
            neurons.push(
                (0..layer.n_out())
                    .map(|i| neuron_witness(layer, layer.accumulate(i, x), y.get(i), hidden))
                    .collect(),
            );
        }
        Ok(Witness {
            input: input.to_vec(),
            output: acts.last().cloned().unwrap_or_default(),
            neurons,
        })
    }
}

fn neuron_witness(layer: &Layer, acc: i32, y: Option<&i8>, hidden: bool) -> NeuronWitness {
    let s = u32::from(layer.shift());
    // In [0, 2^32) because acc is an i32.
    let t = (i64::from(acc) + (1 << 31)) as u64;
    let bit = |k: u32| (t >> k) & 1;
    let m = 31 - s;
    let clamp = (m > LOW_BITS).then(|| {
        let mask = (1u64 << (m - LOW_BITS)) - 1;
        let high = (t >> (s + LOW_BITS)) & mask;
        let low = (t >> s) & ((1 << LOW_BITS) - 1);
        let pos = bit(31) == 1;
        let (nz_high, inv_high) = nonzero(high);
        let (nz_low, inv_low) = nonzero(mask - high);
        let over = pos && high != 0;
        let under = !pos && high != mask;
        ClampWitness {
            inv_high,
            nz_high,
            inv_low,
            nz_low,
            over: Fr::from(over),
            under: Fr::from(under),
            sel: if over || under {
                Fr::from(low)
            } else {
                Fr::zero()
            },
        }
    });
    NeuronWitness {
        bits: (0..ACC_BITS).map(|k| Fr::from(bit(k))).collect(),
        clamp,
        // The native ReLU output: the circuit must agree with it.
        relu: hidden.then(|| Fr::from(y.copied().unwrap_or_default())),
    }
}

/// The circuit of `mlp`; without a witness it only lays out constraints (setup).
pub(crate) struct MlpCircuit<'a> {
    pub mlp: &'a Mlp,
    pub witness: Option<Witness>,
}

/// A witness value, or "missing" in setup mode.
fn get<T>(v: Option<T>) -> Result<T, SynthesisError> {
    v.ok_or(SynthesisError::AssignmentMissing)
}

fn lc(terms: impl IntoIterator<Item = (Fr, Variable)>) -> LinearCombination<Fr> {
    let mut out = LinearCombination::zero();
    for t in terms {
        out += t;
    }
    out
}

fn constant(c: Fr) -> LinearCombination<Fr> {
    lc([(c, Variable::One)])
}

fn pow2(k: u32) -> Fr {
    Fr::from(1u64 << k)
}

impl ConstraintSynthesizer<Fr> for MlpCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = self.witness.as_ref();
        let mlp = self.mlp;

        // Public inputs, pinned to this model where they are constants.
        let (hi, lo) = commitment_halves(&mlp.commitment());
        let n_in = Fr::from(mlp.n_inputs() as u64);
        for c in [hi, lo, n_in] {
            let v = cs.new_input_variable(|| get(w.map(|_| c)))?;
            cs.enforce_constraint(
                lc([(Fr::one(), v)]) - constant(c),
                constant(Fr::one()),
                lc([]),
            )?;
        }
        let mut x = Vec::with_capacity(mlp.n_inputs());
        for j in 0..mlp.n_inputs() {
            let v = cs
                .new_input_variable(|| get(w.and_then(|w| w.input.get(j)).map(|&v| Fr::from(v))))?;
            x.push(lc([(Fr::one(), v)]));
        }
        let mut outputs = Vec::with_capacity(mlp.n_outputs());
        for i in 0..mlp.n_outputs() {
            let v = cs.new_input_variable(|| {
                get(w.and_then(|w| w.output.get(i)).map(|&v| Fr::from(v)))
            })?;
            outputs.push(v);
        }

        let n = mlp.layers().len();
        for (k, layer) in mlp.layers().iter().enumerate() {
            let hidden = k + 1 < n;
            let mut y = Vec::with_capacity(layer.n_out());
            for i in 0..layer.n_out() {
                let nw = w.and_then(|w| w.neurons.get(k)).and_then(|l| l.get(i));
                let mut acc = constant(Fr::from(layer.bias().get(i).copied().unwrap_or_default()));
                for (&wt, xj) in layer.row(i).iter().zip(&x) {
                    if wt != 0 {
                        acc = acc + (Fr::from(wt), xj);
                    }
                }
                y.push(neuron(&cs, acc, layer.shift(), hidden, nw)?);
            }
            x = y;
        }
        for (y, out) in x.into_iter().zip(outputs) {
            cs.enforce_constraint(y - out, constant(Fr::one()), lc([]))?;
        }
        Ok(())
    }
}

/// One neuron's requantisation (see module docs); returns its output as a linear combination.
fn neuron(
    cs: &ConstraintSystemRef<Fr>,
    acc: LinearCombination<Fr>,
    shift: u8,
    hidden: bool,
    w: Option<&NeuronWitness>,
) -> Result<LinearCombination<Fr>, SynthesisError> {
    let one = || constant(Fr::one());
    let witness =
        |f: &dyn Fn(&NeuronWitness) -> Option<Fr>| cs.new_witness_variable(|| get(w.and_then(f)));

    // 1. t = acc + 2^31 = Σ 2^k b_k, b_k boolean.
    let mut bits = Vec::with_capacity(ACC_BITS as usize);
    for k in 0..ACC_BITS as usize {
        let b = witness(&|w| w.bits.get(k).copied())?;
        cs.enforce_constraint(lc([(Fr::one(), b)]), one() - b, lc([]))?;
        bits.push(b);
    }
    let recomposed = lc(bits.iter().zip(0..).map(|(&b, k)| (pow2(k), b)));
    cs.enforce_constraint(recomposed - acc - (pow2(31), Variable::One), one(), lc([]))?;

    let s = u32::from(shift);
    let m = 31 - s;
    let c = |k: u32| {
        bits.get((k + s) as usize)
            .copied()
            .unwrap_or(Variable::Zero)
    };
    let pos = bits.get(31).copied().unwrap_or(Variable::Zero);
    let neg = one() - pos; // 1 iff q < 0
    let l_bits = m.min(LOW_BITS);
    let low = lc((0..l_bits).map(|k| (pow2(k), c(k))));

    // 2. y = clamp(q, -128, 127).
    let y = if m > LOW_BITS {
        let high = lc((LOW_BITS..m).map(|k| (pow2(k - LOW_BITS), c(k))));
        let mask = Fr::from((1u64 << (m - LOW_BITS)) - 1);
        let high_complement = constant(mask) - high.clone();
        let nz_high = is_nonzero(
            cs,
            high,
            w.and_then(|w| w.clamp.as_ref())
                .map(|c| (c.nz_high, c.inv_high)),
        )?;
        let nz_low = is_nonzero(
            cs,
            high_complement,
            w.and_then(|w| w.clamp.as_ref())
                .map(|c| (c.nz_low, c.inv_low)),
        )?;
        let over = witness(&|w| w.clamp.as_ref().map(|c| c.over))?;
        cs.enforce_constraint(
            lc([(Fr::one(), pos)]),
            lc([(Fr::one(), nz_high)]),
            lc([(Fr::one(), over)]),
        )?;
        let under = witness(&|w| w.clamp.as_ref().map(|c| c.under))?;
        cs.enforce_constraint(
            neg.clone(),
            lc([(Fr::one(), nz_low)]),
            lc([(Fr::one(), under)]),
        )?;
        let sel = witness(&|w| w.clamp.as_ref().map(|c| c.sel))?;
        cs.enforce_constraint(
            lc([(Fr::one(), over), (Fr::one(), under)]),
            low.clone(),
            lc([(Fr::one(), sel)]),
        )?;
        low - neg * pow2(LOW_BITS) + (Fr::from(127u64), over) - sel
    } else {
        low - neg * pow2(m)
    };

    // 3. ReLU on hidden layers.
    if hidden {
        let a = witness(&|w| w.relu)?;
        cs.enforce_constraint(lc([(Fr::one(), pos)]), y, lc([(Fr::one(), a)]))?;
        Ok(lc([(Fr::one(), a)]))
    } else {
        Ok(y)
    }
}

/// `nz = (v ≠ 0)` with `v·inv = nz`, `v·(1 − nz) = 0`, `inv·(1 − nz) = 0`: `nz` is forced
/// to the truth and `inv` to `1/v` or 0.
fn is_nonzero(
    cs: &ConstraintSystemRef<Fr>,
    v: LinearCombination<Fr>,
    w: Option<(Fr, Fr)>,
) -> Result<Variable, SynthesisError> {
    let nz = cs.new_witness_variable(|| get(w.map(|w| w.0)))?;
    let inv = cs.new_witness_variable(|| get(w.map(|w| w.1)))?;
    let one_minus_nz = constant(Fr::one()) - nz;
    cs.enforce_constraint(v.clone(), lc([(Fr::one(), inv)]), lc([(Fr::one(), nz)]))?;
    cs.enforce_constraint(v, one_minus_nz.clone(), lc([]))?;
    cs.enforce_constraint(lc([(Fr::one(), inv)]), one_minus_nz, lc([]))?;
    Ok(nz)
}

/// Size of the circuit of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitShape {
    /// R1CS constraints.
    pub constraints: usize,
    /// Public inputs (without arkworks' constant 1).
    pub public_inputs: usize,
    /// Private witness variables.
    pub witnesses: usize,
}

/// Lays out `mlp`'s circuit without a witness and counts it.
pub fn shape(mlp: &Mlp) -> Result<CircuitShape> {
    let cs = ark_relations::r1cs::ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(ark_relations::r1cs::SynthesisMode::Setup);
    MlpCircuit { mlp, witness: None }
        .generate_constraints(cs.clone())
        .map_err(|e| ZkError::Proving(e.to_string()))?;
    Ok(CircuitShape {
        constraints: cs.num_constraints(),
        public_inputs: cs.num_instance_variables() - 1,
        witnesses: cs.num_witness_variables(),
    })
}

#[cfg(test)]
mod tests {
    use ark_relations::r1cs::ConstraintSystem;

    use super::*;

    /// 3 → 2 → 2, shifts 2 (clamp active) and 26 (no clamp), plus the 16-32-32-4 fixture shape
    /// is covered by the integration tests.
    fn small() -> Mlp {
        let json = br#"{"layers":[
            {"weights":[[100,-100,50],[-7,3,127]],"bias":[10,-1000],"shift":2},
            {"weights":[[127,-128],[1,1]],"bias":[100000,-5],"shift":26}]}"#;
        Mlp::from_json(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn satisfied(mlp: &Mlp, witness: Witness) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        MlpCircuit {
            mlp,
            witness: Some(witness),
        }
        .generate_constraints(cs.clone())
        .unwrap_or_else(|e| panic!("{e}"));
        cs.is_satisfied().unwrap_or_else(|e| panic!("{e}"))
    }

    fn inputs() -> Vec<Vec<i8>> {
        let mut out = vec![
            vec![0, 0, 0],
            vec![127, -128, 127],
            vec![-128, 127, -128],
            vec![1, 2, 3],
        ];
        out.extend((0..40).map(|k: i32| {
            (0..3)
                .map(|j| ((k * 37 + j * 101) % 256 - 128) as i8)
                .collect()
        }));
        out
    }

    #[test]
    fn honest_witness_satisfies_and_output_is_infer() {
        for mlp in [
            small(),
            crate::Mlp::from_json(include_bytes!("../fixtures/mlp-16-32-32-4.json"))
                .unwrap_or_else(|e| panic!("{e}")),
        ] {
            let n = mlp.n_inputs();
            for x in inputs() {
                let x: Vec<i8> = x.iter().cycle().take(n).copied().collect();
                let w = Witness::new(&mlp, &x).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(w.output, mlp.infer(&x).unwrap_or_default());
                assert!(satisfied(&mlp, w.clone()), "{x:?}");
                // Any other output value is unsatisfiable with the honest internals.
                for i in 0..w.output.len() {
                    for d in [1i8, -1] {
                        let mut bad = w.clone();
                        bad.output[i] = bad.output[i].wrapping_add(d);
                        assert!(!satisfied(&mlp, bad));
                    }
                }
            }
        }
    }

    #[test]
    fn shape_counts_43_constraints_per_clamped_neuron() {
        let s = shape(&small()).unwrap_or_else(|e| panic!("{e}"));
        // Layer 1: 2 × (33 + 6 + 3 + 1 relu); layer 2: 2 × (33 + 1 output); 3 pinned publics.
        assert_eq!(s.constraints, 3 + 2 * 43 + 2 * 34);
        assert_eq!(s.public_inputs, 3 + 3 + 2);
    }

    #[test]
    fn non_boolean_bits_are_unsatisfied() {
        let mlp = small();
        let w = Witness::new(&mlp, &[1, 2, 3]).unwrap_or_else(|e| panic!("{e}"));
        // The same t with bit 0 replaced by 2 and bit 1 lowered: 2·1 + 0·2 = 0·1 + 1·2.
        let mut bad = w.clone();
        let n = &mut bad.neurons[0][0];
        if n.bits[1] == Fr::one() && n.bits[0] == Fr::zero() {
            n.bits[0] = Fr::from(2u64);
            n.bits[1] = Fr::zero();
        } else {
            n.bits[0] += Fr::from(2u64);
            n.bits[1] -= Fr::one();
        }
        assert!(!satisfied(&mlp, bad));
    }

    /// A remainder of 2^shift or more (here: the remainder plus 2^shift, the quotient one
    /// less) would need a non-boolean bit or a different recomposition: unsatisfied.
    #[test]
    fn wrong_remainder_is_unsatisfied() {
        let mlp = small();
        let w = Witness::new(&mlp, &[1, 2, 3]).unwrap_or_else(|e| panic!("{e}"));
        let s = mlp.layers()[0].shift() as usize;
        let mut bad = w.clone();
        let bits = &mut bad.neurons[0][1].bits;
        // r' = r + 2^s in the remainder bits as a field value, q' = q − 1 in the quotient bits.
        bits[s - 1] += Fr::from(2u64);
        let q_lsb = bits[s];
        bits[s] = if q_lsb == Fr::one() {
            Fr::zero()
        } else {
            Fr::from(-1i64)
        };
        assert!(!satisfied(&mlp, bad));
        // Flipping any single bit breaks the recomposition.
        for k in 0..32 {
            let mut bad = w.clone();
            let b = &mut bad.neurons[0][0].bits[k];
            *b = Fr::one() - *b;
            assert!(!satisfied(&mlp, bad), "bit {k}");
        }
    }

    #[test]
    fn wrong_clamp_and_relu_witnesses_are_unsatisfied() {
        let mlp = small();
        for x in inputs() {
            let w = Witness::new(&mlp, &x).unwrap_or_else(|e| panic!("{e}"));
            for i in 0..2 {
                let corruptions: [fn(&mut NeuronWitness); 9] = [
                    |n| n.relu = n.relu.map(|v| v + Fr::one()),
                    |n| n.relu = n.relu.map(|v| -v - Fr::one()),
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.over = Fr::one() - c.over
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.under = Fr::one() - c.under
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.nz_high = Fr::one() - c.nz_high
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.nz_low = Fr::one() - c.nz_low
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.inv_high += Fr::one()
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.inv_low += Fr::one()
                        }
                    },
                    |n| {
                        if let Some(c) = &mut n.clamp {
                            c.sel += Fr::one()
                        }
                    },
                ];
                for (k, corrupt) in corruptions.iter().enumerate() {
                    let mut bad = w.clone();
                    corrupt(&mut bad.neurons[0][i]);
                    assert!(
                        !satisfied(&mlp, bad),
                        "input {x:?} neuron {i} corruption {k}"
                    );
                }
            }
        }
    }
}
