//! Streaming a block as proposal parts, and assembling and authenticating a received stream.
//!
//! The proposer sends `Init`, the block's canonical encoding in `Data` chunks, and `Fin` with
//! its consensus signature over [`codec::stream_sign_bytes`]. The engine delivers the parts of
//! one stream in sequence order (`StreamMessage::sequence`); a receiver hands the complete list
//! to [`assemble`]. The shape is that of upstream's example channel app
//! (`code/examples/channel/src/streaming.rs`, `state.rs`: `stream_proposal`,
//! `assemble_value_from_parts`); the signature check binds the block to the round's proposer.

use bytes::Bytes;
use ledger::Block;
use malachitebft_core_types::Round;

use crate::{
    ConsensusKey, Height, ProposalInit, ProposalPart, ValidatorSet, codec,
    error::{Error, Result},
    signing,
};

/// Largest `Data` chunk, bytes (well under libp2p gossip's message limit).
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The parts that stream `block` as proposed at `init`, signed with `key` for `chain_id`.
pub fn split(
    block: &Block,
    init: ProposalInit,
    key: &ConsensusKey,
    chain_id: u64,
) -> Result<Vec<ProposalPart>> {
    split_in(block, init, key, chain_id, CHUNK_SIZE)
}

fn split_in(
    block: &Block,
    init: ProposalInit,
    key: &ConsensusKey,
    chain_id: u64,
    chunk_size: usize,
) -> Result<Vec<ProposalPart>> {
    let bytes = codec::encode_block(block)?;
    let chunks: Vec<Bytes> = (0..bytes.len())
        .step_by(chunk_size.max(1))
        .map(|start| bytes.slice(start..bytes.len().min(start + chunk_size.max(1))))
        .collect();
    let sig = key.sign(&codec::stream_sign_bytes(
        chain_id,
        &init,
        codec::block_bytes_hash(&chunks),
    ));
    let mut parts = Vec::with_capacity(chunks.len() + 2);
    parts.push(ProposalPart::Init(init));
    parts.extend(chunks.into_iter().map(ProposalPart::Data));
    parts.push(ProposalPart::Fin(sig));
    Ok(parts)
}

/// Assembles a complete stream (parts in sequence order): checks its shape, that `Init` names
/// the proposer `validators` select for its height and round, and the `Fin` signature under
/// that proposer's consensus key; then decodes the block.
pub fn assemble(
    parts: &[ProposalPart],
    validators: &ValidatorSet,
    chain_id: u64,
) -> Result<(ProposalInit, Block)> {
    let bad = |m: &str| Error::Decode {
        what: "proposal stream",
        reason: m.into(),
    };
    let (Some(ProposalPart::Init(init)), Some(ProposalPart::Fin(sig))) =
        (parts.first(), parts.last())
    else {
        return Err(bad("a stream is Init, Data…, Fin"));
    };
    let mut chunks = Vec::with_capacity(parts.len().saturating_sub(2));
    for p in &parts[1..parts.len() - 1] {
        match p {
            ProposalPart::Data(d) => chunks.push(d.clone()),
            _ => return Err(bad("Init or Fin in the middle of a stream")),
        }
    }
    let expected = validators.proposer(init.height, init.round);
    if expected.address != init.proposer {
        return Err(bad("not the round's proposer"));
    }
    let msg = codec::stream_sign_bytes(chain_id, init, codec::block_bytes_hash(&chunks));
    if !signing::verify(&expected.public_key, &msg, sig) {
        return Err(bad("bad proposer signature"));
    }
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let block = codec::decode_block(&bytes)?;
    if block.header.height != init.height.0 || block.header.proposer != init.proposer.0 {
        return Err(bad("the block's height or proposer differs from Init"));
    }
    Ok((*init, block))
}

/// The `Init` for a fresh proposal (`pol_round` nil) at `(height, round)` by `proposer`.
pub fn init(height: Height, round: Round, proposer: crate::Address) -> ProposalInit {
    ProposalInit {
        height,
        round,
        pol_round: Round::Nil,
        proposer,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Address, Validator, value::tests::block};
    use rand::{SeedableRng, rngs::StdRng};

    /// Four validators of power 1 and their keys (test fixture).
    pub(crate) fn validators() -> (ValidatorSet, Vec<(Address, ConsensusKey)>) {
        validators_seeded(4, 99)
    }

    /// `n` validators of power 1 (accounts `0x0101…`, `0x0202…`, …) with keys drawn from
    /// `seed` (test fixture).
    pub(crate) fn validators_seeded(
        n: u8,
        seed: u64,
    ) -> (ValidatorSet, Vec<(Address, ConsensusKey)>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys: Vec<(Address, ConsensusKey)> = (1..=n)
            .map(|i| {
                (
                    Address(ledger::Address::repeat_byte(i)),
                    ConsensusKey::generate(&mut rng),
                )
            })
            .collect();
        let set = ValidatorSet::new(
            keys.iter()
                .map(|(a, k)| Validator {
                    address: *a,
                    public_key: k.public_key(),
                    voting_power: 1,
                })
                .collect(),
        )
        .unwrap();
        (set, keys)
    }

    fn key_of(keys: &[(Address, ConsensusKey)], a: Address) -> &ConsensusKey {
        &keys.iter().find(|(x, _)| *x == a).unwrap().1
    }

    fn proposal() -> (
        ValidatorSet,
        Vec<(Address, ConsensusKey)>,
        ProposalInit,
        Block,
    ) {
        let (set, keys) = validators();
        let proposer = set.proposer(Height(6), Round::new(2)).address;
        let mut b = block(6, 1_234);
        b.header.proposer = proposer.0;
        (set, keys, init(Height(6), Round::new(2), proposer), b)
    }

    #[test]
    fn a_stream_round_trips_in_many_chunks() {
        let (set, keys, init, b) = proposal();
        let key = key_of(&keys, init.proposer);
        let parts = split_in(&b, init, key, 7, 16).unwrap();
        assert!(parts.len() > 4, "{}", parts.len());
        assert_eq!(assemble(&parts, &set, 7).unwrap(), (init, b.clone()));
        let one = split(&b, init, key, 7).unwrap();
        assert_eq!(one.len(), 3);
        assert_eq!(assemble(&one, &set, 7).unwrap().1, b);
    }

    #[test]
    fn forged_reordered_or_foreign_streams_are_refused() {
        let (set, keys, init, b) = proposal();
        let key = key_of(&keys, init.proposer);
        let parts = split_in(&b, init, key, 7, 16).unwrap();
        // Another chain.
        assert!(assemble(&parts, &set, 8).is_err());
        // Signed by a validator that is not the round's proposer.
        let (other, other_key) = keys.iter().find(|(a, _)| *a != init.proposer).unwrap();
        assert!(assemble(&split(&b, init, other_key, 7).unwrap(), &set, 7).is_err());
        // The Init names someone else (who signs it themselves).
        let mut lying = init;
        lying.proposer = *other;
        assert!(assemble(&split(&b, lying, other_key, 7).unwrap(), &set, 7).is_err());
        // Data chunks swapped, or one altered.
        let mut swapped = parts.clone();
        swapped.swap(1, 2);
        assert!(assemble(&swapped, &set, 7).is_err());
        let mut altered = parts.clone();
        altered[1] = ProposalPart::Data(Bytes::from_static(b"0123456789abcdef"));
        assert!(assemble(&altered, &set, 7).is_err());
        // Missing Fin, or Fin in the middle.
        assert!(assemble(&parts[..parts.len() - 1], &set, 7).is_err());
        let mut early = parts.clone();
        let fin = early.pop().unwrap();
        early.insert(2, fin.clone());
        early.push(fin);
        assert!(assemble(&early, &set, 7).is_err());
    }
}
