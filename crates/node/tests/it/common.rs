//! Fixtures: start a node on a free port with a genesis funding test keys.

use std::time::Duration;

use ledger::{Address, Call, Genesis, Tx, genesis::AmountStr, tx::SignedTx};
use node::{config::NodeConfig, server::RunningNode};
use wallet::PrivateKey;

pub const CHAIN_ID: u64 = 31_337;

pub fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes(&ledger::keccak256(format!("node test key {i}")).0).unwrap()
}

pub fn addr(i: u32) -> Address {
    key(i).address()
}

pub struct TestNode {
    pub node: RunningNode,
    pub url: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts a node whose genesis funds keys 0..4 (1,000 native each; USD issued by key 0).
pub async fn start(block_time: Duration, mempool_capacity: usize) -> TestNode {
    start_with(block_time, mempool_capacity, |_| {}).await
}

/// [`start`] with the configuration adjusted by `adjust` before the node starts.
pub async fn start_with(
    block_time: Duration,
    mempool_capacity: usize,
    adjust: impl FnOnce(&mut NodeConfig),
) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let addrs: Vec<Address> = (0..4).map(addr).collect();
    let mut g = Genesis::dev(CHAIN_ID, node::app::now_ms(), &addrs);
    g.alloc.insert(addr(9), AmountStr(500)); // can't pay much
    // The x402 facilitator's relayer pays the settlement fees.
    let relayer = node::dev::dev_key(9).unwrap().address();
    g.alloc.insert(relayer, AmountStr(1_000 * 10u128.pow(9)));
    let gp = dir.path().join("genesis.json");
    std::fs::write(&gp, serde_json::to_vec(&g).unwrap()).unwrap();
    let mut c = NodeConfig::new(dir.path().join("data"));
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.block_time = block_time;
    c.genesis = Some(gp);
    c.mempool_capacity = mempool_capacity;
    // The facilitator relays with dev key 9, read from a keystore file like a real node's.
    let ks = dir.path().join("relayer.json");
    let json = wallet::encrypt(
        &node::dev::dev_key(9).unwrap(),
        b"relayer",
        wallet::ScryptParams::LIGHT,
    )
    .unwrap();
    std::fs::write(&ks, serde_json::to_vec(&json).unwrap()).unwrap();
    std::fs::write(dir.path().join("relayer-password"), "relayer\n").unwrap();
    c.facilitator_key = Some((ks, dir.path().join("relayer-password")));
    adjust(&mut c);
    let node = node::server::start(&c).await.unwrap();
    let url = format!("http://{}", node.addr);
    TestNode {
        node,
        url,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

pub fn signed(k: &PrivateKey, nonce: u64, fee: u64, expiry: u64, call: Call) -> SignedTx {
    let tx = Tx {
        from: k.address(),
        nonce,
        fee,
        expiry,
        call,
    };
    tx.sign_with(CHAIN_ID, |h| k.sign_hash(h).map(|s| s.to_bytes()))
        .unwrap()
}

pub fn transfer(i: u32, nonce: u64, to: u32, amount: u128) -> SignedTx {
    signed(
        &key(i),
        nonce,
        1_000,
        0,
        Call::Transfer {
            to: addr(to),
            asset: ledger::NATIVE,
            amount,
        },
    )
}

impl TestNode {
    pub async fn post(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let v = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, v, headers)
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn submit(&self, tx: &SignedTx) -> (u16, serde_json::Value) {
        let (s, v, _) = self.post("/v1/tx", serde_json::to_vec(tx).unwrap()).await;
        (s, v)
    }

    pub async fn balance(&self, a: Address) -> String {
        let (_, v) = self.get(&format!("/v1/accounts/{a}")).await;
        v["balances"]["0x0000000000000000000000000000000000000000"]
            .as_str()
            .unwrap_or("0")
            .to_owned()
    }

    /// Waits until `hash` is committed; returns the status document.
    pub async fn committed(&self, hash: &str) -> serde_json::Value {
        for _ in 0..100 {
            let (_, v) = self.get(&format!("/v1/tx/{hash}")).await;
            if v["status"] == "committed" {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{hash} not committed");
    }
}
