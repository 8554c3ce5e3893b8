//! Verification tools from the command line: `symbiont attest verify|bind|dev-quote` (Intel
//! DCAP quotes, offline, with `verify-tee`) and `symbiont zk setup|prove|verify|register`
//! (Groth16 proofs of a quantized MLP, with `verify-zk`). The checks are the ledger's own.

use std::path::{Path, PathBuf};

use alloy_primitives::B256;
use eyre::{WrapErr, bail, eyre};
use ledger::{Address, Call, infer::InferCall};
use serde_json::json;

use crate::cmd::{
    keys::SignerArgs,
    subnet::{NodeArgs, block_on, send},
};

fn read(path: &Path) -> eyre::Result<Vec<u8>> {
    std::fs::read(path).wrap_err_with(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> eyre::Result<()> {
    std::fs::write(path, bytes).wrap_err_with(|| format!("cannot write {}", path.display()))
}

/// A quote file: raw bytes, or hex text (as the packaged samples ship some).
fn read_quote(path: &Path) -> eyre::Result<Vec<u8>> {
    let raw = read(path)?;
    match std::str::from_utf8(&raw) {
        Ok(s) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_hexdigit()) => {
            hex::decode(s.trim()).wrap_err("quote: bad hex")
        }
        _ => Ok(raw),
    }
}

/// TEE attestation: verify Intel DCAP quotes offline, bind your key, make dev quotes.
#[derive(Debug, clap::Args)]
pub struct AttestCmd {
    #[command(subcommand)]
    cmd: AttestSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum AttestSub {
    /// Verify a quote against its collateral, offline (the ledger's check), and print the
    /// TEE, TCB status, advisories, measurement and report data (JSON).
    Verify {
        /// The quote (binary or hex).
        quote: PathBuf,
        /// Its collateral (dcap-qvl JSON).
        #[arg(long)]
        collateral: PathBuf,
        /// The time to verify at, Unix seconds [default: now].
        #[arg(long)]
        now: Option<u64>,
        /// The trusted root: `intel`, `dev` (a dev chain's), or a DER file.
        #[arg(long, default_value = "intel")]
        root: String,
        /// Also check that the report data binds this provider address.
        #[arg(long)]
        address: Option<Address>,
    },
    /// Bind the signer's key on the ledger with a quote whose report data binds its address.
    Bind {
        #[command(flatten)]
        signer: SignerArgs,
        /// The quote (binary or hex).
        #[arg(long)]
        quote: PathBuf,
        /// Its collateral (dcap-qvl JSON).
        #[arg(long)]
        collateral: PathBuf,
    },
    /// Write a quote and collateral from the dev attestation root, bound to an address (dev
    /// chains only: production chains trust Intel's root).
    DevQuote {
        /// The provider address the quote binds.
        #[arg(long)]
        address: Address,
        /// Directory for `quote.bin` and `collateral.json`.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

fn root(s: &str) -> eyre::Result<verify_tee::Root> {
    Ok(match s {
        "intel" => verify_tee::Root::Intel,
        "dev" => verify_tee::Root::Custom(
            verify_tee::dev::DevTee::new(ledger::genesis::DEV_TEE_SEED).root_ca_der(),
        ),
        file => verify_tee::Root::Custom(read(Path::new(file))?),
    })
}

impl AttestCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.cmd {
            AttestSub::Verify {
                quote,
                collateral,
                now,
                root: r,
                address,
            } => {
                let (q, c) = (read_quote(&quote)?, read(&collateral)?);
                let now = now.unwrap_or_else(crate::app::now_secs);
                let root = root(&r)?;
                let a = match address {
                    Some(addr) => verify_tee::verify_binding(&q, &c, now, &root, &addr.0.0),
                    None => verify_tee::verify_quote(&q, &c, now, &root),
                }
                .map_err(|e| eyre!("quote refused: {e}"))?;
                let v = json!({
                    "tee": match a.kind {
                        verify_tee::TeeKind::Sgx => "sgx",
                        verify_tee::TeeKind::Tdx => "tdx",
                    },
                    "tcbStatus": a.tcb_status,
                    "advisoryIds": a.advisory_ids,
                    "measurement": format!("0x{}", hex::encode(&a.measurement)),
                    "reportData": format!("0x{}", hex::encode(a.report_data)),
                    "boundTo": address,
                    "verifiedAt": now,
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
                Ok(())
            }
            AttestSub::Bind {
                signer,
                quote,
                collateral,
            } => {
                let call = InferCall::BindAttestation {
                    quote: read_quote(&quote)?.into(),
                    collateral: read(&collateral)?.into(),
                };
                let node = self.node;
                block_on(async move { send(&node, &signer, Call::Infer(call)).await.map(drop) })
            }
            AttestSub::DevQuote { address, out } => {
                let tee = verify_tee::dev::DevTee::new(ledger::genesis::DEV_TEE_SEED);
                let (q, c) = tee.quote(
                    verify_tee::key_binding(&address.0.0),
                    crate::app::now_secs(),
                );
                std::fs::create_dir_all(&out)?;
                write(&out.join("quote.bin"), &q)?;
                write(&out.join("collateral.json"), &c)?;
                println!(
                    "wrote {} and {} (dev root; bound to {address})",
                    out.join("quote.bin").display(),
                    out.join("collateral.json").display()
                );
                Ok(())
            }
        }
    }
}

/// Zero-knowledge proofs of a quantized MLP: set up keys, prove, verify, register.
#[derive(Debug, clap::Args)]
pub struct ZkCmd {
    #[command(subcommand)]
    cmd: ZkSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ZkSub {
    /// Generate a model's Groth16 keys (whoever runs this could forge proofs: keep no
    /// trapdoor, or use keys from a ceremony) into a model directory.
    Setup {
        /// The model (JSON: layers of int8 weights, i32 biases, shifts).
        #[arg(long)]
        model: PathBuf,
        /// The output directory (model.json, proving.key, verifying.key).
        #[arg(long)]
        out: PathBuf,
        /// A 32-byte hex seed for a reproducible setup (tests only).
        #[arg(long)]
        seed: Option<B256>,
    },
    /// Run the model on an input and prove it; prints the output, writes the proof.
    Prove {
        /// A model directory from `zk setup`.
        #[arg(long)]
        dir: PathBuf,
        /// The input: comma-separated i8 values.
        #[arg(long, allow_hyphen_values = true)]
        input: String,
        /// Where to write the proof.
        #[arg(long)]
        proof: PathBuf,
    },
    /// Verify a proof that the committed model maps the input to the output.
    Verify {
        /// A model directory from `zk setup` (its verifying key and commitment).
        #[arg(long)]
        dir: PathBuf,
        /// The input: comma-separated i8 values.
        #[arg(long, allow_hyphen_values = true)]
        input: String,
        /// The output: comma-separated i8 values.
        #[arg(long, allow_hyphen_values = true)]
        output: String,
        /// The proof file.
        #[arg(long)]
        proof: PathBuf,
    },
    /// Register a model's verifying key and commitment on the ledger.
    Register {
        #[command(flatten)]
        signer: SignerArgs,
        /// A model directory from `zk setup`.
        #[arg(long)]
        dir: PathBuf,
    },
}

fn parse_i8s(s: &str) -> eyre::Result<Vec<i8>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<i8>()
                .map_err(|_| eyre!("{x:?} is not an i8 (-128..=127)"))
        })
        .collect()
}

fn load_model(dir: &Path) -> eyre::Result<verify_zk::Mlp> {
    verify_zk::Mlp::from_json(&read(&dir.join("model.json"))?)
        .map_err(|e| eyre!("{}: {e}", dir.join("model.json").display()))
}

fn i8s(v: &[i8]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl ZkCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.cmd {
            ZkSub::Setup { model, out, seed } => {
                let bytes = read(&model)?;
                let mlp = verify_zk::Mlp::from_json(&bytes)
                    .map_err(|e| eyre!("{}: {e}", model.display()))?;
                let started = std::time::Instant::now();
                let keys = verify_zk::setup(&mlp, seed.map(|s| s.0))?;
                std::fs::create_dir_all(&out)?;
                write(&out.join("model.json"), &bytes)?;
                write(&out.join("proving.key"), &keys.proving_key)?;
                write(&out.join("verifying.key"), &keys.verifying_key)?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "model": ledger::infer::zk_model_id(&keys.verifying_key),
                        "commitment": B256::from(mlp.commitment()),
                        "provingKeyBytes": keys.proving_key.len(),
                        "verifyingKeyBytes": keys.verifying_key.len(),
                        "seconds": started.elapsed().as_secs_f64(),
                    }))?
                );
                Ok(())
            }
            ZkSub::Prove { dir, input, proof } => {
                let mlp = load_model(&dir)?;
                let pk = read(&dir.join("proving.key"))?;
                let started = std::time::Instant::now();
                let (output, p) = verify_zk::prove(&mlp, &pk, &parse_i8s(&input)?)?;
                write(&proof, &p)?;
                println!("{}", i8s(&output));
                eprintln!(
                    "proved in {:.2} s; {} bytes written to {}",
                    started.elapsed().as_secs_f64(),
                    p.len(),
                    proof.display()
                );
                Ok(())
            }
            ZkSub::Verify {
                dir,
                input,
                output,
                proof,
            } => {
                let mlp = load_model(&dir)?;
                let vk = read(&dir.join("verifying.key"))?;
                match verify_zk::verify(
                    &vk,
                    &mlp.commitment(),
                    &parse_i8s(&input)?,
                    &parse_i8s(&output)?,
                    &read(&proof)?,
                ) {
                    Ok(()) => {
                        println!("valid");
                        Ok(())
                    }
                    Err(e) => bail!("invalid: {e}"),
                }
            }
            ZkSub::Register { signer, dir } => {
                let mlp = load_model(&dir)?;
                let vk = read(&dir.join("verifying.key"))?;
                println!("model id {}", ledger::infer::zk_model_id(&vk));
                let call = InferCall::RegisterZkModel {
                    commitment: B256::from(mlp.commitment()),
                    verifying_key: vk.into(),
                };
                let node = self.node;
                block_on(async move { send(&node, &signer, Call::Infer(call)).await.map(drop) })
            }
        }
    }
}
