//! Subnet commands: `symbiont subnet create|set|list|show`, `symbiont neuron register`,
//! `symbiont stake add|remove`, `symbiont weights set|commit|reveal` and `symbiont metagraph <netuid>`.
//! Transactions are signed locally and submitted to the node; reads go through its REST API.

use std::{fmt::Write as _, time::Duration};

use eyre::{WrapErr, eyre};
use ledger::{Address, B256, Call, NATIVE_DECIMALS, subnet::reveal::commit_hash};
use serde_json::Value;

use crate::{
    client::Client,
    cmd::keys::SignerArgs,
    units::{format_json_units, parse_units},
};

/// Where the node is and how to submit.
#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Node API URL.
    #[arg(
        long,
        global = true,
        env = "SYMBIONT_NODE",
        default_value = "http://127.0.0.1:8420"
    )]
    pub(crate) node: String,
    /// Fee in native base units [default: the chain's minimum].
    #[arg(long, global = true)]
    pub(crate) fee: Option<u64>,
    /// Return after submitting instead of waiting for the receipt.
    #[arg(long, global = true)]
    no_wait: bool,
}

pub(crate) fn block_on<F: std::future::Future<Output = eyre::Result<()>>>(
    f: F,
) -> eyre::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

/// Signs `call` with `signer`, submits it and (unless `--no-wait`) prints the receipt.
pub(crate) async fn send(node: &NodeArgs, signer: &SignerArgs, call: Call) -> eyre::Result<Value> {
    let client = Client::new(&node.node)?;
    let key = signer.unlock()?;
    let signed = client.sign(&key, call, node.fee).await?;
    let hash = client.submit(&signed).await?;
    println!("submitted {hash}");
    if node.no_wait {
        return Ok(Value::Null);
    }
    let v = client.wait(&hash, Duration::from_secs(30)).await?;
    println!("{}", serde_json::to_string_pretty(&v["receipt"])?);
    match v["receipt"]["status"].as_str() {
        Some("success") => Ok(v),
        _ => Err(eyre!("transaction did not succeed")),
    }
}

fn native(s: &str) -> eyre::Result<u128> {
    parse_units(s, NATIVE_DECIMALS)
}

/// An amount field of a JSON answer, formatted in whole tokens.
fn units(v: &Value) -> String {
    format_json_units(v, NATIVE_DECIMALS)
}

/// A u16 proportion as a decimal with 4 places (exact integer rounding down).
fn proportion(v: &Value) -> String {
    let p = v.as_u64().unwrap_or(0);
    let scaled = p * 10_000 / 65_535;
    format!("{}.{:04}", scaled / 10_000, scaled % 10_000)
}

/// Create, list and inspect subnets.
#[derive(Debug, clap::Args)]
pub struct SubnetCmd {
    #[command(subcommand)]
    cmd: SubnetSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum SubnetSub {
    /// Create a subnet owned by the signer, locking the current lock cost.
    Create {
        #[command(flatten)]
        signer: SignerArgs,
        /// The most to lock, in whole tokens [default: whatever it costs].
        #[arg(long)]
        max_lock: Option<String>,
    },
    /// Set one hyperparameter (owner only; e.g. `--name tempo --value 10`; booleans 0/1).
    Set {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// The hyperparameter's name as `subnet show` prints it (camelCase).
        #[arg(long)]
        name: String,
        /// Its new value.
        #[arg(long)]
        value: u64,
    },
    /// Every subnet, and the lock cost of a new one.
    List,
    /// A subnet with its hyperparameters and pool (JSON).
    Show {
        /// The subnet id.
        netuid: u16,
    },
    /// The subnet's last epochs: what entered its pool and what each epoch paid.
    Emissions {
        /// The subnet id.
        netuid: u16,
        /// The most recent epochs to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print the node's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

impl SubnetCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            match &self.cmd {
                SubnetSub::Create { signer, max_lock } => {
                    let max_lock_cost = match max_lock {
                        Some(s) => native(s)?,
                        None => u128::MAX,
                    };
                    send(&self.node, signer, Call::CreateSubnet { max_lock_cost }).await?;
                }
                SubnetSub::Set {
                    signer,
                    netuid,
                    name,
                    value,
                } => {
                    let call = Call::SetHyperparameter {
                        netuid: *netuid,
                        name: name.clone(),
                        value: *value,
                    };
                    send(&self.node, signer, call).await?;
                }
                SubnetSub::List => {
                    let v = Client::new(&self.node.node)?.get("/v1/subnets").await?;
                    print!("{}", subnet_table(&v));
                }
                SubnetSub::Show { netuid } => {
                    let client = Client::new(&self.node.node)?;
                    let v = client.get(&format!("/v1/subnets/{netuid}")).await?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                SubnetSub::Emissions {
                    netuid,
                    limit,
                    json,
                } => {
                    let client = Client::new(&self.node.node)?;
                    let v = client
                        .get(&format!("/v1/subnets/{netuid}/emissions?limit={limit}"))
                        .await?;
                    if *json {
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        print!("{}", emissions_table(&v));
                    }
                }
            }
            Ok(())
        })
    }
}

/// The emission history as a table: native and alpha in whole tokens.
pub fn emissions_table(v: &Value) -> String {
    let mut out = format!("subnet {} at block {}\n", v["netuid"], v["height"]);
    let _ = writeln!(
        out,
        "{:>8}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
        "BLOCK", "NATIVE IN", "ALPHA IN", "CHAIN BUY", "OWNER", "INCENTIVE", "DIVIDENDS", "TAKE"
    );
    for e in v["epochs"].as_array().into_iter().flatten() {
        let i = &e["injected"];
        let _ = writeln!(
            out,
            "{:>8}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
            e["block"].to_string(),
            units(&i["taoIn"]),
            units(&i["alphaIn"]),
            units(&i["chainBuyTao"]),
            units(&e["ownerCut"]),
            units(&e["incentive"]),
            units(&e["dividends"]),
            units(&e["take"]),
        );
    }
    out.push_str(
        "NATIVE IN and CHAIN BUY in native tokens; the rest in alpha; TAKE is part of DIVIDENDS\n",
    );
    out
}

fn subnet_table(v: &Value) -> String {
    let mut out = format!(
        "{:>6}  {:<42}  {:>7}  {:>5}  {:>16}  {:>16}  {:>12}\n",
        "NETUID", "OWNER", "NEURONS", "TEMPO", "POOL NATIVE", "POOL ALPHA", "PRICE"
    );
    for s in v["subnets"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "{:>6}  {:<42}  {:>7}  {:>5}  {:>16}  {:>16}  {:>12}",
            s["netuid"].to_string(),
            s["owner"].as_str().unwrap_or("-"),
            s["neurons"].to_string(),
            s["tempo"].to_string(),
            units(&s["pool"]["tao"]),
            units(&s["pool"]["alpha"]),
            units(&s["price"]),
        );
    }
    let _ = writeln!(out, "lock cost of a new subnet: {}", units(&v["lockCost"]));
    out
}

/// Register neurons.
#[derive(Debug, clap::Args)]
pub struct NeuronCmd {
    #[command(subcommand)]
    cmd: NeuronSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum NeuronSub {
    /// Register the signer on a subnet by burning the current registration price.
    Register {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// The most to burn, in whole tokens [default: whatever it costs].
        #[arg(long)]
        max_burn: Option<String>,
    },
    /// Advertise where the signer's neuron serves (an http:// or https:// base URL; "" clears).
    Serve {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// The base URL.
        #[arg(long)]
        url: String,
    },
}

impl NeuronCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let (signer, call) = match &self.cmd {
                NeuronSub::Register {
                    signer,
                    netuid,
                    max_burn,
                } => {
                    let max_burn = match max_burn {
                        Some(s) => native(s)?,
                        None => u128::MAX,
                    };
                    let call = Call::RegisterNeuron {
                        netuid: *netuid,
                        max_burn,
                    };
                    (signer, call)
                }
                NeuronSub::Serve {
                    signer,
                    netuid,
                    url,
                } => {
                    ledger::subnet::check_endpoint(url)?;
                    let call = Call::ServeEndpoint {
                        netuid: *netuid,
                        url: url.clone(),
                    };
                    (signer, call)
                }
            };
            send(&self.node, signer, call).await.map(drop)
        })
    }
}

/// Stake and unstake through a subnet's pool.
#[derive(Debug, clap::Args)]
pub struct StakeCmd {
    #[command(subcommand)]
    cmd: StakeSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum StakeSub {
    /// Swap native tokens into alpha stake.
    Add {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// The neuron to back (a registered account); the signer itself by default.
        #[arg(long)]
        hotkey: Option<Address>,
        /// Native tokens to swap, in whole tokens (e.g. 12.5).
        #[arg(long)]
        amount: String,
        /// The highest pool price accepted after the swap (native per alpha).
        #[arg(long)]
        limit_price: Option<String>,
    },
    /// Swap alpha stake back into native tokens.
    Remove {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// The neuron the stake backs; the signer itself by default.
        #[arg(long)]
        hotkey: Option<Address>,
        /// Alpha to swap, in whole alpha.
        #[arg(long)]
        alpha: String,
        /// The lowest pool price accepted after the swap (native per alpha).
        #[arg(long)]
        limit_price: Option<String>,
    },
}

impl StakeCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let limit = |l: &Option<String>| l.as_deref().map_or(Ok(0), native);
            let (signer, call) = match &self.cmd {
                StakeSub::Add {
                    signer,
                    netuid,
                    hotkey,
                    amount,
                    limit_price,
                } => (
                    signer,
                    Call::AddStake {
                        netuid: *netuid,
                        hotkey: hotkey.unwrap_or(signer.from),
                        amount: native(amount)?,
                        limit_price: limit(limit_price)?,
                    },
                ),
                StakeSub::Remove {
                    signer,
                    netuid,
                    hotkey,
                    alpha,
                    limit_price,
                } => (
                    signer,
                    Call::RemoveStake {
                        netuid: *netuid,
                        hotkey: hotkey.unwrap_or(signer.from),
                        alpha: native(alpha)?,
                        limit_price: limit(limit_price)?,
                    },
                ),
            };
            send(&self.node, signer, call).await.map(drop)
        })
    }
}

/// Set, commit or reveal weights.
#[derive(Debug, clap::Args)]
pub struct WeightsCmd {
    #[command(subcommand)]
    cmd: WeightsSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum WeightsSub {
    /// Store the signer's weights on a subnet: `--weights 2=60000,3=20000` (uid=value).
    Set {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// uid=value pairs, comma-separated; values are u16 on any scale.
        #[arg(long, value_delimiter = ',')]
        weights: Vec<String>,
        /// The validator's weights version key.
        #[arg(long, default_value_t = 0)]
        version_key: u64,
    },
    /// Commit to weights (commit-reveal subnets); reveal them in the next epoch with the
    /// same `--weights`, `--salt` and `--version-key`.
    Commit {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// uid=value pairs, comma-separated.
        #[arg(long, value_delimiter = ',')]
        weights: Vec<String>,
        /// A secret 32-byte salt, 0x-hex; keep it for the reveal.
        #[arg(long)]
        salt: B256,
        /// The validator's weights version key.
        #[arg(long, default_value_t = 0)]
        version_key: u64,
    },
    /// Reveal weights committed in the previous epoch.
    Reveal {
        #[command(flatten)]
        signer: SignerArgs,
        /// The subnet id.
        #[arg(long)]
        netuid: u16,
        /// uid=value pairs, comma-separated, as committed.
        #[arg(long, value_delimiter = ',')]
        weights: Vec<String>,
        /// The salt of the commit.
        #[arg(long)]
        salt: B256,
        /// The weights version key of the commit.
        #[arg(long, default_value_t = 0)]
        version_key: u64,
    },
}

fn parse_weight(s: &str) -> eyre::Result<(u16, u16)> {
    let (u, v) = s
        .split_once('=')
        .ok_or_else(|| eyre!("weight {s:?} is not uid=value"))?;
    Ok((
        u.trim().parse().wrap_err_with(|| format!("uid in {s:?}"))?,
        v.trim()
            .parse()
            .wrap_err_with(|| format!("value in {s:?}"))?,
    ))
}

impl WeightsCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let split = |weights: &[String]| -> eyre::Result<(Vec<u16>, Vec<u16>)> {
                let pairs = weights
                    .iter()
                    .map(|w| parse_weight(w))
                    .collect::<eyre::Result<Vec<_>>>()?;
                Ok(pairs.into_iter().unzip())
            };
            let (signer, call) = match &self.cmd {
                WeightsSub::Set {
                    signer,
                    netuid,
                    weights,
                    version_key,
                } => {
                    let (uids, values) = split(weights)?;
                    let call = Call::SetWeights {
                        netuid: *netuid,
                        uids,
                        values,
                        version_key: *version_key,
                    };
                    (signer, call)
                }
                WeightsSub::Commit {
                    signer,
                    netuid,
                    weights,
                    salt,
                    version_key,
                } => {
                    let (uids, values) = split(weights)?;
                    let commit_hash =
                        commit_hash(signer.from, *netuid, &uids, &values, *salt, *version_key);
                    println!("commit {commit_hash}");
                    (
                        signer,
                        Call::CommitWeights {
                            netuid: *netuid,
                            commit_hash,
                        },
                    )
                }
                WeightsSub::Reveal {
                    signer,
                    netuid,
                    weights,
                    salt,
                    version_key,
                } => {
                    let (uids, values) = split(weights)?;
                    let call = Call::RevealWeights {
                        netuid: *netuid,
                        uids,
                        values,
                        salt: *salt,
                        version_key: *version_key,
                    };
                    (signer, call)
                }
            };
            send(&self.node, signer, call).await.map(drop)
        })
    }
}

/// A subnet's metagraph as a table.
#[derive(Debug, clap::Args)]
pub struct MetagraphCmd {
    /// The subnet id.
    netuid: u16,
    /// Print the node's JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    node: NodeArgs,
}

impl MetagraphCmd {
    /// Runs the command.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let client = Client::new(&self.node.node)?;
            let v = client
                .get(&format!("/v1/subnets/{}/metagraph", self.netuid))
                .await?;
            if self.json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", metagraph_table(&v));
            }
            Ok(())
        })
    }
}

/// The metagraph as a fixed-width table: stake and emission in whole alpha, scores as
/// proportions of 1.
pub fn metagraph_table(v: &Value) -> String {
    let mut out = format!(
        "subnet {} at block {} (last epoch {})\n",
        v["netuid"], v["height"], v["lastEpoch"]
    );
    let _ = writeln!(
        out,
        "{:>4}  {:<42}  {:>14}  {:>6}  {:>6}  {:>6}  {:>6}  {:>12}  {:>2}  {:>8}",
        "UID", "ACCOUNT", "STAKE", "VTRUST", "CONS", "INCENT", "DIVS", "EMISSION", "VP", "UPDATED"
    );
    for n in v["neurons"].as_array().into_iter().flatten() {
        let owner = if n["isOwner"] == true { "*" } else { "" };
        let _ = writeln!(
            out,
            "{:>4}  {:<42}  {:>14}  {:>6}  {:>6}  {:>6}  {:>6}  {:>12}  {:>2}  {:>8}",
            n["uid"].to_string(),
            format!("{}{owner}", n["account"].as_str().unwrap_or("-")),
            units(&n["stake"]),
            proportion(&n["validatorTrust"]),
            proportion(&n["consensus"]),
            proportion(&n["incentive"]),
            proportion(&n["dividends"]),
            units(&n["emission"]),
            if n["validatorPermit"] == true {
                "*"
            } else {
                ""
            },
            n["lastUpdate"].to_string(),
        );
    }
    out.push_str("* after the account: the subnet owner; VP: validator permit\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metagraph_table_reads() {
        let v = serde_json::json!({
            "netuid": 1, "height": 30, "lastEpoch": 20,
            "neurons": [
                { "uid": 0, "account": "0x00000000000000000000000000000000000000aa", "stake": "1500000000",
                  "validatorTrust": 0, "consensus": 0, "incentive": 0, "dividends": 65535,
                  "emission": "250000000", "validatorPermit": true, "lastUpdate": 20, "isOwner": true },
                { "uid": 1, "account": "0x00000000000000000000000000000000000000bb", "stake": "0",
                  "validatorTrust": 0, "consensus": 32768, "incentive": 49151, "dividends": 0,
                  "emission": "0", "validatorPermit": false, "lastUpdate": 3, "isOwner": false }
            ]
        });
        let t = metagraph_table(&v);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "subnet 1 at block 30 (last epoch 20)");
        assert!(lines[1].starts_with(" UID  ACCOUNT"));
        assert!(lines[2].starts_with("   0  0x"), "{}", lines[2]);
        assert!(lines[2].ends_with(" *        20"), "{}", lines[2]);
        assert!(lines[2].contains("0x00000000000000000000000000000000000000aa*"));
        assert!(lines[2].contains("1.5"));
        assert!(lines[2].contains("1.0000"));
        assert!(lines[3].contains("0.7499"), "{}", lines[3]);
        assert!(lines[3].contains("0.5000"));
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn weights_parse() {
        assert_eq!(parse_weight("2=60000").unwrap(), (2, 60_000));
        assert!(parse_weight("2:1").is_err());
        assert!(parse_weight("2=70000").is_err());
    }
}
