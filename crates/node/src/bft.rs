//! The BFT block producer: the node's ledger driven by the consensus engine
//! (`crates/consensus`, ADR 0003) instead of the solo timer. A decided block is executed
//! again and committed through [`App::commit_block`], the solo producer's storage path.
//!
//! Also the consensus key file (`symbiont node --validator-key FILE`), a JSON document:
//!
//! ```json
//! { "consensusKey": "0x…32-byte ed25519 public key…", "secretKey": "0x…32-byte seed…" }
//! ```
//!
//! written with mode 0600. The node finds its entry (its account) in the genesis
//! `validators` list by the public key.

use std::{path::Path, sync::Arc};

use consensus::{
    ConsensusKey, EngineConfig, Multiaddr, ValidatorSet,
    host::{Host, Ledger},
};
use eyre::{WrapErr, bail, eyre};
use ledger::{Commit, State, VerifiedTx};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::{app::App, producer::BlockProducer};

/// The node's ledger behind consensus's [`Ledger`] seam.
struct NodeLedger(Arc<App>);

impl Ledger for NodeLedger {
    fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.0.state())
    }

    fn candidates(&self, state: &State, max: usize) -> Vec<VerifiedTx> {
        self.0.candidates(state, max)
    }

    fn commit(&self, commit: Commit) -> Result<(), ledger::Error> {
        // A store write: off the async worker's hot path (the node runs a multi-thread
        // runtime).
        tokio::task::block_in_place(|| {
            self.0
                .commit_block(commit, vec![], std::time::Duration::ZERO)
                .map(|_| ())
        })
    }

    fn store(&self) -> &dyn ledger::Store {
        self.0.store()
    }

    fn verified(&self, hash: &ledger::B256, tx: &ledger::SignedTx) -> bool {
        self.0.holds_verified(hash, tx)
    }
}

/// Runs consensus as one validator of the genesis set.
pub struct BftProducer {
    /// The genesis validator set.
    pub validators: ValidatorSet,
    /// This validator's consensus key.
    pub key: ConsensusKey,
    /// The libp2p listen address.
    pub listen: Multiaddr,
    /// The other validators' addresses.
    pub peers: Vec<Multiaddr>,
    /// Where the engine keeps its write-ahead log.
    pub home: std::path::PathBuf,
    /// Most transactions per block.
    pub max_block_txs: usize,
    /// The least time between blocks (an idle chain makes one block per `block_time`).
    pub block_time: std::time::Duration,
}

impl BftProducer {
    /// This validator's account in the set (found by its consensus public key).
    pub fn me(&self) -> eyre::Result<consensus::Address> {
        let public = self.key.public_key();
        self.validators
            .validators()
            .iter()
            .find(|v| v.public_key == public)
            .map(|v| v.address)
            .ok_or_else(|| {
                eyre!(
                    "consensus key 0x{} is not in the genesis validators",
                    hex_of(public.as_bytes())
                )
            })
    }
}

impl BlockProducer for BftProducer {
    async fn run(self, app: Arc<App>, mut shutdown: watch::Receiver<bool>) -> eyre::Result<()> {
        let me = self.me()?;
        let chain_id = app.chain_id();
        consensus::host::check_validator_set(app.store(), &self.validators)?;
        let config = EngineConfig::new(me.to_string(), self.listen.clone(), self.peers.clone());
        let (mut channels, handle) =
            consensus::engine::start(config, me, &self.key, chain_id, self.home.clone())
                .await
                .wrap_err("starting the consensus engine")?;
        tracing::info!(validator = %me, listen = %self.listen, peers = self.peers.len(), "consensus started");
        let mut host = Host::new(
            NodeLedger(Arc::clone(&app)),
            self.validators,
            me,
            self.key,
            chain_id,
            self.max_block_txs,
        )?;
        let result = tokio::select! {
            r = consensus::app::run(&mut host, &mut channels, self.block_time) => match r {
                Ok(()) => Err(eyre!("the consensus engine stopped")),
                Err(e) => Err(eyre!(e).wrap_err("consensus failed")),
            },
            _ = shutdown.changed() => Ok(()),
        };
        handle.actor.stop(None);
        result
    }
}

/// A consensus key file (see the module docs).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyFile {
    /// The public key, hex (what genesis lists).
    pub consensus_key: String,
    /// The 32-byte ed25519 seed, hex.
    pub secret_key: String,
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Writes `key` to `path` (mode 0600 on Unix); returns the public key in hex, `0x`-prefixed.
pub fn write_key_file(path: &Path, key: &ConsensusKey) -> eyre::Result<String> {
    let public = format!("0x{}", hex_of(key.public_key().as_bytes()));
    let seed = Zeroizing::new(key.to_bytes());
    let file = KeyFile {
        consensus_key: public.clone(),
        secret_key: format!("0x{}", hex_of(seed.as_slice())),
    };
    let json = Zeroizing::new(serde_json::to_string_pretty(&file)?);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .wrap_err_with(|| format!("creating consensus key file {}", path.display()))?;
    std::io::Write::write_all(&mut f, json.as_bytes())?;
    Ok(public)
}

/// Reads a consensus key file and checks its public key matches its secret.
pub fn read_key_file(path: &Path) -> eyre::Result<ConsensusKey> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading consensus key file {}", path.display()))?,
    );
    let file: KeyFile = serde_json::from_str(&text)
        .wrap_err_with(|| format!("parsing consensus key file {}", path.display()))?;
    let raw = file.secret_key.trim_start_matches("0x");
    if raw.len() != 64 {
        bail!("{}: secretKey is not 32 bytes of hex", path.display());
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&raw[2 * i..2 * i + 2], 16)
            .map_err(|_| eyre!("{}: secretKey is not hex", path.display()))?;
    }
    let key = ConsensusKey::from_bytes(*seed);
    let public = consensus::signing::decode_public_key_hex(&file.consensus_key)?;
    if public != key.public_key() {
        bail!("{}: consensusKey does not match secretKey", path.display());
    }
    Ok(key)
}

/// Parses a peer: a multiaddr (`/ip4/127.0.0.1/tcp/26656`) or `host:port`.
pub fn parse_peer(s: &str) -> eyre::Result<Multiaddr> {
    let s = s.trim();
    if s.starts_with('/') {
        return s.parse().wrap_err_with(|| format!("bad multiaddr {s:?}"));
    }
    let addr = std::net::ToSocketAddrs::to_socket_addrs(s)
        .wrap_err_with(|| format!("bad peer {s:?} (want host:port or a multiaddr)"))?
        .next()
        .ok_or_else(|| eyre!("peer {s:?} resolves to no address"))?;
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
    };
    Ok(format!("{ip}/tcp/{}", addr.port()).parse()?)
}

/// The validator set a genesis file lists (an error if it lists none).
pub fn validator_set(genesis: &ledger::Genesis) -> eyre::Result<ValidatorSet> {
    if genesis.validators.is_empty() {
        bail!("the genesis file lists no validators (a solo chain): add a `validators` list");
    }
    Ok(ValidatorSet::from_genesis(&genesis.validators)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_peers_parse() {
        let dir = tempfile::tempdir().unwrap();
        let key = ConsensusKey::generate(rand::rngs::OsRng);
        let path = dir.path().join("k.json");
        let public = write_key_file(&path, &key).unwrap();
        let back = read_key_file(&path).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(public.len(), 66);
        // Never overwritten.
        assert!(write_key_file(&path, &key).is_err());
        // A public key that does not match the secret is refused.
        let other = ConsensusKey::generate(rand::rngs::OsRng);
        let bad = dir.path().join("bad.json");
        let text = std::fs::read_to_string(&path).unwrap().replace(
            &public,
            &format!("0x{}", hex_of(other.public_key().as_bytes())),
        );
        std::fs::write(&bad, text).unwrap();
        assert!(read_key_file(&bad).is_err());

        let a = parse_peer("127.0.0.1:26656").unwrap();
        assert_eq!(a.to_string(), "/ip4/127.0.0.1/tcp/26656");
        let b = parse_peer("/ip4/10.0.0.1/tcp/1").unwrap();
        assert_eq!(b.to_string(), "/ip4/10.0.0.1/tcp/1");
        assert!(parse_peer("nonsense").is_err());
    }
}
