//! Test fixtures and helpers shared by the workspace's tests. A dev-dependency only.
//!
//! - [`interop_dir`], [`run_node`]: run the scripts in `interop/` (ethers, viem from npm) for
//!   differential tests against standard Ethereum libraries.
//! - [`evm`]: [`evm::Anvil`], a local EVM node from `interop/node_modules` on a free port, and
//!   its dev keys.

pub mod evm;
pub mod interop;

pub use interop::{NodeProcess, interop_dir, repo_root, run_node, spawn_node, try_interop_dir};
