//! One module per top-level subcommand.

pub mod keys;
pub mod yuma;
