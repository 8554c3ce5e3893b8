//! Node configuration: defaults, overridden by a TOML file, overridden by flags and
//! environment variables (`SYMBIONT_*`).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use eyre::WrapErr;
use ledger::Address;
use serde::Deserialize;

/// `symbiont node` options. Every flag can also come from the environment or the
/// `[node]`-less TOML config file (same names with underscores).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodeArgs {
    /// TOML config file [default: <data-dir>/config.toml if it exists]
    #[arg(long, env = "SYMBIONT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (database, dev keystore) [default: ~/.symbiont/node]
    #[arg(long, env = "SYMBIONT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address the HTTP API listens on [default: 127.0.0.1:8420]
    #[arg(long, env = "SYMBIONT_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Milliseconds between blocks [default: 1000]
    #[arg(long, env = "SYMBIONT_BLOCK_TIME_MS")]
    pub block_time_ms: Option<u64>,
    /// Genesis file for a new chain (see `symbiont genesis new`); ignored once the chain exists
    /// except to check it matches
    #[arg(long, env = "SYMBIONT_GENESIS")]
    pub genesis: Option<PathBuf>,
    /// Maximum pending transactions [default: 200000]
    #[arg(long, env = "SYMBIONT_MEMPOOL_CAPACITY")]
    pub mempool_capacity: Option<usize>,
    /// Maximum transactions per block [default: 50000]
    #[arg(long, env = "SYMBIONT_MAX_BLOCK_TXS")]
    pub max_block_txs: Option<usize>,
    /// Address recorded as block proposer [default: the zero address]
    #[arg(long, env = "SYMBIONT_PROPOSER")]
    pub proposer: Option<Address>,
    /// Development chain: if the data directory is empty, create a genesis funding ten
    /// well-known dev keys (written to <data-dir>/keystore, passphrase in
    /// <data-dir>/dev-password) and the "Devnet USD" stablecoin. Never use these keys for value.
    #[arg(long, env = "SYMBIONT_DEV")]
    pub dev: bool,
    /// Keystore file (v3 JSON) of the x402 facilitator's relayer key, which signs and pays
    /// for settlement transactions [default on a dev chain: dev key 9; otherwise the
    /// facilitator serves no network]
    #[arg(long, env = "SYMBIONT_FACILITATOR_KEYSTORE", value_name = "FILE")]
    pub facilitator_keystore: Option<PathBuf>,
    /// First line of this file is the passphrase of --facilitator-keystore
    #[arg(long, env = "SYMBIONT_FACILITATOR_PASSWORD_FILE", value_name = "FILE")]
    pub facilitator_password_file: Option<PathBuf>,
    /// Keystore file (v3 JSON) of the key that resolves the sealed-bid auctions this node
    /// runs (`/v1/auctions`) [default on a dev chain: dev key 8; otherwise the node runs no
    /// auctions]
    #[arg(long, env = "SYMBIONT_AUCTIONEER_KEYSTORE", value_name = "FILE")]
    pub auctioneer_keystore: Option<PathBuf>,
    /// First line of this file is the passphrase of --auctioneer-keystore
    #[arg(long, env = "SYMBIONT_AUCTIONEER_PASSWORD_FILE", value_name = "FILE")]
    pub auctioneer_password_file: Option<PathBuf>,
    /// Milliseconds `/x402/settle` waits for inclusion before answering `settlement_pending`
    /// with the transaction hash [default: 10000]
    #[arg(long, env = "SYMBIONT_SETTLE_TIMEOUT_MS")]
    pub settle_timeout_ms: Option<u64>,
    /// Consensus key file of this validator (see `symbiont testnet` for one way to make it):
    /// the node joins the validator set listed in the genesis file and runs BFT consensus
    /// instead of producing blocks alone. Needs --genesis
    #[arg(long, env = "SYMBIONT_VALIDATOR_KEY", value_name = "FILE")]
    pub validator_key: Option<PathBuf>,
    /// The other validators, comma-separated multiaddrs (`/ip4/10.0.0.2/tcp/26656`) or
    /// `host:port` (with --validator-key)
    #[arg(long, env = "SYMBIONT_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// Consensus (libp2p) listen address, multiaddr or `host:port` (with --validator-key)
    /// [default: /ip4/0.0.0.0/tcp/26656]
    #[arg(long, env = "SYMBIONT_CONSENSUS_LISTEN")]
    pub consensus_listen: Option<String>,
    /// REST URLs of other nodes (comma-separated, `http://10.0.0.2:8420`) to which this node
    /// relays the transactions its clients submit, so that whichever validator proposes
    /// next includes them
    #[arg(
        long,
        env = "SYMBIONT_TX_RELAY",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub tx_relay: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    block_time_ms: Option<u64>,
    genesis: Option<PathBuf>,
    mempool_capacity: Option<usize>,
    max_block_txs: Option<usize>,
    proposer: Option<Address>,
    dev: Option<bool>,
    facilitator_keystore: Option<PathBuf>,
    facilitator_password_file: Option<PathBuf>,
    auctioneer_keystore: Option<PathBuf>,
    auctioneer_password_file: Option<PathBuf>,
    settle_timeout_ms: Option<u64>,
    validator_key: Option<PathBuf>,
    peers: Option<Vec<String>>,
    consensus_listen: Option<String>,
    tx_relay: Option<Vec<String>>,
}

/// A `--<role>-keystore` and its `--<role>-password-file`: both or neither.
fn key_files(
    role: &str,
    keystore: Option<PathBuf>,
    password: Option<PathBuf>,
) -> eyre::Result<Option<(PathBuf, PathBuf)>> {
    match (keystore, password) {
        (Some(k), Some(p)) => Ok(Some((k, p))),
        (None, None) => Ok(None),
        (Some(_), None) => eyre::bail!("--{role}-keystore needs --{role}-password-file"),
        (None, Some(_)) => eyre::bail!("--{role}-password-file needs --{role}-keystore"),
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// HTTP listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Time between blocks.
    pub block_time: Duration,
    /// Genesis file.
    pub genesis: Option<PathBuf>,
    /// Mempool capacity.
    pub mempool_capacity: usize,
    /// Maximum transactions per block.
    pub max_block_txs: usize,
    /// Proposer address.
    pub proposer: Address,
    /// Dev chain.
    pub dev: bool,
    /// The facilitator relayer's keystore file and password file.
    pub facilitator_key: Option<(PathBuf, PathBuf)>,
    /// The auctioneer's keystore file and password file.
    pub auctioneer_key: Option<(PathBuf, PathBuf)>,
    /// How long a settlement waits for inclusion.
    pub settle_timeout: Duration,
    /// Run as a validator of the genesis set instead of the solo producer.
    pub validator: Option<ValidatorConfig>,
    /// Nodes this node relays its clients' transactions to.
    pub tx_relay: Vec<reqwest::Url>,
}

/// A validator's consensus settings (`--validator-key`, `--peers`, `--consensus-listen`).
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// The consensus key file.
    pub key_file: PathBuf,
    /// The other validators' addresses.
    pub peers: Vec<consensus::Multiaddr>,
    /// The consensus listen address.
    pub listen: consensus::Multiaddr,
}

/// The default data directory, `~/.symbiont/node`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from(".symbiont"), PathBuf::from)
        .join(".symbiont/node")
}

impl NodeConfig {
    /// Defaults for `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        NodeConfig {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8420)),
            block_time: Duration::from_millis(1000),
            genesis: None,
            mempool_capacity: 200_000,
            max_block_txs: 50_000,
            proposer: Address::ZERO,
            dev: false,
            facilitator_key: None,
            auctioneer_key: None,
            settle_timeout: Duration::from_secs(10),
            validator: None,
            tx_relay: vec![],
        }
    }

    /// Resolves flags/env over the config file over defaults.
    pub fn resolve(args: &NodeArgs) -> eyre::Result<Self> {
        let file_path = match (&args.config, &args.data_dir) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(d)) => Some(d.join("config.toml")).filter(|p| p.exists()),
            (None, None) => Some(default_data_dir().join("config.toml")).filter(|p| p.exists()),
        };
        let file = match &file_path {
            Some(p) => read_file_config(p)?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(default_data_dir);
        let mut c = NodeConfig::new(data_dir);
        if let Some(v) = args.listen.or(file.listen) {
            c.listen = v;
        }
        if let Some(v) = args.block_time_ms.or(file.block_time_ms) {
            eyre::ensure!(v > 0, "block time must be positive");
            c.block_time = Duration::from_millis(v);
        }
        c.genesis = args.genesis.clone().or(file.genesis);
        if let Some(v) = args.mempool_capacity.or(file.mempool_capacity) {
            c.mempool_capacity = v;
        }
        if let Some(v) = args.max_block_txs.or(file.max_block_txs) {
            c.max_block_txs = v;
        }
        if let Some(v) = args.proposer.or(file.proposer) {
            c.proposer = v;
        }
        c.dev = args.dev || file.dev.unwrap_or(false);
        if let Some(v) = args.settle_timeout_ms.or(file.settle_timeout_ms) {
            c.settle_timeout = Duration::from_millis(v);
        }
        c.facilitator_key = key_files(
            "facilitator",
            args.facilitator_keystore
                .clone()
                .or(file.facilitator_keystore),
            args.facilitator_password_file
                .clone()
                .or(file.facilitator_password_file),
        )?;
        c.auctioneer_key = key_files(
            "auctioneer",
            args.auctioneer_keystore
                .clone()
                .or(file.auctioneer_keystore),
            args.auctioneer_password_file
                .clone()
                .or(file.auctioneer_password_file),
        )?;
        let peers = if args.peers.is_empty() {
            file.peers.unwrap_or_default()
        } else {
            args.peers.clone()
        };
        let listen = args.consensus_listen.clone().or(file.consensus_listen);
        c.validator = match args.validator_key.clone().or(file.validator_key) {
            Some(key_file) => {
                eyre::ensure!(
                    c.genesis.is_some(),
                    "--validator-key needs --genesis (the file listing the validators)"
                );
                Some(ValidatorConfig {
                    key_file,
                    peers: peers
                        .iter()
                        .filter(|p| !p.trim().is_empty())
                        .map(|p| crate::bft::parse_peer(p))
                        .collect::<eyre::Result<_>>()?,
                    listen: crate::bft::parse_peer(
                        listen.as_deref().unwrap_or("/ip4/0.0.0.0/tcp/26656"),
                    )?,
                })
            }
            None => {
                eyre::ensure!(
                    peers.is_empty() && listen.is_none(),
                    "--peers and --consensus-listen need --validator-key"
                );
                None
            }
        };
        let relay = if args.tx_relay.is_empty() {
            file.tx_relay.unwrap_or_default()
        } else {
            args.tx_relay.clone()
        };
        c.tx_relay = relay
            .iter()
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .map(|u| {
                let url: reqwest::Url = u
                    .parse()
                    .map_err(|e| eyre::eyre!("--tx-relay {u:?} is not a URL: {e}"))?;
                eyre::ensure!(
                    matches!(url.scheme(), "http" | "https"),
                    "--tx-relay {u:?}: want an http(s) URL"
                );
                Ok(url)
            })
            .collect::<eyre::Result<_>>()?;
        Ok(c)
    }
}

fn read_file_config(p: &Path) -> eyre::Result<FileConfig> {
    let text =
        std::fs::read_to_string(p).wrap_err_with(|| format!("reading config {}", p.display()))?;
    toml::from_str(&text).wrap_err_with(|| format!("parsing config {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "listen = \"127.0.0.1:9000\"\nblock_time_ms = 250\nmax_block_txs = 7\n",
        )
        .unwrap();
        let args = NodeArgs {
            data_dir: Some(dir.path().to_path_buf()),
            block_time_ms: Some(500),
            ..NodeArgs::default()
        };
        let c = NodeConfig::resolve(&args).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000".parse().unwrap()); // from the file
        assert_eq!(c.block_time, Duration::from_millis(500)); // flag beats file
        assert_eq!(c.max_block_txs, 7);
        assert_eq!(c.mempool_capacity, 200_000); // default
        assert_eq!(c.data_dir, dir.path());
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "blok_time_ms = 5\n").unwrap();
        let args = NodeArgs {
            data_dir: Some(dir.path().to_path_buf()),
            ..NodeArgs::default()
        };
        let e = format!("{:#}", NodeConfig::resolve(&args).unwrap_err());
        assert!(e.contains("blok_time_ms"), "{e}");
        let args = NodeArgs {
            block_time_ms: Some(0),
            ..NodeArgs::default()
        };
        assert!(NodeConfig::resolve(&args).is_err());
        let args = NodeArgs {
            data_dir: Some(dir.path().join("other")),
            tx_relay: vec!["ftp://10.0.0.2:8420".into()],
            ..NodeArgs::default()
        };
        let e = format!("{:#}", NodeConfig::resolve(&args).unwrap_err());
        assert!(e.contains("--tx-relay"), "{e}");
    }
}
