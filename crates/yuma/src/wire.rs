//! The JSON shape of `symbiont yuma epoch` (issue 3, requirement 3).
//!
//! Input: `{"params": {..}, "state": {..}, "emission": u64}` with commit-reveal off and
//! TAO weight 0. Output: the stored outputs, emissions and raw `I32F32` bits. Sparse rows
//! are lists of `[uid, value]` pairs.

use serde::{Deserialize, Serialize};

use crate::{EpochInput, EpochOutput, Params, Result, SparseRow, State, epoch};

/// One epoch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochRequest {
    /// Subnet hyperparameters.
    pub params: Params,
    /// Subnet state before the epoch.
    pub state: State,
    /// Rao to distribute.
    pub emission: u64,
}

/// One epoch's result, exactly the fields the command prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochResponse {
    /// Stored `Consensus` (u16 proportion per uid).
    pub consensus: Vec<u16>,
    /// Stored `Incentive`.
    pub incentive: Vec<u16>,
    /// Stored `Dividends`.
    pub dividends: Vec<u16>,
    /// Stored `ValidatorTrust`.
    pub validator_trust: Vec<u16>,
    /// Stored bond rows after the epoch.
    pub bonds: Vec<SparseRow>,
    /// New validator permits.
    pub validator_permit: Vec<bool>,
    /// Server (incentive) emission, rao per uid.
    pub server_emission: Vec<u64>,
    /// Validator (dividend) emission, rao per uid.
    pub validator_emission: Vec<u64>,
    /// Combined emission, rao per uid.
    pub combined_emission: Vec<u64>,
    /// Consensus, raw `I32F32` bits.
    pub consensus_bits: Vec<i64>,
    /// Incentive, raw `I32F32` bits.
    pub incentive_bits: Vec<i64>,
    /// Dividends, raw `I32F32` bits.
    pub dividends_bits: Vec<i64>,
}

impl From<EpochOutput> for EpochResponse {
    fn from(o: EpochOutput) -> Self {
        Self {
            consensus: o.consensus,
            incentive: o.incentive,
            dividends: o.dividends,
            validator_trust: o.validator_trust,
            bonds: o.bonds,
            validator_permit: o.validator_permit,
            server_emission: o.server_emission,
            validator_emission: o.validator_emission,
            combined_emission: o.combined_emission,
            consensus_bits: o.consensus_bits,
            incentive_bits: o.incentive_bits,
            dividends_bits: o.dividends_bits,
        }
    }
}

impl EpochRequest {
    /// Validates and runs the epoch.
    pub fn run(self) -> Result<EpochResponse> {
        let input = EpochInput {
            state: self.state,
            emission: self.emission,
        };
        epoch(&self.params, &input).map(EpochResponse::from)
    }
}
