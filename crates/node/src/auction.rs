//! Sealed-bid auctions run by this node (ADR 0004, `compute-sealed`).
//!
//! - `POST /v1/auctions` creates an auction's FHE keys (about 2 s, off the async runtime)
//!   and answers the hash of its public key, which a tenant puts in a sealed order with this
//!   node's auctioneer account.
//! - `GET /v1/auctions/{keyHash}/public-key` serves the compact public key; a bidder checks
//!   its keccak256 against the order before sealing a price with it.
//! - `POST /v1/auctions/{keyHash}/bids` takes one sealed bid (at most 64 KiB), checks its
//!   shape, keeps it under its keccak256 and answers that hash, which the provider's
//!   `PlaceSealedBid` carries.
//! - Once an order's bid deadline has passed, [`Auctions::run`] computes the encrypted
//!   minimum over the bids the ledger lists (in bid order; a bid whose ciphertext never
//!   arrived is left out), decrypts only the winning position and price, and submits
//!   `ResolveAuction`. Progress goes to the log and to `GET /v1/auctions/{keyHash}`.
//!
//! A losing bid is never decrypted: no price but the winner's exists in plaintext, on the
//! ledger, in a log line or in a response. Keys and ciphertexts live under
//! `<data-dir>/auctions/<keyHash>/` (the client key readable by the node's user only), so an
//! auction survives a restart.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path as UrlPath, State, rejection::BytesRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use compute_sealed::{Auctioneer, MAX_BID_BYTES};
use ledger::{
    Address, B256, Call, Tx,
    compute::{BidState, ComputeCall, OrderId, OrderState},
    keccak256,
};
use serde_json::json;
use tokio::sync::{Semaphore, watch};
use wallet::PrivateKey;

use crate::{
    api::ApiError,
    app::{App, TxStatus},
};

/// The auctioneer side of sealed orders on this node.
pub struct Auctions {
    dir: PathBuf,
    key: PrivateKey,
    keys: Mutex<HashMap<B256, Arc<Auctioneer>>>,
    /// Key generation costs seconds of CPU: one at a time.
    creating: Semaphore,
    /// (merges done, merges in all) of auctions being resolved, by key hash.
    progress: Arc<Mutex<HashMap<B256, (usize, usize)>>>,
    /// Orders resolved or given up on by this process.
    done: Mutex<HashSet<OrderId>>,
}

impl std::fmt::Debug for Auctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auctions")
            .field("dir", &self.dir)
            .field("auctioneer", &self.key.address())
            .finish_non_exhaustive()
    }
}

/// The guarded value, also after a thread panicked holding it (each map here stays usable:
/// an entry is written whole or not at all).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn hex_name(h: &B256) -> String {
    alloy_primitives::hex::encode(h.0)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{fs::OpenOptions, io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

impl Auctions {
    /// Auctions kept under `dir`, resolved by the ledger account of `key`.
    pub fn new(dir: PathBuf, key: PrivateKey) -> Self {
        Auctions {
            dir,
            key,
            keys: Mutex::new(HashMap::new()),
            creating: Semaphore::new(1),
            progress: Arc::new(Mutex::new(HashMap::new())),
            done: Mutex::new(HashSet::new()),
        }
    }

    /// The account that resolves this node's auctions.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    fn auction_dir(&self, hash: &B256) -> PathBuf {
        self.dir.join(hex_name(hash))
    }

    /// Creates an auction's keys; answers the public key's hash.
    pub async fn create(&self) -> Result<B256, ApiError> {
        let _permit = self
            .creating
            .try_acquire()
            .map_err(|_| ApiError::busy("another auction's keys are being generated; retry"))?;
        let dir = self.dir.clone();
        let (hash, auctioneer) = tokio::task::spawn_blocking(move || {
            let a = Auctioneer::generate();
            let (client, public) = a.export().map_err(|e| e.to_string())?;
            let hash = keccak256(&public);
            let d = dir.join(hex_name(&hash));
            std::fs::create_dir_all(d.join("bids")).map_err(|e| e.to_string())?;
            write_private(&d.join("client.key"), &client).map_err(|e| e.to_string())?;
            std::fs::write(d.join("public.key"), &public).map_err(|e| e.to_string())?;
            Ok::<_, String>((hash, a))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)?;
        lock(&self.keys).insert(hash, Arc::new(auctioneer));
        tracing::info!(key_hash = %hash, "sealed auction created");
        Ok(hash)
    }

    fn public_key(&self, hash: &B256) -> Result<Vec<u8>, ApiError> {
        std::fs::read(self.auction_dir(hash).join("public.key")).map_err(|_| unknown(hash))
    }

    /// Whether this node holds the auction, without reading its keys.
    fn require(&self, hash: &B256) -> Result<(), ApiError> {
        if self.auction_dir(hash).join("public.key").is_file() {
            Ok(())
        } else {
            Err(unknown(hash))
        }
    }

    /// The auction's keys, loaded from disk after a restart.
    async fn auctioneer(&self, hash: &B256) -> Result<Arc<Auctioneer>, ApiError> {
        if let Some(a) = lock(&self.keys).get(hash) {
            return Ok(Arc::clone(a));
        }
        let public = self.public_key(hash)?;
        let client = std::fs::read(self.auction_dir(hash).join("client.key"))
            .map_err(|e| ApiError::internal(format!("auction {hash}: client key: {e}")))?;
        let a = tokio::task::spawn_blocking(move || Auctioneer::import(&client, &public))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let a = Arc::new(a);
        lock(&self.keys).insert(*hash, Arc::clone(&a));
        Ok(a)
    }

    /// Checks and keeps one sealed bid; answers its keccak256.
    pub async fn put_bid(&self, hash: &B256, bytes: Bytes) -> Result<B256, ApiError> {
        let a = self.auctioneer(hash).await?;
        let checked = bytes.clone();
        tokio::task::spawn_blocking(move || a.check_bid(&checked).map(|_| ()))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|reason| ApiError::malformed(format!("sealed bid refused: {reason}")))?;
        let ct = keccak256(&bytes);
        let path = self.auction_dir(hash).join("bids").join(hex_name(&ct));
        std::fs::write(&path, &bytes).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(ct)
    }

    fn bid_bytes(&self, hash: &B256, ct: &B256) -> Option<Vec<u8>> {
        std::fs::read(self.auction_dir(hash).join("bids").join(hex_name(ct))).ok()
    }

    fn set_progress(&self, hash: B256, p: Option<(usize, usize)>) {
        let mut m = lock(&self.progress);
        match p {
            Some(p) => m.insert(hash, p),
            None => m.remove(&hash),
        };
    }

    /// Resolves this node's sealed orders once their deadline has passed, until `shutdown`.
    pub async fn run(self: Arc<Self>, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
        let me = self.address();
        loop {
            let due: Vec<(OrderId, B256)> = {
                let st = app.state();
                let h = st.head.height;
                let done = lock(&self.done);
                st.compute
                    .meta
                    .iter()
                    .flat_map(|m| m.open_orders.iter())
                    .filter_map(|id| st.compute.orders.get(id))
                    .filter(|o| o.state == OrderState::Open && h > o.bid_deadline)
                    .filter(|o| !done.contains(&o.id))
                    .filter_map(|o| {
                        o.sealed
                            .filter(|s| s.auctioneer == me)
                            .map(|s| (o.id, s.key_hash))
                    })
                    .collect()
            };
            for (order, hash) in due {
                match self.resolve(&app, order, hash).await {
                    Ok(()) => {
                        lock(&self.done).insert(order);
                    }
                    Err(Retry::Later(e)) => {
                        tracing::warn!(order, error = %e, "sealed auction: will retry");
                    }
                    Err(Retry::Never(e)) => {
                        tracing::warn!(order, error = %e, "sealed auction cannot be resolved; the order will lapse");
                        lock(&self.done).insert(order);
                    }
                }
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
        }
    }

    async fn resolve(&self, app: &Arc<App>, order: OrderId, hash: B256) -> Result<(), Retry> {
        let (bids, tick, max_price) = {
            let st = app.state();
            let o = st
                .compute
                .orders
                .get(&order)
                .ok_or_else(|| Retry::Never(format!("order {order} vanished")))?;
            let tick = o.sealed.map_or(0, |s| s.tick);
            let bids: Vec<(u8, B256)> = st
                .compute
                .order_bids(order)
                .into_iter()
                .filter(|b| b.state == BidState::Open)
                .filter_map(|b| b.ciphertext_hash.map(|c| (b.index, c)))
                .collect();
            (bids, tick, o.max_price)
        };
        let mut positions = Vec::new();
        let mut sealed = Vec::new();
        for (index, ct) in bids {
            match self.bid_bytes(&hash, &ct) {
                Some(b) => {
                    positions.push(index);
                    sealed.push(b);
                }
                None => tracing::warn!(
                    order,
                    index,
                    "sealed bid's ciphertext was never uploaded here; left out"
                ),
            }
        }
        if sealed.is_empty() {
            return Err(Retry::Never("no sealed bid reached this auctioneer".into()));
        }
        let a = self
            .auctioneer(&hash)
            .await
            .map_err(|e| Retry::Never(e.message))?;
        tracing::info!(
            order,
            bids = sealed.len(),
            "sealed auction: computing the encrypted minimum"
        );
        let started = std::time::Instant::now();
        let shown = Arc::clone(&self.progress);
        let progress = move |done: usize, total: usize| {
            tracing::info!(order, done, total, "sealed auction: comparisons");
            lock(&shown).insert(hash, (done, total));
        };
        self.set_progress(hash, Some((0, sealed.len().saturating_sub(1))));
        let outcome = tokio::task::spawn_blocking(move || a.resolve(&sealed, &progress))
            .await
            .map_err(|e| Retry::Later(e.to_string()))?;
        self.set_progress(hash, None);
        let outcome = outcome.map_err(|e| Retry::Never(e.to_string()))?;
        let price = tick.saturating_mul(u128::from(outcome.price));
        if price > max_price {
            return Err(Retry::Never(
                "every sealed bid is above the order's max price".into(),
            ));
        }
        let winner = positions
            .get(outcome.winner)
            .copied()
            .ok_or_else(|| Retry::Never("winner out of range".into()))?;
        tracing::info!(
            order,
            winner,
            took_ms = started.elapsed().as_millis() as u64,
            "sealed auction resolved"
        );
        let call = Call::Compute(ComputeCall::ResolveAuction {
            order,
            winner,
            price_ticks: outcome.price,
        });
        self.submit(app, call).await
    }

    /// Signs `call` at the auctioneer's next nonce, submits it and waits for its receipt. A
    /// failed receipt is final (the order is no longer open, say); a refused or unconfirmed
    /// submission may be retried.
    async fn submit(&self, app: &Arc<App>, call: Call) -> Result<(), Retry> {
        let (chain_id, fee, nonce) = {
            let st = app.state();
            (
                st.params.chain_id,
                st.params.min_fee,
                st.nonce(&self.address()),
            )
        };
        let tx = Tx {
            from: self.address(),
            nonce,
            fee,
            expiry: 0,
            call,
        };
        let signed = tx
            .sign_with(chain_id, |h| self.key.sign_hash(h).map(|s| s.to_bytes()))
            .map_err(|e| Retry::Never(e.to_string()))?;
        let hash = match app.submit_many(vec![signed]).await.pop() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(Retry::Later(e.to_string())),
            None => return Err(Retry::Later("not submitted".into())),
        };
        for _ in 0..300 {
            match app.tx_status(&hash) {
                Ok(TxStatus::Committed(rec)) => {
                    return if rec.receipt.status.is_success() {
                        Ok(())
                    } else {
                        Err(Retry::Never(format!(
                            "ResolveAuction failed: {:?}",
                            rec.receipt.status
                        )))
                    };
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => return Err(Retry::Later(e.to_string())),
            }
        }
        Err(Retry::Later(format!(
            "ResolveAuction {hash} not committed in 30 s"
        )))
    }
}

fn unknown(hash: &B256) -> ApiError {
    ApiError::not_found(format!("no auction with key hash {hash} here"))
}

enum Retry {
    Later(String),
    Never(String),
}

type AuctionState = State<Option<Arc<Auctions>>>;

fn running(a: &Option<Arc<Auctions>>) -> Result<&Arc<Auctions>, ApiError> {
    a.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "this node runs no sealed auctions (start it with --auctioneer-keystore, or --dev)",
        )
    })
}

fn parse_key_hash(s: &str) -> Result<B256, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not a 32-byte hex key hash")))
}

async fn create(State(a): AuctionState) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let a = running(&a)?;
    let hash = a.create().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "keyHash": hash,
            "auctioneer": a.address(),
            "publicKey": format!("/v1/auctions/{hash}/public-key"),
        })),
    ))
}

async fn status(
    State(a): AuctionState,
    UrlPath(hash): UrlPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let a = running(&a)?;
    let hash = parse_key_hash(&hash)?;
    a.require(&hash)?;
    let progress = lock(&a.progress).get(&hash).copied();
    let bids = std::fs::read_dir(a.auction_dir(&hash).join("bids"))
        .map(|d| d.count())
        .unwrap_or(0);
    Ok(Json(json!({
        "keyHash": hash,
        "auctioneer": a.address(),
        "bidsReceived": bids,
        "resolving": progress.map(|(done, total)| json!({"done": done, "total": total})),
    })))
}

async fn public_key(
    State(a): AuctionState,
    UrlPath(hash): UrlPath<String>,
) -> Result<Response, ApiError> {
    let a = running(&a)?;
    let bytes = a.public_key(&parse_key_hash(&hash)?)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn put_bid(
    State(a): AuctionState,
    UrlPath(hash): UrlPath<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let a = running(&a)?;
    let hash = parse_key_hash(&hash)?;
    let body = body?;
    if body.is_empty() {
        return Err(ApiError::malformed(
            "empty body: send the sealed bid's bytes",
        ));
    }
    let ct = a.put_bid(&hash, body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "ciphertextHash": ct }))))
}

/// The auction routes; `auctions` is `None` on a node that runs none (they answer 404).
pub fn router(auctions: Option<Arc<Auctions>>) -> Router {
    Router::new()
        .route("/v1/auctions", post(create))
        .route("/v1/auctions/{hash}", get(status))
        .route("/v1/auctions/{hash}/public-key", get(public_key))
        .route(
            "/v1/auctions/{hash}/bids",
            post(put_bid).layer(DefaultBodyLimit::max(MAX_BID_BYTES as usize)),
        )
        .with_state(auctions)
}
