//! `symbiont yuma`: placeholder until the yuma command lands.

/// Yuma consensus tools.
#[derive(Debug, clap::Args)]
pub struct YumaCmd {}

impl YumaCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        eyre::bail!("not yet implemented")
    }
}
