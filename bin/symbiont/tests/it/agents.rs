//! The agent commands against a dev node: register with a validated registration file (and
//! a malformed one refused naming the field), feedback, self-feedback refused, reputation,
//! show and list.

use crate::subnet::{DevNode, dev, ok, symbiont};

const GOOD: &str = r#"{
  "type": "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
  "name": "flight-search",
  "description": "Finds flights; 0.01 USD per query over x402",
  "services": [
    { "name": "A2A", "endpoint": "https://flights.example/.well-known/agent-card.json", "version": "0.3.0" },
    { "name": "MCP", "endpoint": "https://flights.example/mcp", "version": "2025-06-18" }
  ],
  "x402Support": true,
  "active": true,
  "supportedTrust": ["reputation"]
}"#;

#[test]
fn register_feedback_and_reputation_through_the_cli() {
    let n = DevNode::start();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, GOOD).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        GOOD.replace("https://flights.example/mcp", "flights/mcp"),
    )
    .unwrap();

    // A malformed file is refused before anything is submitted, naming the field.
    let out = n.signed(
        &[
            "agent",
            "register",
            "--uri",
            "https://flights.example/agent.json",
            "--file",
            bad.to_str().unwrap(),
        ],
        0,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("services[1].endpoint: not an absolute URL"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("submitted"));

    let out = ok(n.signed(
        &[
            "agent",
            "register",
            "--uri",
            "https://flights.example/agent.json",
            "--file",
            good.to_str().unwrap(),
        ],
        0,
    ));
    assert!(out.contains("agent 0"), "{out}");

    // Feedback from two clients; the owner's own is refused.
    ok(n.signed(
        &[
            "agent", "feedback", "0", "--value", "4.5", "--tag1", "starred",
        ],
        1,
    ));
    ok(n.signed(&["agent", "feedback", "0", "--value", "-1"], 2));
    let own = n.signed(&["agent", "feedback", "0", "--value", "5"], 0);
    assert!(!own.status.success());
    assert!(
        String::from_utf8_lossy(&own.stdout).contains("self_feedback"),
        "{}",
        String::from_utf8_lossy(&own.stdout)
    );

    let read = |args: &[&str]| {
        ok(symbiont()
            .args(args)
            .args(["--node", &n.url])
            .output()
            .unwrap())
    };
    let clients = format!("{},{}", dev(1), dev(2));
    // (4.5 − 1) / 2 = 1.75, rescaled to the most frequent decimals (tie → 0): 1.
    let out = read(&["agent", "reputation", "0", "--clients", &clients]);
    assert!(out.contains("2 feedback, average 1 (0 decimals)"), "{out}");
    let out = read(&[
        "agent",
        "reputation",
        "0",
        "--clients",
        &clients,
        "--tag1",
        "starred",
    ]);
    assert!(
        out.contains("1 feedback, average 4.5 (1 decimals)"),
        "{out}"
    );
    // Reputation needs clients.
    let none = symbiont()
        .args(["agent", "reputation", "0", "--node", &n.url])
        .output()
        .unwrap();
    assert!(!none.status.success());

    let show: serde_json::Value = serde_json::from_str(&read(&["agent", "show", "0"])).unwrap();
    assert_eq!(show["owner"].as_str().unwrap().to_lowercase(), dev(0));
    assert_eq!(show["feedbackCount"], 2);
    let list = read(&["agent", "list"]);
    assert_eq!(list.lines().count(), 2, "one agent: {list}");
    assert!(list.contains("https://flights.example/agent.json"));
}
