//! The compute market through the CLI against a dev node: providers register, a tenant
//! orders, bids win, the lease pays from escrow and closes; and a sealed auction of 8 bids
//! whose winner and price equal the plaintext computation, with the losing prices found
//! nowhere — not in the ledger's blocks, receipts, orders and bids, not in the API's answers,
//! not in the node's log, not in the bidders' own output.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::subnet::{DevNode, dev, ok, symbiont};

fn http_get(n: &DevNode, path: &str) -> Value {
    let url = format!("{}{path}", n.url);
    reqwest::blocking::get(&url)
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn register(n: &DevNode, who: u32) {
    ok(n.signed(
        &[
            "provider",
            "register",
            "--uri",
            &format!("http://127.0.0.1:{}", 9100 + who),
            "--attr",
            "capacity/rps=20",
            "--attr",
            "model/all-minilm-l6-v2=true",
        ],
        who,
    ));
}

#[test]
fn order_bid_lease_withdraw_close_through_the_cli() {
    let n = DevNode::start();
    register(&n, 1);
    register(&n, 2);
    let out = ok(n.signed(
        &[
            "order",
            "create",
            "--capacity-rps",
            "5",
            "--attr",
            "model/all-minilm-l6-v2=true",
            "--max-price",
            "0.01",
            "--duration",
            "1000",
            "--deposit",
            "5",
            "--bid-window",
            "200",
        ],
        0,
    ));
    assert!(out.contains("order 0 open for bids"), "{out}");
    ok(n.signed(&["bid", "place", "--order", "0", "--price", "0.004"], 1));
    ok(n.signed(&["bid", "place", "--order", "0", "--price", "0.003"], 2));
    // Over the max: refused with the ledger's reason.
    let over = n.signed(&["bid", "place", "--order", "0", "--price", "0.02"], 1);
    assert!(!over.status.success());
    let out = ok(n.signed(&["order", "accept", "0", "--provider", &dev(2)], 0));
    assert!(out.contains("lease 0 started"), "{out}");
    std::thread::sleep(Duration::from_millis(800));
    ok(n.signed(&["lease", "withdraw", "0"], 2));
    let show = ok(symbiont()
        .args(["lease", "show", "0", "--node", &n.url])
        .output()
        .unwrap());
    assert!(show.contains("serving"), "{show}");
    assert!(show.contains("deposited 5"), "{show}");
    ok(n.signed(&["lease", "close", "0", "--reason", "done"], 0));
    let l = http_get(&n, "/v1/leases/0");
    assert_eq!(l["serving"], false);
    let e = &l["lease"]["escrow"];
    let num = |v: &Value| v.as_str().unwrap().parse::<u128>().unwrap();
    assert_eq!(num(&e["deposited"]), 5_000_000);
    assert_eq!(num(&e["paid"]) + num(&e["refunded"]), 5_000_000);
    assert_eq!(num(&e["paid"]) % 3_000, 0, "whole blocks at 0.003");
    assert!(num(&e["paid"]) > 0);
    assert_eq!(l["lease"]["closed"][1]["tenant"], "done");
}

/// Every string or number in `v` (recursively).
fn scalars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(x) => out.push(x.to_string()),
        Value::Array(a) => a.iter().for_each(|x| scalars(x, out)),
        Value::Object(m) => m.values().for_each(|x| scalars(x, out)),
        _ => {}
    }
}

#[test]
fn a_sealed_auction_of_eight_bids_reveals_only_the_winning_price() {
    let _models = crate::models_lock(); // seconds of FHE on both cores
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("node.log");
    let n = DevNode::start_logging(Some(&log));
    // Dev keys 1..=7 and 9 bid; 8 is the node's auctioneer.
    let bidders = [1u32, 2, 3, 4, 5, 6, 7, 9];
    // Prices in ticks of one USD base unit (so 40123 ticks = 0.040123 USD per block).
    let ticks = [
        40_123u32, 38_211, 45_677, 39_999, 52_341, 37_111, 48_888, 41_234,
    ];
    for who in bidders {
        register(&n, who);
    }
    let out = ok(n.signed(
        &[
            "order",
            "create",
            "--capacity-rps",
            "1",
            "--max-price",
            "0.06",
            "--duration",
            "100",
            "--deposit",
            "10",
            "--bid-window",
            "150",
            "--sealed",
            "--tick",
            "0.000001",
        ],
        0,
    ));
    assert!(out.contains("sealed auction"), "{out}");
    let mut bidder_output = String::new();
    for (who, t) in bidders.iter().zip(ticks) {
        let price = format!("0.{t:06}");
        let out = ok(n.signed(
            &[
                "bid", "place", "--order", "0", "--price", &price, "--sealed",
            ],
            *who,
        ));
        bidder_output.push_str(&out);
    }
    // The node refuses what is not a sealed bid for this auction: garbage, an oversized
    // body, an unknown auction.
    let key_hash = http_get(&n, "/v1/compute/orders/0")["order"]["sealed"]["keyHash"]
        .as_str()
        .unwrap()
        .to_owned();
    let http = reqwest::blocking::Client::new();
    let upload = |hash: &str, body: Vec<u8>| {
        let r = http
            .post(format!("{}/v1/auctions/{hash}/bids", n.url))
            .body(body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, text) = upload(&key_hash, b"not a ciphertext".to_vec());
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("sealed bid refused"), "{text}");
    assert_eq!(upload(&key_hash, vec![7; 70_000]).0, 413);
    let unknown = format!("0x{}", "ab".repeat(32));
    assert_eq!(upload(&unknown, b"x".to_vec()).0, 404);
    // A clear bid on a sealed order is refused before anything is sent.
    let clear = n.signed(&["bid", "place", "--order", "0", "--price", "0.01"], 1);
    assert!(!clear.status.success());

    // The plaintext computation: the lowest price, the first of equals.
    let (win_pos, win_ticks) = ticks
        .iter()
        .enumerate()
        .min_by_key(|(i, t)| (**t, *i))
        .map(|(i, t)| (i, *t))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    while http_get(&n, "/v1/compute/orders/0")["order"]["state"] != "leased" {
        if Instant::now() > deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            panic!(
                "the auctioneer did not resolve the order: {}\nnode log (last lines first):\n{}",
                http_get(&n, "/v1/compute/orders/0"),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let l = http_get(&n, "/v1/leases/0");
    assert_eq!(
        l["lease"]["provider"].as_str().unwrap().to_lowercase(),
        dev(bidders[win_pos])
    );
    assert_eq!(l["lease"]["rate"], win_ticks.to_string());

    // Collect everything the node shows: order and bids, lease, every block with its
    // transactions, every receipt, and the log; and what the bidders printed.
    let mut seen = Vec::new();
    scalars(&http_get(&n, "/v1/compute/orders/0"), &mut seen);
    scalars(&l, &mut seen);
    scalars(&http_get(&n, "/v1/compute"), &mut seen);
    let chain = http_get(&n, "/v1/chain");
    let chain_id = chain["chainId"].as_u64().unwrap();
    for h in 1..=chain["head"]["height"].as_u64().unwrap() {
        let b = http_get(&n, &format!("/v1/blocks/{h}"));
        for tx in b["txs"].as_array().into_iter().flatten() {
            let signed: ledger::tx::SignedTx = serde_json::from_value(tx.clone()).unwrap();
            let hash = signed.tx.signing_hash(chain_id);
            scalars(&http_get(&n, &format!("/v1/tx/{hash}")), &mut seen);
        }
        scalars(&b, &mut seen);
    }
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("sealed auction resolved"),
        "the node logs the resolution"
    );
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
            .map(str::to_owned)
            .collect()
    };
    seen.extend(words(&log_text));
    seen.extend(words(&bidder_output));
    // The winning price is public; every losing one is absent, in base units and in USD.
    assert!(seen.iter().any(|s| s == &win_ticks.to_string()));
    for (i, t) in ticks.iter().enumerate() {
        if i == win_pos {
            continue;
        }
        for form in [t.to_string(), format!("0.{t:06}"), format!("0.0{t}")] {
            assert!(
                !seen.iter().any(|s| s == &form),
                "losing price {form} leaked"
            );
        }
    }
    // Only the winner's bid has a price on the ledger.
    let o = http_get(&n, "/v1/compute/orders/0");
    let priced: Vec<&Value> = o["bids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| !b["price"].is_null())
        .collect();
    assert_eq!(priced.len(), 1);
    assert_eq!(priced[0]["index"], win_pos);
}
