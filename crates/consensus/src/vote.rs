//! Votes: prevotes and precommits for a value id or nil.

use malachitebft_core_types::{self as mc, NilOrVal, Round, SignedExtension, VoteType};

use crate::{Address, Ctx, Height, ValueId};

/// A prevote or precommit by one validator at `(height, round)`. Vote extensions are not used
/// ([`crate::Extension`] is `()`); the field exists because Malachite's `Vote` trait carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// The height voted at.
    pub height: Height,
    /// The round voted at.
    pub round: Round,
    /// The value voted for, or nil.
    pub value: NilOrVal<ValueId>,
    /// The voter.
    pub validator: Address,
    /// A signed vote extension (unused).
    pub extension: Option<SignedExtension<Ctx>>,
}

impl Vote {
    /// A vote without extension.
    pub fn new(
        vote_type: VoteType,
        height: Height,
        round: Round,
        value: NilOrVal<ValueId>,
        validator: Address,
    ) -> Self {
        Vote {
            vote_type,
            height,
            round,
            value,
            validator,
            extension: None,
        }
    }
}

impl mc::Vote<Ctx> for Vote {
    fn height(&self) -> Height {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<ValueId> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<ValueId> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        self.vote_type
    }

    fn validator_address(&self) -> &Address {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<Ctx>> {
        self.extension.as_ref()
    }

    fn take_extension(&mut self) -> Option<SignedExtension<Ctx>> {
        self.extension.take()
    }

    fn extend(self, extension: SignedExtension<Ctx>) -> Self {
        Vote {
            extension: Some(extension),
            ..self
        }
    }
}
