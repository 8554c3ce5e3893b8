//! Multi-epoch scenarios: what validators and miners of a subnet design would earn.
//!
//! A [`Scenario`] names validators (stake, weights or a validator to copy) and miners, and
//! lists events by epoch (a validator switching miners, a stake change). [`simulate`] plays
//! it under Yuma3 and under original Yuma with the exact [`epoch`], carrying
//! state between epochs only as the chain stores it, and returns one [`Record`] per model,
//! epoch and uid. Uids are the validators in order, then the miners.

use std::collections::BTreeMap;

use crate::{EpochInput, EpochOutput, Error, Params, Result, State, epoch, max_upscale};

/// Miner name → submitted u16 weight.
pub type Weights = BTreeMap<String, u16>;

/// A subnet scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Scenario {
    /// Shown in summaries and charts.
    #[cfg_attr(feature = "serde", serde(default))]
    pub name: String,
    /// Number of recorded epochs.
    pub epochs: u32,
    /// Rao emitted per epoch.
    #[cfg_attr(feature = "serde", serde(default = "default_emission"))]
    pub emission: u64,
    /// Hyperparameters; `yuma3` is overridden per run.
    #[cfg_attr(feature = "serde", serde(default))]
    pub params: ScenarioParams,
    /// Validators, uids `0..v`.
    pub validators: Vec<Validator>,
    /// Miner names, uids `v..v + m`.
    pub miners: Vec<String>,
    /// Changes at the start of given epochs.
    #[cfg_attr(feature = "serde", serde(default))]
    pub events: Vec<Event>,
}

#[cfg(feature = "serde")]
fn default_emission() -> u64 {
    1_000_000_000
}

/// The hyperparameters a scenario may set; the rest are subtensor's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct ScenarioParams {
    /// Blocks per epoch.
    pub tempo: u64,
    /// `Kappa` (u16 proportion).
    pub kappa: u16,
    /// `BondsPenalty` (u16 proportion).
    pub bonds_penalty: u16,
    /// `BondsMovingAverage` (per million).
    pub bonds_moving_average: u64,
    /// `LiquidAlphaOn` (Yuma3 run only).
    pub liquid_alpha: bool,
    /// `AlphaValues.0`.
    pub alpha_low: u16,
    /// `AlphaValues.1`.
    pub alpha_high: u16,
    /// `AlphaSigmoidSteepness`.
    pub alpha_sigmoid_steepness: i16,
}

impl Default for ScenarioParams {
    fn default() -> Self {
        let p = Params::default();
        Self {
            tempo: p.tempo,
            kappa: p.kappa,
            bonds_penalty: p.bonds_penalty,
            bonds_moving_average: p.bonds_moving_average,
            liquid_alpha: true,
            alpha_low: p.alpha_low,
            alpha_high: p.alpha_high,
            alpha_sigmoid_steepness: p.alpha_sigmoid_steepness,
        }
    }
}

/// A validator and how it sets weights.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Validator {
    /// Name.
    pub name: String,
    /// Stake in rao (any unit: only proportions matter).
    pub stake: u64,
    /// Weights it sets each epoch (ignored for a copier).
    #[cfg_attr(feature = "serde", serde(default))]
    pub weights: Weights,
    /// Copies the weights another validator set `lag` epochs earlier (default 1): all a
    /// weight copier can read on chain.
    #[cfg_attr(feature = "serde", serde(default))]
    pub copy: Option<String>,
    /// The copier's delay in epochs.
    #[cfg_attr(feature = "serde", serde(default = "default_lag"))]
    pub lag: u32,
    /// First epoch it sets weights (a late validator); 0 by default.
    #[cfg_attr(feature = "serde", serde(default))]
    pub joins: u32,
}

#[cfg(feature = "serde")]
fn default_lag() -> u32 {
    1
}

/// A change at the start of `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Event {
    /// Epoch at which it applies.
    pub epoch: u32,
    /// The validator it concerns.
    pub validator: String,
    /// New weights (the validator switches miners).
    #[cfg_attr(feature = "serde", serde(default))]
    pub weights: Option<Weights>,
    /// New stake.
    #[cfg_attr(feature = "serde", serde(default))]
    pub stake: Option<u64>,
}

/// Which bond model a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Model {
    /// Yuma3 relative bonds (with the scenario's liquid-alpha setting).
    Yuma3,
    /// Original Yuma bonds.
    Yuma,
}

impl Model {
    /// Lower-case name for files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Model::Yuma3 => "yuma3",
            Model::Yuma => "yuma",
        }
    }
}

/// One uid's outcome in one epoch under one model.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Record {
    /// Bond model.
    pub model: Model,
    /// Epoch index.
    pub epoch: u32,
    /// Uid.
    pub uid: u16,
    /// Stored dividends (u16 proportion).
    pub dividends: u16,
    /// Stored incentive (u16 proportion).
    pub incentive: u16,
    /// Validator emission, rao.
    pub validator_emission: u64,
    /// Server emission, rao.
    pub server_emission: u64,
}

/// A participant of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Uid.
    pub uid: u16,
    /// Name.
    pub name: String,
    /// True for validators.
    pub validator: bool,
}

/// The result of [`simulate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// Everyone, by uid.
    pub participants: Vec<Participant>,
    /// Yuma3 records, then original Yuma, each by epoch then uid.
    pub records: Vec<Record>,
}

fn invalid(field: String, reason: String) -> Error {
    Error::InvalidInput { field, reason }
}

/// Plays the scenario under both models.
pub fn simulate(scenario: &Scenario) -> Result<Simulation> {
    let v = scenario.validators.len();
    let n = v + scenario.miners.len();
    let n16 = u16::try_from(n).map_err(|_| invalid("validators".into(), format!("{n} uids")))?;
    let miner_uid: BTreeMap<&str, u16> = scenario
        .miners
        .iter()
        .enumerate()
        .map(|(k, m)| (m.as_str(), (v + k) as u16))
        .collect();
    let validator_uid: BTreeMap<&str, usize> = scenario
        .validators
        .iter()
        .enumerate()
        .map(|(k, x)| (x.name.as_str(), k))
        .collect();
    let to_row = |field: &str, w: &Weights| -> Result<Vec<(u16, u16)>> {
        let mut uids = Vec::with_capacity(w.len());
        let mut values = Vec::with_capacity(w.len());
        for (miner, &value) in w {
            let uid = miner_uid
                .get(miner.as_str())
                .ok_or_else(|| invalid(field.into(), format!("unknown miner {miner:?}")))?;
            uids.push(*uid);
            values.push(value);
        }
        Ok(uids.into_iter().zip(max_upscale(&values)).collect())
    };
    for (k, x) in scenario.validators.iter().enumerate() {
        if let Some(c) = &x.copy
            && !validator_uid.contains_key(c.as_str())
        {
            return Err(invalid(
                format!("validators[{k}].copy"),
                format!("unknown validator {c:?}"),
            ));
        }
        to_row(&format!("validators[{k}].weights"), &x.weights)?;
    }
    for (k, e) in scenario.events.iter().enumerate() {
        if !validator_uid.contains_key(e.validator.as_str()) {
            return Err(invalid(
                format!("events[{k}].validator"),
                format!("unknown validator {:?}", e.validator),
            ));
        }
        if let Some(w) = &e.weights {
            to_row(&format!("events[{k}].weights"), w)?;
        }
    }

    let sp = &scenario.params;
    let mut records = Vec::new();
    for model in [Model::Yuma3, Model::Yuma] {
        let params = Params {
            tempo: sp.tempo,
            kappa: sp.kappa,
            bonds_penalty: sp.bonds_penalty,
            bonds_moving_average: sp.bonds_moving_average,
            liquid_alpha: sp.liquid_alpha,
            alpha_low: sp.alpha_low,
            alpha_high: sp.alpha_high,
            alpha_sigmoid_steepness: sp.alpha_sigmoid_steepness,
            yuma3: model == Model::Yuma3,
            max_allowed_validators: n16,
            ..Params::default()
        };
        params.validate()?;
        let tempo = sp.tempo.max(1);
        let mut state = State {
            n: n16,
            current_block: tempo,
            stake: (0..n)
                .map(|i| scenario.validators.get(i).map_or(0, |x| x.stake))
                .collect(),
            weights: vec![Vec::new(); n],
            bonds: vec![Vec::new(); n],
            last_update: vec![0; n],
            block_at_registration: vec![0; n],
            validator_permit: vec![false; n],
            commit_block: None,
        };
        let mut intended: Vec<Vec<(u16, u16)>> = scenario
            .validators
            .iter()
            .map(|x| to_row("", &x.weights))
            .collect::<Result<_>>()?;
        // What each validator set in every past epoch, for copiers.
        let mut history: Vec<Vec<Vec<(u16, u16)>>> = vec![Vec::new(); v];
        let run = |state: &mut State, params: &mut Params| -> Result<EpochOutput> {
            let out = epoch(
                params,
                &EpochInput {
                    state: state.clone(),
                    emission: scenario.emission,
                },
            )?;
            state.bonds.clone_from(&out.bonds);
            state.validator_permit.clone_from(&out.validator_permit);
            params.last_mechanism_step_block = state.current_block;
            state.current_block = state.current_block.saturating_add(tempo);
            Ok(out)
        };
        let mut params = params;
        // A warm-up epoch issues the first validator permits.
        run(&mut state, &mut params)?;
        for e in 0..scenario.epochs {
            for ev in scenario.events.iter().filter(|ev| ev.epoch == e) {
                let Some(&k) = validator_uid.get(ev.validator.as_str()) else {
                    continue;
                };
                if let Some(w) = &ev.weights
                    && let Some(slot) = intended.get_mut(k)
                {
                    *slot = to_row("events", w)?;
                }
                if let (Some(s), Some(slot)) = (ev.stake, state.stake.get_mut(k)) {
                    *slot = s;
                }
            }
            let set_at = state.current_block.saturating_sub(1);
            for (k, x) in scenario.validators.iter().enumerate() {
                let row = match &x.copy {
                    Some(c) => validator_uid.get(c.as_str()).and_then(|&src| {
                        let past = history.get(src)?;
                        let at = (e as usize).checked_sub(x.lag as usize)?;
                        past.get(at).cloned()
                    }),
                    None => intended.get(k).cloned(),
                };
                let row = row.filter(|_| e >= x.joins);
                if let Some(slot) = history.get_mut(k) {
                    slot.push(row.clone().unwrap_or_default());
                }
                if let Some(row) = row {
                    if let Some(w) = state.weights.get_mut(k) {
                        *w = row;
                    }
                    if let Some(u) = state.last_update.get_mut(k) {
                        *u = set_at;
                    }
                }
            }
            let out = run(&mut state, &mut params)?;
            for uid in 0..n {
                records.push(Record {
                    model,
                    epoch: e,
                    uid: uid as u16,
                    dividends: out.dividends.get(uid).copied().unwrap_or(0),
                    incentive: out.incentive.get(uid).copied().unwrap_or(0),
                    validator_emission: out.validator_emission.get(uid).copied().unwrap_or(0),
                    server_emission: out.server_emission.get(uid).copied().unwrap_or(0),
                });
            }
        }
    }
    let participants = scenario
        .validators
        .iter()
        .map(|x| (x.name.clone(), true))
        .chain(scenario.miners.iter().map(|m| (m.clone(), false)))
        .enumerate()
        .map(|(uid, (name, validator))| Participant {
            uid: uid as u16,
            name,
            validator,
        })
        .collect();
    Ok(Simulation {
        participants,
        records,
    })
}
