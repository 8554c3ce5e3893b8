//! Why a transaction is rejected, and the crate's error type.

use alloy_primitives::{Address, B256};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the ledger core that are not a single transaction's rejection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A block failed validation.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    /// The genesis file is inconsistent.
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    /// The storage backend failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Stored bytes could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// Why a transaction is refused or fails. Each variant has a stable machine-readable
/// [`code`](Reject::code), which the HTTP API returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reject {
    /// The signature is not a valid secp256k1 signature or is malleable (high s).
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What is wrong with it.
        reason: String,
    },
    /// The signature is valid but was made by another key than `from`.
    #[error("signature was made by {recovered}, not by from")]
    SignerMismatch {
        /// The address the signature recovers to.
        recovered: Address,
    },
    /// The transaction is for another chain.
    #[error("wrong chain id: expected {expected}, got {got}")]
    WrongChainId {
        /// This ledger's chain id.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// The nonce was already used.
    #[error("nonce {got} is stale: the account's next nonce is {expected}")]
    NonceStale {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The nonce is further ahead than the mempool accepts, or not next at execution.
    #[error("nonce {got} is in the future: the account's next nonce is {expected}")]
    NonceFuture {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// Another transaction with the same sender and nonce is pending.
    #[error("another transaction with nonce {nonce} is pending for this account")]
    NoncePending {
        /// The contested nonce.
        nonce: u64,
    },
    /// The same transaction was already submitted.
    #[error("duplicate transaction {hash}")]
    Duplicate {
        /// Its hash.
        hash: B256,
    },
    /// The block already holds its [`crate::infer::MAX_VERIFICATIONS_PER_BLOCK`] calls that
    /// verify a quote or a proof (the transaction waits for a later block).
    #[error("the block already verifies {max} quotes or proofs")]
    BlockVerificationsFull {
        /// The most per block.
        max: usize,
    },
    /// The fee is below the ledger's minimum.
    #[error("fee {got} is below the minimum {min}")]
    FeeTooLow {
        /// The minimum fee.
        min: u64,
        /// The offered fee.
        got: u64,
    },
    /// A balance does not cover what the transaction spends.
    #[error("insufficient funds of asset {asset}: need {need}, have {have}")]
    InsufficientFunds {
        /// The asset.
        asset: Address,
        /// What is needed.
        need: String,
        /// What the account has.
        have: String,
    },
    /// The transaction's expiry has passed.
    #[error("transaction expired at {expiry} (block time {now})")]
    Expired {
        /// The expiry, unix seconds.
        expiry: u64,
        /// The block time, unix seconds.
        now: u64,
    },
    /// No such asset.
    #[error("unknown asset {asset}")]
    UnknownAsset {
        /// The asset id.
        asset: Address,
    },
    /// Only the asset's issuer may mint or burn it.
    #[error("{caller} is not the issuer of asset {asset}")]
    NotIssuer {
        /// The asset.
        asset: Address,
        /// Who tried.
        caller: Address,
    },
    /// Minting would exceed the asset's or the native token's cap.
    #[error("supply cap exceeded for asset {asset}")]
    SupplyCapExceeded {
        /// The asset.
        asset: Address,
    },
    /// The amount is zero or too large, or the call is otherwise nonsensical.
    #[error("invalid call: {reason}")]
    InvalidCall {
        /// What is wrong.
        reason: String,
    },
    /// The EIP-3009 authorization signature is not from `from` (or `authorizer`).
    #[error("authorization signature invalid: {reason}")]
    BadAuthorization {
        /// What is wrong.
        reason: String,
    },
    /// The EIP-3009 authorization nonce was used or canceled.
    #[error("authorization {nonce} of {authorizer} was already used or canceled")]
    AuthorizationUsed {
        /// The authorizer.
        authorizer: Address,
        /// The authorization nonce.
        nonce: B256,
    },
    /// `validAfter` has not passed yet.
    #[error("authorization is not yet valid (validAfter {valid_after}, block time {now})")]
    AuthorizationNotYetValid {
        /// validAfter, unix seconds.
        valid_after: u64,
        /// The block time.
        now: u64,
    },
    /// `validBefore` has passed.
    #[error("authorization expired (validBefore {valid_before}, block time {now})")]
    AuthorizationExpired {
        /// validBefore, unix seconds.
        valid_before: u64,
        /// The block time.
        now: u64,
    },
    /// A swap would move the pool price past the caller's limit.
    #[error("price limit {limit} would be crossed (price after the swap: {price})")]
    PriceLimit {
        /// The limit, native base units per whole alpha.
        limit: String,
        /// The price the swap would leave.
        price: String,
    },
    /// No such subnet.
    #[error("unknown subnet {netuid}")]
    UnknownSubnet {
        /// The subnet id.
        netuid: u16,
    },
    /// The sender holds less alpha behind `hotkey` than it tries to unstake.
    #[error(
        "insufficient stake on subnet {netuid} behind {hotkey}: need {need} alpha, have {have}"
    )]
    InsufficientStake {
        /// The subnet id.
        netuid: u16,
        /// The neuron the stake backs.
        hotkey: Address,
        /// Alpha asked for, base units.
        need: String,
        /// Alpha held, base units.
        have: String,
    },
    /// The account has no uid on the subnet.
    #[error("{account} is not registered on subnet {netuid}")]
    NotRegistered {
        /// The subnet id.
        netuid: u16,
        /// The account.
        account: Address,
    },
    /// The account already has a uid on the subnet.
    #[error("{account} is already registered on subnet {netuid}")]
    AlreadyRegistered {
        /// The subnet id.
        netuid: u16,
        /// The account.
        account: Address,
    },
    /// The weights break a `set_weights` rule.
    #[error("invalid weights: {reason}")]
    InvalidWeights {
        /// Which rule.
        reason: String,
    },
    /// Too soon after the previous call of the same kind.
    #[error("rate limited: {reason}")]
    RateLimited {
        /// Details.
        reason: String,
    },
    /// No such agent.
    #[error("unknown agent {agent_id}")]
    UnknownAgent {
        /// The agent id.
        agent_id: u64,
    },
    /// Only the agent's owner may do this.
    #[error("{caller} is not the owner of agent {agent_id}")]
    NotAgentOwner {
        /// The agent id.
        agent_id: u64,
        /// Who tried.
        caller: Address,
    },
    /// The agent's owner tried to give it feedback.
    #[error("self-feedback not allowed: {caller} owns agent {agent_id}")]
    SelfFeedback {
        /// The agent id.
        agent_id: u64,
        /// The owner.
        caller: Address,
    },
    /// No such feedback.
    #[error("agent {agent_id} has no feedback {index} from {client}")]
    UnknownFeedback {
        /// The agent id.
        agent_id: u64,
        /// The client.
        client: Address,
        /// The index asked for (from 1).
        index: u64,
    },
    /// The feedback's payment proof is missing or does not hold.
    #[error("payment proof: {reason}")]
    PaymentProof {
        /// What is wrong.
        reason: String,
    },
    /// No such validation request.
    #[error("unknown validation request {request_hash}")]
    UnknownValidation {
        /// The request hash.
        request_hash: B256,
    },
    /// Only the validator a request names may respond to it.
    #[error("{caller} is not the validator of request {request_hash}")]
    NotValidator {
        /// The request hash.
        request_hash: B256,
        /// Who tried.
        caller: Address,
    },
}

/// A call refused for `reason` ([`Reject::InvalidCall`]).
pub(crate) fn invalid(reason: impl Into<String>) -> Reject {
    Reject::InvalidCall {
        reason: reason.into(),
    }
}

impl Reject {
    /// The stable machine-readable code, e.g. `insufficient_funds`.
    pub fn code(&self) -> &'static str {
        match self {
            Reject::BadSignature { .. } => "bad_signature",
            Reject::SignerMismatch { .. } => "signer_mismatch",
            Reject::WrongChainId { .. } => "wrong_chain_id",
            Reject::NonceStale { .. } => "nonce_stale",
            Reject::NonceFuture { .. } => "nonce_future",
            Reject::NoncePending { .. } => "nonce_pending",
            Reject::Duplicate { .. } => "duplicate",
            Reject::FeeTooLow { .. } => "fee_too_low",
            Reject::BlockVerificationsFull { .. } => "block_verifications_full",
            Reject::InsufficientFunds { .. } => "insufficient_funds",
            Reject::Expired { .. } => "expired",
            Reject::UnknownAsset { .. } => "unknown_asset",
            Reject::NotIssuer { .. } => "not_issuer",
            Reject::SupplyCapExceeded { .. } => "supply_cap_exceeded",
            Reject::InvalidCall { .. } => "invalid_call",
            Reject::BadAuthorization { .. } => "bad_authorization",
            Reject::AuthorizationUsed { .. } => "authorization_used",
            Reject::AuthorizationNotYetValid { .. } => "authorization_not_yet_valid",
            Reject::AuthorizationExpired { .. } => "authorization_expired",
            Reject::PriceLimit { .. } => "price_limit",
            Reject::UnknownSubnet { .. } => "unknown_subnet",
            Reject::InsufficientStake { .. } => "insufficient_stake",
            Reject::NotRegistered { .. } => "not_registered",
            Reject::AlreadyRegistered { .. } => "already_registered",
            Reject::InvalidWeights { .. } => "invalid_weights",
            Reject::RateLimited { .. } => "rate_limited",
            Reject::UnknownAgent { .. } => "unknown_agent",
            Reject::NotAgentOwner { .. } => "not_agent_owner",
            Reject::SelfFeedback { .. } => "self_feedback",
            Reject::UnknownFeedback { .. } => "unknown_feedback",
            Reject::PaymentProof { .. } => "payment_proof",
            Reject::UnknownValidation { .. } => "unknown_validation",
            Reject::NotValidator { .. } => "not_validator",
        }
    }
}
