//! The Symbiont node: the composition root.
//!
//! - [`cli`]: the `symbiont` command line and its subcommands (in [`cmd`]).

pub mod cli;
pub mod cmd;
