//! Starting and stopping a node: open the chain, serve the API, produce blocks (alone, or
//! as a validator with the BFT producer when `--validator-key` is given).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use eyre::{WrapErr, bail};
use ledger::{Genesis, State, Store};
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    api,
    app::{App, AppConfig, now_ms},
    auction::Auctions,
    bft::BftProducer,
    config::NodeConfig,
    dev,
    facilitator::LedgerBackend,
    producer::{BlockProducer, SoloProducer},
};

/// A node running in this process.
#[derive(Debug)]
pub struct RunningNode {
    /// The address the API listens on.
    pub addr: SocketAddr,
    /// The shared app.
    pub app: Arc<App>,
    /// The node's x402 facilitator (served on `/x402`): services in this process, such as
    /// the devnet's gateway, verify and settle through it directly.
    pub facilitator: Arc<x402_facilitator::Service>,
    shutdown: watch::Sender<bool>,
    producer: JoinHandle<eyre::Result<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningNode {
    /// Starts relaying client transactions to `peers` (as `--tx-relay` does at start), for
    /// nodes whose peers' addresses are known only once they run.
    pub fn relay_to(&self, peers: Vec<reqwest::Url>) -> eyre::Result<()> {
        crate::relay::start(&self.app, peers, self.shutdown.subscribe()).map(|_| ())
    }

    /// Stops producing, drains the HTTP server and waits for both.
    pub async fn shutdown(self) -> eyre::Result<()> {
        let _ = self.shutdown.send(true);
        self.producer.await??;
        self.server.await??;
        Ok(())
    }

    /// Runs until ctrl-c or SIGTERM, or until block production fails.
    pub async fn run_until_signal(mut self) -> eyre::Result<()> {
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("shutting down");
                self.shutdown().await
            }
            r = &mut self.producer => {
                let _ = self.shutdown.send(true);
                r?.wrap_err("block production stopped")?;
                bail!("block production stopped")
            }
        }
    }
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Opens the chain in the data directory (creating it from the genesis file or the dev
/// genesis if empty) and returns the store and the state at its head.
pub fn open_chain(config: &NodeConfig) -> eyre::Result<(Arc<ledger_db::Db>, State)> {
    std::fs::create_dir_all(&config.data_dir)
        .wrap_err_with(|| format!("creating data directory {}", config.data_dir.display()))?;
    let db_path = config.data_dir.join("ledger.redb");
    let db = ledger_db::Db::open(&db_path)
        .wrap_err_with(|| format!("opening {} (is another node using it?)", db_path.display()))?;
    let genesis = match &config.genesis {
        Some(p) => Some(read_genesis(p)?),
        None => None,
    };
    if let Some(state) = db.load_state()? {
        if let Some(g) = genesis {
            let (_, commit) = g.build()?;
            let stored = db.block(0)?.map(|b| b.header.hash());
            if stored != Some(commit.block.header.hash()) {
                bail!(
                    "the genesis file does not match the chain in {}",
                    config.data_dir.display()
                );
            }
        }
        tracing::info!(
            height = state.head.height,
            chain_id = state.params.chain_id,
            "opened chain"
        );
        return Ok((Arc::new(db), state));
    }
    let genesis = match genesis {
        Some(g) => g,
        None if config.dev => dev_genesis(&config.data_dir)?,
        None => bail!(
            "no chain in {}: pass --genesis FILE (make one with `symbiont genesis new`) or --dev",
            config.data_dir.display()
        ),
    };
    let (state, commit) = genesis.build()?;
    db.init(&state, &commit)?;
    tracing::info!(
        chain_id = state.params.chain_id,
        "created chain from genesis"
    );
    Ok((Arc::new(db), state))
}

fn read_genesis(p: &Path) -> eyre::Result<Genesis> {
    let text =
        std::fs::read_to_string(p).wrap_err_with(|| format!("reading genesis {}", p.display()))?;
    serde_json::from_str(&text).wrap_err_with(|| format!("parsing genesis {}", p.display()))
}

/// Writes the dev keystore and genesis into `dir` and returns the genesis.
fn dev_genesis(dir: &Path) -> eyre::Result<Genesis> {
    let keys = dev::dev_keys(10)?;
    let store = wallet::KeyStore::open(dir.join("keystore"))?;
    let have: Vec<_> = store.list()?.into_iter().map(|(a, _)| a).collect();
    for k in &keys {
        if !have.contains(&k.address()) {
            store.store(
                k,
                dev::DEV_PASSPHRASE.as_bytes(),
                wallet::ScryptParams::LIGHT,
            )?;
        }
    }
    std::fs::write(dir.join("dev-password"), dev::DEV_PASSPHRASE)?;
    let addrs: Vec<_> = keys.iter().map(wallet::PrivateKey::address).collect();
    let genesis = Genesis::dev(dev::DEV_CHAIN_ID, now_ms(), &addrs);
    std::fs::write(
        dir.join("genesis.json"),
        serde_json::to_string_pretty(&genesis)?,
    )?;
    tracing::info!(keystore = %dir.join("keystore").display(), "dev chain: funded ten dev keys");
    Ok(genesis)
}

/// A role's key: the configured keystore file, else dev key `dev_index` on a dev chain, else
/// none.
fn role_key(
    role: &str,
    files: &Option<(PathBuf, PathBuf)>,
    dev: bool,
    dev_index: u32,
) -> eyre::Result<Option<wallet::PrivateKey>> {
    match files {
        Some((file, password)) => {
            let json = std::fs::read(file)
                .wrap_err_with(|| format!("reading {role} keystore {}", file.display()))?;
            let passphrase = crate::cmd::keys::read_password_file(password)?;
            let key = wallet::keystore::decrypt_json(&json, passphrase.as_bytes())
                .wrap_err_with(|| format!("decrypting {role} keystore {}", file.display()))?;
            Ok(Some(key))
        }
        None if dev => Ok(Some(dev::dev_key(dev_index)?)),
        None => Ok(None),
    }
}

/// Opens the chain, binds the API and starts producing blocks.
pub async fn start(config: &NodeConfig) -> eyre::Result<RunningNode> {
    let cfg = config.clone();
    let (db, state) = tokio::task::spawn_blocking(move || open_chain(&cfg)).await??;
    let app_config = AppConfig {
        proposer: config.proposer,
        max_block_txs: config.max_block_txs,
        mempool_capacity: config.mempool_capacity,
        nonce_window: 1024,
    };
    let store: Arc<dyn Store> = db;
    let app = Arc::new(App::new(app_config, store, state));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .wrap_err_with(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, rx) = watch::channel(false);
    let producer = match &config.validator {
        None => {
            let solo = SoloProducer {
                block_time: config.block_time,
            };
            tokio::spawn(solo.run(Arc::clone(&app), rx.clone()))
        }
        Some(v) => {
            let genesis = match &config.genesis {
                Some(p) => read_genesis(p)?,
                None => bail!("--validator-key needs --genesis"),
            };
            let bft = BftProducer {
                validators: crate::bft::validator_set(&genesis)?,
                key: crate::bft::read_key_file(&v.key_file)?,
                listen: v.listen.clone(),
                peers: v.peers.clone(),
                home: config.data_dir.join("consensus"),
                max_block_txs: config.max_block_txs,
                block_time: config.block_time,
            };
            tracing::info!(validator = %bft.me()?, "joining the genesis validator set");
            tokio::spawn(bft.run(Arc::clone(&app), rx.clone()))
        }
    };
    if !config.tx_relay.is_empty() {
        crate::relay::start(&app, config.tx_relay.clone(), rx.clone())?;
    }
    let mut facilitator = x402_facilitator::Service::new();
    if let Some(key) = role_key("facilitator", &config.facilitator_key, config.dev, 9)? {
        tracing::info!(relayer = %key.address(), "x402 facilitator on /x402");
        let backend = LedgerBackend::new(Arc::clone(&app), key).with_timeout(config.settle_timeout);
        facilitator = facilitator.with(Arc::new(backend));
    }
    let facilitator = Arc::new(facilitator);
    let auctions = role_key("auctioneer", &config.auctioneer_key, config.dev, 8)?.map(|key| {
        tracing::info!(auctioneer = %key.address(), "sealed-bid auctions on /v1/auctions");
        Arc::new(Auctions::new(config.data_dir.join("auctions"), key))
    });
    if let Some(a) = &auctions {
        tokio::spawn(Arc::clone(a).run(Arc::clone(&app), rx.clone()));
    }
    let mut router = api::router(Arc::clone(&app))
        .merge(crate::auction::router(auctions))
        .nest("/x402", x402_facilitator::router(Arc::clone(&facilitator)));
    if config.dev && !facilitator.networks().is_empty() {
        router = router.merge(crate::demo::router(
            Arc::clone(&app),
            Arc::clone(&facilitator),
        )?);
    }
    let mut srx = rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = srx.changed().await;
            })
            .await
    });
    tracing::info!(%addr, "API listening");
    Ok(RunningNode {
        addr,
        app,
        facilitator,
        shutdown,
        producer,
        server,
    })
}
