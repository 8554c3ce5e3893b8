//! Validators and the validator set, as listed in genesis; proposer selection.

use ledger::keccak256;
use malachitebft_core_types as mc;

use crate::{
    Address, Height, PublicKey,
    error::{Error, Result},
};

/// A validator as the genesis file lists it (the ledger's `validators` field).
pub use ledger::GenesisValidator;

/// A validator: address, consensus public key and voting power.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// The ledger account it proposes as.
    pub address: Address,
    /// Its ed25519 consensus key.
    pub public_key: PublicKey,
    /// Its voting power (positive).
    pub voting_power: u64,
}

impl Validator {
    /// Parses a genesis entry.
    pub fn from_genesis(g: &GenesisValidator) -> Result<Self> {
        Ok(Validator {
            address: Address(g.address),
            public_key: crate::signing::decode_public_key_hex(&g.consensus_key)?,
            voting_power: g.power,
        })
    }
}

impl mc::Validator<crate::Ctx> for Validator {
    fn address(&self) -> &Address {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> mc::VotingPower {
        self.voting_power
    }
}

/// A validator set: non-empty, sorted by address, each address once, every power positive,
/// total power within `u64`. The order is canonical, so every node sees the same set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

impl ValidatorSet {
    /// Checks and sorts the validators.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self> {
        let bad = |m: String| Error::InvalidValidatorSet(m);
        if validators.is_empty() {
            return Err(bad("no validators".into()));
        }
        validators.sort_by_key(|v| v.address);
        let mut total_power: u64 = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.voting_power == 0 {
                return Err(bad(format!("validator {} has no voting power", v.address)));
            }
            if i > 0 && validators[i - 1].address == v.address {
                return Err(bad(format!("validator {} is listed twice", v.address)));
            }
            total_power = total_power
                .checked_add(v.voting_power)
                .ok_or_else(|| bad("total voting power overflows".into()))?;
        }
        Ok(ValidatorSet {
            validators,
            total_power,
        })
    }

    /// The set listed in a genesis file.
    pub fn from_genesis(listed: &[GenesisValidator]) -> Result<Self> {
        Self::new(
            listed
                .iter()
                .map(Validator::from_genesis)
                .collect::<Result<_>>()?,
        )
    }

    /// The validators, sorted by address.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The proposer for `(height, round)`: a walk over the cumulative voting power (in address
    /// order) to `keccak256(height ‖ round) mod total_power`. Stateless and deterministic, each
    /// validator proposes in proportion to its power, and a round's proposer does not depend on
    /// the previous round's, so a crashed proposer costs one round in expectation.
    /// A nil round counts as round 0.
    pub fn proposer(&self, height: Height, round: mc::Round) -> &Validator {
        let mut seed = [0u8; 12];
        seed[..8].copy_from_slice(&height.0.to_be_bytes());
        seed[8..].copy_from_slice(&round.as_u32().unwrap_or(0).to_be_bytes());
        let h = keccak256(seed);
        let mut top = [0u8; 16];
        top.copy_from_slice(&h[..16]);
        let ticket = u128::from_be_bytes(top) % u128::from(self.total_power);
        let mut acc: u128 = 0;
        for v in &self.validators {
            acc += u128::from(v.voting_power);
            if ticket < acc {
                return v;
            }
        }
        // Unreachable: ticket < total_power = the final acc. The set is never empty.
        &self.validators[self.validators.len() - 1]
    }
}

impl mc::ValidatorSet<crate::Ctx> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> mc::VotingPower {
        self.total_power
    }

    fn get_by_address(&self, address: &Address) -> Option<&Validator> {
        self.validators
            .binary_search_by_key(address, |v| v.address)
            .ok()
            .map(|i| &self.validators[i])
    }

    fn get_by_index(&self, index: usize) -> Option<&Validator> {
        self.validators.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::ConsensusKey;
    use mc::{Round, ValidatorSet as _};
    use rand::{SeedableRng, rngs::StdRng};

    pub(crate) fn set(powers: &[u64]) -> ValidatorSet {
        let mut rng = StdRng::seed_from_u64(7);
        let vals = powers
            .iter()
            .enumerate()
            .map(|(i, p)| Validator {
                address: Address(ledger::Address::repeat_byte(
                    u8::try_from(i + 1).unwrap_or(0),
                )),
                public_key: ConsensusKey::generate(&mut rng).public_key(),
                voting_power: *p,
            })
            .collect();
        ValidatorSet::new(vals).unwrap()
    }

    #[test]
    fn rejects_empty_duplicate_and_powerless_sets() {
        assert!(ValidatorSet::new(vec![]).is_err());
        let s = set(&[1, 1]);
        let mut dup = s.validators().to_vec();
        dup[1].address = dup[0].address;
        assert!(ValidatorSet::new(dup).is_err());
        let mut zero = s.validators().to_vec();
        zero[0].voting_power = 0;
        assert!(ValidatorSet::new(zero).is_err());
        let mut big = s.validators().to_vec();
        big[0].voting_power = u64::MAX;
        assert!(ValidatorSet::new(big).is_err());
    }

    #[test]
    fn canonical_order_whatever_the_listing() {
        let s = set(&[1, 2, 3]);
        let mut reversed = s.validators().to_vec();
        reversed.reverse();
        assert_eq!(ValidatorSet::new(reversed).unwrap(), s);
        assert_eq!(s.total_voting_power(), 6);
        let v = &s.validators()[2];
        assert_eq!(s.get_by_address(&v.address), Some(v));
        assert_eq!(s.get_by_address(&Address(ledger::Address::ZERO)), None);
    }

    #[test]
    fn proposer_selection_is_deterministic_and_follows_power() {
        let s = set(&[1, 1, 1, 5]);
        let copy = s.clone();
        let mut counts = [0u32; 4];
        for h in 1..=2_000u64 {
            for r in 0..2u32 {
                let p = s.proposer(Height(h), Round::new(r));
                assert_eq!(p, copy.proposer(Height(h), Round::new(r)));
                let i = s.validators().iter().position(|v| v == p).unwrap();
                counts[i] += 1;
            }
        }
        // 4000 draws, expected 500/500/500/2500; a wrong walk would be far off.
        for c in &counts[..3] {
            assert!((400..600).contains(c), "{counts:?}");
        }
        assert!((2_300..2_700).contains(&counts[3]), "{counts:?}");
        // Golden: pins the selection rule (changing it is a consensus-breaking change).
        let golden: Vec<usize> = (1..=8u64)
            .map(|h| {
                let p = s.proposer(Height(h), Round::ZERO);
                s.validators().iter().position(|v| v == p).unwrap()
            })
            .collect();
        assert_eq!(golden, GOLDEN_PROPOSERS);
        assert_eq!(
            s.proposer(Height(3), Round::Nil),
            s.proposer(Height(3), Round::ZERO)
        );
    }

    // Recorded from this implementation when the rule was adopted: a regression pin.
    const GOLDEN_PROPOSERS: [usize; 8] = [2, 3, 3, 1, 1, 0, 2, 1];

    #[test]
    fn genesis_entries_parse() {
        let key = ConsensusKey::generate(StdRng::seed_from_u64(1)).public_key();
        let json = format!(
            r#"[{{"address":"0x0000000000000000000000000000000000000001","consensusKey":"0x{}","power":3}}]"#,
            hex::encode(key.as_bytes())
        );
        let listed: Vec<GenesisValidator> = serde_json::from_str(&json).unwrap();
        let s = ValidatorSet::from_genesis(&listed).unwrap();
        assert_eq!(s.validators()[0].public_key, key);
        assert_eq!(s.total_voting_power(), 3);
        let bad = vec![GenesisValidator {
            consensus_key: "0x1234".into(),
            ..listed[0].clone()
        }];
        assert!(ValidatorSet::from_genesis(&bad).is_err());
    }
}
