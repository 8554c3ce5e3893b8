//! `symbiont yuma`: Yuma consensus from the command line.
//!
//! - `symbiont yuma epoch` reads one epoch request (JSON) on stdin and prints the result;
//! - `symbiont yuma simulate scenario.json` runs a multi-epoch scenario and writes a CSV,
//!   a summary table and a PNG chart.
//!
//! Invalid input is reported on stderr and exits with code 2.

mod chart;
mod epoch;
mod simulate;

use super::invalid_input;

/// Yuma consensus tools.
#[derive(Debug, clap::Args)]
pub struct YumaCmd {
    #[command(subcommand)]
    command: YumaSubcommand,
}

#[derive(Debug, clap::Subcommand)]
enum YumaSubcommand {
    /// Run one epoch: JSON request on stdin, JSON result on stdout.
    Epoch(epoch::EpochCmd),
    /// Simulate a scenario over many epochs under Yuma3 and original Yuma.
    Simulate(simulate::SimulateCmd),
}

impl YumaCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.command {
            YumaSubcommand::Epoch(c) => c.run(),
            YumaSubcommand::Simulate(c) => c.run(),
        }
    }
}
