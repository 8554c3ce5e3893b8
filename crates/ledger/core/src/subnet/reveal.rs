//! Commit-reveal of weights (subtensor's CRv2, research notes §2): a validator commits
//! `keccak256(abi.encode(account, netuid, uids, values, salt, versionKey))`, and reveals the
//! weights and salt during the epoch after the commit's; earlier is too early, later has
//! expired. Weight copiers then only ever see weights one epoch old. The drand timelock
//! (CRv3/v4) is out of scope.

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolValue;

use super::Subnet;
use crate::error::Reject;

/// The most unrevealed commits per account.
pub const MAX_COMMITS: usize = 10;
/// Epochs between a commit and its reveal (`RevealPeriodEpochs`).
pub const REVEAL_PERIOD_EPOCHS: u64 = 1;

/// The hash a validator commits to.
pub fn commit_hash(
    account: Address,
    netuid: u16,
    uids: &[u16],
    values: &[u16],
    salt: B256,
    version_key: u64,
) -> B256 {
    let encoded = (
        account,
        netuid,
        uids.to_vec(),
        values.to_vec(),
        salt,
        version_key,
    )
        .abi_encode_params();
    keccak256(encoded)
}

fn invalid(reason: String) -> Reject {
    Reject::InvalidWeights { reason }
}

impl Subnet {
    /// Records a commit by `account` at `block`; returns the changed subnet.
    pub fn with_commit(&self, account: &Address, hash: B256, block: u64) -> Result<Subnet, Reject> {
        if !self.hyperparams.commit_reveal {
            return Err(invalid(
                "commit-reveal is off on this subnet; set weights".into(),
            ));
        }
        let uid = self.uid_of(account).ok_or(Reject::NotRegistered {
            netuid: self.netuid,
            account: *account,
        })?;
        self.check_rate_limit(uid, block)?;
        let mut s = self.clone();
        let epoch = s.epoch_index(block);
        let list = s.commits.entry(*account).or_default();
        // Commits that can no longer be revealed are dropped.
        list.retain(|(_, b)| epoch <= self.epoch_index(*b) + REVEAL_PERIOD_EPOCHS);
        if list.len() >= MAX_COMMITS {
            return Err(Reject::RateLimited {
                reason: format!("{MAX_COMMITS} unrevealed commits already"),
            });
        }
        list.push((hash, block));
        s.neurons[usize::from(uid)].last_update = block;
        Ok(s)
    }

    /// Reveals weights committed earlier; returns the changed subnet and the uid.
    pub fn with_reveal(
        &self,
        account: &Address,
        uids: &[u16],
        values: &[u16],
        salt: B256,
        version_key: u64,
        block: u64,
    ) -> Result<(Subnet, u16), Reject> {
        let hash = commit_hash(*account, self.netuid, uids, values, salt, version_key);
        let commits = self.commits.get(account).cloned().unwrap_or_default();
        let Some(pos) = commits.iter().position(|(h, _)| *h == hash) else {
            return Err(invalid(
                "no commit matches these weights, salt and version key".into(),
            ));
        };
        let commit_epoch = self.epoch_index(commits[pos].1);
        let reveal_epoch = commit_epoch + REVEAL_PERIOD_EPOCHS;
        let now = self.epoch_index(block);
        if now < reveal_epoch {
            return Err(invalid(format!(
                "too early: reveal in epoch {reveal_epoch}, this is epoch {now}"
            )));
        }
        if now > reveal_epoch {
            return Err(invalid(format!(
                "the commit expired: it had to be revealed in epoch {reveal_epoch}, this is {now}"
            )));
        }
        let (uid, row) = self.check_weights(account, uids, values, version_key, block, false)?;
        let mut s = self.clone();
        if let Some(list) = s.commits.get_mut(account) {
            list.remove(pos);
            if list.is_empty() {
                s.commits.remove(account);
            }
        }
        s.neurons[usize::from(uid)].weights = row;
        Ok((s, uid))
    }
}
