//! The owner's spend policy and [`Policy::evaluate`], the pure function that decides every
//! signing request.
//!
//! A request is first reduced to an [`Intent`]: the chain it is for, what it is (a ledger
//! call by name, or an EIP-712 primary type) and the [`Spend`]s it would make (asset, amount,
//! payee). The policy then answers [`Decision::Allow`], [`Decision::Hold`] (signed only
//! after the owner approves) or [`Decision::Deny`] naming the [`Rule`] that refused it.
//! Anything the policy does not list is denied: an unknown chain, call, typed-data type or
//! asset.
//!
//! Budgets are rolling windows over the [`History`] of what was signed (and what is held
//! for approval): the last 3 600 s and the last 86 400 s, per asset.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    fmt,
    path::Path,
};

use alloy_primitives::Address;
use serde::{Deserialize, Deserializer, Serialize};

/// Seconds in a budget hour.
pub const HOUR: u64 = 3_600;
/// Seconds in a budget day.
pub const DAY: u64 = 86_400;

/// The ledger call names (`call.type` in a transaction's JSON) a policy may allow.
pub const CALLS: &[&str] = &[
    "transfer",
    "mint",
    "burn",
    "transferWithAuthorization",
    "cancelAuthorization",
    "createSubnet",
    "registerNeuron",
    "addStake",
    "removeStake",
    "setWeights",
    "commitWeights",
    "revealWeights",
    "serveEndpoint",
    "setHyperparameter",
    "registerAgent",
    "setAgentUri",
    "setAgentMetadata",
    "setAgentWallet",
    "unsetAgentWallet",
    "transferAgent",
    "giveFeedback",
    "revokeFeedback",
    "appendResponse",
    "validationRequest",
    "validationResponse",
];

/// The owner's policy, loaded from TOML (`docs/examples/policy.toml`). Unknown fields are
/// refused, so a misspelt limit cannot silently mean "no limit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Chains the signer signs for; anything else is denied.
    pub chain_ids: BTreeSet<u64>,
    /// Ledger calls (by `type` name, see [`CALLS`]) the signer signs.
    #[serde(default)]
    pub allowed_calls: BTreeSet<String>,
    /// EIP-712 primary types signed without a spend (for example `AgentWalletSet`). x402's
    /// `TransferWithAuthorization` is always recognised, as a spend.
    #[serde(default)]
    pub allowed_typed_data: BTreeSet<String>,
    /// Signing requests allowed per rolling minute.
    pub rate_limit_per_minute: u32,
    /// How long a held request waits for `symbiont wallet approve` before it is rejected.
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout_secs: u64,
    /// Who may be paid.
    #[serde(default)]
    pub payees: Payees,
    /// The assets the signer may spend, with their limits; spending any other asset is
    /// denied. Transaction fees are spent in the native asset (the zero address), so a
    /// policy that signs ledger transactions lists it.
    #[serde(default)]
    pub assets: Vec<AssetLimits>,
}

fn default_approval_timeout() -> u64 {
    300
}

/// Payee allowlist and denylist. The denylist always wins; an empty allowlist allows any
/// payee not denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payees {
    /// When not empty, the only payees allowed.
    #[serde(default)]
    pub allow: BTreeSet<Address>,
    /// Payees never paid.
    #[serde(default)]
    pub deny: BTreeSet<Address>,
}

/// One asset's limits, in base units (integers, as decimal strings or TOML integers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetLimits {
    /// The asset (a ledger asset id or an ERC-20 contract; zero for the native token).
    pub address: Address,
    /// A name for messages.
    pub symbol: String,
    /// Decimals, for messages.
    #[serde(default)]
    pub decimals: u8,
    /// Largest single spend.
    #[serde(deserialize_with = "amount")]
    pub per_payment: u128,
    /// Largest total over any rolling hour.
    #[serde(deserialize_with = "amount")]
    pub per_hour: u128,
    /// Largest total over any rolling day.
    #[serde(deserialize_with = "amount")]
    pub per_day: u128,
    /// Spends above this are held for the owner's approval.
    #[serde(default, deserialize_with = "opt_amount")]
    pub approve_above: Option<u128>,
}

fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(u64),
        Str(String),
    }
    match Raw::deserialize(d)? {
        Raw::Int(v) => Ok(u128::from(v)),
        Raw::Str(s) => s.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{s}` is not an amount in base units (a non-negative integer)"
            ))
        }),
    }
}

fn opt_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
    amount(d).map(Some)
}

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("reading policy {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not valid TOML, or a field unknown, missing or of the wrong type.
    #[error("policy: {0}")]
    Parse(String),
    /// Well-formed but inconsistent.
    #[error("policy: {0}")]
    Invalid(String),
}

impl Policy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks policy TOML.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let policy: Policy =
            toml::from_str(text).map_err(|e| PolicyError::Parse(e.to_string().trim().into()))?;
        policy.check()?;
        Ok(policy)
    }

    fn check(&self) -> Result<(), PolicyError> {
        if self.chain_ids.is_empty() {
            return Err(PolicyError::Invalid(
                "chain_ids is empty: nothing could be signed".into(),
            ));
        }
        if let Some(c) = self
            .allowed_calls
            .iter()
            .find(|c| !CALLS.contains(&c.as_str()))
        {
            return Err(PolicyError::Invalid(format!(
                "allowed_calls: unknown call `{c}` (known: {})",
                CALLS.join(", ")
            )));
        }
        let mut seen = BTreeSet::new();
        for a in &self.assets {
            if !seen.insert(a.address) {
                return Err(PolicyError::Invalid(format!(
                    "assets: {} ({}) is listed twice",
                    a.symbol, a.address
                )));
            }
            if a.per_payment > a.per_hour || a.per_hour > a.per_day {
                return Err(PolicyError::Invalid(format!(
                    "assets.{}: limits must satisfy per_payment <= per_hour <= per_day",
                    a.symbol
                )));
            }
        }
        if let Some(p) = self.payees.allow.intersection(&self.payees.deny).next() {
            return Err(PolicyError::Invalid(format!(
                "payees: {p} is both allowed and denied"
            )));
        }
        Ok(())
    }

    fn asset(&self, address: &Address) -> Option<&AssetLimits> {
        self.assets.iter().find(|a| a.address == *address)
    }

    /// Decides `intent` given what was already spent (`history`) at unix time `now`.
    ///
    /// Pure: the same policy, history, intent and time always give the same decision.
    pub fn evaluate(&self, history: &History, intent: &Intent, now: u64) -> Decision {
        if !self.chain_ids.contains(&intent.chain_id) {
            return deny(
                Rule::ChainIds,
                format!("chain {} is not in chain_ids", intent.chain_id),
            );
        }
        match &intent.kind {
            Kind::Call(name) if !self.allowed_calls.contains(name) => {
                return deny(
                    Rule::AllowedCalls,
                    format!("the ledger call `{name}` is not in allowed_calls"),
                );
            }
            Kind::TypedData(name) if !self.allowed_typed_data.contains(name) => {
                return deny(
                    Rule::AllowedTypedData,
                    format!("EIP-712 type `{name}` is not recognised or not allowed"),
                );
            }
            _ => {}
        }
        if history.requests_since(now.saturating_sub(60)) >= self.rate_limit_per_minute as usize {
            return deny(
                Rule::RateLimit,
                format!(
                    "{} signing requests in the last minute",
                    self.rate_limit_per_minute
                ),
            );
        }
        let mut hold = false;
        let mut totals: BTreeMap<Address, u128> = BTreeMap::new();
        for spend in &intent.spends {
            if let Some(payee) = spend.payee {
                if self.payees.deny.contains(&payee) {
                    return deny(
                        Rule::PayeeDenied,
                        format!("payee {payee} is in payees.deny"),
                    );
                }
                if !self.payees.allow.is_empty() && !self.payees.allow.contains(&payee) {
                    return deny(
                        Rule::PayeeNotAllowed,
                        format!("payee {payee} is not in payees.allow"),
                    );
                }
            }
            let Some(limits) = self.asset(&spend.asset) else {
                return deny(
                    Rule::UnknownAsset,
                    format!("asset {} is not listed in assets", spend.asset),
                );
            };
            if spend.amount > limits.per_payment {
                return deny(
                    Rule::PerPayment(limits.symbol.clone()),
                    format!(
                        "{} exceeds the per-payment cap of {}",
                        limits.show(spend.amount),
                        limits.show(limits.per_payment)
                    ),
                );
            }
            hold |= limits.approve_above.is_some_and(|t| spend.amount > t);
            let total = totals.entry(spend.asset).or_default();
            *total = total.saturating_add(spend.amount);
        }
        for (asset, total) in &totals {
            let Some(limits) = self.asset(asset) else {
                continue;
            };
            for (window, cap, rule) in [
                (HOUR, limits.per_hour, Rule::PerHour(limits.symbol.clone())),
                (DAY, limits.per_day, Rule::PerDay(limits.symbol.clone())),
            ] {
                let spent = history.spent_since(asset, now.saturating_sub(window));
                if spent.saturating_add(*total) > cap {
                    return deny(
                        rule,
                        format!(
                            "{} already spent (or held) in the window + {} would exceed {}",
                            limits.show(spent),
                            limits.show(*total),
                            limits.show(cap)
                        ),
                    );
                }
            }
        }
        if hold {
            Decision::Hold
        } else {
            Decision::Allow
        }
    }
}

impl AssetLimits {
    /// `amount` base units as a decimal with the symbol, e.g. `0.02 USD`.
    pub fn show(&self, amount: u128) -> String {
        let d = u32::from(self.decimals.min(38));
        let unit = 10u128.pow(d);
        let (whole, frac) = (amount / unit, amount % unit);
        if frac == 0 {
            return format!("{whole} {}", self.symbol);
        }
        let frac = format!("{frac:0width$}", width = d as usize);
        format!("{whole}.{} {}", frac.trim_end_matches('0'), self.symbol)
    }
}

fn deny(rule: Rule, message: String) -> Decision {
    Decision::Deny(Denial { rule, message })
}

/// What a signing request would do, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The chain id the signature is for.
    pub chain_id: u64,
    /// What is signed.
    pub kind: Kind,
    /// What it spends.
    pub spends: Vec<Spend>,
}

/// What kind of message is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A ledger transaction with this call (`call.type`).
    Call(String),
    /// An x402 EIP-3009 `TransferWithAuthorization`: a payment, allowed when its asset is
    /// listed.
    Payment,
    /// Other EIP-712 typed data, by primary type.
    TypedData(String),
}

/// One outflow of a signed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    /// The asset spent (zero for the native token).
    pub asset: Address,
    /// Base units.
    #[serde(with = "u128_str")]
    pub amount: u128,
    /// Who receives it, when someone does (fees and burns have no payee).
    pub payee: Option<Address>,
}

mod u128_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Sign now.
    Allow,
    /// Hold until the owner approves (or the approval times out).
    Hold,
    /// Refuse.
    Deny(Denial),
}

/// A refusal: the rule and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("denied by policy rule `{rule}`: {message}")]
pub struct Denial {
    /// The rule.
    pub rule: Rule,
    /// Why, with the amounts.
    pub message: String,
}

/// The policy rules, as named in errors (the names are the TOML fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `chain_ids`.
    ChainIds,
    /// `allowed_calls`.
    AllowedCalls,
    /// `allowed_typed_data`, or a message the signer does not understand.
    AllowedTypedData,
    /// `rate_limit_per_minute`.
    RateLimit,
    /// `payees.deny`.
    PayeeDenied,
    /// `payees.allow`.
    PayeeNotAllowed,
    /// `assets`: an asset not listed.
    UnknownAsset,
    /// `assets.<symbol>.per_payment`.
    PerPayment(String),
    /// `assets.<symbol>.per_hour`.
    PerHour(String),
    /// `assets.<symbol>.per_day`.
    PerDay(String),
    /// The message is not for this signer's key (`from` is another address).
    WrongSigner,
    /// Held for approval and rejected by the owner or timed out.
    Approval,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::ChainIds => f.write_str("chain_ids"),
            Rule::AllowedCalls => f.write_str("allowed_calls"),
            Rule::AllowedTypedData => f.write_str("allowed_typed_data"),
            Rule::RateLimit => f.write_str("rate_limit_per_minute"),
            Rule::PayeeDenied => f.write_str("payees.deny"),
            Rule::PayeeNotAllowed => f.write_str("payees.allow"),
            Rule::UnknownAsset => f.write_str("assets"),
            Rule::PerPayment(s) => write!(f, "assets.{s}.per_payment"),
            Rule::PerHour(s) => write!(f, "assets.{s}.per_hour"),
            Rule::PerDay(s) => write!(f, "assets.{s}.per_day"),
            Rule::WrongSigner => f.write_str("from"),
            Rule::Approval => f.write_str("approve_above"),
        }
    }
}

/// What was signed (and held) recently: spends for the budgets and request times for the
/// rate limit. Entries older than a day are dropped as new ones arrive.
#[derive(Debug, Clone, Default)]
pub struct History {
    spends: VecDeque<(u64, u64, Address, u128)>,
    requests: VecDeque<u64>,
}

impl History {
    /// Counts a signing request at `time` (allowed or not) toward the rate limit.
    pub fn note_request(&mut self, time: u64) {
        self.prune(time);
        self.requests.push_back(time);
    }

    /// Records the spends of an allowed (or held) request at `time`, tagged `id` so a held
    /// one can be released.
    pub fn record(&mut self, id: u64, time: u64, spends: &[Spend]) {
        self.prune(time);
        for s in spends {
            self.spends.push_back((id, time, s.asset, s.amount));
        }
    }

    /// Forgets the spends of request `id` (a held request rejected or timed out).
    pub fn release(&mut self, id: u64) {
        self.spends.retain(|(i, ..)| *i != id);
    }

    /// Total of `asset` spent at or after `since`.
    pub fn spent_since(&self, asset: &Address, since: u64) -> u128 {
        self.spends
            .iter()
            .filter(|(_, t, a, _)| *t >= since && a == asset)
            .fold(0u128, |acc, (.., v)| acc.saturating_add(*v))
    }

    /// Requests at or after `since`.
    pub fn requests_since(&self, since: u64) -> usize {
        self.requests.iter().filter(|t| **t >= since).count()
    }

    fn prune(&mut self, now: u64) {
        let horizon = now.saturating_sub(DAY);
        while self.spends.front().is_some_and(|(_, t, ..)| *t < horizon) {
            self.spends.pop_front();
        }
        while self
            .requests
            .front()
            .is_some_and(|t| *t < now.saturating_sub(60))
        {
            self.requests.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
