//! The node API client (the `ledger-client` crate), re-exported for the CLI.

pub use ledger_client::*;
