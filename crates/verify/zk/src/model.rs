//! The quantized MLP: JSON format, validation, commitment and native integer inference.
//!
//! Arithmetic (the same in [`Mlp::infer`] and in the circuit, see `circuit.rs`): for each
//! layer, `acc = bias + Σ w·x` in `i32` (validation proves it cannot overflow), then
//! `q = acc >> shift` (arithmetic, i.e. floor division by `2^shift`), then
//! `clamp(q, -128, 127)`, then ReLU (`max(·, 0)`) on every layer but the last.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Result, ZkError};

/// Most layers a model may have.
pub const MAX_LAYERS: usize = 8;
/// Widest layer (inputs or outputs) a model may have.
pub const MAX_WIDTH: usize = 256;
/// Largest requantisation shift.
pub const MAX_SHIFT: u8 = 31;
/// Largest model JSON `from_json` reads (a maximal model is about 2.7 MB of JSON).
pub const MAX_JSON_BYTES: usize = 8 << 20;
/// Domain separator at the start of the commitment's preimage.
pub const COMMITMENT_DOMAIN: &[u8; 16] = b"symbiont-mlp-v1\0";

/// One dense layer: `n_out` rows of `n_in` int8 weights, `n_out` i32 biases, a shift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    n_in: usize,
    /// Row-major, `n_out × n_in`.
    weights: Vec<i8>,
    bias: Vec<i32>,
    shift: u8,
}

impl Layer {
    /// One layer from nested weights (`n_out` rows of `n_in`), checked for shape and limits.
    pub fn new(weights: Vec<Vec<i8>>, bias: Vec<i32>, shift: u8) -> Result<Layer> {
        let n_out = weights.len();
        let n_in = weights.first().map_or(0, Vec::len);
        if !(1..=MAX_WIDTH).contains(&n_out) || !(1..=MAX_WIDTH).contains(&n_in) {
            return Err(invalid(format!(
                "layer is {n_in}→{n_out}, each side must be 1..={MAX_WIDTH}"
            )));
        }
        if let Some(row) = weights.iter().position(|r| r.len() != n_in) {
            return Err(invalid(format!(
                "weight row {row} has {} values, row 0 has {n_in}",
                weights.get(row).map_or(0, Vec::len)
            )));
        }
        if bias.len() != n_out {
            return Err(invalid(format!(
                "{} biases for {n_out} neurons",
                bias.len()
            )));
        }
        if shift > MAX_SHIFT {
            return Err(invalid(format!("shift {shift} exceeds {MAX_SHIFT}")));
        }
        let layer = Layer {
            n_in,
            weights: weights.into_iter().flatten().collect(),
            bias,
            shift,
        };
        // Every accumulator must stay within i32 for any int8 input (hidden activations are
        // in [0, 127] ⊂ int8, so the same bound covers them).
        for i in 0..n_out {
            let (lo, hi) = layer.row(i).iter().fold(
                (i64::from(layer.bias[i]), i64::from(layer.bias[i])),
                |(lo, hi), &w| {
                    let (a, b) = (i64::from(w) * -128, i64::from(w) * 127);
                    (lo + a.min(b), hi + a.max(b))
                },
            );
            if lo < i64::from(i32::MIN) || hi > i64::from(i32::MAX) {
                return Err(invalid(format!(
                    "neuron {i}'s accumulator ranges over [{lo}, {hi}], beyond i32"
                )));
            }
        }
        Ok(layer)
    }

    /// Number of inputs.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    /// Number of outputs (neurons).
    pub fn n_out(&self) -> usize {
        self.bias.len()
    }

    /// The weights of neuron `i` (one per input).
    pub fn row(&self, i: usize) -> &[i8] {
        self.weights
            .get(i * self.n_in..(i + 1) * self.n_in)
            .unwrap_or_default()
    }

    /// Biases, one per neuron.
    pub fn bias(&self) -> &[i32] {
        &self.bias
    }

    /// Requantisation shift.
    pub fn shift(&self) -> u8 {
        self.shift
    }

    /// The layer's output for `x` (`x.len() == n_in`); `relu` on hidden layers.
    fn forward(&self, x: &[i8], relu: bool) -> Vec<i8> {
        (0..self.n_out())
            .map(|i| requantize(self.accumulate(i, x), self.shift, relu))
            .collect()
    }

    /// `bias + Σ w·x` of neuron `i`. Validation bounds every accumulator within `i32` for any
    /// int8 input, so the sum is exact.
    pub(crate) fn accumulate(&self, i: usize, x: &[i8]) -> i32 {
        let bias = self.bias.get(i).copied().unwrap_or_default();
        self.row(i)
            .iter()
            .zip(x)
            .fold(bias, |acc, (&w, &x)| acc + i32::from(w) * i32::from(x))
    }
}

/// Floor-shift, clamp to int8, optional ReLU: the requantisation step of every neuron.
pub(crate) fn requantize(acc: i32, shift: u8, relu: bool) -> i8 {
    let q = (acc >> shift).clamp(i32::from(i8::MIN), i32::from(i8::MAX));
    let q = if relu { q.max(0) } else { q };
    // In range by the clamp.
    i8::try_from(q).unwrap_or_default()
}

/// A validated quantized MLP (see the module docs for its arithmetic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mlp {
    layers: Vec<Layer>,
}

/// The JSON form: `{"layers":[{"weights":[[..n_in..] × n_out],"bias":[..],"shift":7}, ..]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MlpJson {
    layers: Vec<LayerJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerJson {
    weights: Vec<Vec<i8>>,
    bias: Vec<i32>,
    shift: u8,
}

fn invalid(msg: impl Into<String>) -> ZkError {
    ZkError::InvalidModel(msg.into())
}

impl Mlp {
    /// Decodes and validates a model from (untrusted) JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Mlp> {
        if bytes.len() > MAX_JSON_BYTES {
            return Err(invalid(format!(
                "model JSON is {} bytes, the limit is {MAX_JSON_BYTES}",
                bytes.len()
            )));
        }
        let json: MlpJson = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let layers = json
            .layers
            .into_iter()
            .map(|l| Layer::new(l.weights, l.bias, l.shift))
            .collect::<Result<Vec<_>>>()?;
        Self::new(layers)
    }

    /// A model from validated layers; consecutive layers must chain (`n_out` = next `n_in`).
    pub fn new(layers: Vec<Layer>) -> Result<Mlp> {
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(invalid(format!(
                "{} layers, a model has 1..={MAX_LAYERS}",
                layers.len()
            )));
        }
        for (k, pair) in layers.windows(2).enumerate() {
            if let [a, b] = pair
                && a.n_out() != b.n_in()
            {
                return Err(invalid(format!(
                    "layer {k} has {} outputs, layer {} takes {} inputs",
                    a.n_out(),
                    k + 1,
                    b.n_in()
                )));
            }
        }
        Ok(Mlp { layers })
    }

    /// The JSON form [`Mlp::from_json`] reads.
    pub fn to_json(&self) -> String {
        let json = MlpJson {
            layers: self
                .layers
                .iter()
                .map(|l| LayerJson {
                    weights: l.weights.chunks(l.n_in).map(<[i8]>::to_vec).collect(),
                    bias: l.bias.clone(),
                    shift: l.shift,
                })
                .collect(),
        };
        // Serialising plain integers and vectors cannot fail.
        serde_json::to_string(&json).unwrap_or_default()
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Number of input values.
    pub fn n_inputs(&self) -> usize {
        self.layers.first().map_or(0, Layer::n_in)
    }

    /// Number of output values.
    pub fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, Layer::n_out)
    }

    /// The canonical binary encoding the commitment hashes:
    ///
    /// ```text
    /// "symbiont-mlp-v1\0" (16 bytes) ‖ u8 layer count ‖ per layer:
    ///   u16 LE n_in ‖ u16 LE n_out ‖ u8 shift ‖ n_out·n_in weights as i8, row-major
    ///   (row i = neuron i) ‖ n_out biases as i32 LE
    /// ```
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            17 + self
                .layers
                .iter()
                .map(|l| 5 + l.weights.len() + 4 * l.bias.len())
                .sum::<usize>(),
        );
        out.extend_from_slice(COMMITMENT_DOMAIN);
        // Counts and widths are bounded by validation (≤ 8, ≤ 256).
        out.push(self.layers.len() as u8);
        for l in &self.layers {
            out.extend_from_slice(&(l.n_in as u16).to_le_bytes());
            out.extend_from_slice(&(l.n_out() as u16).to_le_bytes());
            out.push(l.shift);
            out.extend(l.weights.iter().map(|&w| w as u8));
            for b in &l.bias {
                out.extend_from_slice(&b.to_le_bytes());
            }
        }
        out
    }

    /// `sha256(canonical_bytes())`: the model's identity in requests and proofs.
    pub fn commitment(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }

    /// Native integer inference, bit for bit what the circuit proves.
    pub fn infer(&self, input: &[i8]) -> Result<Vec<i8>> {
        Ok(self.activations(input)?.pop().unwrap_or_default())
    }

    /// Every layer's output, last layer last.
    pub(crate) fn activations(&self, input: &[i8]) -> Result<Vec<Vec<i8>>> {
        if input.len() != self.n_inputs() {
            return Err(ZkError::InputLength {
                got: input.len(),
                expected: self.n_inputs(),
            });
        }
        let mut out: Vec<Vec<i8>> = Vec::with_capacity(self.layers.len());
        for (k, layer) in self.layers.iter().enumerate() {
            let x = out.last().map_or(input, Vec::as_slice);
            let y = layer.forward(x, k + 1 < self.layers.len());
            out.push(y);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_floors_clamps_and_relus() {
        assert_eq!(requantize(-1, 1, false), -1); // floor, not truncation
        assert_eq!(requantize(-3, 1, false), -2);
        assert_eq!(requantize(255, 1, false), 127);
        assert_eq!(requantize(256 * 200, 8, false), 127);
        assert_eq!(requantize(-256 * 200, 8, false), -128);
        assert_eq!(requantize(-256 * 200, 8, true), 0);
        assert_eq!(requantize(i32::MIN, 31, false), -1);
        assert_eq!(requantize(i32::MAX, 0, false), 127);
        assert_eq!(requantize(100, 0, true), 100);
    }
}
