//! `symbiont bench x402`: the x402 facilitator and paywall on a dev node in this process.
//!
//! Measured in one run, next to this machine's all-core secp256k1 recovery rate:
//!
//! - facilitator verifications per second: `/verify` requests (JSON bytes → decoded → verified
//!   against the ledger state, signature recovery included) on all cores, in process, as a
//!   fraction of the recovery rate (target ≥ 0.80); and the same over HTTP on loopback;
//! - latency over loopback (p50, p99): verify-only (`POST /x402/verify`, what a paywall spends
//!   before running the handler) and a paid request with settlement (`x402-client` →
//!   402 → sign → retry → verify → handler → settle, answered once the block includes it);
//! - settled payments per second, sustained: concurrent paying clients through the paywall.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy_primitives::{B256, Bytes, U256};
use axum::{Router, routing::get};
use eyre::bail;
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;
use rayon::prelude::*;
use wallet::PrivateKey;
use x402_client::{Client as PayingClient, SpendControls};
use x402_server::{HttpFacilitator, PaymentLayer};
use x402_types::{
    TokenAmount, VerifyRequest,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{self, PaymentRequirements},
};

use crate::{cmd::bench::recovery_rates, config::NodeConfig, demo::demo_requirements, dev, server};

/// Options of `symbiont bench x402`.
#[derive(Debug, Clone, clap::Args)]
pub struct X402Args {
    /// Verifications to time (in process and over HTTP).
    #[arg(long, default_value_t = 30_000)]
    verifications: usize,
    /// Sequential requests for each latency figure.
    #[arg(long, default_value_t = 300)]
    latency_samples: usize,
    /// Paid requests for the sustained-throughput figure.
    #[arg(long, default_value_t = 3_000)]
    payments: usize,
    /// Concurrent paying clients.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Milliseconds between blocks (settlement waits for inclusion).
    #[arg(long, default_value_t = 100)]
    block_time_ms: u64,
    /// Signatures to recover per core when measuring the recovery rate (over all rounds).
    #[arg(long, default_value_t = 30_000)]
    recoveries: usize,
}

/// Results of `symbiont bench x402`.
#[derive(Debug, Clone)]
pub struct X402Report {
    cores: usize,
    recover_all: f64,
    verify_in_process: f64,
    verify_http: f64,
    verify_latency: (Duration, Duration),
    paid_latency: (Duration, Duration),
    settled_per_sec: f64,
    payments: usize,
    block_time_ms: u64,
}

impl std::fmt::Display for X402Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            f,
            "symbiont bench x402 ({} cores, {} ms blocks)",
            self.cores, self.block_time_ms
        )?;
        writeln!(
            f,
            "  secp256k1 recover, all cores    {:>9.0} /s",
            self.recover_all
        )?;
        writeln!(
            f,
            "  facilitator verify, in process  {:>9.0} /s   ratio to recovery {:.2} (target >= 0.80)",
            self.verify_in_process,
            self.verify_in_process / self.recover_all
        )?;
        writeln!(
            f,
            "  facilitator verify, HTTP        {:>9.0} /s",
            self.verify_http
        )?;
        writeln!(
            f,
            "  verify-only latency (HTTP)      p50 {:>7.2} ms   p99 {:>7.2} ms",
            ms(self.verify_latency.0),
            ms(self.verify_latency.1)
        )?;
        writeln!(
            f,
            "  paid request with settlement    p50 {:>7.2} ms   p99 {:>7.2} ms",
            ms(self.paid_latency.0),
            ms(self.paid_latency.1)
        )?;
        write!(
            f,
            "  settled payments, sustained     {:>9.0} /s   ({} paid requests through the paywall)",
            self.settled_per_sec, self.payments
        )
    }
}

/// Runs the benchmark.
pub fn run(args: X402Args) -> eyre::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(bench(args))?;
    println!("{report}");
    Ok(())
}

/// `n` verify requests paying `req` from dev keys 1–7, signed in parallel.
fn signed_requests(req: &PaymentRequirements, n: usize) -> eyre::Result<Vec<Vec<u8>>> {
    let payers: Vec<PrivateKey> = (1..8).map(dev::dev_key).collect::<Result<_, _>>()?;
    let domain = exact::domain_for(req)?;
    let pay_to = req.pay_to.parse()?;
    let valid_before = crate::app::now_secs() + 3600;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let payer = &payers[i % payers.len()];
            let mut nonce = B256::ZERO;
            rand::thread_rng().fill_bytes(nonce.as_mut_slice());
            let auth = Authorization {
                from: payer.address(),
                to: pay_to,
                value: req.amount,
                valid_after: TokenAmount::from(0u64),
                valid_before: TokenAmount::from(valid_before),
                nonce,
            };
            let sig = payer.sign_hash(&auth.signing_hash(&domain))?;
            let payload = v2::PaymentPayload::new(
                req,
                None,
                &ExactEvmPayload {
                    signature: Bytes::copy_from_slice(&sig.to_bytes()),
                    authorization: auth,
                },
            )?;
            Ok(serde_json::to_vec(&VerifyRequest::new_v2(&payload, req)?)?)
        })
        .collect()
}

/// Rounds of the recovery and in-process verification measurements.
const ROUNDS: usize = 3;

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    if v.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    (at(0.50), at(0.99))
}

async fn bench(args: X402Args) -> eyre::Result<X402Report> {
    let style = ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let tmp = tempfile::tempdir()?;
    let mut config = NodeConfig::new(tmp.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse()?;
    config.block_time = Duration::from_millis(args.block_time_ms);
    config.dev = true;
    let node = server::start(&config).await?;
    let node_url = format!("http://{}", node.addr);
    let mut req = demo_requirements(&node.app)?;
    req.amount = TokenAmount::from(1u64);

    eprintln!("signing {} payments...", args.verifications);
    let n = args.verifications.max(1);
    let bodies = {
        let req = req.clone();
        tokio::task::spawn_blocking(move || signed_requests(&req, n)).await??
    };

    // In process: decode + verify on every core, in rounds alternating with the recovery
    // measurement so both see the same machine; the best round of each is reported.
    let service = Arc::new(x402_facilitator::Service::new().with(Arc::new(
        crate::facilitator::LedgerBackend::new(Arc::clone(&node.app), dev::dev_key(9)?),
    )));
    eprintln!("measuring recovery and verification ({ROUNDS} rounds each)...");
    let (mut recover_all, mut verify_in_process, mut cores) = (0f64, 0f64, 1);
    for round in 0..ROUNDS {
        let recoveries = args.recoveries.div_ceil(ROUNDS).max(1);
        let (_, all, c) = tokio::task::spawn_blocking(move || recovery_rates(recoveries)).await??;
        recover_all = recover_all.max(all);
        cores = c;
        let chunk: Vec<Vec<u8>> = bodies
            .iter()
            .skip(round * n / ROUNDS)
            .take(n / ROUNDS)
            .cloned()
            .collect();
        let len = chunk.len();
        let service = Arc::clone(&service);
        let start = Instant::now();
        let valid = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            chunk
                .par_iter()
                .filter(|b| {
                    handle
                        .block_on(service.verify_json(b))
                        .is_ok_and(|r| r.is_valid)
                })
                .count()
        })
        .await?;
        verify_in_process = verify_in_process.max(len as f64 / start.elapsed().as_secs_f64());
        if valid != len {
            bail!("{} of {len} verifications failed", len - valid);
        }
    }

    // Over HTTP, 2 × cores connections.
    let http = reqwest::Client::new();
    let verify_url = format!("{node_url}/x402/verify");
    let start = Instant::now();
    let queue = Arc::new(std::sync::Mutex::new(bodies.clone().into_iter()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cores * 2 {
        let (queue, http, url) = (Arc::clone(&queue), http.clone(), verify_url.clone());
        tasks.spawn(async move {
            loop {
                let Some(body) = queue.lock().ok().and_then(|mut q| q.next()) else {
                    return eyre::Ok(());
                };
                let v: serde_json::Value = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?
                    .json()
                    .await?;
                if v["isValid"] != true {
                    bail!("verify over HTTP refused: {v}");
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let verify_http = n as f64 / start.elapsed().as_secs_f64();

    // Verify-only latency, one request at a time.
    let mut lat = Vec::with_capacity(args.latency_samples);
    for body in bodies.iter().take(args.latency_samples.max(1)) {
        let t = Instant::now();
        http.post(&verify_url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?
            .bytes()
            .await?;
        lat.push(t.elapsed());
    }
    let verify_latency = percentiles(lat);

    // A paywall in front of the node's facilitator, over HTTP as a separate service would be.
    let facilitator = HttpFacilitator::new(format!("{node_url}/x402"));
    let app = Router::new().route(
        "/paid",
        get(|| async { "paid" }).layer(PaymentLayer::new(facilitator, req.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let paid_url = format!("http://{}/paid", listener.local_addr()?);
    let server_task = tokio::spawn(async move { axum::serve(listener, app).await });
    let payers: Vec<PayingClient> = (1..8)
        .map(|i| {
            Ok(PayingClient::new(
                Arc::new(dev::dev_key(i)?),
                SpendControls {
                    max_per_payment: Some(U256::from(1u64)),
                    ..SpendControls::default()
                },
            ))
        })
        .collect::<eyre::Result<_>>()?;

    let mut lat = Vec::with_capacity(args.latency_samples);
    let bar = ProgressBar::new(args.latency_samples as u64).with_style(style.clone());
    bar.set_message("paid requests (latency)");
    for i in 0..args.latency_samples.max(1) {
        let t = Instant::now();
        let paid = payers[i % payers.len()].get(&paid_url).await?;
        if !paid.receipt.is_some_and(|r| r.success) {
            bail!("paid request {i} did not settle");
        }
        lat.push(t.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let paid_latency = percentiles(lat);

    // Sustained: `concurrency` clients paying until `payments` have settled.
    let total = args.payments.max(1);
    let bar = ProgressBar::new(total as u64).with_style(style);
    bar.set_message("settled payments");
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..args.concurrency.max(1) {
        let (client, url, next, bar) = (
            payers[c % payers.len()].clone(),
            paid_url.clone(),
            Arc::clone(&next),
            bar.clone(),
        );
        tasks.spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let paid = client.get(&url).await?;
                if !paid.receipt.is_some_and(|r| r.success) {
                    bail!("a payment did not settle");
                }
                bar.inc(1);
            }
            eyre::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let settled_per_sec = total as f64 / start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    server_task.abort();
    node.shutdown().await?;
    Ok(X402Report {
        cores,
        recover_all,
        verify_in_process,
        verify_http,
        verify_latency,
        paid_latency,
        settled_per_sec,
        payments: total,
        block_time_ms: args.block_time_ms,
    })
}
