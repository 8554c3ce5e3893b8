//! redb storage for the Symbiont ledger.
//!
//! [`Db`] implements [`ledger::Store`]: every block is one redb write transaction holding the
//! block, its transaction index and receipts, its state diff and the new head, committed with
//! `Durability::Immediate` (fsync). A process killed at any instant restarts at its last
//! committed block with the state of that block, because redb's commit is atomic.
//!
//! Tables (keys are fixed-size byte arrays, values canonical `postcard` or JSON bytes):
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | name | `head`, `params`, `native_supply` |
//! | `blocks` | height | the block as JSON |
//! | `block_hashes` | hash | height |
//! | `txs` | tx hash | [`ledger::TxRecord`] (height, index, receipt) |
//! | `accounts` | address | [`ledger::Account`] |
//! | `assets` | asset id | [`ledger::Asset`] |
//! | `authorizations` | asset ‖ authorizer ‖ nonce | used (1) or canceled (2) |
//! | `subnets` | netuid | [`ledger::subnet::Subnet`] |
//! | `markets` | netuid | [`ledger::subnet::Market`] |
//! | `epochs` | (netuid, block) | [`ledger::subnet::epoch::EpochRecord`] |
//! | `agents` | agent id | [`ledger::agents::Agent`] |
//! | `feedback` | (agent id, client) | the client's [`ledger::agents::Feedback`] list |
//! | `validations` | request hash | [`ledger::agents::Validation`] |
//! | `payments` | asset ‖ payer ‖ nonce | [`ledger::eip3009::SettledPayment`] |
//! | `providers` | address | [`ledger::compute::Provider`] |
//! | `orders` | order id | [`ledger::compute::Order`] |
//! | `bids` | (order id, provider) | [`ledger::compute::Bid`] |
//! | `leases` | lease id | [`ledger::compute::Lease`] |
//! | `certificates` | height | the block's consensus commit certificate (BFT only) |
//! | `proposals` | (height, value id) | an undecided proposal, dropped when its height commits |
//! | `consensus_meta` | name | consensus settings kept across restarts |
//!
//! `meta` also holds `network` ([`ledger::subnet::Network`]) once a subnet was created,
//! `compute_params` ([`ledger::compute::ComputeParams`], absent in stores from before the
//! market: the defaults) and `compute_meta` ([`ledger::compute::ComputeMeta`]).

use std::path::Path;

use ledger::{
    Account, Address, Asset, B256, Block, Commit, Error, Result, State, Store, TxRecord,
    agents::{Agent, Feedback, Validation},
    compute::{Bid, ComputeMeta, ComputeState, Lease, Order, Provider},
    eip3009::{AuthorizationState, SettledPayment},
    infer::{AttestationRecord, Bond, Delivery, InferMeta, InferState, Request, ZkModel},
    state::HISTORY_EPOCHS,
    state::{ChainParams, Head},
    subnet::{Market, Network, Subnet, epoch::EpochRecord},
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const BLOCK_HASHES: TableDefinition<[u8; 32], u64> = TableDefinition::new("block_hashes");
const TXS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("txs");
const ACCOUNTS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("accounts");
const ASSETS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("assets");
const AUTHS: TableDefinition<[u8; 72], u8> = TableDefinition::new("authorizations");
const SUBNETS: TableDefinition<u16, &[u8]> = TableDefinition::new("subnets");
const MARKETS: TableDefinition<u16, &[u8]> = TableDefinition::new("markets");
const EPOCHS: TableDefinition<(u16, u64), &[u8]> = TableDefinition::new("epochs");
const AGENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("agents");
const FEEDBACK: TableDefinition<(u64, [u8; 20]), &[u8]> = TableDefinition::new("feedback");
const VALIDATIONS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("validations");
const PAYMENTS: TableDefinition<[u8; 72], &[u8]> = TableDefinition::new("payments");
const PROVIDERS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("providers");
const ORDERS: TableDefinition<u64, &[u8]> = TableDefinition::new("orders");
const BIDS: TableDefinition<(u64, [u8; 20]), &[u8]> = TableDefinition::new("bids");
const LEASES: TableDefinition<u64, &[u8]> = TableDefinition::new("leases");
const INFER_REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("infer_requests");
const DELIVERIES: TableDefinition<(u64, [u8; 20]), &[u8]> = TableDefinition::new("deliveries");
const BONDS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("bonds");
const ATTESTATIONS: TableDefinition<[u8; 20], &[u8]> = TableDefinition::new("attestations");
const ZK_MODELS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("zk_models");
const CERTIFICATES: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
const PROPOSALS: TableDefinition<(u64, [u8; 32]), &[u8]> = TableDefinition::new("proposals");
const CONSENSUS_META: TableDefinition<&str, &[u8]> = TableDefinition::new("consensus_meta");

/// The redb-backed ledger store.
pub struct Db {
    db: Database,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

fn storage<E: std::fmt::Display>(e: E) -> Error {
    Error::Storage(e.to_string())
}

fn corrupt<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Corrupt(format!("{what}: {e}"))
}

fn encode<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(v).map_err(storage)
}

fn auth_key(asset: &Address, who: &Address, nonce: &B256) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..20].copy_from_slice(asset.as_slice());
    k[20..40].copy_from_slice(who.as_slice());
    k[40..].copy_from_slice(nonce.as_slice());
    k
}

fn auth_code(s: AuthorizationState) -> u8 {
    match s {
        AuthorizationState::Unused => 0,
        AuthorizationState::Used => 1,
        AuthorizationState::Canceled => 2,
    }
}

impl Db {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(storage)?;
        Ok(Db { db })
    }

    fn write(&self, state: Option<&State>, c: &Commit) -> Result<()> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let head = c.head();
            let mut meta = txn.open_table(META).map_err(storage)?;
            if let Some(s) = state {
                meta.insert("params", encode(&s.params)?.as_slice())
                    .map_err(storage)?;
                meta.insert("compute_params", encode(&s.params.compute)?.as_slice())
                    .map_err(storage)?;
                meta.insert("infer_params", encode(&s.params.infer)?.as_slice())
                    .map_err(storage)?;
            } else {
                let cur: Option<Head> = match meta.get("head").map_err(storage)? {
                    Some(v) => Some(postcard::from_bytes(v.value()).map_err(corrupt("head"))?),
                    None => None,
                };
                match cur {
                    Some(cur)
                        if cur.height + 1 == head.height
                            && cur.hash == c.block.header.parent_hash => {}
                    _ => {
                        return Err(Error::Storage(format!(
                            "block {} does not follow the stored head",
                            head.height
                        )));
                    }
                }
            }
            meta.insert("head", encode(&head)?.as_slice())
                .map_err(storage)?;
            if let Some(s) = c.diff.native_supply {
                meta.insert("native_supply", s.to_be_bytes().as_slice())
                    .map_err(storage)?;
            }
            if let Some(n) = &c.diff.network {
                meta.insert("network", encode(n)?.as_slice())
                    .map_err(storage)?;
            }
            if let Some(m) = &c.diff.compute.meta {
                meta.insert("compute_meta", encode(m)?.as_slice())
                    .map_err(storage)?;
            }
            if let Some(m) = &c.diff.infer.meta {
                meta.insert("infer_meta", encode(m)?.as_slice())
                    .map_err(storage)?;
            }

            let json = serde_json::to_vec(&c.block).map_err(storage)?;
            txn.open_table(BLOCKS)
                .map_err(storage)?
                .insert(head.height, json.as_slice())
                .map_err(storage)?;
            txn.open_table(BLOCK_HASHES)
                .map_err(storage)?
                .insert(head.hash.0, head.height)
                .map_err(storage)?;

            let mut txs = txn.open_table(TXS).map_err(storage)?;
            for (i, (h, r)) in c.tx_hashes.iter().zip(&c.receipts).enumerate() {
                let index = u32::try_from(i).map_err(storage)?;
                let rec = TxRecord {
                    height: head.height,
                    index,
                    receipt: r.clone(),
                };
                txs.insert(h.0, encode(&rec)?.as_slice()).map_err(storage)?;
            }

            let mut accounts = txn.open_table(ACCOUNTS).map_err(storage)?;
            for (addr, acct) in &c.diff.accounts {
                if acct.nonce == 0 && acct.balances.is_empty() {
                    accounts.remove(addr.0.0).map_err(storage)?;
                } else {
                    accounts
                        .insert(addr.0.0, encode(acct)?.as_slice())
                        .map_err(storage)?;
                }
            }
            let mut assets = txn.open_table(ASSETS).map_err(storage)?;
            for (id, asset) in &c.diff.assets {
                assets
                    .insert(id.0.0, encode(asset)?.as_slice())
                    .map_err(storage)?;
            }
            let mut auths = txn.open_table(AUTHS).map_err(storage)?;
            for ((asset, who, nonce), st) in &c.diff.authorizations {
                auths
                    .insert(auth_key(asset, who, nonce), auth_code(*st))
                    .map_err(storage)?;
            }
            let mut subnets = txn.open_table(SUBNETS).map_err(storage)?;
            for (netuid, subnet) in &c.diff.subnets {
                subnets
                    .insert(*netuid, encode(subnet)?.as_slice())
                    .map_err(storage)?;
            }
            let mut markets = txn.open_table(MARKETS).map_err(storage)?;
            for (netuid, market) in &c.diff.markets {
                markets
                    .insert(*netuid, encode(market)?.as_slice())
                    .map_err(storage)?;
            }
            let mut epochs = txn.open_table(EPOCHS).map_err(storage)?;
            for e in &c.diff.epochs {
                epochs
                    .insert((e.netuid, e.block), encode(e)?.as_slice())
                    .map_err(storage)?;
            }
            write_registry(&txn, &c.diff)?;
            if let Some(cert) = &c.certificate {
                txn.open_table(CERTIFICATES)
                    .map_err(storage)?
                    .insert(head.height, cert.as_slice())
                    .map_err(storage)?;
            }
            txn.open_table(PROPOSALS)
                .map_err(storage)?
                .retain_in(..=(head.height, [0xff; 32]), |_, _| false)
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// One small durable write of `value` under `key` in `table`.
    fn put<'k, K: redb::Key + 'static>(
        &self,
        table: TableDefinition<K, &[u8]>,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
        value: &[u8],
    ) -> Result<()> {
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(table)
            .map_err(storage)?
            .insert(key, value)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// The value under `key` in `table` (`None` if the table was never written).
    fn get<'k, K: redb::Key + 'static>(
        &self,
        table: TableDefinition<K, &[u8]>,
        key: impl std::borrow::Borrow<K::SelfType<'k>>,
    ) -> Result<Option<Vec<u8>>> {
        let Some(t) = open_read(&self.db.begin_read().map_err(storage)?, table)? else {
            return Ok(None);
        };
        Ok(t.get(key).map_err(storage)?.map(|v| v.value().to_vec()))
    }
}

/// `table` for reading, or `None` if it was never written.
fn open_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(storage(e)),
    }
}

/// The registries' and settled payments' part of a block's diff.
fn write_registry(txn: &redb::WriteTransaction, diff: &ledger::StateDiff) -> Result<()> {
    let r = &diff.registry;
    let mut agents = txn.open_table(AGENTS).map_err(storage)?;
    for (id, a) in &r.agents {
        agents.insert(*id, encode(a)?.as_slice()).map_err(storage)?;
    }
    let mut feedback = txn.open_table(FEEDBACK).map_err(storage)?;
    for ((id, client), list) in &r.feedback {
        feedback
            .insert((*id, client.0.0), encode(list)?.as_slice())
            .map_err(storage)?;
    }
    let mut validations = txn.open_table(VALIDATIONS).map_err(storage)?;
    for (h, v) in &r.validations {
        validations
            .insert(h.0, encode(v)?.as_slice())
            .map_err(storage)?;
    }
    let mut payments = txn.open_table(PAYMENTS).map_err(storage)?;
    for ((asset, who, nonce), p) in &diff.payments {
        payments
            .insert(auth_key(asset, who, nonce), encode(p)?.as_slice())
            .map_err(storage)?;
    }
    let m = &diff.compute;
    let mut providers = txn.open_table(PROVIDERS).map_err(storage)?;
    for (a, p) in &m.providers {
        providers
            .insert(a.0.0, encode(p)?.as_slice())
            .map_err(storage)?;
    }
    let mut orders = txn.open_table(ORDERS).map_err(storage)?;
    for (id, o) in &m.orders {
        orders.insert(*id, encode(o)?.as_slice()).map_err(storage)?;
    }
    let mut bids = txn.open_table(BIDS).map_err(storage)?;
    for ((id, p), b) in &m.bids {
        bids.insert((*id, p.0.0), encode(b)?.as_slice())
            .map_err(storage)?;
    }
    let mut leases = txn.open_table(LEASES).map_err(storage)?;
    for (id, l) in &m.leases {
        leases.insert(*id, encode(l)?.as_slice()).map_err(storage)?;
    }
    let i = &diff.infer;
    let mut requests = txn.open_table(INFER_REQUESTS).map_err(storage)?;
    for (id, r) in &i.requests {
        requests
            .insert(*id, encode(r)?.as_slice())
            .map_err(storage)?;
    }
    let mut deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
    for ((id, p), d) in &i.deliveries {
        deliveries
            .insert((*id, p.0.0), encode(d)?.as_slice())
            .map_err(storage)?;
    }
    let mut bonds = txn.open_table(BONDS).map_err(storage)?;
    for (a, b) in &i.bonds {
        bonds
            .insert(a.0.0, encode(b)?.as_slice())
            .map_err(storage)?;
    }
    let mut attestations = txn.open_table(ATTESTATIONS).map_err(storage)?;
    for (a, r) in &i.attestations {
        attestations
            .insert(a.0.0, encode(r)?.as_slice())
            .map_err(storage)?;
    }
    let mut zk_models = txn.open_table(ZK_MODELS).map_err(storage)?;
    for (id, m) in &i.zk_models {
        zk_models
            .insert(id.0, encode(m)?.as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

/// Every row of `table`, decoded, or nothing if the table was never written (databases from
/// before it existed).
fn read_all<K, T>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, &[u8]>,
    what: &'static str,
    mut f: impl FnMut(K::SelfType<'_>, T),
) -> Result<()>
where
    K: redb::Key + 'static,
    T: serde::de::DeserializeOwned,
{
    let t = match txn.open_table(table) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(storage(e)),
    };
    for row in t.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        let value: T = postcard::from_bytes(v.value()).map_err(corrupt(what))?;
        f(k.value(), value);
    }
    Ok(())
}

/// Loads the registries and settled payments into `state`.
fn load_registry(txn: &redb::ReadTransaction, state: &mut State) -> Result<()> {
    let r = &mut state.registry;
    read_all::<_, Agent>(txn, AGENTS, "agent", |k, a| {
        r.agents.insert(k, a);
    })?;
    read_all::<_, Vec<Feedback>>(txn, FEEDBACK, "feedback", |(id, c), list| {
        r.feedback.insert((id, Address::from(c)), list);
    })?;
    read_all::<_, Validation>(txn, VALIDATIONS, "validation", |h, v| {
        r.validations.insert(B256::from(h), v);
    })?;
    let payments = &mut state.payments;
    read_all::<_, SettledPayment>(txn, PAYMENTS, "payment", |k, p| {
        let key = (
            Address::from_slice(&k[..20]),
            Address::from_slice(&k[20..40]),
            B256::from_slice(&k[40..]),
        );
        payments.insert(key, p);
    })?;
    let m = &mut state.compute;
    read_all::<_, Provider>(txn, PROVIDERS, "provider", |k, p| {
        m.providers.insert(Address::from(k), p);
    })?;
    read_all::<_, Order>(txn, ORDERS, "order", |k, o| {
        m.orders.insert(k, o);
    })?;
    read_all::<_, Bid>(txn, BIDS, "bid", |(id, p), b| {
        m.bids.insert((id, Address::from(p)), b);
    })?;
    read_all::<_, Lease>(txn, LEASES, "lease", |k, l| {
        m.leases.insert(k, l);
    })?;
    let i = &mut state.infer;
    read_all::<_, Request>(txn, INFER_REQUESTS, "inference request", |k, r| {
        i.requests.insert(k, r);
    })?;
    read_all::<_, Delivery>(txn, DELIVERIES, "delivery", |(id, p), d| {
        i.deliveries.insert((id, Address::from(p)), d);
    })?;
    read_all::<_, Bond>(txn, BONDS, "bond", |k, b| {
        i.bonds.insert(Address::from(k), b);
    })?;
    read_all::<_, AttestationRecord>(txn, ATTESTATIONS, "attestation", |k, a| {
        i.attestations.insert(Address::from(k), a);
    })?;
    read_all::<_, ZkModel>(txn, ZK_MODELS, "ZK model", |k, m| {
        i.zk_models.insert(B256::from(k), m);
    })?;
    Ok(())
}

impl Store for Db {
    fn init(&self, genesis: &State, commit: &Commit) -> Result<()> {
        if self.head()?.is_some() {
            return Err(Error::Storage("database already holds a chain".into()));
        }
        self.write(Some(genesis), commit)
    }

    fn commit(&self, commit: &Commit) -> Result<()> {
        self.write(None, commit)
    }

    fn load_state(&self) -> Result<Option<State>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let Some(head) = meta.get("head").map_err(storage)? else {
            return Ok(None);
        };
        let head: Head = postcard::from_bytes(head.value()).map_err(corrupt("head"))?;
        let mut params: ChainParams = match meta.get("params").map_err(storage)? {
            Some(v) => postcard::from_bytes(v.value()).map_err(corrupt("params"))?,
            None => return Err(Error::Corrupt("params missing".into())),
        };
        if let Some(v) = meta.get("compute_params").map_err(storage)? {
            params.compute = postcard::from_bytes(v.value()).map_err(corrupt("compute_params"))?;
        }
        if let Some(v) = meta.get("infer_params").map_err(storage)? {
            params.infer = postcard::from_bytes(v.value()).map_err(corrupt("infer_params"))?;
        }
        let infer_meta: Option<InferMeta> = match meta.get("infer_meta").map_err(storage)? {
            Some(v) => Some(postcard::from_bytes(v.value()).map_err(corrupt("infer_meta"))?),
            None => None,
        };
        let compute_meta: Option<ComputeMeta> = match meta.get("compute_meta").map_err(storage)? {
            Some(v) => Some(postcard::from_bytes(v.value()).map_err(corrupt("compute_meta"))?),
            None => None,
        };
        let native_supply = match meta.get("native_supply").map_err(storage)? {
            Some(v) => {
                let b: [u8; 16] = v.value().try_into().map_err(corrupt("native_supply"))?;
                u128::from_be_bytes(b)
            }
            None => 0,
        };
        let network: Network = match meta.get("network").map_err(storage)? {
            Some(v) => postcard::from_bytes(v.value()).map_err(corrupt("network"))?,
            None => Network::default(),
        };
        let mut state = State {
            params,
            head,
            accounts: Default::default(),
            assets: Default::default(),
            authorizations: Default::default(),
            native_supply,
            subnets: Default::default(),
            network,
            markets: Default::default(),
            epochs: Default::default(),
            registry: Default::default(),
            payments: Default::default(),
            compute: ComputeState {
                meta: compute_meta,
                ..ComputeState::default()
            },
            infer: InferState {
                meta: infer_meta,
                ..InferState::default()
            },
        };
        load_registry(&txn, &mut state)?;
        for row in txn
            .open_table(ACCOUNTS)
            .map_err(storage)?
            .iter()
            .map_err(storage)?
        {
            let (k, v) = row.map_err(storage)?;
            let acct: Account = postcard::from_bytes(v.value()).map_err(corrupt("account"))?;
            state.accounts.insert(Address::from(k.value()), acct);
        }
        for row in txn
            .open_table(ASSETS)
            .map_err(storage)?
            .iter()
            .map_err(storage)?
        {
            let (k, v) = row.map_err(storage)?;
            let asset: Asset = postcard::from_bytes(v.value()).map_err(corrupt("asset"))?;
            state.assets.insert(Address::from(k.value()), asset);
        }
        for row in txn
            .open_table(AUTHS)
            .map_err(storage)?
            .iter()
            .map_err(storage)?
        {
            let (k, v) = row.map_err(storage)?;
            let k = k.value();
            let st = match v.value() {
                1 => AuthorizationState::Used,
                2 => AuthorizationState::Canceled,
                _ => continue,
            };
            let asset = Address::from_slice(&k[..20]);
            let who = Address::from_slice(&k[20..40]);
            let nonce = B256::from_slice(&k[40..]);
            state.authorizations.insert((asset, who, nonce), st);
        }
        // Databases written before subnets existed have no `subnets` table.
        match txn.open_table(SUBNETS) {
            Ok(t) => {
                for row in t.iter().map_err(storage)? {
                    let (k, v) = row.map_err(storage)?;
                    let subnet: Subnet =
                        postcard::from_bytes(v.value()).map_err(corrupt("subnet"))?;
                    state.subnets.insert(k.value(), subnet);
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        match txn.open_table(MARKETS) {
            Ok(t) => {
                for row in t.iter().map_err(storage)? {
                    let (k, v) = row.map_err(storage)?;
                    let market: Market =
                        postcard::from_bytes(v.value()).map_err(corrupt("market"))?;
                    state.markets.insert(k.value(), market);
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        match txn.open_table(EPOCHS) {
            Ok(t) => {
                let netuids: Vec<u16> = state.subnets.keys().copied().collect();
                for netuid in netuids {
                    let mut last = Vec::with_capacity(HISTORY_EPOCHS);
                    for row in t
                        .range((netuid, 0)..=(netuid, u64::MAX))
                        .map_err(storage)?
                        .rev()
                        .take(HISTORY_EPOCHS)
                    {
                        let (_, v) = row.map_err(storage)?;
                        let e: EpochRecord =
                            postcard::from_bytes(v.value()).map_err(corrupt("epoch"))?;
                        last.push(e);
                    }
                    for e in last.into_iter().rev() {
                        state.record_epoch(e);
                    }
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        Ok(Some(state))
    }

    fn block(&self, height: u64) -> Result<Option<Block>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let t = txn.open_table(BLOCKS).map_err(storage)?;
        match t.get(height).map_err(storage)? {
            Some(v) => Ok(Some(
                serde_json::from_slice(v.value()).map_err(corrupt("block"))?,
            )),
            None => Ok(None),
        }
    }

    fn height_of(&self, hash: &B256) -> Result<Option<u64>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let t = txn.open_table(BLOCK_HASHES).map_err(storage)?;
        Ok(t.get(hash.0).map_err(storage)?.map(|v| v.value()))
    }

    fn tx(&self, hash: &B256) -> Result<Option<TxRecord>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let t = txn.open_table(TXS).map_err(storage)?;
        match t.get(hash.0).map_err(storage)? {
            Some(v) => Ok(Some(
                postcard::from_bytes(v.value()).map_err(corrupt("tx record"))?,
            )),
            None => Ok(None),
        }
    }

    fn head(&self) -> Result<Option<Head>> {
        let txn = self.db.begin_read().map_err(storage)?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        match meta.get("head").map_err(storage)? {
            Some(v) => Ok(Some(
                postcard::from_bytes(v.value()).map_err(corrupt("head"))?,
            )),
            None => Ok(None),
        }
    }

    fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>> {
        self.get(CERTIFICATES, height)
    }

    fn first_certificate(&self) -> Result<Option<u64>> {
        let Some(t) = open_read(&self.db.begin_read().map_err(storage)?, CERTIFICATES)? else {
            return Ok(None);
        };
        Ok(t.first().map_err(storage)?.map(|(k, _)| k.value()))
    }

    fn put_proposal(&self, height: u64, id: &B256, bytes: &[u8]) -> Result<()> {
        self.put(PROPOSALS, (height, id.0), bytes)
    }

    fn proposals(&self) -> Result<Vec<(u64, B256, Vec<u8>)>> {
        let Some(t) = open_read(&self.db.begin_read().map_err(storage)?, PROPOSALS)? else {
            return Ok(vec![]);
        };
        let mut out = vec![];
        for row in t.iter().map_err(storage)? {
            let (k, v) = row.map_err(storage)?;
            let (h, id) = k.value();
            out.push((h, B256::from(id), v.value().to_vec()));
        }
        Ok(out)
    }

    fn consensus_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.get(CONSENSUS_META, key)
    }

    fn put_consensus_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.put(CONSENSUS_META, key, value)
    }
}
