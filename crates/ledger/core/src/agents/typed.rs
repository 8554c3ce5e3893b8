//! The EIP-712 structs of the registry calls (primary types as a wallet displays them), and
//! the agent-wallet proof of the reference identity registry.
//!
//! A feedback without a payment proof signs `paymentAsset = 0` and `paymentNonce = 0`; a
//! proof in the native token (asset 0) is refused by [`crate::tx::SignedTx::verify`], so the
//! encoding is one-to-one.
#![allow(missing_docs)]

use alloy_primitives::{B256, Bytes, U256};
use alloy_sol_types::{Eip712Domain, SolStruct};

use crate::tx::Call;

alloy_sol_types::sol! {
    struct AgentWalletSet {
        uint256 agentId;
        address newWallet;
        address owner;
        uint256 deadline;
    }
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }
    struct RegisterAgent {
        address from;
        string agentURI;
        MetadataEntry[] metadata;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct SetAgentUri {
        address from;
        uint256 agentId;
        string newURI;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct SetAgentMetadata {
        address from;
        uint256 agentId;
        string metadataKey;
        bytes metadataValue;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct SetAgentWallet {
        address from;
        uint256 agentId;
        address newWallet;
        uint256 deadline;
        bytes signature;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct UnsetAgentWallet {
        address from;
        uint256 agentId;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct TransferAgent {
        address from;
        uint256 agentId;
        address to;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct GiveFeedback {
        address from;
        uint256 agentId;
        int128 value;
        uint8 valueDecimals;
        string tag1;
        string tag2;
        string endpoint;
        string feedbackURI;
        bytes32 feedbackHash;
        address paymentAsset;
        bytes32 paymentNonce;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct RevokeFeedback {
        address from;
        uint256 agentId;
        uint64 feedbackIndex;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct AppendResponse {
        address from;
        uint256 agentId;
        address clientAddress;
        uint64 feedbackIndex;
        string responseURI;
        bytes32 responseHash;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct ValidationRequest {
        address from;
        address validatorAddress;
        uint256 agentId;
        string requestURI;
        bytes32 requestHash;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct ValidationResponse {
        address from;
        bytes32 requestHash;
        uint8 response;
        string responseURI;
        bytes32 responseHash;
        string tag;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
}

/// The sender, nonce, fee and expiry every transaction struct ends with.
pub(crate) struct Envelope {
    pub(crate) from: alloy_primitives::Address,
    pub(crate) nonce: u64,
    pub(crate) fee: u64,
    pub(crate) expiry: u64,
}

/// The EIP-712 signing hash of a registry call; `None` for the other calls.
pub(crate) fn signing_hash(call: &Call, e: &Envelope, d: &Eip712Domain) -> Option<B256> {
    let Envelope {
        from,
        nonce,
        fee,
        expiry,
    } = *e;
    let id = |a: &u64| U256::from(*a);
    let h = match call {
        Call::RegisterAgent { uri, metadata } => RegisterAgent {
            from,
            agentURI: uri.clone(),
            metadata: metadata
                .iter()
                .map(|m| MetadataEntry {
                    metadataKey: m.key.clone(),
                    metadataValue: m.value.clone(),
                })
                .collect(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::SetAgentUri { agent_id, uri } => SetAgentUri {
            from,
            agentId: id(agent_id),
            newURI: uri.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::SetAgentMetadata {
            agent_id,
            key,
            value,
        } => SetAgentMetadata {
            from,
            agentId: id(agent_id),
            metadataKey: key.clone(),
            metadataValue: value.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::SetAgentWallet {
            agent_id,
            wallet,
            deadline,
            signature,
        } => SetAgentWallet {
            from,
            agentId: id(agent_id),
            newWallet: *wallet,
            deadline: U256::from(*deadline),
            signature: Bytes::copy_from_slice(&signature.0),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::UnsetAgentWallet { agent_id } => UnsetAgentWallet {
            from,
            agentId: id(agent_id),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::TransferAgent { agent_id, to } => TransferAgent {
            from,
            agentId: id(agent_id),
            to: *to,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::GiveFeedback(f) => GiveFeedback {
            from,
            agentId: id(&f.agent_id),
            value: f.value,
            valueDecimals: f.value_decimals,
            tag1: f.tag1.clone(),
            tag2: f.tag2.clone(),
            endpoint: f.endpoint.clone(),
            feedbackURI: f.feedback_uri.clone(),
            feedbackHash: f.feedback_hash,
            paymentAsset: f.payment.map_or(Default::default(), |p| p.asset),
            paymentNonce: f.payment.map_or(B256::ZERO, |p| p.nonce),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::RevokeFeedback { agent_id, index } => RevokeFeedback {
            from,
            agentId: id(agent_id),
            feedbackIndex: *index,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::AppendResponse {
            agent_id,
            client,
            index,
            uri,
            hash,
        } => AppendResponse {
            from,
            agentId: id(agent_id),
            clientAddress: *client,
            feedbackIndex: *index,
            responseURI: uri.clone(),
            responseHash: *hash,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::ValidationRequest {
            validator,
            agent_id,
            uri,
            request_hash,
        } => ValidationRequest {
            from,
            validatorAddress: *validator,
            agentId: id(agent_id),
            requestURI: uri.clone(),
            requestHash: *request_hash,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        Call::ValidationResponse {
            request_hash,
            response,
            uri,
            hash,
            tag,
        } => ValidationResponse {
            from,
            requestHash: *request_hash,
            response: *response,
            responseURI: uri.clone(),
            responseHash: *hash,
            tag: tag.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        _ => return None,
    };
    Some(h)
}
