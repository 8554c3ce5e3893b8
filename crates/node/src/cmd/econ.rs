//! `symbiont econ`: token economics from the command line.
//!
//! - `symbiont econ simulate` runs the compute market's burn-mint accounting (the ledger's
//!   `compute::bme` functions) over demand scenarios and writes a CSV, a summary table and a
//!   PNG chart of the native supply and price.
//!
//! Invalid input is reported on stderr and exits with code 2.

mod sim;
mod simulate;

use super::invalid_input;

/// Token economics tools.
#[derive(Debug, clap::Args)]
pub struct EconCmd {
    #[command(subcommand)]
    command: EconSubcommand,
}

#[derive(Debug, clap::Subcommand)]
enum EconSubcommand {
    /// Simulate the native supply under burn-mint with USD demand scenarios.
    #[command(long_about = simulate::ABOUT)]
    Simulate(simulate::SimulateCmd),
}

impl EconCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.command {
            EconSubcommand::Simulate(c) => c.run(),
        }
    }
}
