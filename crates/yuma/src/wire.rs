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

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"{
      "params": {"tempo": 1, "activity_cutoff": 13, "kappa": 32767, "bonds_penalty": 65535,
        "bonds_moving_average": 900000, "liquid_alpha": false, "alpha_low": 45875,
        "alpha_high": 58982, "alpha_sigmoid_steepness": 1000, "yuma3": false,
        "max_allowed_validators": 8, "owner_uid": null, "stake_threshold": 0,
        "last_mechanism_step_block": 0},
      "state": {"n": 8, "current_block": 2, "stake": [1, 2, 3, 4, 0, 0, 0, 0],
        "weights": [[[4, 16383], [5, 32767], [6, 49149], [7, 65535]],
                    [[4, 16383], [5, 32767], [6, 49149], [7, 65535]],
                    [[4, 16383], [5, 32767], [6, 49149], [7, 65535]],
                    [[4, 16383], [5, 32767], [6, 49149], [7, 65535]], [], [], [], []],
        "bonds": [[], [], [], [], [], [], [], []],
        "last_update": [2, 2, 2, 2, 1, 1, 1, 1],
        "block_at_registration": [1, 1, 1, 1, 1, 1, 1, 1],
        "validator_permit": [true, true, true, true, false, false, false, false]},
      "emission": 1000000000}"#;

    #[test]
    fn test_bonds_second_epoch_over_the_wire() {
        let request: EpochRequest = serde_json::from_str(REQUEST).unwrap();
        let out = serde_json::to_value(request.run().unwrap()).unwrap();
        // tests/epoch.rs::test_bonds, block 2 (emission quoted in the test's comment).
        assert_eq!(
            out["combined_emission"],
            serde_json::json!([
                49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272
            ])
        );
        assert_eq!(
            out["bonds"][3],
            serde_json::json!([[4, 65535], [5, 65535], [6, 65535], [7, 65535]])
        );
        let keys: Vec<&str> = out
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "consensus",
            "incentive",
            "dividends",
            "validator_trust",
            "bonds",
            "validator_permit",
            "server_emission",
            "validator_emission",
            "combined_emission",
            "consensus_bits",
            "incentive_bits",
            "dividends_bits",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn invalid_input_names_the_field() {
        let bad = REQUEST.replace(
            "[[4, 16383], [5, 32767], [6, 49149], [7, 65535]], [], [], [], []]",
            "[[4, 16383], [4, 1]], [], [], [], []]",
        );
        let request: EpochRequest = serde_json::from_str(&bad).unwrap();
        let err = request.run().unwrap_err().to_string();
        assert!(
            err.contains("state.weights[3]") && err.contains("duplicate uid 4"),
            "{err}"
        );
        let bad = REQUEST.replace("\"alpha_low\": 45875", "\"alpha_low\": 60000");
        let err = serde_json::from_str::<EpochRequest>(&bad)
            .unwrap()
            .run()
            .unwrap_err()
            .to_string();
        assert!(err.contains("params.alpha_low"), "{err}");
        let bad = REQUEST.replace("\"n\": 8", "\"n\": 9");
        let err = serde_json::from_str::<EpochRequest>(&bad)
            .unwrap()
            .run()
            .unwrap_err()
            .to_string();
        assert!(err.contains("state.stake"), "{err}");
    }
}
