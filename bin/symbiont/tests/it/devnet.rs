//! `symbiont devnet`, the README's main command, end to end with the real models: within a
//! few epochs the honest miners earn and the cheaters earn nothing, and the agent's payments
//! reach the earners; the tenant leasing the honest miner's capacity is served within it; the
//! agent's ZK-proved and TEE-attested requests are accepted and paid.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_devnet_pays_honest_miners_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = devnet(dir.path(), 12);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let doc = summary(&stdout);
    let neuron = |role: &str| -> &Value {
        doc["neurons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["role"] == role)
            .unwrap_or_else(|| panic!("no {role} in {doc}"))
    };
    let earned = |n: &Value| -> u128 { n["earnedUsdUnits"].as_str().unwrap().parse().unwrap() };
    let (honest, slow) = (neuron("honest"), neuron("slow"));
    let inc = |n: &Value| n["incentive"].as_u64().unwrap();
    assert!(inc(honest) > 0 && inc(slow) > 0, "{doc}");
    assert!(inc(honest) > inc(slow), "faster earns more: {doc}");
    assert!(earned(honest) > 0, "{doc}");
    for cheat in ["wrong", "replay"] {
        let c = neuron(cheat);
        assert_eq!(inc(c), 0, "{cheat}: {doc}");
        // The replay miner answers its very first request honestly; when that request is a
        // validator's challenge it earns a sliver in the first epoch ((1/4)⁴ of a weight).
        assert!(
            earned(c) * 100 < earned(honest),
            "{cheat} earned more than 1% of the honest miner: {doc}"
        );
    }
    assert_eq!(neuron("wrong")["correct"], 0, "{doc}");
    assert!(doc["agent"]["paid"].as_u64().unwrap() > 0, "{doc}");
    assert!(stdout.contains("incentive"), "the epoch table: {stdout}");
    // The tenant's lease: served within its capacity, the excess refused with 429, strangers
    // refused with 403 and never served.
    let lease = &doc["lease"];
    assert!(lease["served"].as_u64().unwrap() > 0, "{lease}");
    assert!(lease["overCapacity"].as_u64().unwrap() > 0, "{lease}");
    assert!(lease["strangersRefused"].as_u64().unwrap() > 0, "{lease}");
    assert_eq!(lease["strangersServed"], 0, "{lease}");
    assert!(stdout.contains("escrow paid"), "the lease line: {stdout}");
    // The agent's verified requests: ZK-proved and TEE-attested answers accepted and paid.
    let verified = &doc["verifiedInference"];
    assert!(verified["zkSettled"].as_u64().unwrap() > 0, "{verified}");
    assert!(verified["teeSettled"].as_u64().unwrap() > 0, "{verified}");
    assert_eq!(verified["expired"], 0, "{verified}");
    assert!(
        stdout.contains("ZK-proved"),
        "the verified-inference line: {stdout}"
    );

    // `--data-dir` keeps the chain: a second run continues it with the same neurons.
    let again = devnet(dir.path(), 2);
    let stdout2 = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.status.success(),
        "{stdout2}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let doc2 = summary(&stdout2);
    assert!(doc2["block"].as_u64() > doc["block"].as_u64(), "{doc2}");
    assert_eq!(doc2["neurons"].as_array().unwrap().len(), 6, "{doc2}");
    // The lease carries over.
    assert_eq!(doc2["lease"]["lease"], doc["lease"]["lease"], "{doc2}");
}

/// `symbiont devnet` for `epochs` epochs on `dir`, fast blocks, any free ports.
fn devnet(dir: &std::path::Path, epochs: u32) -> std::process::Output {
    let _models = crate::models_lock();
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
        .args([
            "devnet",
            "--epochs",
            &epochs.to_string(),
            "--block-time-ms",
            "200",
            "--agent-interval",
            "0.5",
            "--listen",
            "127.0.0.1:0",
            "--gateway",
            "127.0.0.1:0",
            "--json",
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap()
}

/// The JSON summary, the last thing `--json` prints (after the tables).
fn summary(stdout: &str) -> Value {
    serde_json::from_str(&stdout[stdout.rfind("\n{").unwrap()..]).unwrap()
}
