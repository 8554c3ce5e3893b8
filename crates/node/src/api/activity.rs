//! `/v1/activity`: what the chain did lately, newest first — the last blocks (height, time,
//! transaction count: enough for a block rate) and the last transactions with their receipts
//! and, for x402 payments this node's facilitator settled, how long the settlement took. The
//! dashboard's first render reads it; the event stream keeps it current.

use axum::{
    Json,
    extract::{Query, State},
};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::app::App;

/// Default and largest `?blocks=`.
pub const BLOCKS: (usize, usize) = (60, 256);
/// Default and largest `?txs=`.
pub const TXS: (usize, usize) = (30, 200);
/// How many blocks back the search for transactions goes at most.
pub const TX_SCAN_BLOCKS: u64 = 2048;

/// `?blocks=&txs=`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct ActivityQuery {
    blocks: Option<usize>,
    txs: Option<usize>,
}

pub(super) async fn get_activity(
    State(app): AppState,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<Value>, ApiError> {
    let blocks = q.blocks.unwrap_or(BLOCKS.0).min(BLOCKS.1);
    let txs = q.txs.unwrap_or(TXS.0).min(TXS.1);
    // Reading blocks and receipts from the store blocks: not on the runtime.
    let v = tokio::task::spawn_blocking(move || activity(&app, blocks, txs))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(v))
}

fn activity(app: &App, max_blocks: usize, max_txs: usize) -> Result<Value, ApiError> {
    let head = app.state().head.height;
    let mut blocks = Vec::with_capacity(max_blocks);
    let mut txs = Vec::with_capacity(max_txs);
    let mut height = head;
    let oldest = head.saturating_sub(TX_SCAN_BLOCKS);
    loop {
        let wants_block = blocks.len() < max_blocks;
        let wants_txs = txs.len() < max_txs && height >= oldest;
        if !(wants_block || wants_txs) {
            break;
        }
        let Some(block) = app.store().block(height)? else {
            break;
        };
        let header = &block.header;
        if wants_block {
            blocks.push(json!({
                "height": header.height,
                "hash": header.hash(),
                "timestampMs": header.timestamp_ms,
                "txCount": block.txs.len(),
            }));
        }
        if wants_txs {
            for signed in block.txs.iter().rev() {
                if txs.len() >= max_txs {
                    break;
                }
                let hash = signed.tx.signing_hash(signed.chain_id);
                let Some(rec) = app.store().tx(&hash)? else {
                    continue;
                };
                txs.push(json!({
                    "hash": hash,
                    "height": rec.height,
                    "index": rec.index,
                    "timestampMs": header.timestamp_ms,
                    "from": signed.tx.from,
                    "call": signed.tx.call,
                    "receipt": rec.receipt,
                    "settleMs": app.settlement_ms(&hash),
                }));
            }
        }
        if height == 0 {
            break;
        }
        height -= 1;
    }
    Ok(json!({ "height": head, "blocks": blocks, "txs": txs }))
}
