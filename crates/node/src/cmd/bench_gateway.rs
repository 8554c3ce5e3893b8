//! `symbiont bench gateway`: what the paid gateway adds to an inference request.
//!
//! One process runs a dev node, subnet 1 with one honest miner serving the real models, and
//! two gateways in front of it: one answering only once the payment is in a block (confirmed
//! settlement) and one answering as soon as the payment is verified (deferred settlement,
//! bounded per payer; `x402_server::deferred`). An x402 client that pays up front (it remembers
//! each URL's price, so no 402 round trip after the first request) sends the same request
//! three ways, interleaved sample by sample: straight to the miner, unpaid; through the
//! confirmed gateway; through the deferred gateway. Each latency is the client's wall time
//! for the whole request (signing included). The figure of merit is the paid p50 over the
//! direct p50 (target ≤ 1.10).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use eyre::bail;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use subnet::miner::{self, Behaviour};

use crate::{
    cmd::devnet::{self, EMBED_MODEL, NETUID, Tasks},
    config::{NodeArgs, NodeConfig},
    dev::dev_key,
};

/// Options of `symbiont bench gateway`.
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Embedding requests per way (one sentence each).
    #[arg(long, default_value_t = 300)]
    samples: usize,
    /// Chat completions per way.
    #[arg(long, default_value_t = 20)]
    chat_samples: usize,
    /// Tokens per chat completion.
    #[arg(long, default_value_t = 16)]
    chat_tokens: u32,
    /// Milliseconds between blocks (a confirmed settlement waits for one).
    #[arg(long, default_value_t = 100)]
    block_time_ms: u64,
    #[command(flatten)]
    models_dir: crate::cmd::models::DirArg,
    /// The Python interpreter that runs pip to fetch models.
    #[arg(long, env = "SYMBIONT_PYTHON", default_value = "python3")]
    python: String,
}

/// The three ways a request is sent.
const WAYS: [&str; 3] = ["direct (unpaid)", "paid, confirmed", "paid, deferred"];

/// Latencies of one kind of request, per way.
#[derive(Debug, Clone)]
struct Series {
    kind: String,
    samples: [Vec<Duration>; 3],
}

impl Series {
    fn new(kind: impl Into<String>) -> Self {
        Series {
            kind: kind.into(),
            samples: Default::default(),
        }
    }
}

/// Results of `symbiont bench gateway`.
#[derive(Debug, Clone)]
pub struct GatewayReport {
    cores: usize,
    block_time_ms: u64,
    series: Vec<Series>,
}

fn quantile(v: &[Duration], q: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n => v[((n as f64 - 1.0) * q).round() as usize],
    }
}

impl std::fmt::Display for GatewayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        writeln!(
            f,
            "symbiont bench gateway ({} cores, {} ms blocks)",
            self.cores, self.block_time_ms
        )?;
        writeln!(
            f,
            "{:<28} {:<18} {:>9} {:>9} {:>10}",
            "request", "way", "p50 ms", "p99 ms", "p50 ratio"
        )?;
        for s in &self.series {
            let base = ms(quantile(&s.samples[0], 0.5));
            for (way, v) in WAYS.iter().zip(&s.samples) {
                let p50 = ms(quantile(v, 0.5));
                writeln!(
                    f,
                    "{:<28} {:<18} {:>9.2} {:>9.2} {:>9.3}x",
                    s.kind,
                    way,
                    p50,
                    ms(quantile(v, 0.99)),
                    if base > 0.0 { p50 / base } else { 0.0 }
                )?;
            }
        }
        write!(
            f,
            "ratio = p50 of the way / p50 direct, same requests interleaved (target for paid: <= 1.10)"
        )
    }
}

/// Runs the benchmark and prints its report.
pub fn run(args: GatewayArgs) -> eyre::Result<()> {
    let models_dir = args.models_dir.resolve()?;
    let (engine, _) = crate::cmd::models::load_all(&models_dir, &args.python)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(bench(args, engine.clone()));
    rt.shutdown_timeout(Duration::from_secs(5));
    engine.shutdown();
    println!("{}", report?);
    Ok(())
}

async fn bench(args: GatewayArgs, engine: inference::Engine) -> eyre::Result<GatewayReport> {
    let tmp = tempfile::tempdir()?;
    let config = NodeConfig::resolve(&NodeArgs {
        data_dir: Some(tmp.path().join("node")),
        listen: Some("127.0.0.1:0".parse()?),
        block_time_ms: Some(args.block_time_ms),
        dev: true,
        ..NodeArgs::default()
    })?;
    let node = crate::server::start(&config).await?;
    let url = format!("http://{}", node.addr);
    let result = measure(&args, &url, Arc::clone(&node.facilitator), engine).await;
    node.shutdown().await?;
    result
}

async fn measure(
    args: &GatewayArgs,
    url: &str,
    facilitator: Arc<x402_facilitator::Service>,
    engine: inference::Engine,
) -> eyre::Result<GatewayReport> {
    let client = ledger_client::Client::new(url)?;
    let mut tasks = Tasks::default();
    devnet::create_subnet(&client, &dev_key(0)?, 1_000).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let miner_url = format!("http://{}", listener.local_addr()?);
    let app = miner::app(inference::http::router(engine), Behaviour::Honest);
    tasks.0.push(tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    }));
    miner::join(&client, &dev_key(2)?, NETUID, &miner_url).await?;
    let any = "127.0.0.1:0".parse()?;
    let confirmed =
        devnet::start_gateway(url, Arc::clone(&facilitator), any, None, &mut tasks).await?;
    let deferred = devnet::start_gateway(
        url,
        facilitator,
        any,
        Some(x402_server::DeferredSettlement::new(
            devnet::DEFERRED_PER_PAYER,
        )),
        &mut tasks,
    )
    .await?;
    for gw in [&confirmed, &deferred] {
        gw.gateway.refresh().await?;
        if gw.gateway.candidates().iter().all(|c| !c.healthy) {
            bail!("the gateway sees no healthy miner");
        }
    }

    let direct = reqwest::Client::new();
    let payer = devnet::paying_client(7)?;
    let bases = [miner_url.as_str(), &confirmed.url, &deferred.url];

    let embed = |i: usize| json!({ "model": EMBED_MODEL, "input": [format!("benchmark sentence number {i}: how fast is a paid embedding?")] });
    let chat = |i: usize| {
        json!({
            "messages": [{"role": "user", "content": format!("Say something about the number {i}.")}],
            "max_tokens": args.chat_tokens,
        })
    };
    // Warm-up: the first paid request per gateway learns its price (402), the models warm up.
    for base in bases {
        for (path, body) in [
            ("/v1/embeddings", embed(0)),
            ("/v1/chat/completions", chat(0)),
        ] {
            send(&direct, &payer, base, base == miner_url, path, &body).await?;
        }
    }

    let style = ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut series = Vec::new();
    for (kind, path, n, body) in [
        (
            "embedding, 1 sentence".to_owned(),
            "/v1/embeddings",
            args.samples,
            &embed as &dyn Fn(usize) -> Value,
        ),
        (
            format!("chat, {} tokens", args.chat_tokens),
            "/v1/chat/completions",
            args.chat_samples,
            &chat,
        ),
    ] {
        let bar = ProgressBar::new(n as u64)
            .with_style(style.clone())
            .with_message(kind.clone());
        let mut s = Series::new(kind);
        for i in 1..=n {
            let body = body(i);
            // Rotate the order so no way always runs first (or right after another).
            for k in 0..3 {
                let way = (i + k) % 3;
                let base = bases[way];
                let took = send(&direct, &payer, base, way == 0, path, &body).await?;
                s.samples[way].push(took);
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        series.push(s);
    }
    Ok(GatewayReport {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        block_time_ms: args.block_time_ms,
        series,
    })
}

/// Sends one request (paid through `payer` unless `unpaid`) and returns its wall time.
async fn send(
    direct: &reqwest::Client,
    payer: &x402_client::Client,
    base: &str,
    unpaid: bool,
    path: &str,
    body: &Value,
) -> eyre::Result<Duration> {
    let url = format!("{base}{path}");
    let started = Instant::now();
    let status = if unpaid {
        let r = direct.post(&url).json(body).send().await?;
        let status = r.status();
        r.bytes().await?;
        status
    } else {
        let request = payer.http().post(&url).json(body).build()?;
        let paid = payer.execute(request).await?;
        if paid.payment.is_none() {
            bail!("{url} answered without asking for payment");
        }
        let status = paid.response.status();
        paid.response.bytes().await?;
        status
    };
    let took = started.elapsed();
    if !status.is_success() {
        bail!("{url}: HTTP {status}");
    }
    Ok(took)
}
