//! Transaction relay: a node passes the transactions its clients submit to other nodes'
//! `POST /v1/txs`, so that on a BFT chain whichever validator proposes next can include
//! them (`symbiont node --tx-relay URL,…`; `symbiont testnet` meshes its nodes this way).
//!
//! A relayed batch carries the [`RELAY_HEADER`]; a node admits it like any submission but
//! does not relay it again, so a full mesh delivers each transaction in one hop and never
//! loops. Relaying is best effort: a transaction that does not reach a peer is still in
//! this node's mempool and is included when this node proposes.

use std::{sync::Arc, time::Duration};

use ledger::tx::SignedTx;
use tokio::sync::{mpsc, watch};

use crate::{api::MAX_BATCH_TXS, app::App};

/// Marks a submission as relayed by another node.
pub const RELAY_HEADER: &str = "x-symbiont-relay";

/// Batches waiting to be relayed; beyond this, submissions are not relayed.
const QUEUE: usize = 1024;

/// How long one peer gets to take a batch.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Starts relaying `app`'s client submissions to `peers` until `shutdown`.
pub fn start(
    app: &Arc<App>,
    peers: Vec<reqwest::Url>,
    mut shutdown: watch::Receiver<bool>,
) -> eyre::Result<tokio::task::JoinHandle<()>> {
    let (tx, mut rx) = mpsc::channel::<Vec<SignedTx>>(QUEUE);
    app.relay_to(tx);
    let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
    let targets: Vec<reqwest::Url> = peers
        .iter()
        .map(|p| p.join("v1/txs"))
        .collect::<Result<_, _>>()?;
    tracing::info!(peers = targets.len(), "relaying submitted transactions");
    let app = Arc::clone(app);
    Ok(tokio::spawn(async move {
        // Whether each peer took its last batch (to log a change once, not every failure).
        let mut up = vec![true; targets.len()];
        loop {
            let mut batch = tokio::select! {
                b = rx.recv() => match b {
                    Some(b) => b,
                    None => return,
                },
                _ = shutdown.changed() => return,
            };
            // Whatever else is queued goes in the same request.
            while batch.len() < MAX_BATCH_TXS {
                match rx.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            let body = match serde_json::to_vec(&batch) {
                Ok(b) => bytes::Bytes::from(b),
                Err(e) => {
                    tracing::error!(error = %e, "cannot encode a relay batch");
                    continue;
                }
            };
            let sends = targets.iter().map(|url| {
                http.post(url.clone())
                    .header(RELAY_HEADER, "1")
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
            });
            let results = futures_util::future::join_all(sends).await;
            for (i, r) in results.into_iter().enumerate() {
                let ok = matches!(&r, Ok(resp) if resp.status().is_success());
                if ok {
                    app.metrics.txs_relayed.add(batch.len() as u64);
                } else {
                    app.metrics.relay_failures.inc();
                }
                if ok != up[i] {
                    match r {
                        Ok(_) if ok => tracing::info!(peer = %targets[i], "relay peer is back"),
                        Ok(resp) => {
                            tracing::warn!(peer = %targets[i], status = %resp.status(), "relay peer refuses batches")
                        }
                        Err(e) => {
                            tracing::warn!(peer = %targets[i], error = %e, "relay peer unreachable")
                        }
                    }
                    up[i] = ok;
                }
            }
        }
    }))
}
