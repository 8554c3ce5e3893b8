//! Transactions: one EIP-712 struct per call kind under the domain
//! `{name: "Symbiont", version: "1", chainId}`, signed with secp256k1 (65-byte r‖s‖v).
//!
//! A transaction's hash is its EIP-712 signing hash, so a wallet knows it before signing and
//! the same call, nonce and fee can never be two different transactions.

use std::fmt;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{
    Amount,
    agents::{
        self, AgentId, FeedbackCall, MetadataEntry,
        typed::{Envelope, signing_hash as agent_signing_hash},
    },
    asset::AssetId,
    compute::{self, ComputeCall},
    eip3009::{self, Authorization, Cancellation},
    error::Reject,
    infer::{self, InferCall},
    util::{amount_str, u64_str},
};

/// The EIP-712 structs signed for each call kind (primary types as a wallet displays them).
pub mod typed {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        struct Transfer {
            address from;
            address to;
            address asset;
            uint256 amount;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct Mint {
            address from;
            address asset;
            address to;
            uint256 amount;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct Burn {
            address from;
            address asset;
            uint256 amount;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct SubmitTransferWithAuthorization {
            address from;
            address asset;
            address authFrom;
            address to;
            uint256 value;
            uint256 validAfter;
            uint256 validBefore;
            bytes32 authNonce;
            bytes authSignature;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct CreateSubnet {
            address from;
            uint256 maxLockCost;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct RegisterNeuron {
            address from;
            uint16 netuid;
            uint256 maxBurn;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct AddStake {
            address from;
            uint16 netuid;
            address hotkey;
            uint256 amount;
            uint256 limitPrice;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct RemoveStake {
            address from;
            uint16 netuid;
            address hotkey;
            uint256 alpha;
            uint256 limitPrice;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct SetWeights {
            address from;
            uint16 netuid;
            uint16[] uids;
            uint16[] values;
            uint64 versionKey;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct ServeEndpoint {
            address from;
            uint16 netuid;
            string url;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct SetHyperparameter {
            address from;
            uint16 netuid;
            string name;
            uint64 value;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct CommitWeights {
            address from;
            uint16 netuid;
            bytes32 commitHash;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct RevealWeights {
            address from;
            uint16 netuid;
            uint16[] uids;
            uint16[] values;
            bytes32 salt;
            uint64 versionKey;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
        struct SubmitCancelAuthorization {
            address from;
            address asset;
            address authorizer;
            bytes32 authNonce;
            bytes authSignature;
            uint64 nonce;
            uint64 fee;
            uint64 expiry;
        }
    }
}

/// The ledger's EIP-712 domain: `{name: "Symbiont", version: "1", chainId}`.
pub fn domain(chain_id: u64) -> Eip712Domain {
    Eip712Domain::new(
        Some("Symbiont".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        None,
        None,
    )
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Call {
    /// Move `amount` of `asset` (the zero address for the native token) to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Asset id; [`crate::NATIVE`] for the native token.
        asset: AssetId,
        /// Amount in base units.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// The issuer creates `amount` of `asset` for `to`.
    Mint {
        /// Asset id.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Amount in base units.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// The issuer destroys `amount` of `asset` from its own balance.
    Burn {
        /// Asset id.
        asset: AssetId,
        /// Amount in base units.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// Relays an EIP-3009 `transferWithAuthorization` signed by `authorization.from`.
    TransferWithAuthorization(Authorization),
    /// Relays an EIP-3009 `cancelAuthorization` signed by `cancellation.authorizer`.
    CancelAuthorization(Cancellation),
    /// Creates a subnet owned by the sender, locking the current lock cost into its pool.
    #[serde(rename_all = "camelCase")]
    CreateSubnet {
        /// The most the sender accepts to lock, native base units.
        #[serde(with = "amount_str")]
        max_lock_cost: Amount,
    },
    /// Registers the sender as a neuron of `netuid` by burn.
    #[serde(rename_all = "camelCase")]
    RegisterNeuron {
        /// The subnet.
        netuid: u16,
        /// The most the sender accepts to burn, native base units.
        #[serde(with = "amount_str")]
        max_burn: Amount,
    },
    /// Swaps `amount` native base units into alpha stake on `netuid`, held by the sender
    /// behind `hotkey` (the sender itself, or a neuron it nominates).
    #[serde(rename_all = "camelCase")]
    AddStake {
        /// The subnet.
        netuid: u16,
        /// The neuron's account the stake backs.
        hotkey: Address,
        /// Native base units in, fee included.
        #[serde(with = "amount_str")]
        amount: Amount,
        /// The highest pool price accepted after the swap (native base units per whole
        /// alpha); 0 for none.
        #[serde(with = "amount_str", default)]
        limit_price: Amount,
    },
    /// Swaps `alpha` of the sender's stake behind `hotkey` on `netuid` back into native tokens.
    #[serde(rename_all = "camelCase")]
    RemoveStake {
        /// The subnet.
        netuid: u16,
        /// The neuron's account the stake backs.
        hotkey: Address,
        /// Alpha base units in, fee included.
        #[serde(with = "amount_str")]
        alpha: Amount,
        /// The lowest pool price accepted after the swap; 0 for none.
        #[serde(with = "amount_str", default)]
        limit_price: Amount,
    },
    /// Stores the sender's weights on `netuid`.
    #[serde(rename_all = "camelCase")]
    SetWeights {
        /// The subnet.
        netuid: u16,
        /// Target uids.
        uids: Vec<u16>,
        /// Weights, any scale (stored max-upscaled to 65 535).
        values: Vec<u16>,
        /// The validator's weights version key.
        #[serde(default)]
        version_key: u64,
    },
    /// Commits to weights on `netuid` (commit-reveal): the hash of
    /// [`crate::subnet::reveal::commit_hash`].
    #[serde(rename_all = "camelCase")]
    CommitWeights {
        /// The subnet.
        netuid: u16,
        /// The commitment.
        commit_hash: B256,
    },
    /// Reveals weights committed in the previous epoch.
    #[serde(rename_all = "camelCase")]
    RevealWeights {
        /// The subnet.
        netuid: u16,
        /// Target uids.
        uids: Vec<u16>,
        /// Weights.
        values: Vec<u16>,
        /// The salt of the commitment.
        salt: B256,
        /// The weights version key.
        #[serde(default)]
        version_key: u64,
    },
    /// Advertises the sender's endpoint on `netuid` (subtensor's `serve_axon`): the base URL
    /// where its neuron serves (`http://` or `https://`, at most 256 bytes; empty clears it).
    #[serde(rename_all = "camelCase")]
    ServeEndpoint {
        /// The subnet.
        netuid: u16,
        /// The base URL.
        url: String,
    },
    /// The owner of `netuid` sets one hyperparameter (names as in the REST API, e.g. `tempo`).
    #[serde(rename_all = "camelCase")]
    SetHyperparameter {
        /// The subnet.
        netuid: u16,
        /// The hyperparameter's camelCase name.
        name: String,
        /// Its new value (booleans are 0 or 1).
        value: u64,
    },
    /// Registers an agent owned by the sender (ERC-8004 `register`); its wallet is the sender.
    #[serde(rename_all = "camelCase")]
    RegisterAgent {
        /// Where its registration file is (`agentURI`; may be empty).
        uri: String,
        /// Initial metadata (not the reserved `agentWallet`).
        #[serde(default)]
        metadata: Vec<MetadataEntry>,
    },
    /// The owner points the agent at a new registration file (`setAgentURI`).
    #[serde(rename_all = "camelCase")]
    SetAgentUri {
        /// The agent.
        agent_id: AgentId,
        /// The new `agentURI`.
        uri: String,
    },
    /// The owner sets one metadata entry (`setMetadata`; not `agentWallet`).
    #[serde(rename_all = "camelCase")]
    SetAgentMetadata {
        /// The agent.
        agent_id: AgentId,
        /// The key.
        key: String,
        /// The value (hex in JSON; empty removes the entry).
        value: Bytes,
    },
    /// The owner sets the agent's wallet, proven by the wallet's EIP-712 signature of
    /// [`agents::wallet_proof_hash`] (`setAgentWallet`).
    #[serde(rename_all = "camelCase")]
    SetAgentWallet {
        /// The agent.
        agent_id: AgentId,
        /// The new wallet.
        wallet: Address,
        /// Unix seconds the proof is valid until (at most 5 minutes after the block time).
        deadline: u64,
        /// The wallet's signature.
        signature: Signature,
    },
    /// The owner clears the agent's wallet (`unsetAgentWallet`).
    #[serde(rename_all = "camelCase")]
    UnsetAgentWallet {
        /// The agent.
        agent_id: AgentId,
    },
    /// The owner transfers the agent to `to`; the wallet is cleared.
    #[serde(rename_all = "camelCase")]
    TransferAgent {
        /// The agent.
        agent_id: AgentId,
        /// The new owner.
        to: Address,
    },
    /// Feedback on an agent (`giveFeedback`); refused from its owner.
    GiveFeedback(FeedbackCall),
    /// The giver revokes one of its feedbacks (`revokeFeedback`).
    #[serde(rename_all = "camelCase")]
    RevokeFeedback {
        /// The agent.
        agent_id: AgentId,
        /// The feedback's index, from 1.
        index: u64,
    },
    /// Anyone responds to a feedback (`appendResponse`).
    #[serde(rename_all = "camelCase")]
    AppendResponse {
        /// The agent.
        agent_id: AgentId,
        /// Who gave the feedback.
        client: Address,
        /// The feedback's index, from 1.
        index: u64,
        /// Where the response is (non-empty).
        uri: String,
        /// Its hash (zero for none).
        #[serde(default)]
        hash: B256,
    },
    /// The owner asks `validator` to validate the agent's work (`validationRequest`).
    #[serde(rename_all = "camelCase")]
    ValidationRequest {
        /// The validator, the only one that may respond.
        validator: Address,
        /// The agent.
        agent_id: AgentId,
        /// Where the inputs are.
        #[serde(default)]
        uri: String,
        /// keccak256 of the request payload; its identifier.
        request_hash: B256,
    },
    /// A compute-market call ([`crate::compute`]).
    Compute(ComputeCall),
    /// A verifiable-inference call ([`crate::infer`]).
    Infer(InferCall),
    /// The named validator answers a request, 0..=100 (`validationResponse`; repeatable).
    #[serde(rename_all = "camelCase")]
    ValidationResponse {
        /// The request.
        request_hash: B256,
        /// 0..=100.
        response: u8,
        /// Where the evidence is.
        #[serde(default)]
        uri: String,
        /// Its hash.
        #[serde(default)]
        hash: B256,
        /// A tag such as `soft-finality`.
        #[serde(default)]
        tag: String,
    },
}

impl Call {
    /// Whether the state transition verifies a TEE quote or a ZK proof for it
    /// ([`InferCall::verifies`]): it pays a higher fee and counts against the block's budget.
    pub fn verifies(&self) -> bool {
        matches!(self, Call::Infer(c) if c.verifies())
    }

    /// Whether this is an identity, reputation or validation registry call.
    pub fn is_registry(&self) -> bool {
        matches!(
            self,
            Call::RegisterAgent { .. }
                | Call::SetAgentUri { .. }
                | Call::SetAgentMetadata { .. }
                | Call::SetAgentWallet { .. }
                | Call::UnsetAgentWallet { .. }
                | Call::TransferAgent { .. }
                | Call::GiveFeedback(_)
                | Call::RevokeFeedback { .. }
                | Call::AppendResponse { .. }
                | Call::ValidationRequest { .. }
                | Call::ValidationResponse { .. }
        )
    }
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tx {
    /// The signer, who pays the fee and whose nonce is used.
    pub from: Address,
    /// The sender's next nonce.
    pub nonce: u64,
    /// The fee in native base units; burned.
    #[serde(with = "u64_str")]
    pub fee: u64,
    /// Unix seconds after which the transaction is void; 0 for none.
    #[serde(default)]
    pub expiry: u64,
    /// What it does.
    pub call: Call,
}

impl Tx {
    /// The EIP-712 signing hash under `domain(chain_id)`; also the transaction's hash.
    pub fn signing_hash(&self, chain_id: u64) -> B256 {
        let d = domain(chain_id);
        let (from, nonce, fee, expiry) = (self.from, self.nonce, self.fee, self.expiry);
        let envelope = Envelope {
            from,
            nonce,
            fee,
            expiry,
        };
        if let Some(h) = agent_signing_hash(&self.call, &envelope, &d) {
            return h;
        }
        if let Call::Compute(c) = &self.call {
            return compute::typed::signing_hash(c, &envelope, &d);
        }
        if let Call::Infer(c) = &self.call {
            return infer::typed::signing_hash(c, &envelope, &d);
        }
        match &self.call {
            Call::Transfer { to, asset, amount } => typed::Transfer {
                from,
                to: *to,
                asset: *asset,
                amount: U256::from(*amount),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::Mint { asset, to, amount } => typed::Mint {
                from,
                asset: *asset,
                to: *to,
                amount: U256::from(*amount),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::Burn { asset, amount } => typed::Burn {
                from,
                asset: *asset,
                amount: U256::from(*amount),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::TransferWithAuthorization(a) => typed::SubmitTransferWithAuthorization {
                from,
                asset: a.asset,
                authFrom: a.from,
                to: a.to,
                value: U256::from(a.value),
                validAfter: U256::from(a.valid_after),
                validBefore: U256::from(a.valid_before),
                authNonce: a.nonce,
                authSignature: Bytes::copy_from_slice(&a.signature.0),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::CreateSubnet { max_lock_cost } => typed::CreateSubnet {
                from,
                maxLockCost: U256::from(*max_lock_cost),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::RegisterNeuron { netuid, max_burn } => typed::RegisterNeuron {
                from,
                netuid: *netuid,
                maxBurn: U256::from(*max_burn),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::AddStake {
                netuid,
                hotkey,
                amount,
                limit_price,
            } => typed::AddStake {
                from,
                netuid: *netuid,
                hotkey: *hotkey,
                amount: U256::from(*amount),
                limitPrice: U256::from(*limit_price),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::RemoveStake {
                netuid,
                hotkey,
                alpha,
                limit_price,
            } => typed::RemoveStake {
                from,
                netuid: *netuid,
                hotkey: *hotkey,
                alpha: U256::from(*alpha),
                limitPrice: U256::from(*limit_price),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::SetWeights {
                netuid,
                uids,
                values,
                version_key,
            } => typed::SetWeights {
                from,
                netuid: *netuid,
                uids: uids.clone(),
                values: values.clone(),
                versionKey: *version_key,
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::ServeEndpoint { netuid, url } => typed::ServeEndpoint {
                from,
                netuid: *netuid,
                url: url.clone(),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::SetHyperparameter {
                netuid,
                name,
                value,
            } => typed::SetHyperparameter {
                from,
                netuid: *netuid,
                name: name.clone(),
                value: *value,
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::CommitWeights {
                netuid,
                commit_hash,
            } => typed::CommitWeights {
                from,
                netuid: *netuid,
                commitHash: *commit_hash,
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::RevealWeights {
                netuid,
                uids,
                values,
                salt,
                version_key,
            } => typed::RevealWeights {
                from,
                netuid: *netuid,
                uids: uids.clone(),
                values: values.clone(),
                salt: *salt,
                versionKey: *version_key,
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            Call::CancelAuthorization(c) => typed::SubmitCancelAuthorization {
                from,
                asset: c.asset,
                authorizer: c.authorizer,
                authNonce: c.nonce,
                authSignature: Bytes::copy_from_slice(&c.signature.0),
                nonce,
                fee,
                expiry,
            }
            .eip712_signing_hash(&d),
            // Hashed above by `agents::typed`.
            Call::RegisterAgent { .. }
            | Call::SetAgentUri { .. }
            | Call::SetAgentMetadata { .. }
            | Call::SetAgentWallet { .. }
            | Call::UnsetAgentWallet { .. }
            | Call::TransferAgent { .. }
            | Call::GiveFeedback(_)
            | Call::RevokeFeedback { .. }
            | Call::AppendResponse { .. }
            | Call::ValidationRequest { .. }
            | Call::ValidationResponse { .. }
            | Call::Compute(_)
            | Call::Infer(_) => B256::ZERO,
        }
    }

    /// Signs with `sign`, a function from a 32-byte hash to a 65-byte signature (a wallet).
    pub fn sign_with<E>(
        self,
        chain_id: u64,
        sign: impl FnOnce(&B256) -> Result<[u8; 65], E>,
    ) -> Result<SignedTx, E> {
        let signature = Signature(sign(&self.signing_hash(chain_id))?);
        Ok(SignedTx {
            chain_id,
            tx: self,
            signature,
        })
    }
}

/// A transaction with its chain id and signature, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedTx {
    /// The chain id of the domain it was signed under.
    pub chain_id: u64,
    /// The transaction.
    pub tx: Tx,
    /// r‖s‖v over [`Tx::signing_hash`].
    pub signature: Signature,
}

/// A transaction whose signatures were checked, with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    /// The transaction.
    pub signed: SignedTx,
    /// Its hash (the EIP-712 signing hash).
    pub hash: B256,
}

impl VerifiedTx {
    /// The sender, proven by the signature.
    pub fn sender(&self) -> Address {
        self.signed.tx.from
    }
}

/// Looks up an issued asset's EIP-712 domain fields (name, version) for EIP-3009 checks.
pub trait AssetDomains {
    /// `(name, version)` of `asset`, if it exists.
    fn asset_domain(&self, asset: &AssetId) -> Option<(&str, &str)>;
}

impl SignedTx {
    /// Checks the chain id, the signature (low s, recovering to `from`) and, for EIP-3009
    /// calls, the authorization's signature under the asset's own domain.
    pub fn verify(self, chain_id: u64, assets: &dyn AssetDomains) -> Result<VerifiedTx, Reject> {
        if self.chain_id != chain_id {
            return Err(Reject::WrongChainId {
                expected: chain_id,
                got: self.chain_id,
            });
        }
        let hash = self.tx.signing_hash(chain_id);
        let recovered = recover(&hash, &self.signature)?;
        if recovered != self.tx.from {
            return Err(Reject::SignerMismatch { recovered });
        }
        match &self.tx.call {
            Call::TransferWithAuthorization(a) => {
                let (name, version) = assets
                    .asset_domain(&a.asset)
                    .ok_or(Reject::UnknownAsset { asset: a.asset })?;
                let h = a.signing_hash(&eip3009::domain(name, version, chain_id, a.asset));
                check_authorizer(&h, &a.signature, a.from)?;
            }
            Call::CancelAuthorization(c) => {
                let (name, version) = assets
                    .asset_domain(&c.asset)
                    .ok_or(Reject::UnknownAsset { asset: c.asset })?;
                let h = c.signing_hash(&eip3009::domain(name, version, chain_id, c.asset));
                check_authorizer(&h, &c.signature, c.authorizer)?;
            }
            Call::SetAgentWallet {
                agent_id,
                wallet,
                deadline,
                signature,
            } => {
                let h = agents::wallet_proof_hash(
                    chain_id,
                    *agent_id,
                    *wallet,
                    self.tx.from,
                    *deadline,
                );
                check_authorizer(&h, signature, *wallet)?;
            }
            Call::GiveFeedback(FeedbackCall {
                payment: Some(p), ..
            }) if p.asset == crate::NATIVE => {
                return Err(Reject::InvalidCall {
                    reason: "payment proof: the native token has no EIP-3009 authorizations".into(),
                });
            }
            Call::Compute(c) => compute::typed::check_encoding(c)?,
            Call::Infer(c) => infer::typed::check_encoding(c)?,
            Call::Transfer { .. }
            | Call::Mint { .. }
            | Call::Burn { .. }
            | Call::CreateSubnet { .. }
            | Call::RegisterNeuron { .. }
            | Call::AddStake { .. }
            | Call::RemoveStake { .. }
            | Call::SetWeights { .. }
            | Call::SetHyperparameter { .. }
            | Call::ServeEndpoint { .. }
            | Call::CommitWeights { .. }
            | Call::RevealWeights { .. }
            | Call::RegisterAgent { .. }
            | Call::SetAgentUri { .. }
            | Call::SetAgentMetadata { .. }
            | Call::UnsetAgentWallet { .. }
            | Call::TransferAgent { .. }
            | Call::GiveFeedback(_)
            | Call::RevokeFeedback { .. }
            | Call::AppendResponse { .. }
            | Call::ValidationRequest { .. }
            | Call::ValidationResponse { .. } => {}
        }
        Ok(VerifiedTx { signed: self, hash })
    }
}

fn check_authorizer(hash: &B256, sig: &Signature, expected: Address) -> Result<(), Reject> {
    match recover(hash, sig) {
        Ok(a) if a == expected => Ok(()),
        Ok(a) => Err(Reject::BadAuthorization {
            reason: format!("signed by {a}, not by {expected}"),
        }),
        Err(e) => Err(Reject::BadAuthorization {
            reason: e.to_string(),
        }),
    }
}

/// A 65-byte secp256k1 signature r‖s‖v (v ∈ {27, 28}; 0 and 1 are accepted too).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 65]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex_encode(&self.0))
    }
}

fn hex_encode(b: &[u8]) -> String {
    alloy_primitives::hex::encode(b)
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(&format_args!("0x{}", hex_encode(&self.0)))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = if d.is_human_readable() {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            alloy_primitives::hex::decode(s.as_ref())
                .map_err(|e| D::Error::custom(format!("signature is not hex: {e}")))?
        } else {
            <Vec<u8>>::deserialize(d)?
        };
        let arr: [u8; 65] = bytes.try_into().map_err(|b: Vec<u8>| {
            D::Error::custom(format!("signature must be 65 bytes, got {}", b.len()))
        })?;
        Ok(Signature(arr))
    }
}

/// Half the secp256k1 group order, big-endian: the largest `s` a canonical signature has.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Recovers the address that made `sig` over `hash`, refusing high-s signatures.
///
/// Uses libsecp256k1 (Bitcoin Core's library): on this project's reference machine it
/// recovers about 5× faster than the pure-Rust `k256`, and recovery bounds the ledger's
/// admission rate.
pub fn recover(hash: &B256, sig: &Signature) -> Result<Address, Reject> {
    let bad = |reason: &str| Reject::BadSignature {
        reason: reason.to_owned(),
    };
    let v = match sig.0[64] {
        27 | 28 => sig.0[64] - 27,
        0 | 1 => sig.0[64],
        _ => return Err(bad("v must be 27 or 28")),
    };
    // Big-endian byte order makes the lexicographic comparison numeric.
    if sig.0[32..64] > HALF_ORDER[..] {
        return Err(bad("high s (malleable signature)"));
    }
    let recid = RecoveryId::try_from(i32::from(v)).map_err(|_| bad("invalid recovery id"))?;
    let rs = RecoverableSignature::from_compact(&sig.0[..64], recid)
        .map_err(|_| bad("r or s out of range"))?;
    let key = SECP256K1
        .recover_ecdsa(Message::from_digest(hash.0), &rs)
        .map_err(|_| bad("public key recovery failed"))?;
    Ok(address_of(&key))
}

/// The Ethereum address of a public key: the last 20 bytes of keccak256 of its uncompressed
/// encoding without the 0x04 prefix.
pub fn address_of(key: &secp256k1::PublicKey) -> Address {
    let point = key.serialize_uncompressed();
    Address::from_slice(&keccak256(&point[1..])[12..])
}
