//! `symbiont tx`: sign and submit transactions.

use std::time::Duration;

use eyre::{WrapErr, eyre};
use ledger::{Address, Call, NATIVE, NATIVE_DECIMALS, Tx, tx::SignedTx};

use crate::{client::Client, cmd::keys::SignerArgs, units::parse_units};

/// Sign and submit transactions.
#[derive(Debug, clap::Args)]
pub struct TxCmd {
    #[command(subcommand)]
    cmd: Sub,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Node API URL.
    #[arg(
        long,
        global = true,
        env = "SYMBIONT_NODE",
        default_value = "http://127.0.0.1:8420"
    )]
    node: String,
    /// Fee in native base units [default: the chain's minimum].
    #[arg(long, global = true)]
    fee: Option<u64>,
    /// Return after submitting instead of waiting for the receipt.
    #[arg(long, global = true)]
    no_wait: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Transfer the native token or an issued asset.
    Transfer {
        #[command(flatten)]
        signer: SignerArgs,
        /// Recipient.
        #[arg(long)]
        to: Address,
        /// Amount in whole units with up to the asset's decimals, e.g. 1.25.
        #[arg(long)]
        amount: String,
        /// Asset id [default: the native token].
        #[arg(long)]
        asset: Option<Address>,
    },
    /// Mint an issued asset (issuer only).
    Mint {
        #[command(flatten)]
        signer: SignerArgs,
        /// Asset id.
        #[arg(long)]
        asset: Address,
        /// Recipient.
        #[arg(long)]
        to: Address,
        /// Amount in whole units, e.g. 100.5.
        #[arg(long)]
        amount: String,
    },
}

async fn decimals(client: &Client, asset: &Address) -> eyre::Result<u8> {
    if *asset == NATIVE {
        return Ok(NATIVE_DECIMALS);
    }
    let v = client.get(&format!("/v1/assets/{asset}")).await?;
    v["decimals"]
        .as_u64()
        .and_then(|d| u8::try_from(d).ok())
        .ok_or_else(|| eyre!("asset has no decimals"))
}

impl TxCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(self.run_async())
    }

    async fn run_async(self) -> eyre::Result<()> {
        let client = Client::new(&self.common.node)?;
        let (chain_id, min_fee) = client
            .chain()
            .await
            .wrap_err("asking the node for the chain")?;
        let (signer, call) = match self.cmd {
            Sub::Transfer {
                signer,
                to,
                amount,
                asset,
            } => {
                let asset = asset.unwrap_or(NATIVE);
                let amount = parse_units(&amount, decimals(&client, &asset).await?)?;
                (signer, Call::Transfer { to, asset, amount })
            }
            Sub::Mint {
                signer,
                asset,
                to,
                amount,
            } => {
                let amount = parse_units(&amount, decimals(&client, &asset).await?)?;
                (signer, Call::Mint { asset, to, amount })
            }
        };
        let key = signer.unlock()?;
        let nonce = client.nonce(&signer.from).await?;
        let tx = Tx {
            from: signer.from,
            nonce,
            fee: self.common.fee.unwrap_or(min_fee),
            expiry: 0,
            call,
        };
        let signed: SignedTx =
            tx.sign_with(chain_id, |h| key.sign_hash(h).map(|s| s.to_bytes()))?;
        let hash = client.submit(&signed).await?;
        println!("submitted {hash}");
        if self.common.no_wait {
            return Ok(());
        }
        let v = client.wait(&hash, Duration::from_secs(30)).await?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        match v["receipt"]["status"].as_str() {
            Some("success") => Ok(()),
            _ => Err(eyre!("transaction did not succeed")),
        }
    }
}
