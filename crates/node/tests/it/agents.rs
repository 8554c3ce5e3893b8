//! The registry routes on a real node: agents listed and shown, feedback, the reputation
//! summary (and its required client list), validations, and the typed reads of
//! `ledger-client` over the same routes.

use std::time::Duration;

use ledger::{
    B256, Call,
    agents::{FeedbackCall, Summary},
};

use crate::common::*;

const FAST: Duration = Duration::from_millis(100);

fn feedback(agent_id: u64, value: i128, value_decimals: u8, tag1: &str) -> Call {
    Call::GiveFeedback(FeedbackCall {
        agent_id,
        value,
        value_decimals,
        tag1: tag1.into(),
        tag2: String::new(),
        endpoint: String::new(),
        feedback_uri: String::new(),
        feedback_hash: B256::ZERO,
        payment: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_feedback_reputation_and_validations_over_rest() {
    let n = start(FAST, 1000).await;
    let register = |uri: &str| Call::RegisterAgent {
        uri: uri.into(),
        metadata: vec![],
    };
    for (i, nonce, call) in [
        (1, 0, register("ipfs://a")),
        (2, 0, register("ipfs://b")),
        (2, 1, feedback(0, 87, 0, "starred")),
        (3, 0, feedback(0, -32, 1, "yield")),
        (
            1,
            1,
            Call::ValidationRequest {
                validator: addr(3),
                agent_id: 0,
                uri: "ipfs://in".into(),
                request_hash: B256::repeat_byte(7),
            },
        ),
        (
            3,
            1,
            Call::ValidationResponse {
                request_hash: B256::repeat_byte(7),
                response: 100,
                uri: String::new(),
                hash: B256::ZERO,
                tag: "soft-finality".into(),
            },
        ),
    ] {
        let (_, v) = n.submit(&signed(&key(i), nonce, 1000, 0, call)).await;
        let doc = n.committed(v["hash"].as_str().unwrap()).await;
        assert_eq!(doc["receipt"]["status"], "success", "{doc}");
    }

    let (s, list) = n.get("/v1/agents?limit=1&offset=1").await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 2);
    assert_eq!(list["agents"][0]["id"], 1);
    assert_eq!(list["agents"][0]["uri"], "ipfs://b");
    let (s, a) = n.get("/v1/agents/0").await;
    assert_eq!(s, 200);
    assert_eq!(a["owner"], serde_json::json!(addr(1)));
    assert_eq!(a["wallet"], serde_json::json!(addr(1)));
    assert_eq!(a["feedbackCount"], 2);
    let (_, fb) = n.get("/v1/agents/0/feedback").await;
    assert_eq!(fb["feedback"].as_array().unwrap().len(), 2);
    assert_eq!(fb["feedback"][0]["value"], "87");

    let q = format!("/v1/agents/0/reputation?clients={},{}", addr(2), addr(3));
    let (s, r) = n.get(&q).await;
    assert_eq!(s, 200, "{r}");
    // (87 − 3.2) / 2 = 41.9; decimals 0 and 1 tie → 0: 41.
    assert_eq!(
        (r["count"].as_u64(), r["value"].as_str()),
        (Some(2), Some("41"))
    );
    let (s, r) = n.get(&format!("{q}&tag1=yield")).await;
    assert_eq!(
        (s, r["value"].as_str(), r["decimals"].as_u64()),
        (200, Some("-32"), Some(1))
    );

    for (path, status) in [
        ("/v1/agents/0/reputation".to_owned(), 400),
        ("/v1/agents/0/reputation?clients=nope".to_owned(), 400),
        (format!("/v1/agents/9/reputation?clients={}", addr(2)), 404),
        ("/v1/agents/x".to_owned(), 400),
        ("/v1/agents/9".to_owned(), 404),
        ("/v1/agents?limit=100000".to_owned(), 400),
        (format!("/v1/validations/{}", B256::ZERO), 404),
    ] {
        let (s, v) = n.get(&path).await;
        assert_eq!(s, status, "{path}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    }

    let (_, v) = n
        .get(&format!("/v1/validations/{}", B256::repeat_byte(7)))
        .await;
    assert_eq!(
        (v["response"].as_u64(), v["tag"].as_str()),
        (Some(100), Some("soft-finality"))
    );
    let (_, vs) = n.get("/v1/agents/0/validations").await;
    assert_eq!(vs["validations"].as_array().unwrap().len(), 1);

    // The typed client reads the same routes.
    let c = ledger_client::Client::new(&n.url).unwrap();
    let agents = c.agents(0, 10).await.unwrap();
    assert_eq!(agents.iter().map(|a| a.id).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(c.agent(1).await.unwrap().owner, addr(2));
    assert_eq!(
        c.reputation(0, &[addr(2), addr(3)], "", "").await.unwrap(),
        Summary {
            count: 2,
            value: 41,
            decimals: 0
        }
    );
    let fb = c.feedback(0).await.unwrap();
    assert_eq!((fb[1].0, fb[1].1.value), (addr(3), -32));
    assert_eq!(
        c.validation(&B256::repeat_byte(7)).await.unwrap().response,
        Some(100)
    );
    assert_eq!(c.agent_validations(0).await.unwrap().len(), 1);
    n.node.shutdown().await.unwrap();
}
