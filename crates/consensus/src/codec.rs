//! Canonical encodings: the bytes each consensus signature covers, and the wire form of our
//! consensus types.
//!
//! Sign bytes are a fixed layout (big-endian integers, no length prefixes except where noted),
//! domain-separated by [`DOMAIN`], the chain id and a one-byte kind, so a signature can never be
//! replayed on another chain or as another kind of message. Wire encodings are `postcard` of
//! private mirror structs, so the format is ours and does not move with Malachite's types.

use bytes::Bytes;
use ledger::{B256, Block, keccak256};
use malachitebft_core_types::{NilOrVal, Round, SigningScheme, VoteExtensionScope, VoteType};
use serde::{Deserialize, Serialize};

use crate::{
    Address, Ctx, Ed25519, Height, Proposal, ProposalInit, ProposalPart, Value, ValueId, Vote,
    error::{Error, Result},
};

/// The domain separator that prefixes every consensus signature's message.
pub const DOMAIN: &[u8] = b"symbiont-consensus-v1";

/// What a signature is over (the byte after the chain id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Prevote = 1,
    Precommit = 2,
    Proposal = 3,
    Extension = 4,
    Stream = 5,
}

fn header(chain_id: u64, kind: Kind, height: Height, round: Round) -> Vec<u8> {
    let mut b = Vec::with_capacity(DOMAIN.len() + 8 + 1 + 8 + 8 + 64);
    b.extend_from_slice(DOMAIN);
    b.extend_from_slice(&chain_id.to_be_bytes());
    b.push(kind as u8);
    b.extend_from_slice(&height.0.to_be_bytes());
    b.extend_from_slice(&round.as_i64().to_be_bytes());
    b
}

fn push_nil_or(b: &mut Vec<u8>, v: &NilOrVal<ValueId>) {
    match v {
        NilOrVal::Nil => {
            b.push(0);
            b.extend_from_slice(B256::ZERO.as_slice());
        }
        NilOrVal::Val(id) => {
            b.push(1);
            b.extend_from_slice(id.0.as_slice());
        }
    }
}

/// The bytes a vote's signature covers: domain, chain id, kind, height, round, value (flag and
/// id), voter. The extension is signed separately ([`extension_sign_bytes`]).
pub fn vote_sign_bytes(chain_id: u64, vote: &Vote) -> Vec<u8> {
    let kind = match vote.vote_type {
        VoteType::Prevote => Kind::Prevote,
        VoteType::Precommit => Kind::Precommit,
    };
    let mut b = header(chain_id, kind, vote.height, vote.round);
    push_nil_or(&mut b, &vote.value);
    b.extend_from_slice(vote.validator.0.as_slice());
    b
}

/// The bytes a proposal's signature covers: domain, chain id, kind, height, round, POL round,
/// value id, proposer.
pub fn proposal_sign_bytes(chain_id: u64, p: &Proposal) -> Vec<u8> {
    let mut b = header(chain_id, Kind::Proposal, p.height, p.round);
    b.extend_from_slice(&p.pol_round.as_i64().to_be_bytes());
    b.extend_from_slice(p.value.id().0.as_slice());
    b.extend_from_slice(p.proposer.0.as_slice());
    b
}

/// The bytes a vote extension's signature covers (extensions are `()`, so only the scope).
pub fn extension_sign_bytes(chain_id: u64, scope: &VoteExtensionScope<Ctx>) -> Vec<u8> {
    let mut b = header(chain_id, Kind::Extension, scope.height, scope.round);
    b.extend_from_slice(scope.value_id.0.as_slice());
    b.extend_from_slice(scope.validator_address.0.as_slice());
    b
}

/// The bytes the `Fin` part's signature covers: the `Init` fields and the keccak256 of the
/// concatenated `Data` chunks (the encoded block).
pub fn stream_sign_bytes(chain_id: u64, init: &ProposalInit, block_bytes_hash: B256) -> Vec<u8> {
    let mut b = header(chain_id, Kind::Stream, init.height, init.round);
    b.extend_from_slice(&init.pol_round.as_i64().to_be_bytes());
    b.extend_from_slice(init.proposer.0.as_slice());
    b.extend_from_slice(block_bytes_hash.as_slice());
    b
}

/// The canonical encoding of a block in proposal parts and in sync (JSON, as the store).
pub fn encode_block(block: &Block) -> Result<Bytes> {
    // JSON, as `ledger-db` stores blocks: the ledger's transaction types use serde features
    // postcard cannot decode (a block with transactions failed to decode with postcard).
    serde_json::to_vec(block)
        .map(Bytes::from)
        .map_err(|e| Error::Encode {
            what: "block",
            reason: e.to_string(),
        })
}

/// Decodes [`encode_block`]'s output.
pub fn decode_block(bytes: &[u8]) -> Result<Block> {
    serde_json::from_slice(bytes).map_err(decode_err("block"))
}

/// keccak256 of a block's canonical encoding (what the `Fin` signature commits to).
pub fn block_bytes_hash(chunks: &[Bytes]) -> B256 {
    let mut buf = Vec::with_capacity(chunks.iter().map(Bytes::len).sum());
    for c in chunks {
        buf.extend_from_slice(c);
    }
    keccak256(buf)
}

fn decode_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Decode {
        what,
        reason: e.to_string(),
    }
}

fn encode_err(what: &'static str) -> impl Fn(postcard::Error) -> Error {
    move |e| Error::Encode {
        what,
        reason: e.to_string(),
    }
}

fn sig_bytes(s: &crate::Signature) -> [u8; 64] {
    s.to_bytes()
}

fn sig_from(bytes: &[u8]) -> Result<crate::Signature> {
    Ed25519::decode_signature(bytes).map_err(|e| Error::Decode {
        what: "signature",
        reason: e.to_string(),
    })
}

#[derive(Serialize, Deserialize)]
struct WireVote {
    precommit: bool,
    height: u64,
    round: i64,
    value: Option<B256>,
    validator: ledger::Address,
}

#[derive(Serialize, Deserialize)]
struct WireProposal {
    height: u64,
    round: i64,
    value: B256,
    pol_round: i64,
    proposer: ledger::Address,
}

#[derive(Serialize, Deserialize)]
enum WirePart {
    Init {
        height: u64,
        round: i64,
        pol_round: i64,
        proposer: ledger::Address,
    },
    Data(Vec<u8>),
    Fin(Vec<u8>),
}

/// Encodes a vote (without extension: extensions are unused and never sent).
pub fn encode_vote(v: &Vote) -> Result<Bytes> {
    let w = WireVote {
        precommit: v.vote_type == VoteType::Precommit,
        height: v.height.0,
        round: v.round.as_i64(),
        value: match v.value {
            NilOrVal::Nil => None,
            NilOrVal::Val(id) => Some(id.0),
        },
        validator: v.validator.0,
    };
    postcard::to_stdvec(&w)
        .map(Bytes::from)
        .map_err(encode_err("vote"))
}

/// Decodes [`encode_vote`]'s output.
pub fn decode_vote(bytes: &[u8]) -> Result<Vote> {
    let w: WireVote = postcard::from_bytes(bytes).map_err(decode_err("vote"))?;
    Ok(Vote::new(
        if w.precommit {
            VoteType::Precommit
        } else {
            VoteType::Prevote
        },
        Height(w.height),
        Round::from(w.round),
        w.value
            .map_or(NilOrVal::Nil, |id| NilOrVal::Val(ValueId(id))),
        Address(w.validator),
    ))
}

/// Encodes a proposal.
pub fn encode_proposal(p: &Proposal) -> Result<Bytes> {
    let w = WireProposal {
        height: p.height.0,
        round: p.round.as_i64(),
        value: p.value.id().0,
        pol_round: p.pol_round.as_i64(),
        proposer: p.proposer.0,
    };
    postcard::to_stdvec(&w)
        .map(Bytes::from)
        .map_err(encode_err("proposal"))
}

/// Decodes [`encode_proposal`]'s output.
pub fn decode_proposal(bytes: &[u8]) -> Result<Proposal> {
    let w: WireProposal = postcard::from_bytes(bytes).map_err(decode_err("proposal"))?;
    Ok(Proposal {
        height: Height(w.height),
        round: Round::from(w.round),
        value: Value::from_id(ValueId(w.value)),
        pol_round: Round::from(w.pol_round),
        proposer: Address(w.proposer),
    })
}

/// Encodes a proposal part.
pub fn encode_part(p: &ProposalPart) -> Result<Bytes> {
    let w = match p {
        ProposalPart::Init(i) => WirePart::Init {
            height: i.height.0,
            round: i.round.as_i64(),
            pol_round: i.pol_round.as_i64(),
            proposer: i.proposer.0,
        },
        ProposalPart::Data(d) => WirePart::Data(d.to_vec()),
        ProposalPart::Fin(s) => WirePart::Fin(sig_bytes(s).to_vec()),
    };
    postcard::to_stdvec(&w)
        .map(Bytes::from)
        .map_err(encode_err("proposal part"))
}

/// Decodes [`encode_part`]'s output.
pub fn decode_part(bytes: &[u8]) -> Result<ProposalPart> {
    let w: WirePart = postcard::from_bytes(bytes).map_err(decode_err("proposal part"))?;
    Ok(match w {
        WirePart::Init {
            height,
            round,
            pol_round,
            proposer,
        } => ProposalPart::Init(ProposalInit {
            height: Height(height),
            round: Round::from(round),
            pol_round: Round::from(pol_round),
            proposer: Address(proposer),
        }),
        WirePart::Data(d) => ProposalPart::Data(Bytes::from(d)),
        WirePart::Fin(s) => ProposalPart::Fin(sig_from(&s)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{signing::ConsensusKey, value::tests::block};
    use rand::{SeedableRng, rngs::StdRng};

    fn addr(b: u8) -> Address {
        Address(ledger::Address::repeat_byte(b))
    }

    #[test]
    fn votes_round_trip() {
        for vote in [
            Vote::new(
                VoteType::Prevote,
                Height(9),
                Round::new(2),
                NilOrVal::Nil,
                addr(1),
            ),
            Vote::new(
                VoteType::Precommit,
                Height(u64::MAX),
                Round::Nil,
                NilOrVal::Val(ValueId(B256::repeat_byte(7))),
                addr(2),
            ),
        ] {
            assert_eq!(decode_vote(&encode_vote(&vote).unwrap()).unwrap(), vote);
        }
        assert!(decode_vote(&[0xff]).is_err());
    }

    /// A block with transactions (the ledger's `Call` enum, string amounts) survives the
    /// encoding; with postcard it did not decode, so no proposal with a transaction could pass.
    #[test]
    fn a_block_with_transactions_round_trips() {
        let mut b = block(4, 77);
        let tx = ledger::Tx {
            from: ledger::Address::repeat_byte(7),
            nonce: 3,
            fee: 1_000,
            expiry: 0,
            call: ledger::Call::Transfer {
                to: ledger::Address::repeat_byte(8),
                asset: ledger::NATIVE,
                amount: 12_345,
            },
        };
        let signed = tx.sign_with(1337, |_| Ok::<_, ()>([9u8; 65])).unwrap();
        b.txs.push(signed);
        let bytes = encode_block(&b).unwrap();
        assert_eq!(decode_block(&bytes).unwrap(), b);
    }

    #[test]
    fn proposals_and_parts_round_trip() {
        let b = block(4, 77);
        let p = Proposal {
            height: Height(4),
            round: Round::new(1),
            value: Value::of(&b),
            pol_round: Round::Nil,
            proposer: addr(3),
        };
        assert_eq!(decode_proposal(&encode_proposal(&p).unwrap()).unwrap(), p);

        let key = ConsensusKey::generate(StdRng::seed_from_u64(3));
        let bytes = encode_block(&b).unwrap();
        assert_eq!(decode_block(&bytes).unwrap(), b);
        let init = ProposalInit {
            height: Height(4),
            round: Round::new(1),
            pol_round: Round::new(0),
            proposer: addr(3),
        };
        let sig = key.sign(&stream_sign_bytes(
            5,
            &init,
            block_bytes_hash(std::slice::from_ref(&bytes)),
        ));
        for part in [
            ProposalPart::Init(init),
            ProposalPart::Data(bytes),
            ProposalPart::Fin(sig),
        ] {
            assert_eq!(decode_part(&encode_part(&part).unwrap()).unwrap(), part);
        }
        assert!(decode_part(&[9, 9, 9]).is_err());
    }

    #[test]
    fn sign_bytes_separate_kinds_chains_and_fields() {
        let v = Vote::new(
            VoteType::Prevote,
            Height(1),
            Round::new(0),
            NilOrVal::Nil,
            addr(1),
        );
        let pre = Vote {
            vote_type: VoteType::Precommit,
            ..v.clone()
        };
        let for_zero = Vote {
            value: NilOrVal::Val(ValueId(B256::ZERO)),
            ..v.clone()
        };
        let all = [
            vote_sign_bytes(1, &v),
            vote_sign_bytes(2, &v),
            vote_sign_bytes(1, &pre),
            vote_sign_bytes(1, &for_zero),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(all[0].starts_with(DOMAIN));
    }
}
