//! The value consensus decides on: a proposed block, identified by its hash.

use std::fmt;

use ledger::{B256, Block};
use malachitebft_core_types as mc;

/// A value's id: the hash of the proposed block's header ([`ledger::Header::hash`]). The
/// header commits to the transactions (`tx_root`) and to the state after them (`state_root`),
/// so agreeing on the id is agreeing on the block and on its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(pub B256);

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A block proposal as consensus sees it: the proposed block, by its hash.
///
/// The engine runs in `ValuePayload::ProposalAndParts` mode: the signed `Proposal` message
/// carries only this, and the block itself is streamed as [`crate::ProposalPart`]s, assembled
/// and checked by the application, which keeps it until it is decided. This is what
/// `core-types/src/value.rs` advises for that mode ("`Value` is typically set to the same type
/// as `Id`"); it keeps votes and proposals small whatever the block size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value(ValueId);

impl Value {
    /// The value that proposes `block`.
    pub fn of(block: &Block) -> Self {
        Value(ValueId(block.header.hash()))
    }

    /// A value from its id (as decoded from the wire).
    pub fn from_id(id: ValueId) -> Self {
        Value(id)
    }

    /// The value's id: the block hash.
    pub fn id(&self) -> ValueId {
        self.0
    }
}

impl mc::Value for Value {
    type Id = ValueId;

    fn id(&self) -> ValueId {
        self.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ledger::{Address, Header};

    /// An empty block at `height` (test fixture).
    pub(crate) fn block(height: u64, timestamp_ms: u64) -> Block {
        Block {
            header: Header {
                height,
                parent_hash: B256::repeat_byte(1),
                timestamp_ms,
                proposer: Address::repeat_byte(2),
                tx_root: B256::repeat_byte(3),
                receipts_root: B256::repeat_byte(4),
                state_root: B256::repeat_byte(5),
            },
            txs: vec![],
        }
    }

    #[test]
    fn a_values_id_is_its_block_hash() {
        let b = block(3, 1_000);
        let v = Value::of(&b);
        assert_eq!(mc::Value::id(&v), ValueId(b.header.hash()));
        assert_eq!(Value::from_id(v.id()), v);
        let mut other = b.clone();
        other.header.state_root = B256::repeat_byte(6);
        assert_ne!(Value::of(&other), v);
    }
}
