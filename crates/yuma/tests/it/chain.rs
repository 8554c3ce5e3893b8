//! A tiny stand-in for the pallet in upstream's `tests/epoch.rs`: registration, `set_weights`,
//! block advance and manual `epoch` calls, with state carried between epochs only through
//! what subtensor stores (u16 bonds, new permits).

use yuma::{EpochInput, EpochOutput, Params, State, epoch, max_upscale};

pub struct Chain {
    pub params: Params,
    pub state: State,
    pub emission: u64,
}

impl Chain {
    /// `n` uids registered at `block` with the given stakes; no weights, no bonds, no permits.
    pub fn new(params: Params, stake: Vec<u64>, block: u64) -> Self {
        let n = stake.len();
        Self {
            params,
            state: State {
                n: u16::try_from(n).unwrap(),
                current_block: block,
                stake,
                weights: vec![vec![]; n],
                bonds: vec![vec![]; n],
                last_update: vec![block; n],
                block_at_registration: vec![block; n],
                validator_permit: vec![false; n],
                commit_block: None,
            },
            emission: 1_000_000_000,
        }
    }

    /// `set_weights(uids, values)` at the current block: values max-upscaled and stored.
    pub fn set_weights(&mut self, uid: usize, uids: &[u16], values: &[u16]) {
        let stored = max_upscale(values);
        self.state.weights[uid] = uids.iter().copied().zip(stored).collect();
        self.state.last_update[uid] = self.state.current_block;
    }

    pub fn next_block(&mut self) {
        self.state.current_block += 1;
    }

    /// Runs one epoch and stores its outputs the way `persist_*_epoch_terms` does.
    pub fn epoch(&mut self) -> EpochOutput {
        let input = EpochInput {
            state: self.state.clone(),
            emission: self.emission,
        };
        let out = epoch(&self.params, &input).unwrap();
        self.state.bonds = out.bonds.clone();
        self.state.validator_permit = out.validator_permit.clone();
        out
    }
}

/// `ActivityCutoffFactorMilli` 13 889 at tempo t: `max(1, 13889 * t / 1000)`.
pub fn cutoff(tempo: u64) -> u64 {
    (13_889 * tempo / 1000).max(1)
}
