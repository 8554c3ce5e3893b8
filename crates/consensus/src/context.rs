//! Malachite's `Context` for the Symbiont ledger: which types consensus runs on.

use malachitebft_core_types::{self as mc, LinearTimeouts, NilOrVal, Round, VoteType};

use crate::{
    Address, Ed25519, Height, Proposal, ProposalPart, Validator, ValidatorSet, Value, ValueId, Vote,
};

/// The consensus context of the Symbiont ledger. Stateless: the validator set and the chain
/// id travel with the height parameters and the signer/verifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SymbiontContext;

impl mc::Context for SymbiontContext {
    type Address = Address;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = Validator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = Value;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Ed25519;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a Validator {
        validator_set.proposer(height, round)
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: Value,
        pol_round: Round,
        address: Address,
    ) -> Proposal {
        Proposal {
            height,
            round,
            value,
            pol_round,
            proposer: address,
        }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<ValueId>,
        address: Address,
    ) -> Vote {
        Vote::new(VoteType::Prevote, height, round, value_id, address)
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<ValueId>,
        address: Address,
    ) -> Vote {
        Vote::new(VoteType::Precommit, height, round, value_id, address)
    }
}
