//! The agent runtime against a real node, real signers on Unix sockets and real x402
//! storefronts, without models: discovery skips malformed, inactive and unreachable
//! registrations; a storefront asking to be paid somewhere other than its registered wallet
//! is not paid (and the buyer moves on to the next seller); the signer's policy refuses a
//! purchase over its cap naming the rule; a paid, rated seller ranks first.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use agent::{
    Agent,
    service::{self, Offering, Profile, Storefront},
};
use axum::{Json, routing::post};
use ledger::{Address, Call};
use serde_json::json;
use wallet_signer::{Config, Policy};

use crate::common::*;

const FAST: Duration = Duration::from_millis(100);

fn usd() -> Address {
    ledger::Asset::derive_id(addr(0), ledger::genesis::DEV_USD_NAME)
}

fn policy(per_payment: u128) -> Policy {
    Policy::parse(&format!(
        r#"
chain_ids = [{CHAIN_ID}]
allowed_calls = ["registerAgent", "setAgentMetadata", "giveFeedback"]
rate_limit_per_minute = 1000
[[assets]]
address = "{}"
symbol = "USD"
decimals = 6
per_payment = {per_payment}
per_hour = 1000000
per_day = 1000000
[[assets]]
address = "{}"
symbol = "SYM"
decimals = 9
per_payment = 100000
per_hour = 100000000
per_day = 100000000
"#,
        usd(),
        Address::ZERO
    ))
    .unwrap()
}

/// An agent for test key `i` whose key lives in an in-process signer on a socket in `dir`.
async fn agent(
    n: &TestNode,
    dir: &std::path::Path,
    i: u32,
    per_payment: u128,
) -> (wallet_signer::Handle, Arc<Agent>) {
    let socket = dir.join(format!("{i}.sock"));
    let handle = wallet_signer::serve(Config {
        policy: policy(per_payment),
        key: key(i),
        socket: socket.clone(),
        admin_socket: dir.join(format!("{i}-admin.sock")),
        audit_log: dir.join(format!("{i}-audit.log")),
    })
    .await
    .unwrap();
    let signer = Arc::new(wallet_signer::Client::connect(&socket).await.unwrap());
    let node = ledger_client::Client::new(&n.url).unwrap();
    let a = Agent::new(format!("agent-{i}"), node, signer, Default::default()).unwrap();
    (handle, Arc::new(a))
}

fn price(pay_to: Address, amount: u64) -> x402_types::v2::PaymentRequirements {
    x402_types::v2::PaymentRequirements {
        scheme: "exact".into(),
        network: x402_types::Network::eip155(CHAIN_ID),
        amount: x402_types::TokenAmount::from(amount),
        asset: usd().to_checksum(None),
        pay_to: pay_to.to_checksum(None),
        max_timeout_seconds: 60,
        extra: x402_types::v2::Extra::eip712(ledger::genesis::DEV_USD_NAME, "1"),
    }
}

/// Serves `(service, payTo, price)` offerings for `seller` and registers it; returns its id.
async fn open_store(n: &TestNode, seller: &Arc<Agent>, offerings: &[(&str, Address, u64)]) -> u64 {
    let facilitator = Arc::new(x402_server::HttpFacilitator::new(format!("{}/x402", n.url)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let profile = Profile {
        name: seller.name().into(),
        description: "answers with what it was sent".into(),
    };
    let mut store = Storefront::new(profile.clone(), facilitator);
    for (name, pay_to, amount) in offerings {
        let offering = Offering {
            name: (*name).into(),
            path: format!("/v1/{name}"),
            price: price(*pay_to, *amount),
        };
        let route =
            post(
                |Json(body): Json<serde_json::Value>| async move { Json(json!({ "echo": body })) },
            );
        store = store.sell(offering, route);
    }
    let file = service::registration_file(&profile, &base, store.offerings(), None);
    let app = store.into_router(Arc::new(RwLock::new(file)));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    seller
        .register(&format!("{base}{}", service::REGISTRATION_PATH))
        .await
        .unwrap()
}

async fn usd_of(n: &TestNode, who: Address) -> u128 {
    let (_, acct) = n.get(&format!("/v1/accounts/{who}")).await;
    let balances = acct["balances"].as_object().cloned().unwrap_or_default();
    balances
        .iter()
        .find(|(k, _)| k.parse::<Address>().ok() == Some(usd()))
        .and_then(|(_, v)| v.as_str()?.parse().ok())
        .unwrap_or(0)
}

async fn register_raw(n: &TestNode, uri: String) {
    let client = ledger_client::Client::new(&n.url).unwrap();
    client
        .execute(
            &key(0),
            Call::RegisterAgent {
                uri,
                metadata: vec![],
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discovery_payee_binding_policy_caps_and_ranking() {
    let n = start(FAST, 1000).await;
    let dir = tempfile::tempdir().unwrap();
    let (_b, buyer) = agent(&n, dir.path(), 1, 5_000).await;
    let (_h, honest) = agent(&n, dir.path(), 2, 5_000).await;
    let (_l, liar) = agent(&n, dir.path(), 3, 5_000).await;

    // The liar registers first (so it is tried first): its storefront asks to be paid into
    // an address that is not its registered wallet.
    let liar_id = open_store(&n, &liar, &[("echo", addr(0), 1_000)]).await;
    let honest_id = open_store(
        &n,
        &honest,
        &[
            ("echo", honest.address(), 1_000),
            ("pricey", honest.address(), 10_000),
        ],
    )
    .await;

    // Registrations discovery must skip: a file that is not a registration, an inactive
    // agent, an unreachable one.
    register_raw(&n, service::data_uri(&json!({"type": "nonsense"}))).await;
    let mut inactive = service::registration_file(
        &Profile {
            name: "sleepy".into(),
            description: "closed".into(),
        },
        "http://127.0.0.1:9",
        &[Offering {
            name: "echo".into(),
            path: "/v1/echo".into(),
            price: price(addr(0), 1),
        }],
        None,
    );
    inactive["active"] = json!(false);
    register_raw(&n, service::data_uri(&inactive)).await;
    register_raw(
        &n,
        "http://127.0.0.1:9/.well-known/agent-registration.json".into(),
    )
    .await;

    let found = buyer.directory().find("echo").await.unwrap();
    let ids: Vec<u64> = found.iter().map(|p| p.agent_id).collect();
    assert_eq!(ids, vec![liar_id, honest_id], "{found:?}");
    assert!(found.iter().all(|p| p.reputation.is_none()));

    // Paying the liar directly is refused before anything is signed.
    let before = usd_of(&n, buyer.address()).await;
    let err = buyer
        .buy_from(&found[0], &json!({"hi": 1}))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("payee"), "{err:#}");
    assert_eq!(usd_of(&n, buyer.address()).await, before);

    // `buy` skips the liar and pays the honest seller, exactly its price.
    let honest_before = usd_of(&n, honest.address()).await;
    let purchase = buyer.buy("echo", &json!({"hi": 2})).await.unwrap();
    assert_eq!(purchase.seller.agent_id, honest_id);
    assert_eq!(purchase.answer["echo"]["hi"], 2);
    assert_eq!(usd_of(&n, buyer.address()).await, before - 1_000);
    assert_eq!(usd_of(&n, honest.address()).await, honest_before + 1_000);

    // Over the signer's per-payment cap: refused naming the policy rule; nothing moves.
    let err = buyer.buy("pricey", &json!({})).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("assets.USD.per_payment"),
        "{err:#}"
    );
    assert_eq!(usd_of(&n, buyer.address()).await, before - 1_000);

    // Rated with its payment as proof, the honest seller now ranks first.
    buyer.rate(&purchase, 90, "quality").await.unwrap();
    let found = buyer.directory().find("echo").await.unwrap();
    assert_eq!(found[0].agent_id, honest_id);
    let rep = found[0].reputation.unwrap();
    assert_eq!((rep.count, rep.mean_wad), (1, 90 * 10i128.pow(18)));
}
