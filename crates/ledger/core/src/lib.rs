//! The Symbiont ledger core: types and the pure, deterministic state transition.
//!
//! - [`asset`]: the native token and issued assets.
//! - [`tx`]: transactions as EIP-712 typed data, their signatures and hashes.
//! - [`eip3009`]: `transferWithAuthorization` / `cancelAuthorization` under an asset's domain.
//! - [`state`]: accounts, assets, the state diff of a block and the state root.
//! - [`block`]: headers, blocks and their roots.
//! - [`receipt`]: receipts and events.
//! - [`exec`]: executing transactions and blocks (`apply_block`).
//! - [`subnet`]: subnets, their pools, neurons and weights.
//! - [`compute`]: the compute market: providers, orders, bids, leases, burn-mint.
//! - [`agents`]: agent identity, reputation and validation registries (ERC-8004).
//! - [`genesis`]: the genesis file.
//! - [`store`]: the storage trait and an in-memory store.
//! - [`error`]: rejection codes and the crate error.
//!
//! Nothing here does I/O, reads a clock or spawns a task: time comes in the block header.

pub mod agents;
pub mod asset;
pub mod block;
pub mod compute;
pub mod eip3009;
pub mod error;
pub mod exec;
pub mod genesis;
pub mod infer;
pub mod receipt;
pub mod state;
pub mod store;
pub mod subnet;
pub mod tx;
mod util;

pub use alloy_primitives::{Address, B256, U256, keccak256};
pub use asset::{Asset, AssetId, NATIVE};
pub use block::{Block, Header};
pub use error::{Error, Reject, Result};
pub use exec::{BlockContext, BuiltBlock, apply_block, apply_block_with, build_block};
pub use genesis::{Genesis, GenesisValidator};
pub use receipt::{Event, Receipt, Status};
pub use state::{Account, State, StateDiff};
pub use store::{Commit, MemStore, Store, TxRecord};
pub use tx::{Call, SignedTx, Tx, VerifiedTx};

/// An amount of a token in its smallest unit.
pub type Amount = u128;

/// Decimals of the native token.
pub const NATIVE_DECIMALS: u8 = 9;

/// The native token's supply cap: 21,000,000 tokens of 10^9 base units.
pub const NATIVE_SUPPLY_CAP: Amount = 21_000_000 * 1_000_000_000;
