//! `symbiont node`: run a single-node ledger.

use crate::config::{NodeArgs, NodeConfig};

/// Run a node: an embedded ledger (redb) producing blocks and serving the REST API.
#[derive(Debug, clap::Args)]
pub struct NodeCmd {
    #[command(flatten)]
    args: NodeArgs,
}

impl NodeCmd {
    /// Runs until ctrl-c or SIGTERM.
    pub fn run(self) -> eyre::Result<()> {
        let config = NodeConfig::resolve(&self.args)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let node = crate::server::start(&config).await?;
            if config.dev {
                let ks = config.data_dir.join("keystore");
                let pw = config.data_dir.join("dev-password");
                tracing::info!(
                    "dev chain {}: try `symbiont tx transfer --node http://{} --keystore {} --password-file {} --from {} --to 0x000000000000000000000000000000000000dEaD --amount 1`",
                    crate::dev::DEV_CHAIN_ID,
                    node.addr,
                    ks.display(),
                    pw.display(),
                    crate::dev::dev_addresses(1)?.first().copied().unwrap_or_default(),
                );
            }
            node.run_until_signal().await
        })
    }
}
