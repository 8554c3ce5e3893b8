//! `symbiont testnet --validators 4` end to end: four `symbiont node` processes run BFT
//! consensus on loopback; transfers sent to different nodes are relayed and committed on
//! every node, all at the same heights with the same blocks and state roots; after `kill -9`
//! of one validator the other three keep committing, and restarted it catches up; with two of
//! four down nothing is committed and nothing forks, and with one of them back the chain goes
//! on.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use ledger::{Address, Call, NATIVE, SignedTx, Tx};
use node::dev::{DEV_CHAIN_ID, dev_key};
use serde_json::Value;

const N: usize = 4;

/// A base port such that the REST ports `base..base+N` and consensus ports
/// `base+100..base+100+N` are free now, all below Linux's ephemeral range (32768 and up) so
/// that the nodes' own outgoing connections cannot take them before a node restarts.
fn base_port() -> u16 {
    let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    for attempt in 0..100u32 {
        let spread = (nanos ^ std::process::id().rotate_left(16)).wrapping_add(attempt * 7_919);
        let base = 20_000 + (spread % 12_000) as u16;
        if (0..N as u16).all(|i| free(base + i) && free(base + 100 + i)) {
            return base;
        }
    }
    panic!("no free ports");
}

/// The block time the testnet runs with.
const BLOCK_TIME_MS: u64 = 250;

/// The testnet process; stopped with SIGTERM (it stops its nodes) when dropped, with the
/// nodes the test restarted itself.
struct Testnet {
    child: Child,
    urls: Vec<String>,
    pids: Vec<u32>,
    dir: std::path::PathBuf,
    base: u16,
    restarted: Vec<Child>,
}

impl Testnet {
    /// `kill -9` of node `i`.
    fn kill(&mut self, i: usize) {
        Command::new("kill")
            .args(["-KILL", &self.pids[i].to_string()])
            .status()
            .unwrap();
    }

    /// Starts node `i` again on its data directory, as `symbiont testnet` started it.
    fn restart(&mut self, i: usize) {
        let args =
            node::cmd::testnet::node_args(&self.dir, N as u32, i as u32, self.base, BLOCK_TIME_MS)
                .unwrap();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join(format!("node-{i}/node.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_symbiont"))
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("TESTNET_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.pids[i] = child.id();
        self.restarted.push(child);
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What the nodes said last, for the failure report.
            for i in 0..N {
                let log = self.dir.join(format!("node-{i}/node.log"));
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!("--- node {i}: last lines of {}", log.display());
                for l in &lines[lines.len().saturating_sub(40)..] {
                    eprintln!("{l}");
                }
            }
        }
        for c in &mut self.restarted {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            // It did not stop its nodes in time: kill them and it.
            for pid in &self.pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Starts `symbiont testnet` and reads each node's pid and URL from its output.
fn start(dir: &std::path::Path) -> Testnet {
    let base = base_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_symbiont"))
        .args(["testnet", "--validators", &N.to_string(), "--base-port"])
        .arg(base.to_string())
        .arg("--block-time-ms")
        .arg(BLOCK_TIME_MS.to_string())
        .arg("--dir")
        .arg(dir)
        .env(
            "RUST_LOG",
            std::env::var("TESTNET_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut urls, mut pids) = (vec![], vec![]);
    while urls.len() < N {
        let line = lines.next().unwrap().unwrap();
        // node 0 (pid 123): http://127.0.0.1:8520  consensus …
        let pid = line
            .split("(pid ")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        pids.push(pid.parse().unwrap());
        let url = line.split_whitespace().find(|w| w.starts_with("http://"));
        urls.push(url.unwrap().to_string());
    }
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Testnet {
        child,
        urls,
        pids,
        dir: dir.to_path_buf(),
        base,
        restarted: vec![],
    }
}

async fn get(http: &reqwest::Client, url: String) -> Option<Value> {
    let r = http.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

async fn height(http: &reqwest::Client, url: &str) -> Option<u64> {
    get(http, format!("{url}/v1/chain")).await?["head"]["height"].as_u64()
}

/// Waits until `cond` holds, polling every 100 ms, or fails after `secs`.
async fn until<F: AsyncFnMut() -> bool>(what: &str, secs: u64, mut cond: F) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn transfer(key: u32, nonce: u64, to: u8) -> SignedTx {
    let k = dev_key(key).unwrap();
    let tx = Tx {
        from: k.address(),
        nonce,
        fee: 1_000,
        expiry: 0,
        call: Call::Transfer {
            to: Address::repeat_byte(to),
            asset: NATIVE,
            amount: 1_000 + u128::from(to),
        },
    };
    tx.sign_with(DEV_CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap()
}

/// Sends one transfer from dev key `key` to node `url`; returns its hash.
async fn send(http: &reqwest::Client, url: &str, key: u32, nonce: u64, to: u8) -> String {
    let tx = transfer(key, nonce, to);
    let hash = format!("{}", tx.tx.signing_hash(DEV_CHAIN_ID));
    let r = http
        .post(format!("{url}/v1/txs"))
        .json(&vec![tx])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["hash"], hash.as_str(), "{body}");
    hash
}

/// Whether every node in `urls` has `hash` committed.
async fn committed_everywhere(http: &reqwest::Client, urls: &[String], hash: &str) -> bool {
    for u in urls {
        match get(http, format!("{u}/v1/tx/{hash}")).await {
            Some(v) if v["status"] == "committed" => {}
            _ => return false,
        }
    }
    true
}

/// The block at `h` on every node in `urls` is the same (same hash, header and state root).
async fn same_block(http: &reqwest::Client, urls: &[String], h: u64) {
    let mut blocks = vec![];
    for u in urls {
        blocks.push(get(http, format!("{u}/v1/blocks/{h}")).await.unwrap());
    }
    for b in &blocks[1..] {
        assert_eq!(b, &blocks[0], "height {h} differs between nodes");
    }
    assert!(blocks[0]["hash"].is_string(), "{}", blocks[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_agree_survive_kills_catch_up_and_halt_without_a_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = start(dir.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let urls = net.urls.clone();

    // Consensus decides heights on every node.
    until("every node at height 2", 45, async || {
        for u in &urls {
            if height(&http, u).await.is_none_or(|h| h < 2) {
                return false;
            }
        }
        true
    })
    .await;

    // Transfers from different dev accounts (not the validators' 0-3), each to another node.
    let mut hashes = vec![];
    for (i, url) in urls.iter().enumerate() {
        let key = 4 + i as u32;
        hashes.push(send(&http, url, key, 0, 0xe0 + i as u8).await);
    }
    for h in &hashes {
        until("transfers committed on every node", 30, async || {
            committed_everywhere(&http, &urls, h).await
        })
        .await;
    }
    // Every node reaches the same height with the same blocks and state roots.
    let top = level(&http, &urls).await;
    for h in 1..=top {
        same_block(&http, &urls, h).await;
    }
    for (i, h) in hashes.iter().enumerate() {
        let to = Address::repeat_byte(0xe0 + i as u8);
        for u in &urls {
            let acct = get(&http, format!("{u}/v1/accounts/{to}")).await.unwrap();
            let bal = acct["balances"][NATIVE.to_string()].as_str().unwrap_or("0");
            assert_eq!(bal, (1_000 + 0xe0 + i).to_string(), "{h} on {u}: {acct}");
        }
    }

    // Each node relayed its client's transfer to the other three.
    for u in &urls {
        assert!(
            metric(&http, u, "symbiont_txs_relayed_total").await >= 3,
            "{u}"
        );
    }

    // kill -9 one validator: the other three (a 3/4 quorum) keep committing.
    net.kill(N - 1);
    let live = &urls[..N - 1];
    let hash = send(&http, &live[0], 4, 1, 0xf0).await;
    until("a transfer committed by the three left", 30, async || {
        committed_everywhere(&http, live, &hash).await
    })
    .await;
    let after = top_height(&http, live).await;
    assert!(after > top, "no progress after the kill: {after} <= {top}");
    assert!(
        height(&http, &urls[N - 1]).await.is_none(),
        "the killed node still answers"
    );

    // Restarted on its store, it catches up; a transfer sent to it is committed everywhere.
    net.restart(N - 1);
    let target = top_height(&http, live).await;
    until("the restarted node catches up", 60, async || {
        height(&http, &urls[N - 1])
            .await
            .is_some_and(|h| h >= target)
    })
    .await;
    let hash = send(&http, &urls[N - 1], 7, 1, 0xf1).await;
    until(
        "a transfer sent to the restarted node committed",
        30,
        async || committed_everywhere(&http, &urls, &hash).await,
    )
    .await;
    let top = level(&http, &urls).await;
    for h in 1..=top {
        same_block(&http, &urls, h).await;
    }

    // Two of four down: below the 2/3 quorum nothing is committed, and nothing forks.
    net.kill(N - 1);
    net.kill(N - 2);
    let pair = &urls[..2];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled = level(&http, pair).await;
    let pending = send(&http, &pair[0], 8, 0, 0xf2).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    for u in pair {
        assert_eq!(
            height(&http, u).await,
            Some(stalled),
            "{u} went on without a quorum"
        );
    }
    assert!(!committed_everywhere(&http, &pair[..1], &pending).await);
    same_block(&http, pair, stalled).await;

    // One of them back: three of four again, the chain goes on, the held transfer commits.
    net.restart(N - 2);
    let three = &urls[..3];
    until("the pending transfer committed by three", 60, async || {
        committed_everywhere(&http, three, &pending).await
    })
    .await;
    let top = level(&http, three).await;
    assert!(top > stalled);
    for h in 1..=top {
        same_block(&http, three, h).await;
    }
}

/// The highest head among `urls`.
async fn top_height(http: &reqwest::Client, urls: &[String]) -> u64 {
    let mut top = 0;
    for u in urls {
        top = top.max(height(http, u).await.unwrap_or(0));
    }
    top
}

/// Waits until every node in `urls` is at the highest head among them; returns it.
async fn level(http: &reqwest::Client, urls: &[String]) -> u64 {
    let top = top_height(http, urls).await;
    until("the nodes at the same height", 30, async || {
        for u in urls {
            if height(http, u).await.is_none_or(|h| h < top) {
                return false;
            }
        }
        true
    })
    .await;
    top
}

/// A counter from a node's `/metrics`.
async fn metric(http: &reqwest::Client, url: &str, name: &str) -> u64 {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}
