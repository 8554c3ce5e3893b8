//! `symbiont pay <url>`: curl for paid URLs. Sends the request; on `402 Payment Required`
//! pays with x402 (`x402_client`) under the given limits and sends it again. The body goes to
//! stdout, what was paid and the receipt to stderr.

use std::{sync::Arc, time::Duration};

use alloy_primitives::U256;
use eyre::{WrapErr, bail, eyre};
use ledger::Address;
use x402_client::{Client, SpendControls};
use x402_types::Network;

use crate::{
    cmd::keys::SignerArgs,
    units::{format_units, parse_units},
};

/// Fetch a URL, paying for it with x402 if the server asks.
#[derive(Debug, clap::Args)]
pub struct PayCmd {
    /// The URL.
    url: String,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// Request body (sent as is; use with -H 'Content-Type: …').
    #[arg(short = 'd', long)]
    data: Option<String>,
    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Pay at most this much per request, in whole tokens (e.g. 0.05) [default: 1.00]
    #[arg(long, default_value = "1")]
    max: String,
    /// Decimals of the token `--max` is written in.
    #[arg(long, default_value_t = 6)]
    decimals: u8,
    /// Only pay in this token (repeatable; needs --network).
    #[arg(long, requires = "network")]
    asset: Vec<Address>,
    /// Only pay on this network, CAIP-2 (repeatable), e.g. eip155:31337.
    #[arg(long)]
    network: Vec<String>,
    /// Only pay this recipient (repeatable).
    #[arg(long)]
    pay_to: Vec<Address>,
    /// Print the receipt as JSON on stderr.
    #[arg(long)]
    json: bool,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// The paying key.
    #[command(flatten)]
    signer: SignerArgs,
}

impl PayCmd {
    /// Runs the command.
    pub fn run(self) -> eyre::Result<()> {
        let key = self.signer.unlock()?;
        let cap = parse_units(&self.max, self.decimals).wrap_err("--max")?;
        let networks = self
            .network
            .iter()
            .map(|n| {
                n.parse::<Network>()
                    .map_err(|e| eyre!("--network {n}: {e}"))
            })
            .collect::<eyre::Result<Vec<_>>>()?;
        let assets: Vec<(Network, Address)> = networks
            .iter()
            .flat_map(|n| self.asset.iter().map(move |a| (n.clone(), *a)))
            .collect();
        let controls = SpendControls {
            max_per_payment: Some(U256::from(cap)),
            budget: None,
            assets: (!assets.is_empty()).then_some(assets),
            networks: (!networks.is_empty()).then_some(networks),
            payees: (!self.pay_to.is_empty()).then(|| self.pay_to.clone()),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(self.timeout))
            .build()?;
        let client = Client::with_http(http, Arc::new(key), controls);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let method = reqwest::Method::from_bytes(self.method.to_uppercase().as_bytes())
                .map_err(|_| eyre!("bad method {}", self.method))?;
            let mut rb = client.http().request(method, &self.url);
            for h in &self.headers {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| eyre!("header {h:?} is not `Name: value`"))?;
                rb = rb.header(name.trim(), value.trim());
            }
            if let Some(d) = &self.data {
                rb = rb.body(d.clone());
            }
            let request = rb.build()?;
            let paid = match client.execute(request).await {
                Ok(p) => p,
                Err(x402_client::Error::Refused { reason, receipt }) => {
                    if let Some(r) = receipt {
                        eprintln!("receipt: {}", serde_json::to_string(&r)?);
                    }
                    bail!("the server refused the payment: {reason}");
                }
                Err(e) => return Err(e.into()),
            };
            if let Some(p) = &paid.payment {
                eprintln!(
                    "paid {} ({} units) of {} on {} to {}",
                    format_units(u128::try_from(p.amount).unwrap_or(u128::MAX), self.decimals),
                    p.amount,
                    p.asset,
                    p.network,
                    p.pay_to
                );
            }
            if let Some(r) = &paid.receipt {
                if self.json {
                    eprintln!("{}", serde_json::to_string_pretty(r)?);
                } else {
                    eprintln!("settled: {} tx {}", r.success, r.transaction);
                }
            }
            let status = paid.response.status();
            let body = paid.response.bytes().await?;
            use std::io::Write;
            std::io::stdout().write_all(&body)?;
            if !body.ends_with(b"\n") {
                println!();
            }
            if !status.is_success() {
                bail!("HTTP {status}");
            }
            Ok(())
        })
    }
}
