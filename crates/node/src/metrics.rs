//! Prometheus metrics, rendered by hand in the text exposition format.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge.
#[derive(Debug, Default)]
pub struct Gauge(AtomicU64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// The value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The node's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Height of the last committed block.
    pub head_height: Gauge,
    /// Blocks committed since start.
    pub blocks: Counter,
    /// Transactions committed since start.
    pub txs_committed: Counter,
    /// Transactions admitted to the mempool since start.
    pub txs_accepted: Counter,
    /// Pending transactions.
    pub mempool_size: Gauge,
    /// HTTP requests served.
    pub http_requests: Counter,
    /// Transactions relayed to other nodes (counted once per peer that admitted them).
    pub txs_relayed: Counter,
    /// Relay batches not sent to a peer (queue full, peer down or refusing).
    pub relay_failures: Counter,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Last block's build and commit time, microseconds.
    last_build_us: Gauge,
    last_commit_us: Gauge,
}

impl Metrics {
    /// Counts a rejection by code.
    pub fn rejected(&self, code: &'static str) {
        if let Ok(mut m) = self.rejected.lock() {
            *m.entry(code).or_default() += 1;
        }
    }

    /// Records a committed block.
    pub fn block_committed(&self, height: u64, txs: u64, build_s: f64, commit_s: f64) {
        self.head_height.set(height);
        self.blocks.inc();
        self.txs_committed.add(txs);
        self.last_build_us.set((build_s * 1e6) as u64);
        self.last_commit_us.set((commit_s * 1e6) as u64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        metric(
            "symbiont_head_height",
            "gauge",
            "Height of the last committed block.",
            self.head_height.get(),
        );
        metric(
            "symbiont_blocks_total",
            "counter",
            "Blocks committed since start.",
            self.blocks.get(),
        );
        metric(
            "symbiont_txs_committed_total",
            "counter",
            "Transactions committed since start.",
            self.txs_committed.get(),
        );
        metric(
            "symbiont_txs_accepted_total",
            "counter",
            "Transactions admitted to the mempool.",
            self.txs_accepted.get(),
        );
        metric(
            "symbiont_mempool_size",
            "gauge",
            "Pending transactions.",
            self.mempool_size.get(),
        );
        metric(
            "symbiont_http_requests_total",
            "counter",
            "HTTP requests served.",
            self.http_requests.get(),
        );
        metric(
            "symbiont_txs_relayed_total",
            "counter",
            "Transactions relayed to other nodes, per peer.",
            self.txs_relayed.get(),
        );
        metric(
            "symbiont_relay_failures_total",
            "counter",
            "Relay batches not delivered to a peer.",
            self.relay_failures.get(),
        );
        metric(
            "symbiont_block_build_microseconds",
            "gauge",
            "Build time of the last block.",
            self.last_build_us.get(),
        );
        metric(
            "symbiont_block_commit_microseconds",
            "gauge",
            "Durable commit time of the last block.",
            self.last_commit_us.get(),
        );
        let _ = writeln!(
            s,
            "# HELP symbiont_txs_rejected_total Submissions refused, by code."
        );
        let _ = writeln!(s, "# TYPE symbiont_txs_rejected_total counter");
        if let Ok(m) = self.rejected.lock() {
            for (code, n) in m.iter() {
                let _ = writeln!(s, "symbiont_txs_rejected_total{{code=\"{code}\"}} {n}");
            }
        }
        s
    }
}
