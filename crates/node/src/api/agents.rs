//! The ERC-8004 registries over REST: agents (paginated), one agent, its feedback, its
//! reputation summary over a client list, its validations, and one validation by request hash.

use axum::{
    Json,
    extract::{Path, Query, State},
};
use ledger::{
    Address,
    agents::{Agent, AgentId, Validation, agent_registry},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, page_limit, parse_address, parse_hash};

fn parse_agent_id(s: &str) -> Result<AgentId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::malformed(format!("{s:?} is not an agent id (an integer from 0)")))
}

fn agent_json(a: &Agent, chain_id: u64) -> Value {
    json!({
        "id": a.id,
        "owner": a.owner,
        "uri": a.uri,
        "wallet": a.wallet,
        "metadata": a.metadata,
        "requiresPaymentProof": a.requires_payment(),
        "registeredAt": a.registered_at,
        "agentRegistry": agent_registry(chain_id),
    })
}

fn validation_json(v: &Validation) -> Value {
    json!(v)
}

/// `?offset=&limit=` of the agent list.
#[derive(Debug, Deserialize)]
pub(super) struct Page {
    offset: Option<u64>,
    limit: Option<usize>,
}

pub(super) async fn list_agents(
    State(app): AppState,
    Query(p): Query<Page>,
) -> Result<Json<Value>, ApiError> {
    let st = app.state();
    let limit = page_limit(p.limit)?;
    let offset = p.offset.unwrap_or(0);
    let chain_id = st.params.chain_id;
    let agents: Vec<Value> = st
        .registry
        .agents
        .range(offset..)
        .take(limit)
        .map(|(_, a)| agent_json(a, chain_id))
        .collect();
    Ok(Json(json!({
        "agents": agents,
        "total": st.registry.agents.len(),
        "offset": offset,
        "height": st.head.height,
    })))
}

fn find<'a>(st: &'a ledger::State, id: &str) -> Result<&'a Agent, ApiError> {
    let id = parse_agent_id(id)?;
    st.registry
        .agents
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("agent {id} does not exist")))
}

pub(super) async fn get_agent(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = app.state();
    let a = find(&st, &id)?;
    let mut v = agent_json(a, st.params.chain_id);
    v["clients"] = json!(st.registry.clients(a.id));
    v["feedbackCount"] = json!(st.registry.agent_feedback(a.id).count());
    v["validationCount"] = json!(st.registry.agent_validations(a.id).count());
    v["height"] = json!(st.head.height);
    Ok(Json(v))
}

pub(super) async fn get_feedback(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = app.state();
    let a = find(&st, &id)?;
    let feedback: Vec<Value> = st
        .registry
        .agent_feedback(a.id)
        .map(|(client, f)| {
            let mut v = json!(f);
            v["client"] = json!(client);
            v
        })
        .collect();
    Ok(Json(json!({
        "agentId": a.id,
        "feedback": feedback,
        "height": st.head.height,
    })))
}

/// `?clients=0x..,0x..&tag1=&tag2=` of a reputation summary.
#[derive(Debug, Deserialize)]
pub(super) struct ReputationQuery {
    clients: Option<String>,
    tag1: Option<String>,
    tag2: Option<String>,
}

pub(super) async fn get_reputation(
    State(app): AppState,
    Path(id): Path<String>,
    Query(q): Query<ReputationQuery>,
) -> Result<Json<Value>, ApiError> {
    let clients: Vec<Address> = q
        .clients
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_address(s.trim()))
        .collect::<Result<_, _>>()?;
    if clients.is_empty() {
        return Err(ApiError::malformed(
            "clients is required: the reputation summary is over a list of clients you trust \
             (?clients=0x..,0x..), as ERC-8004 getSummary",
        ));
    }
    let st = app.state();
    let a = find(&st, &id)?;
    let (tag1, tag2) = (q.tag1.unwrap_or_default(), q.tag2.unwrap_or_default());
    let s = st
        .registry
        .summary(a.id, &clients, &tag1, &tag2)
        .map_err(|r| ApiError::malformed(r.to_string()))?;
    Ok(Json(json!({
        "agentId": a.id,
        "clients": clients,
        "tag1": tag1,
        "tag2": tag2,
        "count": s.count,
        "value": s.value.to_string(),
        "decimals": s.decimals,
        "height": st.head.height,
    })))
}

pub(super) async fn get_agent_validations(
    State(app): AppState,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = app.state();
    let a = find(&st, &id)?;
    let list: Vec<Value> = st
        .registry
        .agent_validations(a.id)
        .map(validation_json)
        .collect();
    Ok(Json(json!({
        "agentId": a.id,
        "validations": list,
        "height": st.head.height,
    })))
}

pub(super) async fn get_validation(
    State(app): AppState,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let hash = parse_hash(&hash)?;
    let st = app.state();
    let v =
        st.registry.validations.get(&hash).ok_or_else(|| {
            ApiError::not_found(format!("validation request {hash} does not exist"))
        })?;
    Ok(Json(validation_json(v)))
}
