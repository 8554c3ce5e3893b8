//! The subnet commands against a dev node: `subnet create|list|show|set|emissions`,
//! `neuron register`, `stake add|remove`, `weights set|commit` and `metagraph`; and a whole
//! subnet lifecycle through the CLI.

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

pub(crate) fn symbiont() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
}

pub(crate) fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A dev node with 100 ms blocks, killed on drop.
pub(crate) struct DevNode {
    child: std::process::Child,
    pub(crate) url: String,
    pub(crate) data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevNode {
    pub(crate) fn start() -> Self {
        Self::start_logging(None)
    }

    /// A dev node whose log (stderr, `info` and up) goes to `log`.
    pub(crate) fn start_logging(log: Option<&std::path::Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("dev");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let child = symbiont()
            .args(["node", "--dev", "--block-time-ms", "100"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(match log {
                Some(p) => Stdio::from(std::fs::File::create(p).unwrap()),
                None => Stdio::null(),
            })
            .env("RUST_LOG", "info")
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while symbiont()
            .args(["query", "chain", "--node", &url])
            .output()
            .map_or(true, |o| !o.status.success())
        {
            assert!(Instant::now() < deadline, "dev node did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        DevNode {
            child,
            url,
            data,
            _dir: dir,
        }
    }

    /// Runs a signed command as dev key `i`.
    pub(crate) fn signed(&self, args: &[&str], i: u32) -> Output {
        symbiont()
            .args(args)
            .args(["--node", &self.url, "--from", &dev(i)])
            .arg("--keystore")
            .arg(self.data.join("keystore"))
            .arg("--password-file")
            .arg(self.data.join("dev-password"))
            .output()
            .unwrap()
    }

    /// Runs a read-only command.
    fn read(&self, args: &[&str]) -> String {
        ok(symbiont()
            .args(args)
            .args(["--node", &self.url])
            .output()
            .unwrap())
    }

    /// Dev key 0 creates subnet 1 and sets `settings`, then no weights rate limit and a tempo
    /// of 10 (last: no hyperparameter changes in the 10 blocks before an epoch, and with a
    /// tempo of 10 that is every block).
    pub(crate) fn create_fast_subnet(&self, settings: &[(&str, &str)]) {
        ok(self.signed(&["subnet", "create"], 0));
        let fast = [("weightsRateLimit", "0"), ("tempo", "10")];
        for (name, value) in settings.iter().chain(&fast) {
            ok(self.signed(
                &[
                    "subnet", "set", "--netuid", "1", "--name", name, "--value", value,
                ],
                0,
            ));
        }
    }

    pub(crate) fn subnet(&self) -> serde_json::Value {
        serde_json::from_str(&self.read(&["subnet", "show", "1"])).unwrap()
    }

    /// Waits until the subnet's last epoch is past `block`; returns it.
    pub(crate) fn epoch_after(&self, block: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let last = self.subnet()["lastEpoch"].as_u64().unwrap();
            if last > block {
                return last;
            }
            assert!(Instant::now() < deadline, "no epoch after block {block}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

pub(crate) fn dev(i: u32) -> String {
    node::dev::dev_key(i)
        .unwrap()
        .address()
        .to_string()
        .to_lowercase()
}

/// The lifecycle: create, register 10 neurons, stake (own and nominated), set
/// weights, 5 epochs, unstake; the metagraph shows incentive following the weights and
/// dividends to the validators.
#[test]
fn a_subnet_lifecycle_through_the_cli() {
    let n = DevNode::start();
    n.create_fast_subnet(&[]);
    for i in 1..=9 {
        ok(n.signed(&["neuron", "register", "--netuid", "1"], i));
    }
    assert_eq!(n.subnet()["neurons"], 10);
    // Validators: dev 1 and dev 2 stake; dev 3 nominates dev 1.
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "50"], 1));
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "30"], 2));
    ok(n.signed(
        &[
            "stake",
            "add",
            "--netuid",
            "1",
            "--amount",
            "10",
            "--hotkey",
            &dev(1),
        ],
        3,
    ));
    // Permits come from the epoch after the stake.
    let staked = n.subnet()["height"].as_u64().unwrap();
    n.epoch_after(staked);
    let weights = "4=60000,5=50000,6=40000,7=30000,8=20000,9=10000";
    // The owner validates too: its 18 % cut accumulates as stake, and a permitted validator
    // that sets no weights pulls the stake-weighted median (consensus) toward zero.
    for v in [0, 1, 2] {
        ok(n.signed(
            &["weights", "set", "--netuid", "1", "--weights", weights],
            v,
        ));
    }
    let mut last = n.subnet()["height"].as_u64().unwrap();
    for _ in 0..5 {
        last = n.epoch_after(last);
    }
    let table = n.read(&["metagraph", "1"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(2)
        .take(10)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let col = |uid: usize, c: usize| -> f64 { rows[uid][c].parse().unwrap() };
    // Columns: uid, account, stake, vtrust, cons, incent, divs, emission, [vp], updated.
    let (incentive, dividends) = (5, 6);
    for uid in 4..9 {
        assert!(
            col(uid, incentive) > col(uid + 1, incentive),
            "incentive follows the weights:\n{table}"
        );
    }
    assert!(col(9, incentive) > 0.0, "{table}");
    assert!(
        col(1, dividends) > col(2, dividends),
        "more stake, more dividends:\n{table}"
    );
    assert!(col(2, dividends) > 0.0, "{table}");
    for uid in 4..=9 {
        assert_eq!(
            col(uid, dividends),
            0.0,
            "miners earn no dividends:\n{table}"
        );
    }
    let history = n.read(&["subnet", "emissions", "1", "--limit", "5"]);
    let epochs: Vec<&str> = history.lines().skip(2).take(5).collect();
    assert_eq!(epochs.len(), 5, "{history}");
    for e in &epochs {
        let cols: Vec<f64> = e.split_whitespace().map(|c| c.parse().unwrap()).collect();
        // Native in, owner cut, incentive, dividends and take are all positive every epoch.
        assert!(cols[1] > 0.0 && cols[4] > 0.0 && cols[5] > 0.0, "{history}");
        assert!(cols[6] > cols[7] && cols[7] > 0.0, "{history}");
    }
    // The nominator takes its stake, dividends included, back to native tokens.
    let mg: serde_json::Value =
        serde_json::from_str(&n.read(&["metagraph", "1", "--json"])).unwrap();
    assert_eq!(mg["neurons"][1]["nominators"], 1);
    // A miner advertises its endpoint; a malformed one is refused before it is signed.
    ok(n.signed(
        &[
            "neuron",
            "serve",
            "--netuid",
            "1",
            "--url",
            "http://127.0.0.1:9/v1",
        ],
        4,
    ));
    let out = n.signed(&["neuron", "serve", "--netuid", "1", "--url", "ftp://x"], 4);
    assert!(!out.status.success());
    let mg: serde_json::Value =
        serde_json::from_str(&n.read(&["metagraph", "1", "--json"])).unwrap();
    assert_eq!(mg["neurons"][4]["endpoint"], "http://127.0.0.1:9/v1");
    assert!(mg["neurons"][5]["endpoint"].is_null());
    ok(n.signed(
        &[
            "stake",
            "remove",
            "--netuid",
            "1",
            "--alpha",
            "2",
            "--hotkey",
            &dev(1),
        ],
        3,
    ));
    let out = n.signed(
        &[
            "stake",
            "remove",
            "--netuid",
            "1",
            "--alpha",
            "5",
            "--hotkey",
            &dev(2),
        ],
        3,
    );
    assert!(!out.status.success(), "dev 3 holds nothing behind dev 2");
}

#[test]
fn subnet_commands_against_a_dev_node() {
    let n = DevNode::start();
    let url = n.url.clone();
    ok(n.signed(&["subnet", "create"], 0));
    let list = ok(symbiont()
        .args(["subnet", "list", "--node", &url])
        .output()
        .unwrap());
    assert!(list.starts_with("NETUID"), "{list}");
    assert!(list.contains(&dev(0)), "{list}");
    assert!(list.contains("lock cost of a new subnet: 199.9"), "{list}");
    assert!(
        list.lines().nth(1).unwrap().starts_with("     1  0x"),
        "{list}"
    );

    for i in 1..3 {
        ok(n.signed(&["neuron", "register", "--netuid", "1"], i));
    }
    // A cap below the price is refused by the ledger.
    let out = n.signed(
        &["neuron", "register", "--netuid", "1", "--max-burn", "0.001"],
        3,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("price_limit"));

    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "10"], 1));
    ok(n.signed(&["stake", "remove", "--netuid", "1", "--alpha", "1"], 1));
    // Weights right after registration hit the rate limit.
    let out = n.signed(&["weights", "set", "--netuid", "1", "--weights", "2=1"], 1);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("rate_limited"));

    // Commit-reveal is off by default: the commit is computed, submitted and refused.
    let salt = format!("0x{}", "ab".repeat(32));
    let out = n.signed(
        &[
            "weights",
            "commit",
            "--netuid",
            "1",
            "--weights",
            "2=1",
            "--salt",
            &salt,
        ],
        1,
    );
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("commit 0x"), "{stdout}");
    assert!(stdout.contains("commit-reveal is off"), "{stdout}");

    ok(n.signed(
        &[
            "subnet", "set", "--netuid", "1", "--name", "tempo", "--value", "50",
        ],
        0,
    ));
    let out = n.signed(
        &[
            "subnet", "set", "--netuid", "1", "--name", "tempo", "--value", "5",
        ],
        0,
    );
    assert!(!out.status.success());

    let show = ok(symbiont()
        .args(["subnet", "show", "1", "--node", &url])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["neurons"], 3);
    assert_eq!(v["hyperparams"]["maxUids"], 256);
    assert_eq!(v["hyperparams"]["tempo"], 50);

    let table = ok(symbiont()
        .args(["metagraph", "1", "--node", &url])
        .output()
        .unwrap());
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("subnet 1 at block"), "{table}");
    assert!(lines[1].contains("INCENT"), "{table}");
    assert_eq!(lines.len(), 2 + 3 + 1, "{table}");
    assert!(lines[2].contains(&format!("{}*", dev(0))), "{table}");
    // dev 1 holds the alpha that 10 tokens bought at a price above 1, less the one it sold,
    // plus whatever an epoch (tempo 50: one may have run by now) paid it.
    let cols: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(cols[1], dev(1), "{table}");
    let stake: f64 = cols[2].parse().unwrap();
    assert!(stake > 6.0, "{table}");
    assert_eq!(lines[4].split_whitespace().nth(2), Some("0"), "{table}");
}

/// The gateway reads its routing table from a real node's metagraph: the miners that served
/// an endpoint, health-checked; requests go to the healthy one.
#[test]
fn the_gateway_routes_to_the_miners_the_metagraph_lists() {
    use axum::routing::{get, post};
    use subnet::gateway::{Gateway, GatewayConfig};

    let n = DevNode::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let miner = rt.block_on(async {
        let app = axum::Router::new()
            .route("/health", get(|| async { "ok" }))
            .route(
                "/v1/embeddings",
                post(|| async { axum::Json(serde_json::json!({ "object": "list" })) }),
            );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{a}")
    });
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    ok(n.signed(&["subnet", "create"], 0));
    for (i, url) in [(1, &miner), (2, &dead)] {
        ok(n.signed(&["neuron", "register", "--netuid", "1"], i));
        ok(n.signed(&["neuron", "serve", "--netuid", "1", "--url", url], i));
    }
    let price = x402_types::v2::PaymentRequirements {
        scheme: "exact".into(),
        network: x402_types::Network::eip155(31_337),
        amount: x402_types::TokenAmount::from(1_000u64),
        asset: ledger::Address::repeat_byte(1).to_checksum(None),
        pay_to: ledger::subnet::revenue_account(1).to_checksum(None),
        max_timeout_seconds: 60,
        extra: x402_types::v2::Extra::eip712("Devnet USD", "1"),
    };
    let gw = Gateway::new(GatewayConfig {
        netuid: 1,
        node_url: n.url.clone(),
        price,
        request_timeout: Duration::from_secs(5),
        max_attempts: 3,
        deferred: None,
        unit: Default::default(),
    })
    .unwrap();
    rt.block_on(async {
        gw.refresh().await.unwrap();
        let c = gw.candidates();
        assert_eq!(c.len(), 2, "the owner serves nothing: {c:?}");
        assert_eq!(
            (c[0].uid, c[0].endpoint.as_str(), c[0].healthy),
            (1, miner.as_str(), true)
        );
        assert_eq!((c[1].uid, c[1].healthy), (2, false));
        let r = gw.forward("/v1/embeddings", "{}".into()).await;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["x-symbiont-miner"], "1");
    });
}

/// The subnet's loop on a dev node: four miners join (honest, slow, wrong vectors,
/// replaying); two validators send fresh challenges each epoch, score, commit and reveal;
/// within a few epochs the honest miners have incentive and the cheaters none. Then an agent
/// pays the x402 gateway for requests, which go to the earning miners, settle into the
/// subnet's revenue account, and are split at the next epoch — nothing to the cheaters.
///
/// The model is a deterministic stand-in (a vector derived from the input's hash) so this test
/// isolates the subnet logic from model speed; `symbiont devnet` runs the same loop with
/// all-MiniLM-L6-v2.
#[test]
fn the_subnet_catches_cheaters_and_pays_the_earners_on_a_dev_node() {
    use std::sync::Arc;

    use axum::routing::post;
    use serde_json::{Value, json};
    use subnet::{
        miner::{self, Behaviour},
        validator::{EmbedFuture, Embedder, Validator},
    };

    fn embed(s: &str) -> Vec<f32> {
        let h = ledger::keccak256(s.as_bytes());
        let v: Vec<f32> = h.0.iter().take(16).map(|b| f32::from(*b) - 127.5).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }
    struct StandIn;
    impl Embedder for StandIn {
        fn embed(&self, inputs: Vec<String>) -> EmbedFuture<'_> {
            Box::pin(async move { Ok(inputs.iter().map(|s| embed(s)).collect()) })
        }
    }

    let n = DevNode::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    n.create_fast_subnet(&[("commitReveal", "1")]);
    ok(n.signed(&["neuron", "register", "--netuid", "1"], 1));
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "50"], 1));
    // Miners dev 2..=5 (uids 2..=5): honest, slow, wrong vectors, replaying; each joins the
    // subnet itself (registers, serves its endpoint).
    let model = || {
        axum::Router::new().route(
            "/v1/embeddings",
            post(|axum::Json(req): axum::Json<Value>| async move {
                let input = req["input"][0].as_str().unwrap_or("").to_owned();
                axum::Json(json!({ "object": "list", "data": [
                    { "object": "embedding", "index": 0, "embedding": embed(&input) }
                ]}))
            }),
        )
    };
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Slow(Duration::from_millis(40)),
        Behaviour::WrongVectors,
        Behaviour::Replay,
    ];
    let client = ledger_client::Client::new(&n.url).unwrap();
    for (i, b) in behaviours.into_iter().enumerate() {
        let key = node::dev::dev_key(2 + i as u32).unwrap();
        let uid = rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", l.local_addr().unwrap());
            let app = miner::app(model(), b);
            tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
            miner::join(&client, &key, 1, &url).await.unwrap()
        });
        assert_eq!(usize::from(uid), 2 + i, "{}", b.name());
    }
    // Two validators: the owner (its cut accumulates as stake) and dev 1.
    let mut validators: Vec<Validator<StandIn>> = [0u32, 1]
        .iter()
        .map(|i| {
            Validator::new(
                node::dev::dev_key(*i).unwrap(),
                1,
                &n.url,
                StandIn,
                "stand-in",
            )
            .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut reports = 0;
    let incentive = |uid: usize| -> u64 {
        let mg: Value = serde_json::from_str(&n.read(&["metagraph", "1", "--json"])).unwrap();
        mg["neurons"][uid]["incentive"].as_u64().unwrap()
    };
    while reports < 16 || incentive(2) == 0 {
        assert!(
            Instant::now() < deadline,
            "no incentive for the honest miner in time"
        );
        for v in &mut validators {
            if let Some(r) = rt.block_on(v.tick()).unwrap() {
                reports += 1;
                let correct: Vec<u32> = r.observations.iter().map(|o| o.correct).collect();
                // The replayer computed its very first answer honestly, then never again.
                assert_eq!(correct[..3], [4, 4, 0], "{r:?}");
                assert!(correct[3] <= 1, "{r:?}");
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(incentive(2) > 0);
    assert!(incentive(3) > 0, "slow but honest earns");
    assert_eq!(incentive(4), 0, "wrong vectors earn nothing");
    assert_eq!(incentive(5), 0, "replayed answers earn nothing");

    // The paid gateway: an agent (dev 7) buys 5 requests in Devnet USD; the node's facilitator
    // settles each into the subnet's revenue account; the traffic goes to the miners that
    // earn; the next epoch splits the revenue.
    let usd = ledger::Asset::derive_id(
        node::dev::dev_key(0).unwrap().address(),
        ledger::genesis::DEV_USD_NAME,
    );
    let revenue = ledger::subnet::revenue_account(1);
    let price = x402_types::v2::PaymentRequirements {
        scheme: "exact".into(),
        network: x402_types::Network::eip155(31_337),
        amount: x402_types::TokenAmount::from(10_000u64),
        asset: usd.to_checksum(None),
        pay_to: revenue.to_checksum(None),
        max_timeout_seconds: 60,
        extra: x402_types::v2::Extra::eip712(ledger::genesis::DEV_USD_NAME, "1"),
    };
    let gw = subnet::gateway::Gateway::new(subnet::gateway::GatewayConfig {
        netuid: 1,
        node_url: n.url.clone(),
        price,
        request_timeout: Duration::from_secs(10),
        max_attempts: 3,
        deferred: None,
        unit: Default::default(),
    })
    .unwrap();
    let usd_of = |who: ledger::Address| -> u128 {
        let v: Value = serde_json::from_str(&n.read(&["query", "account", &who.to_string()]))
            .unwrap_or(Value::Null);
        v["balances"][usd.to_string().to_lowercase()]
            .as_str()
            .or_else(|| v["balances"][usd.to_checksum(None)].as_str())
            .map_or(0, |s| s.parse().unwrap())
    };
    let accounts: Vec<ledger::Address> = (0..6)
        .map(|i| node::dev::dev_key(i).unwrap().address())
        .collect();
    let before: Vec<u128> = accounts.iter().map(|a| usd_of(*a)).collect();
    rt.block_on(async {
        gw.refresh().await.unwrap();
        let facilitator = Arc::new(x402_server::HttpFacilitator::new(format!("{}/x402", n.url)));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let app = gw.app(facilitator);
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        let agent = x402_client::Client::new(
            Arc::new(node::dev::dev_key(7).unwrap()),
            x402_client::SpendControls {
                max_per_payment: Some(alloy_primitives::U256::from(10_000u64)),
                budget: None,
                assets: None,
                networks: None,
                payees: Some(vec![revenue]),
            },
        );
        for i in 0..5 {
            let req = agent
                .http()
                .post(format!("{url}/v1/embeddings"))
                .json(&json!({ "model": "stand-in", "input": [format!("paid request {i}")] }))
                .build()
                .unwrap();
            let paid = agent.execute(req).await.unwrap();
            assert_eq!(paid.response.status().as_u16(), 200);
            let uid = paid.response.headers()["x-symbiont-miner"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                uid == "2" || uid == "3",
                "routed to an earning miner, not {uid}"
            );
            assert!(paid.receipt.unwrap().success);
        }
    });
    assert_eq!(usd_of(revenue), 50_000, "five payments of 0.01 USD");
    let height: u64 = n.subnet()["height"].as_u64().unwrap();
    n.epoch_after(height);
    let dust = usd_of(revenue);
    assert!(dust < 8, "split at the epoch, dust only: {dust}");
    let gained: Vec<u128> = accounts
        .iter()
        .zip(&before)
        .map(|(a, b)| usd_of(*a) - b)
        .collect();
    // The owner takes its cut and, validating too, a share of the validators' half.
    assert!(gained[0] > 50_000 * 11_796 / 65_535, "{gained:?}");
    assert!(
        gained[1] > 0 && gained[2] > 0 && gained[3] > 0,
        "{gained:?}"
    );
    assert_eq!(
        gained[4] + gained[5],
        0,
        "cheaters get no revenue: {gained:?}"
    );
    assert_eq!(gained.iter().sum::<u128>() + dust, 50_000, "{gained:?}");
}
