//! The wire protocol: one JSON object per line over a Unix socket, a response line per
//! request line. Requests are tagged by `method`; unknown methods and fields are refused.
//!
//! Agent socket:
//! - `{"method":"address"}` → `{"ok":{"address":"0x…"}}`
//! - `{"method":"signTransaction","chainId":N,"tx":{…ledger Tx…}}` → `{"ok":{"signature":"0x…"}}`
//! - `{"method":"signAuthorization","domain":{…EIP-712 domain…},"authorization":{…EIP-3009…}}`
//! - `{"method":"signTypedData","typedData":{…eth_signTypedData_v4…}}`
//!
//! Admin socket: `{"method":"pending"}`, `{"method":"approve","id":N}`,
//! `{"method":"reject","id":N}`.
//!
//! Errors: `{"error":{"code":"denied","rule":"assets.USD.per_hour","message":"…"}}`, or
//! `code` `bad_request`, `internal`.

use alloy_dyn_abi::TypedData;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::Eip712Domain;
use ledger::{Call, Tx, asset::NATIVE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use x402_types::exact::Authorization;

use crate::policy::{Intent, Kind, Spend};

/// The longest request line accepted, in bytes.
pub const MAX_REQUEST: usize = 64 * 1024;

/// A request on the agent socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "camelCase", deny_unknown_fields)]
pub enum Request {
    /// The signer's address.
    Address {},
    /// Sign a ledger transaction for `chain_id`.
    #[serde(rename_all = "camelCase")]
    SignTransaction {
        /// The ledger's chain id (its EIP-712 domain).
        chain_id: u64,
        /// The unsigned transaction; `from` must be the signer's address.
        tx: Tx,
    },
    /// Sign an x402 EIP-3009 authorization under a token's domain.
    SignAuthorization {
        /// The token's EIP-712 domain (`chainId` and `verifyingContract` required).
        domain: Eip712Domain,
        /// The authorization; `from` must be the signer's address.
        authorization: Authorization,
    },
    /// Sign EIP-712 typed data in the `eth_signTypedData_v4` format.
    #[serde(rename_all = "camelCase")]
    SignTypedData {
        /// The typed data.
        typed_data: Box<TypedData>,
    },
}

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "camelCase", deny_unknown_fields)]
pub enum AdminRequest {
    /// Requests held for approval.
    Pending {},
    /// Approve held request `id`.
    Approve {
        /// Its id.
        id: u64,
    },
    /// Reject held request `id`.
    Reject {
        /// Its id.
        id: u64,
    },
}

/// Parses one request line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_REQUEST {
        return Err(format!("request longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(line).map_err(|e| format!("malformed request: {e}"))
}

/// Parses one admin request line.
pub fn parse_admin_request(line: &[u8]) -> Result<AdminRequest, String> {
    if line.len() > MAX_REQUEST {
        return Err(format!("request longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(line).map_err(|e| format!("malformed request: {e}"))
}

/// A signing request reduced to what the policy judges and what is signed.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the policy judges.
    pub intent: Intent,
    /// The 32-byte hash to sign.
    pub hash: B256,
    /// A short description for the audit log and the approval queue.
    pub summary: Value,
}

/// Why a request cannot be judged at all (not a policy refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsignable {
    /// `from` is not this signer.
    WrongSigner(String),
    /// The message is not understood: default deny.
    Unrecognised(String),
}

/// Reduces a signing request to an intent and a hash; `None` for `address`.
pub fn prepare(request: &Request, me: Address) -> Option<Result<Prepared, Unsignable>> {
    Some(match request {
        Request::Address {} => return None,
        Request::SignTransaction { chain_id, tx } => prepare_tx(*chain_id, tx, me),
        Request::SignAuthorization {
            domain,
            authorization,
        } => prepare_authorization(domain, authorization, me),
        Request::SignTypedData { typed_data } => prepare_typed(typed_data, me),
    })
}

fn prepare_tx(chain_id: u64, tx: &Tx, me: Address) -> Result<Prepared, Unsignable> {
    if tx.from != me {
        return Err(Unsignable::WrongSigner(format!(
            "the transaction is from {}, this signer is {me}",
            tx.from
        )));
    }
    let call = serde_json::to_value(&tx.call).unwrap_or_default();
    let name = call["type"].as_str().unwrap_or("unknown").to_owned();
    let mut spends = Vec::new();
    if tx.fee > 0 {
        spends.push(Spend {
            asset: NATIVE,
            amount: u128::from(tx.fee),
            payee: None,
        });
    }
    let outflow = |asset, amount, payee| Spend {
        asset,
        amount,
        payee,
    };
    match &tx.call {
        Call::Transfer { to, asset, amount } => spends.push(outflow(*asset, *amount, Some(*to))),
        Call::Burn { asset, amount } => spends.push(outflow(*asset, *amount, None)),
        Call::CreateSubnet { max_lock_cost } => spends.push(outflow(NATIVE, *max_lock_cost, None)),
        Call::RegisterNeuron { max_burn, .. } => spends.push(outflow(NATIVE, *max_burn, None)),
        Call::AddStake { amount, .. } => spends.push(outflow(NATIVE, *amount, None)),
        _ => {}
    }
    Ok(Prepared {
        intent: Intent {
            chain_id,
            kind: Kind::Call(name.clone()),
            spends: spends.clone(),
        },
        hash: tx.signing_hash(chain_id),
        summary: json!({
            "type": "transaction",
            "chainId": chain_id,
            "call": name,
            "nonce": tx.nonce,
            "spends": spends,
        }),
    })
}

fn prepare_authorization(
    domain: &Eip712Domain,
    auth: &Authorization,
    me: Address,
) -> Result<Prepared, Unsignable> {
    if auth.from != me {
        return Err(Unsignable::WrongSigner(format!(
            "the authorization is from {}, this signer is {me}",
            auth.from
        )));
    }
    let chain_id = domain
        .chain_id
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| Unsignable::Unrecognised("the domain has no 64-bit chainId".into()))?;
    let asset = domain.verifying_contract.ok_or_else(|| {
        Unsignable::Unrecognised("the domain has no verifyingContract (the token)".into())
    })?;
    let spend = Spend {
        asset,
        amount: saturate(auth.value.0),
        payee: Some(auth.to),
    };
    Ok(Prepared {
        intent: Intent {
            chain_id,
            kind: Kind::Payment,
            spends: vec![spend.clone()],
        },
        hash: auth.signing_hash(domain),
        summary: json!({
            "type": "x402Payment",
            "chainId": chain_id,
            "spends": [spend],
            "authNonce": auth.nonce,
        }),
    })
}

/// The EIP-3009 fields, in order, as the standard types them.
const EIP3009: [(&str, &str); 6] = [
    ("from", "address"),
    ("to", "address"),
    ("value", "uint256"),
    ("validAfter", "uint256"),
    ("validBefore", "uint256"),
    ("nonce", "bytes32"),
];

fn prepare_typed(typed: &TypedData, me: Address) -> Result<Prepared, Unsignable> {
    let hash = typed
        .eip712_signing_hash()
        .map_err(|e| Unsignable::Unrecognised(format!("typed data does not encode: {e}")))?;
    let chain_id = typed
        .domain
        .chain_id
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| Unsignable::Unrecognised("the domain has no 64-bit chainId".into()))?;
    if typed.primary_type == "TransferWithAuthorization" {
        let auth = authorization_from(&typed.message)?;
        let prepared = prepare_authorization(&typed.domain, &auth, me)?;
        // Sign only what the standard struct hashes to: a look-alike type with other fields
        // (or another order) is not an EIP-3009 payment.
        if prepared.hash != hash {
            return Err(Unsignable::Unrecognised(format!(
                "TransferWithAuthorization is not the EIP-3009 struct ({})",
                EIP3009.map(|(n, t)| format!("{t} {n}")).join(",")
            )));
        }
        return Ok(prepared);
    }
    Ok(Prepared {
        intent: Intent {
            chain_id,
            kind: Kind::TypedData(typed.primary_type.clone()),
            spends: Vec::new(),
        },
        hash,
        summary: json!({
            "type": "typedData",
            "chainId": chain_id,
            "primaryType": typed.primary_type,
        }),
    })
}

fn authorization_from(message: &Value) -> Result<Authorization, Unsignable> {
    let bad =
        |f: &str| Unsignable::Unrecognised(format!("TransferWithAuthorization.{f} is invalid"));
    let address = |f: &str| -> Result<Address, Unsignable> {
        message[f]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(f))
    };
    let uint = |f: &str| -> Result<U256, Unsignable> {
        match &message[f] {
            Value::String(s) => s
                .strip_prefix("0x")
                .map_or_else(
                    || U256::from_str_radix(s, 10),
                    |h| U256::from_str_radix(h, 16),
                )
                .map_err(|_| bad(f)),
            Value::Number(n) => n.as_u64().map(U256::from).ok_or_else(|| bad(f)),
            _ => Err(bad(f)),
        }
    };
    Ok(Authorization {
        from: address("from")?,
        to: address("to")?,
        value: x402_types::TokenAmount(uint("value")?),
        valid_after: x402_types::TokenAmount(uint("validAfter")?),
        valid_before: x402_types::TokenAmount(uint("validBefore")?),
        nonce: message["nonce"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("nonce"))?,
    })
}

/// Amounts beyond `u128` exceed every cap; they are judged as `u128::MAX`.
fn saturate(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// A response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Response {
    /// Success.
    Ok(Value),
    /// Failure.
    Error(ErrorBody),
}

/// A failure: `code` is `denied` (with the policy `rule`), `bad_request` or `internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// `denied`, `bad_request`, `not_found` or `internal`.
    pub code: String,
    /// The policy rule, for `denied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Explanation.
    pub message: String,
}

impl Response {
    /// An error response.
    pub fn error(code: &str, rule: Option<String>, message: impl Into<String>) -> Self {
        Response::Error(ErrorBody {
            code: code.into(),
            rule,
            message: message.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn request_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_request(&bytes);
            let _ = parse_admin_request(&bytes);
        }

        #[test]
        fn a_transaction_request_round_trips(nonce in any::<u64>(), fee in any::<u64>(), amount in any::<u128>()) {
            let tx = Tx {
                from: Address::repeat_byte(1),
                nonce,
                fee,
                expiry: 0,
                call: Call::Transfer { to: Address::repeat_byte(2), asset: NATIVE, amount },
            };
            let req = Request::SignTransaction { chain_id: 7, tx: tx.clone() };
            let line = serde_json::to_vec(&req).unwrap_or_default();
            let back = parse_request(&line);
            let same = matches!(back, Ok(Request::SignTransaction { chain_id: 7, tx: t }) if t == tx);
            prop_assert!(same);
        }
    }

    #[test]
    fn unknown_methods_and_fields_are_refused() {
        assert!(parse_request(br#"{"method":"signEverything"}"#).is_err());
        assert!(parse_request(br#"{"method":"address","extra":1}"#).is_err());
        assert!(parse_admin_request(br#"{"method":"approve"}"#).is_err());
        assert!(parse_request(&vec![b' '; MAX_REQUEST + 1]).is_err());
    }
}
