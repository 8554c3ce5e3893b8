//! `symbiont devnet`: the whole network on one machine, with real models.
//!
//! One process runs: a dev node (ledger, REST, x402 facilitator); subnet 1, created by dev key
//! 0 with a short tempo and commit-reveal; four miners serving all-MiniLM-L6-v2 and
//! SmolLM2-135M through the inference engine — one honest, one slow, one returning wrong
//! vectors, one replaying its first answer; two validators (the owner, dev 0, and dev 1) that
//! challenge every miner with fresh sentences each epoch, check the answers against their own
//! model, score them and commit-reveal weights; the paid gateway (x402, Devnet USD) in front of
//! the miners; and an agent (dev 7) paying it for embeddings and chat completions. After every
//! epoch it prints the metagraph with what the validators saw and what each neuron earned.
//! The honest miner is also a compute provider: a tenant (dev 6) leases capacity from it
//! through the ledger's market and is served within it ([`super::devnet_lease`]). The slow
//! miner is also a verified-inference provider: the agent's ZK-proved and TEE-attested
//! requests are accepted and paid on the ledger ([`super::devnet_infer`]).
//!
//! The miners and validators share one loaded copy of each model (one engine, batched); a real
//! deployment runs one per machine. The chain is fresh at every start.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eyre::{WrapErr, bail};
use inference::models;
use ledger::{Address, Call};
use serde_json::{Value, json};
use subnet::miner::{self, Behaviour};
use subnet::scoring::Observation;
use subnet::validator::{EpochReport, Validator};
use tokio::sync::mpsc;

use crate::cmd::{
    devnet_infer,
    devnet_lease::{self, LEASE_RPS, LeaseStats, TENANT_KEY},
};
use crate::config::{NodeArgs, NodeConfig};
use crate::dev::dev_key;

/// The subnet the devnet creates (the first on a fresh chain).
pub(crate) const NETUID: u16 = 1;
/// The embedding model the validators check.
pub(crate) const EMBED_MODEL: &str = "all-minilm-l6-v2";
/// What the agent pays per request: 0.01 Devnet USD (6 decimals).
pub(crate) const PRICE_UNITS: u64 = 10_000;
/// Unsettled payments per payer the gateway answers before their settlement lands.
pub(crate) const DEFERRED_PER_PAYER: usize = 4;
/// The dev key of the paying agent.
const AGENT_KEY: u32 = 7;

/// Run a whole network on this machine: a node, an inference subnet with real models, honest
/// and cheating miners, validators, a paid gateway and an agent paying it.
#[derive(Debug, clap::Args)]
pub struct DevnetCmd {
    /// Keep the devnet's chain here, and continue it at the next start [default: a temporary
    /// directory, removed at exit].
    #[arg(long, env = "SYMBIONT_DEVNET_DIR")]
    data_dir: Option<PathBuf>,
    /// The node's REST API (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8420")]
    listen: SocketAddr,
    /// The paid OpenAI-compatible gateway (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8430")]
    gateway: SocketAddr,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 250)]
    block_time_ms: u64,
    /// Blocks per epoch (the subnet's tempo).
    #[arg(long, default_value_t = 10)]
    tempo: u64,
    /// Stop after this many epochs (default: run until Ctrl-C).
    #[arg(long)]
    epochs: Option<u64>,
    /// Seconds between the agent's paid requests.
    #[arg(long, default_value_t = 1.0)]
    agent_interval: f64,
    /// Answer the agent only once its payment is in a block (by default the gateway answers
    /// as soon as the payment is verified and settles it in the background).
    #[arg(long)]
    confirmed_settlement: bool,
    /// Print the final metagraph as JSON on stdout when stopping (for scripts).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    models_dir: crate::cmd::models::DirArg,
    /// The Python interpreter that runs pip to fetch models.
    #[arg(long, env = "SYMBIONT_PYTHON", default_value = "python3")]
    python: String,
}

/// The miners: dev keys 2..=5, and how each serves.
fn miners() -> [(u32, Behaviour); 4] {
    [
        (2, Behaviour::Honest),
        (3, Behaviour::Slow(Duration::from_millis(300))),
        (4, Behaviour::WrongVectors),
        (5, Behaviour::Replay),
    ]
}

impl DevnetCmd {
    /// Fetches the models, loads them, starts everything and prints a table per epoch until
    /// Ctrl-C (or `--epochs`).
    pub fn run(self) -> eyre::Result<()> {
        if self.tempo < 2 || self.block_time_ms == 0 {
            bail!("--tempo must be at least 2 and --block-time-ms positive");
        }
        let models_dir = self.models_dir.resolve()?;
        let (engine, took) = crate::cmd::models::load_all(&models_dir, &self.python)?;
        let names: Vec<&str> = models::SPECS.iter().map(|s| s.name).collect();
        eprintln!(
            "loaded {} in {:.1} s",
            names.join(" and "),
            took.as_secs_f64()
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let out = rt.block_on(self.run_network(engine.clone()));
        rt.shutdown_timeout(Duration::from_secs(5));
        engine.shutdown();
        out
    }

    async fn run_network(&self, engine: inference::Engine) -> eyre::Result<()> {
        // `--data-dir` keeps the chain across runs; otherwise a temporary directory, removed
        // at exit.
        let temp = match &self.data_dir {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("symbiont-devnet-")
                    .tempdir()?,
            ),
        };
        let chain_dir = match (&self.data_dir, &temp) {
            (Some(d), _) => d.join("node"),
            (None, Some(t)) => t.path().join("node"),
            (None, None) => bail!("no data directory"),
        };
        let config = NodeConfig::resolve(&NodeArgs {
            data_dir: Some(chain_dir.clone()),
            listen: Some(self.listen),
            block_time_ms: Some(self.block_time_ms),
            dev: true,
            ..NodeArgs::default()
        })?;
        let node = crate::server::start(&config).await?;
        let url = format!("http://{}", node.addr);
        eprintln!("node: {url} (chain in {})", chain_dir.display());
        eprintln!("dashboard: {url}/");
        let result = tokio::select! {
            r = self.network(&url, Arc::clone(&node.facilitator), engine) => r,
            _ = crate::server::shutdown_signal() => {
                eprintln!("\nstopping");
                Ok(())
            }
        };
        node.shutdown().await?;
        result
    }

    async fn network(
        &self,
        url: &str,
        facilitator: Arc<x402_facilitator::Service>,
        engine: inference::Engine,
    ) -> eyre::Result<()> {
        let client = ledger_client::Client::new(url)?;
        // Every task spawned below stops when this returns (or Ctrl-C drops it).
        let mut tasks = Tasks::default();
        let owner = dev_key(0)?;
        create_subnet(&client, &owner, self.tempo).await?;
        // Dev 1 validates with a stake of its own.
        let validator = dev_key(1)?;
        if !is_neuron(&client, validator.address()).await? {
            join_as_validator(&client, &validator).await?;
        }

        let (chain_id, _) = client.chain().await?;
        let mut provider = None;
        let mut roles: BTreeMap<Address, &'static str> = BTreeMap::new();
        roles.insert(owner.address(), "owner+validator");
        roles.insert(validator.address(), "validator");
        for (key, behaviour) in miners() {
            let key = dev_key(key)?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let endpoint = format!("http://{}", listener.local_addr()?);
            let mut app = miner::app(inference::http::router(engine.clone()), behaviour);
            if behaviour == Behaviour::Honest {
                // The honest miner also serves leases, to their tenants only.
                let leased = subnet::lease::gate(
                    inference::http::router(engine.clone()),
                    key.address(),
                    chain_id,
                    subnet::lease::NodeLeases::new(url)?,
                );
                app = app.nest("/lease", leased);
                provider = Some((key.clone(), endpoint.clone()));
            }
            tasks.0.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            let uid = miner::join(&client, &key, NETUID, &endpoint).await?;
            eprintln!("miner uid {uid} ({}) serves {endpoint}", behaviour.name());
            roles.insert(key.address(), behaviour.name());
        }

        // The validators: each ticks on its own task; their reports come back here.
        let (reports_tx, mut reports) = mpsc::channel::<(usize, EpochReport)>(16);
        for (i, key) in [owner.clone(), validator.clone()].into_iter().enumerate() {
            let mut v = Validator::new(key, NETUID, url, engine.clone(), EMBED_MODEL)?;
            let tx = reports_tx.clone();
            tasks.0.push(tokio::spawn(async move {
                loop {
                    match v.tick().await {
                        Ok(Some(r)) => {
                            if tx.send((i, r)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("validator {i}: {e:#}"),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }

        // Answers do not wait for the block: a payer may have four payments unsettled at once.
        let deferred = (!self.confirmed_settlement)
            .then(|| x402_server::DeferredSettlement::new(DEFERRED_PER_PAYER));
        let gateway = start_gateway(url, facilitator, self.gateway, deferred, &mut tasks).await?;
        eprintln!(
            "gateway: {} (x402, 0.01 Devnet USD per request) — try: curl -i -X POST {}/v1/embeddings -d '{{\"input\":\"hi\"}}'",
            gateway.url, gateway.url
        );
        let agent = Arc::new(Mutex::new(AgentStats::default()));
        tasks.0.push(tokio::spawn(run_agent(
            gateway.url.clone(),
            Duration::from_secs_f64(self.agent_interval.max(0.05)),
            Arc::clone(&agent),
        )));

        let lease_stats = Arc::new(Mutex::new(LeaseStats::default()));
        if let Some((key, endpoint)) = &provider {
            let lease = devnet_lease::lease_capacity(&client, key, endpoint).await?;
            eprintln!(
                "lease {lease}: dev {TENANT_KEY} leases {LEASE_RPS} req/s from the honest miner at {endpoint}/lease"
            );
            tasks.0.push(tokio::spawn(devnet_lease::run_tenant(
                endpoint.clone(),
                lease,
                chain_id,
                Arc::clone(&lease_stats),
            )));
        }

        let (zk_model, infer_stats) =
            devnet_infer::start(url, engine.clone(), &mut tasks.0).await?;
        eprintln!(
            "verified inference: dev {} proves ZK model {zk_model} and serves TEE-attested embeddings (dev attestation root) to dev {}",
            devnet_infer::PROVIDER_KEY,
            devnet_infer::REQUESTER_KEY
        );

        let usd = crate::dev::usd_asset()?;
        let accounts: Vec<Address> = roles.keys().copied().collect();
        let mut start_usd = BTreeMap::new();
        for a in &accounts {
            start_usd.insert(*a, usd_balance(&client, *a, usd).await?);
        }
        let mut seen: BTreeMap<u16, Observation> = BTreeMap::new();
        let mut last_epoch = client.get(&format!("/v1/subnets/{NETUID}")).await?["lastEpoch"]
            .as_u64()
            .unwrap_or(0);
        let mut epochs = 0u64;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok((i, r)) = reports.try_recv() {
                // The table shows what dev 1 (the validator without owner's stake) saw;
                // the owner's view is the same challenges, other sentences.
                if i == 1 {
                    for o in r.observations {
                        seen.insert(o.uid, o);
                    }
                }
            }
            let sn = client.get(&format!("/v1/subnets/{NETUID}")).await?;
            let epoch_block = sn["lastEpoch"].as_u64().unwrap_or(0);
            if epoch_block == last_epoch {
                continue;
            }
            last_epoch = epoch_block;
            epochs += 1;
            let mg = client
                .get(&format!("/v1/subnets/{NETUID}/metagraph"))
                .await?;
            let mut earned = BTreeMap::new();
            for a in &accounts {
                let now = usd_balance(&client, *a, usd).await?;
                earned.insert(*a, now.saturating_sub(start_usd[a]));
            }
            let agent = agent.lock().map(|a| a.clone()).unwrap_or_default();
            let served = gateway.gateway.served();
            let rows = table_rows(&mg, &roles, &seen, &earned, &served.by_uid);
            print_table(epochs, epoch_block, &rows, &agent);
            let lease = lease_stats.lock().map(|s| s.clone()).unwrap_or_default();
            if let (Some(id), Some((key, _))) = (lease.lease, &provider) {
                devnet_lease::withdraw(&client, key, id).await;
            }
            devnet_lease::print_line(&client, &lease).await;
            let verified = infer_stats.lock().map(|s| s.clone()).unwrap_or_default();
            devnet_infer::print_line(&verified);
            if self.epochs.is_some_and(|n| epochs >= n) {
                if self.json {
                    let doc = json!({
                        "epochs": epochs,
                        "block": epoch_block,
                        "neurons": rows.iter().map(Row::json).collect::<Vec<_>>(),
                        "agent": agent.json(),
                        "lease": lease.json(),
                        "verifiedInference": verified.json(),
                    });
                    println!("{}", serde_json::to_string_pretty(&doc)?);
                }
                return Ok(());
            }
        }
    }
}

/// Whether `who` is a neuron of the subnet.
async fn is_neuron(client: &ledger_client::Client, who: Address) -> eyre::Result<bool> {
    let mg = client
        .get(&format!("/v1/subnets/{NETUID}/metagraph"))
        .await?;
    Ok(miner::uid_of(&mg, who).is_some())
}

/// Registers `key` and stakes 50 native tokens behind it.
async fn join_as_validator(
    client: &ledger_client::Client,
    validator: &wallet::PrivateKey,
) -> eyre::Result<()> {
    client
        .execute(
            validator,
            Call::RegisterNeuron {
                netuid: NETUID,
                max_burn: u128::MAX,
            },
        )
        .await?;
    client
        .execute(
            validator,
            Call::AddStake {
                netuid: NETUID,
                hotkey: validator.address(),
                amount: 50 * 1_000_000_000,
                limit_price: 0,
            },
        )
        .await?;
    Ok(())
}

/// Dev 0 creates the subnet and makes it fast: weights any block, `tempo` blocks per epoch,
/// commit-reveal on.
pub(crate) async fn create_subnet(
    client: &ledger_client::Client,
    owner: &wallet::PrivateKey,
    tempo: u64,
) -> eyre::Result<()> {
    let path = format!("/v1/subnets/{NETUID}");
    if client.get(&path).await.is_ok() {
        eprintln!("subnet {NETUID}: continuing the chain in --data-dir");
        return Ok(());
    }
    client
        .execute(
            owner,
            Call::CreateSubnet {
                max_lock_cost: u128::MAX,
            },
        )
        .await?;
    let sn = client.get(&path).await?;
    if sn["owner"].as_str().and_then(|o| o.parse::<Address>().ok()) != Some(owner.address()) {
        bail!("subnet {NETUID} is not dev 0's: {sn}");
    }
    // Tempo last: hyperparameters cannot change in the blocks just before an epoch, and
    // with a short tempo that is most of them.
    for (name, value) in [
        ("commitReveal", 1),
        ("weightsRateLimit", 0),
        ("tempo", tempo),
    ] {
        client
            .execute(
                owner,
                Call::SetHyperparameter {
                    netuid: NETUID,
                    name: name.into(),
                    value,
                },
            )
            .await
            .wrap_err_with(|| format!("cannot set {name}"))?;
    }
    eprintln!("subnet {NETUID}: tempo {tempo}, commit-reveal on");
    Ok(())
}

pub(crate) async fn usd_balance(
    client: &ledger_client::Client,
    who: Address,
    usd: Address,
) -> eyre::Result<u128> {
    let acct = client.get(&format!("/v1/accounts/{who}")).await?;
    let balances = acct["balances"].as_object().cloned().unwrap_or_default();
    Ok(balances
        .iter()
        .find(|(k, _)| k.parse::<Address>().ok() == Some(usd))
        .and_then(|(_, v)| v.as_str()?.parse().ok())
        .unwrap_or(0))
}

pub(crate) struct RunningGateway {
    pub(crate) url: String,
    pub(crate) gateway: Arc<subnet::gateway::Gateway>,
}

/// Tasks aborted together when dropped.
#[derive(Default)]
pub(crate) struct Tasks(pub(crate) Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The paid gateway for subnet 1 on `listen`. It runs in the node's process, so it verifies
/// and settles through the node's facilitator directly (the same service the node serves on
/// `/x402`, without an HTTP round trip on each request's path). With `deferred`, answers do
/// not wait for their settlement (within the policy's bounds).
pub(crate) async fn start_gateway(
    node_url: &str,
    facilitator: Arc<x402_facilitator::Service>,
    listen: SocketAddr,
    deferred: Option<Arc<x402_server::DeferredSettlement>>,
    tasks: &mut Tasks,
) -> eyre::Result<RunningGateway> {
    let revenue = ledger::subnet::revenue_account(NETUID);
    let price = crate::dev::usd_price(crate::dev::DEV_CHAIN_ID, revenue, PRICE_UNITS)?;
    let gateway = subnet::gateway::Gateway::new(subnet::gateway::GatewayConfig {
        netuid: NETUID,
        node_url: node_url.to_owned(),
        price,
        request_timeout: Duration::from_secs(30),
        max_attempts: 3,
        unit: Default::default(),
        deferred,
    })?;
    gateway.refresh().await?;
    tasks
        .0
        .push(gateway.spawn_refresher(Duration::from_secs(1)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .wrap_err_with(|| format!("cannot listen on {listen} (the gateway; see --gateway)"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = gateway.app(facilitator);
    tasks.0.push(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));
    Ok(RunningGateway { url, gateway })
}

/// What the paying agent has done.
#[derive(Debug, Clone, Default)]
struct AgentStats {
    paid: u64,
    spent_units: u128,
    failed: u64,
    latencies_ms: Vec<u64>,
    last_error: Option<String>,
}

impl AgentStats {
    fn p50_ms(&self) -> Option<u64> {
        let mut v = self.latencies_ms.clone();
        v.sort_unstable();
        v.get(v.len().saturating_sub(1) / 2).copied()
    }

    fn json(&self) -> Value {
        json!({
            "paid": self.paid,
            "spentUnits": self.spent_units.to_string(),
            "failed": self.failed,
            "p50Ms": self.p50_ms(),
        })
    }
}

/// An x402 client for dev key `key` that pays up front, at most the listed price and only to
/// the subnet's revenue account.
pub(crate) fn paying_client(key: u32) -> eyre::Result<x402_client::Client> {
    Ok(x402_client::Client::new(
        Arc::new(dev_key(key)?),
        x402_client::SpendControls {
            max_per_payment: Some(alloy_primitives::U256::from(PRICE_UNITS)),
            budget: None,
            assets: None,
            networks: None,
            payees: Some(vec![ledger::subnet::revenue_account(NETUID)]),
        },
    )
    .prepay())
}

/// Dev 7 buys an embedding every `interval`, and every fifth time a chat completion, paying
/// the gateway with x402 (at most the listed price, only to the subnet's revenue account).
async fn run_agent(gateway: String, interval: Duration, stats: Arc<Mutex<AgentStats>>) {
    let Ok(agent) = paying_client(AGENT_KEY) else {
        return;
    };
    for n in 0u64.. {
        tokio::time::sleep(interval).await;
        let (path, body) = if n % 5 == 4 {
            (
                "/v1/chat/completions",
                json!({ "messages": [{"role": "user", "content": "Name one use of a ledger."}], "max_tokens": 16 }),
            )
        } else {
            (
                "/v1/embeddings",
                json!({ "model": EMBED_MODEL, "input": [format!("agent request number {n}: what do miners earn?")] }),
            )
        };
        let started = Instant::now();
        let request = agent
            .http()
            .post(format!("{gateway}{path}"))
            .json(&body)
            .build();
        let outcome = match request {
            Ok(r) => agent.execute(r).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let Ok(mut s) = stats.lock() else { return };
        match outcome {
            Ok(paid) if paid.response.status().is_success() && paid.payment.is_some() => {
                s.paid += 1;
                s.spent_units += u128::from(PRICE_UNITS);
                s.latencies_ms
                    .push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            }
            Ok(paid) => {
                s.failed += 1;
                s.last_error = Some(format!("{path}: HTTP {}", paid.response.status()));
            }
            Err(e) => {
                s.failed += 1;
                s.last_error = Some(format!("{path}: {e}"));
            }
        }
    }
}

/// One line of the epoch table.
#[derive(Debug, Clone)]
struct Row {
    uid: u16,
    role: &'static str,
    checks: Option<(u32, u32)>,
    p50_ms: Option<u64>,
    stake: u128,
    incentive: u64,
    dividends: u64,
    emission: u128,
    earned_usd_units: u128,
    served: u64,
}

impl Row {
    fn json(&self) -> Value {
        json!({
            "uid": self.uid,
            "role": self.role,
            "correct": self.checks.map(|c| c.0),
            "challenges": self.checks.map(|c| c.1),
            "p50Ms": self.p50_ms,
            "stake": self.stake.to_string(),
            "incentive": self.incentive,
            "dividends": self.dividends,
            "emission": self.emission.to_string(),
            "earnedUsdUnits": self.earned_usd_units.to_string(),
            "servedPaidRequests": self.served,
        })
    }
}

fn table_rows(
    mg: &Value,
    roles: &BTreeMap<Address, &'static str>,
    seen: &BTreeMap<u16, Observation>,
    earned: &BTreeMap<Address, u128>,
    served: &BTreeMap<u16, u64>,
) -> Vec<Row> {
    let num = |v: &Value| -> u128 {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| v.as_u64().map(u128::from))
            .unwrap_or(0)
    };
    mg["neurons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let uid = u16::try_from(n["uid"].as_u64()?).ok()?;
            let account: Address = n["account"].as_str()?.parse().ok()?;
            let o = seen.get(&uid);
            Some(Row {
                uid,
                role: roles.get(&account).copied().unwrap_or("?"),
                checks: o.map(|o| (o.correct, o.total)),
                p50_ms: o
                    .and_then(|o| subnet::scoring::median(&o.latencies_us).map(|us| us / 1000)),
                stake: num(&n["stake"]),
                incentive: n["incentive"].as_u64().unwrap_or(0),
                dividends: n["dividends"].as_u64().unwrap_or(0),
                emission: num(&n["emission"]),
                earned_usd_units: earned.get(&account).copied().unwrap_or(0),
                served: served.get(&uid).copied().unwrap_or(0),
            })
        })
        .collect()
}

/// A u16 share (of 65 535) as a percentage.
fn pct(x: u64) -> String {
    format!("{:.1}%", x as f64 * 100.0 / 65_535.0)
}

/// Base units with `decimals` as a decimal number with `shown` digits.
fn units(x: u128, decimals: u32, shown: usize) -> String {
    let scale = 10u128.pow(decimals);
    let frac = format!("{:0width$}", x % scale, width = decimals as usize);
    format!("{}.{}", x / scale, &frac[..shown.min(frac.len())])
}

fn print_table(epoch: u64, block: u64, rows: &[Row], agent: &AgentStats) {
    println!();
    println!(
        "epoch {epoch} (block {block}) — agent paid {} requests ({} USD){}, failed {}",
        agent.paid,
        units(agent.spent_units, 6, 2),
        agent
            .p50_ms()
            .map_or(String::new(), |p| format!(", p50 {p} ms")),
        agent.failed,
    );
    println!(
        "{:>3}  {:<16} {:>7} {:>7} {:>12} {:>9} {:>9} {:>12} {:>9} {:>6}",
        "uid",
        "role",
        "correct",
        "p50 ms",
        "stake τ",
        "incentive",
        "dividends",
        "emission α",
        "earned $",
        "served"
    );
    for r in rows {
        println!(
            "{:>3}  {:<16} {:>7} {:>7} {:>12} {:>9} {:>9} {:>12} {:>9} {:>6}",
            r.uid,
            r.role,
            r.checks.map_or("-".into(), |(c, t)| format!("{c}/{t}")),
            r.p50_ms.map_or("-".into(), |p| p.to_string()),
            units(r.stake, 9, 3),
            pct(r.incentive),
            pct(r.dividends),
            units(r.emission, 9, 3),
            units(r.earned_usd_units, 6, 4),
            r.served,
        );
    }
    if let Some(e) = &agent.last_error {
        println!("agent's last error: {e}");
    }
}
