//! `symbiont keys`: placeholder until the keystore lands.

/// Manage keys.
#[derive(Debug, clap::Args)]
pub struct KeysCmd {}

impl KeysCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        eyre::bail!("not yet implemented")
    }
}
