//! Agent identity, reputation and validation registries with ERC-8004 semantics (the
//! 2026-01-25 text, reference contracts 2.0.0; research notes `shared/research/agents.md` §1),
//! native on the ledger.
//!
//! - Identity (§1.2): agents get sequential ids from 0, an owner, an `agentURI` pointing to a
//!   [`registration`] file, metadata, and an `agentWallet` that only a signature of the wallet
//!   itself sets ([`wallet_proof_hash`]) and that a transfer clears.
//! - Reputation (§1.3): anyone but the owner gives feedback (`int128` value with 0..=18
//!   decimals, string tags, endpoint, URI and hash); only its giver revokes it; anyone appends
//!   responses; [`Registry::summary`] is the contract's `getSummary`. An agent can require
//!   that feedback cite a settled EIP-3009 payment to it ([`REQUIRES_PAYMENT_KEY`]).
//! - Validation (§1.4): the owner requests a validation from a named validator, which answers
//!   0..=100, as often as it likes.
//!
//! This module holds the types and the pure reads; `exec` applies the calls to a block.

pub(crate) mod exec;
pub mod registration;
pub mod typed;

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, Bytes, I256, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::{asset::AssetId, error::Reject, util::i128_str};

/// An agent id (ERC-721 `tokenId`); the first agent is 0.
pub type AgentId = u64;

/// The reserved metadata key holding the verified agent wallet.
pub const AGENT_WALLET_KEY: &str = "agentWallet";
/// The metadata key by which an agent requires payment-proven feedback: the value `0x01`
/// requires it, `0x00` (or absence) does not.
pub const REQUIRES_PAYMENT_KEY: &str = "feedbackRequiresPayment";
/// The metadata key under which an agent's owner names, on-chain, one more x402 payee (20
/// bytes) besides the agent wallet: a subnet gateway is paid into the subnet's revenue
/// account, which no key controls and so cannot prove itself as a wallet. Payments to it
/// count as payment proof, and buyers may pay it.
pub const PAY_TO_KEY: &str = "x402PayTo";
/// The most a feedback value may be in magnitude (the contract's `MAX_ABS_VALUE`).
pub const MAX_ABS_VALUE: i128 = 100_000_000_000_000_000_000_000_000_000_000_000_000;
/// The most decimals a feedback value may have.
pub const MAX_VALUE_DECIMALS: u8 = 18;
/// The highest validation response.
pub const MAX_RESPONSE: u8 = 100;
/// The longest URI (agent, feedback, response, request); `data:` URIs fit.
pub const MAX_URI_LEN: usize = 8 * 1024;
/// The longest tag, endpoint or metadata key.
pub const MAX_TAG_LEN: usize = 256;
/// The longest metadata value.
pub const MAX_METADATA_VALUE_LEN: usize = 4 * 1024;
/// The most metadata entries one `register` sets.
pub const MAX_METADATA_ENTRIES: usize = 32;
/// How far ahead an agent-wallet proof's deadline may be, seconds (`MAX_DEADLINE_DELAY`).
pub const MAX_DEADLINE_DELAY: u64 = 300;

/// The identity registry's address on this ledger: the `verifyingContract` of the
/// agent-wallet proof and the address in `agentRegistry` strings. Nobody holds its key.
pub fn identity_registry() -> Address {
    Address::from_slice(&keccak256(b"symbiont/erc8004/identity-registry")[12..])
}

/// `{namespace}:{chainId}:{identityRegistry}` as registration files name this registry.
pub fn agent_registry(chain_id: u64) -> String {
    format!("eip155:{chain_id}:{}", identity_registry())
}

/// The EIP-712 domain of the agent-wallet proof, as the reference identity registry's:
/// `{name: "ERC8004IdentityRegistry", version: "1", chainId, verifyingContract}`.
pub fn identity_domain(chain_id: u64) -> Eip712Domain {
    Eip712Domain::new(
        Some("ERC8004IdentityRegistry".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(identity_registry()),
        None,
    )
}

/// The hash the new wallet signs to become an agent's wallet:
/// `AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)`.
pub fn wallet_proof_hash(
    chain_id: u64,
    agent_id: AgentId,
    new_wallet: Address,
    owner: Address,
    deadline: u64,
) -> B256 {
    typed::AgentWalletSet {
        agentId: U256::from(agent_id),
        newWallet: new_wallet,
        owner,
        deadline: U256::from(deadline),
    }
    .eip712_signing_hash(&identity_domain(chain_id))
}

/// One metadata entry (`MetadataEntry{metadataKey, metadataValue}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetadataEntry {
    /// The key.
    pub key: String,
    /// The value, hex in JSON.
    pub value: Bytes,
}

/// A registered agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Its owner.
    pub owner: Address,
    /// Where its registration file is (`agentURI`).
    pub uri: String,
    /// Its verified wallet (`agentWallet`); the owner at registration, none after a transfer.
    pub wallet: Option<Address>,
    /// Metadata other than the wallet, by key.
    pub metadata: BTreeMap<String, Bytes>,
    /// The block it registered at.
    pub registered_at: u64,
}

impl Agent {
    /// Whether feedback must cite a settled payment ([`REQUIRES_PAYMENT_KEY`]).
    pub fn requires_payment(&self) -> bool {
        self.metadata
            .get(REQUIRES_PAYMENT_KEY)
            .is_some_and(|v| v.as_ref() == [1])
    }

    /// Who payments proving feedback must go to: the wallet, or the owner without one.
    pub fn payee(&self) -> Address {
        self.wallet.unwrap_or(self.owner)
    }

    /// Everyone a payment to this agent may go to: [`Agent::payee`], and the payee its owner
    /// named under [`PAY_TO_KEY`] (when that value is 20 bytes).
    pub fn payees(&self) -> Vec<Address> {
        let mut out = vec![self.payee()];
        if let Some(named) = self.metadata.get(PAY_TO_KEY)
            && named.len() == 20
        {
            out.push(Address::from_slice(named));
        }
        out
    }
}

/// A settled EIP-3009 payment cited by feedback: the asset and the authorization nonce (the
/// payer is the feedback's giver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentRef {
    /// The asset paid in.
    pub asset: AssetId,
    /// The authorization nonce.
    pub nonce: B256,
}

/// A response appended to a feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Who responded.
    pub responder: Address,
    /// Where the response is.
    pub uri: String,
    /// Its hash (zero for none).
    pub hash: B256,
}

/// One feedback of a client on an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// Its index among the client's feedback on the agent, from 1.
    pub index: u64,
    /// The value, fixed point with [`Feedback::value_decimals`] decimals.
    #[serde(with = "i128_str")]
    pub value: i128,
    /// Decimals of the value, 0..=18.
    pub value_decimals: u8,
    /// First tag.
    pub tag1: String,
    /// Second tag.
    pub tag2: String,
    /// The endpoint the feedback is about.
    pub endpoint: String,
    /// Where the feedback file is.
    pub feedback_uri: String,
    /// Its hash (zero for none).
    pub feedback_hash: B256,
    /// Revoked by its giver.
    pub revoked: bool,
    /// The payment it cites, if any.
    pub payment: Option<PaymentRef>,
    /// Responses, in order.
    pub responses: Vec<Response>,
    /// The block it was given at.
    pub height: u64,
}

/// A validation request and its latest response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validation {
    /// The request's hash, its identifier.
    pub request_hash: B256,
    /// The validator named by the request; the only one that may respond.
    pub validator: Address,
    /// The agent validated.
    pub agent_id: AgentId,
    /// Where the request's inputs are.
    pub request_uri: String,
    /// The latest response 0..=100, if any.
    pub response: Option<u8>,
    /// Where the latest response is.
    pub response_uri: String,
    /// Its hash.
    pub response_hash: B256,
    /// Its tag (e.g. `soft-finality`).
    pub tag: String,
    /// The block of the request or the latest response.
    pub last_update: u64,
}

/// The registries' state: agents, feedback and validations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Agents by id (ids are dense from 0).
    pub agents: BTreeMap<AgentId, Agent>,
    /// Feedback by (agent, client), in index order.
    pub feedback: BTreeMap<(AgentId, Address), Vec<Feedback>>,
    /// Validations by request hash.
    pub validations: BTreeMap<B256, Validation>,
}

/// What a block changes in the registries: new values of everything touched.
pub type RegistryDiff = Registry;

impl Registry {
    /// Whether nothing is held (as a diff: nothing changed).
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.feedback.is_empty() && self.validations.is_empty()
    }

    /// Applies a block's diff.
    pub fn apply(&mut self, diff: &RegistryDiff) {
        for (id, a) in &diff.agents {
            self.agents.insert(*id, a.clone());
        }
        for (k, f) in &diff.feedback {
            self.feedback.insert(*k, f.clone());
        }
        for (h, v) in &diff.validations {
            self.validations.insert(*h, v.clone());
        }
    }

    /// The id the next registration gets.
    pub fn next_id(&self) -> AgentId {
        u64::try_from(self.agents.len()).unwrap_or(u64::MAX)
    }

    /// The clients that gave `agent` feedback, in address order.
    pub fn clients(&self, agent: AgentId) -> Vec<Address> {
        self.feedback
            .range((agent, Address::ZERO)..=(agent, Address::repeat_byte(0xff)))
            .map(|((_, c), _)| *c)
            .collect()
    }

    /// Every feedback on `agent`: (client, feedback), by client then index.
    pub fn agent_feedback(&self, agent: AgentId) -> impl Iterator<Item = (Address, &Feedback)> {
        self.feedback
            .range((agent, Address::ZERO)..=(agent, Address::repeat_byte(0xff)))
            .flat_map(|((_, c), list)| list.iter().map(move |f| (*c, f)))
    }

    /// The validations of `agent`, by request hash.
    pub fn agent_validations(&self, agent: AgentId) -> impl Iterator<Item = &Validation> {
        self.validations
            .values()
            .filter(move |v| v.agent_id == agent)
    }

    /// The contract's `getSummary(agentId, clients, tag1, tag2)`: over the non-revoked
    /// feedback of `clients` matching the tags (an empty tag matches all), every value
    /// normalised to 18 decimals, averaged (truncating toward zero), and rescaled to the most
    /// frequent `valueDecimals` (the lowest on a tie). An empty client list is refused.
    pub fn summary(
        &self,
        agent: AgentId,
        clients: &[Address],
        tag1: &str,
        tag2: &str,
    ) -> Result<Summary, Reject> {
        if clients.is_empty() {
            return Err(Reject::InvalidCall {
                reason: "a reputation summary needs a non-empty client list".into(),
            });
        }
        if !self.agents.contains_key(&agent) {
            return Err(Reject::UnknownAgent { agent_id: agent });
        }
        let selected = clients
            .iter()
            .filter_map(|c| self.feedback.get(&(agent, *c)))
            .flatten()
            .filter(|f| !f.revoked)
            .filter(|f| tag1.is_empty() || f.tag1 == tag1)
            .filter(|f| tag2.is_empty() || f.tag2 == tag2);
        Ok(summarize(selected.map(|f| (f.value, f.value_decimals))))
    }
}

/// A reputation summary: how many feedbacks, their average and its decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Feedbacks counted.
    pub count: u64,
    /// The average, fixed point.
    #[serde(with = "i128_str")]
    pub value: i128,
    /// Its decimals.
    pub decimals: u8,
}

/// The summary arithmetic of `getSummary` over `(value, decimals)` pairs (decimals ≤ 18).
pub fn summarize(values: impl Iterator<Item = (i128, u8)>) -> Summary {
    let mut sum = I256::ZERO;
    let mut count: u64 = 0;
    let mut per_decimals = [0u64; 19];
    for (value, decimals) in values {
        let d = usize::from(decimals.min(MAX_VALUE_DECIMALS));
        // An i128 always fits in I256 (the `unwrap_or` cannot apply); |value| < 2^127 and the factor ≤ 10^18 < 2^60: the product fits in 188 bits.
        sum = sum.saturating_add(
            I256::try_from(value)
                .unwrap_or(I256::ZERO)
                .saturating_mul(wad_factor(d)),
        );
        per_decimals[d] = per_decimals[d].saturating_add(1);
        count = count.saturating_add(1);
    }
    if count == 0 {
        return Summary {
            count: 0,
            value: 0,
            decimals: 0,
        };
    }
    let mut mode = 0usize;
    for (d, n) in per_decimals.iter().enumerate() {
        if *n > per_decimals[mode] {
            mode = d;
        }
    }
    let avg = sum / I256::from_raw(U256::from(count));
    let scaled = avg / wad_factor(mode);
    Summary {
        count,
        value: low_i128(scaled),
        decimals: u8::try_from(mode).unwrap_or(MAX_VALUE_DECIMALS),
    }
}

/// Solidity's `int128(x)` of an `int256`: the low 128 bits, two's complement. Only an
/// average of values with fewer decimals than the mode can exceed `int128` (e.g. `1e38` at
/// 0 decimals averaged into an 18-decimal mode); the contract wraps then, and so does this.
fn low_i128(x: I256) -> i128 {
    let limbs = x.into_raw().into_limbs();
    let low = u128::from(limbs[0]) | (u128::from(limbs[1]) << 64);
    low as i128
}

/// `10^(18 - decimals)`.
fn wad_factor(decimals: usize) -> I256 {
    let exp = 18usize.saturating_sub(decimals);
    I256::from_raw(U256::from(10u8).pow(U256::from(exp)))
}

/// The arguments of `giveFeedback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FeedbackCall {
    /// The agent.
    pub agent_id: AgentId,
    /// The value, fixed point (a decimal string in JSON).
    #[serde(with = "i128_str")]
    pub value: i128,
    /// Its decimals, 0..=18.
    pub value_decimals: u8,
    /// First tag ("" for none).
    #[serde(default)]
    pub tag1: String,
    /// Second tag.
    #[serde(default)]
    pub tag2: String,
    /// The endpoint the feedback is about.
    #[serde(default)]
    pub endpoint: String,
    /// Where the feedback file is.
    #[serde(default)]
    pub feedback_uri: String,
    /// keccak256 of the feedback file (zero for none).
    #[serde(default)]
    pub feedback_hash: B256,
    /// The settled payment proving the giver paid the agent.
    #[serde(default)]
    pub payment: Option<PaymentRef>,
}
