//! `symbiont yuma simulate`: placeholder.

use std::path::PathBuf;

/// Simulates a scenario.
#[derive(Debug, clap::Args)]
pub struct SimulateCmd {
    /// Scenario file (JSON).
    scenario: PathBuf,
}

impl SimulateCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        eyre::bail!("simulate {}: not yet implemented", self.scenario.display())
    }
}
