//! The `symbiont` command line.

use clap::{Parser, Subcommand};

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
    /// Create, import, list and export keys (Ethereum keystore v3).
    Keys(cmd::keys::KeysCmd),
    /// Yuma consensus: run one epoch from JSON, or simulate a scenario.
    Yuma(cmd::yuma::YumaCmd),
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Keys(c) => c.run(),
        Command::Yuma(c) => c.run(),
    }
}
