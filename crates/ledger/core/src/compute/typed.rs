//! The EIP-712 structs of the market calls (primary types as a wallet displays them).
//!
//! An order without a sealed auction signs `auctioneer = 0`, `keyHash = 0`, `tick = 0`; a
//! sealed auction with a zero auctioneer is refused by [`check_encoding`], so the encoding is
//! one-to-one.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct};

use super::{ComputeCall, OrderTerms};
use crate::{agents::typed::Envelope, error::Reject};

alloy_sol_types::sol! {
    struct Attribute {
        string key;
        string value;
    }
    struct RegisterProvider {
        address from;
        string uri;
        Attribute[] attributes;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct SignAttributes {
        address from;
        address provider;
        Attribute[] attributes;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct CreateOrder {
        address from;
        uint32 capacityRps;
        Attribute[] attributes;
        address[] auditors;
        address asset;
        uint8 settlement;
        uint256 maxPrice;
        uint64 duration;
        uint256 deposit;
        uint256 minCollateral;
        uint64 bidWindow;
        address auctioneer;
        bytes32 keyHash;
        uint256 tick;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct CancelOrder {
        address from;
        uint64 order;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct PlaceBid {
        address from;
        uint64 order;
        uint256 price;
        uint256 collateral;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct PlaceSealedBid {
        address from;
        uint64 order;
        bytes32 ciphertextHash;
        uint256 collateral;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct AcceptBid {
        address from;
        uint64 order;
        address provider;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct ResolveAuction {
        address from;
        uint64 order;
        uint8 winner;
        uint16 priceTicks;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct DepositLease {
        address from;
        uint64 lease;
        uint256 amount;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct WithdrawLease {
        address from;
        uint64 lease;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct CloseLease {
        address from;
        uint64 lease;
        string reason;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
    struct SetOraclePrice {
        address from;
        uint256 price;
        uint64 nonce;
        uint64 fee;
        uint64 expiry;
    }
}

fn attributes(m: &BTreeMap<String, String>) -> Vec<Attribute> {
    m.iter()
        .map(|(k, v)| Attribute {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// Refuses the one encoding two calls would share: a sealed auction with a zero auctioneer
/// signs like an order without one.
pub(crate) fn check_encoding(call: &ComputeCall) -> Result<(), Reject> {
    if let ComputeCall::CreateOrder(OrderTerms {
        sealed: Some(s), ..
    }) = call
        && s.auctioneer == Address::ZERO
    {
        return Err(Reject::InvalidCall {
            reason: "a sealed order needs a non-zero auctioneer".into(),
        });
    }
    Ok(())
}

/// The EIP-712 signing hash of a market call.
pub(crate) fn signing_hash(call: &ComputeCall, e: &Envelope, d: &Eip712Domain) -> B256 {
    let Envelope {
        from,
        nonce,
        fee,
        expiry,
    } = *e;
    match call {
        ComputeCall::RegisterProvider { uri, attributes: a } => RegisterProvider {
            from,
            uri: uri.clone(),
            attributes: attributes(a),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::SignAttributes {
            provider,
            attributes: a,
        } => SignAttributes {
            from,
            provider: *provider,
            attributes: attributes(a),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
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
        }) => CreateOrder {
            from,
            capacityRps: spec.capacity_rps,
            attributes: attributes(&spec.attributes),
            auditors: spec.auditors.clone(),
            asset: *asset,
            settlement: settlement.code(),
            maxPrice: U256::from(*max_price),
            duration: *duration,
            deposit: U256::from(*deposit),
            minCollateral: U256::from(*min_collateral),
            bidWindow: *bid_window,
            auctioneer: sealed.map_or(Address::ZERO, |s| s.auctioneer),
            keyHash: sealed.map_or(B256::ZERO, |s| s.key_hash),
            tick: U256::from(sealed.map_or(0, |s| s.tick)),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::CancelOrder { order } => CancelOrder {
            from,
            order: *order,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::PlaceBid {
            order,
            price,
            collateral,
        } => PlaceBid {
            from,
            order: *order,
            price: U256::from(*price),
            collateral: U256::from(*collateral),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::PlaceSealedBid {
            order,
            ciphertext_hash,
            collateral,
        } => PlaceSealedBid {
            from,
            order: *order,
            ciphertextHash: *ciphertext_hash,
            collateral: U256::from(*collateral),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::AcceptBid { order, provider } => AcceptBid {
            from,
            order: *order,
            provider: *provider,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::ResolveAuction {
            order,
            winner,
            price_ticks,
        } => ResolveAuction {
            from,
            order: *order,
            winner: *winner,
            priceTicks: *price_ticks,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::DepositLease { lease, amount } => DepositLease {
            from,
            lease: *lease,
            amount: U256::from(*amount),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::WithdrawLease { lease } => WithdrawLease {
            from,
            lease: *lease,
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::CloseLease { lease, reason } => CloseLease {
            from,
            lease: *lease,
            reason: reason.clone(),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
        ComputeCall::SetOraclePrice { price } => SetOraclePrice {
            from,
            price: U256::from(*price),
            nonce,
            fee,
            expiry,
        }
        .eip712_signing_hash(d),
    }
}
