//! `symbiont bench`: measured benchmarks that report a ratio against a peer measured in the
//! same run. `symbiont bench x402` lives in [`crate::cmd::bench_x402`], `symbiont bench
//! gateway` in [`crate::cmd::bench_gateway`].
//!
//! `symbiont bench ledger` runs a node in this process with a durable redb store, streams
//! pre-signed transfers at it through the HTTP batch API and measures sustained committed
//! transfers per second. In the same run it measures this machine's secp256k1 public-key
//! recovery rate (with address derivation, which is what admitting a transaction costs) on
//! one core and on all cores, and prints committed tx/s as a fraction of the all-core rate.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use eyre::{WrapErr, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::{Address, B256, Call, Genesis, NATIVE, Tx, genesis::AmountStr, tx::SignedTx};
use rayon::prelude::*;
use wallet::PrivateKey;

use crate::{client::Client, config::NodeConfig, server};

/// Benchmarks.
#[derive(Debug, clap::Args)]
pub struct BenchCmd {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Sustained committed transfers/s through the HTTP batch API vs. secp256k1 recovery rate.
    Ledger(LedgerArgs),
    /// x402: facilitator verifications/s vs. recovery rate, paid-request latency, settled
    /// payments/s.
    X402(crate::cmd::bench_x402::X402Args),
    /// Inference through the paid gateway vs. straight to a miner: p50/p99 and their ratio
    /// (real models; fetched on first use).
    Gateway(crate::cmd::bench_gateway::GatewayArgs),
    /// The ledger on BFT validators vs. the solo producer on this machine: committed
    /// transfers/s and submit-to-finality latency (p50, p99).
    Consensus(crate::cmd::bench_consensus::ConsensusArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct LedgerArgs {
    /// Total transfers to commit.
    #[arg(long, default_value_t = 200_000)]
    txs: usize,
    /// Sending accounts (each batch carries one transfer per account).
    #[arg(long, default_value_t = 2_000)]
    accounts: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Signatures to recover per core when measuring the recovery rate.
    #[arg(long, default_value_t = 20_000)]
    recoveries: usize,
    /// Keep the node's data directory here instead of a temporary one.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

impl BenchCmd {
    /// Runs the benchmark.
    pub fn run(self) -> eyre::Result<()> {
        let args = match self.cmd {
            Sub::Ledger(args) => args,
            Sub::X402(args) => return crate::cmd::bench_x402::run(args),
            Sub::Gateway(args) => return crate::cmd::bench_gateway::run(args),
            Sub::Consensus(args) => return crate::cmd::bench_consensus::run(args),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let report = rt.block_on(bench_ledger(args))?;
        println!("{report}");
        Ok(())
    }
}

/// Results of `symbiont bench ledger`.
#[derive(Debug, Clone, Copy)]
pub struct LedgerReport {
    /// Transfers committed.
    pub txs: usize,
    /// Seconds from the first submission to the last commit.
    pub seconds: f64,
    /// Sustained committed transfers per second.
    pub tps: f64,
    /// Recoveries per second on one core.
    pub recover_one: f64,
    /// Recoveries per second on all cores.
    pub recover_all: f64,
    /// Cores used.
    pub cores: usize,
    /// Blocks committed during the run.
    pub blocks: u64,
}

impl std::fmt::Display for LedgerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "symbiont bench ledger")?;
        writeln!(
            f,
            "  committed transfers      {:>10}   in {:.2} s over {} blocks",
            self.txs, self.seconds, self.blocks
        )?;
        writeln!(
            f,
            "  sustained throughput     {:>10.0} tx/s (HTTP batch API, durable redb blocks)",
            self.tps
        )?;
        writeln!(
            f,
            "  secp256k1 recover, 1 core{:>10.0} /s",
            self.recover_one
        )?;
        writeln!(
            f,
            "  secp256k1 recover, {} cores{:>8.0} /s",
            self.cores, self.recover_all
        )?;
        write!(
            f,
            "  ratio tx/s : all-core recovery = {:.2} (target >= 0.50)",
            self.tps / self.recover_all
        )
    }
}

pub(crate) fn bench_key(i: usize) -> eyre::Result<PrivateKey> {
    let seed = alloy_primitives::keccak256(format!("symbiont bench key {i}"));
    Ok(PrivateKey::from_bytes(&seed.0)?)
}

/// Recoveries per second over `n` signatures per thread, on one thread and on all.
pub(crate) fn recovery_rates(n: usize) -> eyre::Result<(f64, f64, usize)> {
    let key = bench_key(0)?;
    let sigs: Vec<(B256, [u8; 65])> = (0..n)
        .into_par_iter()
        .map(|i| {
            let h = alloy_primitives::keccak256(i.to_be_bytes());
            key.sign_hash(&h).map(|s| (h, s.to_bytes()))
        })
        .collect::<Result<_, _>>()?;
    let recover_all = |sigs: &[(B256, [u8; 65])]| -> usize {
        sigs.iter()
            .filter(|(h, s)| ledger::tx::recover(h, &ledger::tx::Signature(*s)).is_ok())
            .count()
    };
    let t = Instant::now();
    let ok = recover_all(&sigs);
    let one = ok as f64 / t.elapsed().as_secs_f64();
    let cores = rayon::current_num_threads();
    let t = Instant::now();
    let ok_all: usize = (0..cores).into_par_iter().map(|_| recover_all(&sigs)).sum();
    let all = ok_all as f64 / t.elapsed().as_secs_f64();
    if ok != n {
        bail!("recovery failed for {} signatures", n - ok);
    }
    Ok((one, all, cores))
}

async fn bench_ledger(args: LedgerArgs) -> eyre::Result<LedgerReport> {
    let accounts = args.accounts.max(1);
    let rounds = args.txs.div_ceil(accounts);
    let style = ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());

    eprintln!("measuring secp256k1 recovery rate...");
    let recoveries = args.recoveries;
    let (recover_one, recover_all, cores) =
        tokio::task::spawn_blocking(move || recovery_rates(recoveries)).await??;

    // Keys and a genesis funding them.
    let keys: Vec<PrivateKey> = (0..accounts)
        .into_par_iter()
        .map(bench_key)
        .collect::<Result<_, _>>()?;
    let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
    let mut genesis = Genesis::dev(crate::dev::DEV_CHAIN_ID, crate::app::now_ms(), &[]);
    genesis.alloc = addrs
        .iter()
        .map(|a| (*a, AmountStr(10u128.pow(12))))
        .collect();
    let chain_id = genesis.chain_id;
    let min_fee = genesis.min_fee;

    let tmp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&data_dir)?;
    let genesis_path = data_dir.join("bench-genesis.json");
    std::fs::write(&genesis_path, serde_json::to_vec(&genesis)?)?;
    let mut config = NodeConfig::new(data_dir);
    config.listen = "127.0.0.1:0".parse()?;
    config.block_time = Duration::from_millis(args.block_time_ms);
    config.genesis = Some(genesis_path);
    config.mempool_capacity = (accounts * 64).max(100_000);
    config.max_block_txs = 100_000;

    // Pre-sign every transfer and pre-serialise every batch, so the clients only send bytes.
    let bar = ProgressBar::new((rounds * accounts) as u64).with_style(style.clone());
    bar.set_message("signing transfers");
    let sink = Address::repeat_byte(0xee);
    let batches: Vec<Vec<u8>> = (0..rounds)
        .map(|r| {
            let txs: Vec<SignedTx> = keys
                .par_iter()
                .map(|k| {
                    let call = Call::Transfer {
                        to: sink,
                        asset: NATIVE,
                        amount: 1,
                    };
                    let tx = Tx {
                        from: k.address(),
                        nonce: r as u64,
                        fee: min_fee,
                        expiry: 0,
                        call,
                    };
                    tx.sign_with(chain_id, |h| k.sign_hash(h).map(|s| s.to_bytes()))
                })
                .collect::<Result<_, _>>()?;
            bar.inc(txs.len() as u64);
            Ok(serde_json::to_vec(&txs)?)
        })
        .collect::<eyre::Result<_>>()?;
    bar.finish_and_clear();
    let total = rounds * accounts;

    let node = server::start(&config).await?;
    let client = Client::new(&format!("http://{}", node.addr))?;
    let app = Arc::clone(&node.app);
    let committed0 = app.metrics.txs_committed.get();
    let blocks0 = app.metrics.blocks.get();

    let bar = ProgressBar::new(total as u64).with_style(style);
    bar.set_message("committed transfers");
    let start = Instant::now();
    let queue = Arc::new(tokio::sync::Mutex::new(batches.into_iter().enumerate()));
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..args.clients.max(1) {
        let (queue, client) = (Arc::clone(&queue), client.clone());
        senders.spawn(async move {
            loop {
                let Some((i, body)) = queue.lock().await.next() else {
                    return eyre::Ok(());
                };
                let body = bytes::Bytes::from(body);
                loop {
                    match client.post_raw("/v1/txs", body.clone()).await {
                        Ok(v) => {
                            let rejected = v["results"].as_array().map_or(0, |r| {
                                r.iter().filter(|x| x.get("error").is_some()).count()
                            });
                            if rejected > 0 {
                                bail!(
                                    "batch {i}: {rejected} transfers rejected: {}",
                                    v["results"][0]
                                );
                            }
                            break;
                        }
                        Err(e) => match e.downcast_ref::<crate::client::ApiFailure>() {
                            Some(f) if f.status == 503 => {
                                tokio::time::sleep(Duration::from_millis(100)).await
                            }
                            _ => return Err(e).wrap_err(format!("batch {i}")),
                        },
                    }
                }
            }
        });
    }
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    loop {
        poll.tick().await;
        let done = (app.metrics.txs_committed.get() - committed0) as usize;
        bar.set_position(done as u64);
        if let Some(r) = senders.try_join_next() {
            r??;
        }
        if done >= total {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("benchmark did not finish in 10 minutes ({done}/{total} committed)");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    while let Some(r) = senders.join_next().await {
        r??;
    }
    let blocks = app.metrics.blocks.get() - blocks0;
    node.shutdown().await?;
    Ok(LedgerReport {
        txs: total,
        seconds,
        tps: total as f64 / seconds,
        recover_one,
        recover_all,
        cores,
        blocks,
    })
}
