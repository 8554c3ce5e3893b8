//! Verifiable inference in `symbiont devnet` (ADR 0005): the honest slow miner (dev 3) is also
//! a verified-inference provider — it registers with the market, binds its key to a quote
//! from the dev attestation root, and proves the reference ZK model — and the agent (dev 7)
//! asks it, over and over, for a ZK-proved MLP answer and a TEE-attested embedding, paid in
//! native tokens from escrow. Each epoch prints one line with what was accepted and paid.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ledger::{
    B256, Call, NATIVE,
    compute::ComputeCall,
    infer::{Callback, InferCall, Mode, OutputKind, RequestTerms},
};
use serde_json::{Value, json};

use crate::{
    cmd::infer::{ZkServed, bind_dev_quote, deliver_open, model_id, request_id},
    dev::dev_key,
};

/// The provider: the honest slow miner.
pub(crate) const PROVIDER_KEY: u32 = 3;
/// The requester: the agent.
pub(crate) const REQUESTER_KEY: u32 = 7;
/// Paid per request, native base units (0.001 SYM).
const PAYMENT: u128 = 1_000_000;
/// The reference model of `verify-zk`.
const MODEL_JSON: &[u8] = include_bytes!("../../../verify/zk/fixtures/mlp-16-32-32-4.json");

/// What the agent's verified requests came to.
#[derive(Debug, Clone, Default)]
pub(crate) struct InferStats {
    /// Requests accepted and paid, ZK-proved.
    pub(crate) zk_settled: u64,
    /// Requests accepted and paid, TEE-attested.
    pub(crate) tee_settled: u64,
    /// Requests that expired without a result.
    pub(crate) expired: u64,
    /// Request to payment, the last ZK and TEE request.
    pub(crate) last_zk: Option<Duration>,
    pub(crate) last_tee: Option<Duration>,
    /// The last failure.
    pub(crate) last_error: Option<String>,
}

impl InferStats {
    pub(crate) fn json(&self) -> Value {
        json!({
            "zkSettled": self.zk_settled,
            "teeSettled": self.tee_settled,
            "expired": self.expired,
            "lastError": self.last_error,
        })
    }
}

/// Sets up the provider (registration, attestation, the ZK model's keys, registered by the
/// agent) and starts the provider's and the agent's loops on `tasks`.
pub(crate) async fn start(
    url: &str,
    engine: inference::Engine,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> eyre::Result<(B256, Arc<Mutex<InferStats>>)> {
    let client = ledger_client::Client::new(url)?;
    let provider = dev_key(PROVIDER_KEY)?;
    let agent = dev_key(REQUESTER_KEY)?;
    let registered = client
        .get(&format!("/v1/infer/providers/{}", provider.address()))
        .await?["registered"]
        == true;
    if !registered {
        let call = ComputeCall::RegisterProvider {
            uri: "http://127.0.0.1:0/verified".into(),
            attributes: BTreeMap::from([("tee/sgx".to_owned(), "dev".to_owned())]),
        };
        client.execute(&provider, Call::Compute(call)).await?;
    }
    let mut attested_until = bind_dev_quote(&client, &provider).await?;
    let mlp = verify_zk::Mlp::from_json(MODEL_JSON)?;
    let keys = {
        let mlp = mlp.clone();
        tokio::task::spawn_blocking(move || verify_zk::setup(&mlp, None)).await??
    };
    let model = ledger::infer::zk_model_id(&keys.verifying_key);
    client
        .execute(
            &agent,
            Call::Infer(InferCall::RegisterZkModel {
                commitment: B256::from(mlp.commitment()),
                verifying_key: keys.verifying_key.clone().into(),
            }),
        )
        .await?;
    let zk = BTreeMap::from([(
        model,
        ZkServed {
            mlp,
            proving_key: keys.proving_key,
        },
    )]);

    let served = engine.clone();
    let provider_client = client.clone();
    tasks.push(tokio::spawn(async move {
        let mut done = BTreeSet::new();
        loop {
            if crate::app::now_secs() + 60 >= attested_until {
                match bind_dev_quote(&provider_client, &provider).await {
                    Ok(t) => attested_until = t,
                    Err(e) => tracing::warn!("verified-inference provider: {e:#}"),
                }
            }
            if let Err(e) = deliver_open(
                &provider_client,
                &provider,
                None,
                Some(&served),
                &zk,
                false,
                &mut done,
            )
            .await
            {
                tracing::warn!("verified-inference provider: {e:#}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }));

    let stats = Arc::new(Mutex::new(InferStats::default()));
    let s = Arc::clone(&stats);
    tasks.push(tokio::spawn(async move {
        for n in 0u64.. {
            let zk = request(&client, &agent, zk_terms(model, n)).await;
            record(&s, Mode::Zk, zk);
            let tee = request(&client, &agent, tee_terms(n)).await;
            record(&s, Mode::Tee, tee);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }));
    Ok((model, stats))
}

fn base_terms(model: B256, output: OutputKind, input: Vec<u8>, mode: Mode) -> RequestTerms {
    RequestTerms {
        model,
        output,
        input: input.into(),
        input_hash: B256::ZERO,
        input_uri: String::new(),
        asset: NATIVE,
        payment: PAYMENT,
        k: 1,
        mode,
        window: 100,
        netuid: 0,
        min_bond: 0,
        challenge_window: 0,
        callback: Callback::None,
    }
}

/// The `n`th ZK request: 16 i8 inputs that change with `n`.
fn zk_terms(model: B256, n: u64) -> RequestTerms {
    let input: Vec<u8> = (0..16u64)
        .map(|i| ((i * 17 + n * 29) % 256) as u8)
        .collect();
    base_terms(model, OutputKind::Exact, input, Mode::Zk)
}

/// The `n`th TEE request: an embedding of a sentence.
fn tee_terms(n: u64) -> RequestTerms {
    let text = format!("request {n}: a verified embedding from an attested provider");
    base_terms(
        model_id(&inference::models::MINILM),
        OutputKind::Embedding,
        text.into_bytes(),
        Mode::Tee,
    )
}

/// Submits a request and waits for it to be paid; the time from submission to payment.
async fn request(
    client: &ledger_client::Client,
    agent: &wallet::PrivateKey,
    terms: RequestTerms,
) -> eyre::Result<Option<Duration>> {
    let started = Instant::now();
    let receipt = client
        .execute(
            agent,
            Call::Infer(InferCall::RequestInference(Box::new(terms))),
        )
        .await?;
    let id = request_id(&receipt).ok_or_else(|| eyre::eyre!("no request id in the receipt"))?;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = client.get(&format!("/v1/infer/requests/{id}")).await?;
        match r["request"]["state"].as_str() {
            Some("settled") => return Ok(Some(started.elapsed())),
            Some("expired") => return Ok(None),
            _ => {}
        }
    }
}

fn record(stats: &Mutex<InferStats>, mode: Mode, outcome: eyre::Result<Option<Duration>>) {
    let Ok(mut s) = stats.lock() else { return };
    match (mode, outcome) {
        (Mode::Zk, Ok(Some(t))) => {
            s.zk_settled += 1;
            s.last_zk = Some(t);
        }
        (_, Ok(Some(t))) => {
            s.tee_settled += 1;
            s.last_tee = Some(t);
        }
        (_, Ok(None)) => s.expired += 1,
        (_, Err(e)) => s.last_error = Some(format!("{e:#}")),
    }
}

/// The epoch's line.
pub(crate) fn print_line(s: &InferStats) {
    let secs = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1} s", d.as_secs_f64()));
    println!(
        "verified inference (dev {PROVIDER_KEY} for dev {REQUESTER_KEY}, 0.001 SYM each): {} ZK-proved (last {}), {} TEE-attested embeddings (last {}), {} expired{}",
        s.zk_settled,
        secs(s.last_zk),
        s.tee_settled,
        secs(s.last_tee),
        s.expired,
        s.last_error
            .as_ref()
            .map_or(String::new(), |e| format!("; last error {e}"))
    );
}
