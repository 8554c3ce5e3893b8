//! The market calls and the per-block market work on the block overlay. Each call checks
//! everything, then mutates.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};

use super::{
    Bid, BidState, CloseReason, ComputeCall, ComputeMeta, ComputeParams, Escrow, MAX_ATTRIBUTE_LEN,
    MAX_ATTRIBUTES, MAX_AUDITORS, MAX_BIDS, MAX_PROVIDER_URI_LEN, MAX_REASON_LEN, Order, OrderId,
    OrderState, OrderTerms, Provider, Settlement,
    bme::{self, Contribution},
    escrow_account,
};
use crate::{
    Amount, NATIVE, NATIVE_SUPPLY_CAP,
    asset::AssetId,
    error::{Reject, invalid},
    exec::Overlay,
    receipt::Event,
};

/// The longest lease, in blocks.
pub const MAX_DURATION: u64 = 100_000_000;
/// The longest bid window, in blocks.
pub const MAX_BID_WINDOW: u64 = 1_000_000;

fn check_attributes(what: &str, attrs: &BTreeMap<String, String>) -> Result<(), Reject> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!(
            "{} {what}; the limit is {MAX_ATTRIBUTES}",
            attrs.len()
        )));
    }
    for (k, v) in attrs {
        if k.is_empty() || k.len() > MAX_ATTRIBUTE_LEN || v.len() > MAX_ATTRIBUTE_LEN {
            return Err(invalid(format!(
                "{what}: keys are 1..={MAX_ATTRIBUTE_LEN} bytes and values at most \
                 {MAX_ATTRIBUTE_LEN} (key {k:?})"
            )));
        }
    }
    Ok(())
}

impl Overlay<'_> {
    fn params(&self) -> &ComputeParams {
        &self.base.params.compute
    }

    /// The market bookkeeping, copied into the diff on first use.
    fn meta(&mut self) -> &mut ComputeMeta {
        if self.compute.meta.is_none() {
            self.compute.meta = Some(self.base.compute.meta_or(&self.base.params.compute));
        }
        // Set just above.
        self.compute.meta.get_or_insert_with(ComputeMeta::default)
    }

    /// The market bookkeeping as this block sees it; `None` before the market's first change.
    fn peek_meta(&self) -> Option<&ComputeMeta> {
        self.compute
            .meta
            .as_ref()
            .or(self.base.compute.meta.as_ref())
    }

    fn oracle_price(&self) -> Amount {
        self.peek_meta()
            .map_or(self.params().oracle_price, |m| m.oracle_price)
    }

    /// The ids of the live leases (a copy: the caller mutates leases while going through).
    fn live_leases(&self) -> Vec<OrderId> {
        self.peek_meta()
            .map(|m| m.live_leases.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn provider(&self, a: &Address) -> Option<&Provider> {
        self.compute
            .providers
            .get(a)
            .or_else(|| self.base.compute.providers.get(a))
    }

    fn order_ref(&self, id: OrderId) -> Option<&Order> {
        self.compute
            .orders
            .get(&id)
            .or_else(|| self.base.compute.orders.get(&id))
    }

    fn order(&self, id: OrderId) -> Result<Order, Reject> {
        self.order_ref(id)
            .cloned()
            .ok_or_else(|| invalid(format!("unknown order {id}")))
    }

    fn bid(&self, order: OrderId, provider: Address) -> Option<Bid> {
        self.compute
            .bids
            .get(&(order, provider))
            .or_else(|| self.base.compute.bids.get(&(order, provider)))
            .cloned()
    }

    /// The bids on `order` as this block sees them, in placement order.
    fn bids_of(&self, order: OrderId) -> Vec<Bid> {
        let range = (order, Address::ZERO)..=(order, Address::repeat_byte(0xff));
        let mut all: BTreeMap<Address, Bid> = self
            .base
            .compute
            .bids
            .range(range.clone())
            .map(|((_, p), b)| (*p, b.clone()))
            .collect();
        for ((_, p), b) in self.compute.bids.range(range) {
            all.insert(*p, b.clone());
        }
        let mut bids: Vec<Bid> = all.into_values().collect();
        bids.sort_by_key(|b| b.index);
        bids
    }

    fn lease(&self, id: OrderId) -> Result<super::Lease, Reject> {
        self.compute
            .leases
            .get(&id)
            .or_else(|| self.base.compute.leases.get(&id))
            .cloned()
            .ok_or_else(|| invalid(format!("unknown lease {id}")))
    }

    /// Moves `amount` of `asset` between an account and the escrow.
    pub(crate) fn escrow_in(
        &mut self,
        asset: AssetId,
        from: Address,
        amount: Amount,
    ) -> Result<(), Reject> {
        if amount == 0 {
            return Ok(());
        }
        self.transfer(asset, from, escrow_account(), amount)
    }

    pub(crate) fn escrow_out(
        &mut self,
        asset: AssetId,
        to: Address,
        amount: Amount,
    ) -> Result<(), Reject> {
        if amount == 0 {
            return Ok(());
        }
        self.transfer(asset, escrow_account(), to, amount)
    }

    /// Burns `amount` of native tokens held in the escrow: they leave it and the supply.
    pub(crate) fn escrow_burn(&mut self, amount: Amount) -> Result<(), Reject> {
        let have = self.balance(&escrow_account(), &NATIVE);
        if have < amount {
            return Err(crate::exec::insufficient(NATIVE, amount, have));
        }
        self.account(escrow_account())
            .set_balance(NATIVE, have - amount);
        self.native_supply = self.native_supply.saturating_sub(amount);
        Ok(())
    }

    /// Runs one market call.
    pub(crate) fn compute_call(
        &mut self,
        from: Address,
        call: &ComputeCall,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        match call {
            ComputeCall::RegisterProvider { uri, attributes } => {
                if uri.len() > MAX_PROVIDER_URI_LEN
                    || !(uri.starts_with("http://") || uri.starts_with("https://"))
                {
                    return Err(invalid(format!(
                        "provider URI must be http:// or https:// and at most \
                         {MAX_PROVIDER_URI_LEN} bytes"
                    )));
                }
                check_attributes("attributes", attributes)?;
                let p = match self.provider(&from) {
                    Some(p) => Provider {
                        uri: uri.clone(),
                        attributes: attributes.clone(),
                        ..p.clone()
                    },
                    None => Provider {
                        owner: from,
                        uri: uri.clone(),
                        attributes: attributes.clone(),
                        audited: BTreeMap::new(),
                        registered_at: self.height,
                    },
                };
                self.compute.providers.insert(from, p);
                events.push(Event::ProviderRegistered {
                    provider: from,
                    uri: uri.clone(),
                });
                Ok(())
            }
            ComputeCall::SignAttributes {
                provider,
                attributes,
            } => {
                check_attributes("audited attributes", attributes)?;
                let mut p = self
                    .provider(provider)
                    .cloned()
                    .ok_or_else(|| invalid(format!("{provider} is not a provider")))?;
                if attributes.is_empty() {
                    p.audited.remove(&from);
                } else {
                    p.audited.insert(from, attributes.clone());
                }
                self.compute.providers.insert(*provider, p);
                events.push(Event::AttributesSigned {
                    provider: *provider,
                    auditor: from,
                });
                Ok(())
            }
            ComputeCall::CreateOrder(terms) => self.create_order(from, terms, events),
            ComputeCall::CancelOrder { order } => {
                let mut o = self.order(*order)?;
                if o.tenant != from {
                    return Err(invalid(format!("only the tenant may cancel order {order}")));
                }
                if o.state != OrderState::Open {
                    return Err(invalid(format!("order {order} is not open")));
                }
                o.state = OrderState::Canceled;
                self.end_order(o, None, events)
            }
            ComputeCall::PlaceBid {
                order,
                price,
                collateral,
            } => self.place_bid(from, *order, Some(*price), None, *collateral, events),
            ComputeCall::PlaceSealedBid {
                order,
                ciphertext_hash,
                collateral,
            } => self.place_bid(
                from,
                *order,
                None,
                Some(*ciphertext_hash),
                *collateral,
                events,
            ),
            ComputeCall::AcceptBid { order, provider } => {
                let o = self.order(*order)?;
                if o.tenant != from {
                    return Err(invalid(format!(
                        "only the tenant may accept a bid on order {order}"
                    )));
                }
                if o.state != OrderState::Open || self.height > o.bid_deadline {
                    return Err(invalid(format!(
                        "order {order} is not taking acceptances (state {:?}, deadline {})",
                        o.state, o.bid_deadline
                    )));
                }
                if o.sealed.is_some() {
                    return Err(invalid(format!(
                        "order {order} is sealed: its auctioneer resolves it"
                    )));
                }
                let bid = self
                    .bid(*order, *provider)
                    .ok_or_else(|| invalid(format!("{provider} has no bid on order {order}")))?;
                let price = bid.price.unwrap_or(0);
                self.start_lease(o, bid, price, events)
            }
            ComputeCall::ResolveAuction {
                order,
                winner,
                price_ticks,
            } => {
                let o = self.order(*order)?;
                let s = o
                    .sealed
                    .ok_or_else(|| invalid(format!("order {order} is not sealed")))?;
                if s.auctioneer != from {
                    return Err(invalid(format!(
                        "only the auctioneer {} may resolve order {order}",
                        s.auctioneer
                    )));
                }
                if o.state != OrderState::Open {
                    return Err(invalid(format!("order {order} is not open")));
                }
                if self.height <= o.bid_deadline {
                    return Err(invalid(format!(
                        "order {order} takes bids until block {}",
                        o.bid_deadline
                    )));
                }
                // A sealed zero is a free lease: the provider's own bid.
                let price = s.tick.saturating_mul(Amount::from(*price_ticks));
                if price > o.max_price {
                    return Err(invalid(format!(
                        "winning price {price} is above the max price {}",
                        o.max_price
                    )));
                }
                let bid = self
                    .bids_of(*order)
                    .into_iter()
                    .find(|b| b.index == *winner)
                    .ok_or_else(|| invalid(format!("order {order} has no bid {winner}")))?;
                self.start_lease(o, bid, price, events)
            }
            ComputeCall::DepositLease { lease, amount } => {
                if *amount == 0 {
                    return Err(invalid("amount must be positive"));
                }
                let mut l = self.lease(*lease)?;
                if l.tenant != from {
                    return Err(invalid(format!("only the tenant may fund lease {lease}")));
                }
                let have = self.balance(&from, &l.asset);
                if have < *amount {
                    return Err(crate::exec::insufficient(l.asset, *amount, have));
                }
                // This block is still paid for: the previous head is served.
                let price = self.oracle_price();
                if !l.serves_at(self.height.saturating_sub(1), price) {
                    return Err(invalid(format!(
                        "lease {lease} is not served any more (ended, exhausted or closed)"
                    )));
                }
                self.touch(&mut l, events)?;
                self.escrow_in(l.asset, from, *amount)?;
                l.escrow.deposited = l.escrow.deposited.saturating_add(*amount);
                l.escrow.balance = l.escrow.balance.saturating_add(*amount);
                self.compute.leases.insert(l.id, l);
                Ok(())
            }
            ComputeCall::WithdrawLease { lease } => {
                let mut l = self.lease(*lease)?;
                if l.provider != from {
                    return Err(invalid(format!(
                        "only the provider may withdraw from lease {lease}"
                    )));
                }
                self.touch(&mut l, events)?;
                self.compute.leases.insert(l.id, l);
                Ok(())
            }
            ComputeCall::CloseLease { lease, reason } => {
                if reason.len() > MAX_REASON_LEN {
                    return Err(invalid(format!(
                        "close reason is {} bytes; the limit is {MAX_REASON_LEN}",
                        reason.len()
                    )));
                }
                let l = self.lease(*lease)?;
                if l.closed.is_some() {
                    return Err(invalid(format!("lease {lease} is already closed")));
                }
                let why = if from == l.tenant {
                    CloseReason::Tenant(reason.clone())
                } else if from == l.provider {
                    CloseReason::Provider(reason.clone())
                } else {
                    return Err(invalid(format!(
                        "only the tenant or the provider may close lease {lease}"
                    )));
                };
                self.close_lease(l, why, events)
            }
            ComputeCall::SetOraclePrice { price } => {
                let oracle = self.params().oracle;
                if oracle == Address::ZERO || oracle != from {
                    return Err(invalid("only the market's oracle may set the price"));
                }
                if *price == 0 {
                    return Err(invalid("price must be positive"));
                }
                // Burn leases pay for the blocks so far at the price they ran at.
                for id in self.live_leases() {
                    let mut l = self.lease(id)?;
                    if l.settlement == Settlement::Burn && l.closed.is_none() {
                        self.touch(&mut l, events)?;
                        self.compute.leases.insert(id, l);
                    }
                }
                self.meta().oracle_price = *price;
                events.push(Event::OraclePriceSet { price: *price });
                Ok(())
            }
        }
    }

    fn create_order(
        &mut self,
        from: Address,
        n: &OrderTerms,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let spec = &n.spec;
        if spec.capacity_rps == 0 {
            return Err(invalid("capacity must be at least 1 request per second"));
        }
        check_attributes("required attributes", &spec.attributes)?;
        if spec.auditors.len() > MAX_AUDITORS {
            return Err(invalid(format!(
                "{} auditors; the limit is {MAX_AUDITORS}",
                spec.auditors.len()
            )));
        }
        if n.duration == 0 || n.duration > MAX_DURATION {
            return Err(invalid(format!(
                "duration must be 1..={MAX_DURATION} blocks"
            )));
        }
        if n.bid_window == 0 || n.bid_window > MAX_BID_WINDOW {
            return Err(invalid(format!(
                "bid window must be 1..={MAX_BID_WINDOW} blocks"
            )));
        }
        if n.max_price == 0 {
            return Err(invalid("max price must be positive"));
        }
        match n.settlement {
            Settlement::Pay => self.require_asset(&n.asset)?,
            Settlement::Burn if n.asset != NATIVE => {
                return Err(invalid(
                    "a burn order's deposit is in the native token (asset 0x0)",
                ));
            }
            Settlement::Burn => {}
        }
        // The deposit pays at least one block at the highest price.
        let one_block = match n.settlement {
            Settlement::Pay => n.max_price,
            Settlement::Burn => bme::burn_for(n.max_price, self.oracle_price()),
        };
        if n.deposit < one_block {
            return Err(invalid(format!(
                "deposit {} does not pay one block at the max price ({one_block})",
                n.deposit
            )));
        }
        if let Some(s) = &n.sealed {
            if s.tick == 0 || s.auctioneer == Address::ZERO || s.key_hash == B256::ZERO {
                return Err(invalid(
                    "a sealed order needs an auctioneer, a key hash and a positive tick",
                ));
            }
            if s.tick > n.max_price {
                return Err(invalid("the tick is above the max price"));
            }
        }
        self.escrow_in(n.asset, from, n.deposit)?;
        let id = self.peek_meta().map_or(0, |m| m.next_order);
        let meta = self.meta();
        meta.next_order = id.saturating_add(1);
        meta.open_orders.insert(id);
        let order = Order {
            id,
            tenant: from,
            spec: spec.clone(),
            asset: n.asset,
            settlement: n.settlement,
            max_price: n.max_price,
            duration: n.duration,
            deposit: n.deposit,
            min_collateral: n.min_collateral,
            bid_deadline: self.height.saturating_add(n.bid_window),
            sealed: n.sealed,
            bid_count: 0,
            state: OrderState::Open,
            created_at: self.height,
        };
        events.push(Event::OrderCreated {
            order: id,
            tenant: from,
            bid_deadline: order.bid_deadline,
            sealed: order.sealed.is_some(),
        });
        self.compute.orders.insert(id, order);
        Ok(())
    }

    fn place_bid(
        &mut self,
        from: Address,
        order: OrderId,
        price: Option<Amount>,
        ciphertext_hash: Option<B256>,
        collateral: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        let mut o = self.order(order)?;
        if o.state != OrderState::Open || self.height > o.bid_deadline {
            return Err(invalid(format!(
                "order {order} is not taking bids (state {:?}, deadline {})",
                o.state, o.bid_deadline
            )));
        }
        match (o.sealed.is_some(), price) {
            (true, Some(_)) => {
                return Err(invalid(format!(
                    "order {order} is sealed: bid with an encrypted price"
                )));
            }
            (false, None) => {
                return Err(invalid(format!("order {order} takes clear bids")));
            }
            _ => {}
        }
        if from == o.tenant {
            return Err(invalid("a tenant cannot bid on its own order"));
        }
        let p = self
            .provider(&from)
            .ok_or_else(|| invalid(format!("{from} is not a registered provider")))?;
        if !p.satisfies(&o.spec.attributes, &o.spec.auditors) {
            return Err(invalid(format!(
                "provider {from} lacks attributes order {order} requires"
            )));
        }
        if p.capacity_rps() < o.spec.capacity_rps {
            return Err(invalid(format!(
                "provider {from} declares {} requests/s; order {order} needs {}",
                p.capacity_rps(),
                o.spec.capacity_rps
            )));
        }
        if let Some(price) = price
            && (price == 0 || price > o.max_price)
        {
            return Err(invalid(format!(
                "price {price} is outside 1..={}",
                o.max_price
            )));
        }
        if collateral < o.min_collateral {
            return Err(invalid(format!(
                "collateral {collateral} is below the order's minimum {}",
                o.min_collateral
            )));
        }
        if self.bid(order, from).is_some() {
            return Err(invalid(format!("{from} already bid on order {order}")));
        }
        if usize::from(o.bid_count) >= MAX_BIDS {
            return Err(invalid(format!(
                "order {order} has {MAX_BIDS} bids, the most it takes"
            )));
        }
        self.escrow_in(NATIVE, from, collateral)?;
        let bid = Bid {
            order,
            index: o.bid_count,
            provider: from,
            price,
            ciphertext_hash,
            collateral,
            state: BidState::Open,
            placed_at: self.height,
        };
        events.push(Event::BidPlaced {
            order,
            provider: from,
            index: bid.index,
            price,
        });
        o.bid_count = o.bid_count.saturating_add(1);
        self.compute.bids.insert((order, from), bid);
        self.compute.orders.insert(order, o);
        Ok(())
    }

    /// The order is won by `bid` at `price`: the lease starts, other bids are refunded.
    fn start_lease(
        &mut self,
        mut o: Order,
        mut bid: Bid,
        price: Amount,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        if bid.state != BidState::Open {
            return Err(invalid(format!("bid {} is not open", bid.index)));
        }
        o.state = OrderState::Leased;
        bid.state = BidState::Won;
        bid.price = Some(price);
        let lease = super::Lease {
            id: o.id,
            provider: bid.provider,
            tenant: o.tenant,
            asset: o.asset,
            settlement: o.settlement,
            rate: price,
            capacity_rps: o.spec.capacity_rps,
            start: self.height,
            end: self.height.saturating_add(o.duration),
            collateral: bid.collateral,
            escrow: Escrow {
                deposited: o.deposit,
                balance: o.deposit,
                settled_at: self.height,
                paid: 0,
                refunded: 0,
            },
            closed: None,
        };
        events.push(Event::LeaseStarted {
            lease: o.id,
            provider: bid.provider,
            rate: price,
        });
        self.compute.bids.insert((o.id, bid.provider), bid.clone());
        self.meta().live_leases.insert(o.id);
        self.compute.leases.insert(o.id, lease);
        self.end_order(o, Some(bid.provider), events)
    }

    /// Closes the bidding of `o` (leased, canceled or lapsed): refunds every open bid's
    /// collateral, and the deposit unless a lease took it.
    fn end_order(
        &mut self,
        o: Order,
        winner: Option<Address>,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        for mut b in self.bids_of(o.id) {
            if Some(b.provider) == winner || b.state != BidState::Open {
                continue;
            }
            self.escrow_out(NATIVE, b.provider, b.collateral)?;
            b.state = BidState::Lost;
            self.compute.bids.insert((o.id, b.provider), b);
        }
        if winner.is_none() {
            self.escrow_out(o.asset, o.tenant, o.deposit)?;
            events.push(Event::OrderClosed {
                order: o.id,
                state: o.state,
            });
        }
        self.meta().open_orders.remove(&o.id);
        self.compute.orders.insert(o.id, o);
        Ok(())
    }

    /// Settles `l` at this block: pays the provider (or burns) what is owed.
    fn touch(&mut self, l: &mut super::Lease, events: &mut Vec<Event>) -> Result<(), Reject> {
        let price = self.oracle_price();
        let s = l.settle(self.height, price);
        if s.amount == 0 {
            return Ok(());
        }
        match l.settlement {
            Settlement::Pay => self.escrow_out(l.asset, l.provider, s.amount)?,
            Settlement::Burn => {
                self.escrow_burn(s.amount)?;
                let meta = self.meta();
                meta.burned = meta.burned.saturating_add(s.amount);
            }
        }
        events.push(Event::LeaseSettled {
            lease: l.id,
            blocks: s.blocks,
            amount: s.amount,
            burned: l.settlement == Settlement::Burn,
        });
        Ok(())
    }

    fn close_lease(
        &mut self,
        mut l: super::Lease,
        why: CloseReason,
        events: &mut Vec<Event>,
    ) -> Result<(), Reject> {
        self.touch(&mut l, events)?;
        let refund = l.escrow.balance;
        self.escrow_out(l.asset, l.tenant, refund)?;
        self.escrow_out(NATIVE, l.provider, l.collateral)?;
        l.escrow.balance = 0;
        l.escrow.refunded = l.escrow.refunded.saturating_add(refund);
        events.push(Event::LeaseClosed {
            lease: l.id,
            reason: why.clone(),
            refunded: refund,
        });
        l.closed = Some((self.height, why));
        self.compute.leases.insert(l.id, l);
        Ok(())
    }

    /// The market's work at the start of a block: orders past their deadline are decided,
    /// and every [`ComputeParams::epoch_blocks`] the emission is minted and finished leases
    /// are closed. Nothing here can fail for a caller's input; an internal inconsistency
    /// leaves the affected object as it is.
    pub(crate) fn compute_begin_block(&mut self) {
        let h = self.height;
        let due: Vec<OrderId> = self
            .peek_meta()
            .into_iter()
            .flat_map(|m| m.open_orders.iter().copied())
            .filter(|id| self.order_ref(*id).is_some_and(|o| h > o.bid_deadline))
            .collect();
        let mut sink = Vec::new();
        for id in due {
            let Ok(o) = self.order(id) else { continue };
            let _ = self.decide(o, &mut sink);
        }
        let epoch = self.params().epoch_blocks;
        if epoch > 0 && h > 0 && h.is_multiple_of(epoch) {
            self.emission_epoch(h.saturating_sub(epoch), h);
        }
    }

    /// An order past its deadline: the lowest clear bid wins; a sealed order waits for its
    /// auctioneer until the resolve timeout; otherwise it lapses.
    fn decide(&mut self, mut o: Order, events: &mut Vec<Event>) -> Result<(), Reject> {
        let bids: Vec<Bid> = self
            .bids_of(o.id)
            .into_iter()
            .filter(|b| b.state == BidState::Open)
            .collect();
        if o.sealed.is_some() {
            let timeout = self.params().resolve_timeout;
            if !bids.is_empty() && self.height <= o.bid_deadline.saturating_add(timeout) {
                return Ok(());
            }
        } else if let Some(best) = bids
            .iter()
            .min_by_key(|b| (b.price.unwrap_or(Amount::MAX), b.index))
        {
            let price = best.price.unwrap_or(0);
            return self.start_lease(o, best.clone(), price, events);
        }
        o.state = OrderState::Lapsed;
        self.end_order(o, None, events)
    }

    /// Mints the epoch `[from, to)`'s emission over the providers' work and availability,
    /// then closes leases that ended or ran dry and drops closed ones from the live set.
    fn emission_epoch(&mut self, from: u64, to: u64) {
        let price = self.oracle_price();
        let epochs = self.peek_meta().map_or(0, |m| m.epochs);
        let mut contributions: BTreeMap<Address, Contribution> = BTreeMap::new();
        let mut finished = Vec::new();
        for id in self.live_leases() {
            let Ok(l) = self.lease(id) else { continue };
            let blocks = l.served_blocks(from, to, price);
            let c = contributions.entry(l.provider).or_default();
            c.blocks = c.blocks.saturating_add(blocks);
            if l.settlement == Settlement::Burn {
                c.work_usd = c
                    .work_usd
                    .saturating_add(l.rate.saturating_mul(Amount::from(blocks)));
            }
            if l.serving_until(price) <= to {
                finished.push(l);
            }
        }
        let params = *self.params();
        let room = NATIVE_SUPPLY_CAP.saturating_sub(self.native_supply);
        let emission = bme::emission(&params, epochs).min(room);
        let shares = bme::distribute(emission, params.work_share_bps, &contributions);
        let mut minted: Amount = 0;
        for (who, amount) in shares {
            let bal = self.balance(&who, &NATIVE).saturating_add(amount);
            self.account(who).set_balance(NATIVE, bal);
            minted = minted.saturating_add(amount);
        }
        self.native_supply = self.native_supply.saturating_add(minted);
        let m = self.meta();
        m.epochs = m.epochs.saturating_add(1);
        m.minted = m.minted.saturating_add(minted);
        let mut sink = Vec::new();
        for l in finished {
            let id = l.id;
            if l.closed.is_none() {
                let why = if to >= l.end {
                    CloseReason::Ended
                } else {
                    CloseReason::Exhausted
                };
                if self.close_lease(l, why, &mut sink).is_err() {
                    continue;
                }
            }
            self.meta().live_leases.remove(&id);
        }
    }
}
