//! Starting Malachite's engine (WAL, libp2p network, sync, consensus) for one validator, with
//! our context, codec and keys, through `app-channel`'s `EngineBuilder`.
//!
//! The steps follow the builder's documented example (`app-channel/src/builder.rs`, 0.8.2):
//! sign a validator proof binding the consensus key to the libp2p peer id (upstream ADR-006),
//! build the network identity, then configure every actor with defaults.

use std::path::PathBuf;

use malachitebft_app_channel::{
    Channels, ConsensusContext, EngineBuilder, EngineHandle, NetworkContext, RequestContext,
    SyncContext, WalContext,
    app::{
        config::{ConsensusConfig, NodeConfig, ValueSyncConfig},
        engine::network::{Multiaddr, NetworkIdentity},
        types::{Keypair, codec::Codec},
    },
};
use malachitebft_signing::Signer;

use crate::{
    Address, ChainVerifier, ConsensusKey, Ctx, LocalSigner, SymbiontContext,
    error::{Error, Result},
    wire::WireCodec,
};

/// The engine's configuration: consensus (with the libp2p listen address and peers) and sync.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// A name for logs and metrics.
    pub moniker: String,
    /// Consensus and its network.
    pub consensus: ConsensusConfig,
    /// Value sync for nodes that fell behind.
    pub value_sync: ValueSyncConfig,
}

impl EngineConfig {
    /// Defaults, listening on `listen` and dialling `peers`.
    pub fn new(moniker: String, listen: Multiaddr, peers: Vec<Multiaddr>) -> Self {
        let mut consensus = ConsensusConfig::default();
        consensus.p2p.listen_addr = listen;
        consensus.p2p.persistent_peers = peers;
        EngineConfig {
            moniker,
            consensus,
            value_sync: ValueSyncConfig::default(),
        }
    }
}

impl NodeConfig for EngineConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

fn engine_err(e: impl std::fmt::Display) -> Error {
    Error::Engine(e.to_string())
}

/// Starts the engine for validator `me` signing with `key` on `chain_id`; its WAL lives under
/// `home`. The libp2p identity is derived from the consensus key, so a validator's peer id is
/// stable across restarts. Returns the application's channels (drive them with
/// [`crate::app::run`]) and the engine handle.
pub async fn start(
    config: EngineConfig,
    me: Address,
    key: &ConsensusKey,
    chain_id: u64,
    home: PathBuf,
) -> Result<(Channels<Ctx>, EngineHandle)> {
    let keypair = Keypair::ed25519_from_bytes(key.to_bytes()).map_err(engine_err)?;
    let peer_id = keypair.public().to_peer_id().to_bytes();
    let signer = LocalSigner::new(ConsensusKey::from_bytes(key.to_bytes()), chain_id);
    let proof = signer
        .sign_validator_proof(key.public_key().as_bytes().to_vec(), peer_id)
        .await
        .map_err(engine_err)?;
    let proof_bytes = WireCodec.encode(&proof)?;
    let identity = NetworkIdentity::new_validator(
        config.moniker.clone(),
        keypair,
        me.to_string(),
        proof_bytes,
    );
    let verifier = ChainVerifier { chain_id };
    EngineBuilder::new(SymbiontContext, config)
        .with_default_wal(WalContext::new(home.join("wal"), WireCodec))
        .with_default_network(NetworkContext::new(identity, WireCodec))
        .with_default_sync(SyncContext::new(WireCodec))
        .with_default_consensus(ConsensusContext::new_validator(
            me,
            Box::new(verifier),
            Box::new(signer),
        ))
        .with_default_request(RequestContext::new(100))
        .build()
        .await
        .map_err(engine_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Validator, ValidatorSet, app, host::Host, testing::MemLedger};
    use rand::{SeedableRng, rngs::StdRng};
    use std::time::{Duration, Instant};

    /// One validator holding all the power: the real engine (WAL, libp2p on loopback, sync,
    /// consensus) drives the host through several heights, each committed to the ledger, one
    /// per block time.
    #[test]
    fn a_single_validator_decides_heights_through_the_engine() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let key = ConsensusKey::generate(StdRng::seed_from_u64(21));
            let me = Address(ledger::Address::repeat_byte(1));
            let set = ValidatorSet::new(vec![Validator {
                address: me,
                public_key: key.public_key(),
                voting_power: 1,
            }])
            .unwrap();
            let ledger = MemLedger::genesis();
            let view = ledger.clone();
            let dir = tempfile::tempdir().unwrap();
            let listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
            let config = EngineConfig::new("v0".into(), listen, vec![]);
            let (mut channels, handle) = start(config, me, &key, 1337, dir.path().to_path_buf())
                .await
                .unwrap();
            let mut host = Host::new(ledger, set, me, key, 1337, 100).unwrap();
            let block_time = Duration::from_millis(300);
            let app =
                tokio::spawn(async move { app::run(&mut host, &mut channels, block_time).await });
            let deadline = Instant::now() + Duration::from_secs(60);
            while view.height() < 3 {
                assert!(
                    Instant::now() < deadline,
                    "stuck at height {}",
                    view.height()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            handle.actor.stop(None);
            app.abort();
            // Paced: one block per block time, not empty blocks back to back.
            let times: Vec<u64> = (1..=3)
                .map(|h| view.block(h).unwrap().header.timestamp_ms)
                .collect();
            for w in times.windows(2) {
                assert!(
                    w[1] - w[0] >= 300,
                    "blocks {times:?} closer than the block time"
                );
            }
        });
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Validators of equal power, each with its own engine, host and in-memory ledger,
    /// meshed as persistent peers over loopback TCP.
    struct Net {
        views: Vec<MemLedger>,
        nodes: Vec<Option<(EngineHandle, tokio::task::JoinHandle<Result<()>>)>>,
        keys: Vec<(Address, [u8; 32])>,
        set: ValidatorSet,
        addrs: Vec<Multiaddr>,
        dir: tempfile::TempDir,
    }

    impl Net {
        /// `n` validators; those in `now` are started at once, the others by [`Net::launch`].
        async fn start(n: u8, now: &[usize]) -> Self {
            let (set, keys) = crate::stream::tests::validators_seeded(n, 44);
            let addrs: Vec<Multiaddr> = keys
                .iter()
                .map(|_| {
                    format!("/ip4/127.0.0.1/tcp/{}", free_port())
                        .parse()
                        .unwrap()
                })
                .collect();
            let mut net = Net {
                views: keys.iter().map(|_| MemLedger::genesis()).collect(),
                nodes: keys.iter().map(|_| None).collect(),
                keys: keys.iter().map(|(a, k)| (*a, k.to_bytes())).collect(),
                set,
                addrs,
                dir: tempfile::tempdir().unwrap(),
            };
            for i in now {
                net.launch(*i).await;
            }
            net
        }

        /// Starts validator `i` (engine and application loop) on its ledger.
        async fn launch(&mut self, i: usize) {
            let (me, seed) = self.keys[i];
            let peers = self
                .addrs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, a)| a.clone())
                .collect();
            let config = EngineConfig::new(format!("v{i}"), self.addrs[i].clone(), peers);
            let home = self.dir.path().join(format!("v{i}"));
            let key = ConsensusKey::from_bytes(seed);
            let (mut channels, handle) = start(config, me, &key, 1337, home).await.unwrap();
            let mut host =
                Host::new(self.views[i].clone(), self.set.clone(), me, key, 1337, 100).unwrap();
            let app =
                tokio::spawn(
                    async move { app::run(&mut host, &mut channels, Duration::ZERO).await },
                );
            self.nodes[i] = Some((handle, app));
        }

        fn heights(&self) -> Vec<u64> {
            self.views.iter().map(MemLedger::height).collect()
        }

        /// Waits until the validators in `who` have committed `height`.
        async fn wait(&self, who: &[usize], height: u64) {
            let deadline = Instant::now() + Duration::from_secs(120);
            while who.iter().any(|i| self.views[*i].height() < height) {
                assert!(Instant::now() < deadline, "stuck at {:?}", self.heights());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        /// Stops validator `i`'s engine and application loop.
        fn stop(&mut self, i: usize) {
            if let Some((handle, app)) = self.nodes[i].take() {
                handle.actor.stop(None);
                app.abort();
            }
        }

        /// Every committed height is the same block on every validator that has it.
        fn assert_no_fork(&self) {
            let top = self.heights().into_iter().max().unwrap_or(0);
            for h in 1..=top {
                let blocks: Vec<_> = self.views.iter().filter_map(|v| v.block(h)).collect();
                assert!(
                    blocks.windows(2).all(|w| w[0] == w[1]),
                    "fork at height {h}"
                );
            }
        }
    }

    impl Drop for Net {
        fn drop(&mut self) {
            for i in 0..self.nodes.len() {
                self.stop(i);
            }
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// Four validators commit the same blocks; with one stopped the other three go on; with
    /// two of four stopped nothing more is decided, and no validator ever forks.
    #[test]
    fn four_validators_agree_tolerate_one_fault_and_halt_without_a_quorum() {
        runtime().block_on(async {
            let mut net = Net::start(4, &[0, 1, 2, 3]).await;
            net.wait(&[0, 1, 2, 3], 3).await;
            net.assert_no_fork();

            net.stop(3);
            let h = net.heights()[..3].iter().copied().max().unwrap_or(0);
            net.wait(&[0, 1, 2], h + 3).await;
            net.assert_no_fork();

            net.stop(2);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = net.heights();
            tokio::time::sleep(Duration::from_secs(8)).await;
            let after = net.heights();
            // Two of four is below the 2/3 quorum: no new height is decided.
            assert_eq!(before, after);
            net.assert_no_fork();
        });
    }

    /// A validator that starts after the others have decided a few heights catches up by
    /// sync (blocks re-executed and committed) and then takes part in consensus.
    #[test]
    fn a_late_validator_catches_up_by_sync() {
        runtime().block_on(async {
            let mut net = Net::start(4, &[0, 1, 2]).await;
            net.wait(&[0, 1, 2], 5).await;
            net.launch(3).await;
            let h = net.heights().into_iter().max().unwrap_or(0);
            net.wait(&[3], h + 2).await;
            net.assert_no_fork();
            // With one of the first three stopped, progress needs the newcomer's votes.
            net.stop(0);
            let h = net.heights().into_iter().max().unwrap_or(0);
            net.wait(&[1, 2, 3], h + 2).await;
            net.assert_no_fork();
        });
    }

    /// A validator stopped and restarted on its ledger and home (WAL) resumes after its
    /// stored head and catches up with the others.
    #[test]
    fn a_restarted_validator_resumes_from_its_store_and_catches_up() {
        runtime().block_on(async {
            let mut net = Net::start(4, &[0, 1, 2, 3]).await;
            net.wait(&[0, 1, 2, 3], 3).await;
            net.stop(3);
            let stopped_at = net.heights()[3];
            let h = net.heights().into_iter().max().unwrap_or(0);
            net.wait(&[0, 1, 2], h + 3).await;
            assert_eq!(net.heights()[3], stopped_at);
            tokio::time::sleep(Duration::from_millis(500)).await;
            net.launch(3).await;
            let h = net.heights().into_iter().max().unwrap_or(0);
            net.wait(&[3], h + 1).await;
            net.assert_no_fork();
        });
    }
}
