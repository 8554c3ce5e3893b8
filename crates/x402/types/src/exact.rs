//! The `exact` scheme on EVM with EIP-3009 `transferWithAuthorization`
//! (`specs/schemes/exact/scheme_exact_evm.md`; `research/x402.md` §2.1).
//!
//! The payer signs, under the token's own EIP-712 domain
//! `{name: extra.name, version: extra.version, chainId: <eip155:N>, verifyingContract: asset}`,
//! the EIP-3009 struct `TransferWithAuthorization(address from,address to,uint256 value,
//! uint256 validAfter,uint256 validBefore,bytes32 nonce)`.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, TokenAmount, v2::PaymentRequirements};

/// The EIP-3009 struct, exactly as the standard (and USDC) defines it.
pub mod typed {
    #![allow(missing_docs)]
    alloy_sol_types::sol! {
        struct TransferWithAuthorization {
            address from;
            address to;
            uint256 value;
            uint256 validAfter;
            uint256 validBefore;
            bytes32 nonce;
        }
    }
}

/// `payload` of an EVM `exact` payment with EIP-3009.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactEvmPayload {
    /// The payer's signature: 65-byte r‖s‖v for an EOA (smart wallets send longer
    /// ERC-1271/6492 bytes, which only an on-chain check can verify).
    pub signature: Bytes,
    /// The signed authorization.
    pub authorization: Authorization,
}

/// The signed `TransferWithAuthorization` message; integers are decimal strings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// The payer.
    #[serde(with = "checksummed")]
    pub from: Address,
    /// The payee (must be `payTo`).
    #[serde(with = "checksummed")]
    pub to: Address,
    /// The amount (must equal `amount` in v2).
    pub value: TokenAmount,
    /// Unix seconds after which the authorization is valid.
    pub valid_after: TokenAmount,
    /// Unix seconds before which the authorization is valid.
    pub valid_before: TokenAmount,
    /// 32 random bytes chosen by the payer.
    pub nonce: B256,
}

/// Addresses in EIP-55 mixed case on output, as the reference client (viem) writes them; any
/// case on input.
mod checksummed {
    use alloy_primitives::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(a: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&a.to_checksum(None))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        Address::deserialize(d)
    }
}

impl Authorization {
    /// The EIP-712 struct.
    pub fn to_typed(&self) -> typed::TransferWithAuthorization {
        typed::TransferWithAuthorization {
            from: self.from,
            to: self.to,
            value: self.value.0,
            validAfter: self.valid_after.0,
            validBefore: self.valid_before.0,
            nonce: self.nonce,
        }
    }

    /// The EIP-712 signing hash under `domain`.
    pub fn signing_hash(&self, domain: &Eip712Domain) -> B256 {
        self.to_typed().eip712_signing_hash(domain)
    }
}

impl ExactEvmPayload {
    /// The address that signed this authorization under `domain`.
    ///
    /// This checks the ECDSA signature only; whether that address is `authorization.from`,
    /// and the amount, payee and time window, are the facilitator's checks.
    pub fn recover_signer(&self, domain: &Eip712Domain) -> Result<Address> {
        recover(&self.authorization.signing_hash(domain), &self.signature)
    }
}

/// A token's EIP-712 domain.
pub fn domain(name: &str, version: &str, chain_id: u64, token: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(name.to_owned().into()),
        Some(version.to_owned().into()),
        Some(U256::from(chain_id)),
        Some(token),
        None,
    )
}

/// The EIP-712 domain a v2 `exact` requirement implies: `extra.name`, `extra.version`, the
/// `eip155` chain id of `network` and `asset` as the verifying contract.
pub fn domain_for(requirements: &PaymentRequirements) -> Result<Eip712Domain> {
    let extra = &requirements.extra;
    let (Some(name), Some(version)) = (&extra.name, &extra.version) else {
        return Err(Error::MissingEip712Domain);
    };
    let chain_id = requirements.network.evm_chain_id()?;
    let token: Address = requirements
        .asset
        .parse()
        .map_err(|_| Error::Address(requirements.asset.chars().take(80).collect()))?;
    Ok(domain(name, version, chain_id, token))
}

/// Half the secp256k1 group order, big-endian: the largest `s` of a canonical signature.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Recovers the address that signed `hash` with the 65-byte r‖s‖v `signature`
/// (v ∈ {27, 28}, or {0, 1}); refuses high-s (malleable) signatures as EIP-2 and OpenZeppelin's
/// `ECDSA.recover` do.
pub fn recover(hash: &B256, signature: &[u8]) -> Result<Address> {
    let sig: &[u8; 65] = signature
        .try_into()
        .map_err(|_| Error::Signature("not 65 bytes (r‖s‖v)"))?;
    let v = match sig[64] {
        27 | 28 => sig[64] - 27,
        0 | 1 => sig[64],
        _ => return Err(Error::Signature("v must be 27 or 28")),
    };
    // Big-endian, so the lexicographic comparison is numeric.
    if sig[32..64] > HALF_ORDER[..] {
        return Err(Error::Signature("high s (malleable signature)"));
    }
    let recid =
        RecoveryId::try_from(i32::from(v)).map_err(|_| Error::Signature("invalid recovery id"))?;
    let rs = RecoverableSignature::from_compact(&sig[..64], recid)
        .map_err(|_| Error::Signature("r or s out of range"))?;
    let key = SECP256K1
        .recover_ecdsa(Message::from_digest(hash.0), &rs)
        .map_err(|_| Error::Signature("public key recovery failed"))?;
    Ok(address_of(&key))
}

/// The Ethereum address of a public key.
pub fn address_of(key: &secp256k1::PublicKey) -> Address {
    let point = key.serialize_uncompressed();
    Address::from_slice(&keccak256(&point[1..])[12..])
}
