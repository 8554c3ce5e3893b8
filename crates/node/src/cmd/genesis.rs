//! `symbiont genesis`: write a genesis file.

use std::path::PathBuf;

use eyre::{WrapErr, eyre};
use ledger::{
    Address, Genesis,
    genesis::{AmountStr, DEV_USD_NAME, GenesisAsset},
    subnet::ShareRule,
};

use crate::units::parse_units;

/// Genesis files.
#[derive(Debug, clap::Args)]
pub struct GenesisCmd {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Write a new genesis file.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// Where to write it.
    #[arg(long, short, default_value = "genesis.json")]
    out: PathBuf,
    /// EIP-155 chain id.
    #[arg(long, default_value_t = 31_337)]
    chain_id: u64,
    /// Native allocation ADDRESS=AMOUNT in whole tokens (9 decimals), repeatable.
    #[arg(long = "alloc", value_name = "ADDRESS=AMOUNT")]
    allocs: Vec<String>,
    /// Issue "Devnet USD" (6 decimals) with this issuer.
    #[arg(long)]
    usd_issuer: Option<Address>,
    /// Devnet USD allocation ADDRESS=AMOUNT in whole dollars, repeatable.
    #[arg(long = "usd-alloc", value_name = "ADDRESS=AMOUNT")]
    usd_allocs: Vec<String>,
    /// Minimum fee per transaction in native base units.
    #[arg(long, default_value_t = 1_000)]
    min_fee: u64,
    /// How the native block emission is split across subnets: by moving pool price
    /// (subtensor since 2026-06) or by net stake flow (Taoflow).
    #[arg(long, value_enum, default_value_t = ShareRuleArg::MovingPrice)]
    share_rule: ShareRuleArg,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// [`ShareRule`] on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ShareRuleArg {
    /// In proportion to each subnet's moving price.
    MovingPrice,
    /// In proportion to each subnet's positive net-flow EMA.
    Taoflow,
}

impl From<ShareRuleArg> for ShareRule {
    fn from(a: ShareRuleArg) -> Self {
        match a {
            ShareRuleArg::MovingPrice => ShareRule::MovingPrice,
            ShareRuleArg::Taoflow => ShareRule::Taoflow,
        }
    }
}

fn parse_alloc(s: &str, decimals: u8) -> eyre::Result<(Address, AmountStr)> {
    let (a, v) = s
        .split_once('=')
        .ok_or_else(|| eyre!("{s:?} is not ADDRESS=AMOUNT"))?;
    let addr: Address = a
        .parse()
        .wrap_err_with(|| format!("{a:?} is not an address"))?;
    Ok((addr, AmountStr(parse_units(v, decimals)?)))
}

impl GenesisCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        let Sub::New(a) = self.cmd;
        if a.out.exists() && !a.force {
            eyre::bail!("{} exists (pass --force to overwrite)", a.out.display());
        }
        let alloc = a
            .allocs
            .iter()
            .map(|s| parse_alloc(s, 9))
            .collect::<eyre::Result<_>>()?;
        let mut assets = vec![];
        if let Some(issuer) = a.usd_issuer {
            let alloc = a
                .usd_allocs
                .iter()
                .map(|s| parse_alloc(s, 6))
                .collect::<eyre::Result<_>>()?;
            assets.push(GenesisAsset {
                name: DEV_USD_NAME.into(),
                version: "1".into(),
                decimals: 6,
                issuer,
                alloc,
            });
        } else if !a.usd_allocs.is_empty() {
            eyre::bail!("--usd-alloc needs --usd-issuer");
        }
        let g = Genesis {
            chain_id: a.chain_id,
            timestamp_ms: crate::app::now_ms(),
            min_fee: a.min_fee,
            alloc,
            assets,
            share_rule: a.share_rule.into(),
            validators: Vec::new(),
            compute: None,
            infer: None,
        };
        g.build()?; // validate (cap, duplicates)
        std::fs::write(&a.out, serde_json::to_string_pretty(&g)?)?;
        println!("wrote {}", a.out.display());
        Ok(())
    }
}
