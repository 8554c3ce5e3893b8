//! The EIP-712 structs of the verifiable-inference calls (primary types as a wallet displays
//! them).
//!
//! A request's callback is flattened: `callbackKind` 0 (none), 1 (pay) or 2 (validate), with
//! the unused fields zero; [`check_encoding`] refuses a callback whose unused fields are not
//! zero-equivalent, so the encoding is one-to-one.
#![allow(missing_docs)]

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct};

use super::{Callback, InferCall, RequestTerms};
use crate::{agents::typed::Envelope, error::Reject};

alloy_sol_types::sol! {
    struct RequestInference {
        address from;
        bytes32 model;
        uint8 output;
        bytes input;
        bytes32 inputHash;
        string inputUri;
        address asset;
        uint256 payment;
        uint8 k;
        uint8 mode;
        uint64 window;
        uint16 netuid;
        uint256 minBond;
        uint64 challengeWindow;
        uint8 callbackKind;
        address callbackTo;
        address callbackAsset;
        uint256 callbackAmount;
        bytes32 callbackRequestHash;
        bytes32 callbackIfOutputHash;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct DeliverResult {
        address from;
        uint64 request;
        bytes output;
        bytes proof;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct Reexecute {
        address from;
        uint64 request;
        address provider;
        bytes output;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct PostBond {
        address from;
        uint256 amount;
        uint64 agentId;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct WithdrawBond {
        address from;
        uint256 amount;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct BindAttestation {
        address from;
        bytes quote;
        bytes collateral;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct RegisterZkModel {
        address from;
        bytes32 commitment;
        bytes verifyingKey;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
}

/// Refuses encodings two calls would share: a pay callback to the zero address or of
/// nothing, and a validate callback on the zero hash, sign like other kinds' zero fields.
pub(crate) fn check_encoding(call: &InferCall) -> Result<(), Reject> {
    if let InferCall::RequestInference(t) = call {
        let bad = match &t.callback {
            Callback::None => false,
            Callback::Pay { to, amount, .. } => *to == Address::ZERO || *amount == 0,
            Callback::Validate { request_hash, .. } => *request_hash == B256::ZERO,
        };
        if bad {
            return Err(Reject::InvalidCall {
                reason: "a callback needs a non-zero payee and amount, or a validation hash".into(),
            });
        }
    }
    Ok(())
}

/// The EIP-712 signing hash of an inference call.
pub(crate) fn signing_hash(call: &InferCall, e: &Envelope, d: &Eip712Domain) -> B256 {
    let Envelope {
        from,
        nonce,
        fee,
        expiry,
    } = *e;
    match call {
        InferCall::RequestInference(t) => {
            request(from, t, nonce, fee, expiry).eip712_signing_hash(d)
        }
        InferCall::DeliverResult {
            request,
            output,
            proof,
        } => DeliverResult {
            from,
            request: *request,
            output: output.clone(),
            proof: proof.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        InferCall::Reexecute {
            request,
            provider,
            output,
        } => Reexecute {
            from,
            request: *request,
            provider: *provider,
            output: output.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        InferCall::PostBond { amount, agent_id } => PostBond {
            from,
            amount: U256::from(*amount),
            agentId: *agent_id,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        InferCall::WithdrawBond { amount } => WithdrawBond {
            from,
            amount: U256::from(*amount),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        InferCall::BindAttestation { quote, collateral } => BindAttestation {
            from,
            quote: quote.clone(),
            collateral: collateral.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        InferCall::RegisterZkModel {
            commitment,
            verifying_key,
        } => RegisterZkModel {
            from,
            commitment: *commitment,
            verifyingKey: verifying_key.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
    }
}

fn request(from: Address, t: &RequestTerms, nonce: u64, fee: u64, expiry: u64) -> RequestInference {
    let (kind, to, asset, amount, request_hash, if_hash) = match &t.callback {
        Callback::None => (0, Address::ZERO, Address::ZERO, 0, B256::ZERO, B256::ZERO),
        Callback::Pay {
            to,
            asset,
            amount,
            if_output_hash,
        } => (1, *to, *asset, *amount, B256::ZERO, *if_output_hash),
        Callback::Validate {
            request_hash,
            if_output_hash,
        } => (
            2,
            Address::ZERO,
            Address::ZERO,
            0,
            *request_hash,
            *if_output_hash,
        ),
    };
    RequestInference {
        from,
        model: t.model,
        output: t.output.code(),
        input: t.input.clone(),
        inputHash: t.input_hash,
        inputUri: t.input_uri.clone(),
        asset: t.asset,
        payment: U256::from(t.payment),
        k: t.k,
        mode: t.mode.code(),
        window: t.window,
        netuid: t.netuid,
        minBond: U256::from(t.min_bond),
        challengeWindow: t.challenge_window,
        callbackKind: kind,
        callbackTo: to,
        callbackAsset: asset,
        callbackAmount: U256::from(amount),
        callbackRequestHash: request_hash,
        callbackIfOutputHash: if_hash,
        nonce,
        fee,
        expiry,
    }
}
