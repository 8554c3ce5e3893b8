//! `symbiont query`: read the ledger through the node API.

use ledger::Address;

use crate::client::Client;

/// Query accounts, assets, blocks and transactions.
#[derive(Debug, clap::Args)]
pub struct QueryCmd {
    #[command(subcommand)]
    cmd: Sub,
    /// Node API URL.
    #[arg(
        long,
        global = true,
        env = "SYMBIONT_NODE",
        default_value = "http://127.0.0.1:8420"
    )]
    node: String,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// An account's nonce and balances.
    Account {
        /// The address.
        address: Address,
    },
    /// An asset (an id, or "native").
    Asset {
        /// Asset id or "native".
        id: String,
    },
    /// A block by height, hash, or "latest".
    Block {
        /// Height, 0x hash, or "latest".
        #[arg(default_value = "latest")]
        id: String,
    },
    /// A transaction's status and receipt.
    Tx {
        /// Transaction hash.
        hash: ledger::B256,
    },
    /// Chain id, head and supply.
    Chain,
}

impl QueryCmd {
    /// Runs the subcommand and prints the node's JSON answer.
    pub fn run(self) -> eyre::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let client = Client::new(&self.node)?;
            let path = match &self.cmd {
                Sub::Account { address } => format!("/v1/accounts/{address}"),
                Sub::Asset { id } => format!("/v1/assets/{id}"),
                Sub::Block { id } => format!("/v1/blocks/{id}"),
                Sub::Tx { hash } => format!("/v1/tx/{hash}"),
                Sub::Chain => "/v1/chain".to_owned(),
            };
            let v = client.get(&path).await?;
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        })
    }
}
