//! Subnets over REST: the list, one subnet with its hyperparameters and pool, and its
//! metagraph. Amounts are decimal strings; prices are native base units per whole alpha.

use axum::{
    Json,
    extract::{Path, State},
};
use ledger::subnet::{NetUid, Subnet};
use serde_json::{Value, json};

use super::{ApiError, AppState};

fn parse_netuid(s: &str) -> Result<NetUid, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not a subnet id (0..65535)")))
}

/// The summary of a subnet at the next block.
fn summary(s: &Subnet, next_block: u64) -> Value {
    json!({
        "netuid": s.netuid,
        "owner": s.owner,
        "createdAt": s.created_at,
        "neurons": s.neurons.len(),
        "maxUids": s.hyperparams.max_uids,
        "tempo": s.hyperparams.tempo,
        "pool": { "tao": s.pool.tao.to_string(), "alpha": s.pool.alpha.to_string() },
        "price": s.pool.price().to_string(),
        "alphaOut": s.alpha_out.to_string(),
        "burn": s.burn_at(next_block).to_string(),
        "lastEpoch": s.last_epoch,
        "blocksUntilNextEpoch": s.blocks_until_next_epoch(next_block),
    })
}

pub(super) async fn list_subnets(State(app): AppState) -> Json<Value> {
    let st = app.state();
    let next = st.head.height.saturating_add(1);
    let list: Vec<Value> = st.subnets.values().map(|s| summary(s, next)).collect();
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
    let mut v = summary(s, st.head.height.saturating_add(1));
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
                "validatorTrust": n.validator_trust,
                "consensus": n.consensus,
                "incentive": n.incentive,
                "dividends": n.dividends,
                "emission": n.emission.to_string(),
                "validatorPermit": n.validator_permit,
                "lastUpdate": n.last_update,
                "registeredAt": n.registered_at,
                "isOwner": n.account == s.owner,
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
