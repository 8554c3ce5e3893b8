//! The compute market (ADR 0004; research notes `shared/research/compute.md` §1): providers
//! with attributes, orders for capacity, bids (clear or sealed), leases paid from escrow with
//! lazy settlement, and the burn-mint accounting.
//!
//! - A **provider** is an account that registered its gateway URI and attributes
//!   (`region`, `model/<name>`, `capacity/rps`, hardware tags). Any account may act as an
//!   auditor and sign attributes of a provider (Akash's audited attributes); an order names
//!   the auditors it trusts.
//! - A tenant's **order** asks for `capacity_rps` requests per second from a provider whose
//!   attributes match, at most `max_price` per block, for `duration` blocks, with a deposit
//!   held in escrow. Providers **bid** until `bid_deadline` with native collateral. The tenant
//!   may accept any clear bid before the deadline; after it the lowest clear bid wins (ties to
//!   the earliest), or, for a sealed order, the auctioneer resolves the encrypted auction
//!   within [`ComputeParams::resolve_timeout`] blocks. An order nobody wins lapses and
//!   everything is refunded.
//! - A **lease** pays the provider `rate` per block from the escrow, lazily: nothing moves per
//!   block; every touch settles `rate × (min(h, serving_until) − settled_at)`
//!   ([`Lease::settle`]). The cut-off `paid_until = settled_at + balance / draw` needs no
//!   touch, so a lease stops being served at the block its funds run out
//!   ([`Lease::serving_until`]).
//! - **Burn-mint** ([`bme`]): a lease with [`Settlement::Burn`] is priced in USD base units and
//!   paid in native tokens burned at the oracle price; every [`ComputeParams::epoch_blocks`]
//!   a fixed emission is minted to providers pro rata over their work (USD served) and
//!   availability (blocks served), independent of the burn.
//!
//! Funds in escrow (order deposits, lease balances, collateral) sit in
//! [`escrow_account`], which no key controls, so an asset's supply equals the sum of balances
//! throughout.

pub mod bme;
pub(crate) mod exec;
pub mod typed;

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};

use crate::{
    Amount,
    asset::AssetId,
    util::{amount_str, u64_str},
};

/// An order id; its lease has the same id.
pub type OrderId = u64;

/// The most attributes a provider declares, an auditor signs, or an order requires.
pub const MAX_ATTRIBUTES: usize = 32;
/// The longest attribute key or value.
pub const MAX_ATTRIBUTE_LEN: usize = 128;
/// The longest provider URI.
pub const MAX_PROVIDER_URI_LEN: usize = 256;
/// The most auditors an order names.
pub const MAX_AUDITORS: usize = 8;
/// The most bids an order takes (a sealed auction's index is a `u8`).
pub const MAX_BIDS: usize = 32;
/// The longest close reason.
pub const MAX_REASON_LEN: usize = 256;
/// The attribute holding a provider's capacity in requests per second.
pub const CAPACITY_RPS: &str = "capacity/rps";

/// The account holding every escrowed amount; nobody holds its key.
pub fn escrow_account() -> Address {
    Address::from_slice(&keccak256(b"symbiont/compute/escrow")[12..])
}

/// Market parameters fixed at genesis (`compute` in the genesis file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ComputeParams {
    /// Who may set the oracle price ([`ComputeParams::oracle_price`] initially); zero for
    /// nobody.
    pub oracle: Address,
    /// The oracle price at genesis, native base units per whole USD (so 5·10^8 is 2 USD per
    /// token): a burn lease burns `ceil(rate × price / 10^6)` per block for a rate in USD base
    /// units ([`bme::burn_for`]).
    #[serde(with = "amount_str")]
    pub oracle_price: Amount,
    /// Blocks per emission epoch.
    pub epoch_blocks: u64,
    /// Native base units minted per epoch in the first era ([`bme::emission`]).
    #[serde(with = "amount_str")]
    pub epoch_emission: Amount,
    /// Epochs per era; the emission halves each era (0: never).
    pub halving_epochs: u64,
    /// The share of each epoch's emission paid over work (USD served), in basis points; the
    /// rest is paid over availability (blocks served).
    pub work_share_bps: u16,
    /// Blocks after a sealed order's bid deadline within which its auctioneer must resolve
    /// it; then the order lapses.
    pub resolve_timeout: u64,
}

impl Default for ComputeParams {
    fn default() -> Self {
        ComputeParams {
            oracle: Address::ZERO,
            // 1 native token = 2 USD: 5·10^8 native base units per USD.
            oracle_price: 500_000_000,
            epoch_blocks: 100,
            // 100 native tokens per epoch.
            epoch_emission: 100_000_000_000,
            halving_epochs: 10_000,
            work_share_bps: 8_000,
            // Resolving 8 bids takes seconds of CPU (more on a busy or small machine): a
            // generous window before an unresolved order lapses.
            resolve_timeout: 1_000,
        }
    }
}

/// A provider: who serves leases, where, and with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    /// Its account (the provider id).
    pub owner: Address,
    /// Its gateway's base URL.
    pub uri: String,
    /// Self-declared attributes.
    pub attributes: BTreeMap<String, String>,
    /// Attributes signed by auditors, by auditor.
    pub audited: BTreeMap<Address, BTreeMap<String, String>>,
    /// The block it registered at.
    pub registered_at: u64,
}

impl Provider {
    /// Whether it has every attribute `required` asks for: self-declared or audited by
    /// anyone when `auditors` is empty, audited by one of `auditors` otherwise.
    pub fn satisfies(&self, required: &BTreeMap<String, String>, auditors: &[Address]) -> bool {
        required.iter().all(|(k, v)| {
            if auditors.is_empty() {
                self.attributes.get(k) == Some(v)
                    || self.audited.values().any(|a| a.get(k) == Some(v))
            } else {
                auditors
                    .iter()
                    .filter_map(|a| self.audited.get(a))
                    .any(|a| a.get(k) == Some(v))
            }
        })
    }

    /// Its declared capacity in requests per second (0 if it declares none).
    pub fn capacity_rps(&self) -> u32 {
        self.attributes
            .get(CAPACITY_RPS)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// How a lease pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Settlement {
    /// The escrow, in the order's asset, pays the provider (Akash).
    #[default]
    Pay,
    /// Prices are USD base units; the escrow holds native tokens, burned at the oracle price
    /// as the lease is used; providers earn the epoch emission (Render's burn-mint).
    Burn,
}

impl Settlement {
    /// The code signed in the EIP-712 struct.
    pub fn code(self) -> u8 {
        match self {
            Settlement::Pay => 0,
            Settlement::Burn => 1,
        }
    }
}

/// What the tenant asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderSpec {
    /// Requests per second the provider serves the tenant.
    pub capacity_rps: u32,
    /// Attributes the provider must have (e.g. `model/all-minilm-l6-v2 = true`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Auditors whose signature the attributes need; empty accepts self-declared ones.
    #[serde(default)]
    pub auditors: Vec<Address>,
}

/// A sealed order's auction: who resolves it and the hash of its FHE public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sealed {
    /// The account that holds the auction's FHE keys and resolves it.
    pub auctioneer: Address,
    /// keccak256 of the auction's compact public key, published off-ledger.
    pub key_hash: B256,
    /// The price of one tick: a sealed bid of `n` ticks bids `n × tick` per block.
    #[serde(with = "amount_str")]
    pub tick: Amount,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderState {
    /// Taking bids (or, past the deadline, awaiting its sealed auction's resolution).
    Open,
    /// A bid won: the lease with the order's id exists.
    Leased,
    /// The tenant canceled it before a bid won.
    Canceled,
    /// Nobody won in time.
    Lapsed,
}

/// A tenant's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Its id (also its lease's).
    pub id: OrderId,
    /// Who asks and pays.
    pub tenant: Address,
    /// What it asks for.
    pub spec: OrderSpec,
    /// The asset of its deposit and prices (native for [`Settlement::Burn`]).
    pub asset: AssetId,
    /// How its lease pays.
    pub settlement: Settlement,
    /// The most it pays per block (USD base units for [`Settlement::Burn`]).
    #[serde(with = "amount_str")]
    pub max_price: Amount,
    /// Blocks the lease runs.
    #[serde(with = "u64_str")]
    pub duration: u64,
    /// The deposit held in escrow.
    #[serde(with = "amount_str")]
    pub deposit: Amount,
    /// The least native collateral a bid carries.
    #[serde(with = "amount_str")]
    pub min_collateral: Amount,
    /// The last height a bid may be placed at.
    pub bid_deadline: u64,
    /// The sealed auction, if bids are encrypted.
    pub sealed: Option<Sealed>,
    /// Bids placed so far.
    pub bid_count: u8,
    /// Where it stands.
    pub state: OrderState,
    /// The block it was created at.
    pub created_at: u64,
}

/// Where a bid stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BidState {
    /// Placed, not decided.
    Open,
    /// It won: its collateral backs the lease.
    Won,
    /// Another bid won, or the order was canceled or lapsed: collateral refunded.
    Lost,
}

/// A provider's bid on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    /// The order.
    pub order: OrderId,
    /// Its position among the order's bids, from 0 (a sealed auction's index).
    pub index: u8,
    /// The provider.
    pub provider: Address,
    /// The price per block; `None` for a sealed bid until it wins.
    #[serde(with = "opt_amount_str", default)]
    pub price: Option<Amount>,
    /// keccak256 of a sealed bid's ciphertext.
    pub ciphertext_hash: Option<B256>,
    /// Native collateral held in escrow.
    #[serde(with = "amount_str")]
    pub collateral: Amount,
    /// Where it stands.
    pub state: BidState,
    /// The block it was placed at.
    pub placed_at: u64,
}

/// Why a lease closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CloseReason {
    /// The tenant closed it.
    Tenant(String),
    /// The provider closed it.
    Provider(String),
    /// It reached its end block (closed by the epoch pass).
    Ended,
    /// Its funds ran out (closed by the epoch pass).
    Exhausted,
}

/// The escrow of a lease, in the order's asset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escrow {
    /// Everything the tenant deposited.
    #[serde(with = "amount_str")]
    pub deposited: Amount,
    /// What is held now.
    #[serde(with = "amount_str")]
    pub balance: Amount,
    /// Settled up to this height (exclusive: blocks `start..settled_at` are paid).
    pub settled_at: u64,
    /// Paid to the provider, or burned for [`Settlement::Burn`].
    #[serde(with = "amount_str")]
    pub paid: Amount,
    /// Returned to the tenant at close.
    #[serde(with = "amount_str")]
    pub refunded: Amount,
}

/// A lease: a provider serves a tenant at a rate, paid from escrow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Its id, the order's.
    pub id: OrderId,
    /// Who serves.
    pub provider: Address,
    /// Who is served and pays.
    pub tenant: Address,
    /// The escrow's asset.
    pub asset: AssetId,
    /// How it pays.
    pub settlement: Settlement,
    /// Price per block (USD base units for [`Settlement::Burn`]).
    #[serde(with = "amount_str")]
    pub rate: Amount,
    /// Requests per second the provider serves the tenant.
    pub capacity_rps: u32,
    /// The block it started at.
    pub start: u64,
    /// The block it ends at (exclusive).
    pub end: u64,
    /// The provider's native collateral, refunded at close.
    #[serde(with = "amount_str")]
    pub collateral: Amount,
    /// Its escrow.
    pub escrow: Escrow,
    /// When and why it closed; `None` while open.
    pub closed: Option<(u64, CloseReason)>,
}

/// What one settlement moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Blocks paid for.
    pub blocks: u64,
    /// Amount drawn from the balance (the asset's base units).
    pub amount: Amount,
}

impl Lease {
    /// What the escrow draws per block: the rate, or for a burn lease the rate converted at
    /// `price` (native base units per USD, [`bme::burn_for`]).
    pub fn draw_per_block(&self, price: Amount) -> Amount {
        match self.settlement {
            Settlement::Pay => self.rate,
            Settlement::Burn => bme::burn_for(self.rate, price),
        }
    }

    /// The height the escrow pays up to without a touch: `settled_at + balance / draw`.
    pub fn paid_until(&self, price: Amount) -> u64 {
        let draw = self.draw_per_block(price);
        if draw == 0 {
            return self.end;
        }
        let blocks = u64::try_from(self.escrow.balance / draw).unwrap_or(u64::MAX);
        self.escrow.settled_at.saturating_add(blocks)
    }

    /// The first height not served: the end, the block the funds run out, or the close.
    pub fn serving_until(&self, price: Amount) -> u64 {
        let until = self.end.min(self.paid_until(price));
        match &self.closed {
            Some((at, _)) => until.min(*at),
            None => until,
        }
    }

    /// Whether the provider serves the tenant in the block after `head`.
    pub fn serves_at(&self, head: u64, price: Amount) -> bool {
        self.closed.is_none() && head >= self.start && head < self.serving_until(price)
    }

    /// What a touch at height `h` would settle (without settling it).
    pub fn owed(&self, h: u64, price: Amount) -> Settled {
        let until = h.min(self.serving_until(price));
        let blocks = until.saturating_sub(self.escrow.settled_at);
        let amount = self
            .draw_per_block(price)
            .saturating_mul(Amount::from(blocks));
        Settled { blocks, amount }
    }

    /// Settles at height `h`: draws what is owed from the balance and advances `settled_at`.
    /// Never draws more than the balance.
    pub fn settle(&mut self, h: u64, price: Amount) -> Settled {
        let s = self.owed(h, price);
        if s.blocks == 0 {
            return Settled::default();
        }
        self.escrow.balance -= s.amount.min(self.escrow.balance);
        self.escrow.paid = self.escrow.paid.saturating_add(s.amount);
        self.escrow.settled_at = self.escrow.settled_at.saturating_add(s.blocks);
        s
    }

    /// Blocks of `[from, to)` this lease serves, as the state stands.
    pub fn served_blocks(&self, from: u64, to: u64, price: Amount) -> u64 {
        let lo = from.max(self.start);
        let hi = to.min(self.serving_until(price));
        hi.saturating_sub(lo)
    }

    /// Whether the escrow's books balance: `deposited = paid + refunded + balance`.
    pub fn conserves(&self) -> bool {
        let e = &self.escrow;
        e.paid
            .checked_add(e.refunded)
            .and_then(|x| x.checked_add(e.balance))
            == Some(e.deposited)
    }
}

/// The market's bookkeeping besides its objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeMeta {
    /// The oracle price now (native base units per USD).
    #[serde(with = "amount_str")]
    pub oracle_price: Amount,
    /// The id the next order gets.
    pub next_order: OrderId,
    /// Orders still open.
    pub open_orders: BTreeSet<OrderId>,
    /// Leases an emission epoch may still pay for (open, or closed since the last epoch).
    pub live_leases: BTreeSet<OrderId>,
    /// The epochs minted so far.
    pub epochs: u64,
    /// Native base units minted by the emission so far.
    #[serde(with = "amount_str")]
    pub minted: Amount,
    /// Native base units burned by burn leases so far.
    #[serde(with = "amount_str")]
    pub burned: Amount,
}

/// The market's state: providers, orders, bids and leases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeState {
    /// Providers by account.
    pub providers: BTreeMap<Address, Provider>,
    /// Orders by id.
    pub orders: BTreeMap<OrderId, Order>,
    /// Bids by (order, provider).
    pub bids: BTreeMap<(OrderId, Address), Bid>,
    /// Leases by id.
    pub leases: BTreeMap<OrderId, Lease>,
    /// The bookkeeping; `None` in a diff that did not change it.
    pub meta: Option<ComputeMeta>,
}

/// What a block changes in the market: new values of everything touched.
pub type ComputeDiff = ComputeState;

impl ComputeState {
    /// Whether nothing is held (as a diff: nothing changed).
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
            && self.orders.is_empty()
            && self.bids.is_empty()
            && self.leases.is_empty()
            && self.meta.is_none()
    }

    /// Applies a block's diff.
    pub fn apply(&mut self, diff: &ComputeDiff) {
        self.providers
            .extend(diff.providers.iter().map(|(k, v)| (*k, v.clone())));
        self.orders
            .extend(diff.orders.iter().map(|(k, v)| (*k, v.clone())));
        self.bids
            .extend(diff.bids.iter().map(|(k, v)| (*k, v.clone())));
        self.leases
            .extend(diff.leases.iter().map(|(k, v)| (*k, v.clone())));
        if let Some(m) = &diff.meta {
            self.meta = Some(m.clone());
        }
    }

    /// The bookkeeping (defaults with `params`' oracle price before the first change).
    pub fn meta_or(&self, params: &ComputeParams) -> ComputeMeta {
        self.meta.clone().unwrap_or_else(|| ComputeMeta {
            oracle_price: params.oracle_price,
            ..ComputeMeta::default()
        })
    }

    /// The bids on `order`, in placement order.
    pub fn order_bids(&self, order: OrderId) -> Vec<&Bid> {
        let mut bids: Vec<&Bid> = self
            .bids
            .range((order, Address::ZERO)..=(order, Address::repeat_byte(0xff)))
            .map(|(_, b)| b)
            .collect();
        bids.sort_by_key(|b| b.index);
        bids
    }
}

/// The terms of a new order (`CreateOrder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderTerms {
    /// What is asked for.
    pub spec: OrderSpec,
    /// The deposit's and prices' asset (native for a burn order).
    pub asset: AssetId,
    /// How the lease pays.
    #[serde(default)]
    pub settlement: Settlement,
    /// The most paid per block.
    #[serde(with = "amount_str")]
    pub max_price: Amount,
    /// Blocks the lease runs.
    #[serde(with = "u64_str")]
    pub duration: u64,
    /// The deposit.
    #[serde(with = "amount_str")]
    pub deposit: Amount,
    /// The least native collateral per bid.
    #[serde(with = "amount_str", default)]
    pub min_collateral: Amount,
    /// Blocks bids are taken for, from the order's block.
    pub bid_window: u64,
    /// For a sealed-bid auction: its auctioneer, key hash and tick.
    #[serde(default)]
    pub sealed: Option<Sealed>,
}

/// A market call (`{"type": "compute", "op": …}`): each is one EIP-712 struct in [`typed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum ComputeCall {
    /// Registers the sender as a provider, or updates its URI and attributes (audited
    /// attributes are kept).
    #[serde(rename_all = "camelCase")]
    RegisterProvider {
        /// Its gateway's base URL (`http://` or `https://`).
        uri: String,
        /// Self-declared attributes.
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// The sender, as an auditor, signs attributes of `provider` (replacing its earlier
    /// ones; empty withdraws them).
    #[serde(rename_all = "camelCase")]
    SignAttributes {
        /// The provider.
        provider: Address,
        /// The attributes vouched for.
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// Opens an order and moves its deposit into escrow.
    CreateOrder(OrderTerms),
    /// The tenant cancels an order no bid has won; deposit and collateral are refunded.
    #[serde(rename_all = "camelCase")]
    CancelOrder {
        /// The order.
        order: OrderId,
    },
    /// A provider bids a clear price.
    #[serde(rename_all = "camelCase")]
    PlaceBid {
        /// The order.
        order: OrderId,
        /// Price per block.
        #[serde(with = "amount_str")]
        price: Amount,
        /// Native collateral.
        #[serde(with = "amount_str")]
        collateral: Amount,
    },
    /// A provider bids on a sealed order: the hash of its ciphertext, kept by the auctioneer.
    #[serde(rename_all = "camelCase")]
    PlaceSealedBid {
        /// The order.
        order: OrderId,
        /// keccak256 of the ciphertext.
        ciphertext_hash: B256,
        /// Native collateral.
        #[serde(with = "amount_str")]
        collateral: Amount,
    },
    /// The tenant accepts a clear bid before the deadline.
    #[serde(rename_all = "camelCase")]
    AcceptBid {
        /// The order.
        order: OrderId,
        /// The bidding provider.
        provider: Address,
    },
    /// The auctioneer names a sealed auction's winner (by bid index) and its price in ticks.
    #[serde(rename_all = "camelCase")]
    ResolveAuction {
        /// The order.
        order: OrderId,
        /// The winning bid's index.
        winner: u8,
        /// Its price in ticks.
        price_ticks: u16,
    },
    /// The tenant adds funds to a lease that is still served.
    #[serde(rename_all = "camelCase")]
    DepositLease {
        /// The lease.
        lease: OrderId,
        /// Amount, in the lease's asset.
        #[serde(with = "amount_str")]
        amount: Amount,
    },
    /// The provider settles a lease: what is owed is paid out.
    #[serde(rename_all = "camelCase")]
    WithdrawLease {
        /// The lease.
        lease: OrderId,
    },
    /// The tenant or the provider closes a lease: settled, balance refunded to the tenant,
    /// collateral to the provider.
    #[serde(rename_all = "camelCase")]
    CloseLease {
        /// The lease.
        lease: OrderId,
        /// Why (at most 256 bytes).
        #[serde(default)]
        reason: String,
    },
    /// The oracle sets the price burn leases burn at (native base units per USD).
    #[serde(rename_all = "camelCase")]
    SetOraclePrice {
        /// The price.
        #[serde(with = "amount_str")]
        price: Amount,
    },
}

/// `Option<Amount>` as an optional decimal string.
pub(crate) mod opt_amount_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}
