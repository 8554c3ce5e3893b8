//! Verifiable inference on the ledger (ADR 0005; research notes `shared/research/compute.md`
//! §2–§3): a buyer requests inference, providers deliver results in transactions, and the
//! ledger accepts a result, pays and runs a callback only as the request's verification mode
//! allows.
//!
//! - A **request** ([`RequestTerms`]) names a model, the input (inline, or by hash and URI),
//!   a payment held in escrow, the redundancy `k`, a [`Mode`], a deadline and a
//!   [`Callback`]. It is accepted when `k` deliveries agree ([`agree`]): byte for byte for
//!   [`OutputKind::Exact`] (greedy chat, ZK outputs), within cosine 0.999 decided in integers
//!   for [`OutputKind::Embedding`]. At acceptance the agreeing providers share the payment
//!   (for [`Mode::Reexec`], after the challenge window) and the callback runs; at the
//!   deadline without agreement the buyer is refunded. A delivery after the deadline is
//!   refused.
//! - **Modes.** [`Mode::Redundant`]: agreement alone. [`Mode::Reexec`]: providers post a
//!   bond naming their ERC-8004 agent; a validator of the request's subnet re-runs an
//!   accepted request within the challenge window ([`InferCall::Reexecute`]); the verdict is a
//!   validation response (100 or 0) on the provider's agent, and a mismatch slashes the
//!   provider's bond (half to the validator, half burned) and refunds its share.
//!   [`Mode::Tee`]: only deliveries signed by a key bound to an `UpToDate` Intel DCAP quote
//!   ([`InferCall::BindAttestation`], verified in the state transition with the block time)
//!   count. [`Mode::Zk`]: each delivery carries a Groth16 proof that the committed model maps
//!   the request's input to the output ([`InferCall::RegisterZkModel`], `verify-zk`).
//!
//! Escrowed payments and bonds sit in [`crate::compute::escrow_account`], so every supply is
//! still the sum of its balances.

pub(crate) mod exec;
pub mod typed;

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    Amount,
    agents::AgentId,
    asset::AssetId,
    subnet::NetUid,
    util::{amount_str, u64_str},
};

/// A request id.
pub type RequestId = u64;

/// The largest inline input.
pub const MAX_INPUT: usize = 8 * 1024;
/// The largest delivered output.
pub const MAX_OUTPUT: usize = 16 * 1024;
/// The largest ZK proof.
pub const MAX_PROOF: usize = 1024;
/// The largest ZK verifying key.
pub const MAX_VERIFYING_KEY: usize = 32 * 1024;
/// The most agreeing deliveries a request may ask for.
pub const MAX_K: u8 = 8;
/// The longest request window and challenge window, in blocks.
pub const MAX_WINDOW: u64 = 1_000_000;
/// The longest input URI.
pub const MAX_URI: usize = 256;
/// The most dimensions of an embedding output.
pub const MAX_DIMS: usize = 4096;
/// A call that verifies a TEE quote or a ZK proof pays at least this many times the chain's
/// minimum fee ([`crate::exec::required_fee`]).
pub const VERIFY_FEE_FACTOR: u64 = 100;
/// The most calls that verify a quote or a proof one block holds (each costs every validator
/// 2–7 ms: 64 keep a block's verification under half a second on one core).
pub const MAX_VERIFICATIONS_PER_BLOCK: usize = 64;
/// The TCB status a TEE delivery needs.
pub const TEE_UP_TO_DATE: &str = "UpToDate";

/// The scale of an embedding delivered as i16: component `x` is sent as `round(x · 2^14)`.
pub const EMBEDDING_SCALE: i32 = 1 << 14;

/// The account that answers validations on verified inference (the callback
/// [`Callback::Validate`]): an ERC-8004 validator no key holds.
pub fn validator_account() -> Address {
    Address::from_slice(&keccak256(b"symbiont/infer/validator")[12..])
}

/// Parameters fixed at genesis (`infer` in the genesis file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct InferParams {
    /// The DER root certificate quotes chain to; `None` for Intel's SGX root CA. A dev chain
    /// carries a locally generated root (`verify_tee::dev`) so the flow runs without a TEE.
    pub tee_root: Option<Bytes>,
    /// Seconds an attestation stays valid after the block that bound it (0: 7 days).
    pub attestation_ttl: u64,
}

impl InferParams {
    /// The attestation lifetime in seconds.
    pub fn attestation_ttl(&self) -> u64 {
        if self.attestation_ttl == 0 {
            7 * 24 * 3600
        } else {
            self.attestation_ttl
        }
    }
}

/// How a request's result is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// `k` agreeing deliveries.
    #[default]
    Redundant,
    /// `k` agreeing deliveries from bonded providers; paid after a challenge window in which
    /// validators may re-execute.
    Reexec,
    /// `k` agreeing deliveries, each from a key bound to an up-to-date TEE quote.
    Tee,
    /// `k` agreeing deliveries, each with a valid zero-knowledge proof.
    Zk,
}

impl Mode {
    /// The code signed in the EIP-712 struct.
    pub fn code(self) -> u8 {
        match self {
            Mode::Redundant => 0,
            Mode::Reexec => 1,
            Mode::Tee => 2,
            Mode::Zk => 3,
        }
    }
}

/// What "the same answer" means for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum OutputKind {
    /// Identical bytes (greedy decoding, ZK outputs).
    #[default]
    Exact,
    /// Little-endian i16 vectors at [`EMBEDDING_SCALE`] agreeing within cosine 0.999.
    Embedding,
}

impl OutputKind {
    /// The code signed in the EIP-712 struct.
    pub fn code(self) -> u8 {
        match self {
            OutputKind::Exact => 0,
            OutputKind::Embedding => 1,
        }
    }

    /// Checks an output's shape.
    pub fn check(self, output: &[u8]) -> Result<(), String> {
        if output.len() > MAX_OUTPUT {
            return Err(format!(
                "output is {} bytes; the limit is {MAX_OUTPUT}",
                output.len()
            ));
        }
        if self == OutputKind::Embedding {
            if output.is_empty() || !output.len().is_multiple_of(2) || output.len() / 2 > MAX_DIMS {
                return Err(format!(
                    "an embedding is 1..={MAX_DIMS} little-endian i16 values; got {} bytes",
                    output.len()
                ));
            }
            if output.iter().all(|b| *b == 0) {
                return Err("an embedding cannot be all zeros".into());
            }
        }
        Ok(())
    }
}

/// The i16 components of an embedding output.
fn components(bytes: &[u8]) -> impl Iterator<Item = i128> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| i128::from(i16::from_le_bytes([c[0], c[1]])))
}

/// Whether two outputs agree under `kind`. Embeddings agree when they have the same length,
/// `dot(a, b) > 0` and `10^6 · dot² ≥ 998001 · |a|² · |b|²`, which is exactly cosine ≥ 0.999
/// in integers (every validator decides the same; no floating point). With at most
/// [`MAX_DIMS`] components of 16 bits every term fits in an `i128`.
pub fn agree(kind: OutputKind, a: &[u8], b: &[u8]) -> bool {
    match kind {
        OutputKind::Exact => a == b,
        OutputKind::Embedding => {
            if a.len() != b.len() || !a.len().is_multiple_of(2) || a.len() / 2 > MAX_DIMS {
                return false;
            }
            let dot: i128 = components(a).zip(components(b)).map(|(x, y)| x * y).sum();
            if dot <= 0 {
                return false;
            }
            let na: i128 = components(a).map(|x| x * x).sum();
            let nb: i128 = components(b).map(|x| x * x).sum();
            // dot² ≤ 2^84, na·nb ≤ 2^84: times 10^6 < 2^20 stays below 2^105.
            1_000_000 * dot * dot >= 998_001 * na * nb
        }
    }
}

/// Quantises an embedding for delivery: `round(x · 2^14)`, saturating at the i16 range.
pub fn quantize_embedding(v: &[f32]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| {
            let q = (x * EMBEDDING_SCALE as f32)
                .round()
                .clamp(i16::MIN as f32, i16::MAX as f32) as i16;
            q.to_le_bytes()
        })
        .collect()
}

/// What the ledger does with an accepted result, in the accepting block. A closed set: the
/// ledger stays a fixed state machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged (`"none"`, `{"pay": {…}}`, `{"validate": {…}}`): the store's postcard
// cannot read an internally tagged enum back.
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Callback {
    /// Nothing.
    #[default]
    None,
    /// A conditional payout escrowed with the request: `amount` of `asset` to `to` if
    /// keccak256 of the output equals `if_output_hash`, back to the requester otherwise.
    #[serde(rename_all = "camelCase")]
    Pay {
        /// The payee.
        to: Address,
        /// The asset.
        asset: AssetId,
        /// The amount.
        #[serde(with = "amount_str")]
        amount: Amount,
        /// The output hash that releases it.
        if_output_hash: B256,
    },
    /// Answers the ERC-8004 validation `request_hash` (whose validator must be
    /// [`validator_account`]): 100 if keccak256 of the output equals `if_output_hash`, 0
    /// otherwise.
    #[serde(rename_all = "camelCase")]
    Validate {
        /// The validation request.
        request_hash: B256,
        /// The output hash that scores 100.
        if_output_hash: B256,
    },
}

/// The terms of a request (`RequestInference`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestTerms {
    /// The model: sha256 of its file set for served models, or a registered ZK model's id.
    pub model: B256,
    /// How deliveries are compared.
    #[serde(default)]
    pub output: OutputKind,
    /// The input, inline (at most [`MAX_INPUT`] bytes); empty when given by hash and URI.
    #[serde(default)]
    pub input: Bytes,
    /// keccak256 of the input; zero to have it computed from an inline input.
    #[serde(default)]
    pub input_hash: B256,
    /// Where a large input is.
    #[serde(default)]
    pub input_uri: String,
    /// The payment's asset.
    pub asset: AssetId,
    /// Shared by the agreeing providers.
    #[serde(with = "amount_str")]
    pub payment: Amount,
    /// Agreeing deliveries needed, 1..=[`MAX_K`].
    pub k: u8,
    /// The verification mode.
    #[serde(default)]
    pub mode: Mode,
    /// Blocks deliveries are taken for, from the request's block.
    #[serde(with = "u64_str")]
    pub window: u64,
    /// For [`Mode::Reexec`]: the subnet whose permitted validators may re-execute.
    #[serde(default)]
    pub netuid: NetUid,
    /// For [`Mode::Reexec`]: the bond a provider must hold; slashed on a mismatch.
    #[serde(with = "amount_str", default)]
    pub min_bond: Amount,
    /// For [`Mode::Reexec`]: blocks after acceptance during which validators may re-execute.
    #[serde(with = "u64_str", default)]
    pub challenge_window: u64,
    /// What to do with the accepted result.
    #[serde(default)]
    pub callback: Callback,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// Taking deliveries.
    Open,
    /// Accepted; for [`Mode::Reexec`] the payment waits for the challenge window.
    Accepted,
    /// Accepted and paid.
    Settled,
    /// No agreement by the deadline: refunded.
    Expired,
}

/// An inference request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Its id.
    pub id: RequestId,
    /// Who asked and paid.
    pub requester: Address,
    /// Its terms (with the input hash filled in).
    pub terms: RequestTerms,
    /// Where it stands.
    pub state: RequestState,
    /// The block it was made at.
    pub created_at: u64,
    /// The last block a delivery is taken at.
    pub deadline: u64,
    /// Deliveries so far, in order.
    pub deliveries: Vec<Address>,
    /// The accepted result.
    pub result: Option<Accepted>,
}

/// An accepted result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The output (the first agreeing delivery's).
    pub output: Bytes,
    /// keccak256 of it.
    pub output_hash: B256,
    /// The providers paid, in delivery order.
    pub providers: Vec<Address>,
    /// The block it was accepted at.
    pub accepted_at: u64,
    /// The block the payment is released at (the acceptance, or the end of the challenge
    /// window).
    pub payout_at: u64,
    /// Whether every counted delivery came from an attested TEE key.
    pub tee_attested: bool,
    /// Whether every counted delivery carried a valid proof.
    pub zk_proved: bool,
}

/// One provider's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The request.
    pub request: RequestId,
    /// The provider.
    pub provider: Address,
    /// The output.
    pub output: Bytes,
    /// keccak256 of it.
    pub output_hash: B256,
    /// The block it came in.
    pub at: u64,
    /// The re-execution verdict, if a validator re-ran it: (validator, agreed).
    pub reexecuted: Option<(Address, bool)>,
}

/// A provider's bond for re-executed requests, in native base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bond {
    /// Held in escrow.
    #[serde(with = "amount_str")]
    pub amount: Amount,
    /// The provider's ERC-8004 agent, on which re-execution verdicts are recorded.
    pub agent_id: AgentId,
    /// It cannot be withdrawn before this block (the end of its last challenge window).
    pub locked_until: u64,
    /// Slashed so far.
    #[serde(with = "amount_str")]
    pub slashed: Amount,
}

/// A provider's TEE attestation, as verified by the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationRecord {
    /// `sgx` or `tdx`.
    pub tee: String,
    /// The TCB status at verification.
    pub tcb_status: String,
    /// Intel advisories that apply.
    pub advisory_ids: Vec<String>,
    /// MRENCLAVE (SGX) or MRTD (TDX).
    pub measurement: Bytes,
    /// keccak256 of the quote.
    pub quote_hash: B256,
    /// The block time (seconds) it was verified at.
    pub verified_at: u64,
    /// The block time (seconds) it stops counting at.
    pub valid_until: u64,
}

impl AttestationRecord {
    /// Whether a delivery at block time `now` counts as TEE-attested.
    pub fn counts_at(&self, now: u64) -> bool {
        self.tcb_status == TEE_UP_TO_DATE && now < self.valid_until
    }
}

/// A ZK model: its verifying key and the commitment to its weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZkModel {
    /// sha256 of the model's canonical encoding (`verify_zk::Mlp::commitment`).
    pub commitment: B256,
    /// The Groth16 verifying key (compressed).
    pub verifying_key: Bytes,
    /// Who registered it (whoever ran the setup; trusted not to keep its toxic waste).
    pub registrant: Address,
    /// The block it was registered at.
    pub registered_at: u64,
}

/// The id of a ZK model: keccak256 of its verifying key.
pub fn zk_model_id(verifying_key: &[u8]) -> B256 {
    keccak256(verifying_key)
}

/// The ERC-8004 validation request hash under which a re-execution verdict is recorded.
pub fn reexec_validation_hash(request: RequestId, provider: &Address) -> B256 {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(b"symbiont/infer/reexec/v1");
    buf.extend_from_slice(&request.to_be_bytes());
    buf.extend_from_slice(provider.as_slice());
    keccak256(buf)
}

/// The bookkeeping besides the objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferMeta {
    /// The id the next request gets.
    pub next_request: RequestId,
    /// Open requests by (deadline, id): expired in deadline order.
    pub deadlines: BTreeSet<(u64, RequestId)>,
    /// Accepted requests awaiting payment by (payout block, id).
    pub payouts: BTreeSet<(u64, RequestId)>,
}

/// The verifiable-inference state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InferState {
    /// Requests by id.
    pub requests: BTreeMap<RequestId, Request>,
    /// Deliveries by (request, provider).
    pub deliveries: BTreeMap<(RequestId, Address), Delivery>,
    /// Bonds by provider.
    pub bonds: BTreeMap<Address, Bond>,
    /// Attestations by provider.
    pub attestations: BTreeMap<Address, AttestationRecord>,
    /// ZK models by id ([`zk_model_id`]).
    pub zk_models: BTreeMap<B256, ZkModel>,
    /// The bookkeeping; `None` in a diff that did not change it.
    pub meta: Option<InferMeta>,
}

/// What a block changes: new values of everything touched.
pub type InferDiff = InferState;

impl InferState {
    /// Whether nothing is held (as a diff: nothing changed).
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
            && self.deliveries.is_empty()
            && self.bonds.is_empty()
            && self.attestations.is_empty()
            && self.zk_models.is_empty()
            && self.meta.is_none()
    }

    /// Applies a block's diff.
    pub fn apply(&mut self, diff: &InferDiff) {
        self.requests
            .extend(diff.requests.iter().map(|(k, v)| (*k, v.clone())));
        self.deliveries
            .extend(diff.deliveries.iter().map(|(k, v)| (*k, v.clone())));
        self.bonds.extend(diff.bonds.iter().map(|(k, v)| (*k, *v)));
        self.attestations
            .extend(diff.attestations.iter().map(|(k, v)| (*k, v.clone())));
        self.zk_models
            .extend(diff.zk_models.iter().map(|(k, v)| (*k, v.clone())));
        if let Some(m) = &diff.meta {
            self.meta = Some(m.clone());
        }
    }

    /// The deliveries of `request`, in delivery order.
    pub fn request_deliveries(&self, request: &Request) -> Vec<&Delivery> {
        request
            .deliveries
            .iter()
            .filter_map(|p| self.deliveries.get(&(request.id, *p)))
            .collect()
    }
}

/// A verifiable-inference call (`{"type": "infer", "op": …}`); each is one EIP-712 struct in
/// [`typed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum InferCall {
    /// Requests inference; the payment (and a [`Callback::Pay`] amount) goes into escrow.
    RequestInference(Box<RequestTerms>),
    /// A registered provider delivers a result; `proof` is the ZK proof in [`Mode::Zk`]
    /// (empty otherwise).
    #[serde(rename_all = "camelCase")]
    DeliverResult {
        /// The request.
        request: RequestId,
        /// The output.
        output: Bytes,
        /// The proof, for [`Mode::Zk`].
        #[serde(default)]
        proof: Bytes,
    },
    /// A permitted validator of the request's subnet reports its re-execution of a counted
    /// delivery of an accepted [`Mode::Reexec`] request, within the challenge window.
    #[serde(rename_all = "camelCase")]
    Reexecute {
        /// The request.
        request: RequestId,
        /// The provider whose delivery was re-run.
        provider: Address,
        /// The validator's own output.
        output: Bytes,
    },
    /// A provider adds native tokens to its bond and names its ERC-8004 agent (which it must
    /// own).
    #[serde(rename_all = "camelCase")]
    PostBond {
        /// Native base units.
        #[serde(with = "amount_str")]
        amount: Amount,
        /// Its agent.
        agent_id: AgentId,
    },
    /// A provider withdraws from its bond once its challenge windows have passed.
    #[serde(rename_all = "camelCase")]
    WithdrawBond {
        /// Native base units.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// The sender binds its key to a DCAP quote whose report data is
    /// `verify_tee::key_binding(sender)`; verified with the block time.
    #[serde(rename_all = "camelCase")]
    BindAttestation {
        /// The quote.
        quote: Bytes,
        /// Its collateral (dcap-qvl's JSON).
        collateral: Bytes,
    },
    /// Registers a ZK model's verifying key and weight commitment.
    #[serde(rename_all = "camelCase")]
    RegisterZkModel {
        /// sha256 of the model's canonical encoding.
        commitment: B256,
        /// The Groth16 verifying key.
        verifying_key: Bytes,
    },
}

impl InferCall {
    /// Whether the state transition verifies a quote or a proof for it (it then pays
    /// [`VERIFY_FEE_FACTOR`] times the minimum fee).
    pub fn verifies(&self) -> bool {
        match self {
            InferCall::BindAttestation { .. } | InferCall::RegisterZkModel { .. } => true,
            InferCall::DeliverResult { proof, .. } => !proof.is_empty(),
            InferCall::RequestInference(_)
            | InferCall::Reexecute { .. }
            | InferCall::PostBond { .. }
            | InferCall::WithdrawBond { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emb(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn embeddings_agree_within_cosine_0999() {
        let a = emb(&[16384, 0, 0]);
        // cos = 16384 / sqrt(16384² + 700²) ≈ 0.99909: agrees.
        assert!(agree(OutputKind::Embedding, &a, &emb(&[16384, 700, 0])));
        // cos ≈ 0.99875: does not.
        assert!(!agree(OutputKind::Embedding, &a, &emb(&[16384, 820, 0])));
        // Opposite, shorter, odd-length: never.
        assert!(!agree(OutputKind::Embedding, &a, &emb(&[-16384, 0, 0])));
        assert!(!agree(OutputKind::Embedding, &a, &emb(&[16384, 0])));
        assert!(!agree(OutputKind::Embedding, &a[..5], &a[..5]));
        // Scale does not matter.
        assert!(agree(OutputKind::Embedding, &a, &emb(&[100, 0, 0])));
        // Extremes do not overflow.
        let big = emb(&vec![i16::MIN; MAX_DIMS]);
        assert!(agree(OutputKind::Embedding, &big, &big));
    }

    #[test]
    fn exact_is_bytes() {
        assert!(agree(OutputKind::Exact, b"abc", b"abc"));
        assert!(!agree(OutputKind::Exact, b"abc", b"abd"));
    }

    #[test]
    fn quantized_embeddings_of_near_vectors_agree() {
        let a: Vec<f32> = (0..384)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) / 60.0)
            .collect();
        let b: Vec<f32> = a.iter().map(|x| x + 0.0005).collect();
        assert!(agree(
            OutputKind::Embedding,
            &quantize_embedding(&a),
            &quantize_embedding(&b)
        ));
    }

    proptest::proptest! {
        #[test]
        fn agree_matches_float_cosine(
            a in proptest::collection::vec(-2000i16..2000, 8),
            d in proptest::collection::vec(-300i16..300, 8),
        ) {
            let b: Vec<i16> = a.iter().zip(&d).map(|(x, y)| x + y).collect();
            let f = |v: &[i16]| v.iter().map(|x| f64::from(*x)).collect::<Vec<_>>();
            let (fa, fb) = (f(&a), f(&b));
            let dot: f64 = fa.iter().zip(&fb).map(|(x, y)| x * y).sum();
            let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
            let cos = dot / (n(&fa) * n(&fb));
            // Away from the boundary the integer rule and the float cosine decide the same.
            if cos.is_finite() && (cos - 0.999).abs() > 1e-9 {
                proptest::prop_assert_eq!(agree(OutputKind::Embedding, &emb(&a), &emb(&b)), cos >= 0.999);
            }
        }
    }
}
