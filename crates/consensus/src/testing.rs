//! Test fixtures shared by the unit tests.

use std::sync::{Arc, RwLock};

use ledger::{Commit, Genesis, MemStore, State, Store, tx::VerifiedTx};

use crate::host::Ledger;

/// Genesis time of the test chain.
pub(crate) const T0: u64 = 1_700_000_000_000;

/// The ledger seam over an in-memory store; clones share the ledger.
#[derive(Clone)]
pub(crate) struct MemLedger {
    state: Arc<RwLock<State>>,
    store: Arc<MemStore>,
}

impl MemLedger {
    /// A dev genesis for chain 1337.
    pub(crate) fn genesis() -> Self {
        let (state, commit) = Genesis::dev(1337, T0, &[ledger::Address::repeat_byte(9)])
            .build()
            .unwrap();
        let store = MemStore::default();
        store.init(&state, &commit).unwrap();
        MemLedger {
            state: Arc::new(RwLock::new(state)),
            store: Arc::new(store),
        }
    }

    /// The head height.
    pub(crate) fn height(&self) -> u64 {
        self.state.read().unwrap().head.height
    }

    /// The committed block at `height`.
    pub(crate) fn block(&self, height: u64) -> Option<ledger::Block> {
        self.store.block(height).ok().flatten()
    }
}

impl Ledger for MemLedger {
    fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.read().unwrap())
    }

    fn candidates(&self, _: &State, _: usize) -> Vec<VerifiedTx> {
        vec![]
    }

    fn commit(&self, c: Commit) -> Result<(), ledger::Error> {
        self.store.commit(&c)?;
        let head = c.block.header.head();
        self.state.write().unwrap().apply_diff(&c.diff, head);
        Ok(())
    }

    fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn verified(&self, _: &ledger::B256, _: &ledger::SignedTx) -> bool {
        false
    }
}
