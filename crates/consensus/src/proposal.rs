//! Proposals and the parts a proposal is streamed in.

use bytes::Bytes;
use malachitebft_core_types::{self as mc, Round};

use crate::{Address, Ctx, Height, Signature, Value};

/// A proposal: `value` proposed by `proposer` at `(height, round)`, re-proposed from
/// `pol_round` (nil if new). Malachite signs it and gossips it with the block hash only; the
/// block itself travels as [`ProposalPart`]s (`ValuePayload::ProposalAndParts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// The proposed block.
    pub value: Value,
    /// The proof-of-lock round, nil for a fresh value.
    pub pol_round: Round,
    /// Who proposes.
    pub proposer: Address,
}

impl mc::Proposal<Ctx> for Proposal {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &Value {
        &self.value
    }

    fn take_value(self) -> Value {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &Address {
        &self.proposer
    }
}

/// One part of a streamed proposal: `Init`, then `Data` chunks of the encoded block, then `Fin`
/// with the proposer's signature over all of it (see [`crate::codec::stream_sign_bytes`]).
/// The shape follows Malachite's example channel app (`code/examples/channel/src/streaming.rs`
/// and its `ProposalPart`), with our block as the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalPart {
    /// Opens the stream: where and by whom.
    Init(ProposalInit),
    /// A chunk of the block's canonical encoding ([`crate::codec::encode_block`]).
    Data(Bytes),
    /// Closes the stream: the proposer's ed25519 signature.
    Fin(Signature),
}

/// The first part of a streamed proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalInit {
    /// The height.
    pub height: Height,
    /// The round.
    pub round: Round,
    /// The proof-of-lock round, nil for a fresh value.
    pub pol_round: Round,
    /// Who proposes.
    pub proposer: Address,
}

impl mc::ProposalPart<Ctx> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, ProposalPart::Init(_))
    }

    fn is_last(&self) -> bool {
        matches!(self, ProposalPart::Fin(_))
    }
}
