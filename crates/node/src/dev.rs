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

/// The first `n` dev keys.
pub fn dev_keys(n: u32) -> eyre::Result<Vec<PrivateKey>> {
    (0..n).map(dev_key).collect()
}

/// Addresses of the first `n` dev keys.
pub fn dev_addresses(n: u32) -> eyre::Result<Vec<Address>> {
    Ok(dev_keys(n)?.iter().map(PrivateKey::address).collect())
}
