//! `symbiont testnet`: a local BFT testnet of `symbiont node` processes on loopback.
//!
//! Writes one consensus key per validator and a dev genesis listing them (validator `i`
//! proposes as dev account `i`), starts one `symbiont node --validator-key … --peers …
//! --tx-relay …` child per validator (each relays its clients' transactions to the others),
//! prints how to reach each, and stops them all on Ctrl-C or SIGTERM. Run again on the same
//! `--dir`, it restarts the same chain.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use eyre::{WrapErr, bail, ensure};
use ledger::{Genesis, GenesisValidator};

use crate::{app::now_ms, bft, dev};

/// Start a local testnet: N validators running BFT consensus on loopback ports.
#[derive(Debug, clap::Args)]
pub struct TestnetCmd {
    /// Number of validators (1 to 10; validator i proposes as dev account i)
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Directory for the keys, the genesis file and each node's data
    /// [default: ~/.symbiont/testnet]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// REST port of node 0: node i serves its API on BASE+i and consensus on BASE+100+i
    #[arg(long, default_value_t = 8520)]
    base_port: u16,
    /// Least milliseconds between blocks
    #[arg(long, default_value_t = 250)]
    block_time_ms: u64,
}

/// Ports of node `i`: (REST, consensus).
fn ports(base: u16, i: u32) -> eyre::Result<(u16, u16)> {
    let i = u16::try_from(i)?;
    let rest = base.checked_add(i);
    let p2p = base.checked_add(100).and_then(|p| p.checked_add(i));
    match (rest, p2p) {
        (Some(r), Some(p)) => Ok((r, p)),
        _ => bail!("--base-port {base} is too high"),
    }
}

impl TestnetCmd {
    /// Runs until Ctrl-C or SIGTERM.
    pub fn run(self) -> eyre::Result<()> {
        let n = self.validators;
        ensure!((1..=10).contains(&n), "--validators must be 1 to 10");
        let dir = self.dir.clone().unwrap_or_else(|| {
            crate::config::default_data_dir()
                .parent()
                .map_or_else(|| PathBuf::from("testnet"), |p| p.join("testnet"))
        });
        prepare(&dir, n)?;
        let exe = std::env::current_exe()?;
        let mut children = vec![];
        for i in 0..n {
            let (rest, p2p) = ports(self.base_port, i)?;
            let home = node_dir(&dir, i);
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(home.join("node.log"))?;
            let child = Command::new(&exe)
                .args(node_args(&dir, n, i, self.base_port, self.block_time_ms)?)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .wrap_err("starting a node")?;
            println!(
                "node {i} (pid {}): http://127.0.0.1:{rest}  consensus /ip4/127.0.0.1/tcp/{p2p}  log {}",
                child.id(),
                home.join("node.log").display()
            );
            children.push(child);
        }
        println!(
            "testnet of {n} validators (chain {}) in {}; dev keys 0-9 are funded; Ctrl-C stops it",
            dev::DEV_CHAIN_ID,
            dir.display()
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(watch(&mut children));
        stop(children);
        Ok(())
    }
}

fn node_dir(dir: &Path, i: u32) -> PathBuf {
    dir.join(format!("node-{i}"))
}

/// The `symbiont` arguments that run validator `i` of the `n` in `dir` (REST on `base + i`,
/// consensus on `base + 100 + i`): what `symbiont testnet` starts, and what restarts one node
/// of it by hand.
pub fn node_args(
    dir: &Path,
    n: u32,
    i: u32,
    base: u16,
    block_time_ms: u64,
) -> eyre::Result<Vec<std::ffi::OsString>> {
    let (rest, p2p) = ports(base, i)?;
    let home = node_dir(dir, i);
    let mut peers = vec![];
    let mut relay = vec![];
    for j in (0..n).filter(|j| *j != i) {
        let (r, p) = ports(base, j)?;
        peers.push(format!("127.0.0.1:{p}"));
        relay.push(format!("http://127.0.0.1:{r}"));
    }
    let mut args: Vec<std::ffi::OsString> = vec![
        "node".into(),
        "--data-dir".into(),
        home.clone().into(),
        "--genesis".into(),
        dir.join("genesis.json").into(),
        "--listen".into(),
        format!("127.0.0.1:{rest}").into(),
        "--block-time-ms".into(),
        block_time_ms.to_string().into(),
        "--validator-key".into(),
        home.join("consensus-key.json").into(),
        "--consensus-listen".into(),
        format!("/ip4/127.0.0.1/tcp/{p2p}").into(),
    ];
    if !peers.is_empty() {
        args.extend([
            "--peers".into(),
            peers.join(",").into(),
            "--tx-relay".into(),
            relay.join(",").into(),
        ]);
    }
    Ok(args)
}

/// Writes the keys and the genesis file unless `dir` already holds a testnet of `n`
/// validators.
fn prepare(dir: &Path, n: u32) -> eyre::Result<()> {
    let path = dir.join("genesis.json");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let g: Genesis =
            serde_json::from_str(&text).wrap_err_with(|| format!("parsing {}", path.display()))?;
        ensure!(
            g.validators.len() == n as usize,
            "{} holds a testnet of {} validators, not {n} (use another --dir)",
            dir.display(),
            g.validators.len()
        );
        return Ok(());
    }
    let accounts = dev::dev_addresses(10)?;
    let mut genesis = Genesis::dev(dev::DEV_CHAIN_ID, now_ms(), &accounts);
    for (i, address) in (0..n).zip(&accounts) {
        let home = node_dir(dir, i);
        std::fs::create_dir_all(&home).wrap_err_with(|| format!("creating {}", home.display()))?;
        let key = consensus::ConsensusKey::generate(rand::rngs::OsRng);
        let public = bft::write_key_file(&home.join("consensus-key.json"), &key)?;
        genesis.validators.push(GenesisValidator {
            address: *address,
            consensus_key: public,
            power: 1,
        });
    }
    std::fs::write(&path, serde_json::to_string_pretty(&genesis)?)?;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM, reporting nodes that exit on their own meanwhile.
async fn watch(children: &mut [Child]) {
    let mut reported = vec![false; children.len()];
    let signal = crate::server::shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        for (i, c) in children.iter_mut().enumerate() {
            if !reported[i]
                && let Ok(Some(status)) = c.try_wait()
            {
                eprintln!("node {i} exited: {status}");
                reported[i] = true;
            }
        }
    }
}

/// Asks every node to stop (SIGTERM: each drains and closes its store), waits up to ten
/// seconds, then kills what is left.
fn stop(mut children: Vec<Child>) {
    for c in &mut children {
        if matches!(c.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for c in &mut children {
        while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(c.try_wait(), Ok(None)) {
            let _ = c.kill();
        }
        let _ = c.wait();
    }
    println!("testnet stopped");
}
