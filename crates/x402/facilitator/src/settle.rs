//! The settlement transaction's call: a verified v2 `exact` payload as the ledger's
//! `Call::TransferWithAuthorization`, which a relayer signs and submits (`POST /v1/tx`).
//!
//! Submitting it and waiting for inclusion is the settlement backend's job, not this module's.

use alloy_primitives::{Address, U256};
use ledger::{Call, eip3009, tx::Signature};
use x402_types::{
    Error as TypesError,
    exact::{Authorization, ExactEvmPayload},
    v2::{PaymentPayload, PaymentRequirements},
};

use crate::{Error, Result};

/// The ledger call that settles `payload` for `requirements`: the payer's authorization,
/// relayed unchanged, under the asset `requirements.asset`.
///
/// This only converts; call [`crate::verify_exact`] first. Fails if the payload does not
/// decode, or its numbers or signature do not fit the ledger's transaction format.
pub fn settlement_call(
    payload: &PaymentPayload,
    requirements: &PaymentRequirements,
) -> Result<Call> {
    let asset: Address = requirements
        .asset
        .parse()
        .map_err(|_| TypesError::Address(requirements.asset.chars().take(80).collect()))?;
    let exact = payload.exact_evm()?;
    authorization(asset, &exact).map(Call::TransferWithAuthorization)
}

/// The ledger's form of an EIP-3009 authorization for `asset`.
pub fn authorization(asset: Address, payload: &ExactEvmPayload) -> Result<eip3009::Authorization> {
    let a = &payload.authorization;
    let (value, valid_after, valid_before) = ledger_numbers(a)?;
    let signature: [u8; 65] = payload
        .signature
        .as_ref()
        .try_into()
        .map_err(|_| Error::SignatureLength(payload.signature.len()))?;
    Ok(eip3009::Authorization {
        asset,
        from: a.from,
        to: a.to,
        value,
        valid_after,
        valid_before,
        nonce: a.nonce,
        signature: Signature(signature),
    })
}

/// `(value, validAfter, validBefore)` as the ledger's `u128` and `u64`s.
pub(crate) fn ledger_numbers(a: &Authorization) -> Result<(u128, u64, u64)> {
    let value = narrow::<u128>("value", "u128", a.value.0)?;
    let after = narrow::<u64>("validAfter", "u64", a.valid_after.0)?;
    let before = narrow::<u64>("validBefore", "u64", a.valid_before.0)?;
    Ok((value, after, before))
}

fn narrow<T: TryFrom<U256>>(field: &'static str, ty: &'static str, v: U256) -> Result<T> {
    T::try_from(v).map_err(|_| Error::OutOfRange {
        field,
        value: v.to_string(),
        ty,
    })
}
