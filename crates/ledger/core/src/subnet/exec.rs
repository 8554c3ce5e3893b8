//! The subnet calls on the block overlay: each checks everything, then mutates.

use alloy_primitives::Address;

use super::{
    Hyperparams, Market, NetUid, Neuron, SUBNET_LIMIT, Subnet, bumped_burn,
    epoch::RevenueSplit,
    market::{Emitting, emit_block},
    revenue_account,
};
use crate::{
    Amount,
    asset::AssetId,
    asset::NATIVE,
    error::Reject,
    exec::{Overlay, insufficient},
    receipt::Event,
};

impl Overlay<'_> {
    /// What runs at the start of a block, before its transactions: the block's emission
    /// into every subnet's market ([`super::market`]), then the epochs due.
    pub(crate) fn subnets_begin_block(&mut self) {
        let block = self.height;
        if self.base.subnets.is_empty() {
            return;
        }
        let mut markets: Vec<(NetUid, Market)> = self
            .base
            .markets
            .iter()
            .map(|(id, m)| (*id, m.clone()))
            .collect();
        let mut emitting: Vec<Emitting<'_>> = markets
            .iter_mut()
            .filter_map(|(id, market)| {
                let s = self.base.subnets.get(id)?;
                Some(Emitting {
                    market,
                    alpha_out: s.alpha_out,
                    age: block.saturating_sub(s.created_at),
                })
            })
            .collect();
        let out = emit_block(
            &mut emitting,
            self.native_supply,
            self.base.params.share_rule,
        );
        self.native_supply = self.native_supply.saturating_add(out.minted);
        self.markets.extend(markets);
        let due: Vec<NetUid> = self
            .base
            .subnets
            .values()
            .filter(|s| s.epoch_due(block))
            .map(|s| s.netuid)
            .collect();
        for netuid in due {
            let (Some(s), Some(m)) = (
                self.base.subnets.get(&netuid),
                self.markets.get_mut(&netuid),
            ) else {
                continue;
            };
            let mut s = s.clone();
            let mut record = s.run_epoch(m, block);
            record.revenue = self.split_revenue(&s);
            self.subnets.insert(netuid, s);
            self.epochs.push(record);
        }
    }

    /// Pays out every asset the subnet's revenue account holds, as
    /// [`Subnet::revenue_payouts`] says.
    fn split_revenue(&mut self, s: &Subnet) -> Vec<RevenueSplit> {
        let from = revenue_account(s.netuid);
        let held: Vec<(AssetId, Amount)> = self
            .peek_account(&from)
            .map(|a| a.balances.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        let mut splits = Vec::new();
        for (asset, amount) in held {
            let payouts = s.revenue_payouts(amount);
            if payouts.is_empty() {
                continue;
            }
            let mut split = RevenueSplit {
                asset,
                owner: 0,
                miners: 0,
                validators: 0,
            };
            let mut paid: Amount = 0;
            for (i, (to, v)) in payouts.into_iter().enumerate() {
                let bal = self.balance(&to, &asset).saturating_add(v);
                self.account(to).set_balance(asset, bal);
                paid = paid.saturating_add(v);
                if i == 0 {
                    split.owner = v;
                }
            }
            let rest = amount.saturating_sub(paid);
            self.account(from).set_balance(asset, rest);
            // The miners' and validators' totals, as the payouts computed them.
            let (m, v) = s.revenue_sides(amount - split.owner);
            split.miners = m;
            split.validators = v;
            splits.push(split);
        }
        splits
    }

    /// A subnet as this block sees it.
    pub(crate) fn subnet(&self, netuid: NetUid) -> Result<&Subnet, Reject> {
        self.subnets
            .get(&netuid)
            .or_else(|| self.base.subnets.get(&netuid))
            .ok_or(Reject::UnknownSubnet { netuid })
    }

    /// A subnet's market as this block sees it.
    pub(crate) fn market(&self, netuid: NetUid) -> Result<&Market, Reject> {
        self.markets
            .get(&netuid)
            .or_else(|| self.base.markets.get(&netuid))
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
        self.markets.insert(netuid, Market::seeded(lock));
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
        let mut m = self.market(netuid)?.clone();
        let price = s.burn_at(block);
        if price > max_burn {
            return Err(Reject::PriceLimit {
                limit: max_burn.to_string(),
                price: price.to_string(),
            });
        }
        // The burn buys alpha from the pool without fee; that alpha is destroyed (§2).
        let bought = super::pool::mul_div(m.pool.alpha, price, m.pool.tao.saturating_add(price))?;
        if m.pool.alpha - bought < super::pool::MIN_RESERVE {
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
        m.pool.tao = m.pool.tao.saturating_add(price);
        m.pool.alpha -= bought;
        m.record_flow(i128::try_from(price).unwrap_or(i128::MAX));
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
        self.markets.insert(netuid, m);
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
        hotkey: Address,
        amount: Amount,
        limit_price: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let s = self.subnet(netuid)?;
        if hotkey != from && s.uid_of(&hotkey).is_none() {
            // Nominating needs a neuron to back; staking behind oneself does not.
            return Err(Reject::NotRegistered {
                netuid,
                account: hotkey,
            });
        }
        let mut s = s.clone();
        let mut m = self.market(netuid)?.clone();
        let swap = m.pool.buy_alpha(amount, limit_price)?;
        self.debit_native(from, amount)?;
        m.pool = swap.after;
        m.record_flow(i128::try_from(amount).unwrap_or(i128::MAX));
        s.credit_stake(hotkey, from, swap.amount_out);
        self.subnets.insert(netuid, s);
        self.markets.insert(netuid, m);
        events.push(Event::StakeAdded {
            netuid,
            account: from,
            hotkey,
            tao: amount,
            alpha: swap.amount_out,
            slippage_ppm: swap.slippage_ppm,
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn remove_stake(
        &mut self,
        from: Address,
        netuid: NetUid,
        hotkey: Address,
        alpha: Amount,
        limit_price: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let s = self.subnet(netuid)?;
        let have = s.stake_of(&hotkey, &from);
        if have < alpha {
            return Err(Reject::InsufficientStake {
                netuid,
                hotkey,
                need: alpha.to_string(),
                have: have.to_string(),
            });
        }
        let mut s = s.clone();
        let mut m = self.market(netuid)?.clone();
        let swap = m.pool.sell_alpha(alpha, limit_price)?;
        m.pool = swap.after;
        m.record_flow(-i128::try_from(swap.amount_out).unwrap_or(i128::MAX));
        s.debit_stake(hotkey, from, alpha);
        self.subnets.insert(netuid, s);
        self.markets.insert(netuid, m);
        self.credit_native(from, swap.amount_out);
        events.push(Event::StakeRemoved {
            netuid,
            account: from,
            hotkey,
            alpha,
            tao: swap.amount_out,
            slippage_ppm: swap.slippage_ppm,
        });
        Ok(())
    }

    pub(crate) fn serve_endpoint(
        &mut self,
        from: Address,
        netuid: NetUid,
        url: &str,
    ) -> Result<u16, Reject> {
        super::check_endpoint(url)?;
        let s = self.subnet(netuid)?;
        let uid = s.uid_of(&from).ok_or(Reject::NotRegistered {
            netuid,
            account: from,
        })?;
        let mut s = s.clone();
        s.neurons[usize::from(uid)].endpoint = (!url.is_empty()).then(|| url.to_owned());
        self.subnets.insert(netuid, s);
        Ok(uid)
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
