//! The committed reference model `fixtures/mlp-16-32-32-4.json` and its generator.
//!
//! Regenerate (only if the generator changes on purpose):
//! `cargo test -p verify-zk --test it -- --ignored write_fixture`

use verify_zk::{Layer, Mlp};

pub const FIXTURE: &[u8] = include_bytes!("../../fixtures/mlp-16-32-32-4.json");
const FIXTURE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/mlp-16-32-32-4.json");
const WIDTHS: [usize; 4] = [16, 32, 32, 4];
const SEED: u64 = 0x5EED_2026_0005;

/// SplitMix64: a tiny, fully specified generator, so the fixture does not depend on `rand`'s
/// version.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn i8(&mut self) -> i8 {
        self.next_u64() as u8 as i8
    }

    pub fn input(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.i8()).collect()
    }
}

pub fn fixture() -> Mlp {
    Mlp::from_json(FIXTURE).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// The generator: uniform int8 weights, biases uniform in [-1024, 1024), and per layer the
/// smallest shift for which at most 10 % of the pre-clamp values saturate on 256 seeded
/// random inputs (propagated through the layers already chosen).
pub fn generate() -> eyre::Result<Mlp> {
    let mut rng = SplitMix(SEED);
    let samples: Vec<Vec<i8>> = (0..256).map(|_| rng.input(WIDTHS[0])).collect();
    let mut layers: Vec<Layer> = Vec::new();
    for (k, pair) in WIDTHS.windows(2).enumerate() {
        let (n_in, n_out) = (pair[0], pair[1]);
        let weights: Vec<Vec<i8>> = (0..n_out).map(|_| rng.input(n_in)).collect();
        let bias: Vec<i32> = (0..n_out)
            .map(|_| (rng.next_u64() % 2048) as i32 - 1024)
            .collect();
        let last = k + 2 == WIDTHS.len();
        let mut chosen = None;
        for shift in 0..=31u8 {
            let layer = Layer::new(weights.clone(), bias.clone(), shift)?;
            let mut trial = layers.clone();
            trial.push(layer.clone());
            let mut saturated = 0;
            let mut total = 0;
            for x in &samples {
                // Inputs of this layer: the prefix model's output, ReLU'd when hidden.
                let prefix = Mlp::new(layers.clone());
                let xin = match prefix {
                    Ok(p) => p.infer(x)?.iter().map(|&v| v.max(0)).collect(),
                    Err(_) => x.clone(),
                };
                for i in 0..n_out {
                    let acc: i64 = i64::from(bias[i])
                        + weights[i]
                            .iter()
                            .zip(&xin)
                            .map(|(&w, &x): (&i8, &i8)| i64::from(w) * i64::from(x))
                            .sum::<i64>();
                    let q = acc >> shift;
                    total += 1;
                    if q > 127 || (q < -128 && last) {
                        saturated += 1;
                    }
                }
            }
            if saturated * 10 <= total {
                chosen = Some(layer);
                break;
            }
        }
        layers.push(chosen.ok_or_else(|| eyre::eyre!("no shift fits layer {k}"))?);
    }
    Ok(Mlp::new(layers)?)
}

#[test]
#[ignore = "writes the fixture file"]
fn write_fixture() -> eyre::Result<()> {
    let json = generate()?.to_json();
    std::fs::write(FIXTURE_PATH, format!("{json}\n"))?;
    Ok(())
}

#[test]
fn fixture_is_what_the_generator_makes() -> eyre::Result<()> {
    assert_eq!(fixture(), generate()?);
    assert_eq!(FIXTURE, format!("{}\n", generate()?.to_json()).as_bytes());
    Ok(())
}

#[test]
fn fixture_shape_and_commitment() {
    let mlp = fixture();
    let widths: Vec<_> = mlp.layers().iter().map(Layer::n_out).collect();
    assert_eq!((mlp.n_inputs(), widths), (16, vec![32, 32, 4]));
    // Golden: changes only if the fixture or the canonical encoding changes.
    assert_eq!(hex(&mlp.commitment()), GOLDEN_COMMITMENT);
}

const GOLDEN_COMMITMENT: &str = "cf5f817a33e559119fc66528bebd5eb68acb70aaf4168c550d18c23ee6d8738e";

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// On random inputs the fixture's outputs are spread out: not all saturated, not all zero,
/// every output neuron takes several values and hidden layers are not dead.
#[test]
fn fixture_outputs_are_not_degenerate() -> eyre::Result<()> {
    let mlp = fixture();
    let mut rng = SplitMix(1);
    let mut outputs = Vec::new();
    for _ in 0..200 {
        outputs.push(mlp.infer(&rng.input(16))?);
    }
    let all: Vec<i8> = outputs.iter().flatten().copied().collect();
    let saturated = all.iter().filter(|&&v| v == 127 || v == -128).count();
    let zero = all.iter().filter(|&&v| v == 0).count();
    assert!(
        saturated * 4 < all.len(),
        "{saturated} of {} saturated",
        all.len()
    );
    assert!(zero * 4 < all.len(), "{zero} of {} zero", all.len());
    for i in 0..4 {
        let mut distinct: Vec<i8> = outputs.iter().map(|o| o[i]).collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 10, "output {i} takes only {distinct:?}");
    }
    Ok(())
}
