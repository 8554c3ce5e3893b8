//! Well-known development keys. They are public: anyone can spend what they hold. Use them
//! only on dev chains.

use ledger::{Address, B256};
use wallet::PrivateKey;

/// Passphrase of the dev keystore written by `symbiont node --dev`.
pub const DEV_PASSPHRASE: &str = "symbiont-dev";

/// Chain id of dev chains.
pub const DEV_CHAIN_ID: u64 = 31_337;

/// The `i`-th dev key: `keccak256("symbiont dev key " ‖ i)`.
pub fn dev_key(i: u32) -> eyre::Result<PrivateKey> {
    let seed: B256 = alloy_primitives::keccak256(format!("symbiont dev key {i}"));
    Ok(PrivateKey::from_bytes(&seed.0)?)
}

/// The "Devnet USD" stablecoin a dev genesis issues (dev key 0 is the issuer).
pub fn usd_asset() -> eyre::Result<Address> {
    Ok(ledger::Asset::derive_id(
        dev_key(0)?.address(),
        ledger::genesis::DEV_USD_NAME,
    ))
}

/// An x402 price of `amount` Devnet USD units paid to `pay_to` on chain `chain_id`.
pub fn usd_price(
    chain_id: u64,
    pay_to: Address,
    amount: u64,
) -> eyre::Result<x402_types::v2::PaymentRequirements> {
    Ok(x402_types::v2::PaymentRequirements {
        scheme: "exact".into(),
        network: x402_types::Network::eip155(chain_id),
        amount: x402_types::TokenAmount::from(amount),
        asset: usd_asset()?.to_checksum(None),
        pay_to: pay_to.to_checksum(None),
        max_timeout_seconds: 60,
        extra: x402_types::v2::Extra::eip712(ledger::genesis::DEV_USD_NAME, "1"),
    })
}

/// The first `n` dev keys.
pub fn dev_keys(n: u32) -> eyre::Result<Vec<PrivateKey>> {
    (0..n).map(dev_key).collect()
}

/// Addresses of the first `n` dev keys.
pub fn dev_addresses(n: u32) -> eyre::Result<Vec<Address>> {
    Ok(dev_keys(n)?.iter().map(PrivateKey::address).collect())
}
