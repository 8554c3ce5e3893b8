//! `symbiont yuma epoch`: one epoch, JSON in and out.

use std::io::{Read, Write};

use eyre::WrapErr;
use yuma::wire::EpochRequest;

/// Reads `{"params", "state", "emission"}` on stdin, writes the epoch result on stdout.
#[derive(Debug, clap::Args)]
pub struct EpochCmd {
    /// Pretty-print the output.
    #[arg(long)]
    pretty: bool,
}

impl EpochCmd {
    pub(super) fn run(self) -> eyre::Result<()> {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .wrap_err("reading stdin")?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        let request: EpochRequest = match serde_path_to_error::deserialize(de) {
            Ok(r) => r,
            Err(e) => super::invalid_input(format!("invalid input: {}: {}", e.path(), e.inner())),
        };
        let response = match request.run() {
            Ok(r) => r,
            Err(e) => super::invalid_input(e),
        };
        let json = if self.pretty {
            serde_json::to_string_pretty(&response)
        } else {
            serde_json::to_string(&response)
        }?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{json}")?;
        Ok(())
    }
}
