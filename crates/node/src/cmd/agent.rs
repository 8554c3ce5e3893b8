//! Agent commands (ERC-8004 registries on the ledger): `symbiont agent register|list|show|
//! set-wallet|feedback|revoke|reputation|validation`. Transactions are signed locally with a
//! keystore key and submitted to the node; reads go through its REST API.

use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{WrapErr, bail, eyre};
use ledger::{
    Address, B256, Call,
    agents::{
        self, FeedbackCall, MAX_VALUE_DECIMALS, MetadataEntry, PaymentRef, REQUIRES_PAYMENT_KEY,
        registration::{MAX_FILE_LEN, RegistrationFile},
    },
    tx::Signature,
};

use crate::{
    client::Client,
    cmd::{
        keys::SignerArgs,
        subnet::{NodeArgs, block_on, send},
    },
};

/// Register agents, give and read feedback, request and answer validations.
#[derive(Debug, clap::Args)]
pub struct AgentCmd {
    #[command(subcommand)]
    cmd: AgentSub,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum AgentSub {
    /// Register an agent owned by the signer; prints its id. Its wallet starts as the signer.
    Register {
        #[command(flatten)]
        signer: SignerArgs,
        /// Where its registration file is served (agentURI: https://, ipfs://, data:).
        #[arg(long)]
        uri: String,
        /// The registration file, validated before submitting (a malformed file is refused
        /// naming the field).
        #[arg(long, value_name = "registration.json")]
        file: Option<std::path::PathBuf>,
        /// Accept feedback only when it cites a settled payment to the agent.
        #[arg(long)]
        require_payment: bool,
    },
    /// Agents, by id.
    List {
        /// The first id.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// The most to list.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One agent (JSON): owner, agentURI, wallet, metadata, clients.
    Show {
        /// The agent id.
        id: u64,
    },
    /// Set the agent's wallet; the wallet's key (in the same keystore) signs the proof.
    SetWallet {
        #[command(flatten)]
        signer: SignerArgs,
        /// The agent id.
        id: u64,
        /// The new wallet's address (its key must be in the keystore).
        #[arg(long)]
        wallet: Address,
    },
    /// Give feedback on an agent (not your own).
    Feedback {
        #[command(flatten)]
        signer: SignerArgs,
        /// The agent id.
        id: u64,
        /// The value as a decimal, e.g. 4.5, 87 or -3.2 (up to 18 decimals).
        #[arg(long, allow_hyphen_values = true)]
        value: String,
        /// First tag (e.g. starred, uptime, successRate).
        #[arg(long, default_value = "")]
        tag1: String,
        /// Second tag.
        #[arg(long, default_value = "")]
        tag2: String,
        /// The endpoint the feedback is about.
        #[arg(long, default_value = "")]
        endpoint: String,
        /// Where a feedback file is.
        #[arg(long, default_value = "")]
        uri: String,
        /// keccak256 of the feedback file.
        #[arg(long)]
        hash: Option<B256>,
        /// A settled EIP-3009 payment of yours to the agent, as <asset>:<nonce>.
        #[arg(long, value_name = "ASSET:NONCE")]
        payment: Option<String>,
    },
    /// Revoke one of your feedbacks.
    Revoke {
        #[command(flatten)]
        signer: SignerArgs,
        /// The agent id.
        id: u64,
        /// The feedback's index (from 1).
        #[arg(long)]
        index: u64,
    },
    /// An agent's reputation over clients you trust (ERC-8004 getSummary).
    Reputation {
        /// The agent id.
        id: u64,
        /// Comma-separated client addresses (required).
        #[arg(long, value_delimiter = ',', required = true)]
        clients: Vec<Address>,
        /// Only feedback with this first tag.
        #[arg(long, default_value = "")]
        tag1: String,
        /// Only feedback with this second tag.
        #[arg(long, default_value = "")]
        tag2: String,
    },
    /// Request or answer a validation.
    #[command(subcommand)]
    Validation(ValidationSub),
}

#[derive(Debug, clap::Subcommand)]
enum ValidationSub {
    /// Ask a validator to validate your agent's work.
    Request {
        #[command(flatten)]
        signer: SignerArgs,
        /// The agent id.
        id: u64,
        /// The validator (the only one that may answer).
        #[arg(long)]
        validator: Address,
        /// keccak256 of the request payload; the request's identifier.
        #[arg(long)]
        request_hash: B256,
        /// Where the payload is.
        #[arg(long, default_value = "")]
        uri: String,
    },
    /// Answer a request you were named in, 0..100 (may be repeated).
    Respond {
        #[command(flatten)]
        signer: SignerArgs,
        /// The request hash.
        request_hash: B256,
        /// The response, 0..100.
        #[arg(long)]
        response: u8,
        /// Where the evidence is.
        #[arg(long, default_value = "")]
        uri: String,
        /// A tag such as soft-finality.
        #[arg(long, default_value = "")]
        tag: String,
    },
}

/// Parses a decimal such as `4.5` or `-1` into (value, decimals).
pub fn parse_value(s: &str) -> eyre::Result<(i128, u8)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !ok(int) || !ok(frac) || (digits.contains('.') && frac.is_empty()) {
        bail!("value {s:?} is not a decimal number such as 4.5 or -1");
    }
    let decimals = u8::try_from(frac.len())
        .ok()
        .filter(|d| *d <= MAX_VALUE_DECIMALS)
        .ok_or_else(|| eyre!("value {s:?} has more than {MAX_VALUE_DECIMALS} decimals"))?;
    let magnitude: i128 = format!("{int}{frac}")
        .parse()
        .map_err(|_| eyre!("value {s:?} is too large"))?;
    if magnitude > agents::MAX_ABS_VALUE {
        bail!("value {s:?} is beyond ±1e38 base units");
    }
    Ok((if neg { -magnitude } else { magnitude }, decimals))
}

/// Formats (value, decimals) as a decimal.
pub fn format_value(value: i128, decimals: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let d = usize::from(decimals);
    let sign = if value < 0 { "-" } else { "" };
    if d == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    format!("{sign}{int}.{frac}")
}

fn parse_payment(s: &str) -> eyre::Result<PaymentRef> {
    let (asset, nonce) = s
        .split_once(':')
        .ok_or_else(|| eyre!("--payment must be <asset>:<nonce>, got {s:?}"))?;
    Ok(PaymentRef {
        asset: asset
            .parse()
            .map_err(|_| eyre!("--payment asset {asset:?} is not an address"))?,
        nonce: nonce
            .parse()
            .map_err(|_| eyre!("--payment nonce {nonce:?} is not a 32-byte hex nonce"))?,
    })
}

/// Reads and validates a registration file.
pub fn read_registration(path: &std::path::Path) -> eyre::Result<RegistrationFile> {
    let meta = std::fs::metadata(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_FILE_LEN as u64 {
        bail!(
            "{}: registration file is {} bytes; the limit is {MAX_FILE_LEN}",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).wrap_err_with(|| format!("reading {}", path.display()))?;
    RegistrationFile::parse(&bytes)
        .map_err(|e| eyre!("{}: invalid registration file: {e}", path.display()))
}

impl AgentCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        block_on(async move {
            let node = &self.node;
            match self.cmd {
                AgentSub::Register {
                    signer,
                    uri,
                    file,
                    require_payment,
                } => {
                    if let Some(path) = &file {
                        let f = read_registration(path)?;
                        println!(
                            "registration file ok: {:?}, {} services",
                            f.name,
                            f.services.len()
                        );
                    }
                    let mut metadata = vec![];
                    if require_payment {
                        metadata.push(MetadataEntry {
                            key: REQUIRES_PAYMENT_KEY.into(),
                            value: vec![1u8].into(),
                        });
                    }
                    let v = send(node, &signer, Call::RegisterAgent { uri, metadata }).await?;
                    let id = v["receipt"]["events"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find_map(|e| e["agentRegistered"]["agentId"].as_u64());
                    if let Some(id) = id {
                        println!("agent {id}");
                    }
                }
                AgentSub::List { offset, limit } => {
                    let client = Client::new(&node.node)?;
                    let list = client.agents(offset, limit).await?;
                    println!("{:>6}  {:<42}  {:<42}  URI", "ID", "OWNER", "WALLET");
                    for a in list {
                        let wallet = a.wallet.map_or_else(|| "-".to_owned(), |w| w.to_string());
                        println!("{:>6}  {:<42}  {:<42}  {}", a.id, a.owner, wallet, a.uri);
                    }
                }
                AgentSub::Show { id } => {
                    let v = Client::new(&node.node)?
                        .get(&format!("/v1/agents/{id}"))
                        .await?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                AgentSub::SetWallet { signer, id, wallet } => {
                    let wallet_key = SignerArgs {
                        from: wallet,
                        keystore: signer.keystore.clone(),
                    }
                    .unlock()?;
                    let (chain_id, _) = Client::new(&node.node)?.chain().await?;
                    // The block time must not pass the deadline, nor be 5 minutes before it.
                    let deadline = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 240;
                    let h = agents::wallet_proof_hash(chain_id, id, wallet, signer.from, deadline);
                    let signature = Signature(wallet_key.sign_hash(&h)?.to_bytes());
                    let call = Call::SetAgentWallet {
                        agent_id: id,
                        wallet,
                        deadline,
                        signature,
                    };
                    send(node, &signer, call).await?;
                }
                AgentSub::Feedback {
                    signer,
                    id,
                    value,
                    tag1,
                    tag2,
                    endpoint,
                    uri,
                    hash,
                    payment,
                } => {
                    let (value, value_decimals) = parse_value(&value)?;
                    let call = Call::GiveFeedback(FeedbackCall {
                        agent_id: id,
                        value,
                        value_decimals,
                        tag1,
                        tag2,
                        endpoint,
                        feedback_uri: uri,
                        feedback_hash: hash.unwrap_or_default(),
                        payment: payment.as_deref().map(parse_payment).transpose()?,
                    });
                    send(node, &signer, call).await?;
                }
                AgentSub::Revoke { signer, id, index } => {
                    let call = Call::RevokeFeedback {
                        agent_id: id,
                        index,
                    };
                    send(node, &signer, call).await?;
                }
                AgentSub::Reputation {
                    id,
                    clients,
                    tag1,
                    tag2,
                } => {
                    let client = Client::new(&node.node)?;
                    let s = client.reputation(id, &clients, &tag1, &tag2).await?;
                    println!(
                        "agent {id}: {} feedback, average {} ({} decimals)",
                        s.count,
                        format_value(s.value, s.decimals),
                        s.decimals
                    );
                }
                AgentSub::Validation(ValidationSub::Request {
                    signer,
                    id,
                    validator,
                    request_hash,
                    uri,
                }) => {
                    let call = Call::ValidationRequest {
                        validator,
                        agent_id: id,
                        uri,
                        request_hash,
                    };
                    send(node, &signer, call).await?;
                }
                AgentSub::Validation(ValidationSub::Respond {
                    signer,
                    request_hash,
                    response,
                    uri,
                    tag,
                }) => {
                    let call = Call::ValidationResponse {
                        request_hash,
                        response,
                        uri,
                        hash: B256::ZERO,
                        tag,
                    };
                    send(node, &signer, call).await?;
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_parse_and_format_exactly() {
        for (s, v, d) in [
            ("4.5", 45, 1),
            ("-1", -1, 0),
            ("87", 87, 0),
            ("99.77", 9977, 2),
            ("-0.032", -32, 3),
            ("0.000000000000000001", 1, 18),
        ] {
            assert_eq!(parse_value(s).unwrap(), (v, d), "{s}");
            assert_eq!(format_value(v, d), s.trim_start_matches('+'));
        }
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1e3",
            "4,5",
            "0.0000000000000000001",
            "--1",
        ] {
            assert!(parse_value(bad).is_err(), "{bad:?}");
        }
    }
}
