//! The storage seam: what the node needs from a database, and an in-memory implementation.

use std::{
    collections::{BTreeMap, HashMap},
    sync::RwLock,
};

use alloy_primitives::B256;
use serde::{Deserialize, Serialize};

use crate::{
    block::Block,
    error::{Error, Result},
    exec::BuiltBlock,
    receipt::Receipt,
    state::{Head, State},
};

/// Everything one block writes: the block, its receipts and its state diff.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The block.
    pub block: Block,
    /// Hashes of its transactions, in order.
    pub tx_hashes: Vec<B256>,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// What it changes.
    pub diff: crate::state::StateDiff,
    /// The consensus proof that the block was decided (a BFT commit certificate, opaque
    /// here), stored with it; `None` for blocks of the solo producer.
    pub certificate: Option<Vec<u8>>,
}

impl Commit {
    /// The head after this block.
    pub fn head(&self) -> Head {
        self.block.header.head()
    }
}

impl From<BuiltBlock> for Commit {
    fn from(b: BuiltBlock) -> Self {
        Commit {
            block: b.block,
            tx_hashes: b.tx_hashes,
            receipts: b.receipts,
            diff: b.diff,
            certificate: None,
        }
    }
}

/// Where a committed transaction is, and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRecord {
    /// Block height.
    pub height: u64,
    /// Index in the block.
    pub index: u32,
    /// The receipt.
    pub receipt: Receipt,
}

/// A ledger database. `commit` is atomic: after a crash the store holds every block whose
/// `commit` returned and nothing of one whose `commit` did not.
pub trait Store: Send + Sync {
    /// Writes genesis (block 0) and the chain parameters into an empty store.
    fn init(&self, genesis: &State, commit: &Commit) -> Result<()>;
    /// Writes one block, its receipts and its state diff, atomically and durably.
    fn commit(&self, commit: &Commit) -> Result<()>;
    /// The whole state at the head, or `None` for an empty store.
    fn load_state(&self) -> Result<Option<State>>;
    /// A block by height.
    fn block(&self, height: u64) -> Result<Option<Block>>;
    /// A block's height by hash.
    fn height_of(&self, hash: &B256) -> Result<Option<u64>>;
    /// A committed transaction's location and receipt.
    fn tx(&self, hash: &B256) -> Result<Option<TxRecord>>;
    /// The head, or `None` for an empty store.
    fn head(&self) -> Result<Option<Head>>;

    // Consensus's records (see `crates/consensus`), opaque bytes to the store.

    /// The certificate committed with block `height`, if any.
    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>>;
    /// The lowest height committed with a certificate.
    fn first_certificate(&self) -> Result<Option<u64>>;
    /// Keeps an undecided proposal for `height` under `id`, durably, until a block at
    /// `height` or above is committed (which drops it in the same write).
    fn put_proposal(&self, height: u64, id: &B256, bytes: &[u8]) -> Result<()>;
    /// The undecided proposals kept, by height then id.
    fn proposals(&self) -> Result<Vec<(u64, B256, Vec<u8>)>>;
    /// A consensus setting kept across restarts (such as the validator set the chain
    /// started with).
    fn consensus_meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets a consensus setting, durably.
    fn put_consensus_meta(&self, key: &str, value: &[u8]) -> Result<()>;
}

/// An in-memory [`Store`] for tests.
#[derive(Debug, Default)]
pub struct MemStore {
    inner: RwLock<MemInner>,
}

#[derive(Debug, Default)]
struct MemInner {
    state: Option<State>,
    blocks: Vec<Block>,
    by_hash: HashMap<B256, u64>,
    txs: HashMap<B256, TxRecord>,
    certificates: BTreeMap<u64, Vec<u8>>,
    proposals: BTreeMap<(u64, B256), Vec<u8>>,
    consensus_meta: BTreeMap<String, Vec<u8>>,
}

fn poisoned<T>(_: T) -> Error {
    Error::Storage("lock poisoned".into())
}

impl Store for MemStore {
    fn init(&self, genesis: &State, commit: &Commit) -> Result<()> {
        let mut g = self.inner.write().map_err(poisoned)?;
        if g.state.is_some() {
            return Err(Error::Storage("store already initialised".into()));
        }
        g.state = Some(genesis.clone());
        g.by_hash.insert(commit.block.header.hash(), 0);
        g.blocks.push(commit.block.clone());
        Ok(())
    }

    fn commit(&self, c: &Commit) -> Result<()> {
        let mut g = self.inner.write().map_err(poisoned)?;
        let g = &mut *g;
        let state = g
            .state
            .as_mut()
            .ok_or_else(|| Error::Storage("store is empty".into()))?;
        let head = c.head();
        if head.height != state.head.height + 1 {
            return Err(Error::Storage(format!(
                "block {} does not follow the head",
                head.height
            )));
        }
        state.apply_diff(&c.diff, head);
        for (i, (h, r)) in c.tx_hashes.iter().zip(&c.receipts).enumerate() {
            let index = u32::try_from(i).map_err(|_| Error::Storage("too many txs".into()))?;
            g.txs.insert(
                *h,
                TxRecord {
                    height: head.height,
                    index,
                    receipt: r.clone(),
                },
            );
        }
        g.by_hash.insert(head.hash, head.height);
        g.blocks.push(c.block.clone());
        if let Some(cert) = &c.certificate {
            g.certificates.insert(head.height, cert.clone());
        }
        g.proposals.retain(|(h, _), _| *h > head.height);
        Ok(())
    }

    fn load_state(&self) -> Result<Option<State>> {
        Ok(self.inner.read().map_err(poisoned)?.state.clone())
    }

    fn block(&self, height: u64) -> Result<Option<Block>> {
        let g = self.inner.read().map_err(poisoned)?;
        Ok(usize::try_from(height)
            .ok()
            .and_then(|h| g.blocks.get(h))
            .cloned())
    }

    fn height_of(&self, hash: &B256) -> Result<Option<u64>> {
        Ok(self
            .inner
            .read()
            .map_err(poisoned)?
            .by_hash
            .get(hash)
            .copied())
    }

    fn tx(&self, hash: &B256) -> Result<Option<TxRecord>> {
        Ok(self.inner.read().map_err(poisoned)?.txs.get(hash).cloned())
    }

    fn head(&self) -> Result<Option<Head>> {
        Ok(self
            .inner
            .read()
            .map_err(poisoned)?
            .state
            .as_ref()
            .map(|s| s.head))
    }

    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>> {
        let g = self.inner.read().map_err(poisoned)?;
        Ok(g.certificates.get(&height).cloned())
    }

    fn first_certificate(&self) -> Result<Option<u64>> {
        let g = self.inner.read().map_err(poisoned)?;
        Ok(g.certificates.keys().next().copied())
    }

    fn put_proposal(&self, height: u64, id: &B256, bytes: &[u8]) -> Result<()> {
        let mut g = self.inner.write().map_err(poisoned)?;
        g.proposals.insert((height, *id), bytes.to_vec());
        Ok(())
    }

    fn proposals(&self) -> Result<Vec<(u64, B256, Vec<u8>)>> {
        let g = self.inner.read().map_err(poisoned)?;
        Ok(g.proposals
            .iter()
            .map(|((h, id), b)| (*h, *id, b.clone()))
            .collect())
    }

    fn consensus_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let g = self.inner.read().map_err(poisoned)?;
        Ok(g.consensus_meta.get(key).cloned())
    }

    fn put_consensus_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        let mut g = self.inner.write().map_err(poisoned)?;
        g.consensus_meta.insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}
