//! Verification of a v2 `exact` payment with EIP-3009 on an `eip155` chain, in the order of
//! the reference facilitator (`mechanisms/evm/src/exact/facilitator/eip3009.ts`;
//! `research/x402.md` §2.1), answering its canonical reasons.
//!
//! | step | check | reason |
//! |---|---|---|
//! | 0 | `x402Version` is 2 | `invalid_x402_version` |
//! | 1 | `accepted.scheme` and `requirements.scheme` are `exact` | `invalid_exact_evm_scheme` |
//! | 2 | `extra.name` and `extra.version` present | `invalid_exact_evm_missing_eip712_domain` |
//! | 3 | `accepted.network == requirements.network` | `invalid_exact_evm_network_mismatch` |
//! | 3a | the network is this ledger's `eip155:<chainId>` | `invalid_network` |
//! | 3b | `extra.assetTransferMethod` absent or `eip3009` | `unsupported_payload_type` |
//! | 3c | `accepted` deep-equals `requirements` | `invalid_payment_requirements` |
//! | 3d | `asset`/`payTo` are addresses; `payload` is `{signature, authorization}` | `invalid_payment_requirements` / `invalid_payload` |
//! | 4 | the EIP-712 signature recovers to `authorization.from` | `invalid_exact_evm_signature` |
//! | 5 | `authorization.to == payTo` | `invalid_exact_evm_recipient_mismatch` |
//! | 6 | `validBefore >= now + 6` | `invalid_exact_evm_payload_authorization_valid_before` |
//! | 7 | `validAfter <= now` | `invalid_exact_evm_payload_authorization_valid_after` |
//! | 8 | `value == amount` | `invalid_exact_evm_authorization_value` |
//! | 9 | the simulation's facts, read from the [`LedgerView`] | see below |
//!
//! Step 9 replaces the reference's `eth_call` simulation and Multicall3 diagnosis, in its order:
//! a token at `asset` (`asset_not_deployed_contract`), the nonce unused
//! (`invalid_exact_evm_nonce_already_used`), the token's `name()`/`version()` equal to
//! `extra` (`invalid_exact_evm_token_name_mismatch`, `…_version_mismatch`), the balance
//! covering `value` (`invalid_exact_evm_insufficient_balance`), and the chain able to carry
//! the numbers (`invalid_exact_evm_transaction_simulation_failed`).
//!
//! The ledger itself requires `validAfter < blockTime < validBefore` (EIP-3009's strict
//! bounds); step 7 follows the reference (`validAfter <= now`), and a block's time is later
//! than the verification's in practice.
//!
//! Steps 3a–3d are not in the reference mechanism (its core dispatches by network and its
//! server matches `accepted`); they come before anything that depends on them.

use alloy_primitives::{Address, U256};
use serde_json::Value;
use x402_types::{
    Reason, VerifyResponse,
    exact::{self, ExactEvmPayload},
    v2::{self, PaymentPayload, PaymentRequirements},
};

use crate::LedgerView;

/// The reference facilitator's block-time buffer: an authorization must stay valid this many
/// seconds past `now` (`validBefore >= now + 6`).
pub const VALID_BEFORE_BUFFER_SECS: u64 = 6;

/// The only scheme verified here.
pub const SCHEME: &str = "exact";

/// Verifies a v2 `exact`/EIP-3009 payment against `requirements` and the ledger `view` at
/// `now_secs` (unix seconds). Rejections are `isValid: false` with a canonical reason; this
/// never panics. `payer` is set once the authorization decodes.
pub fn verify_exact(
    payload: &PaymentPayload,
    requirements: &PaymentRequirements,
    view: &impl LedgerView,
    now_secs: u64,
) -> VerifyResponse {
    match check(payload, requirements, view, now_secs) {
        Ok(payer) => VerifyResponse::valid(payer.to_checksum(None)),
        Err((reason, payer)) => VerifyResponse::invalid(reason, payer.map(|p| p.to_checksum(None))),
    }
}

type Rejection = (Reason, Option<Address>);

fn check(
    payload: &PaymentPayload,
    req: &PaymentRequirements,
    view: &impl LedgerView,
    now: u64,
) -> Result<Address, Rejection> {
    let reject = |r: Reason| (r, None);
    // 0. Version.
    if payload.x402_version != v2::VERSION {
        return Err(reject(Reason::InvalidX402Version));
    }
    // 1. Scheme.
    let accepted_str = |key: &str| payload.accepted.get(key).and_then(Value::as_str);
    if accepted_str("scheme") != Some(SCHEME) || req.scheme != SCHEME {
        return Err(reject(Reason::InvalidExactEvmScheme));
    }
    // 2. The token's EIP-712 domain.
    let (Some(name), Some(version)) = (&req.extra.name, &req.extra.version) else {
        return Err(reject(Reason::InvalidExactEvmMissingEip712Domain));
    };
    // 3. Network.
    let network = req.network.to_string();
    if accepted_str("network") != Some(network.as_str()) {
        return Err(reject(Reason::InvalidExactEvmNetworkMismatch));
    }
    let chain_id = view.chain_id();
    if req.network.chain_id() != Some(chain_id) {
        return Err(reject(Reason::InvalidNetwork));
    }
    // 3b. Only EIP-3009 (the default when `assetTransferMethod` is absent).
    match req.extra.other.get("assetTransferMethod") {
        None => {}
        Some(Value::String(m)) if m == "eip3009" => {}
        Some(_) => return Err(reject(Reason::UnsupportedPayloadType)),
    }
    // 3c. `accepted` is the requirement echoed verbatim.
    if !payload.accepts(req) {
        return Err(reject(Reason::InvalidPaymentRequirements));
    }
    // 3d. Decode what the checks below compare.
    let asset: Address = req
        .asset
        .parse()
        .map_err(|_| reject(Reason::InvalidPaymentRequirements))?;
    let pay_to: Address = req
        .pay_to
        .parse()
        .map_err(|_| reject(Reason::InvalidPaymentRequirements))?;
    let exact: ExactEvmPayload = payload
        .exact_evm()
        .map_err(|_| reject(Reason::InvalidPayload))?;
    let auth = &exact.authorization;
    let payer = auth.from;
    let reject = |r: Reason| (r, Some(payer));

    // 4. Signature, under the domain the requirements name.
    let domain = exact::domain(name, version, chain_id, asset);
    match exact.recover_signer(&domain) {
        Ok(signer) if signer == payer => {}
        _ => return Err(reject(Reason::InvalidExactEvmSignature)),
    }
    // 5. Recipient.
    if auth.to != pay_to {
        return Err(reject(Reason::InvalidExactEvmRecipientMismatch));
    }
    // 6–7. Time window, with the block-time buffer.
    let now = U256::from(now);
    if auth.valid_before.0 < now.saturating_add(U256::from(VALID_BEFORE_BUFFER_SECS)) {
        return Err(reject(
            Reason::InvalidExactEvmPayloadAuthorizationValidBefore,
        ));
    }
    if auth.valid_after.0 > now {
        return Err(reject(
            Reason::InvalidExactEvmPayloadAuthorizationValidAfter,
        ));
    }
    // 8. Exact amount.
    if auth.value != req.amount {
        return Err(reject(Reason::InvalidExactEvmAuthorizationValue));
    }
    // 9. What the reference's simulation and diagnosis find out.
    let Some((token_name, token_version)) = view.token_domain(asset) else {
        return Err(reject(Reason::AssetNotDeployedContract));
    };
    if view.authorization_used(asset, payer, auth.nonce) {
        return Err(reject(Reason::InvalidExactEvmNonceAlreadyUsed));
    }
    if token_name != name {
        return Err(reject(Reason::InvalidExactEvmTokenNameMismatch));
    }
    if token_version != version {
        return Err(reject(Reason::InvalidExactEvmTokenVersionMismatch));
    }
    if view.balance(asset, payer) < auth.value.0 {
        return Err(reject(Reason::InvalidExactEvmInsufficientBalance));
    }
    if !view.representable(auth) {
        return Err(reject(Reason::InvalidExactEvmTransactionSimulationFailed));
    }
    Ok(payer)
}
