//! [`ChainFacts`]: what verification needs from the chain for one authorization, read in
//! parallel (`eth_getCode` of the asset, `authorizationState`, `name()`, `version()`,
//! `balanceOf`, the latest block's time), as a [`LedgerView`] snapshot for
//! `x402_facilitator::verify_exact`.
//!
//! These are the facts the reference facilitator reads through Multicall3 after a failed
//! simulation (`research/x402.md` §2.1 step 9); reading them first lets the pure verifier
//! answer its specific reasons in its order, and the simulation afterwards catches the rest.

use alloy::{eips::BlockId, providers::Provider};
use alloy_primitives::{Address, B256, U256};
use x402_facilitator::LedgerView;

use crate::{
    rpc::{Failure, Rpc},
    token::IEip3009,
};

/// One authorization's view of the chain at the latest block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainFacts {
    pub(crate) chain_id: u64,
    pub(crate) asset: Address,
    pub(crate) authorizer: Address,
    pub(crate) nonce: B256,
    /// `asset` has code.
    pub(crate) deployed: bool,
    /// `(name(), version())`, if both answer.
    pub(crate) domain: Option<(String, String)>,
    /// `authorizationState(authorizer, nonce)`, if it answers.
    pub(crate) used: Option<bool>,
    /// `balanceOf(authorizer)` (zero if it does not answer).
    pub(crate) balance: U256,
    /// The latest block's timestamp.
    pub(crate) block_time: u64,
}

impl ChainFacts {
    /// Reads the facts about `authorizer`'s `nonce` on the token `asset`, all at once.
    pub(crate) async fn read(
        rpc: &Rpc,
        chain_id: u64,
        asset: Address,
        authorizer: Address,
        nonce: B256,
    ) -> Result<Self, Failure> {
        let at = BlockId::latest();
        let code = async {
            rpc.provider
                .get_code_at(asset)
                .block_id(at)
                .await
                .map_err(|e| rpc.failure(&e))
        };
        let block = async {
            rpc.provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .map_err(|e| rpc.failure(&e))
        };
        let (code, name, version, used, balance, block) = tokio::try_join!(
            code,
            rpc.view(asset, IEip3009::nameCall {}, at),
            rpc.view(asset, IEip3009::versionCall {}, at),
            rpc.view(
                asset,
                IEip3009::authorizationStateCall { authorizer, nonce },
                at
            ),
            rpc.view(
                asset,
                IEip3009::balanceOfCall {
                    account: authorizer
                },
                at
            ),
            block,
        )?;
        let block_time = block
            .map(|b| b.header.timestamp)
            .ok_or_else(|| Failure::Transport("no latest block".into()))?;
        Ok(ChainFacts {
            chain_id,
            asset,
            authorizer,
            nonce,
            deployed: !code.is_empty(),
            domain: name.zip(version),
            used,
            balance: balance.unwrap_or_default(),
            block_time,
        })
    }

    /// Facts for a payment that does not decode far enough to name a token and an
    /// authorization: verification rejects it before reading any.
    pub(crate) fn none(chain_id: u64) -> Self {
        ChainFacts {
            chain_id,
            asset: Address::ZERO,
            authorizer: Address::ZERO,
            nonce: B256::ZERO,
            deployed: false,
            domain: None,
            used: None,
            balance: U256::ZERO,
            block_time: 0,
        }
    }

    /// Whether this snapshot is about `(asset, authorizer, nonce)`.
    fn about(&self, asset: Address, authorizer: Address, nonce: Option<B256>) -> bool {
        asset == self.asset
            && authorizer == self.authorizer
            && nonce.is_none_or(|n| n == self.nonce)
    }
}

/// Anything the snapshot was not read for is answered conservatively: no balance, a used
/// nonce, no token.
impl LedgerView for ChainFacts {
    fn balance(&self, asset: Address, owner: Address) -> U256 {
        if self.about(asset, owner, None) {
            self.balance
        } else {
            U256::ZERO
        }
    }

    fn authorization_used(&self, asset: Address, authorizer: Address, nonce: B256) -> bool {
        !self.about(asset, authorizer, Some(nonce)) || self.used.unwrap_or(true)
    }

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// A token is there when the asset has code and answers `name()`, `version()` and
    /// `authorizationState`.
    fn token_domain(&self, asset: Address) -> Option<(&str, &str)> {
        if asset != self.asset || !self.deployed || self.used.is_none() {
            return None;
        }
        self.domain.as_ref().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn facts() -> ChainFacts {
        ChainFacts {
            chain_id: 31337,
            asset: Address::repeat_byte(1),
            authorizer: Address::repeat_byte(2),
            nonce: B256::repeat_byte(3),
            deployed: true,
            domain: Some(("USD Coin".into(), "2".into())),
            used: Some(false),
            balance: U256::from(5),
            block_time: 0,
        }
    }

    #[test]
    fn answers_what_was_read() {
        let f = facts();
        let (asset, who, nonce) = (f.asset, f.authorizer, f.nonce);
        assert_eq!(f.token_domain(asset), Some(("USD Coin", "2")));
        assert!(!f.authorization_used(asset, who, nonce));
        assert_eq!(LedgerView::balance(&f, asset, who), U256::from(5));
    }

    #[test]
    fn anything_else_is_answered_conservatively() {
        let f = facts();
        let (asset, who, nonce) = (f.asset, f.authorizer, f.nonce);
        let other = Address::repeat_byte(9);
        assert_eq!(f.token_domain(other), None);
        assert!(f.authorization_used(other, who, nonce));
        assert!(f.authorization_used(asset, other, nonce));
        assert!(f.authorization_used(asset, who, B256::ZERO));
        assert_eq!(LedgerView::balance(&f, asset, other), U256::ZERO);
        assert_eq!(LedgerView::balance(&f, other, who), U256::ZERO);
    }

    #[test]
    fn no_token_without_code_or_authorization_state() {
        let asset = facts().asset;
        let no_code = ChainFacts {
            deployed: false,
            ..facts()
        };
        assert_eq!(no_code.token_domain(asset), None);
        let no_eip3009 = ChainFacts {
            used: None,
            ..facts()
        };
        assert_eq!(no_eip3009.token_domain(asset), None);
        assert!(no_eip3009.authorization_used(asset, no_eip3009.authorizer, no_eip3009.nonce));
        assert_eq!(ChainFacts::none(1).token_domain(Address::ZERO), None);
    }
}
