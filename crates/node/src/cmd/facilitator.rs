//! `symbiont facilitator --config <file>`: the x402 facilitator on its own, serving `/verify`,
//! `/settle`, `/supported` and `/health` (`x402_facilitator::router`) for every network in the
//! config:
//!
//! - `[[evm]]`: any EVM chain over JSON-RPC (`x402_evm::EvmBackend`), relaying with the
//!   configured key (it pays the gas);
//! - `[[symbiont]]`: a Symbiont ledger, through its node's own facilitator (`<node>/x402`),
//!   whose relayer is the node's `facilitator_keystore`.
//!
//! ```toml
//! listen = "127.0.0.1:8402"
//!
//! [relayer]                      # signs EVM settlements; never put the key itself here
//! keystore = "relayer.json"      # Ethereum keystore v3 file
//! password_file = "relayer.pw"   # first line is the passphrase
//!
//! [[evm]]
//! network = "eip155:84532"
//! rpc_url = "https://sepolia.base.org"
//! receipt_timeout_ms = 30000
//!
//! [[symbiont]]
//! node_url = "http://127.0.0.1:8420"
//! ```

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use eyre::{WrapErr, bail, eyre};
use serde::Deserialize;
use x402_facilitator::{Backend, BoxFuture, Payment, Service, backend::settle_failure};
use x402_server::HttpFacilitator;
use x402_types::{Facilitator, Network, Reason, SettleResponse, VerifyRequest, VerifyResponse};

use crate::cmd::keys::read_password_file;

/// Run the x402 facilitator on its own.
#[derive(Debug, clap::Args)]
pub struct FacilitatorCmd {
    /// The TOML config (see `symbiont facilitator --help` or docs/x402.md).
    #[arg(long, env = "SYMBIONT_FACILITATOR_CONFIG")]
    config: PathBuf,
    /// Listen address [default: the config's `listen`, else 127.0.0.1:8402].
    #[arg(long)]
    listen: Option<SocketAddr>,
}

/// The config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilitatorConfig {
    /// Listen address.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// The EVM relayer key.
    #[serde(default)]
    pub relayer: Option<RelayerConfig>,
    /// EVM chains.
    #[serde(default)]
    pub evm: Vec<x402_evm::EvmConfig>,
    /// Symbiont ledgers.
    #[serde(default)]
    pub symbiont: Vec<SymbiontConfig>,
}

/// Where the relayer key is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayerConfig {
    /// Keystore v3 file.
    pub keystore: PathBuf,
    /// Passphrase file.
    pub password_file: PathBuf,
}

/// A Symbiont ledger served through its node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbiontConfig {
    /// The node's API URL.
    pub node_url: String,
}

impl FacilitatorCmd {
    /// Runs the facilitator until Ctrl-C.
    pub fn run(self) -> eyre::Result<()> {
        let text = std::fs::read_to_string(&self.config)
            .wrap_err_with(|| format!("reading {}", self.config.display()))?;
        let config: FacilitatorConfig =
            toml::from_str(&text).wrap_err_with(|| format!("parsing {}", self.config.display()))?;
        // Relative paths in the config are relative to the config's directory.
        let base = self
            .config
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let listen = self
            .listen
            .or(config.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8402)));
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async move {
                let service = build(config, &base).await?;
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .wrap_err_with(|| format!("binding {listen}"))?;
                tracing::info!(addr = %listener.local_addr()?, networks = ?service, "x402 facilitator listening");
                axum::serve(listener, x402_facilitator::router(Arc::new(service)))
                    .with_graceful_shutdown(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await?;
                Ok(())
            })
    }
}

/// The service for `config` (relative paths under `base`).
pub async fn build(config: FacilitatorConfig, base: &std::path::Path) -> eyre::Result<Service> {
    if config.evm.is_empty() && config.symbiont.is_empty() {
        bail!("the config names no network: add [[evm]] or [[symbiont]] sections");
    }
    let mut service = Service::new();
    if !config.evm.is_empty() {
        let relayer = config
            .relayer
            .as_ref()
            .ok_or_else(|| eyre!("[[evm]] networks need a [relayer] key"))?;
        let keystore = base.join(&relayer.keystore);
        let json = std::fs::read(&keystore)
            .wrap_err_with(|| format!("reading relayer keystore {}", keystore.display()))?;
        let passphrase = read_password_file(&base.join(&relayer.password_file))?;
        let key = wallet::keystore::decrypt_json(&json, passphrase.as_bytes())
            .wrap_err("decrypting the relayer keystore")?;
        for evm in config.evm {
            let network = evm.network.clone();
            let backend = x402_evm::EvmBackend::connect(evm, key.clone())
                .await
                .wrap_err_with(|| format!("connecting to {network}"))?;
            tracing::info!(%network, relayer = %key.address(), "EVM network");
            service = service.with(Arc::new(backend));
        }
    }
    for s in config.symbiont {
        let backend = NodeBackend::connect(&s.node_url).await?;
        tracing::info!(network = %backend.network, node = %s.node_url, "Symbiont ledger");
        service = service.with(Arc::new(backend));
    }
    Ok(service)
}

/// A Symbiont ledger reached through its node's facilitator (`<node>/x402`): the node
/// verifies against its state and settles with its relayer.
#[derive(Debug)]
pub struct NodeBackend {
    remote: HttpFacilitator,
    network: Network,
    signer: ledger::Address,
}

impl NodeBackend {
    /// Asks the node at `node_url` which network it settles and with which relayer.
    pub async fn connect(node_url: &str) -> eyre::Result<Self> {
        let remote = HttpFacilitator::new(format!("{}/x402", node_url.trim_end_matches('/')));
        let supported = remote
            .supported()
            .await
            .wrap_err_with(|| format!("asking {node_url}/x402/supported"))?;
        let kind = supported
            .kinds
            .iter()
            .find(|k| k.x402_version == 2)
            .ok_or_else(|| eyre!("{node_url} serves no network (is its facilitator key set?)"))?;
        let network: Network = kind.network.parse()?;
        let signer = supported
            .signers
            .values()
            .flatten()
            .next()
            .ok_or_else(|| eyre!("{node_url} names no relayer"))?
            .parse()?;
        Ok(NodeBackend {
            remote,
            network,
            signer,
        })
    }
}

impl Backend for NodeBackend {
    fn network(&self) -> Network {
        self.network.clone()
    }

    fn signer(&self) -> ledger::Address {
        self.signer
    }

    fn verify<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, VerifyResponse> {
        Box::pin(async move {
            let request = match VerifyRequest::new_v2(&payment.payload, &payment.requirements) {
                Ok(r) => r,
                Err(_) => return VerifyResponse::invalid(Reason::InvalidPayload, None),
            };
            match self.remote.verify(&request).await {
                Ok(v) => v,
                Err(e) => {
                    let mut r = VerifyResponse::invalid(Reason::UnexpectedVerifyError, None);
                    r.invalid_message = Some(e.to_string());
                    r
                }
            }
        })
    }

    fn settle<'a>(&'a self, payment: &'a Payment) -> BoxFuture<'a, SettleResponse> {
        Box::pin(async move {
            let network = self.network.to_string();
            let request = match VerifyRequest::new_v2(&payment.payload, &payment.requirements) {
                Ok(r) => r,
                Err(_) => return settle_failure(Reason::InvalidPayload, None, network, ""),
            };
            match self.remote.settle(&request).await {
                Ok(v) => v,
                Err(e) => {
                    let mut r = settle_failure(Reason::UnexpectedSettleError, None, network, "");
                    r.error_message = Some(e.to_string());
                    r
                }
            }
        })
    }
}
