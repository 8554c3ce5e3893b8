//! Block headers and blocks.

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::{receipt::Receipt, state::Head, tx::SignedTx};

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Height; genesis is 0.
    pub height: u64,
    /// The parent block's hash (zero for genesis).
    pub parent_hash: B256,
    /// Unix milliseconds.
    pub timestamp_ms: u64,
    /// Who produced it.
    pub proposer: Address,
    /// Commitment to the transactions: keccak256 of their hashes in order.
    pub tx_root: B256,
    /// Commitment to the receipts: keccak256 of their hashes in order.
    pub receipts_root: B256,
    /// The state root after the block.
    pub state_root: B256,
}

impl Header {
    /// The block hash: keccak256 of the fixed-layout header encoding (big-endian integers).
    pub fn hash(&self) -> B256 {
        let mut buf = [0u8; 8 + 32 + 8 + 20 + 32 * 3];
        buf[0..8].copy_from_slice(&self.height.to_be_bytes());
        buf[8..40].copy_from_slice(self.parent_hash.as_slice());
        buf[40..48].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        buf[48..68].copy_from_slice(self.proposer.as_slice());
        buf[68..100].copy_from_slice(self.tx_root.as_slice());
        buf[100..132].copy_from_slice(self.receipts_root.as_slice());
        buf[132..164].copy_from_slice(self.state_root.as_slice());
        keccak256(buf)
    }

    /// The chain head this block makes: height, hash, state root and time.
    pub fn head(&self) -> Head {
        Head {
            height: self.height,
            hash: self.hash(),
            state_root: self.state_root,
            timestamp_ms: self.timestamp_ms,
        }
    }

    /// The block time in unix seconds (what EIP-3009 windows and expiries compare against).
    pub fn time_secs(&self) -> u64 {
        self.timestamp_ms / 1000
    }
}

/// A block: header and transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTx>,
}

/// keccak256 over the concatenated transaction hashes.
pub fn tx_root<'a>(hashes: impl IntoIterator<Item = &'a B256>) -> B256 {
    let mut buf = Vec::new();
    for h in hashes {
        buf.extend_from_slice(h.as_slice());
    }
    keccak256(&buf)
}

/// keccak256 over the concatenated receipt hashes.
pub fn receipts_root(receipts: &[Receipt]) -> B256 {
    let hashes: Vec<B256> = receipts.iter().map(Receipt::hash).collect();
    tx_root(&hashes)
}
