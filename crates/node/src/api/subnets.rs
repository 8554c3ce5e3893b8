//! Subnets over REST: the list, one subnet with its hyperparameters and market, its metagraph,
//! and its emission history. Amounts are decimal strings; prices are native base units per
//! whole alpha.

use axum::{
    Json,
    extract::{Path, Query, State},
};
use ledger::subnet::{
    Market, NetUid, Subnet,
    market::{FLOW_FRACTION_BITS, MOVING_SCALE},
};
use serde_json::{Value, json};

use super::{ApiError, AppState};

fn parse_netuid(s: &str) -> Result<NetUid, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not a subnet id (0..65535)")))
}

/// The summary of a subnet at the next block.
fn summary(s: &Subnet, m: Option<&Market>, next_block: u64) -> Value {
    let m = m.cloned().unwrap_or_default();
    // The moving price on the spot price's scale (native base units per whole alpha).
    let moving = m.moving_price / (MOVING_SCALE / ledger::subnet::pool::PRICE_SCALE);
    json!({
        "netuid": s.netuid,
        "owner": s.owner,
        "createdAt": s.created_at,
        "neurons": s.neurons.len(),
        "maxUids": s.hyperparams.max_uids,
        "tempo": s.hyperparams.tempo,
        "pool": { "tao": m.pool.tao.to_string(), "alpha": m.pool.alpha.to_string() },
        "price": m.pool.price().to_string(),
        "movingPrice": moving.to_string(),
        "emissionPerBlock": m.last_tao_emission.to_string(),
        "netFlowEma": (m.flow_ema >> FLOW_FRACTION_BITS).to_string(),
        "alphaOut": s.alpha_out.to_string(),
        "revenueAccount": ledger::subnet::revenue_account(s.netuid),
        "protocolAlpha": m.protocol_alpha.to_string(),
        "pendingEmission": {
            "owner": m.pending_owner.to_string(),
            "neurons": m.pending_neurons.to_string(),
        },
        "burn": s.burn_at(next_block).to_string(),
        "lastEpoch": s.last_epoch,
        "blocksUntilNextEpoch": s.blocks_until_next_epoch(next_block),
    })
}

pub(super) async fn list_subnets(State(app): AppState) -> Json<Value> {
    let st = app.state();
    let next = st.head.height.saturating_add(1);
    let list: Vec<Value> = st
        .subnets
        .values()
        .map(|s| summary(s, st.markets.get(&s.netuid), next))
        .collect();
    Json(json!({
        "subnets": list,
        "lockCost": st.network.lock_cost(next).to_string(),
        "height": st.head.height,
    }))
}

pub(super) async fn get_subnet(
    State(app): AppState,
    Path(netuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let netuid = parse_netuid(&netuid)?;
    let st = app.state();
    let s = st
        .subnets
        .get(&netuid)
        .ok_or_else(|| ApiError::not_found(format!("subnet {netuid} does not exist")))?;
    let mut v = summary(s, st.markets.get(&netuid), st.head.height.saturating_add(1));
    v["locked"] = json!(s.locked.to_string());
    v["hyperparams"] = json!(s.hyperparams);
    v["height"] = json!(st.head.height);
    Ok(Json(v))
}

pub(super) async fn get_metagraph(
    State(app): AppState,
    Path(netuid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let netuid = parse_netuid(&netuid)?;
    let st = app.state();
    let s = st
        .subnets
        .get(&netuid)
        .ok_or_else(|| ApiError::not_found(format!("subnet {netuid} does not exist")))?;
    let neurons: Vec<Value> = s
        .neurons
        .iter()
        .enumerate()
        .map(|(uid, n)| {
            json!({
                "uid": uid,
                "account": n.account,
                "stake": s.stake(&n.account).to_string(),
                "nominators": s.stakes.get(&n.account).map_or(0, |m| {
                    m.keys().filter(|c| **c != n.account).count()
                }),
                "validatorTrust": n.validator_trust,
                "consensus": n.consensus,
                "incentive": n.incentive,
                "dividends": n.dividends,
                "emission": n.emission.to_string(),
                "validatorPermit": n.validator_permit,
                "lastUpdate": n.last_update,
                "registeredAt": n.registered_at,
                "isOwner": n.account == s.owner,
                "endpoint": n.endpoint,
            })
        })
        .collect();
    Ok(Json(json!({
        "netuid": netuid,
        "height": st.head.height,
        "lastEpoch": s.last_epoch,
        "neurons": neurons,
    })))
}

/// `?limit=` of the emission history.
#[derive(Debug, serde::Deserialize)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

/// The last epochs of a subnet (at most [`ledger::state::HISTORY_EPOCHS`]), oldest first: what
/// entered the pool, the owner's cut, incentive, dividends and takes, and each neuron's part.
pub(super) async fn get_emissions(
    State(app): AppState,
    Path(netuid): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let netuid = parse_netuid(&netuid)?;
    let st = app.state();
    if !st.subnets.contains_key(&netuid) {
        return Err(ApiError::not_found(format!(
            "subnet {netuid} does not exist"
        )));
    }
    let limit = q.limit.unwrap_or(ledger::state::HISTORY_EPOCHS);
    let epochs: Vec<Value> = st.epochs.get(&netuid).map_or_else(Vec::new, |h| {
        let skip = h.len().saturating_sub(limit);
        h.iter().skip(skip).map(|e| json!(e)).collect()
    });
    Ok(Json(json!({
        "netuid": netuid,
        "height": st.head.height,
        "epochs": epochs,
    })))
}
