//! Network identifiers: CAIP-2 `namespace:reference` (v2) and the fixed v1 names.
//!
//! v2 names any EVM chain as `eip155:<chainId>`, so a local devnet (`eip155:31337`) needs no
//! table. v1 could only name the chains in the SDK's list; [`V1_NETWORKS`] is that list
//! (`typescript/packages/legacy/x402/src/types/shared/network.ts` plus the additions of
//! `@x402/evm/v1` 2.27, per `research/x402.md` §1.4).

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

use crate::{Error, Result};

/// A CAIP-2 chain id such as `eip155:84532` or `solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1`.
///
/// Parsing checks the CAIP-2 grammar (namespace `[-a-z0-9]{3,8}`, reference
/// `[-_a-zA-Z0-9]{1,32}`); for `eip155` the reference must also be a canonical decimal `u64`,
/// so [`Network::chain_id`] and the string form always agree.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Network {
    namespace: String,
    reference: String,
}

impl Network {
    /// The EVM chain `eip155:<chain_id>`.
    pub fn eip155(chain_id: u64) -> Self {
        Self {
            namespace: "eip155".to_owned(),
            reference: chain_id.to_string(),
        }
    }

    /// The namespace, e.g. `eip155`.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The reference, e.g. `84532`.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The EVM chain id if this is an `eip155` network.
    pub fn chain_id(&self) -> Option<u64> {
        if self.namespace == "eip155" {
            self.reference.parse().ok()
        } else {
            None
        }
    }

    /// The EVM chain id, or [`Error::NotEvm`].
    pub fn evm_chain_id(&self) -> Result<u64> {
        self.chain_id()
            .ok_or_else(|| Error::NotEvm(self.to_string()))
    }

    /// The network a v1 name stands for (`base-sepolia` → `eip155:84532`), if the SDKs list it.
    pub fn from_v1_name(name: &str) -> Option<Self> {
        V1_NETWORKS
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, caip2)| caip2.parse().ok())
    }

    /// The v1 name of this network, if it has one.
    pub fn v1_name(&self) -> Option<&'static str> {
        let s = self.to_string();
        V1_NETWORKS
            .iter()
            .find(|(_, caip2)| *caip2 == s)
            .map(|(n, _)| *n)
    }

    /// Parses either form: a CAIP-2 id or a v1 name from [`V1_NETWORKS`].
    pub fn parse_any(s: &str) -> Result<Self> {
        Self::from_v1_name(s).map_or_else(|| s.parse(), Ok)
    }
}

/// The v1 network names and the CAIP-2 ids they stand for.
pub const V1_NETWORKS: &[(&str, &str)] = &[
    ("ethereum", "eip155:1"),
    ("sepolia", "eip155:11155111"),
    ("base", "eip155:8453"),
    ("base-sepolia", "eip155:84532"),
    ("abstract", "eip155:2741"),
    ("abstract-testnet", "eip155:11124"),
    ("avalanche", "eip155:43114"),
    ("avalanche-fuji", "eip155:43113"),
    ("iotex", "eip155:4689"),
    ("sei", "eip155:1329"),
    ("sei-testnet", "eip155:1328"),
    ("polygon", "eip155:137"),
    ("polygon-amoy", "eip155:80002"),
    ("peaq", "eip155:3338"),
    ("story", "eip155:1514"),
    ("educhain", "eip155:41923"),
    ("skale-base-sepolia", "eip155:324705682"),
    ("megaeth", "eip155:4326"),
    ("monad", "eip155:143"),
    ("stable", "eip155:988"),
    ("stable-testnet", "eip155:2201"),
    ("celo", "eip155:42220"),
    ("flare", "eip155:14"),
    ("solana", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"),
    ("solana-devnet", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"),
];

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.reference)
    }
}

impl FromStr for Network {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Network(s.chars().take(80).collect());
        let (namespace, reference) = s.split_once(':').ok_or_else(bad)?;
        let ns_ok = (3..=8).contains(&namespace.len())
            && namespace
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_lowercase() || b.is_ascii_digit());
        let ref_ok = (1..=32).contains(&reference.len())
            && reference
                .bytes()
                .all(|b| b == b'-' || b == b'_' || b.is_ascii_alphanumeric());
        if !ns_ok || !ref_ok {
            return Err(bad());
        }
        if namespace == "eip155" {
            let id: u64 = reference.parse().map_err(|_| bad())?;
            if id.to_string() != reference {
                return Err(bad());
            }
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            reference: reference.to_owned(),
        })
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn caip2_examples() {
        for ok in [
            "eip155:1",
            "eip155:84532",
            "eip155:31337",
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
            "stellar:pubnet",
            "ach:us",
        ] {
            let n: Network = ok.parse().unwrap();
            assert_eq!(n.to_string(), ok);
        }
        for bad in [
            "",
            "eip155",
            ":1",
            "eip155:",
            "EIP155:1",
            "ab:1",
            "toolongns:1",
            "eip155:0x1",
            "eip155:01",
            "eip155:-1",
            "eip155:18446744073709551616",
            "eip155:1:2",
            "eip155:*",
            "solana:a/b",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad:?}");
        }
        assert_eq!(Network::eip155(84532).chain_id(), Some(84532));
        assert_eq!(
            "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1"
                .parse::<Network>()
                .unwrap()
                .chain_id(),
            None
        );
    }

    #[test]
    fn v1_names_map_both_ways() {
        assert_eq!(
            Network::from_v1_name("base-sepolia"),
            Some(Network::eip155(84532))
        );
        assert_eq!(Network::from_v1_name("base"), Some(Network::eip155(8453)));
        assert_eq!(Network::eip155(84532).v1_name(), Some("base-sepolia"));
        assert_eq!(Network::eip155(31337).v1_name(), None);
        assert_eq!(Network::from_v1_name("eip155:1"), None);
        assert_eq!(Network::parse_any("polygon").unwrap(), Network::eip155(137));
        assert_eq!(
            Network::parse_any("eip155:137").unwrap(),
            Network::eip155(137)
        );
        for (name, caip2) in V1_NETWORKS {
            let n = Network::from_v1_name(name).unwrap();
            assert_eq!(n.to_string(), *caip2);
            assert_eq!(n.v1_name(), Some(*name));
        }
    }

    proptest! {
        #[test]
        fn any_evm_chain_round_trips(id in any::<u64>()) {
            let n = Network::eip155(id);
            let back: Network = n.to_string().parse().unwrap();
            prop_assert_eq!(back.chain_id(), Some(id));
            let json = serde_json::to_string(&n).unwrap();
            prop_assert_eq!(serde_json::from_str::<Network>(&json).unwrap(), n);
        }

        #[test]
        fn parsing_never_panics(s in ".*") {
            let _ = s.parse::<Network>();
            let _ = Network::parse_any(&s);
        }
    }
}
