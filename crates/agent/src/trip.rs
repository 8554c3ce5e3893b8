//! The three-hop example: a traveller pays a **trip planner**, which pays a **flight search**
//! agent, which pays the subnet's **embedding gateway** to rank flights by what the traveller
//! asked for. Each hop is an x402 payment signed by the payer's own signer under its policy and
//! settled on the ledger, and each buyer rates its seller citing the payment.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    decide::{Decide, Search},
    flights::{self, Flight},
    runtime::{Agent, Purchase},
};

/// The service name the flight-search agent registers.
pub const FLIGHT_SEARCH: &str = "flight-search";
/// The service name the trip planner registers.
pub const TRIP_PLANNING: &str = "trip-planning";
/// The service name the embedding gateway registers.
pub const EMBEDDINGS: &str = "embeddings";
/// The flight-search route.
pub const SEARCH_PATH: &str = "/v1/flights/search";
/// The trip-planning route.
pub const PLAN_PATH: &str = "/v1/trips/plan";
/// Largest request body either agent reads.
pub const MAX_BODY: usize = 16 * 1024;

/// A flight search, as posted to [`SEARCH_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchRequest {
    /// Origin city.
    pub from: String,
    /// Destination city.
    pub to: String,
    /// What matters to the traveller, in words.
    #[serde(default)]
    pub wants: String,
    /// How many flights to return (1..=6, default 3).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A ranked flight, as [`SEARCH_PATH`] answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ranked {
    /// The flight.
    pub flight: Flight,
    /// Cosine similarity of its description to what the traveller wants.
    pub similarity: f32,
}

/// A trip request, as posted to [`PLAN_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TripRequest {
    /// The traveller's words, e.g. "a weekend in Lisbon from Berlin, morning flight".
    pub request: String,
}

/// Decodes a search request (untrusted bytes): JSON, known fields only, two known cities.
pub fn parse_search(body: &[u8]) -> Result<SearchRequest, String> {
    if body.len() > MAX_BODY {
        return Err(format!("body over {MAX_BODY} bytes"));
    }
    let req: SearchRequest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    for (field, city) in [("from", &req.from), ("to", &req.to)] {
        if !flights::CITIES.iter().any(|c| c.eq_ignore_ascii_case(city)) {
            return Err(format!(
                "{field}: {city:?} is not served (cities: {})",
                flights::CITIES.join(", ")
            ));
        }
    }
    if req.from.eq_ignore_ascii_case(&req.to) {
        return Err("from and to are the same city".into());
    }
    if req.limit.is_some_and(|l| !(1..=6).contains(&l)) {
        return Err("limit: must be 1..=6".into());
    }
    if req.wants.len() > 1024 {
        return Err("wants: over 1024 bytes".into());
    }
    Ok(req)
}

/// Decodes a trip request (untrusted bytes).
pub fn parse_trip(body: &[u8]) -> Result<TripRequest, String> {
    if body.len() > MAX_BODY {
        return Err(format!("body over {MAX_BODY} bytes"));
    }
    let req: TripRequest = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if req.request.trim().is_empty() || req.request.len() > 2048 {
        return Err("request: must be 1..=2048 bytes of text".into());
    }
    Ok(req)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Rates `purchase` in the background (a rating never delays an answer).
fn rate_later(agent: &Arc<Agent>, purchase: Purchase, value: i128) {
    let agent = Arc::clone(agent);
    tokio::spawn(async move {
        if let Err(e) = agent.rate(&purchase, value, "successRate").await {
            tracing::warn!("{}: {e:#}", agent.name());
        }
    });
}

/// The cosine similarity of two vectors (0 when either is zero or lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// The embeddings in an OpenAI `/v1/embeddings` answer, in input order.
fn embeddings(answer: &Value, n: usize) -> Result<Vec<Vec<f32>>, String> {
    let data = answer["data"]
        .as_array()
        .ok_or("no data in the embeddings answer")?;
    if data.len() != n {
        return Err(format!("{} embeddings for {n} inputs", data.len()));
    }
    let mut out = vec![Vec::new(); n];
    for (pos, d) in data.iter().enumerate() {
        let i = d["index"].as_u64().map_or(pos, |i| i as usize);
        let v: Vec<f32> = serde_json::from_value(d["embedding"].clone())
            .map_err(|e| format!("embedding {i}: {e}"))?;
        *out.get_mut(i).ok_or("embedding index out of range")? = v;
    }
    Ok(out)
}

/// The flight-search agent's paid route: ranks the route's flights against `wants` with
/// embeddings bought from whoever sells [`EMBEDDINGS`].
pub fn flight_search_route(agent: Arc<Agent>) -> axum::routing::MethodRouter {
    post(search).with_state(agent)
}

async fn search(State(agent): State<Arc<Agent>>, body: Bytes) -> Response {
    let req = match parse_search(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let route = flights::route(&req.from, &req.to);
    let wants = if req.wants.trim().is_empty() {
        format!("a good flight from {} to {}", req.from, req.to)
    } else {
        req.wants.clone()
    };
    let mut inputs = vec![wants];
    inputs.extend(route.iter().map(Flight::describe));
    let purchase = match agent.buy(EMBEDDINGS, &json!({ "input": inputs })).await {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_GATEWAY, format!("ranking failed: {e:#}")),
    };
    let vectors = match embeddings(&purchase.answer, inputs.len()) {
        Ok(v) => v,
        Err(e) => {
            rate_later(&agent, purchase, 0);
            return error(StatusCode::BAD_GATEWAY, format!("ranking failed: {e}"));
        }
    };
    let mut ranked: Vec<Ranked> = route
        .into_iter()
        .zip(&vectors[1..])
        .map(|(flight, v)| Ranked {
            flight,
            similarity: cosine(&vectors[0], v),
        })
        .collect();
    ranked.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    ranked.truncate(req.limit.unwrap_or(3));
    let paid = json!({
        "agentId": purchase.seller.agent_id,
        "amount": purchase.payment.amount.to_string(),
        "nonce": purchase.payment.nonce,
    });
    rate_later(&agent, purchase, 100);
    Json(json!({ "flights": ranked, "rankedWith": paid })).into_response()
}

/// The trip planner's state: its runtime and its decision layer.
pub struct Planner {
    /// The agent.
    pub agent: Arc<Agent>,
    /// How it decides.
    pub decide: Arc<dyn Decide>,
}

/// The trip planner's paid route.
pub fn trip_planning_route(planner: Arc<Planner>) -> axum::routing::MethodRouter {
    post(plan).with_state(planner)
}

async fn plan(State(p): State<Arc<Planner>>, body: Bytes) -> Response {
    let req = match parse_trip(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Search { from, to, wants } = match p.decide.plan(&req.request).await {
        Ok(s) => s,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")),
    };
    let search = json!({ "from": from, "to": to, "wants": wants });
    let purchase = match p.agent.buy(FLIGHT_SEARCH, &search).await {
        Ok(x) => x,
        Err(e) => {
            return error(
                StatusCode::BAD_GATEWAY,
                format!("flight search failed: {e:#}"),
            );
        }
    };
    let ranked: Vec<Ranked> = match serde_json::from_value(purchase.answer["flights"].clone()) {
        Ok(r) => r,
        Err(e) => {
            rate_later(&p.agent, purchase, 0);
            return error(
                StatusCode::BAD_GATEWAY,
                format!("flight search answer: {e}"),
            );
        }
    };
    let options: Vec<Flight> = ranked.iter().map(|r| r.flight.clone()).collect();
    if options.is_empty() {
        rate_later(&p.agent, purchase, 0);
        return error(StatusCode::BAD_GATEWAY, "flight search returned no flight");
    }
    let answer = match p.decide.answer(&req.request, &options).await {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_GATEWAY, format!("{e:#}")),
    };
    let bought = json!({
        "agentId": purchase.seller.agent_id,
        "amount": purchase.payment.amount.to_string(),
        "nonce": purchase.payment.nonce,
    });
    rate_later(&p.agent, purchase, 100);
    Json(json!({
        "answer": answer,
        "decidedBy": p.decide.name(),
        "search": search,
        "flights": ranked,
        "boughtFrom": bought,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn search_requests_are_checked() {
        let ok = parse_search(br#"{"from":"berlin","to":"Lisbon","wants":"cheap"}"#).unwrap();
        assert_eq!(ok.limit, None);
        for (body, why) in [
            (&br#"{"from":"Berlin","to":"Tokyo"}"#[..], "to: \"Tokyo\""),
            (br#"{"from":"Rome","to":"rome"}"#, "same city"),
            (br#"{"from":"Rome","to":"Paris","limit":9}"#, "limit"),
            (br#"{"from":"Rome","to":"Paris","x":1}"#, "unknown field"),
            (br#"{"from":"Rome""#, "EOF"),
        ] {
            let e = parse_search(body).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        assert!(parse_trip(br#"{"request":"  "}"#).is_err());
        assert!(parse_trip(&vec![b' '; MAX_BODY + 1]).is_err());
    }

    #[test]
    fn cosine_is_one_for_equal_and_zero_for_mismatch() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    proptest! {
        /// The request decoders read untrusted bytes: they never panic.
        #[test]
        fn decoders_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_search(&raw);
            let _ = parse_trip(&raw);
        }

        /// Any valid search round-trips through its JSON form.
        #[test]
        fn valid_searches_round_trip(a in 0usize..6, b in 0usize..6, wants in ".{0,100}", limit in 1usize..=6) {
            prop_assume!(a != b);
            let req = SearchRequest {
                from: flights::CITIES[a].into(), to: flights::CITIES[b].into(), wants, limit: Some(limit),
            };
            let body = serde_json::to_vec(&req).unwrap();
            prop_assert_eq!(parse_search(&body), Ok(req));
        }
    }
}
