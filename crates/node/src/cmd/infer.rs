//! Verifiable inference from the command line: `symbiont infer request|status|result|deliver|
//! bond|serve`. A buyer requests inference on the ledger; providers running `infer serve`
//! compute with the real models (all-MiniLM-L6-v2 embeddings, SmolLM2 greedy chat) or prove
//! with a ZK model, and deliver; validators running `infer serve --reexec-rate` re-execute a
//! sample of accepted re-executed requests.
//!
//! What a provider computes from a request (documented here and in `docs/inference.md`):
//! the inline input as UTF-8 text; embeddings as [`ledger::infer::quantize_embedding`] of the
//! model's normalised vector; chat as the greedy completion of the input as one user message,
//! at most [`CHAT_MAX_TOKENS`] tokens, the output its UTF-8 text; a ZK model's input and
//! output as i8 bytes.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::Duration,
};

use eyre::{WrapErr, bail, eyre};
use inference::{
    chat::{Decoding, GenerateParams, Message, Role},
    models::{MINILM, ModelSpec, SMOLLM2},
};
use ledger::{
    Address, B256, Call, NATIVE_DECIMALS,
    infer::{Callback, InferCall, Mode, OutputKind, RequestTerms},
    keccak256,
};
use serde_json::Value;

use crate::{
    client::Client,
    cmd::{
        keys::SignerArgs,
        market::resolve_asset,
        subnet::{NodeArgs, block_on, send},
    },
    units::parse_units,
};

/// The longest chat completion a provider delivers.
pub const CHAT_MAX_TOKENS: usize = 32;

/// The ledger model id of a served model: its pinned wheel's sha256.
pub fn model_id(spec: &ModelSpec) -> B256 {
    spec.wheel_sha256.parse().unwrap_or_default()
}

/// A model by name (`all-minilm-l6-v2`, `smollm2-135m`) or id (0x…).
fn parse_model(s: &str) -> eyre::Result<B256> {
    if let Ok(spec) = inference::models::spec(s) {
        return Ok(model_id(spec));
    }
    s.parse().map_err(|_| {
        eyre!("{s:?} is neither a model name (all-minilm-l6-v2, smollm2-135m) nor a 32-byte id")
    })
}

fn parse_mode(s: &str) -> eyre::Result<Mode> {
    Ok(match s {
        "redundant" => Mode::Redundant,
        "reexec" => Mode::Reexec,
        "tee" => Mode::Tee,
        "zk" => Mode::Zk,
        _ => bail!("mode {s:?} is not redundant, reexec, tee or zk"),
    })
}

fn hex_bytes(s: &str) -> eyre::Result<Vec<u8>> {
    hex::decode(s.trim().trim_start_matches("0x")).wrap_err("not hex")
}

/// Verifiable inference: request, follow, deliver, bond, serve.
#[derive(Debug, clap::Args)]
pub struct InferCmd {
    #[command(subcommand)]
    cmd: InferSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum InferSub {
    /// Request inference; the payment goes into escrow until k deliveries agree.
    Request(Box<RequestArgs>),
    /// A request's state, deliveries and result (JSON).
    Status {
        /// The request id.
        id: u64,
    },
    /// Wait for a request's accepted result and print it (text, or the first components of
    /// an embedding).
    Result {
        /// The request id.
        id: u64,
        /// Seconds to wait for acceptance.
        #[arg(long, default_value_t = 60)]
        wait: u64,
        /// Print the output as hex.
        #[arg(long)]
        hex: bool,
    },
    /// Deliver a result by hand, as a registered provider.
    Deliver {
        #[command(flatten)]
        signer: SignerArgs,
        /// The request id.
        id: u64,
        /// The output as hex.
        #[arg(long)]
        output_hex: String,
        /// A ZK proof file.
        #[arg(long)]
        proof: Option<PathBuf>,
    },
    /// Post native tokens as a bond for re-executed requests, naming your agent.
    Bond {
        #[command(flatten)]
        signer: SignerArgs,
        /// Native tokens.
        #[arg(long)]
        amount: String,
        /// Your ERC-8004 agent id.
        #[arg(long)]
        agent_id: u64,
    },
    /// Withdraw from your bond once its challenge windows have passed.
    Unbond {
        #[command(flatten)]
        signer: SignerArgs,
        /// Native tokens.
        #[arg(long)]
        amount: String,
    },
    /// Run a provider: deliver results for open requests on the models served; with
    /// `--reexec-rate`, also re-execute a sample of accepted re-executed requests as a
    /// validator.
    Serve(Box<ServeArgs>),
}

#[derive(Debug, clap::Args)]
struct RequestArgs {
    #[command(flatten)]
    signer: SignerArgs,
    /// The model: all-minilm-l6-v2, smollm2-135m, or a ZK model id (0x…).
    #[arg(long)]
    model: String,
    /// The input text (inline).
    #[arg(long, conflicts_with_all = ["input_hex", "input_hash"])]
    input: Option<String>,
    /// The input as hex (a ZK model's i8 values).
    #[arg(long, conflicts_with = "input_hash")]
    input_hex: Option<String>,
    /// The input's keccak256, for an input given by URI.
    #[arg(long, requires = "input_uri")]
    input_hash: Option<B256>,
    /// Where the input is.
    #[arg(long)]
    input_uri: Option<String>,
    /// How outputs are compared: exact or embedding [default: embedding for
    /// all-minilm-l6-v2, exact otherwise].
    #[arg(long)]
    output: Option<String>,
    /// The payment's asset: a name, an address or `native`.
    #[arg(long, default_value = "Devnet USD")]
    asset: String,
    /// The payment, in the asset's units, shared by the agreeing providers.
    #[arg(long)]
    payment: String,
    /// Agreeing deliveries needed.
    #[arg(long, default_value_t = 1)]
    k: u8,
    /// redundant, reexec, tee or zk.
    #[arg(long, default_value = "redundant")]
    mode: String,
    /// Blocks deliveries are taken for.
    #[arg(long, default_value_t = 100)]
    window: u64,
    /// reexec: the subnet whose validators re-execute.
    #[arg(long, default_value_t = 1)]
    netuid: u16,
    /// reexec: the bond a provider must hold, in native tokens.
    #[arg(long, default_value = "1")]
    min_bond: String,
    /// reexec: blocks after acceptance for re-execution.
    #[arg(long, default_value_t = 20)]
    challenge_window: u64,
    /// Callback: pay this account if the output matches `--if-output`.
    #[arg(long, requires_all = ["pay_amount", "if_output_hash"])]
    pay_to: Option<Address>,
    /// Callback: the payout, in `--pay-asset` units.
    #[arg(long)]
    pay_amount: Option<String>,
    /// Callback: the payout's asset.
    #[arg(long, default_value = "Devnet USD")]
    pay_asset: String,
    /// Callback: answer this ERC-8004 validation (its validator must be the inference
    /// validator account).
    #[arg(long, requires = "if_output_hash", conflicts_with = "pay_to")]
    validate: Option<B256>,
    /// Callback: the output hash that releases the payout or scores 100.
    #[arg(long)]
    if_output_hash: Option<B256>,
}

impl InferCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        let node = self.node;
        match self.cmd {
            InferSub::Serve(args) => serve(node, *args),
            cmd => block_on(async move {
                let client = Client::new(&node.node)?;
                match cmd {
                    InferSub::Request(a) => request(&node, &client, *a).await,
                    InferSub::Status { id } => {
                        let v = client.get(&format!("/v1/infer/requests/{id}")).await?;
                        println!("{}", serde_json::to_string_pretty(&v)?);
                        Ok(())
                    }
                    InferSub::Result { id, wait, hex } => result(&client, id, wait, hex).await,
                    InferSub::Deliver {
                        signer,
                        id,
                        output_hex,
                        proof,
                    } => {
                        let proof = match proof {
                            Some(p) => std::fs::read(&p)
                                .wrap_err_with(|| format!("cannot read {}", p.display()))?,
                            None => Vec::new(),
                        };
                        let call = InferCall::DeliverResult {
                            request: id,
                            output: hex_bytes(&output_hex)?.into(),
                            proof: proof.into(),
                        };
                        send(&node, &signer, Call::Infer(call)).await.map(drop)
                    }
                    InferSub::Bond {
                        signer,
                        amount,
                        agent_id,
                    } => {
                        let call = InferCall::PostBond {
                            amount: parse_units(&amount, NATIVE_DECIMALS)?,
                            agent_id,
                        };
                        send(&node, &signer, Call::Infer(call)).await.map(drop)
                    }
                    InferSub::Unbond { signer, amount } => {
                        let call = InferCall::WithdrawBond {
                            amount: parse_units(&amount, NATIVE_DECIMALS)?,
                        };
                        send(&node, &signer, Call::Infer(call)).await.map(drop)
                    }
                    InferSub::Serve(_) => unreachable!("handled above"),
                }
            }),
        }
    }
}

async fn request(node: &NodeArgs, client: &Client, a: RequestArgs) -> eyre::Result<()> {
    let model = parse_model(&a.model)?;
    let output = match a.output.as_deref() {
        Some("exact") => OutputKind::Exact,
        Some("embedding") => OutputKind::Embedding,
        Some(o) => bail!("output {o:?} is not exact or embedding"),
        None if model == model_id(&MINILM) => OutputKind::Embedding,
        None => OutputKind::Exact,
    };
    let input: Vec<u8> = match (&a.input, &a.input_hex) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(h)) => hex_bytes(h)?,
        (None, None) => Vec::new(),
    };
    let (asset, decimals) = resolve_asset(client, &a.asset).await?;
    let callback = match (a.pay_to, a.validate) {
        (Some(to), _) => {
            let (pay_asset, d) = resolve_asset(client, &a.pay_asset).await?;
            Callback::Pay {
                to,
                asset: pay_asset,
                amount: parse_units(a.pay_amount.as_deref().unwrap_or("0"), d)?,
                if_output_hash: a.if_output_hash.unwrap_or_default(),
            }
        }
        (None, Some(request_hash)) => Callback::Validate {
            request_hash,
            if_output_hash: a.if_output_hash.unwrap_or_default(),
        },
        (None, None) => Callback::None,
    };
    let terms = RequestTerms {
        model,
        output,
        input: input.into(),
        input_hash: a.input_hash.unwrap_or_default(),
        input_uri: a.input_uri.unwrap_or_default(),
        asset,
        payment: parse_units(&a.payment, decimals)?,
        k: a.k,
        mode: parse_mode(&a.mode)?,
        window: a.window,
        netuid: a.netuid,
        min_bond: parse_units(&a.min_bond, NATIVE_DECIMALS)?,
        challenge_window: a.challenge_window,
        callback,
    };
    let v = send(
        node,
        &a.signer,
        Call::Infer(InferCall::RequestInference(Box::new(terms))),
    )
    .await?;
    if let Some(id) = request_id(&v["receipt"]) {
        println!("request {id}");
    }
    Ok(())
}

/// The id of the request a `RequestInference` receipt made.
pub(crate) fn request_id(receipt: &Value) -> Option<u64> {
    receipt["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e["inferenceRequested"]["request"].as_u64())
}

/// An address in a JSON answer.
fn address(v: &Value) -> Option<Address> {
    v.as_str().and_then(|a| a.parse().ok())
}

/// An output for a person: UTF-8 text, the first components of an embedding, a ZK model's
/// i8 values (as `zk prove` prints them), or hex.
fn describe(output: &[u8], kind: &str, hex: bool) -> String {
    if hex {
        return format!("0x{}", hex::encode(output));
    }
    if kind == "i8" {
        let v: Vec<String> = output.iter().map(|b| (*b as i8).to_string()).collect();
        return v.join(",");
    }
    if kind == "embedding" {
        let v: Vec<String> = output
            .chunks_exact(2)
            .take(6)
            .map(|c| {
                let q = i16::from_le_bytes([c[0], c[1]]);
                format!(
                    "{:.4}",
                    f64::from(q) / f64::from(ledger::infer::EMBEDDING_SCALE)
                )
            })
            .collect();
        return format!("[{}, …] ({} dims)", v.join(", "), output.len() / 2);
    }
    match std::str::from_utf8(output) {
        Ok(s) => s.to_owned(),
        Err(_) => format!("0x{}", hex::encode(output)),
    }
}

async fn result(client: &Client, id: u64, wait: u64, hex: bool) -> eyre::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let v = client.get(&format!("/v1/infer/requests/{id}")).await?;
        let r = &v["request"];
        match r["state"].as_str() {
            Some("accepted" | "settled") => {
                let res = &r["result"];
                let output = hex_bytes(res["output"].as_str().unwrap_or_default())?;
                let kind = match r["terms"]["mode"].as_str() {
                    // A ZK model's output is i8 values.
                    Some("zk") => "i8",
                    _ => r["terms"]["output"].as_str().unwrap_or("exact"),
                };
                println!("{}", describe(&output, kind, hex));
                eprintln!(
                    "request {id}: {} by {} provider(s), output hash {}{}{}{}",
                    r["state"].as_str().unwrap_or_default(),
                    res["providers"].as_array().map_or(0, Vec::len),
                    res["outputHash"].as_str().unwrap_or_default(),
                    if res["teeAttested"] == true {
                        ", TEE-attested"
                    } else {
                        ""
                    },
                    if res["zkProved"] == true {
                        ", ZK-proved"
                    } else {
                        ""
                    },
                    if r["state"] == "accepted" {
                        format!(", paid at block {}", res["payoutAt"])
                    } else {
                        String::new()
                    },
                );
                return Ok(());
            }
            Some("expired") => bail!("request {id} expired without agreement (refunded)"),
            _ if tokio::time::Instant::now() >= deadline => {
                bail!(
                    "request {id} is still open after {wait} s ({} deliveries)",
                    r["deliveries"].as_array().map_or(0, Vec::len)
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    signer: SignerArgs,
    /// Serve the real models (all-MiniLM-L6-v2, SmolLM2-135M), fetched on first use.
    #[arg(long)]
    models: bool,
    #[command(flatten)]
    models_dir: crate::cmd::models::DirArg,
    /// The Python interpreter that runs pip when models are fetched.
    #[arg(long, env = "SYMBIONT_PYTHON", default_value = "python3")]
    python: String,
    /// A ZK model directory from `symbiont zk setup` (model.json, proving.key,
    /// verifying.key); repeat for several.
    #[arg(long = "zk-model")]
    zk_models: Vec<PathBuf>,
    /// On a dev chain, bind the signer's key to a quote from the dev attestation root at
    /// start-up (and again before it lapses).
    #[arg(long)]
    dev_attest: bool,
    /// Re-execute this share (0..=1) of accepted re-executed requests as a validator.
    #[arg(long)]
    reexec_rate: Option<f64>,
    /// Deliver a corrupted output (every byte XORed with 0x55): a dishonest provider, for
    /// demonstrations and tests.
    #[arg(long, hide = true)]
    corrupt: bool,
    /// Poll interval in milliseconds.
    #[arg(long, default_value_t = 300)]
    poll_ms: u64,
}

/// A loaded ZK model: its circuit and proving key.
pub(crate) struct ZkServed {
    pub(crate) mlp: verify_zk::Mlp,
    pub(crate) proving_key: Vec<u8>,
}

fn load_zk(dir: &std::path::Path) -> eyre::Result<(B256, ZkServed)> {
    let read = |f: &str| {
        std::fs::read(dir.join(f))
            .wrap_err_with(|| format!("cannot read {}", dir.join(f).display()))
    };
    let mlp = verify_zk::Mlp::from_json(&read("model.json")?)?;
    let vk = read("verifying.key")?;
    Ok((
        ledger::infer::zk_model_id(&vk),
        ZkServed {
            mlp,
            proving_key: read("proving.key")?,
        },
    ))
}

fn serve(node: NodeArgs, a: ServeArgs) -> eyre::Result<()> {
    let key = a.signer.unlock()?;
    let me = key.address();
    let engine = if a.models {
        let dir = a.models_dir.resolve()?;
        Some(crate::cmd::models::load_all(&dir, &a.python)?.0)
    } else {
        None
    };
    let mut zk = BTreeMap::new();
    for d in &a.zk_models {
        let (id, m) = load_zk(d)?;
        tracing::info!(model = %id, "serving ZK model from {}", d.display());
        zk.insert(id, m);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let client = Client::new(&node.node)?;
        let mut done: BTreeSet<(u64, bool)> = BTreeSet::new();
        let mut attested_until = 0u64;
        tracing::info!(provider = %me, "serving inference requests from {}", node.node);
        loop {
            if a.dev_attest && crate::app::now_secs() + 60 >= attested_until {
                attested_until = bind_dev_quote(&client, &key).await?;
            }
            deliver_open(
                &client,
                &key,
                node.fee,
                engine.as_ref(),
                &zk,
                a.corrupt,
                &mut done,
            )
            .await?;
            if let Some(rate) = a.reexec_rate {
                reexecute(
                    &client,
                    &key,
                    node.fee,
                    engine.as_ref(),
                    &zk,
                    rate,
                    &mut done,
                )
                .await?;
            }
            tokio::time::sleep(Duration::from_millis(a.poll_ms)).await;
        }
    })
}

/// Binds `key` to a quote from the dev attestation root (a dev chain's); returns the Unix
/// time the attestation lapses at.
pub(crate) async fn bind_dev_quote(client: &Client, key: &wallet::PrivateKey) -> eyre::Result<u64> {
    let now = crate::app::now_secs();
    let (quote, collateral) = verify_tee::dev::DevTee::new(ledger::genesis::DEV_TEE_SEED)
        .quote(verify_tee::key_binding(&key.address().0.0), now);
    let call = InferCall::BindAttestation {
        quote: quote.into(),
        collateral: collateral.into(),
    };
    // A refused quote is an error (the receipt's code and message).
    client
        .execute(key, Call::Infer(call))
        .await
        .wrap_err("binding the attestation")?;
    let ttl = client.get("/v1/infer").await?["attestationTtl"]
        .as_u64()
        .unwrap_or(3600);
    tracing::info!("bound the key to a dev attestation quote");
    Ok(now + ttl)
}

/// One provider pass: computes and delivers every open request this provider can serve and
/// has not delivered yet (`done` remembers the requests seen). `corrupt` scrambles outputs
/// (a dishonest provider).
pub(crate) async fn deliver_open(
    client: &Client,
    key: &wallet::PrivateKey,
    fee: Option<u64>,
    engine: Option<&inference::Engine>,
    zk: &BTreeMap<B256, ZkServed>,
    corrupt: bool,
    done: &mut BTreeSet<(u64, bool)>,
) -> eyre::Result<()> {
    let me = key.address();
    let open = client
        .get("/v1/infer/requests?state=open&limit=1000")
        .await?;
    for r in open["requests"].as_array().into_iter().flatten() {
        let req = &r["request"];
        let id = req["id"].as_u64().unwrap_or_default();
        if done.contains(&(id, false)) {
            continue;
        }
        done.insert((id, false));
        let delivered = r["deliveries"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| address(&d["provider"]) == Some(me));
        if delivered {
            continue;
        }
        let Some((mut output, proof)) = compute(engine, zk, req).await? else {
            continue;
        };
        if corrupt {
            output.iter_mut().for_each(|b| *b ^= 0x55);
        }
        let call = InferCall::DeliverResult {
            request: id,
            output: output.into(),
            proof: proof.into(),
        };
        let signed = client.sign(key, Call::Infer(call), fee).await?;
        match client.submit(&signed).await {
            Ok(hash) => tracing::info!(request = id, tx = %hash, "delivered"),
            Err(e) => tracing::warn!(request = id, "delivery refused: {e:#}"),
        }
    }
    Ok(())
}

/// A validator's pass: re-runs each accepted re-executed request it samples and reports
/// every counted delivery. A request is sampled when `keccak256(block hash ‖ id)`, read as a
/// fraction, is below `rate`, with the hash of the block that accepted it: public, and
/// unknown to the provider when it delivered.
async fn reexecute(
    client: &Client,
    key: &wallet::PrivateKey,
    fee: Option<u64>,
    engine: Option<&inference::Engine>,
    zk: &BTreeMap<B256, ZkServed>,
    rate: f64,
    done: &mut BTreeSet<(u64, bool)>,
) -> eyre::Result<()> {
    let accepted = client
        .get("/v1/infer/requests?state=accepted&limit=1000")
        .await?;
    for r in accepted["requests"].as_array().into_iter().flatten() {
        let req = &r["request"];
        let id = req["id"].as_u64().unwrap_or_default();
        if req["terms"]["mode"] != "reexec" || done.contains(&(id, true)) {
            continue;
        }
        done.insert((id, true));
        let at = req["result"]["acceptedAt"].as_u64().unwrap_or_default();
        let block = client.get(&format!("/v1/blocks/{at}")).await?;
        let hash: B256 = block["hash"]
            .as_str()
            .or_else(|| block["header"]["hash"].as_str())
            .and_then(|h| h.parse().ok())
            .unwrap_or_default();
        if !sampled(&hash, id, rate) {
            continue;
        }
        let Some((mine, _)) = compute(engine, zk, req).await? else {
            continue;
        };
        for d in r["deliveries"].as_array().into_iter().flatten() {
            let Some(provider) = address(&d["provider"]) else {
                continue;
            };
            let counted = req["result"]["providers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| address(p) == Some(provider));
            if !counted || !d["reexecuted"].is_null() {
                continue;
            }
            let call = InferCall::Reexecute {
                request: id,
                provider,
                output: mine.clone().into(),
            };
            let signed = client.sign(key, Call::Infer(call), fee).await?;
            match client.submit(&signed).await {
                Ok(hash) => tracing::info!(request = id, %provider, tx = %hash, "re-executed"),
                Err(e) => tracing::warn!(request = id, "re-execution refused: {e:#}"),
            }
        }
    }
    Ok(())
}

/// Whether request `id` accepted in the block with `hash` is in a sample of share `rate`.
pub fn sampled(hash: &B256, id: u64, rate: f64) -> bool {
    let mut buf = hash.to_vec();
    buf.extend_from_slice(&id.to_be_bytes());
    let h = keccak256(buf);
    let x = u64::from_be_bytes(h[..8].try_into().unwrap_or_default());
    (x as f64) < rate.clamp(0.0, 1.0) * (u64::MAX as f64)
}

/// What this provider delivers for a request (`None`: not a model it serves, or an input it
/// cannot read): the output and, for a ZK model, the proof.
async fn compute(
    engine: Option<&inference::Engine>,
    zk: &BTreeMap<B256, ZkServed>,
    req: &Value,
) -> eyre::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let t = &req["terms"];
    let Some(model) = t["model"].as_str().and_then(|m| m.parse::<B256>().ok()) else {
        return Ok(None);
    };
    let input = hex_bytes(t["input"].as_str().unwrap_or_default()).unwrap_or_default();
    if input.is_empty() {
        // Inputs by URI are not fetched by this runtime.
        return Ok(None);
    }
    if let Some(m) = zk.get(&model) {
        let x: Vec<i8> = input.iter().map(|b| *b as i8).collect();
        let (mlp, pk) = (m.mlp.clone(), m.proving_key.clone());
        let proved = tokio::task::spawn_blocking(move || verify_zk::prove(&mlp, &pk, &x)).await?;
        let Ok((out, proof)) = proved else {
            return Ok(None);
        };
        // Only a ZK request takes the proof; other modes deliver the output alone.
        let proof = if t["mode"] == "zk" { proof } else { Vec::new() };
        return Ok(Some((out.iter().map(|v| *v as u8).collect(), proof)));
    }
    let (Some(engine), Ok(text)) = (engine, String::from_utf8(input)) else {
        return Ok(None);
    };
    if model == model_id(&MINILM) && t["output"] == "embedding" {
        let e = engine.embed(vec![text]).await?;
        let v = e.vectors.first().ok_or_else(|| eyre!("no embedding"))?;
        return Ok(Some((ledger::infer::quantize_embedding(v), Vec::new())));
    }
    if model == model_id(&SMOLLM2) && t["output"] == "exact" {
        let g = engine
            .chat(
                vec![Message::new(Role::User, text)],
                GenerateParams {
                    max_tokens: CHAT_MAX_TOKENS,
                    decoding: Decoding::Greedy,
                    stop: Vec::new(),
                },
            )
            .await?;
        return Ok(Some((g.text.into_bytes(), Vec::new())));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_rate() {
        let hash = B256::repeat_byte(7);
        let n = (0..10_000).filter(|id| sampled(&hash, *id, 0.25)).count();
        assert!((2_300..2_700).contains(&n), "{n}");
        assert!((0..100).all(|id| sampled(&hash, id, 1.0)));
        assert!((0..100).all(|id| !sampled(&hash, id, 0.0)));
    }

    #[test]
    fn model_names_resolve_to_their_pinned_ids() {
        assert_eq!(parse_model("all-minilm-l6-v2").unwrap(), model_id(&MINILM));
        assert_ne!(model_id(&MINILM), B256::ZERO);
        assert!(parse_model("gpt-9").is_err());
    }

    #[test]
    fn outputs_are_described_for_people() {
        assert_eq!(describe(b"4", "exact", false), "4");
        assert_eq!(describe(&[0xff], "exact", false), "0xff");
        assert_eq!(describe(&[0xff, 0x05], "i8", false), "-1,5");
        let e = ledger::infer::quantize_embedding(&[0.5, -0.25]);
        assert_eq!(
            describe(&e, "embedding", false),
            "[0.5000, -0.2500, …] (2 dims)"
        );
    }
}
