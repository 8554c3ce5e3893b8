//! `symbiont demo`, runnable examples. `symbiont demo agents`: three agents and three hops of x402 payments on a real network.
//!
//! A traveller (dev 7) asks a **trip planner** (dev 8) for a trip. The planner finds a
//! **flight search** agent (dev 6) in the ERC-8004 registry and pays it; the flight search finds
//! the subnet's **embedding gateway** in the registry and pays it to rank flights with
//! all-MiniLM-L6-v2 served by a miner. The planner and the flight search hold no keys: each
//! signs through its own `symbiont signer` process under a spend policy. Every payment settles
//! on the ledger and every buyer rates its seller citing its payment. At the end the demo
//! prints each hop, the balances before and after, and the reputations.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use agent::{
    Agent,
    decide::{ChatModel, Decide, Rules},
    service::{self, Offering, Profile, Storefront},
    trip::{self, Planner},
};
use alloy_primitives::{Address, U256};
use eyre::{WrapErr, bail, eyre};
use ledger::Call;
use serde_json::{Value, json};

use crate::cmd::devnet::{self, NETUID, Tasks};
use crate::config::{NodeArgs, NodeConfig};
use crate::dev::{DEV_CHAIN_ID, dev_key, usd_price};

/// The traveller's dev key.
const TRAVELLER: u32 = 7;
/// The trip planner's dev key.
const PLANNER: u32 = 8;
/// The flight search's dev key.
const FLIGHTS: u32 = 6;
/// What a trip plan costs: 0.05 Devnet USD.
pub const PLAN_PRICE: u64 = 50_000;
/// What a flight search costs: 0.02 Devnet USD.
pub const SEARCH_PRICE: u64 = 20_000;

/// Runnable examples.
#[derive(Debug, clap::Args)]
pub struct DemoCmd {
    #[command(subcommand)]
    cmd: DemoSub,
}

#[derive(Debug, clap::Subcommand)]
enum DemoSub {
    /// Three agents, three hops of x402 payments: a traveller pays a trip planner, which pays
    /// a flight-search agent, which pays the subnet's embedding gateway; keys stay in signer
    /// processes, every buyer rates its seller citing the payment.
    Agents(AgentsDemoCmd),
}

impl DemoCmd {
    /// Runs the chosen example.
    pub fn run(self) -> eyre::Result<()> {
        match self.cmd {
            DemoSub::Agents(c) => c.run(),
        }
    }
}

/// Run the three-hop agent example once and print what happened.
#[derive(Debug, clap::Args)]
pub struct AgentsDemoCmd {
    /// What the traveller asks for.
    #[arg(
        long,
        default_value = "A long weekend in Lisbon, flying from Berlin: a cheap morning flight, hand luggage is fine"
    )]
    request: String,
    /// The trip planner decides with the subnet's chat model (paid through the gateway)
    /// instead of its rules.
    #[arg(long)]
    model_decisions: bool,
    /// Print the outcome as JSON on stdout (for scripts).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    models_dir: crate::cmd::models::DirArg,
    /// The Python interpreter that runs pip to fetch models.
    #[arg(long, env = "SYMBIONT_PYTHON", default_value = "python3")]
    python: String,
}

impl AgentsDemoCmd {
    /// Fetches and loads the models, runs the example once, prints it, and stops.
    pub fn run(self) -> eyre::Result<()> {
        let models_dir = self.models_dir.resolve()?;
        let (engine, _took) = crate::cmd::models::load_all(&models_dir, &self.python)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let out = rt.block_on(self.run_network(engine.clone()));
        rt.shutdown_timeout(Duration::from_secs(5));
        engine.shutdown();
        let out = out?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Ok(())
    }

    async fn run_network(&self, engine: inference::Engine) -> eyre::Result<Value> {
        let temp = tempfile::Builder::new()
            .prefix("symbiont-agents-")
            .tempdir()?;
        let config = NodeConfig::resolve(&NodeArgs {
            data_dir: Some(temp.path().join("node")),
            listen: Some("127.0.0.1:0".parse()?),
            block_time_ms: Some(200),
            dev: true,
            ..NodeArgs::default()
        })?;
        let node = crate::server::start(&config).await?;
        let url = format!("http://{}", node.addr);
        let out = self
            .example(&url, Arc::clone(&node.facilitator), engine, temp.path())
            .await;
        node.shutdown().await?;
        out
    }

    async fn example(
        &self,
        url: &str,
        node_facilitator: Arc<x402_facilitator::Service>,
        engine: inference::Engine,
        dir: &Path,
    ) -> eyre::Result<Value> {
        let client = ledger_client::Client::new(url)?;
        let mut tasks = Tasks::default();
        step(&format!("node {url}"));

        // The subnet, one honest miner, and its paid gateway (answers after settlement, so
        // the balances below are final when the traveller has its answer).
        let owner = dev_key(0)?;
        devnet::create_subnet(&client, &owner, 1_000).await?;
        let miner_key = dev_key(2)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let app = subnet::miner::app(
            inference::http::router(engine),
            subnet::miner::Behaviour::Honest,
        );
        tasks.0.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        subnet::miner::join(&client, &miner_key, NETUID, &endpoint).await?;
        let gateway = devnet::start_gateway(
            url,
            node_facilitator,
            "127.0.0.1:0".parse()?,
            None,
            &mut tasks,
        )
        .await?;
        let gateway_id = register_gateway(&client, &owner, &gateway.url).await?;
        step(&format!(
            "embedding gateway {} registered as agent {gateway_id}",
            gateway.url
        ));

        // The two agents: each signs through its own signer process.
        let usd = crate::dev::usd_asset()?;
        let facilitator = Arc::new(x402_server::HttpFacilitator::new(format!("{url}/x402")));
        let mut signers = Signers::default();
        let revenue = ledger::subnet::revenue_account(NETUID);
        let flights_signer = signers
            .start(dir, "flight-search", FLIGHTS, usd, 10_000, &[revenue])
            .await?;
        let flights_address = dev_key(FLIGHTS)?.address();
        let planner_signer = signers
            .start(
                dir,
                "trip-planner",
                PLANNER,
                usd,
                20_000,
                &[flights_address, revenue],
            )
            .await?;

        let flights = Arc::new(Agent::new(
            "flight-search",
            client.clone(),
            flights_signer,
            x402_client::SpendControls::default(),
        )?);
        let flights_url = open_store(
            &flights,
            Profile {
                name: "flight-search".into(),
                description: "Ranks flights by what the traveller wants, with sentence embeddings"
                    .into(),
            },
            vec![(
                Offering {
                    name: trip::FLIGHT_SEARCH.into(),
                    path: trip::SEARCH_PATH.into(),
                    price: usd_price(DEV_CHAIN_ID, flights.address(), SEARCH_PRICE)?,
                },
                trip::flight_search_route(Arc::clone(&flights)),
            )],
            &facilitator,
            &mut tasks,
        )
        .await?;
        step(&format!(
            "flight search {flights_url} registered as agent {}",
            flights.id().unwrap_or_default()
        ));

        let planner_agent = Arc::new(Agent::new(
            "trip-planner",
            client.clone(),
            planner_signer,
            x402_client::SpendControls::default(),
        )?);
        let decide: Arc<dyn Decide> = if self.model_decisions {
            Arc::new(ChatModel {
                url: gateway.url.clone(),
                payer: planner_agent.payer(Some(vec![ledger::subnet::revenue_account(NETUID)])),
                max_tokens: 48,
            })
        } else {
            Arc::new(Rules)
        };
        let planner = Arc::new(Planner {
            agent: Arc::clone(&planner_agent),
            decide,
        });
        let planner_url = open_store(
            &planner_agent,
            Profile {
                name: "trip-planner".into(),
                description: "Plans trips; buys flight searches from other agents".into(),
            },
            vec![(
                Offering {
                    name: trip::TRIP_PLANNING.into(),
                    path: trip::PLAN_PATH.into(),
                    price: usd_price(DEV_CHAIN_ID, planner_agent.address(), PLAN_PRICE)?,
                },
                trip::trip_planning_route(planner),
            )],
            &facilitator,
            &mut tasks,
        )
        .await?;
        let planner_id = planner_agent.id().unwrap_or_default();
        step(&format!(
            "trip planner {planner_url} registered as agent {planner_id}"
        ));

        // The traveller pays the planner with its own key.
        let traveller = dev_key(TRAVELLER)?;
        let watched = [
            ("traveller", traveller.address()),
            ("trip planner", planner_agent.address()),
            ("flight search", flights.address()),
            ("subnet revenue", revenue),
        ];
        let before = balances(&client, usd, &watched).await?;
        step(&format!("traveller asks: {}", self.request));
        let started = Instant::now();
        let payer = x402_client::Client::new(
            Arc::new(traveller.clone()),
            x402_client::SpendControls {
                max_per_payment: Some(U256::from(PLAN_PRICE)),
                payees: Some(vec![planner_agent.address()]),
                ..Default::default()
            },
        );
        let request = payer
            .http()
            .post(format!("{planner_url}{}", trip::PLAN_PATH))
            .json(&json!({ "request": self.request }))
            .build()?;
        let paid = payer.execute(request).await?;
        let status = paid.response.status();
        let plan: Value = paid.response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("the trip planner answered HTTP {status}: {plan}");
        }
        let took = started.elapsed();
        let payment = paid
            .payment
            .ok_or_else(|| eyre!("the planner did not charge"))?;
        println_answer(&plan, took);

        // The traveller rates the planner, citing its payment; then wait for the agents'
        // own ratings to land.
        client
            .execute(
                &traveller,
                Call::GiveFeedback(agent::runtime::feedback(
                    planner_id,
                    100,
                    "successRate",
                    &format!("{planner_url}{}", trip::PLAN_PATH),
                    &payment,
                )),
            )
            .await
            .wrap_err("the traveller's feedback")?;
        let ids = [
            ("trip planner", planner_id),
            ("flight search", flights.id().unwrap_or_default()),
            ("embedding gateway", gateway_id),
        ];
        let reputations = wait_for_feedback(&client, &ids).await?;
        let after = balances(&client, usd, &watched).await?;

        let mut rows = Vec::new();
        for ((name, who), (b, a)) in watched.iter().zip(before.iter().zip(&after)) {
            let delta =
                i128::try_from(*a).unwrap_or(i128::MAX) - i128::try_from(*b).unwrap_or(i128::MAX);
            rows.push(json!({
                "name": name, "address": who, "before": b.to_string(),
                "after": a.to_string(), "delta": delta.to_string(),
            }));
        }
        print_balances(&rows);
        for (name, _, summary) in &reputations {
            step(&format!("reputation of the {name}: {summary}"));
        }
        Ok(json!({
            "plan": plan,
            "tookMs": took.as_millis() as u64,
            "balances": rows,
            "reputation": reputations.iter().map(|(n, id, s)| json!({"name": n, "agentId": id, "summary": s})).collect::<Vec<_>>(),
        }))
    }
}

fn step(what: &str) {
    eprintln!("· {what}");
}

fn println_answer(plan: &Value, took: Duration) {
    eprintln!(
        "\nplanner's answer ({} ms, decided by {}):\n  {}\n",
        took.as_millis(),
        plan["decidedBy"].as_str().unwrap_or("?"),
        plan["answer"].as_str().unwrap_or("?").replace('\n', "\n  ")
    );
}

fn print_balances(rows: &[Value]) {
    eprintln!(
        "{:<16} {:>14} {:>14} {:>10}",
        "Devnet USD", "before", "after", "change"
    );
    for r in rows {
        let usd = |k: &str| {
            let v: i128 = r[k].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}", crate::units::format_units(v.unsigned_abs(), 6))
        };
        eprintln!(
            "{:<16} {:>14} {:>14} {:>10}",
            r["name"].as_str().unwrap_or(""),
            usd("before"),
            usd("after"),
            usd("delta")
        );
    }
}

/// Registers the gateway as an agent of dev 0 (the subnet owner), its registration file a
/// `data:` URI on the ledger itself. Its payments go to the subnet's revenue account, which no
/// key controls, so the owner names it on-chain as the agent's x402 payee.
async fn register_gateway(
    client: &ledger_client::Client,
    owner: &wallet::PrivateKey,
    gateway_url: &str,
) -> eyre::Result<u64> {
    let offering = Offering {
        name: trip::EMBEDDINGS.into(),
        path: "/v1/embeddings".into(),
        price: usd_price(DEV_CHAIN_ID, ledger::subnet::revenue_account(NETUID), 0)?,
    };
    let chat = Offering {
        name: "chat".into(),
        path: "/v1/chat/completions".into(),
        ..offering.clone()
    };
    let file = service::registration_file(
        &Profile {
            name: format!("subnet {NETUID} gateway"),
            description: "OpenAI-compatible embeddings and chat, served by the subnet's miners"
                .into(),
        },
        gateway_url,
        &[offering, chat],
        None,
    );
    let uri = service::data_uri(&file);
    let receipt = client
        .execute(
            owner,
            Call::RegisterAgent {
                uri,
                metadata: vec![ledger::agents::MetadataEntry {
                    key: agent::directory::PAY_TO_KEY.into(),
                    value: ledger::subnet::revenue_account(NETUID).to_vec().into(),
                }],
            },
        )
        .await?;
    agent::runtime::registered_id(&receipt)
        .ok_or_else(|| eyre!("no agent id in the gateway's registration receipt: {receipt}"))
}

/// Serves `offerings` for `agent` on a fresh port, registers the agent with the storefront's
/// registration file as its URI, requires payment-proven feedback, and returns the base URL.
async fn open_store(
    agent: &Arc<Agent>,
    profile: Profile,
    offerings: Vec<(Offering, axum::routing::MethodRouter)>,
    facilitator: &Arc<x402_server::HttpFacilitator>,
    tasks: &mut Tasks,
) -> eyre::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut store = Storefront::new(profile.clone(), Arc::clone(facilitator));
    for (offering, route) in offerings {
        store = store.sell(offering, route);
    }
    let file = Arc::new(RwLock::new(service::registration_file(
        &profile,
        &base,
        store.offerings(),
        None,
    )));
    let offered: Vec<Offering> = store.offerings().to_vec();
    let app = store.into_router(Arc::clone(&file));
    tasks.0.push(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));
    let id = agent
        .register(&format!("{base}{}", service::REGISTRATION_PATH))
        .await?;
    agent.require_paid_feedback().await?;
    // The file now names the registration, as ERC-8004 asks.
    let registry = ledger::agents::agent_registry(DEV_CHAIN_ID);
    if let Ok(mut f) = file.write() {
        *f = service::registration_file(&profile, &base, &offered, Some((id, registry)));
    }
    Ok(base)
}

/// USD balances of `who`, in order.
async fn balances(
    client: &ledger_client::Client,
    usd: Address,
    who: &[(&str, Address)],
) -> eyre::Result<Vec<u128>> {
    let mut out = Vec::new();
    for (_, a) in who {
        out.push(devnet::usd_balance(client, *a, usd).await?);
    }
    Ok(out)
}

/// Waits (10 s at most) until each agent has a feedback, and returns their summaries over
/// the clients that rated them.
async fn wait_for_feedback(
    client: &ledger_client::Client,
    ids: &[(&'static str, u64)],
) -> eyre::Result<Vec<(&'static str, u64, Value)>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut out = Vec::new();
        for (name, id) in ids {
            let fb = client.get(&format!("/v1/agents/{id}/feedback")).await?;
            let clients: Vec<String> = fb["feedback"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["client"].as_str().map(str::to_owned))
                .collect();
            if clients.is_empty() {
                break;
            }
            let summary = client
                .get(&format!(
                    "/v1/agents/{id}/reputation?clients={}",
                    clients.join(",")
                ))
                .await?;
            out.push((*name, *id, summary));
        }
        if out.len() == ids.len() {
            return Ok(out);
        }
        if Instant::now() > deadline {
            bail!("the agents' feedback did not land within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The signer processes, killed when dropped.
#[derive(Default)]
struct Signers(Vec<Child>);

impl Drop for Signers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Signers {
    /// Starts `symbiont signer` for dev key `key` under a policy capping each payment at
    /// `per_payment` USD units (1 USD an hour and a day), paying only `payees`, and connects
    /// to it.
    async fn start(
        &mut self,
        dir: &Path,
        name: &str,
        key: u32,
        usd: Address,
        per_payment: u64,
        payees: &[Address],
    ) -> eyre::Result<Arc<wallet_signer::Client>> {
        let home = dir.join(name);
        std::fs::create_dir_all(&home)?;
        let passphrase = home.join("passphrase");
        std::fs::write(&passphrase, format!("{name} demo passphrase\n"))?;
        let keystore = home.join("keystore");
        wallet::KeyStore::open(&keystore)?.store(
            &dev_key(key)?,
            format!("{name} demo passphrase").as_bytes(),
            wallet::ScryptParams::LIGHT,
        )?;
        let allow: Vec<String> = payees.iter().map(|p| format!("\"{p}\"")).collect();
        let policy = home.join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "chain_ids = [{DEV_CHAIN_ID}]\n\
                 allowed_calls = [\"registerAgent\", \"setAgentMetadata\", \"giveFeedback\"]\n\
                 rate_limit_per_minute = 600\n\n\
                 [payees]\nallow = [{}]\n\n\
                 [[assets]]\naddress = \"{usd}\"\nsymbol = \"USD\"\ndecimals = 6\n\
                 per_payment = {per_payment}\nper_hour = 1000000\nper_day = 1000000\n\n\
                 [[assets]]\naddress = \"{}\"\nsymbol = \"SYM\"\ndecimals = 9\n\
                 per_payment = 10000000\nper_hour = 1000000000\nper_day = 1000000000\n",
                allow.join(", "),
                Address::ZERO
            ),
        )?;
        let socket = home.join("signer.sock");
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .arg("signer")
            .arg("--policy")
            .arg(&policy)
            .arg("--keystore")
            .arg(&keystore)
            .arg("--password-file")
            .arg(&passphrase)
            .arg("--socket")
            .arg(&socket)
            .arg("--admin-socket")
            .arg(home.join("admin.sock"))
            .arg("--audit-log")
            .arg(home.join("audit.log"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .wrap_err("starting `symbiont signer`")?;
        self.0.push(child);
        let client = wallet_signer::Client::wait_for(&socket, Duration::from_secs(20))
            .await
            .wrap_err_with(|| format!("the {name} signer did not come up"))?;
        Ok(Arc::new(client))
    }
}
