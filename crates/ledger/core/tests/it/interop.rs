//! Differential tests against viem (npm): the EIP-712 typed data of every call kind and of
//! EIP-3009 authorizations hashes identically; a signature viem makes is accepted by the
//! ledger; a signature the ledger's wallet makes recovers in viem to the signer.

use ledger::{
    Address, B256, Call, SignedTx, Tx,
    agents::{self, FeedbackCall, MetadataEntry, PaymentRef},
    compute::{ComputeCall, OrderSpec, OrderTerms, Sealed, Settlement},
    eip3009::{self, Authorization, Cancellation},
    infer::{Callback, InferCall, Mode, OutputKind, RequestTerms},
    tx::Signature,
};
use serde_json::{Value, json};

use crate::common::*;

fn field(name: &str, ty: &str) -> Value {
    json!({ "name": name, "type": ty })
}

/// The typed data a wallet is asked to sign for `tx` (eth_signTypedData_v4 shape).
fn typed_data(tx: &Tx) -> Value {
    let common = |mut fields: Vec<Value>| {
        fields.extend([
            field("nonce", "uint64"),
            field("fee", "uint64"),
            field("expiry", "uint64"),
        ]);
        fields
    };
    let (primary, fields, mut message) = match &tx.call {
        Call::Transfer { to, asset, amount } => (
            "Transfer",
            common(vec![
                field("from", "address"),
                field("to", "address"),
                field("asset", "address"),
                field("amount", "uint256"),
            ]),
            json!({ "to": to, "asset": asset, "amount": amount.to_string() }),
        ),
        Call::Mint { asset, to, amount } => (
            "Mint",
            common(vec![
                field("from", "address"),
                field("asset", "address"),
                field("to", "address"),
                field("amount", "uint256"),
            ]),
            json!({ "asset": asset, "to": to, "amount": amount.to_string() }),
        ),
        Call::Burn { asset, amount } => (
            "Burn",
            common(vec![
                field("from", "address"),
                field("asset", "address"),
                field("amount", "uint256"),
            ]),
            json!({ "asset": asset, "amount": amount.to_string() }),
        ),
        Call::TransferWithAuthorization(a) => (
            "SubmitTransferWithAuthorization",
            common(vec![
                field("from", "address"),
                field("asset", "address"),
                field("authFrom", "address"),
                field("to", "address"),
                field("value", "uint256"),
                field("validAfter", "uint256"),
                field("validBefore", "uint256"),
                field("authNonce", "bytes32"),
                field("authSignature", "bytes"),
            ]),
            json!({
                "asset": a.asset, "authFrom": a.from, "to": a.to, "value": a.value.to_string(),
                "validAfter": a.valid_after.to_string(), "validBefore": a.valid_before.to_string(),
                "authNonce": a.nonce, "authSignature": format!("{:?}", a.signature),
            }),
        ),
        Call::CreateSubnet { max_lock_cost } => (
            "CreateSubnet",
            common(vec![
                field("from", "address"),
                field("maxLockCost", "uint256"),
            ]),
            json!({ "maxLockCost": max_lock_cost.to_string() }),
        ),
        Call::RegisterNeuron { netuid, max_burn } => (
            "RegisterNeuron",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("maxBurn", "uint256"),
            ]),
            json!({ "netuid": netuid, "maxBurn": max_burn.to_string() }),
        ),
        Call::AddStake {
            netuid,
            hotkey,
            amount,
            limit_price,
        } => (
            "AddStake",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("hotkey", "address"),
                field("amount", "uint256"),
                field("limitPrice", "uint256"),
            ]),
            json!({ "netuid": netuid, "hotkey": hotkey.to_string(), "amount": amount.to_string(), "limitPrice": limit_price.to_string() }),
        ),
        Call::RemoveStake {
            netuid,
            hotkey,
            alpha,
            limit_price,
        } => (
            "RemoveStake",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("hotkey", "address"),
                field("alpha", "uint256"),
                field("limitPrice", "uint256"),
            ]),
            json!({ "netuid": netuid, "hotkey": hotkey.to_string(), "alpha": alpha.to_string(), "limitPrice": limit_price.to_string() }),
        ),
        Call::SetWeights {
            netuid,
            uids,
            values,
            version_key,
        } => (
            "SetWeights",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("uids", "uint16[]"),
                field("values", "uint16[]"),
                field("versionKey", "uint64"),
            ]),
            json!({ "netuid": netuid, "uids": uids, "values": values, "versionKey": version_key.to_string() }),
        ),
        Call::CommitWeights {
            netuid,
            commit_hash,
        } => (
            "CommitWeights",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("commitHash", "bytes32"),
            ]),
            json!({ "netuid": netuid, "commitHash": commit_hash }),
        ),
        Call::RevealWeights {
            netuid,
            uids,
            values,
            salt,
            version_key,
        } => (
            "RevealWeights",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("uids", "uint16[]"),
                field("values", "uint16[]"),
                field("salt", "bytes32"),
                field("versionKey", "uint64"),
            ]),
            json!({ "netuid": netuid, "uids": uids, "values": values, "salt": salt, "versionKey": version_key.to_string() }),
        ),
        Call::ServeEndpoint { netuid, url } => (
            "ServeEndpoint",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("url", "string"),
            ]),
            json!({ "netuid": netuid, "url": url }),
        ),
        Call::SetHyperparameter {
            netuid,
            name,
            value,
        } => (
            "SetHyperparameter",
            common(vec![
                field("from", "address"),
                field("netuid", "uint16"),
                field("name", "string"),
                field("value", "uint64"),
            ]),
            json!({ "netuid": netuid, "name": name, "value": value.to_string() }),
        ),
        Call::CancelAuthorization(c) => (
            "SubmitCancelAuthorization",
            common(vec![
                field("from", "address"),
                field("asset", "address"),
                field("authorizer", "address"),
                field("authNonce", "bytes32"),
                field("authSignature", "bytes"),
            ]),
            json!({ "asset": c.asset, "authorizer": c.authorizer, "authNonce": c.nonce, "authSignature": format!("{:?}", c.signature) }),
        ),
        Call::RegisterAgent { uri, metadata } => (
            "RegisterAgent",
            common(vec![
                field("from", "address"),
                field("agentURI", "string"),
                field("metadata", "MetadataEntry[]"),
            ]),
            json!({ "agentURI": uri, "metadata": metadata.iter().map(|m| json!({
                "metadataKey": m.key, "metadataValue": m.value })).collect::<Vec<_>>() }),
        ),
        Call::SetAgentUri { agent_id, uri } => (
            "SetAgentUri",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("newURI", "string"),
            ]),
            json!({ "agentId": agent_id.to_string(), "newURI": uri }),
        ),
        Call::SetAgentMetadata {
            agent_id,
            key,
            value,
        } => (
            "SetAgentMetadata",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("metadataKey", "string"),
                field("metadataValue", "bytes"),
            ]),
            json!({ "agentId": agent_id.to_string(), "metadataKey": key, "metadataValue": value }),
        ),
        Call::SetAgentWallet {
            agent_id,
            wallet,
            deadline,
            signature,
        } => (
            "SetAgentWallet",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("newWallet", "address"),
                field("deadline", "uint256"),
                field("signature", "bytes"),
            ]),
            json!({ "agentId": agent_id.to_string(), "newWallet": wallet,
                    "deadline": deadline.to_string(), "signature": format!("{signature:?}") }),
        ),
        Call::UnsetAgentWallet { agent_id } => (
            "UnsetAgentWallet",
            common(vec![field("from", "address"), field("agentId", "uint256")]),
            json!({ "agentId": agent_id.to_string() }),
        ),
        Call::TransferAgent { agent_id, to } => (
            "TransferAgent",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("to", "address"),
            ]),
            json!({ "agentId": agent_id.to_string(), "to": to }),
        ),
        Call::GiveFeedback(f) => (
            "GiveFeedback",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("value", "int128"),
                field("valueDecimals", "uint8"),
                field("tag1", "string"),
                field("tag2", "string"),
                field("endpoint", "string"),
                field("feedbackURI", "string"),
                field("feedbackHash", "bytes32"),
                field("paymentAsset", "address"),
                field("paymentNonce", "bytes32"),
            ]),
            json!({
                "agentId": f.agent_id.to_string(), "value": f.value.to_string(),
                "valueDecimals": f.value_decimals, "tag1": f.tag1, "tag2": f.tag2,
                "endpoint": f.endpoint, "feedbackURI": f.feedback_uri,
                "feedbackHash": f.feedback_hash,
                "paymentAsset": f.payment.map_or(Address::ZERO, |p| p.asset),
                "paymentNonce": f.payment.map_or(B256::ZERO, |p| p.nonce),
            }),
        ),
        Call::RevokeFeedback { agent_id, index } => (
            "RevokeFeedback",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("feedbackIndex", "uint64"),
            ]),
            json!({ "agentId": agent_id.to_string(), "feedbackIndex": index.to_string() }),
        ),
        Call::AppendResponse {
            agent_id,
            client,
            index,
            uri,
            hash,
        } => (
            "AppendResponse",
            common(vec![
                field("from", "address"),
                field("agentId", "uint256"),
                field("clientAddress", "address"),
                field("feedbackIndex", "uint64"),
                field("responseURI", "string"),
                field("responseHash", "bytes32"),
            ]),
            json!({ "agentId": agent_id.to_string(), "clientAddress": client,
                    "feedbackIndex": index.to_string(), "responseURI": uri, "responseHash": hash }),
        ),
        Call::ValidationRequest {
            validator,
            agent_id,
            uri,
            request_hash,
        } => (
            "ValidationRequest",
            common(vec![
                field("from", "address"),
                field("validatorAddress", "address"),
                field("agentId", "uint256"),
                field("requestURI", "string"),
                field("requestHash", "bytes32"),
            ]),
            json!({ "validatorAddress": validator, "agentId": agent_id.to_string(),
                    "requestURI": uri, "requestHash": request_hash }),
        ),
        Call::ValidationResponse {
            request_hash,
            response,
            uri,
            hash,
            tag,
        } => (
            "ValidationResponse",
            common(vec![
                field("from", "address"),
                field("requestHash", "bytes32"),
                field("response", "uint8"),
                field("responseURI", "string"),
                field("responseHash", "bytes32"),
                field("tag", "string"),
            ]),
            json!({ "requestHash": request_hash, "response": response, "responseURI": uri,
                    "responseHash": hash, "tag": tag }),
        ),
        Call::Compute(c) => compute_typed(c),
        Call::Infer(c) => infer_typed(c),
    };
    message["from"] = json!(tx.from);
    message["nonce"] = json!(tx.nonce.to_string());
    message["fee"] = json!(tx.fee.to_string());
    message["expiry"] = json!(tx.expiry.to_string());
    let mut types = json!({ primary: fields });
    if matches!(
        primary,
        "RegisterProvider" | "SignAttributes" | "CreateOrder"
    ) {
        types["Attribute"] = json!([field("key", "string"), field("value", "string")]);
    }
    if primary == "RegisterAgent" {
        types["MetadataEntry"] = json!([
            field("metadataKey", "string"),
            field("metadataValue", "bytes"),
        ]);
    }
    json!({
        "domain": { "name": "Symbiont", "version": "1", "chainId": CHAIN_ID },
        "types": types,
        "primaryType": primary,
        "message": message,
    })
}

fn attributes_json(m: &std::collections::BTreeMap<String, String>) -> Value {
    m.iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// A market call's primary type, fields (without the envelope) and message.
/// `from`, `fields`, then the envelope's nonce, fee and expiry: the field list of a market or
/// inference struct.
fn with(fields: &[(&str, &str)]) -> Vec<Value> {
    let mut out = vec![field("from", "address")];
    out.extend(fields.iter().map(|(n, t)| field(n, t)));
    out.extend([
        field("nonce", "uint64"),
        field("fee", "uint64"),
        field("expiry", "uint64"),
    ]);
    out
}

fn infer_typed(c: &InferCall) -> (&'static str, Vec<Value>, Value) {
    match c {
        InferCall::RequestInference(t) => {
            let (kind, to, asset, amount, rh, ih) = match &t.callback {
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
            (
                "RequestInference",
                with(&[
                    ("model", "bytes32"),
                    ("output", "uint8"),
                    ("input", "bytes"),
                    ("inputHash", "bytes32"),
                    ("inputUri", "string"),
                    ("asset", "address"),
                    ("payment", "uint256"),
                    ("k", "uint8"),
                    ("mode", "uint8"),
                    ("window", "uint64"),
                    ("netuid", "uint16"),
                    ("minBond", "uint256"),
                    ("challengeWindow", "uint64"),
                    ("callbackKind", "uint8"),
                    ("callbackTo", "address"),
                    ("callbackAsset", "address"),
                    ("callbackAmount", "uint256"),
                    ("callbackRequestHash", "bytes32"),
                    ("callbackIfOutputHash", "bytes32"),
                ]),
                json!({
                    "model": t.model, "output": t.output.code(), "input": t.input,
                    "inputHash": t.input_hash, "inputUri": t.input_uri, "asset": t.asset,
                    "payment": t.payment.to_string(), "k": t.k, "mode": t.mode.code(),
                    "window": t.window.to_string(), "netuid": t.netuid,
                    "minBond": t.min_bond.to_string(),
                    "challengeWindow": t.challenge_window.to_string(),
                    "callbackKind": kind, "callbackTo": to, "callbackAsset": asset,
                    "callbackAmount": amount.to_string(), "callbackRequestHash": rh,
                    "callbackIfOutputHash": ih,
                }),
            )
        }
        InferCall::DeliverResult {
            request,
            output,
            proof,
        } => (
            "DeliverResult",
            with(&[
                ("request", "uint64"),
                ("output", "bytes"),
                ("proof", "bytes"),
            ]),
            json!({ "request": request.to_string(), "output": output, "proof": proof }),
        ),
        InferCall::Reexecute {
            request,
            provider,
            output,
        } => (
            "Reexecute",
            with(&[
                ("request", "uint64"),
                ("provider", "address"),
                ("output", "bytes"),
            ]),
            json!({ "request": request.to_string(), "provider": provider, "output": output }),
        ),
        InferCall::PostBond { amount, agent_id } => (
            "PostBond",
            with(&[("amount", "uint256"), ("agentId", "uint64")]),
            json!({ "amount": amount.to_string(), "agentId": agent_id.to_string() }),
        ),
        InferCall::WithdrawBond { amount } => (
            "WithdrawBond",
            with(&[("amount", "uint256")]),
            json!({ "amount": amount.to_string() }),
        ),
        InferCall::BindAttestation { quote, collateral } => (
            "BindAttestation",
            with(&[("quote", "bytes"), ("collateral", "bytes")]),
            json!({ "quote": quote, "collateral": collateral }),
        ),
        InferCall::RegisterZkModel {
            commitment,
            verifying_key,
        } => (
            "RegisterZkModel",
            with(&[("commitment", "bytes32"), ("verifyingKey", "bytes")]),
            json!({ "commitment": commitment, "verifyingKey": verifying_key }),
        ),
    }
}

fn compute_typed(c: &ComputeCall) -> (&'static str, Vec<Value>, Value) {
    match c {
        ComputeCall::RegisterProvider { uri, attributes } => (
            "RegisterProvider",
            with(&[("uri", "string"), ("attributes", "Attribute[]")]),
            json!({ "uri": uri, "attributes": attributes_json(attributes) }),
        ),
        ComputeCall::SignAttributes {
            provider,
            attributes,
        } => (
            "SignAttributes",
            with(&[("provider", "address"), ("attributes", "Attribute[]")]),
            json!({ "provider": provider, "attributes": attributes_json(attributes) }),
        ),
        ComputeCall::CreateOrder(OrderTerms {
            spec,
            asset,
            settlement,
            max_price,
            duration,
            deposit,
            min_collateral,
            bid_window,
            sealed,
        }) => (
            "CreateOrder",
            with(&[
                ("capacityRps", "uint32"),
                ("attributes", "Attribute[]"),
                ("auditors", "address[]"),
                ("asset", "address"),
                ("settlement", "uint8"),
                ("maxPrice", "uint256"),
                ("duration", "uint64"),
                ("deposit", "uint256"),
                ("minCollateral", "uint256"),
                ("bidWindow", "uint64"),
                ("auctioneer", "address"),
                ("keyHash", "bytes32"),
                ("tick", "uint256"),
            ]),
            json!({
                "capacityRps": spec.capacity_rps, "attributes": attributes_json(&spec.attributes),
                "auditors": spec.auditors, "asset": asset, "settlement": settlement.code(),
                "maxPrice": max_price.to_string(), "duration": duration.to_string(),
                "deposit": deposit.to_string(), "minCollateral": min_collateral.to_string(),
                "bidWindow": bid_window.to_string(),
                "auctioneer": sealed.map_or(Address::ZERO, |s| s.auctioneer),
                "keyHash": sealed.map_or(B256::ZERO, |s| s.key_hash),
                "tick": sealed.map_or(0, |s| s.tick).to_string(),
            }),
        ),
        ComputeCall::CancelOrder { order } => (
            "CancelOrder",
            with(&[("order", "uint64")]),
            json!({ "order": order.to_string() }),
        ),
        ComputeCall::PlaceBid {
            order,
            price,
            collateral,
        } => (
            "PlaceBid",
            with(&[
                ("order", "uint64"),
                ("price", "uint256"),
                ("collateral", "uint256"),
            ]),
            json!({ "order": order.to_string(), "price": price.to_string(),
                    "collateral": collateral.to_string() }),
        ),
        ComputeCall::PlaceSealedBid {
            order,
            ciphertext_hash,
            collateral,
        } => (
            "PlaceSealedBid",
            with(&[
                ("order", "uint64"),
                ("ciphertextHash", "bytes32"),
                ("collateral", "uint256"),
            ]),
            json!({ "order": order.to_string(), "ciphertextHash": ciphertext_hash,
                    "collateral": collateral.to_string() }),
        ),
        ComputeCall::AcceptBid { order, provider } => (
            "AcceptBid",
            with(&[("order", "uint64"), ("provider", "address")]),
            json!({ "order": order.to_string(), "provider": provider }),
        ),
        ComputeCall::ResolveAuction {
            order,
            winner,
            price_ticks,
        } => (
            "ResolveAuction",
            with(&[
                ("order", "uint64"),
                ("winner", "uint8"),
                ("priceTicks", "uint16"),
            ]),
            json!({ "order": order.to_string(), "winner": winner, "priceTicks": price_ticks }),
        ),
        ComputeCall::DepositLease { lease, amount } => (
            "DepositLease",
            with(&[("lease", "uint64"), ("amount", "uint256")]),
            json!({ "lease": lease.to_string(), "amount": amount.to_string() }),
        ),
        ComputeCall::WithdrawLease { lease } => (
            "WithdrawLease",
            with(&[("lease", "uint64")]),
            json!({ "lease": lease.to_string() }),
        ),
        ComputeCall::CloseLease { lease, reason } => (
            "CloseLease",
            with(&[("lease", "uint64"), ("reason", "string")]),
            json!({ "lease": lease.to_string(), "reason": reason }),
        ),
        ComputeCall::SetOraclePrice { price } => (
            "SetOraclePrice",
            with(&[("price", "uint256")]),
            json!({ "price": price.to_string() }),
        ),
    }
}

/// Runs `[command, args...]` requests through viem, in batches that keep each Node.js
/// process's argument under the kernel's 128 KiB limit for one argument.
fn viem(requests: &[Vec<String>]) -> Vec<String> {
    let mut answers = Vec::with_capacity(requests.len());
    let mut start = 0;
    while start < requests.len() {
        let mut end = start + 1;
        while end < requests.len()
            && serde_json::to_string(&requests[start..=end]).unwrap().len() < 100_000
        {
            end += 1;
        }
        let batch = serde_json::to_string(&requests[start..end]).unwrap();
        let out = test_utils::run_node("typed-data.mjs", &["batch", &batch]).unwrap();
        let part: Vec<String> = serde_json::from_str(out.trim()).unwrap();
        answers.extend(part);
        start = end;
    }
    answers
}

fn req(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

fn sig_from_hex(s: &str) -> Signature {
    Signature(
        alloy_primitives::hex::decode(s)
            .unwrap()
            .try_into()
            .unwrap(),
    )
}

fn usd_domain_json() -> Value {
    json!({ "name": "Devnet USD", "version": "1", "chainId": CHAIN_ID, "verifyingContract": usd() })
}

fn signed_authorization(payer: u32) -> Authorization {
    let mut a = Authorization {
        asset: usd(),
        from: addr(payer),
        to: addr(2),
        value: 1_234_567,
        valid_after: 0,
        valid_before: 4_000_000_000,
        nonce: B256::repeat_byte(0x42),
        signature: Signature([0; 65]),
    };
    // The payer signs with viem, exactly as an x402 EVM client would.
    let td = json!({
        "domain": usd_domain_json(),
        "types": { "TransferWithAuthorization": [
            field("from", "address"), field("to", "address"), field("value", "uint256"),
            field("validAfter", "uint256"), field("validBefore", "uint256"), field("nonce", "bytes32"),
        ]},
        "primaryType": "TransferWithAuthorization",
        "message": {
            "from": a.from, "to": a.to, "value": a.value.to_string(), "validAfter": "0",
            "validBefore": a.valid_before.to_string(), "nonce": a.nonce,
        },
    })
    .to_string();
    let ours = a.signing_hash(&eip3009::domain("Devnet USD", "1", CHAIN_ID, usd()));
    let key_hex = key(payer).to_hex();
    let out = viem(&[req(&["hash", &td]), req(&["sign", &key_hex, &td])]);
    assert_eq!(
        out[0],
        format!("{ours}"),
        "EIP-3009 hash differs from viem's"
    );
    a.signature = sig_from_hex(&out[1]);
    a
}

#[test]
fn typed_data_agrees_with_viem_both_ways() {
    let s = state(3);
    let auth = signed_authorization(1);
    let mut cancel = Cancellation {
        asset: usd(),
        authorizer: addr(1),
        nonce: B256::repeat_byte(7),
        signature: Signature([0; 65]),
    };
    let cd = eip3009::domain("Devnet USD", "1", CHAIN_ID, usd());
    cancel.signature = Signature(
        key(1)
            .sign_hash(&cancel.signing_hash(&cd))
            .unwrap()
            .to_bytes(),
    );
    let calls = [
        Call::Transfer {
            to: addr(1),
            asset: ledger::NATIVE,
            amount: u128::MAX,
        },
        Call::Mint {
            asset: usd(),
            to: addr(2),
            amount: 5,
        },
        Call::Burn {
            asset: usd(),
            amount: 9,
        },
        Call::TransferWithAuthorization(auth),
        Call::CancelAuthorization(cancel),
        Call::CreateSubnet {
            max_lock_cost: 100_000_000_000,
        },
        Call::RegisterNeuron {
            netuid: 3,
            max_burn: 7,
        },
        Call::AddStake {
            netuid: 1,
            hotkey: Address::repeat_byte(0x42),
            amount: 1_000_000_000,
            limit_price: 2_000_000_000,
        },
        Call::RemoveStake {
            netuid: 65_535,
            hotkey: Address::ZERO,
            alpha: u128::MAX,
            limit_price: 0,
        },
        Call::SetHyperparameter {
            netuid: 4,
            name: "tempo".into(),
            value: 99,
        },
        Call::CommitWeights {
            netuid: 2,
            commit_hash: B256::repeat_byte(0xab),
        },
        Call::ServeEndpoint {
            netuid: 7,
            url: "https://miner.example:8443/v1".into(),
        },
        Call::SetWeights {
            netuid: 1,
            uids: vec![0, 7, 65_535],
            values: vec![65_535, 1, 0],
            version_key: u64::MAX,
        },
        Call::SetWeights {
            netuid: 1,
            uids: vec![],
            values: vec![],
            version_key: 0,
        },
        Call::RevealWeights {
            netuid: 9,
            uids: vec![3, 2],
            values: vec![100, 200],
            salt: B256::repeat_byte(0x5a),
            version_key: 12,
        },
        Call::RegisterAgent {
            uri: "data:application/json;base64,eyJ9".into(),
            metadata: vec![
                MetadataEntry {
                    key: "feedbackRequiresPayment".into(),
                    value: vec![1u8].into(),
                },
                MetadataEntry {
                    key: "skills".into(),
                    value: b"search".to_vec().into(),
                },
            ],
        },
        Call::RegisterAgent {
            uri: String::new(),
            metadata: vec![],
        },
        Call::SetAgentUri {
            agent_id: u64::MAX,
            uri: "ipfs://x".into(),
        },
        Call::SetAgentMetadata {
            agent_id: 3,
            key: "k".into(),
            value: vec![0u8, 255].into(),
        },
        wallet_call(),
        Call::UnsetAgentWallet { agent_id: 0 },
        Call::TransferAgent {
            agent_id: 1,
            to: addr(2),
        },
        Call::GiveFeedback(FeedbackCall {
            agent_id: 0,
            value: -32,
            value_decimals: 1,
            tag1: "tradingYield".into(),
            tag2: "week".into(),
            endpoint: "https://agent.example/api".into(),
            feedback_uri: "ipfs://fb".into(),
            feedback_hash: B256::repeat_byte(3),
            payment: Some(PaymentRef {
                asset: usd(),
                nonce: B256::repeat_byte(4),
            }),
        }),
        Call::GiveFeedback(FeedbackCall {
            agent_id: 0,
            value: i128::MIN,
            value_decimals: 18,
            tag1: String::new(),
            tag2: String::new(),
            endpoint: String::new(),
            feedback_uri: String::new(),
            feedback_hash: B256::ZERO,
            payment: None,
        }),
        Call::RevokeFeedback {
            agent_id: 0,
            index: 1,
        },
        Call::AppendResponse {
            agent_id: 0,
            client: addr(1),
            index: 2,
            uri: "ipfs://r".into(),
            hash: B256::repeat_byte(5),
        },
        Call::ValidationRequest {
            validator: addr(2),
            agent_id: 0,
            uri: "ipfs://in".into(),
            request_hash: B256::repeat_byte(6),
        },
        Call::ValidationResponse {
            request_hash: B256::repeat_byte(6),
            response: 100,
            uri: "ipfs://ev".into(),
            hash: B256::ZERO,
            tag: "soft-finality".into(),
        },
    ];
    let attrs = std::collections::BTreeMap::from([
        ("capacity/rps".to_string(), "20".to_string()),
        ("model/all-minilm-l6-v2".to_string(), "true".to_string()),
    ]);
    let compute = [
        ComputeCall::RegisterProvider {
            uri: "http://127.0.0.1:9000".into(),
            attributes: attrs.clone(),
        },
        ComputeCall::SignAttributes {
            provider: addr(2),
            attributes: attrs.clone(),
        },
        ComputeCall::CreateOrder(OrderTerms {
            spec: OrderSpec {
                capacity_rps: 5,
                attributes: attrs,
                auditors: vec![addr(2)],
            },
            asset: usd(),
            settlement: Settlement::Pay,
            max_price: 1_000,
            duration: 600,
            deposit: 600_000,
            min_collateral: 10,
            bid_window: 20,
            sealed: None,
        }),
        ComputeCall::CreateOrder(OrderTerms {
            spec: OrderSpec::default(),
            asset: ledger::NATIVE,
            settlement: Settlement::Burn,
            max_price: 7,
            duration: 1,
            deposit: 1 << 70,
            min_collateral: 0,
            bid_window: 1,
            sealed: Some(Sealed {
                auctioneer: addr(1),
                key_hash: B256::repeat_byte(9),
                tick: 3,
            }),
        }),
        ComputeCall::CancelOrder { order: 4 },
        ComputeCall::PlaceBid {
            order: 1,
            price: 999,
            collateral: 10,
        },
        ComputeCall::PlaceSealedBid {
            order: 2,
            ciphertext_hash: B256::repeat_byte(5),
            collateral: 11,
        },
        ComputeCall::AcceptBid {
            order: 1,
            provider: addr(2),
        },
        ComputeCall::ResolveAuction {
            order: 2,
            winner: 7,
            price_ticks: 65_535,
        },
        ComputeCall::DepositLease {
            lease: 1,
            amount: 5,
        },
        ComputeCall::WithdrawLease { lease: 1 },
        ComputeCall::CloseLease {
            lease: 1,
            reason: "done".into(),
        },
        ComputeCall::SetOraclePrice { price: 500 },
    ];
    let terms = |callback| RequestTerms {
        model: B256::repeat_byte(3),
        output: OutputKind::Embedding,
        input: vec![1, 2, 3].into(),
        input_hash: B256::repeat_byte(4),
        input_uri: "https://in.put/x".into(),
        asset: usd(),
        payment: 10_001,
        k: 3,
        mode: Mode::Reexec,
        window: 77,
        netuid: 2,
        min_bond: 5_000,
        challenge_window: 9,
        callback,
    };
    let infer = vec![
        InferCall::RequestInference(Box::new(terms(Callback::None))),
        InferCall::RequestInference(Box::new(terms(Callback::Pay {
            to: addr(2),
            asset: usd(),
            amount: 12,
            if_output_hash: B256::repeat_byte(5),
        }))),
        InferCall::RequestInference(Box::new(terms(Callback::Validate {
            request_hash: B256::repeat_byte(6),
            if_output_hash: B256::repeat_byte(7),
        }))),
        InferCall::DeliverResult {
            request: 5,
            output: vec![9, 8].into(),
            proof: vec![7; 128].into(),
        },
        InferCall::Reexecute {
            request: 5,
            provider: addr(3),
            output: vec![1].into(),
        },
        InferCall::PostBond {
            amount: 1_000,
            agent_id: 4,
        },
        InferCall::WithdrawBond { amount: 10 },
        InferCall::BindAttestation {
            quote: vec![1; 100].into(),
            collateral: b"{}".to_vec().into(),
        },
        InferCall::RegisterZkModel {
            commitment: B256::repeat_byte(8),
            verifying_key: vec![2; 300].into(),
        },
    ];
    let calls = calls
        .into_iter()
        .chain(compute.into_iter().map(Call::Compute))
        .chain(infer.into_iter().map(Call::Infer));
    let key_hex = key(0).to_hex();
    let mut requests = vec![];
    let mut cases = vec![];
    for (i, call) in calls.enumerate() {
        let tx = Tx {
            from: addr(0),
            nonce: 40 + i as u64,
            fee: 1_500,
            expiry: 1_800_000_000,
            call,
        };
        let td = typed_data(&tx).to_string();
        let ours = tx
            .clone()
            .sign_with(CHAIN_ID, |h| key(0).sign_hash(h).map(|s| s.to_bytes()))
            .unwrap();
        requests.push(req(&["hash", &td]));
        requests.push(req(&["sign", &key_hex, &td]));
        requests.push(req(&["recover", &format!("{:?}", ours.signature), &td]));
        cases.push((tx, td));
    }
    let out = viem(&requests);
    for ((tx, td), answers) in cases.into_iter().zip(out.chunks(3)) {
        // Same hash.
        assert_eq!(answers[0], format!("{}", tx.signing_hash(CHAIN_ID)), "{td}");
        // viem signs, the ledger accepts.
        let signed = SignedTx {
            chain_id: CHAIN_ID,
            tx,
            signature: sig_from_hex(&answers[1]),
        };
        signed
            .verify(CHAIN_ID, &s)
            .unwrap_or_else(|e| panic!("viem signature refused: {e}"));
        // The ledger's wallet signs, viem recovers the signer.
        let recovered: Address = answers[2].parse().unwrap();
        assert_eq!(recovered, addr(0));
    }
}

/// A `SetAgentWallet` from key 0 whose proof key 2 signed with viem, after checking that
/// viem's hash of `AgentWalletSet` under the identity registry's domain equals ours.
fn wallet_call() -> Call {
    let deadline = 1_800_000_000u64;
    let td = json!({
        "domain": { "name": "ERC8004IdentityRegistry", "version": "1", "chainId": CHAIN_ID,
                    "verifyingContract": agents::identity_registry() },
        "types": { "AgentWalletSet": [
            field("agentId", "uint256"), field("newWallet", "address"),
            field("owner", "address"), field("deadline", "uint256"),
        ]},
        "primaryType": "AgentWalletSet",
        "message": { "agentId": "5", "newWallet": addr(2), "owner": addr(0),
                     "deadline": deadline.to_string() },
    })
    .to_string();
    let out = viem(&[req(&["hash", &td]), req(&["sign", &key(2).to_hex(), &td])]);
    let ours = agents::wallet_proof_hash(CHAIN_ID, 5, addr(2), addr(0), deadline);
    assert_eq!(
        out[0],
        format!("{ours}"),
        "AgentWalletSet hash differs from viem's"
    );
    Call::SetAgentWallet {
        agent_id: 5,
        wallet: addr(2),
        deadline,
        signature: sig_from_hex(&out[1]),
    }
}
