//! The compute market from the command line: `symbiont provider register|audit|list|show`,
//! `symbiont order create|list|show|cancel|accept`, `symbiont bid place [--sealed]` and
//! `symbiont lease show|deposit|withdraw|close`. Transactions are signed locally with a
//! keystore key and submitted to the node; reads go through its REST API.
//!
//! Amounts are decimals in the asset's units (`--max-price 0.002` USD per block); a burn
//! order's prices are USD and its deposit native tokens. A sealed bid is encrypted here,
//! under the public key whose hash the order carries, and uploaded to the order's
//! auctioneer before the bid transaction names its hash.

use std::collections::BTreeMap;

use eyre::{WrapErr, bail, eyre};
use ledger::{
    Address, B256, Call, NATIVE, NATIVE_DECIMALS,
    compute::{ComputeCall, OrderSpec, OrderTerms, Sealed, Settlement},
    keccak256,
};
use serde_json::Value;

use crate::{
    client::Client,
    cmd::{
        keys::SignerArgs,
        subnet::{NodeArgs, block_on, send},
    },
    units::{format_json_units, parse_units},
};

/// The decimals of the USD units burn orders are priced in.
const USD_DECIMALS: u8 = 6;

fn parse_attr(s: &str) -> eyre::Result<(String, String)> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| eyre!("attribute {s:?} is not key=value"))?;
    Ok((k.to_owned(), v.to_owned()))
}

fn attrs(list: &[String]) -> eyre::Result<BTreeMap<String, String>> {
    list.iter().map(|s| parse_attr(s)).collect()
}

/// Register as a provider, sign attributes as an auditor, list and show providers.
#[derive(Debug, clap::Args)]
pub struct ProviderCmd {
    #[command(subcommand)]
    cmd: ProviderSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ProviderSub {
    /// Register the signer as a provider (or update its URI and attributes).
    Register {
        #[command(flatten)]
        signer: SignerArgs,
        /// The provider's gateway base URL.
        #[arg(long)]
        uri: String,
        /// An attribute, key=value (repeat): region=eu, capacity/rps=20,
        /// model/all-minilm-l6-v2=true.
        #[arg(long = "attr", value_name = "KEY=VALUE")]
        attrs: Vec<String>,
    },
    /// As an auditor, vouch for a provider's attributes (none withdraws your signature).
    Audit {
        #[command(flatten)]
        signer: SignerArgs,
        /// The provider's address.
        provider: Address,
        /// An attribute you vouch for, key=value (repeat).
        #[arg(long = "attr", value_name = "KEY=VALUE")]
        attrs: Vec<String>,
    },
    /// Every provider (JSON).
    List,
    /// One provider (JSON).
    Show {
        /// The provider's address.
        provider: Address,
    },
}

impl ProviderCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let node = &self.node;
            let client = Client::new(&node.node)?;
            match self.cmd {
                ProviderSub::Register {
                    signer,
                    uri,
                    attrs: a,
                } => {
                    let call = ComputeCall::RegisterProvider {
                        uri,
                        attributes: attrs(&a)?,
                    };
                    send(node, &signer, Call::Compute(call)).await?;
                }
                ProviderSub::Audit {
                    signer,
                    provider,
                    attrs: a,
                } => {
                    let call = ComputeCall::SignAttributes {
                        provider,
                        attributes: attrs(&a)?,
                    };
                    send(node, &signer, Call::Compute(call)).await?;
                }
                ProviderSub::List => print_json(&client.get("/v1/compute/providers").await?)?,
                ProviderSub::Show { provider } => print_json(
                    &client
                        .get(&format!("/v1/compute/providers/{provider}"))
                        .await?,
                )?,
            }
            Ok(())
        })
    }
}

fn print_json(v: &Value) -> eyre::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Create, inspect, cancel and accept orders for compute.
#[derive(Debug, clap::Args)]
pub struct OrderCmd {
    #[command(subcommand)]
    cmd: OrderSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
enum OrderSub {
    /// Open an order: the deposit moves into escrow; prints the order id.
    Create(CreateArgs),
    /// Orders (JSON), optionally only those in one state.
    List {
        /// open, leased, canceled or lapsed.
        #[arg(long)]
        state: Option<String>,
    },
    /// One order with its bids (JSON). Sealed bids show no price.
    Show {
        /// The order id.
        order: u64,
    },
    /// Cancel an order no bid has won; deposit and collateral are refunded.
    Cancel {
        #[command(flatten)]
        signer: SignerArgs,
        /// The order id.
        order: u64,
    },
    /// Accept a provider's clear bid before the deadline: the lease starts.
    Accept {
        #[command(flatten)]
        signer: SignerArgs,
        /// The order id.
        order: u64,
        /// The bidding provider.
        #[arg(long)]
        provider: Address,
    },
}

#[derive(Debug, clap::Args)]
struct CreateArgs {
    #[command(flatten)]
    signer: SignerArgs,
    /// Requests per second the provider must serve you.
    #[arg(long)]
    capacity_rps: u32,
    /// An attribute the provider must have, key=value (repeat).
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    attrs: Vec<String>,
    /// Accept only attributes signed by this auditor (repeat).
    #[arg(long = "auditor")]
    auditors: Vec<Address>,
    /// The asset of deposit and prices: an asset name (e.g. "Devnet USD"), an address, or
    /// `native`. A burn order is always native.
    #[arg(long, default_value = "Devnet USD")]
    asset: String,
    /// Pay by burning native tokens at the oracle price, prices in USD (burn-mint).
    #[arg(long)]
    burn: bool,
    /// The most you pay per block, in the asset's units (USD for --burn).
    #[arg(long)]
    max_price: String,
    /// Blocks the lease runs.
    #[arg(long)]
    duration: u64,
    /// The deposit, in the asset's units (native tokens for --burn).
    #[arg(long)]
    deposit: String,
    /// The least native collateral a bid carries, in tokens.
    #[arg(long, default_value = "0")]
    min_collateral: String,
    /// Blocks bids are taken for.
    #[arg(long, default_value_t = 20)]
    bid_window: u64,
    /// Sealed bids: the node (`--node`) creates the auction's FHE keys and resolves it.
    #[arg(long)]
    sealed: bool,
    /// The price tick of a sealed auction, in the asset's units (a bid is a whole number of
    /// ticks, at most 65,535) [default: max price / 65,535, at least one base unit].
    #[arg(long)]
    tick: Option<String>,
}

/// An asset by name, address or `native` (or the zero address): its id and decimals.
pub(crate) async fn resolve_asset(client: &Client, s: &str) -> eyre::Result<(Address, u8)> {
    if s.eq_ignore_ascii_case("native") || s.parse::<Address>().ok() == Some(NATIVE) {
        return Ok((NATIVE, NATIVE_DECIMALS));
    }
    let assets = client.get("/v1/assets").await?;
    let list = assets["assets"].as_array().cloned().unwrap_or_default();
    let found = list.iter().find(|a| {
        a["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(s))
            || a["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(s))
    });
    let a = found
        .ok_or_else(|| eyre!("no asset named {s:?} on this chain (see `symbiont query assets`)"))?;
    let id: Address = a["id"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| eyre!("asset {s:?}: the node answered no id"))?;
    let decimals = a["decimals"]
        .as_u64()
        .and_then(|d| u8::try_from(d).ok())
        .ok_or_else(|| eyre!("asset {s:?}: the node answered no decimals"))?;
    Ok((id, decimals))
}

/// The first event named `kind` in a transaction answer's receipt.
fn event<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v["receipt"]["events"]
        .as_array()?
        .iter()
        .find_map(|e| e.get(kind))
}

impl CreateArgs {
    async fn run(self, node: &NodeArgs) -> eyre::Result<()> {
        let client = Client::new(&node.node)?;
        let (asset, decimals, settlement, price_decimals) = if self.burn {
            (NATIVE, NATIVE_DECIMALS, Settlement::Burn, USD_DECIMALS)
        } else {
            let (id, d) = resolve_asset(&client, &self.asset).await?;
            (id, d, Settlement::Pay, d)
        };
        let max_price = parse_units(&self.max_price, price_decimals)?;
        let sealed = if self.sealed {
            let tick = match &self.tick {
                Some(t) => parse_units(t, price_decimals)?,
                None => max_price.div_ceil(65_535).max(1),
            };
            let a = client.post_raw("/v1/auctions", Vec::new()).await.wrap_err(
                "creating the sealed auction's keys on the node (does it run auctions?)",
            )?;
            let key_hash: B256 = a["keyHash"]
                .as_str()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| eyre!("the node answered no key hash"))?;
            let auctioneer: Address = a["auctioneer"]
                .as_str()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| eyre!("the node answered no auctioneer"))?;
            println!("sealed auction {key_hash}, auctioneer {auctioneer}");
            Some(Sealed {
                auctioneer,
                key_hash,
                tick,
            })
        } else {
            None
        };
        let call = ComputeCall::CreateOrder(OrderTerms {
            spec: OrderSpec {
                capacity_rps: self.capacity_rps,
                attributes: attrs(&self.attrs)?,
                auditors: self.auditors,
            },
            asset,
            settlement,
            max_price,
            duration: self.duration,
            deposit: parse_units(&self.deposit, decimals)?,
            min_collateral: parse_units(&self.min_collateral, NATIVE_DECIMALS)?,
            bid_window: self.bid_window,
            sealed,
        });
        let v = send(node, &self.signer, Call::Compute(call)).await?;
        if let Some(e) = event(&v, "orderCreated") {
            println!(
                "order {} open for bids until block {}",
                e["order"], e["bidDeadline"]
            );
        }
        Ok(())
    }
}

impl OrderCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let node = &self.node;
            let client = Client::new(&node.node)?;
            match self.cmd {
                OrderSub::Create(args) => args.run(node).await?,
                OrderSub::List { state } => {
                    let q = state.map(|s| format!("?state={s}")).unwrap_or_default();
                    print_json(&client.get(&format!("/v1/compute/orders{q}")).await?)?;
                }
                OrderSub::Show { order } => {
                    print_json(&client.get(&format!("/v1/compute/orders/{order}")).await?)?
                }
                OrderSub::Cancel { signer, order } => {
                    send(
                        node,
                        &signer,
                        Call::Compute(ComputeCall::CancelOrder { order }),
                    )
                    .await?;
                }
                OrderSub::Accept {
                    signer,
                    order,
                    provider,
                } => {
                    let v = send(
                        node,
                        &signer,
                        Call::Compute(ComputeCall::AcceptBid { order, provider }),
                    )
                    .await?;
                    if let Some(e) = event(&v, "leaseStarted") {
                        println!("lease {} started with {}", e["lease"], e["provider"]);
                    }
                }
            }
            Ok(())
        })
    }
}

/// Bid on orders.
#[derive(Debug, clap::Args)]
pub struct BidCmd {
    #[command(subcommand)]
    cmd: BidSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum BidSub {
    /// Bid on an order as a registered provider.
    Place {
        #[command(flatten)]
        signer: SignerArgs,
        /// The order id.
        #[arg(long)]
        order: u64,
        /// Your price per block, in the order's units (USD for a burn order).
        #[arg(long)]
        price: String,
        /// Native collateral, in tokens.
        #[arg(long, default_value = "0")]
        collateral: String,
        /// Encrypt the price for the order's sealed auction (only its auctioneer's
        /// computation sees it, and only if it wins).
        #[arg(long)]
        sealed: bool,
    },
}

impl BidCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let node = &self.node;
            let client = Client::new(&node.node)?;
            let BidSub::Place {
                signer,
                order,
                price,
                collateral,
                sealed,
            } = self.cmd;
            let o = client.get(&format!("/v1/compute/orders/{order}")).await?;
            let o = &o["order"];
            let decimals = if o["settlement"] == "burn" {
                USD_DECIMALS
            } else {
                let asset = o["asset"].as_str().unwrap_or_default();
                resolve_asset(&client, asset).await?.1
            };
            let price = parse_units(&price, decimals)?;
            let collateral = parse_units(&collateral, NATIVE_DECIMALS)?;
            let call = match (sealed, o["sealed"].is_object()) {
                (false, false) => ComputeCall::PlaceBid {
                    order,
                    price,
                    collateral,
                },
                (true, true) => {
                    let s: Sealed = serde_json::from_value(o["sealed"].clone())
                        .wrap_err("reading the order's sealed auction")?;
                    let ciphertext_hash = seal_and_upload(&client, &s, price).await?;
                    ComputeCall::PlaceSealedBid {
                        order,
                        ciphertext_hash,
                        collateral,
                    }
                }
                (true, false) => bail!("order {order} takes clear bids: leave out --sealed"),
                (false, true) => bail!("order {order} is sealed: bid with --sealed"),
            };
            send(node, &signer, Call::Compute(call)).await?;
            Ok(())
        })
    }
}

/// Seals `price` (a whole number of the auction's ticks) under the auction's public key,
/// after checking that key against the hash on the ledger, and uploads it to the node.
async fn seal_and_upload(client: &Client, s: &Sealed, price: u128) -> eyre::Result<B256> {
    if s.tick == 0 || !price.is_multiple_of(s.tick) {
        bail!(
            "a sealed price is a whole number of ticks: {price} is not a multiple of the tick {}",
            s.tick
        );
    }
    let ticks = u16::try_from(price / s.tick).map_err(|_| {
        eyre!(
            "{} ticks is more than a sealed bid holds (65,535)",
            price / s.tick
        )
    })?;
    let path = format!("/v1/auctions/{}", s.key_hash);
    let public = client.get_bytes(&format!("{path}/public-key")).await?;
    if keccak256(&public) != s.key_hash {
        bail!("the node's public key does not match the order's key hash: refusing to seal");
    }
    let sealed =
        tokio::task::spawn_blocking(move || compute_sealed::seal(&public, ticks)).await??;
    let v = client.post_bytes(&format!("{path}/bids"), sealed).await?;
    let hash: B256 = v["ciphertextHash"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| eyre!("the node answered no ciphertext hash"))?;
    println!("sealed bid uploaded: {hash}");
    Ok(hash)
}

/// Inspect and act on leases.
#[derive(Debug, clap::Args)]
pub struct LeaseCmd {
    #[command(subcommand)]
    cmd: LeaseSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum LeaseSub {
    /// A lease as of the head: escrow, cut-off, what a touch would settle.
    Show {
        /// The lease id (its order's).
        lease: u64,
        /// Print the node's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add funds to a lease that is still served (tenant).
    Deposit {
        #[command(flatten)]
        signer: SignerArgs,
        /// The lease id.
        lease: u64,
        /// Amount, in the lease's asset units.
        #[arg(long)]
        amount: String,
    },
    /// Settle: what the lease owes is paid out (provider).
    Withdraw {
        #[command(flatten)]
        signer: SignerArgs,
        /// The lease id.
        lease: u64,
    },
    /// Close (tenant or provider): settled, the balance refunded, collateral returned.
    Close {
        #[command(flatten)]
        signer: SignerArgs,
        /// The lease id.
        lease: u64,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

impl LeaseCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let node = &self.node;
            let client = Client::new(&node.node)?;
            match self.cmd {
                LeaseSub::Show { lease, json } => {
                    let v = client.get(&format!("/v1/leases/{lease}")).await?;
                    if json {
                        return print_json(&v);
                    }
                    let l = &v["lease"];
                    let (_, d) =
                        resolve_asset(&client, l["asset"].as_str().unwrap_or_default()).await?;
                    let amount = |x: &Value| format_json_units(x, d);
                    let e = &l["escrow"];
                    println!("lease {lease}: {} serves {}", l["provider"], l["tenant"]);
                    println!(
                        "  rate {} per block ({}), {} requests/s",
                        l["rate"].as_str().unwrap_or("-"),
                        l["settlement"].as_str().unwrap_or("-"),
                        l["capacityRps"]
                    );
                    println!(
                        "  blocks {}..{}, served until {}, {} at head {}",
                        l["start"],
                        l["end"],
                        v["servingUntil"],
                        if v["serving"] == true {
                            "serving"
                        } else {
                            "not serving"
                        },
                        v["head"]
                    );
                    println!(
                        "  escrow: deposited {}, balance {}, paid {}, refunded {}, owed now {}",
                        amount(&e["deposited"]),
                        amount(&e["balance"]),
                        amount(&e["paid"]),
                        amount(&e["refunded"]),
                        amount(&v["owed"])
                    );
                    if !l["closed"].is_null() {
                        println!("  closed: {}", l["closed"]);
                    }
                }
                LeaseSub::Deposit {
                    signer,
                    lease,
                    amount,
                } => {
                    let v = client.get(&format!("/v1/leases/{lease}")).await?;
                    let (_, d) =
                        resolve_asset(&client, v["lease"]["asset"].as_str().unwrap_or_default())
                            .await?;
                    let amount = parse_units(&amount, d)?;
                    let call = ComputeCall::DepositLease { lease, amount };
                    send(node, &signer, Call::Compute(call)).await?;
                }
                LeaseSub::Withdraw { signer, lease } => {
                    let call = ComputeCall::WithdrawLease { lease };
                    send(node, &signer, Call::Compute(call)).await?;
                }
                LeaseSub::Close {
                    signer,
                    lease,
                    reason,
                } => {
                    let call = ComputeCall::CloseLease { lease, reason };
                    send(node, &signer, Call::Compute(call)).await?;
                }
            }
            Ok(())
        })
    }
}
