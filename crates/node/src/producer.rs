//! The block-production seam. A [`BlockProducer`] decides when a block is made and commits it
//! through [`App::produce_block`]; the solo producer here makes one every `block_time`, even
//! when empty (epochs count blocks). A BFT engine will implement the same trait.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::sync::watch;

use crate::app::{App, now_ms};

/// Drives block production until shutdown.
pub trait BlockProducer: Send + 'static {
    /// Runs until `shutdown` becomes true; returns an error if a block cannot be committed.
    fn run(
        self,
        app: Arc<App>,
        shutdown: watch::Receiver<bool>,
    ) -> impl Future<Output = eyre::Result<()>> + Send;
}

/// A single node producing blocks on a timer.
#[derive(Debug, Clone, Copy)]
pub struct SoloProducer {
    /// Time between blocks.
    pub block_time: Duration,
}

impl BlockProducer for SoloProducer {
    async fn run(self, app: Arc<App>, mut shutdown: watch::Receiver<bool>) -> eyre::Result<()> {
        let mut tick = tokio::time::interval(self.block_time);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return Ok(()),
            }
            let a = Arc::clone(&app);
            let height = tokio::task::spawn_blocking(move || a.produce_block(now_ms())).await??;
            if height % 60 == 0 {
                tracing::info!(height, mempool = app.mempool_len(), "block");
            }
        }
    }
}
