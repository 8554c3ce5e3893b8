//! The devnet's compute lease: the honest miner registers as a provider whose leased endpoint
//! (`<miner>/lease/v1/…`) is gated by [`subnet::lease::gate`]; a tenant (dev 6) orders
//! capacity, the miner bids, the lowest bid wins at the deadline, and the tenant sends signed
//! requests faster than it leased, while a stranger tries the same endpoint. The epoch table
//! shows what was served and refused, and the escrow paid.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use eyre::{bail, eyre};
use ledger::{
    Address, Call,
    compute::{ComputeCall, OrderSpec, OrderTerms, Settlement},
};
use serde_json::{Value, json};
use wallet::PrivateKey;

use crate::{cmd::devnet::EMBED_MODEL, dev::dev_key};

/// The dev key of the tenant.
pub(crate) const TENANT_KEY: u32 = 6;
/// Requests per second the tenant leases.
pub(crate) const LEASE_RPS: u32 = 2;
/// Requests per second the tenant sends (more than it leased: the excess is refused).
const SEND_RPS: u32 = 3;
/// Price per block the provider bids, Devnet USD base units (0.0005 USD).
const BID_UNITS: u128 = 500;

/// What the tenant and the stranger saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeaseStats {
    /// The lease id.
    pub(crate) lease: Option<u64>,
    /// The tenant's requests served.
    pub(crate) served: u64,
    /// The tenant's requests refused as over capacity (429).
    pub(crate) over_capacity: u64,
    /// The stranger's requests refused (403).
    pub(crate) strangers_refused: u64,
    /// The stranger's requests served (must stay 0).
    pub(crate) strangers_served: u64,
    /// Anything else.
    pub(crate) errors: u64,
    /// The last unexpected answer.
    pub(crate) last_error: Option<String>,
}

impl LeaseStats {
    /// For `devnet --json`.
    pub(crate) fn json(&self) -> Value {
        json!({
            "lease": self.lease,
            "served": self.served,
            "overCapacity": self.over_capacity,
            "strangersRefused": self.strangers_refused,
            "strangersServed": self.strangers_served,
            "errors": self.errors,
        })
    }
}

/// The provider's attributes: its capacity and the model it serves.
fn attributes() -> std::collections::BTreeMap<String, String> {
    [
        ("capacity/rps".to_string(), "10".to_string()),
        (format!("model/{EMBED_MODEL}"), "true".to_string()),
        ("region".to_string(), "local".to_string()),
    ]
    .into()
}

/// The tenant's serving lease from `provider`, made if there is none yet (a devnet continued
/// with `--data-dir` keeps its lease).
pub(crate) async fn lease_capacity(
    client: &ledger_client::Client,
    provider: &PrivateKey,
    endpoint: &str,
) -> eyre::Result<u64> {
    let tenant = dev_key(TENANT_KEY)?;
    // (Re-)register: the miner's endpoint changes at every start.
    client
        .execute(
            provider,
            Call::Compute(ComputeCall::RegisterProvider {
                uri: format!("{endpoint}/lease"),
                attributes: attributes(),
            }),
        )
        .await?;
    let leased = client
        .get(&format!(
            "/v1/compute/orders?state=leased&tenant={}",
            tenant.address()
        ))
        .await?;
    for o in leased["orders"].as_array().into_iter().flatten() {
        let Some(id) = o["order"]["id"].as_u64() else {
            continue;
        };
        let l = client.get(&format!("/v1/leases/{id}")).await?;
        let by: Option<Address> = l["lease"]["provider"].as_str().and_then(|a| a.parse().ok());
        if l["serving"] == true && by == Some(provider.address()) {
            return Ok(id);
        }
    }
    let usd = crate::dev::usd_asset()?;
    let receipt = client
        .execute(
            &tenant,
            Call::Compute(ComputeCall::CreateOrder(OrderTerms {
                spec: OrderSpec {
                    capacity_rps: LEASE_RPS,
                    attributes: [(format!("model/{EMBED_MODEL}"), "true".to_string())].into(),
                    auditors: vec![],
                },
                asset: usd,
                settlement: Settlement::Pay,
                max_price: 1_000,
                duration: 1_000_000,
                // 50 USD: 100,000 blocks at the bid.
                deposit: 50_000_000,
                min_collateral: 0,
                bid_window: 3,
                sealed: None,
            })),
        )
        .await?;
    let order = receipt["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| e["orderCreated"]["order"].as_u64())
        .ok_or_else(|| eyre!("the order's receipt names no order"))?;
    client
        .execute(
            provider,
            Call::Compute(ComputeCall::PlaceBid {
                order,
                price: BID_UNITS,
                collateral: 0,
            }),
        )
        .await?;
    // The only (so lowest) bid wins when the window closes.
    for _ in 0..200 {
        if client.get(&format!("/v1/leases/{order}")).await.is_ok() {
            return Ok(order);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("order {order} did not become a lease")
}

/// The tenant's signed requests at [`SEND_RPS`], and every fifth tick a stranger's.
pub(crate) async fn run_tenant(
    endpoint: String,
    lease: u64,
    chain_id: u64,
    stats: Arc<Mutex<LeaseStats>>,
) {
    let (Ok(tenant), Ok(stranger)) = (dev_key(TENANT_KEY), dev_key(7)) else {
        return;
    };
    if let Ok(mut s) = stats.lock() {
        s.lease = Some(lease);
    }
    let http = reqwest::Client::new();
    let path = "/lease/v1/embeddings";
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(SEND_RPS)));
    for n in 0u64.. {
        tick.tick().await;
        let stranger_turn = n % 5 == 4;
        let key = if stranger_turn { &stranger } else { &tenant };
        let body =
            json!({ "model": EMBED_MODEL, "input": [format!("leased request {n}")] }).to_string();
        let Ok(header) =
            subnet::lease::sign_request(key, chain_id, lease, "POST", path, body.as_bytes())
        else {
            continue;
        };
        let answer = http
            .post(format!("{endpoint}{path}"))
            .header(subnet::lease::HEADER, header)
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let Ok(mut s) = stats.lock() else { return };
        match (stranger_turn, answer.map(|r| r.status().as_u16())) {
            (false, Ok(200)) => s.served += 1,
            (false, Ok(429)) => s.over_capacity += 1,
            (true, Ok(403)) => s.strangers_refused += 1,
            (true, Ok(200)) => s.strangers_served += 1,
            (_, Ok(code)) => {
                s.errors += 1;
                s.last_error = Some(format!("HTTP {code}"));
            }
            (_, Err(e)) => {
                s.errors += 1;
                s.last_error = Some(e.to_string());
            }
        }
    }
}

/// The provider collects what the lease owes it (as a provider would, now and then).
pub(crate) async fn withdraw(client: &ledger_client::Client, provider: &PrivateKey, lease: u64) {
    let call = Call::Compute(ComputeCall::WithdrawLease { lease });
    if let Err(e) = client.execute(provider, call).await {
        tracing::warn!("lease {lease}: withdraw: {e:#}");
    }
}

/// The table's lease line, with the escrow as the node shows it.
pub(crate) async fn print_line(client: &ledger_client::Client, s: &LeaseStats) {
    let Some(id) = s.lease else { return };
    let escrow = match client.get(&format!("/v1/leases/{id}")).await {
        Ok(l) => {
            let e = &l["lease"]["escrow"];
            let usd = |v: &Value| crate::units::format_json_units(v, 6);
            format!(
                "escrow paid the miner {} of {} USD, {}",
                usd(&e["paid"]),
                usd(&e["deposited"]),
                if l["serving"] == true {
                    "serving"
                } else {
                    "not serving"
                }
            )
        }
        Err(e) => e.to_string(),
    };
    println!(
        "lease {id} ({LEASE_RPS} req/s): tenant served {}, over capacity {} (429), strangers refused {} (403), served {}; {escrow}{}",
        s.served,
        s.over_capacity,
        s.strangers_refused,
        s.strangers_served,
        s.last_error
            .as_ref()
            .map_or(String::new(), |e| format!("; last error {e}"))
    );
}
