//! Verifiable inference end to end on a dev node, through the CLI: `zk setup|prove|verify|
//! register`, `attest dev-quote|verify`, `infer request|result|status|bond` and providers and
//! a validator running `infer serve`. Each mode is accepted only with its evidence: a ZK proof,
//! a key bound to an attestation quote, or a bond that a re-executing validator slashes when
//! the delivered output is wrong.

use std::{
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::subnet::{DevNode, dev, ok, symbiont};

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/verify/zk/fixtures/mlp-16-32-32-4.json"
);

/// An `infer serve` process, killed on drop; its log is printed if the test fails.
struct Serve {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("--- {} ---", self.log.display());
            for l in lines.iter().take(12) {
                eprintln!("{l}");
            }
            if lines.len() > 12 {
                eprintln!("…");
                for l in &lines[lines.len().saturating_sub(12).max(12)..] {
                    eprintln!("{l}");
                }
            }
        }
    }
}

fn serve(n: &DevNode, who: u32, dir: &Path, extra: &[&str]) -> Serve {
    let log = dir.join(format!("serve-{who}.log"));
    let child = symbiont()
        .args(["infer", "serve", "--node", &n.url, "--from", &dev(who)])
        .arg("--keystore")
        .arg(n.data.join("keystore"))
        .arg("--password-file")
        .arg(n.data.join("dev-password"))
        .args(["--poll-ms", "150"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .env("RUST_LOG", "info")
        .spawn()
        .unwrap();
    Serve { child, log }
}

fn get(n: &DevNode, path: &str) -> Value {
    let url = format!("{}{path}", n.url);
    reqwest::blocking::get(&url)
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Waits until request `id` is in `state`; returns it.
fn wait_state(n: &DevNode, id: u64, state: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let v = get(n, &format!("/v1/infer/requests/{id}"));
        if v["request"]["state"] == state {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "request {id} not {state} after {secs} s: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn request(n: &DevNode, args: &[&str]) -> u64 {
    let mut all = vec!["infer", "request", "--payment", "0.01"];
    all.extend_from_slice(args);
    let out = ok(n.signed(&all, 0));
    out.lines()
        .find_map(|l| l.strip_prefix("request "))
        .and_then(|id| id.trim().parse().ok())
        .unwrap_or_else(|| panic!("no request id in {out}"))
}

fn usd(n: &DevNode, who: u32) -> u128 {
    let a = get(n, &format!("/v1/accounts/{}", dev(who)));
    a["balances"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "0x0000000000000000000000000000000000000000")
        .map(|(_, v)| v.as_str().unwrap().parse::<u128>().unwrap())
        .sum()
}

#[test]
fn zk_tee_and_reexec_modes_end_to_end_on_a_dev_node() {
    let n = DevNode::start();
    let tmp = tempfile::tempdir().unwrap();
    let mlp = tmp.path().join("mlp");
    let setup: Value = serde_json::from_str(&ok(symbiont()
        .args(["zk", "setup", "--model", MODEL, "--out"])
        .arg(&mlp)
        .output()
        .unwrap()))
    .unwrap();
    let model = setup["model"].as_str().unwrap().to_owned();
    let mlp_dir = mlp.to_str().unwrap();

    // Prove and verify from the command line; a tampered proof or a wrong output is invalid.
    let input = "-70,-61,-52,-43,-34,-25,-16,-7,2,11,20,29,38,47,56,65";
    let proof = tmp.path().join("proof.bin");
    let output = ok(symbiont()
        .args(["zk", "prove", "--dir", mlp_dir, "--input", input, "--proof"])
        .arg(&proof)
        .output()
        .unwrap());
    let output = output.trim().to_owned();
    let verify = |out: &str, proof: &Path| {
        symbiont()
            .args([
                "zk", "verify", "--dir", mlp_dir, "--input", input, "--output", out,
            ])
            .arg("--proof")
            .arg(proof)
            .output()
            .unwrap()
    };
    assert_eq!(ok(verify(&output, &proof)).trim(), "valid");
    let mut bytes = std::fs::read(&proof).unwrap();
    bytes[20] ^= 1;
    let bad = tmp.path().join("bad.bin");
    std::fs::write(&bad, &bytes).unwrap();
    assert!(!verify(&output, &bad).status.success());
    let mut wrong: Vec<i64> = output.split(',').map(|x| x.parse().unwrap()).collect();
    wrong[0] = if wrong[0] == 0 { 1 } else { 0 };
    let wrong: Vec<String> = wrong.iter().map(ToString::to_string).collect();
    assert!(!verify(&wrong.join(","), &proof).status.success());

    ok(n.signed(&["zk", "register", "--dir", mlp_dir], 0));
    for p in [1, 2, 3] {
        ok(n.signed(
            &[
                "provider",
                "register",
                "--uri",
                &format!("http://127.0.0.1:{}", 9300 + p),
            ],
            p,
        ));
    }
    let input_hex: String = input
        .split(',')
        .map(|x| format!("{:02x}", x.parse::<i8>().unwrap() as u8))
        .collect();
    let expected_hex: String = output
        .split(',')
        .map(|x| format!("{:02x}", x.parse::<i8>().unwrap() as u8))
        .collect();

    // ZK: provider 1 proves; the ledger verifies the proof before counting the delivery.
    let _p1 = serve(&n, 1, tmp.path(), &["--zk-model", mlp_dir]);
    let p1_before = usd(&n, 1);
    let id = request(
        &n,
        &["--model", &model, "--mode", "zk", "--input-hex", &input_hex],
    );
    let r = wait_state(&n, id, "settled", 120);
    let result = &r["request"]["result"];
    assert_eq!(result["zkProved"], true);
    assert_eq!(result["output"], format!("0x{expected_hex}"));
    assert_eq!(usd(&n, 1), p1_before + 10_000, "paid 0.01 USD");
    let shown = ok(symbiont()
        .args([
            "infer",
            "result",
            &id.to_string(),
            "--hex",
            "--node",
            &n.url,
        ])
        .output()
        .unwrap());
    assert_eq!(shown.trim(), format!("0x{expected_hex}"));

    // TEE: provider 2 binds its key with a dev-root quote; provider 1 has none, so only
    // provider 2's delivery counts.
    let quotes = tmp.path().join("quotes");
    ok(symbiont()
        .args(["attest", "dev-quote", "--address", &dev(2), "--out"])
        .arg(&quotes)
        .output()
        .unwrap());
    let attest = |root: &str, who: u32| {
        symbiont()
            .args(["attest", "verify"])
            .arg(quotes.join("quote.bin"))
            .arg("--collateral")
            .arg(quotes.join("collateral.json"))
            .args(["--root", root, "--address", &dev(who)])
            .output()
            .unwrap()
    };
    let v: Value = serde_json::from_str(&ok(attest("dev", 2))).unwrap();
    assert_eq!(v["tcbStatus"], "UpToDate");
    let other = attest("dev", 3);
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("quote refused"));
    assert!(!attest("intel", 2).status.success());

    let _p2 = serve(&n, 2, tmp.path(), &["--zk-model", mlp_dir, "--dev-attest"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&n, &format!("/v1/infer/providers/{}", dev(2)))["attestation"].is_null() {
        assert!(Instant::now() < deadline, "provider 2 never bound its key");
        std::thread::sleep(Duration::from_millis(200));
    }
    let p2_before = usd(&n, 2);
    let id = request(
        &n,
        &[
            "--model",
            &model,
            "--mode",
            "tee",
            "--input-hex",
            &input_hex,
        ],
    );
    let r = wait_state(&n, id, "settled", 60);
    let result = &r["request"]["result"];
    assert_eq!(result["teeAttested"], true);
    let providers: Vec<String> = result["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(providers, vec![dev(2)]);
    assert_eq!(usd(&n, 2), p2_before + 10_000);

    // Re-execution: provider 3 is bonded (with its agent) but corrupts its output; dev 4, a
    // permitted validator of subnet 1, re-executes it; the bond is slashed, the verdict is a
    // validation response of 0, and the payment goes back at the end of the window.
    n.create_fast_subnet(&[]);
    ok(n.signed(&["neuron", "register", "--netuid", "1"], 4));
    ok(n.signed(&["stake", "add", "--netuid", "1", "--amount", "50"], 4));
    let staked = n.subnet()["height"].as_u64().unwrap();
    n.epoch_after(staked);
    ok(n.signed(
        &[
            "agent",
            "register",
            "--uri",
            "https://provider-3.test/agent.json",
        ],
        3,
    ));
    let agent = get(&n, "/v1/agents")["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["owner"].as_str().map(str::to_lowercase) == Some(dev(3)))
        .map(|a| a["agentId"].as_u64().or(a["id"].as_u64()).unwrap())
        .unwrap();
    ok(n.signed(
        &[
            "infer",
            "bond",
            "--amount",
            "5",
            "--agent-id",
            &agent.to_string(),
        ],
        3,
    ));
    let _p3 = serve(&n, 3, tmp.path(), &["--zk-model", mlp_dir, "--corrupt"]);
    let _v4 = serve(
        &n,
        4,
        tmp.path(),
        &["--zk-model", mlp_dir, "--reexec-rate", "1"],
    );
    let buyer_before = usd(&n, 0);
    let id = request(
        &n,
        &[
            "--model",
            &model,
            "--mode",
            "reexec",
            "--input-hex",
            &input_hex,
            "--netuid",
            "1",
            "--min-bond",
            "2",
            "--challenge-window",
            "40",
        ],
    );
    let r = wait_state(&n, id, "settled", 90);
    let d: Vec<&Value> = r["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["provider"].as_str().map(str::to_lowercase) == Some(dev(3)))
        .collect();
    assert_eq!(d.len(), 1, "{r:#}");
    assert_eq!(d[0]["reexecuted"][1], false, "{r:#}");
    let p = get(&n, &format!("/v1/infer/providers/{}", dev(3)));
    assert_eq!(
        p["bond"]["amount"], "3000000000",
        "5 tokens less the 2 slashed: {p:#}"
    );
    assert_eq!(p["bond"]["slashed"], "2000000000");
    let validations = get(&n, &format!("/v1/agents/{agent}/validations"));
    let scores: Vec<&Value> = validations["validations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["response"])
        .collect();
    assert_eq!(scores, vec![&serde_json::json!(0)], "{validations:#}");
    // The refuted share went back: the buyer paid fees only.
    assert_eq!(usd(&n, 0), buyer_before);
}

/// Redundant mode with the real models: three providers serve all-MiniLM-L6-v2 and SmolLM2,
/// one of them corrupting its outputs; an embedding request and a greedy chat request with
/// k = 2 are accepted on the two honest deliveries (cosine within 0.999 on the ledger for the
/// embeddings, byte for byte for the chat) and only those two are paid.
#[test]
fn redundant_requests_agree_on_real_model_outputs() {
    let _models = crate::models_lock();
    let n = DevNode::start();
    let tmp = tempfile::tempdir().unwrap();
    for p in [1, 2, 3] {
        ok(n.signed(
            &[
                "provider",
                "register",
                "--uri",
                &format!("http://127.0.0.1:{}", 9400 + p),
            ],
            p,
        ));
    }
    let _p1 = serve(&n, 1, tmp.path(), &["--models"]);
    let _p2 = serve(&n, 2, tmp.path(), &["--models"]);
    let _p3 = serve(&n, 3, tmp.path(), &["--models", "--corrupt"]);
    let before: Vec<u128> = [1, 2, 3].iter().map(|p| usd(&n, *p)).collect();

    let id = request(
        &n,
        &[
            "--model",
            "all-minilm-l6-v2",
            "--input",
            "The cat sits on the mat.",
            "--k",
            "2",
            "--window",
            "3000",
        ],
    );
    let r = wait_state(&n, id, "settled", 240);
    let result = &r["request"]["result"];
    let mut providers: Vec<String> = result["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_lowercase())
        .collect();
    providers.sort();
    let mut honest = vec![dev(1), dev(2)];
    honest.sort();
    assert_eq!(providers, honest, "{r:#}");
    // 384 dimensions of i16.
    assert_eq!(result["output"].as_str().unwrap().len(), 2 + 2 * 768);
    let shown = ok(symbiont()
        .args(["infer", "result", &id.to_string(), "--node", &n.url])
        .output()
        .unwrap());
    assert!(shown.contains("(384 dims)"), "{shown}");

    let id = request(
        &n,
        &[
            "--model",
            "smollm2-135m",
            "--input",
            "What is the capital of France?",
            "--k",
            "2",
            "--window",
            "3000",
        ],
    );
    let r = wait_state(&n, id, "settled", 240);
    let result = &r["request"]["result"];
    assert_eq!(result["providers"].as_array().unwrap().len(), 2, "{r:#}");
    let text = ok(symbiont()
        .args(["infer", "result", &id.to_string(), "--node", &n.url])
        .output()
        .unwrap());
    assert!(!text.trim().is_empty());
    // The dissenter delivered both times and was paid nothing; the honest two shared 0.01 USD
    // twice.
    let deliveries = r["deliveries"].as_array().unwrap().len();
    assert!(deliveries >= 2);
    assert_eq!(usd(&n, 1), before[0] + 10_000);
    assert_eq!(usd(&n, 2), before[1] + 10_000);
    assert_eq!(usd(&n, 3), before[2]);
}
