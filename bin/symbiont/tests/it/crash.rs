//! Crash safety: stream transfers at a real `symbiont node` process, SIGKILL it mid-load,
//! restart it, and check that nothing reported committed was lost and supply is conserved.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use ledger::{Address, Call, Genesis, NATIVE, SignedTx, Tx, genesis::AmountStr};
use wallet::PrivateKey;

const CHAIN_ID: u64 = 4242;
const MIN_FEE: u64 = 1_000;
const ACCOUNTS: usize = 40;
const BALANCE: u128 = 1_000_000_000_000;

fn key(i: usize) -> PrivateKey {
    PrivateKey::from_bytes(&ledger::keccak256(format!("crash key {i}")).0).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Node {
    child: Child,
    url: String,
}

fn spawn(data: &std::path::Path, genesis: &std::path::Path) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_symbiont"))
        .args([
            "node",
            "--block-time-ms",
            "50",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--genesis")
        .arg(genesis)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node at {url} did not become healthy");
}

async fn get_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// The balance of the native token in an account document.
fn native_balance(account: &serde_json::Value) -> u128 {
    account["balances"][NATIVE.to_string()]
        .as_str()
        .map_or(0, |s| s.parse().unwrap())
}

async fn nonce(http: &reqwest::Client, url: &str, a: Address) -> Option<u64> {
    let v: serde_json::Value = http
        .get(format!("{url}/v1/accounts/{a}"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    v["nonce"].as_u64()
}

fn sign(k: &PrivateKey, nonce: u64) -> SignedTx {
    let call = Call::Transfer {
        to: Address::repeat_byte(0xee),
        asset: NATIVE,
        amount: 1 + u128::from(nonce % 7),
    };
    let tx = Tx {
        from: k.address(),
        nonce,
        fee: MIN_FEE,
        expiry: 0,
        call,
    };
    tx.sign_with(CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<PrivateKey> = (0..ACCOUNTS).map(key).collect();
    let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
    let genesis = Genesis {
        chain_id: CHAIN_ID,
        timestamp_ms: 1_700_000_000_000,
        min_fee: MIN_FEE,
        alloc: addrs.iter().map(|a| (*a, AmountStr(BALANCE))).collect(),
        assets: vec![],
        share_rule: Default::default(),
        validators: Vec::new(),
        compute: None,
        infer: None,
    };
    let gpath = dir.path().join("genesis.json");
    std::fs::write(&gpath, serde_json::to_vec(&genesis).unwrap()).unwrap();
    let data = dir.path().join("data");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // Hashes by (account, nonce), and the highest nonce each account was reported to have.
    let mut hashes: HashMap<(usize, u64), String> = HashMap::new();
    let mut reported = vec![0u64; ACCOUNTS];
    let mut next = vec![0u64; ACCOUNTS];

    for cycle in 0..3u64 {
        let mut node = spawn(&data, &gpath);
        wait_healthy(&http, &node.url).await;
        // After a restart the node resumes from committed state: continue from its nonces.
        for (i, a) in addrs.iter().enumerate() {
            let n = nonce(&http, &node.url, *a).await.unwrap();
            assert!(
                n >= reported[i],
                "cycle {cycle}: account {i} went back from {} to {n}",
                reported[i]
            );
            next[i] = n;
        }
        let load_for = Duration::from_millis(700 + 400 * cycle);
        let start = Instant::now();
        while start.elapsed() < load_for {
            let batch: Vec<SignedTx> = (0..ACCOUNTS)
                .map(|i| {
                    let tx = sign(&keys[i], next[i]);
                    hashes.insert((i, next[i]), format!("{}", tx.tx.signing_hash(CHAIN_ID)));
                    next[i] += 1;
                    tx
                })
                .collect();
            let r = http
                .post(format!("{}/v1/txs", node.url))
                .json(&batch)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            // Record what the node now reports as committed.
            for (i, a) in addrs.iter().enumerate().step_by(7) {
                if let Some(n) = nonce(&http, &node.url, *a).await {
                    reported[i] = reported[i].max(n);
                }
            }
        }
        for (i, a) in addrs.iter().enumerate() {
            if let Some(n) = nonce(&http, &node.url, *a).await {
                reported[i] = reported[i].max(n);
            }
        }
        node.child.kill().unwrap(); // SIGKILL, mid-load: batches may be in flight
        node.child.wait().unwrap();
    }

    let mut node = spawn(&data, &gpath);
    wait_healthy(&http, &node.url).await;
    let mut committed_total = 0u64;
    let mut balances: u128 = 0;
    for (i, a) in addrs.iter().enumerate() {
        let v: serde_json::Value = get_json(&http, format!("{}/v1/accounts/{a}", node.url)).await;
        let n = v["nonce"].as_u64().unwrap();
        assert!(
            n >= reported[i],
            "account {i}: reported {} committed, found {n}",
            reported[i]
        );
        committed_total += n;
        balances += native_balance(&v);
        // Every transaction reported committed is present, with its receipt.
        for k in (0..reported[i]).step_by(3) {
            let h = &hashes[&(i, k)];
            let v: serde_json::Value = get_json(&http, format!("{}/v1/tx/{h}", node.url)).await;
            assert_eq!(v["status"], "committed", "account {i} nonce {k}: {v}");
        }
    }
    assert!(committed_total > 0, "the load committed nothing");
    eprintln!("{committed_total} transfers committed across three SIGKILLs");
    let sink: serde_json::Value = get_json(
        &http,
        format!("{}/v1/accounts/{}", node.url, Address::repeat_byte(0xee)),
    )
    .await;
    balances += native_balance(&sink);
    let chain: serde_json::Value = get_json(&http, format!("{}/v1/chain", node.url)).await;
    let supply: u128 = chain["nativeSupply"].as_str().unwrap().parse().unwrap();
    let genesis_supply = BALANCE * ACCOUNTS as u128;
    assert_eq!(supply, balances, "supply equals the sum of balances");
    assert_eq!(
        supply,
        genesis_supply - u128::from(MIN_FEE) * u128::from(committed_total),
        "only fees were burned"
    );

    // The restarted node still works.
    let n0 = nonce(&http, &node.url, addrs[0]).await.unwrap();
    let tx = sign(&keys[0], n0);
    let r = http
        .post(format!("{}/v1/tx", node.url))
        .json(&tx)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while nonce(&http, &node.url, addrs[0]).await.unwrap() == n0 {
        assert!(Instant::now() < deadline, "restarted node does not commit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}
