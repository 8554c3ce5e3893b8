//! The event stream behind `/v1/events`: one `block` event per block, then one `receipt`
//! event per transaction, as JSON text frames.

use std::sync::Arc;

use ledger::{Commit, state::Head};
use serde_json::json;
use tokio::sync::broadcast;

/// A pre-serialised JSON event, shared by all subscribers.
pub type Event = Arc<str>;

/// Publishes a committed block and its receipts.
pub fn publish(tx: &broadcast::Sender<Event>, commit: &Commit, head: &Head) {
    let block = json!({
        "type": "block",
        "height": head.height,
        "hash": head.hash,
        "header": commit.block.header,
        "txCount": commit.tx_hashes.len(),
    });
    let _ = tx.send(Arc::from(block.to_string()));
    for (i, r) in commit.receipts.iter().enumerate() {
        let ev = json!({ "type": "receipt", "height": head.height, "index": i, "receipt": r });
        let _ = tx.send(Arc::from(ev.to_string()));
    }
}
