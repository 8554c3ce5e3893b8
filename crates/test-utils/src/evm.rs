//! A local EVM node for tests: [`Anvil`] runs the `anvil` binary shipped by the pinned npm
//! package `@foundry-rs/anvil-linux-amd64` in `interop/` (offline; the wrapper
//! package `@foundry-rs/anvil` cannot be pinned by `npm ci` where the registry lacks its other
//! platforms' packages), on a free port, and kills it on drop.
//!
//! ```no_run
//! use test_utils::evm::{Anvil, AnvilOptions, DEV_KEYS};
//! let node = Anvil::spawn(AnvilOptions::default())?;
//! let url = node.url(); // http://127.0.0.1:<port>
//! let payer_key = DEV_KEYS[1];
//! # Ok::<(), eyre::Report>(())
//! ```
//!
//! Anvil's accounts come from the standard test mnemonic
//! `test test test test test test test test test test test junk` (`m/44'/60'/0'/0/i`); each
//! holds 10 000 ETH at genesis. [`DEV_KEYS`] and [`DEV_ADDRESSES`] list the first ten.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use eyre::{WrapErr, bail, eyre};

use crate::interop::try_interop_dir;

/// Anvil's dev private keys (hex, `0x`-prefixed), accounts 0–9 of the standard test mnemonic.
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The EIP-55 addresses of [`DEV_KEYS`].
pub const DEV_ADDRESSES: [&str; 10] = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
];

/// Anvil's default chain id.
pub const DEFAULT_CHAIN_ID: u64 = 31337;

/// How long [`Anvil::spawn`] waits for the node to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How blocks are produced, and on which chain.
#[derive(Debug, Clone, Default)]
pub struct AnvilOptions {
    /// `--chain-id` (default [`DEFAULT_CHAIN_ID`]).
    pub chain_id: Option<u64>,
    /// `--block-time <secs>`: interval mining instead of one block per transaction.
    pub block_time: Option<u64>,
    /// `--no-mining`: blocks only on `evm_mine` (transactions stay pending until then).
    pub no_mining: bool,
}

impl AnvilOptions {
    /// Blocks only on `evm_mine`.
    pub fn no_mining() -> Self {
        AnvilOptions {
            no_mining: true,
            ..Self::default()
        }
    }

    /// One block every `secs` seconds.
    pub fn block_time(secs: u64) -> Self {
        AnvilOptions {
            block_time: Some(secs),
            ..Self::default()
        }
    }
}

/// A running anvil, killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    addr: SocketAddr,
    chain_id: u64,
}

impl Anvil {
    /// Starts anvil on a free port of 127.0.0.1 (`--port 0`; the port is read from its
    /// `Listening on` line) and waits until it answers `eth_chainId`.
    pub fn spawn(options: AnvilOptions) -> eyre::Result<Self> {
        let chain_id = options.chain_id.unwrap_or(DEFAULT_CHAIN_ID);
        let mut cmd = Command::new(anvil_binary()?);
        cmd.args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--chain-id", &chain_id.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(secs) = options.block_time {
            cmd.args(["--block-time", &secs.to_string()]);
        }
        if options.no_mining {
            cmd.arg("--no-mining");
        }
        let mut child = cmd.spawn().wrap_err("spawning anvil")?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| eyre!("anvil stdout not captured"))?;
        // Anvil logs every request on stdout: a thread reads it to the end so the pipe never
        // fills, reporting the listening address once.
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("anvil-stdout".into())
            .spawn(move || drain(stdout, tx))
            .wrap_err("spawning the anvil stdout reader")?;
        let mut node = Anvil {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            chain_id,
        };
        node.addr = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => bail!("anvil did not report its address within {STARTUP_TIMEOUT:?}"),
        };
        node.wait_ready()?;
        Ok(node)
    }

    /// The JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The chain id the node was started with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// A blocking JSON-RPC call returning its `result`, for setup steps (`evm_mine`,
    /// `anvil_setBalance`); tests talk to the node through their own client.
    pub fn rpc(&self, method: &str, params: serde_json::Value) -> eyre::Result<serde_json::Value> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut response: serde_json::Value =
            serde_json::from_str(&http_post(self.addr, &body.to_string())?)
                .wrap_err_with(|| format!("{method}: malformed JSON-RPC response"))?;
        if let Some(error) = response.get("error") {
            bail!("{method} failed: {error}");
        }
        response
            .get_mut("result")
            .map(serde_json::Value::take)
            .ok_or_else(|| eyre!("{method}: no result"))
    }

    /// Mines one block (`evm_mine`).
    pub fn mine(&self) -> eyre::Result<()> {
        self.rpc("evm_mine", serde_json::json!([])).map(drop)
    }

    fn wait_ready(&self) -> eyre::Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match self.rpc("eth_chainId", serde_json::json!([])) {
                Ok(id) if id.as_str() == Some(format!("{:#x}", self.chain_id).as_str()) => {
                    return Ok(());
                }
                Ok(id) => bail!("anvil answers chain id {id}, expected {}", self.chain_id),
                Err(e) if Instant::now() > deadline => return Err(e.wrap_err("anvil not ready")),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The platform binary of anvil (`@foundry-rs/anvil-<platform>`; a `.bin/anvil` wrapper is a node script that
/// does not pass SIGKILL on to its child), or the wrapper when no platform package is found.
fn anvil_binary() -> eyre::Result<PathBuf> {
    let modules = try_interop_dir()?.join("node_modules");
    let scope = modules.join("@foundry-rs");
    if let Ok(entries) = std::fs::read_dir(&scope) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let bin = entry.path().join("bin/anvil");
            if name.to_string_lossy().starts_with("anvil-") && bin.is_file() {
                return Ok(bin);
            }
        }
    }
    let wrapper = modules.join(".bin/anvil");
    if wrapper.exists() {
        Ok(wrapper)
    } else {
        bail!("no anvil in {}", modules.display())
    }
}

/// Reads anvil's stdout to the end, sending the address of its `Listening on` line.
fn drain(stdout: impl Read, tx: mpsc::Sender<SocketAddr>) {
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let Ok(line) = line else { return };
        if let Some(addr) = line.trim().strip_prefix("Listening on ") {
            if let Ok(addr) = addr.trim().parse() {
                let _ = tx.send(addr);
            }
            break;
        }
    }
    for _ in lines {}
}

/// One HTTP/1.1 POST of a JSON body; returns the response body.
fn http_post(addr: SocketAddr, body: &str) -> eyre::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .wrap_err_with(|| format!("connecting to anvil at {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| eyre!("malformed HTTP response from anvil"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("anvil answered {}", head.lines().next().unwrap_or(head));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawns_on_a_free_port_answers_and_dies_on_drop() {
        let a = Anvil::spawn(AnvilOptions::default()).unwrap();
        let b = Anvil::spawn(AnvilOptions {
            chain_id: Some(8453),
            ..AnvilOptions::no_mining()
        })
        .unwrap();
        assert_ne!(a.url(), b.url());
        let none = serde_json::json!([]);
        assert_eq!(a.rpc("eth_chainId", none.clone()).unwrap(), "0x7a69");
        assert_eq!(b.rpc("eth_chainId", none.clone()).unwrap(), "0x2105");
        let balance = a
            .rpc(
                "eth_getBalance",
                serde_json::json!([DEV_ADDRESSES[9], "latest"]),
            )
            .unwrap();
        assert_eq!(balance, "0x21e19e0c9bab2400000", "10 000 ETH");
        assert_eq!(b.rpc("eth_blockNumber", none.clone()).unwrap(), "0x0");
        b.mine().unwrap();
        assert_eq!(b.rpc("eth_blockNumber", none).unwrap(), "0x1");
        let addr = a.addr;
        drop(a);
        thread::sleep(Duration::from_millis(200));
        assert!(
            http_post(addr, "{}").is_err(),
            "anvil still answers after drop"
        );
    }
}
