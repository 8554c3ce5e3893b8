//! The epoch's inputs and outputs: plain integers, as subtensor stores them.

use crate::{Error, Result};

/// Per-subnet hyperparameters read by `epoch_mechanism` (research notes §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Params {
    /// Blocks per epoch; used for the recently-registered bond mask when
    /// `last_mechanism_step_block` is 0.
    pub tempo: u64,
    /// A uid whose `last_update + activity_cutoff < current_block` is inactive.
    pub activity_cutoff: u64,
    /// Consensus majority as u16 proportion (`Kappa`, default 32 767 ≈ 0.5).
    pub kappa: u16,
    /// Bonds penalty β as u16 proportion (`BondsPenalty`, default 65 535 = 1).
    pub bonds_penalty: u16,
    /// `BondsMovingAverage`, parts per million; the fixed EMA rate is `1 − bma / 10⁶`.
    pub bonds_moving_average: u64,
    /// `LiquidAlphaOn`: per-entry EMA rate from the alpha sigmoid (Yuma3 only).
    pub liquid_alpha: bool,
    /// Lower liquid-alpha bound as u16 proportion (`AlphaValues.0`).
    pub alpha_low: u16,
    /// Upper liquid-alpha bound as u16 proportion (`AlphaValues.1`).
    pub alpha_high: u16,
    /// `AlphaSigmoidSteepness`; the logistic slope is `steepness / 100`.
    pub alpha_sigmoid_steepness: i16,
    /// `Yuma3On`: relative bonds (Yuma3) instead of original Yuma bonds.
    pub yuma3: bool,
    /// `MaxAllowedValidators`: permits go to the top-k non-zero stakes.
    pub max_allowed_validators: u16,
    /// The subnet owner's uid: exempt from the stake threshold, always permitted, and may
    /// keep its self-weight.
    pub owner_uid: Option<u16>,
    /// `StakeThreshold` in rao: smaller stakes count as 0 (the owner is exempt).
    pub stake_threshold: u64,
    /// `LastMechansimStepBlock`; 0 means "never", in which case the bond mask uses
    /// `current_block − tempo`.
    pub last_mechanism_step_block: u64,
}

impl Default for Params {
    /// Subtensor's defaults for a new subnet (research notes §1.2), tempo 360.
    fn default() -> Self {
        Self {
            tempo: 360,
            activity_cutoff: 5000,
            kappa: 32_767,
            bonds_penalty: 65_535,
            bonds_moving_average: 900_000,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1000,
            yuma3: true,
            max_allowed_validators: 64,
            owner_uid: None,
            stake_threshold: 0,
            last_mechanism_step_block: 0,
        }
    }
}

/// A sparse row: `(uid, value)` pairs in stored order.
pub type SparseRow = Vec<(u16, u16)>;

/// The subnet state one epoch reads, indexed by uid `0..n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct State {
    /// Number of uids.
    pub n: u16,
    /// The block the epoch runs at.
    pub current_block: u64,
    /// Stake weight per uid in rao (alpha stake; TAO weight 0).
    pub stake: Vec<u64>,
    /// Stored weight rows (`Weights`), max-upscaled u16 values as `set_weights` stores them.
    pub weights: Vec<SparseRow>,
    /// Stored bond rows (`Bonds`): u16 proportions under Yuma3, column-max-upscaled
    /// u16 under original Yuma.
    pub bonds: Vec<SparseRow>,
    /// `LastUpdate` per uid.
    pub last_update: Vec<u64>,
    /// `BlockAtRegistration` per uid.
    pub block_at_registration: Vec<u64>,
    /// `ValidatorPermit` from the previous epoch.
    pub validator_permit: Vec<bool>,
    /// Commit-reveal: per uid, the block of its earliest unexpired weight commit
    /// (`u64::MAX` for none). `None` means commit-reveal is off.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub commit_block: Option<Vec<u64>>,
}

/// Everything one epoch reads: the state and the emission to distribute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct EpochInput {
    /// Subnet state before the epoch.
    pub state: State,
    /// Rao (alpha) to distribute: pending server + validator + root emission.
    pub emission: u64,
}

/// What one epoch produces, as subtensor stores it (research notes §1.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EpochOutput {
    /// `Consensus`, u16 proportion per uid.
    pub consensus: Vec<u16>,
    /// `Incentive`, u16 proportion per uid.
    pub incentive: Vec<u16>,
    /// `Dividends`, u16 proportion per uid.
    pub dividends: Vec<u16>,
    /// `ValidatorTrust`, u16 proportion per uid.
    pub validator_trust: Vec<u16>,
    /// `Bonds` rows after the epoch (empty rows for uids without a new permit).
    pub bonds: Vec<SparseRow>,
    /// `ValidatorPermit` for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Incentive share of the emission, rao per uid.
    pub server_emission: Vec<u64>,
    /// Dividend share of the emission, rao per uid.
    pub validator_emission: Vec<u64>,
    /// Combined share (stored as `Emission`), rao per uid.
    pub combined_emission: Vec<u64>,
    /// Consensus as raw `I32F32` bits.
    pub consensus_bits: Vec<i64>,
    /// Incentive as raw `I32F32` bits.
    pub incentive_bits: Vec<i64>,
    /// Dividends as raw `I32F32` bits.
    pub dividends_bits: Vec<i64>,
    /// `Active` per uid.
    pub active: Vec<bool>,
    /// `StakeWeight`, u16 proportion per uid.
    pub stake_weight: Vec<u16>,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Params {
    /// Rejects parameters the chain would never hold.
    pub fn validate(&self) -> Result<()> {
        if self.alpha_low > self.alpha_high {
            return Err(invalid(
                "params.alpha_low",
                format!(
                    "alpha_low {} > alpha_high {}",
                    self.alpha_low, self.alpha_high
                ),
            ));
        }
        Ok(())
    }
}

impl State {
    /// Rejects state whose lengths disagree with `n`, uids `>= n`, or duplicate uids.
    pub fn validate(&self) -> Result<()> {
        self.check().map(|_| ())
    }

    /// [`State::validate`], returning whether every stored weight and bond row is strictly
    /// ascending (what the epoch's fast paths need to know).
    pub(crate) fn check(&self) -> Result<bool> {
        let n = usize::from(self.n);
        let lengths = [
            ("state.stake", self.stake.len()),
            ("state.weights", self.weights.len()),
            ("state.bonds", self.bonds.len()),
            ("state.last_update", self.last_update.len()),
            (
                "state.block_at_registration",
                self.block_at_registration.len(),
            ),
            ("state.validator_permit", self.validator_permit.len()),
        ];
        for (field, len) in lengths {
            if len != n {
                return Err(invalid(field, format!("length {len} != n {n}")));
            }
        }
        if let Some(commit) = &self.commit_block
            && commit.len() != n
        {
            return Err(invalid(
                "state.commit_block",
                format!("length {} != n {n}", commit.len()),
            ));
        }
        let mut seen = vec![false; n];
        let mut sorted = true;
        for (name, matrix) in [
            ("state.weights", &self.weights),
            ("state.bonds", &self.bonds),
        ] {
            // Strictly ascending rows (the usual case) hold no duplicate; only their last
            // uid needs checking. That check runs on every row first (on threads when
            // large); rows that fail it get the full check below, in order.
            let fine = |row: &SparseRow| {
                crate::sparse::ascending_pairs(row)
                    && row.last().is_none_or(|&(j, _)| usize::from(j) < n)
            };
            let entries: usize = matrix.iter().map(Vec::len).sum();
            #[cfg(feature = "parallel")]
            // About a nanosecond per entry: threads only pay off well above the epoch's
            // threshold (at n = 256 the hand-off would cost more than the check).
            let fine: Vec<bool> = if crate::sparse::parallel(entries >> 3) {
                use rayon::prelude::*;
                matrix.par_iter().map(fine).collect()
            } else {
                matrix.iter().map(fine).collect()
            };
            #[cfg(not(feature = "parallel"))]
            let fine: Vec<bool> = {
                let _ = entries;
                matrix.iter().map(fine).collect()
            };
            for ((i, row), fine) in matrix.iter().enumerate().zip(fine) {
                if fine {
                    continue;
                }
                if crate::sparse::ascending_pairs(row) {
                    if let Some(&(j, _)) = row.last()
                        && usize::from(j) >= n
                    {
                        return Err(invalid(format!("{name}[{i}]"), format!("uid {j} >= n {n}")));
                    }
                    continue;
                }
                sorted = false;
                for &(j, _) in row {
                    let cell = seen.get_mut(usize::from(j)).ok_or_else(|| {
                        invalid(format!("{name}[{i}]"), format!("uid {j} >= n {n}"))
                    })?;
                    if *cell {
                        return Err(invalid(
                            format!("{name}[{i}]"),
                            format!("duplicate uid {j}"),
                        ));
                    }
                    *cell = true;
                }
                for &(j, _) in row {
                    if let Some(cell) = seen.get_mut(usize::from(j)) {
                        *cell = false;
                    }
                }
            }
        }
        Ok(sorted)
    }
}

impl EpochInput {
    /// Validates the state (see [`State::validate`]).
    pub fn validate(&self) -> Result<()> {
        self.state.validate()
    }
}
