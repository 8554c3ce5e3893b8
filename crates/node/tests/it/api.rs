//! The REST API: happy paths, every class of bad input, overload, events, OpenAPI.

use std::time::Duration;

use futures_util::StreamExt;
use ledger::{Call, NATIVE};

use crate::common::*;

const FAST: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_round_trip_with_status_receipt_and_block() {
    let n = start(FAST, 1000).await;
    let tx = transfer(0, 0, 1, 7);
    let (status, v) = n.submit(&tx).await;
    assert_eq!(status, 202, "{v}");
    let hash = v["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash, format!("{}", tx.tx.signing_hash(CHAIN_ID)));
    let doc = n.committed(&hash).await;
    assert_eq!(doc["receipt"]["status"], "success");
    let height = doc["height"].as_u64().unwrap();
    let (s, block) = n.get(&format!("/v1/blocks/{height}")).await;
    assert_eq!(s, 200);
    assert_eq!(block["txs"][0]["tx"]["nonce"], 0);
    let (s, by_hash) = n
        .get(&format!("/v1/blocks/{}", block["hash"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    assert_eq!(by_hash["header"], block["header"]);
    let (_, acct) = n.get(&format!("/v1/accounts/{}", addr(0))).await;
    assert_eq!(acct["nonce"], 1);
    assert_eq!(
        n.balance(addr(1)).await,
        (1_000_000_000_000u128 + 7).to_string()
    );
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_precise_error_and_changes_nothing() {
    // Slow blocks so that pending transactions stay pending during the test.
    let n = start(Duration::from_secs(3600), 1000).await;
    let before: Vec<String> =
        futures_util::future::join_all((0..4).map(|i| n.balance(addr(i)))).await;

    let negative_amount = serde_json::to_string(&transfer(0, 0, 1, 1))
        .unwrap()
        .replace(r#""amount":"1""#, r#""amount":"-1""#)
        .into_bytes();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("not json", b"{bad".to_vec(), 400, "malformed"),
        (
            "missing field",
            br#"{"chainId":31337,"tx":{}}"#.to_vec(),
            400,
            "malformed",
        ),
        (
            "unknown call",
            serde_json::to_vec(&serde_json::json!({
            "chainId": 31337, "signature": format!("0x{}", "11".repeat(65)),
            "tx": {"from": addr(0), "nonce": 0, "fee": "1000", "call": {"type": "steal"}}}))
            .unwrap(),
            400,
            "malformed",
        ),
        ("negative amount", negative_amount, 400, "malformed"),
        ("oversized", vec![b' '; 70 * 1024], 413, "body_too_large"),
    ];
    for (name, body, status, code) in cases {
        let (s, v, _) = n.post("/v1/tx", body).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap_or("")),
            (status, code),
            "{name}: {v}"
        );
        assert!(
            !v["message"].as_str().unwrap_or("").is_empty(),
            "{name}: no message"
        );
    }

    let mut tampered = transfer(0, 0, 1, 1);
    tampered.tx.call = Call::Transfer {
        to: addr(2),
        asset: NATIVE,
        amount: 1_000,
    };
    let mut wrong_chain = transfer(0, 0, 1, 1);
    wrong_chain.chain_id = 1;
    let k0 = key(0);
    let rejections = vec![
        ("tampered", tampered, "signer_mismatch"),
        ("wrong chain", wrong_chain, "wrong_chain_id"),
        ("far future nonce", transfer(0, 5_000, 1, 1), "nonce_future"),
        (
            "overspend",
            transfer(0, 0, 1, 2_000_000_000_000),
            "insufficient_funds",
        ),
        ("fee unpaid", transfer(9, 0, 1, 1), "insufficient_funds"),
        (
            "low fee",
            signed(
                &k0,
                0,
                1,
                0,
                Call::Transfer {
                    to: addr(1),
                    asset: NATIVE,
                    amount: 1,
                },
            ),
            "fee_too_low",
        ),
        (
            "expired",
            signed(
                &k0,
                0,
                1_000,
                1_000,
                Call::Transfer {
                    to: addr(1),
                    asset: NATIVE,
                    amount: 1,
                },
            ),
            "expired",
        ),
        (
            "not issuer",
            signed(
                &key(1),
                0,
                1_000,
                0,
                Call::Mint {
                    asset: ledger::Asset::derive_id(addr(0), "Devnet USD"),
                    to: addr(1),
                    amount: 1,
                },
            ),
            "ok",
        ),
    ];
    for (name, tx, code) in rejections {
        let (s, v) = n.submit(&tx).await;
        if code == "ok" {
            // Minting by a non-issuer is admitted (the fee is paid) and fails at execution.
            assert_eq!(s, 202, "{name}: {v}");
            continue;
        }
        assert_eq!((s, v["code"].as_str().unwrap()), (422, code), "{name}: {v}");
    }

    // The same transaction twice: the second is a duplicate.
    let tx = transfer(2, 0, 1, 3);
    assert_eq!(n.submit(&tx).await.0, 202);
    let (s, v) = n.submit(&tx).await;
    assert_eq!((s, v["code"].as_str().unwrap()), (409, "duplicate"), "{v}");
    // Another transaction with the same nonce while the first is pending.
    let (s, v) = n.submit(&transfer(2, 0, 3, 3)).await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (422, "nonce_pending"),
        "{v}"
    );

    let after: Vec<String> =
        futures_util::future::join_all((0..4).map(|i| n.balance(addr(i)))).await;
    assert_eq!(before, after, "rejected input must not change state");
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_transaction_resubmitted_is_a_duplicate_and_old_nonce_is_stale() {
    let n = start(FAST, 1000).await;
    let tx = transfer(0, 0, 1, 1);
    let (_, v) = n.submit(&tx).await;
    n.committed(v["hash"].as_str().unwrap()).await;
    let (s, v) = n.submit(&tx).await;
    assert_eq!((s, v["code"].as_str().unwrap()), (409, "duplicate"), "{v}");
    let (s, v) = n.submit(&transfer(0, 0, 2, 1)).await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (422, "nonce_stale"),
        "{v}"
    );
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_mempool_answers_503_with_retry_after() {
    let n = start(Duration::from_secs(3600), 2).await;
    assert_eq!(n.submit(&transfer(0, 0, 1, 1)).await.0, 202);
    assert_eq!(n.submit(&transfer(1, 0, 2, 1)).await.0, 202);
    let (s, v, h) = n
        .post("/v1/tx", serde_json::to_vec(&transfer(2, 0, 3, 1)).unwrap())
        .await;
    assert_eq!(
        (s, v["code"].as_str().unwrap()),
        (503, "mempool_full"),
        "{v}"
    );
    assert_eq!(h.get("retry-after").unwrap(), "1");
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_reports_each_item_in_order() {
    let n = start(FAST, 1000).await;
    let good = serde_json::to_value(transfer(0, 0, 1, 5)).unwrap();
    let mut bad_sig = serde_json::to_value(transfer(1, 0, 2, 5)).unwrap();
    bad_sig["tx"]["nonce"] = 1.into();
    let body = serde_json::json!([good, {"nonsense": true}, bad_sig]);
    let (s, v, _) = n.post("/v1/txs", serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(s, 200, "{v}");
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert!(r[0]["hash"].is_string(), "{v}");
    assert_eq!(r[1]["error"]["code"], "malformed");
    assert_eq!(r[2]["error"]["code"], "signer_mismatch");
    n.committed(r[0]["hash"].as_str().unwrap()).await;
    let (s, v, _) = n.post("/v1/txs", b"{}".to_vec()).await;
    assert_eq!((s, v["code"].as_str().unwrap()), (400, "malformed"));
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_blocks_and_receipts() {
    let n = start(FAST, 1000).await;
    let ws_url = format!("ws://{}/v1/events", n.node.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let (_, v) = n.submit(&transfer(0, 0, 1, 1)).await;
    let hash = v["hash"].as_str().unwrap().to_owned();
    let mut saw_block = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let ev: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match ev["type"].as_str().unwrap() {
            "block" => saw_block = true,
            "receipt" if ev["receipt"]["txHash"] == hash.as_str() => break,
            _ => {}
        }
    }
    assert!(saw_block);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_lists_the_last_blocks_and_transactions_newest_first() {
    let n = start(FAST, 1000).await;
    let mut hashes = vec![];
    for nonce in 0..3 {
        let (_, v) = n.submit(&transfer(0, nonce, 1, 5)).await;
        let hash = v["hash"].as_str().unwrap().to_owned();
        n.committed(&hash).await;
        hashes.push(hash);
    }
    let (s, v) = n.get("/v1/activity?blocks=5&txs=2").await;
    assert_eq!(s, 200, "{v}");
    let blocks = v["blocks"].as_array().unwrap();
    // Five, unless the chain is younger (three one-transaction blocks after genesis).
    let height = v["height"].as_u64().unwrap();
    assert_eq!(blocks.len() as u64, (height + 1).min(5), "{v}");
    assert_eq!(
        blocks.last().unwrap()["height"],
        height + 1 - blocks.len() as u64
    );
    assert_eq!(blocks[0]["height"], v["height"]);
    for w in blocks.windows(2) {
        assert_eq!(
            w[0]["height"].as_u64().unwrap(),
            w[1]["height"].as_u64().unwrap() + 1
        );
        assert!(w[0]["timestampMs"].as_u64() >= w[1]["timestampMs"].as_u64());
    }
    let txs = v["txs"].as_array().unwrap();
    assert_eq!(txs.len(), 2, "{v}");
    assert_eq!(txs[0]["hash"], hashes[2].as_str());
    assert_eq!(txs[1]["hash"], hashes[1].as_str());
    assert_eq!(
        txs[0]["from"].as_str().unwrap().to_lowercase(),
        addr(0).to_string().to_lowercase()
    );
    assert_eq!(txs[0]["call"]["type"], "transfer");
    assert_eq!(txs[0]["receipt"]["status"], "success");
    assert!(txs[0]["settleMs"].is_null(), "not an x402 settlement");
    // Limits are capped, not refused.
    let (s, v) = n.get("/v1/activity?blocks=100000&txs=100000").await;
    assert_eq!(s, 200);
    assert_eq!(v["txs"].as_array().unwrap().len(), 3);
    let (s, _) = n.get("/v1/activity?blocks=x").await;
    assert_eq!(s, 400);
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_from_the_binary() {
    let n = start(FAST, 1000).await;
    for (path, kind, needle) in [
        ("/", "text/html", "/dashboard/app.js"),
        ("/dashboard/app.js", "text/javascript", "/v1/events"),
        ("/dashboard/style.css", "text/css", "@media"),
    ] {
        let resp = n.http.get(format!("{}{path}", n.url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        let body = resp.text().await.unwrap();
        assert!(body.contains(needle), "{path}");
        // Nothing is fetched from elsewhere.
        assert!(!body.contains("https://"), "{path} links outside the node");
    }
    n.node.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_router() {
    let n = start(FAST, 1000).await;
    let (s, doc) = n.get("/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 14);
    let usd = ledger::Asset::derive_id(addr(0), "Devnet USD");
    for (path, item) in paths {
        let concrete = path
            .replace("{hash}", &format!("0x{}", "00".repeat(32)))
            .replace("{nonce}", &format!("0x{}", "00".repeat(32)))
            .replace("{address}", &addr(0).to_string())
            .replace("{authorizer}", &addr(0).to_string())
            .replace("{id}", &usd.to_string());
        let url = format!("{}{concrete}", n.url);
        let resp = if item.get("post").is_some() {
            n.http.post(&url).body("[]").send().await.unwrap()
        } else {
            n.http.get(&url).send().await.unwrap()
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(
            !text.contains("no such route"),
            "{path} is documented but not routed"
        );
        assert!(status < 500, "{path}: {status}");
    }
    let (s, v) = n.get("/v1/nope").await;
    assert_eq!((s, v["code"].as_str().unwrap()), (404, "not_found"));
    let metrics = n
        .http
        .get(format!("{}/metrics", n.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("symbiont_head_height"));
    n.node.shutdown().await.unwrap();
}
