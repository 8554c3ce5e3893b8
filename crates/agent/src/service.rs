//! An agent's storefront: its ERC-8004 registration file, free, and its services, each behind
//! an x402 paywall whose `payTo` is the agent's wallet.
//!
//! The registration file is served at `/.well-known/agent-registration.json`, the path ERC-8004
//! names for endpoint-domain verification, and the agent registers that URL as its `agentURI`
//! (`research/agents.md` §1.2). A buyer checks that what it pays goes to the wallet the registry
//! proves for the agent.

use std::sync::{Arc, RwLock};

use axum::{
    Json, Router,
    routing::{MethodRouter, get},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use ledger::agents::registration::MAX_FILE_LEN;
use serde_json::{Value, json};
use x402_server::{PaymentLayer, Pricing};
use x402_types::{Facilitator, v2::PaymentRequirements};

/// Where an agent serves its registration file.
pub const REGISTRATION_PATH: &str = "/.well-known/agent-registration.json";

pub use ledger::agents::registration::REGISTRATION_TYPE;

/// One service an agent sells: a name buyers search for, the route, and its price.
#[derive(Debug, Clone)]
pub struct Offering {
    /// The service name in the registration file (what discovery matches), e.g. `flight-search`.
    pub name: String,
    /// The HTTP path of the paid route, e.g. `/v1/flights/search`.
    pub path: String,
    /// What one request costs.
    pub price: PaymentRequirements,
}

/// What an agent says about itself.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Short name.
    pub name: String,
    /// What it does, in a sentence or two.
    pub description: String,
}

/// The ERC-8004 registration file of an agent reachable at `base_url` selling `offerings`;
/// `registration` is `(agentId, agentRegistry)` once the agent is registered.
pub fn registration_file(
    profile: &Profile,
    base_url: &str,
    offerings: &[Offering],
    registration: Option<(u64, String)>,
) -> Value {
    let services: Vec<Value> = offerings
        .iter()
        .map(|o| {
            json!({
                "name": o.name,
                "endpoint": format!("{base_url}{}", o.path),
                "version": "1",
            })
        })
        .collect();
    let registrations: Vec<Value> = registration
        .into_iter()
        .map(|(id, registry)| json!({ "agentId": id, "agentRegistry": registry }))
        .collect();
    json!({
        "type": REGISTRATION_TYPE,
        "name": profile.name,
        "description": profile.description,
        "image": format!("{base_url}/icon.svg"),
        "services": services,
        "x402Support": true,
        "active": true,
        "registrations": registrations,
        "supportedTrust": ["reputation"],
    })
}

/// `file` as a `data:application/json;base64,` URI: a registration kept entirely on the
/// ledger (ERC-8004 allows it).
pub fn data_uri(file: &Value) -> String {
    format!("{DATA_PREFIX}{}", BASE64.encode(file.to_string()))
}

/// The bytes of a `data:application/json;base64,` URI (the only `data:` form read), at most
/// `MAX_FILE_LEN` of them.
pub fn decode_data_uri(uri: &str) -> Result<Vec<u8>, String> {
    let body = uri
        .strip_prefix(DATA_PREFIX)
        .ok_or_else(|| format!("only {DATA_PREFIX}… data URIs are read"))?;
    if body.len() > MAX_FILE_LEN.div_ceil(3) * 4 {
        return Err(format!("data URI over {MAX_FILE_LEN} bytes"));
    }
    BASE64.decode(body).map_err(|e| format!("data URI: {e}"))
}

const DATA_PREFIX: &str = "data:application/json;base64,";

/// An agent's HTTP front under construction: paid routes plus the registration file.
pub struct Storefront<F> {
    router: Router,
    facilitator: Arc<F>,
    offerings: Vec<Offering>,
    profile: Profile,
}

impl<F: Facilitator + 'static> Storefront<F> {
    /// A storefront for `profile` whose payments settle through `facilitator`.
    pub fn new(profile: Profile, facilitator: Arc<F>) -> Self {
        Storefront {
            router: Router::new(),
            facilitator,
            offerings: Vec::new(),
            profile,
        }
    }

    /// Sells `handler` at `offering.path` for `offering.price` per request.
    pub fn sell(mut self, offering: Offering, handler: MethodRouter) -> Self {
        let paywall = PaymentLayer::shared(
            Arc::clone(&self.facilitator),
            Pricing::fixed([offering.price.clone()]),
        )
        .description(format!("{}: {}", self.profile.name, offering.name))
        .mime_type("application/json");
        self.router = self.router.route(&offering.path, handler.layer(paywall));
        self.offerings.push(offering);
        self
    }

    /// What is on sale.
    pub fn offerings(&self) -> &[Offering] {
        &self.offerings
    }

    /// The router, serving `file` (shared so the agent can add its id once registered) at
    /// [`REGISTRATION_PATH`].
    pub fn into_router(self, file: Arc<RwLock<Value>>) -> Router {
        let serve_file = get(move || {
            let file = Arc::clone(&file);
            async move { Json(file.read().map(|f| f.clone()).unwrap_or(Value::Null)) }
        });
        self.router
            .route(REGISTRATION_PATH, serve_file)
            .route("/health", get(|| async { "ok" }))
    }
}
