//! The subnet calls on the block overlay: each checks everything, then mutates.

use alloy_primitives::Address;

use super::{Hyperparams, NetUid, Neuron, SUBNET_LIMIT, Subnet, bumped_burn};
use crate::{
    Amount,
    asset::NATIVE,
    error::Reject,
    exec::{Overlay, insufficient},
    receipt::Event,
};

impl Overlay<'_> {
    /// Runs the epochs due at this block, before its transactions.
    pub(crate) fn run_epochs(&mut self) {
        let block = self.height;
        let due: Vec<NetUid> = self
            .base
            .subnets
            .values()
            .filter(|s| s.epoch_due(block))
            .map(|s| s.netuid)
            .collect();
        for netuid in due {
            if let Ok(s) = self.subnet(netuid) {
                let mut s = s.clone();
                s.run_epoch(block);
                self.subnets.insert(netuid, s);
            }
        }
    }

    /// A subnet as this block sees it.
    pub(crate) fn subnet(&self, netuid: NetUid) -> Result<&Subnet, Reject> {
        self.subnets
            .get(&netuid)
            .or_else(|| self.base.subnets.get(&netuid))
            .ok_or(Reject::UnknownSubnet { netuid })
    }

    fn subnet_count(&self) -> usize {
        let new = self
            .subnets
            .keys()
            .filter(|k| !self.base.subnets.contains_key(k))
            .count();
        self.base.subnets.len() + new
    }

    fn debit_native(&mut self, from: Address, amount: Amount) -> Result<(), Reject> {
        let have = self.balance(&from, &NATIVE);
        if have < amount {
            return Err(insufficient(NATIVE, amount, have));
        }
        self.account(from).set_balance(NATIVE, have - amount);
        Ok(())
    }

    fn credit_native(&mut self, to: Address, amount: Amount) {
        let bal = self.balance(&to, &NATIVE).saturating_add(amount);
        self.account(to).set_balance(NATIVE, bal);
    }

    pub(crate) fn create_subnet(
        &mut self,
        from: Address,
        max_lock_cost: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let block = self.height;
        let lock = self.network.lock_cost(block);
        if lock > max_lock_cost {
            return Err(Reject::PriceLimit {
                limit: max_lock_cost.to_string(),
                price: lock.to_string(),
            });
        }
        if self.subnet_count() >= SUBNET_LIMIT {
            return Err(Reject::InvalidCall {
                reason: format!("the ledger already holds {SUBNET_LIMIT} subnets"),
            });
        }
        let netuid =
            (1..=NetUid::MAX)
                .find(|n| self.subnet(*n).is_err())
                .ok_or(Reject::InvalidCall {
                    reason: "no free subnet id".into(),
                })?;
        self.debit_native(from, lock)?;
        let hyperparams = Hyperparams::default();
        let burn = 1_000_000_000u128.clamp(hyperparams.min_burn, hyperparams.max_burn);
        let subnet = Subnet {
            netuid,
            owner: from,
            created_at: block,
            locked: lock,
            hyperparams,
            pool: super::Pool {
                tao: lock,
                alpha: lock,
            },
            alpha_out: 0,
            stakes: Default::default(),
            burn,
            burn_block: block,
            neurons: vec![Neuron::new(from, block)],
            last_epoch: 0,
            hyperparams_set_at: Default::default(),
            commits: Default::default(),
        };
        self.subnets.insert(netuid, subnet);
        self.network.last_lock = lock;
        self.network.last_lock_block = block;
        self.network_changed = true;
        events.push(Event::SubnetCreated {
            netuid,
            owner: from,
            lock,
        });
        events.push(Event::NeuronRegistered {
            netuid,
            uid: 0,
            account: from,
            burn: 0,
            replaced: None,
        });
        Ok(())
    }

    pub(crate) fn register_neuron(
        &mut self,
        from: Address,
        netuid: NetUid,
        max_burn: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let block = self.height;
        let mut s = self.subnet(netuid)?.clone();
        if s.uid_of(&from).is_some() {
            return Err(Reject::AlreadyRegistered {
                netuid,
                account: from,
            });
        }
        let price = s.burn_at(block);
        if price > max_burn {
            return Err(Reject::PriceLimit {
                limit: max_burn.to_string(),
                price: price.to_string(),
            });
        }
        // The burn buys alpha from the pool without fee; that alpha is destroyed (§2).
        let bought = super::pool::mul_div(s.pool.alpha, price, s.pool.tao.saturating_add(price))?;
        if s.pool.alpha - bought < super::pool::MIN_RESERVE {
            return Err(Reject::InvalidCall {
                reason: "the registration would drain the alpha reserve".into(),
            });
        }
        let full = s.neurons.len() >= usize::from(s.hyperparams.max_uids);
        let (uid, replaced) = if full {
            let uid = s.uid_to_prune(block).ok_or(Reject::InvalidCall {
                reason: format!("subnet {netuid} is full and no neuron can be replaced"),
            })?;
            let old = s.neurons[usize::from(uid)].account;
            (uid, Some(old))
        } else {
            let uid = u16::try_from(s.neurons.len()).map_err(|_| Reject::InvalidCall {
                reason: "too many uids".into(),
            })?;
            (uid, None)
        };
        self.debit_native(from, price)?;
        s.pool.tao = s.pool.tao.saturating_add(price);
        s.pool.alpha -= bought;
        let neuron = Neuron::new(from, block);
        if replaced.is_some() {
            // Replacement clears the uid's bonds and weights and the weights pointing to it.
            s.neurons[usize::from(uid)] = neuron;
            for n in &mut s.neurons {
                n.weights.retain(|(j, _)| *j != uid);
                n.bonds.retain(|(j, _)| *j != uid);
            }
        } else {
            s.neurons.push(neuron);
        }
        s.burn = bumped_burn(price, s.hyperparams.max_burn);
        s.burn_block = block;
        self.subnets.insert(netuid, s);
        events.push(Event::NeuronRegistered {
            netuid,
            uid,
            account: from,
            burn: price,
            replaced,
        });
        Ok(())
    }

    pub(crate) fn add_stake(
        &mut self,
        from: Address,
        netuid: NetUid,
        amount: Amount,
        limit_price: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut s = self.subnet(netuid)?.clone();
        let swap = s.pool.buy_alpha(amount, limit_price)?;
        self.debit_native(from, amount)?;
        s.pool = swap.after;
        s.alpha_out = s.alpha_out.saturating_add(swap.amount_out);
        let st = s.stake(&from).saturating_add(swap.amount_out);
        s.stakes.insert(from, st);
        self.subnets.insert(netuid, s);
        events.push(Event::StakeAdded {
            netuid,
            account: from,
            tao: amount,
            alpha: swap.amount_out,
            slippage_ppm: swap.slippage_ppm,
        });
        Ok(())
    }

    pub(crate) fn remove_stake(
        &mut self,
        from: Address,
        netuid: NetUid,
        alpha: Amount,
        limit_price: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut s = self.subnet(netuid)?.clone();
        let have = s.stake(&from);
        if have < alpha {
            return Err(Reject::InsufficientFunds {
                asset: NATIVE,
                need: format!("{alpha} alpha on subnet {netuid}"),
                have: format!("{have} alpha"),
            });
        }
        let swap = s.pool.sell_alpha(alpha, limit_price)?;
        s.pool = swap.after;
        s.alpha_out -= alpha;
        if have == alpha {
            s.stakes.remove(&from);
        } else {
            s.stakes.insert(from, have - alpha);
        }
        self.subnets.insert(netuid, s);
        self.credit_native(from, swap.amount_out);
        events.push(Event::StakeRemoved {
            netuid,
            account: from,
            alpha,
            tao: swap.amount_out,
            slippage_ppm: swap.slippage_ppm,
        });
        Ok(())
    }

    pub(crate) fn set_hyperparameter(
        &mut self,
        from: Address,
        netuid: NetUid,
        name: &str,
        value: u64,
    ) -> Result<(), Reject> {
        let s = self
            .subnet(netuid)?
            .with_hyperparameter(&from, name, value, self.height)?;
        self.subnets.insert(netuid, s);
        Ok(())
    }

    pub(crate) fn commit_weights(
        &mut self,
        from: Address,
        netuid: NetUid,
        hash: alloy_primitives::B256,
    ) -> Result<(), Reject> {
        let s = self.subnet(netuid)?.with_commit(&from, hash, self.height)?;
        self.subnets.insert(netuid, s);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn reveal_weights(
        &mut self,
        from: Address,
        netuid: NetUid,
        uids: &[u16],
        values: &[u16],
        salt: alloy_primitives::B256,
        version_key: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let (s, uid) = self.subnet(netuid)?.with_reveal(
            &from,
            uids,
            values,
            salt,
            version_key,
            self.height,
        )?;
        self.subnets.insert(netuid, s);
        events.push(Event::WeightsSet { netuid, uid });
        Ok(())
    }

    pub(crate) fn set_weights(
        &mut self,
        from: Address,
        netuid: NetUid,
        uids: &[u16],
        values: &[u16],
        version_key: u64,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let block = self.height;
        let s = self.subnet(netuid)?;
        if s.hyperparams.commit_reveal {
            return Err(Reject::InvalidWeights {
                reason: "commit-reveal is on: commit, then reveal in the next epoch".into(),
            });
        }
        let (uid, row) = s.check_weights(&from, uids, values, version_key, block, true)?;
        let mut s = s.clone();
        let n = &mut s.neurons[usize::from(uid)];
        n.weights = row;
        n.last_update = block;
        self.subnets.insert(netuid, s);
        events.push(Event::WeightsSet { netuid, uid });
        Ok(())
    }
}
