//! `symbiont bench consensus`: the ledger on N BFT validators against the solo producer, on
//! this machine, in one run and with the same workload.
//!
//! Each producer starts from the same genesis (funded bench accounts) in a temporary
//! directory: the solo producer as one node; the BFT chain as N validator nodes in this
//! process, meshed on loopback (consensus over libp2p TCP, transaction relay over HTTP), each
//! with its own redb store. Both run with the same block time. Then, for each:
//!
//! - **throughput**: pre-signed transfer batches go round-robin to the nodes' batch API from
//!   concurrent clients; committed transfers per second, from the first submission to the
//!   last transfer committed on node 0;
//! - **finality latency**: single transfers, one at a time and at random offsets within the
//!   block time, each timed from its submission to its receipt on the node it was sent to
//!   (the commit is final in both cases: BFT has no forks); p50 and p99.
//!
//! All nodes share this machine's cores, so a validator's share is 1/N of what it would have
//! alone; the figures are what one machine does, not a network.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use eyre::{WrapErr, bail, ensure};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::{
    Address, B256, Call, Genesis, GenesisValidator, NATIVE, SignedTx, Tx, genesis::AmountStr,
};
use rand::Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::{
    app::TxStatus,
    bft,
    client::Client,
    cmd::bench::bench_key,
    config::{NodeConfig, ValidatorConfig},
    server::{self, RunningNode},
};

/// Options of `symbiont bench consensus`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsensusArgs {
    /// Validators of the BFT chain
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Transfers committed in each throughput run
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// Sending accounts (each batch carries one transfer per account)
    #[arg(long, default_value_t = 1_000)]
    accounts: usize,
    /// Least milliseconds between blocks, for both producers
    #[arg(long, default_value_t = 250)]
    block_time_ms: u64,
    /// Transfers timed one by one from submission to commit, per producer
    #[arg(long, default_value_t = 100)]
    samples: usize,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

/// One producer's figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `solo` or `bft-N`.
    pub producer: String,
    /// Transfers committed in the throughput run.
    pub txs: usize,
    /// Seconds from the first submission to the last commit.
    pub seconds: f64,
    /// Committed transfers per second.
    pub tps: f64,
    /// Blocks committed in the throughput run.
    pub blocks: u64,
    /// Submission-to-commit latency, milliseconds: median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// Both producers, measured in one run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusReport {
    /// Block time of both, milliseconds.
    pub block_time_ms: u64,
    /// The solo producer.
    pub solo: RunReport,
    /// The BFT validators.
    pub bft: RunReport,
}

impl std::fmt::Display for ConsensusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "symbiont bench consensus (block time {} ms, one machine)",
            self.block_time_ms
        )?;
        writeln!(
            f,
            "  {:<8} {:>10} {:>8} {:>8} {:>10} {:>10}",
            "producer", "tx/s", "blocks", "seconds", "p50 ms", "p99 ms"
        )?;
        for r in [&self.solo, &self.bft] {
            writeln!(
                f,
                "  {:<8} {:>10.0} {:>8} {:>8.2} {:>10.1} {:>10.1}",
                r.producer, r.tps, r.blocks, r.seconds, r.p50_ms, r.p99_ms
            )?;
        }
        write!(
            f,
            "  {} : solo = {:.2}× throughput, {:.2}× p50 latency, {:.2}× p99 latency",
            self.bft.producer,
            self.bft.tps / self.solo.tps,
            self.bft.p50_ms / self.solo.p50_ms,
            self.bft.p99_ms / self.solo.p99_ms
        )
    }
}

/// Runs the benchmark and prints its report.
pub fn run(args: ConsensusArgs) -> eyre::Result<()> {
    ensure!(
        (1..=10).contains(&args.validators),
        "--validators must be 1 to 10"
    );
    ensure!(
        args.txs > 0 && args.accounts > 0 && args.samples > 0,
        "--txs, --accounts and --samples must be positive"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(bench(args.clone()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    Ok(())
}

/// The workload, signed once and sent to both producers (each starts from the same genesis).
struct Workload {
    genesis: Genesis,
    /// JSON batches for the throughput run.
    batches: Vec<bytes::Bytes>,
    /// Single transfers for the latency run, with their hashes.
    singles: Vec<(B256, bytes::Bytes)>,
}

fn workload(args: &ConsensusArgs) -> eyre::Result<Workload> {
    let accounts = args.accounts;
    let rounds = args.txs.div_ceil(accounts);
    let keys: Vec<_> = (0..accounts)
        .into_par_iter()
        .map(bench_key)
        .collect::<Result<_, _>>()?;
    let mut genesis = Genesis::dev(crate::dev::DEV_CHAIN_ID, crate::app::now_ms(), &[]);
    genesis.alloc = keys
        .iter()
        .map(|k| (k.address(), AmountStr(10u128.pow(12))))
        .collect();
    let (chain_id, fee) = (genesis.chain_id, genesis.min_fee);
    let sign = |key: usize, nonce: u64| -> eyre::Result<SignedTx> {
        let k = &keys[key];
        let tx = Tx {
            from: k.address(),
            nonce,
            fee,
            expiry: 0,
            call: Call::Transfer {
                to: Address::repeat_byte(0xee),
                asset: NATIVE,
                amount: 1,
            },
        };
        Ok(tx.sign_with(chain_id, |h| k.sign_hash(h).map(|s| s.to_bytes()))?)
    };
    let bar = progress(rounds * accounts + args.samples, "signing transfers");
    let batches = (0..rounds)
        .map(|r| {
            let txs: Vec<SignedTx> = (0..accounts)
                .into_par_iter()
                .map(|k| sign(k, r as u64))
                .collect::<eyre::Result<_>>()?;
            bar.inc(txs.len() as u64);
            Ok(bytes::Bytes::from(serde_json::to_vec(&txs)?))
        })
        .collect::<eyre::Result<_>>()?;
    let singles = (0..args.samples)
        .map(|i| {
            let tx = sign(i % accounts, (rounds + i / accounts) as u64)?;
            bar.inc(1);
            let hash = tx.tx.signing_hash(chain_id);
            Ok((hash, bytes::Bytes::from(serde_json::to_vec(&vec![tx])?)))
        })
        .collect::<eyre::Result<_>>()?;
    bar.finish_and_clear();
    Ok(Workload {
        genesis,
        batches,
        singles,
    })
}

fn progress(len: usize, msg: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg:32} [{bar:40}] {pos}/{len} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(len as u64).with_style(style);
    bar.set_message(msg);
    bar
}

async fn bench(args: ConsensusArgs) -> eyre::Result<ConsensusReport> {
    let work = workload(&args)?;
    let solo = {
        let dir = tempfile::tempdir()?;
        let nodes = start_solo(dir.path(), &work.genesis, args.block_time_ms).await?;
        measure("solo".into(), nodes, &work, &args).await?
    };
    let bft = {
        let dir = tempfile::tempdir()?;
        let nodes = start_bft(
            dir.path(),
            &work.genesis,
            args.validators,
            args.block_time_ms,
        )
        .await?;
        measure(format!("bft-{}", args.validators), nodes, &work, &args).await?
    };
    Ok(ConsensusReport {
        block_time_ms: args.block_time_ms,
        solo,
        bft,
    })
}

fn node_config(home: &Path, genesis: &Path, block_time_ms: u64) -> NodeConfig {
    let mut c = NodeConfig::new(home.to_path_buf());
    c.listen = "127.0.0.1:0".parse().unwrap_or(c.listen);
    c.block_time = Duration::from_millis(block_time_ms);
    c.genesis = Some(genesis.to_path_buf());
    c.mempool_capacity = 400_000;
    c.max_block_txs = 50_000;
    c
}

fn write_genesis(dir: &Path, genesis: &Genesis) -> eyre::Result<PathBuf> {
    let path = dir.join("genesis.json");
    std::fs::write(&path, serde_json::to_vec(genesis)?)?;
    Ok(path)
}

async fn start_solo(
    dir: &Path,
    genesis: &Genesis,
    block_time_ms: u64,
) -> eyre::Result<Vec<RunningNode>> {
    let path = write_genesis(dir, genesis)?;
    let node = server::start(&node_config(&dir.join("solo"), &path, block_time_ms)).await?;
    Ok(vec![node])
}

/// `n` consensus ports free now, below Linux's ephemeral range (32768 and up), so that the
/// outgoing connections of the validators started first cannot take a later one's port.
fn consensus_ports(n: usize) -> eyre::Result<Vec<u16>> {
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let base: u16 = rng.gen_range(20_000..32_000);
        let ports: Vec<u16> = (0..n as u16).map(|i| base + i).collect();
        if ports
            .iter()
            .all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        {
            return Ok(ports);
        }
    }
    bail!("no {n} free consensus ports below 32000")
}

async fn start_bft(
    dir: &Path,
    genesis: &Genesis,
    n: usize,
    block_time_ms: u64,
) -> eyre::Result<Vec<RunningNode>> {
    let mut genesis = genesis.clone();
    let mut keys = vec![];
    for i in 0..n {
        let home = dir.join(format!("v{i}"));
        std::fs::create_dir_all(&home)?;
        let key = consensus::ConsensusKey::generate(rand::rngs::OsRng);
        let file = home.join("consensus-key.json");
        let public = bft::write_key_file(&file, &key)?;
        genesis.validators.push(GenesisValidator {
            address: Address::repeat_byte(0xb0 + i as u8),
            consensus_key: public,
            power: 1,
        });
        keys.push((home, file));
    }
    let path = write_genesis(dir, &genesis)?;
    let p2p = consensus_ports(n)?;
    let mut nodes = vec![];
    for (i, (home, key_file)) in keys.into_iter().enumerate() {
        let mut c = node_config(&home, &path, block_time_ms);
        c.validator = Some(ValidatorConfig {
            key_file,
            peers: (0..n)
                .filter(|j| *j != i)
                .map(|j| bft::parse_peer(&format!("127.0.0.1:{}", p2p[j])))
                .collect::<eyre::Result<_>>()?,
            listen: bft::parse_peer(&format!("127.0.0.1:{}", p2p[i]))?,
        });
        nodes.push(
            server::start(&c)
                .await
                .wrap_err_with(|| format!("starting validator {i}"))?,
        );
    }
    // The REST ports are known now: each node relays to the others.
    for (i, node) in nodes.iter().enumerate() {
        let others = nodes.iter().enumerate().filter(|(j, _)| *j != i);
        node.relay_to(
            others
                .map(|(_, o)| format!("http://{}", o.addr).parse())
                .collect::<Result<_, _>>()?,
        )?;
    }
    // Wait until the validators have found each other and decided a block.
    let deadline = Instant::now() + Duration::from_secs(60);
    while nodes.iter().any(|n| n.app.state().head.height < 2) {
        if Instant::now() > deadline {
            bail!("the {n} validators decided no block in 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(nodes)
}

/// Throughput, then latency, on `nodes`; shuts them down.
async fn measure(
    producer: String,
    nodes: Vec<RunningNode>,
    work: &Workload,
    args: &ConsensusArgs,
) -> eyre::Result<RunReport> {
    let clients: Vec<Client> = nodes
        .iter()
        .map(|n| Client::new(&format!("http://{}", n.addr)))
        .collect::<eyre::Result<_>>()?;
    let app = Arc::clone(&nodes[0].app);
    let total = work.batches.len() * args.accounts;
    let committed0 = app.metrics.txs_committed.get();
    let blocks0 = app.metrics.blocks.get();

    // Throughput: four concurrent senders per node, batches round-robin over the nodes.
    let bar = progress(total, "committed transfers");
    let queue = Arc::new(tokio::sync::Mutex::new(
        work.batches.clone().into_iter().enumerate(),
    ));
    let start = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for s in 0..4 * clients.len() {
        let (queue, client) = (Arc::clone(&queue), clients[s % clients.len()].clone());
        senders.spawn(async move {
            loop {
                let next = queue.lock().await.next();
                let Some((i, body)) = next else {
                    return eyre::Ok(());
                };
                let v = client
                    .post_raw("/v1/txs", body)
                    .await
                    .wrap_err_with(|| format!("batch {i}"))?;
                let refused = v["results"]
                    .as_array()
                    .map_or(0, |r| r.iter().filter(|x| x.get("error").is_some()).count());
                ensure!(
                    refused == 0,
                    "batch {i}: {refused} refused: {}",
                    v["results"][0]
                );
            }
        });
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = app.metrics.txs_committed.get() - committed0;
        bar.set_position(done);
        if let Some(r) = senders.try_join_next() {
            r??;
        }
        if done as usize >= total {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("{producer}: {done}/{total} committed after 10 minutes");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    while let Some(r) = senders.join_next().await {
        r??;
    }
    let blocks = app.metrics.blocks.get() - blocks0;

    // Latency: one transfer at a time, sent at a random point of the block time, timed to its
    // receipt on the node it was sent to.
    let bar = progress(work.singles.len(), "timed transfers");
    let mut ms = Vec::with_capacity(work.singles.len());
    for (i, (hash, body)) in work.singles.iter().enumerate() {
        let pause = rand::thread_rng().gen_range(0..args.block_time_ms.max(1));
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let node = &nodes[i % nodes.len()];
        let t0 = Instant::now();
        clients[i % nodes.len()]
            .post_raw("/v1/txs", body.clone())
            .await?;
        loop {
            match node.app.tx_status(hash)? {
                TxStatus::Committed(_) => break,
                TxStatus::Dropped(r) => bail!("{producer}: timed transfer dropped: {r}"),
                _ if t0.elapsed() > Duration::from_secs(60) => {
                    let seen: Vec<String> = nodes
                        .iter()
                        .map(|n| {
                            let status = n.app.tx_status(hash).map(|s| format!("{s:?}"));
                            format!(
                                "{} at height {}: {status:?}",
                                n.addr,
                                n.app.state().head.height
                            )
                        })
                        .collect();
                    bail!(
                        "{producer}: transfer {hash} sent to {} was not committed in 60 s; {}",
                        node.addr,
                        seen.join("; ")
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
        bar.inc(1);
    }
    bar.finish_and_clear();
    for n in nodes {
        n.shutdown().await?;
    }
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    Ok(RunReport {
        producer,
        txs: total,
        seconds,
        tps: total as f64 / seconds,
        blocks,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    })
}
