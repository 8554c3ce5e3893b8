//! The node's shared state: the committed ledger state, the mempool, the store, the event
//! stream and the metrics. HTTP handlers and the block producer both work through [`App`].

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard},
    time::Instant,
};

use ledger::{
    Address, B256, Commit, Reject, State, Store, TxRecord, VerifiedTx,
    exec::{BlockContext, build_block, precheck},
    tx::SignedTx,
};
use tokio::sync::{broadcast, mpsc};

use crate::{
    events::Event,
    mempool::{Admit, Mempool},
    metrics::Metrics,
};

/// Why a submission failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The transaction is refused.
    #[error("{0}")]
    Rejected(Reject),
    /// The mempool is full.
    #[error("mempool is full ({0} transactions); retry later")]
    MempoolFull(usize),
    /// The node failed.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool.
    Pending,
    /// In a committed block.
    Committed(TxRecord),
    /// Left out of a block and removed from the mempool.
    Dropped(Reject),
    /// Never seen (or forgotten).
    Unknown,
}

/// Node settings the app needs at run time.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Address recorded as the proposer of produced blocks.
    pub proposer: Address,
    /// Maximum transactions per block.
    pub max_block_txs: usize,
    /// Mempool capacity.
    pub mempool_capacity: usize,
    /// How far ahead of the next nonce the mempool accepts.
    pub nonce_window: u64,
}

/// The node's shared state.
pub struct App {
    config: AppConfig,
    store: Arc<dyn Store>,
    state: RwLock<State>,
    mempool: Mutex<Mempool>,
    dropped: Mutex<BoundedLog<Reject>>,
    settlements: Mutex<BoundedLog<u64>>,
    events: broadcast::Sender<Event>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    started: Instant,
    /// Where transactions submitted by this node's clients go to be relayed to other nodes.
    relay: OnceLock<mpsc::Sender<Vec<SignedTx>>>,
}

/// Where submitted transactions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This node's clients (the API, the facilitator): relayed to other nodes.
    Client,
    /// Another node's relay: not relayed again.
    Relay,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn poisoned<T>(_: T) -> SubmitError {
    SubmitError::Internal("lock poisoned".into())
}

impl App {
    /// An app over `store`, whose state must already be initialised.
    pub fn new(config: AppConfig, store: Arc<dyn Store>, state: State) -> Self {
        let (events, _) = broadcast::channel(4096);
        App {
            mempool: Mutex::new(Mempool::new(config.mempool_capacity, config.nonce_window)),
            config,
            store,
            state: RwLock::new(state),
            dropped: Mutex::new(BoundedLog::new(100_000)),
            settlements: Mutex::new(BoundedLog::new(SETTLEMENTS_KEPT)),
            events,
            metrics: Metrics::default(),
            started: Instant::now(),
            relay: OnceLock::new(),
        }
    }

    /// Relays the transactions this node's clients submit into `to` from now on (see
    /// [`crate::relay`]). Only the first call takes effect.
    pub fn relay_to(&self, to: mpsc::Sender<Vec<SignedTx>>) {
        let _ = self.relay.set(to);
    }

    /// The committed state (read lock: hold it briefly).
    pub fn state(&self) -> RwLockReadGuard<'_, State> {
        match self.state.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Chain id.
    pub fn chain_id(&self) -> u64 {
        self.state().params.chain_id
    }

    /// Seconds since start.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Pending transaction count.
    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().map_or(0, |m| m.len())
    }

    /// Records how long the facilitator took to settle the x402 payment in transaction
    /// `hash`, from submission to its receipt (the last [`SETTLEMENTS_KEPT`] are kept).
    pub fn record_settlement(&self, hash: B256, took: std::time::Duration) {
        if let Ok(mut s) = self.settlements.lock() {
            s.insert(hash, u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        }
    }

    /// How long the facilitator took to settle the payment in `hash`, milliseconds, if it
    /// settled it recently.
    pub fn settlement_ms(&self, hash: &B256) -> Option<u64> {
        self.settlements.lock().ok()?.get(hash).copied()
    }

    /// Subscribes to blocks and receipts.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Verifies signatures of `txs` in parallel (on the rayon pool), then admits each in
    /// order. One result per input, in order. Submissions from clients are relayed.
    pub async fn submit_many(
        self: &Arc<Self>,
        txs: Vec<SignedTx>,
    ) -> Vec<Result<B256, SubmitError>> {
        self.submit_from(txs, Origin::Client).await
    }

    /// [`App::submit_many`] for transactions from `origin`: those a client submitted and
    /// the mempool admitted are handed to the relay (if any); relayed ones are not relayed
    /// again.
    pub async fn submit_from(
        self: &Arc<Self>,
        txs: Vec<SignedTx>,
        origin: Origin,
    ) -> Vec<Result<B256, SubmitError>> {
        let (send, recv) = tokio::sync::oneshot::channel();
        let app = Arc::clone(self);
        rayon::spawn(move || {
            use rayon::prelude::*;
            // Snapshot what verification needs and release the lock before fanning out: a
            // rayon worker waiting on its subtasks may steal another submission's job, which
            // must not block on this lock while the producer waits to write.
            let (chain_id, assets) = {
                let state = app.state();
                (state.params.chain_id, state.assets.clone())
            };
            let verified: Vec<Result<VerifiedTx, Reject>> = txs
                .into_par_iter()
                .map(|t| t.verify(chain_id, &assets))
                .collect();
            let relay = app.relay.get().filter(|_| origin == Origin::Client);
            let mut admitted = vec![];
            let results = app.admit(verified, relay.map(|_| &mut admitted));
            if let Some(relay) = relay
                && !admitted.is_empty()
                && relay.try_send(admitted).is_err()
            {
                // A slow relay loses nothing here: the transactions are in this node's
                // mempool and go out when it proposes.
                app.metrics.relay_failures.inc();
            }
            let _ = send.send(results);
        });
        match recv.await {
            Ok(r) => r,
            Err(_) => vec![Err(SubmitError::Internal("verifier task failed".into()))],
        }
    }

    /// Admits verified transactions into the mempool, copying those admitted into `admitted`
    /// if given.
    fn admit(
        &self,
        verified: Vec<Result<VerifiedTx, Reject>>,
        mut admitted: Option<&mut Vec<SignedTx>>,
    ) -> Vec<Result<B256, SubmitError>> {
        let state = self.state();
        let now = now_secs();
        let mut pool = match self.mempool.lock() {
            Ok(p) => p,
            Err(e) => return verified.iter().map(|_| Err(poisoned(&e))).collect(),
        };
        let out: Vec<_> = verified
            .into_iter()
            .map(|v| {
                let vtx = v.map_err(SubmitError::Rejected)?;
                let next = state.nonce(&vtx.sender());
                if vtx.signed.tx.nonce < next {
                    // A committed transaction comes back as a duplicate, not as a stale nonce.
                    if let Ok(Some(_)) = self.store.tx(&vtx.hash) {
                        return Err(SubmitError::Rejected(Reject::Duplicate { hash: vtx.hash }));
                    }
                }
                precheck(&state, &vtx, now).map_err(SubmitError::Rejected)?;
                let hash = vtx.hash;
                let signed = admitted.as_ref().map(|_| vtx.signed.clone());
                pool.insert(vtx, next).map_err(|a| match a {
                    Admit::Reject(r) => SubmitError::Rejected(r),
                    Admit::Full => SubmitError::MempoolFull(pool.len()),
                })?;
                if let (Some(out), Some(tx)) = (admitted.as_deref_mut(), signed) {
                    out.push(tx);
                }
                Ok(hash)
            })
            .collect();
        self.metrics.mempool_size.set(pool.len() as u64);
        for r in &out {
            match r {
                Ok(_) => self.metrics.txs_accepted.inc(),
                Err(SubmitError::Rejected(rej)) => self.metrics.rejected(rej.code()),
                Err(SubmitError::MempoolFull(_)) => self.metrics.rejected("mempool_full"),
                Err(SubmitError::Internal(_)) => self.metrics.rejected("internal"),
            }
        }
        out
    }

    /// Where a transaction stands.
    pub fn tx_status(&self, hash: &B256) -> Result<TxStatus, ledger::Error> {
        if let Some(rec) = self.store.tx(hash)? {
            return Ok(TxStatus::Committed(rec));
        }
        if self.mempool.lock().is_ok_and(|m| m.contains(hash)) {
            return Ok(TxStatus::Pending);
        }
        if let Some(r) = self.dropped.lock().ok().and_then(|d| d.get(hash).cloned()) {
            return Ok(TxStatus::Dropped(r));
        }
        Ok(TxStatus::Unknown)
    }

    /// Up to `max` mempool transactions that apply in order on top of `state` (consecutive
    /// nonces per sender, in arrival order). Lock order: the caller holds the state, this
    /// takes the mempool.
    pub fn candidates(&self, state: &State, max: usize) -> Vec<VerifiedTx> {
        match self.mempool.lock() {
            Ok(pool) => pool.candidates(max, |a| state.nonce(a)),
            Err(_) => vec![],
        }
    }

    /// Whether the mempool holds exactly `tx` under `hash` (verified on admission).
    pub fn holds_verified(&self, hash: &B256, tx: &SignedTx) -> bool {
        self.mempool.lock().is_ok_and(|p| p.holds(hash, tx))
    }

    /// Builds, commits and publishes the next block at `timestamp_ms`. Blocking: call it
    /// from a blocking thread. Returns the committed head height.
    pub fn produce_block(&self, timestamp_ms: u64) -> Result<u64, ledger::Error> {
        let t0 = Instant::now();
        let built = {
            let state = self.state();
            let candidates = match self.mempool.lock() {
                Ok(pool) => pool.candidates(self.config.max_block_txs, |a| state.nonce(a)),
                Err(_) => return Err(ledger::Error::Storage("mempool lock poisoned".into())),
            };
            let ctx = BlockContext {
                timestamp_ms,
                proposer: self.config.proposer,
            };
            build_block(&state, ctx, candidates)
        };
        let t_build = t0.elapsed();
        let excluded = built.excluded.clone();
        self.commit_block(Commit::from(built), excluded, t_build)
    }

    /// Commits a block (built here, or decided by consensus and executed again here),
    /// advances the state, prunes the mempool of its transactions and of `excluded` ones,
    /// and publishes it. The one storage path of the solo producer and of consensus.
    /// Blocking. Returns the committed head height.
    pub fn commit_block(
        &self,
        commit: Commit,
        excluded: Vec<(B256, Reject)>,
        t_build: std::time::Duration,
    ) -> Result<u64, ledger::Error> {
        let t0 = Instant::now();
        let head = commit.block.header.head();
        self.store.commit(&commit)?;
        let t_commit = t0.elapsed();
        match self.state.write() {
            Ok(mut s) => s.apply_diff(&commit.diff, head),
            Err(p) => p.into_inner().apply_diff(&commit.diff, head),
        }
        let mut gone: Vec<B256> = commit.tx_hashes.clone();
        gone.extend(excluded.iter().map(|(h, _)| *h));
        // Lock order everywhere: state, then mempool.
        let stale = match (self.state(), self.mempool.lock()) {
            (state, Ok(mut pool)) => {
                let stale = pool.remove(&gone, |a| state.nonce(a));
                self.metrics.mempool_size.set(pool.len() as u64);
                stale
            }
            (_, Err(_)) => vec![],
        };
        if let Ok(mut d) = self.dropped.lock() {
            for (h, r) in excluded {
                d.insert(h, r);
            }
            for (h, r) in stale {
                d.insert(h, r);
            }
        }
        self.metrics.block_committed(
            head.height,
            commit.tx_hashes.len() as u64,
            t_build.as_secs_f64(),
            t_commit.as_secs_f64(),
        );
        tracing::debug!(
            height = head.height,
            txs = commit.tx_hashes.len(),
            build_ms = t_build.as_millis() as u64,
            commit_ms = t_commit.as_millis() as u64,
            "block committed"
        );
        if self.events.receiver_count() > 0 {
            crate::events::publish(&self.events, &commit, &head);
        }
        Ok(head.height)
    }
}

/// The wall clock in unix seconds.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The wall clock in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How many settlement latencies [`App::record_settlement`] keeps.
pub const SETTLEMENTS_KEPT: usize = 4096;

/// A bounded map by transaction hash that forgets the oldest entries first: the transactions
/// dropped from the mempool, the facilitator's settlement latencies.
#[derive(Debug)]
struct BoundedLog<V> {
    cap: usize,
    map: HashMap<B256, V>,
    order: VecDeque<B256>,
}

impl<V> BoundedLog<V> {
    fn new(cap: usize) -> Self {
        BoundedLog {
            cap,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn insert(&mut self, h: B256, r: V) {
        if self.map.insert(h, r).is_none() {
            self.order.push_back(h);
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    fn get(&self, h: &B256) -> Option<&V> {
        self.map.get(h)
    }
}
