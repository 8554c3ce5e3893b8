//! Receipts and the events they carry.

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use alloy_primitives::Bytes;

use crate::{
    Amount,
    asset::AssetId,
    compute::{CloseReason, OrderState, opt_amount_str},
    error::Reject,
    infer::Mode,
    util::{amount_str, i128_str},
};

/// The outcome of a transaction included in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The transaction's hash.
    pub tx_hash: B256,
    /// Success, or why the call failed (the fee is burned and the nonce used either way).
    pub status: Status,
    /// The fee burned, native base units.
    pub fee_burned: u64,
    /// What happened, in order.
    pub events: Vec<Event>,
}

impl Receipt {
    /// Canonical hash of the receipt (for the receipts root).
    pub fn hash(&self) -> B256 {
        match postcard::to_stdvec(self) {
            Ok(bytes) => keccak256(bytes),
            Err(_) => B256::ZERO,
        }
    }
}

/// Whether the call took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// The call took effect.
    Success,
    /// The call failed; only the fee and the nonce were consumed.
    Failed {
        /// Machine-readable code, as [`Reject::code`].
        code: String,
        /// Human-readable reason.
        message: String,
    },
}

impl Status {
    /// A failed status from a rejection.
    pub fn failed(r: &Reject) -> Self {
        Status::Failed {
            code: r.code().to_owned(),
            message: r.to_string(),
        }
    }

    /// Whether the call took effect.
    pub fn is_success(&self) -> bool {
        matches!(self, Status::Success)
    }
}

/// Something a transaction did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    /// Value moved.
    Transfer {
        /// Asset id.
        asset: AssetId,
        /// Payer.
        from: Address,
        /// Payee.
        to: Address,
        /// Amount.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// Supply created.
    Mint {
        /// Asset id.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Amount.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// Supply destroyed (also fees, as native burns).
    Burn {
        /// Asset id.
        asset: AssetId,
        /// Whose balance.
        from: Address,
        /// Amount.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// An EIP-3009 nonce was used (`AuthorizationUsed`).
    AuthorizationUsed {
        /// Asset id.
        asset: AssetId,
        /// The authorizer.
        authorizer: Address,
        /// The nonce.
        nonce: B256,
    },
    /// An EIP-3009 nonce was canceled (`AuthorizationCanceled`).
    AuthorizationCanceled {
        /// Asset id.
        asset: AssetId,
        /// The authorizer.
        authorizer: Address,
        /// The nonce.
        nonce: B256,
    },
    /// A subnet was created; its lock seeded the pool.
    SubnetCreated {
        /// The subnet.
        netuid: u16,
        /// Its owner.
        owner: Address,
        /// Native tokens locked into the pool.
        #[serde(with = "amount_str")]
        lock: Amount,
    },
    /// A neuron registered by burn.
    NeuronRegistered {
        /// The subnet.
        netuid: u16,
        /// Its uid.
        uid: u16,
        /// Its account.
        account: Address,
        /// Native tokens paid (swapped into the pool; the alpha bought is destroyed).
        #[serde(with = "amount_str")]
        burn: Amount,
        /// The account it replaced, if the subnet was full.
        replaced: Option<Address>,
    },
    /// Native tokens were swapped into alpha stake.
    StakeAdded {
        /// The subnet.
        netuid: u16,
        /// The staker.
        account: Address,
        /// The neuron's account the stake backs.
        hotkey: Address,
        /// Native tokens in (fee included).
        #[serde(with = "amount_str")]
        tao: Amount,
        /// Alpha received.
        #[serde(with = "amount_str")]
        alpha: Amount,
        /// Slippage against the spot price, parts per million.
        slippage_ppm: u64,
    },
    /// Alpha stake was swapped back into native tokens.
    StakeRemoved {
        /// The subnet.
        netuid: u16,
        /// The staker.
        account: Address,
        /// The neuron's account the stake backs.
        hotkey: Address,
        /// Alpha in (fee included).
        #[serde(with = "amount_str")]
        alpha: Amount,
        /// Native tokens received.
        #[serde(with = "amount_str")]
        tao: Amount,
        /// Slippage against the spot price, parts per million.
        slippage_ppm: u64,
    },
    /// A neuron advertised its endpoint.
    EndpointServed {
        /// The subnet.
        netuid: u16,
        /// The neuron's uid.
        uid: u16,
        /// Its base URL (empty: cleared).
        url: String,
    },
    /// The owner changed a hyperparameter.
    HyperparameterSet {
        /// The subnet.
        netuid: u16,
        /// Its name.
        name: String,
        /// The new value.
        value: u64,
    },
    /// A neuron stored new weights.
    WeightsSet {
        /// The subnet.
        netuid: u16,
        /// The neuron's uid.
        uid: u16,
    },
    /// An agent was registered (`Registered`).
    #[serde(rename_all = "camelCase")]
    AgentRegistered {
        /// Its id.
        agent_id: u64,
        /// Its owner.
        owner: Address,
        /// Its `agentURI`.
        uri: String,
    },
    /// An agent's URI changed (`URIUpdated`).
    #[serde(rename_all = "camelCase")]
    AgentUriSet {
        /// The agent.
        agent_id: u64,
        /// The new URI.
        uri: String,
    },
    /// An agent's metadata entry was set (`MetadataSet`; empty: removed).
    #[serde(rename_all = "camelCase")]
    AgentMetadataSet {
        /// The agent.
        agent_id: u64,
        /// The key.
        key: String,
        /// The value.
        value: Bytes,
    },
    /// An agent's wallet was set or cleared.
    #[serde(rename_all = "camelCase")]
    AgentWalletSet {
        /// The agent.
        agent_id: u64,
        /// The new wallet; none when cleared.
        wallet: Option<Address>,
    },
    /// An agent changed owner (`Transfer`).
    #[serde(rename_all = "camelCase")]
    AgentTransferred {
        /// The agent.
        agent_id: u64,
        /// The old owner.
        from: Address,
        /// The new owner.
        to: Address,
    },
    /// Feedback was given (`NewFeedback`).
    #[serde(rename_all = "camelCase")]
    FeedbackGiven {
        /// The agent.
        agent_id: u64,
        /// The giver.
        client: Address,
        /// Its index, from 1.
        index: u64,
        /// The value.
        #[serde(with = "i128_str")]
        value: i128,
        /// Its decimals.
        value_decimals: u8,
        /// First tag.
        tag1: String,
        /// Second tag.
        tag2: String,
    },
    /// Feedback was revoked (`FeedbackRevoked`).
    #[serde(rename_all = "camelCase")]
    FeedbackRevoked {
        /// The agent.
        agent_id: u64,
        /// The giver.
        client: Address,
        /// Its index.
        index: u64,
    },
    /// A response was appended to a feedback (`ResponseAppended`).
    #[serde(rename_all = "camelCase")]
    ResponseAppended {
        /// The agent.
        agent_id: u64,
        /// The feedback's giver.
        client: Address,
        /// Its index.
        index: u64,
        /// Who responded.
        responder: Address,
    },
    /// A validation was requested (`ValidationRequest`).
    #[serde(rename_all = "camelCase")]
    ValidationRequested {
        /// The request hash.
        request_hash: B256,
        /// The agent.
        agent_id: u64,
        /// The validator.
        validator: Address,
    },
    /// A validator responded (`ValidationResponse`).
    #[serde(rename_all = "camelCase")]
    ValidationResponded {
        /// The request hash.
        request_hash: B256,
        /// The agent.
        agent_id: u64,
        /// The validator.
        validator: Address,
        /// 0..=100.
        response: u8,
        /// Its tag.
        tag: String,
    },
    /// A provider registered or updated itself.
    #[serde(rename_all = "camelCase")]
    ProviderRegistered {
        /// The provider.
        provider: Address,
        /// Its gateway URI.
        uri: String,
    },
    /// An auditor signed (or withdrew) a provider's attributes.
    #[serde(rename_all = "camelCase")]
    AttributesSigned {
        /// The provider.
        provider: Address,
        /// The auditor.
        auditor: Address,
    },
    /// A tenant opened an order.
    #[serde(rename_all = "camelCase")]
    OrderCreated {
        /// The order.
        order: u64,
        /// Its tenant.
        tenant: Address,
        /// The last block bids are taken at.
        bid_deadline: u64,
        /// Whether bids are sealed.
        sealed: bool,
    },
    /// A provider bid; a sealed bid has no price.
    #[serde(rename_all = "camelCase")]
    BidPlaced {
        /// The order.
        order: u64,
        /// The provider.
        provider: Address,
        /// The bid's index.
        index: u8,
        /// Its price per block, if clear.
        #[serde(with = "opt_amount_str", default)]
        price: Option<Amount>,
    },
    /// A bid won: the lease started.
    #[serde(rename_all = "camelCase")]
    LeaseStarted {
        /// The lease (the order's id).
        lease: u64,
        /// The provider.
        provider: Address,
        /// Price per block.
        #[serde(with = "amount_str")]
        rate: Amount,
    },
    /// An order ended without a lease (canceled or lapsed); deposit and collateral refunded.
    #[serde(rename_all = "camelCase")]
    OrderClosed {
        /// The order.
        order: u64,
        /// How it ended.
        state: OrderState,
    },
    /// A lease was settled: `amount` paid to the provider, or burned.
    #[serde(rename_all = "camelCase")]
    LeaseSettled {
        /// The lease.
        lease: u64,
        /// Blocks paid for.
        blocks: u64,
        /// Amount drawn from the escrow.
        #[serde(with = "amount_str")]
        amount: Amount,
        /// Whether it was burned (a burn lease) rather than paid.
        burned: bool,
    },
    /// A lease closed; the balance went back to the tenant.
    #[serde(rename_all = "camelCase")]
    LeaseClosed {
        /// The lease.
        lease: u64,
        /// Why.
        reason: CloseReason,
        /// Refunded to the tenant.
        #[serde(with = "amount_str")]
        refunded: Amount,
    },
    /// The oracle set the price burn leases burn at.
    #[serde(rename_all = "camelCase")]
    OraclePriceSet {
        /// Native base units per USD.
        #[serde(with = "amount_str")]
        price: Amount,
    },
    /// An inference request was made; its payment is in escrow.
    #[serde(rename_all = "camelCase")]
    InferenceRequested {
        /// The request.
        request: u64,
        /// Who asked.
        requester: Address,
        /// Its verification mode.
        mode: Mode,
        /// The last block deliveries are taken at.
        deadline: u64,
    },
    /// A provider delivered a result.
    #[serde(rename_all = "camelCase")]
    ResultDelivered {
        /// The request.
        request: u64,
        /// The provider.
        provider: Address,
        /// keccak256 of the output.
        output_hash: B256,
    },
    /// `k` deliveries agreed: the result is accepted.
    #[serde(rename_all = "camelCase")]
    InferenceAccepted {
        /// The request.
        request: u64,
        /// keccak256 of the accepted output.
        output_hash: B256,
        /// The agreeing providers.
        providers: Vec<Address>,
    },
    /// An accepted request's payment was released.
    #[serde(rename_all = "camelCase")]
    InferencePaid {
        /// The request.
        request: u64,
        /// Paid to providers.
        #[serde(with = "amount_str")]
        paid: Amount,
        /// Refunded to the requester (shares of refuted deliveries).
        #[serde(with = "amount_str")]
        refunded: Amount,
    },
    /// A request's deadline passed without agreement: refunded.
    #[serde(rename_all = "camelCase")]
    InferenceExpired {
        /// The request.
        request: u64,
    },
    /// A request's callback paid out (to the payee, or back to the requester).
    #[serde(rename_all = "camelCase")]
    CallbackPaid {
        /// The request.
        request: u64,
        /// Who received it.
        to: Address,
        /// The amount.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// A validator re-executed a delivery.
    #[serde(rename_all = "camelCase")]
    Reexecuted {
        /// The request.
        request: u64,
        /// The provider.
        provider: Address,
        /// The validator.
        validator: Address,
        /// Whether the outputs agree.
        agreed: bool,
    },
    /// A provider's bond was slashed after a refuted delivery.
    #[serde(rename_all = "camelCase")]
    BondSlashed {
        /// The provider.
        provider: Address,
        /// Slashed in all.
        #[serde(with = "amount_str")]
        amount: Amount,
        /// Of which paid to the validator (the rest burned).
        #[serde(with = "amount_str")]
        to_validator: Amount,
    },
    /// A provider's bond changed.
    #[serde(rename_all = "camelCase")]
    BondChanged {
        /// The provider.
        provider: Address,
        /// The bond now.
        #[serde(with = "amount_str")]
        bond: Amount,
    },
    /// A provider bound its key to a verified TEE quote.
    #[serde(rename_all = "camelCase")]
    AttestationBound {
        /// The provider.
        provider: Address,
        /// The quote's TCB status.
        tcb_status: String,
    },
    /// A ZK model was registered.
    #[serde(rename_all = "camelCase")]
    ZkModelRegistered {
        /// Its id.
        model: B256,
        /// Its weight commitment.
        commitment: B256,
    },
}
