//! Is a proposed block acceptable? The check a validator runs before prevoting for it.
//!
//! Pure: the state, the expected proposer and (for live proposals) the local clock come in as
//! arguments. Execution is [`ledger::apply_block`], the same pure function every replica runs,
//! so a block valid here commits to the same state everywhere.

use ledger::{Block, Receipt, State, StateDiff};

use crate::Address;

/// How far ahead of the validator's clock a live proposal's timestamp may be (ADR 0003 §7).
pub const MAX_FUTURE_DRIFT_MS: u64 = 2_000;

/// Why a proposed block is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Not built by the round's proposer.
    #[error("proposer {got} is not the round's proposer {expected}")]
    WrongProposer {
        /// The round's proposer.
        expected: Address,
        /// The header's proposer.
        got: Address,
    },
    /// The timestamp does not move forward from the parent's.
    #[error("timestamp {got} ms is not after the parent's {parent} ms")]
    NotAfterParent {
        /// The parent's timestamp.
        parent: u64,
        /// The block's timestamp.
        got: u64,
    },
    /// The timestamp is too far ahead of the validator's clock.
    #[error("timestamp {got} ms is more than {MAX_FUTURE_DRIFT_MS} ms ahead of {now} ms")]
    FromTheFuture {
        /// The validator's clock.
        now: u64,
        /// The block's timestamp.
        got: u64,
    },
    /// Execution fails or its roots differ from the header's.
    #[error("execution: {0}")]
    Execution(String),
}

/// What executing an acceptable block on its parent gives: its state diff and receipts.
pub type Executed = (StateDiff, Vec<Receipt>);

/// Checks `block` on top of `state`: proposed by `proposer`, timestamp strictly after the
/// parent's and, if `now_ms` is given (a live proposal, not sync or replay), at most
/// [`MAX_FUTURE_DRIFT_MS`] ahead of it; then dry-runs [`ledger::apply_block`] (height, parent,
/// signatures — except those `verified` vouches for, see [`ledger::apply_block_with`] —
/// execution, tx/receipts/state roots) and returns its result. `state` is unchanged.
pub fn check_block(
    state: &State,
    block: &Block,
    proposer: Address,
    now_ms: Option<u64>,
    verified: &(dyn Fn(&ledger::B256, &ledger::SignedTx) -> bool + Sync),
) -> Result<Executed, Invalid> {
    let h = &block.header;
    if h.proposer != proposer.0 {
        return Err(Invalid::WrongProposer {
            expected: proposer,
            got: Address(h.proposer),
        });
    }
    if h.timestamp_ms <= state.head.timestamp_ms {
        return Err(Invalid::NotAfterParent {
            parent: state.head.timestamp_ms,
            got: h.timestamp_ms,
        });
    }
    if let Some(now) = now_ms
        && h.timestamp_ms > now.saturating_add(MAX_FUTURE_DRIFT_MS)
    {
        return Err(Invalid::FromTheFuture {
            now,
            got: h.timestamp_ms,
        });
    }
    ledger::apply_block_with(state, block, verified).map_err(|e| Invalid::Execution(e.to_string()))
}

/// The timestamp a proposer puts in its block: its clock, but always after the parent's.
pub fn proposal_timestamp(state: &State, now_ms: u64) -> u64 {
    now_ms.max(state.head.timestamp_ms.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`check_block`] verifying every signature.
    fn check(
        state: &State,
        block: &Block,
        proposer: Address,
        now_ms: Option<u64>,
    ) -> Result<Executed, Invalid> {
        check_block(state, block, proposer, now_ms, &|_, _| false)
    }
    use ledger::{B256, BlockContext, Genesis, build_block};

    const T0: u64 = 1_700_000_000_000;

    fn setup() -> (State, Address, Block) {
        let (state, _) = Genesis::dev(1337, T0, &[ledger::Address::repeat_byte(9)])
            .build()
            .unwrap();
        let proposer = Address(ledger::Address::repeat_byte(1));
        let ctx = BlockContext {
            timestamp_ms: proposal_timestamp(&state, T0 + 1_000),
            proposer: proposer.0,
        };
        let block = build_block(&state, ctx, vec![]).block;
        (state, proposer, block)
    }

    #[test]
    fn a_block_built_by_the_proposer_is_valid() {
        let (state, proposer, block) = setup();
        let executed = check(&state, &block, proposer, Some(T0 + 1_000)).unwrap();
        assert_eq!(executed, ledger::apply_block(&state, &block).unwrap());
        assert!(check(&state, &block, proposer, None).is_ok());
        // A lagging clock within the drift bound still accepts it.
        assert!(check(&state, &block, proposer, Some(T0 - 500)).is_ok());
    }

    #[test]
    fn wrong_proposer_time_or_roots_are_refused() {
        let (state, proposer, block) = setup();
        let other = Address(ledger::Address::repeat_byte(2));
        assert!(matches!(
            check(&state, &block, other, None),
            Err(Invalid::WrongProposer { .. })
        ));
        assert!(matches!(
            check(
                &state,
                &block,
                proposer,
                Some(T0 + 1_000 - MAX_FUTURE_DRIFT_MS - 1)
            ),
            Err(Invalid::FromTheFuture { .. })
        ));
        let mut same_time = block.clone();
        same_time.header.timestamp_ms = state.head.timestamp_ms;
        assert!(matches!(
            check(&state, &same_time, proposer, None),
            Err(Invalid::NotAfterParent { .. })
        ));
        let mut bad_root = block.clone();
        bad_root.header.state_root = B256::repeat_byte(7);
        assert!(matches!(
            check(&state, &bad_root, proposer, None),
            Err(Invalid::Execution(_))
        ));
        let mut bad_height = block;
        bad_height.header.height += 1;
        assert!(matches!(
            check(&state, &bad_height, proposer, None),
            Err(Invalid::Execution(_))
        ));
    }

    #[test]
    fn the_proposed_time_always_moves_forward() {
        let (state, _, _) = setup();
        assert_eq!(proposal_timestamp(&state, T0 + 5), T0 + 5);
        assert_eq!(proposal_timestamp(&state, T0 - 5), T0 + 1);
    }
}
