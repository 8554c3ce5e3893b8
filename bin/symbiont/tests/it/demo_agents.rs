//! `symbiont demo agents` end to end, with the real embedding model: a traveller pays a trip
//! planner, which pays a flight-search agent, which pays the subnet's embedding gateway. Each
//! hop is an x402 payment settled on the ledger; the balances afterwards are exact, and each
//! seller has a payment-proven rating.

use std::process::Command;

use serde_json::Value;

/// `symbiont demo agents --json` with `extra` arguments: its JSON outcome.
fn demo(extra: &[&str]) -> Value {
    let _models = crate::models_lock();
    let out = Command::new(env!("CARGO_BIN_EXE_symbiont"))
        .args(["demo", "agents", "--json"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The change of `name`'s balance in Devnet USD units (6 decimals).
fn delta(doc: &Value, name: &str) -> i128 {
    let row = doc["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc}"));
    row["delta"].as_str().unwrap().parse().unwrap()
}

#[test]
fn three_hops_of_payments_settle_exactly_and_every_seller_is_rated() {
    let doc = demo(&[]);
    // The traveller pays the planner 0.05, the planner pays the flight search 0.02, which
    // pays the gateway 0.01.
    let delta = |name: &str| delta(&doc, name);
    assert_eq!(delta("traveller"), -50_000, "{doc}");
    assert_eq!(delta("trip planner"), 50_000 - 20_000, "{doc}");
    assert_eq!(delta("flight search"), 20_000 - 10_000, "{doc}");
    assert_eq!(delta("subnet revenue"), 10_000, "{doc}");

    // The answer rests on the flights the search ranked with real embeddings.
    let plan = &doc["plan"];
    assert_eq!(plan["search"]["from"], "Berlin", "{plan}");
    assert_eq!(plan["search"]["to"], "Lisbon", "{plan}");
    let flights = plan["flights"].as_array().unwrap();
    assert_eq!(flights.len(), 3, "{plan}");
    let best = flights[0]["flight"]["code"].as_str().unwrap();
    assert!(plan["answer"].as_str().unwrap().contains(best), "{plan}");
    let sims: Vec<f64> = flights
        .iter()
        .map(|f| f["similarity"].as_f64().unwrap())
        .collect();
    assert!(sims.windows(2).all(|w| w[0] >= w[1]), "ranked: {sims:?}");
    assert!(
        sims[0] > 0.2 && sims[0] < 1.0,
        "real cosine similarities: {sims:?}"
    );

    // Every seller was rated once, citing the payment it received.
    for r in doc["reputation"].as_array().unwrap() {
        assert_eq!(r["summary"]["count"], 1, "{r}");
    }
    assert_eq!(doc["reputation"].as_array().unwrap().len(), 3, "{doc}");
}

/// The same example with the planner deciding through the subnet's chat model, paid per
/// request through the gateway: two more x402 payments (plan and answer), settled exactly.
#[test]
fn the_planner_can_decide_with_the_subnets_chat_model() {
    let doc = demo(&["--model-decisions"]);
    assert_eq!(doc["plan"]["decidedBy"], "model", "{doc}");
    let delta = |name: &str| delta(&doc, name);
    // The planner pays the gateway 0.01 for its plan and 0.01 for its answer.
    assert_eq!(delta("traveller"), -50_000, "{doc}");
    assert_eq!(delta("trip planner"), 50_000 - 20_000 - 2 * 10_000, "{doc}");
    assert_eq!(delta("flight search"), 20_000 - 10_000, "{doc}");
    assert_eq!(delta("subnet revenue"), 3 * 10_000, "{doc}");
    // The model only ordered cities the traveller named.
    let search = &doc["plan"]["search"];
    let mut cities = [
        search["from"].as_str().unwrap(),
        search["to"].as_str().unwrap(),
    ];
    cities.sort_unstable();
    assert_eq!(cities, ["Berlin", "Lisbon"], "{search}");
}
