//! The signer over its real Unix sockets: concurrency against the budget, approvals,
//! malformed input, typed data, restart with budgets rebuilt from the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{os::unix::fs::PermissionsExt, path::Path, sync::Arc, time::Duration};

use alloy_primitives::{Address, B256, U256};
use ledger::{Call, Tx, asset::NATIVE};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use wallet::PrivateKey;
use wallet_signer::{AdminClient, Client, ClientError, Config, Policy, audit, serve};
use x402_types::{TokenAmount, exact::Authorization};

const USD: Address = Address::repeat_byte(0x05);
const SHOP: Address = Address::repeat_byte(0x51);

fn policy(per_hour: u128, approve_above: Option<u128>, timeout: u64) -> Policy {
    let approve = approve_above.map_or(String::new(), |a| format!("approve_above = \"{a}\""));
    Policy::parse(&format!(
        r#"
chain_ids = [1337]
allowed_calls = ["transfer"]
rate_limit_per_minute = 100000
approval_timeout_secs = {timeout}
[[assets]]
address = "{USD}"
symbol = "USD"
decimals = 6
per_payment = "{per_hour}"
per_hour = "{per_hour}"
per_day = "{per_hour}"
{approve}
[[assets]]
address = "{NATIVE}"
symbol = "SYM"
decimals = 18
per_payment = "1000"
per_hour = "1000000"
per_day = "1000000"
"#
    ))
    .unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::from_bytes(&[7u8; 32]).unwrap()
}

async fn start(dir: &Path, policy: Policy) -> (wallet_signer::Handle, Client) {
    let handle = serve(Config {
        policy,
        key: key(),
        socket: dir.join("s.sock"),
        admin_socket: dir.join("a.sock"),
        audit_log: dir.join("audit.log"),
    })
    .await
    .unwrap();
    let client = Client::connect(dir.join("s.sock")).await.unwrap();
    (handle, client)
}

fn authorization(from: Address, value: u64, nonce: u8) -> Authorization {
    Authorization {
        from,
        to: SHOP,
        value: TokenAmount(U256::from(value)),
        valid_after: TokenAmount::ZERO,
        valid_before: TokenAmount(U256::from(u64::MAX)),
        nonce: B256::repeat_byte(nonce),
    }
}

fn domain() -> alloy_sol_types::Eip712Domain {
    x402_types::exact::domain("USD", "1", 1337, USD)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_payments_never_exceed_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    // 100 payments of 10 000 against an hourly budget of 255 000: exactly 25 fit.
    let (handle, client) = start(dir.path(), policy(255_000, None, 60)).await;
    let client = Arc::new(client);
    let me = client.address();
    let tasks: Vec<_> = (0..100u8)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                c.sign_authorization(&domain(), &authorization(me, 10_000, i))
                    .await
            })
        })
        .collect();
    let (mut signed, mut denied) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => signed += 1,
            Err(ClientError::Denied { rule, message }) => {
                assert_eq!(rule, "assets.USD.per_hour", "{message}");
                denied += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((signed, denied), (25, 75));
    let v = audit::verify(&dir.path().join("audit.log")).unwrap();
    assert_eq!(v.entries, 100, "every decision is logged");

    // Restarted, the signer rebuilds the hour's spending from its log: still no room.
    drop(handle);
    let (_handle, client) = start(dir.path(), policy(255_000, None, 60)).await;
    let err = client
        .sign_authorization(&domain(), &authorization(me, 10_000, 200))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "assets.USD.per_hour"),
        "{err}"
    );
    assert_eq!(
        client
            .sign_authorization(&domain(), &authorization(me, 5_000, 201))
            .await
            .map(|s| s.len())
            .ok(),
        Some(65)
    );
}

#[tokio::test]
async fn signatures_are_the_keys_and_wrong_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_h, client) = start(dir.path(), policy(100_000, None, 60)).await;
    assert_eq!(client.address(), key().address());
    let mode = std::fs::metadata(dir.path().join("s.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mode = std::fs::metadata(dir.path().join("a.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // A payment signature recovers to the key.
    let auth = authorization(client.address(), 1_000, 1);
    let sig = client.sign_authorization(&domain(), &auth).await.unwrap();
    let signer = wallet::recover_address(&auth.signing_hash(&domain()), &sig).unwrap();
    assert_eq!(signer, client.address());

    // A ledger transaction: signed, and it verifies as the ledger checks it.
    let tx = Tx {
        from: client.address(),
        nonce: 0,
        fee: 100,
        expiry: 0,
        call: Call::Transfer {
            to: SHOP,
            asset: USD,
            amount: 500,
        },
    };
    let signed = client.sign_tx(1337, tx.clone()).await.unwrap();
    assert_eq!(
        wallet::recover_address(&tx.signing_hash(1337), &signed.signature.0).unwrap(),
        client.address()
    );

    // Not this signer's transaction / authorization.
    let other = Tx {
        from: SHOP,
        ..tx.clone()
    };
    let err = client.sign_tx(1337, other).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "from"),
        "{err}"
    );
    let err = client
        .sign_authorization(&domain(), &authorization(SHOP, 1, 2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "from"),
        "{err}"
    );

    // A call the policy does not list; a chain it does not list; a fee over its cap.
    let stake = Tx {
        call: Call::CreateSubnet { max_lock_cost: 1 },
        ..tx.clone()
    };
    let err = client.sign_tx(1337, stake).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "allowed_calls"),
        "{err}"
    );
    let err = client.sign_tx(1, tx.clone()).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "chain_ids"),
        "{err}"
    );
    let err = client
        .sign_tx(1337, Tx { fee: 1_001, ..tx })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "assets.SYM.per_payment"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_h, client) = start(dir.path(), policy(100_000, None, 60)).await;
    let stream = tokio::net::UnixStream::connect(dir.path().join("s.sock"))
        .await
        .unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    for bad in [
        "not json",
        r#"{"method":"signEverything"}"#,
        r#"{"method":"address","x":1}"#,
    ] {
        w.write_all(format!("{bad}\n").as_bytes()).await.unwrap();
        line.clear();
        r.read_line(&mut line).await.unwrap();
        assert!(line.contains("bad_request"), "{bad}: {line}");
    }
    // The connection still serves a good request after bad ones.
    w.write_all(b"{\"method\":\"address\"}\n").await.unwrap();
    line.clear();
    r.read_line(&mut line).await.unwrap();
    assert!(
        line.to_lowercase()
            .contains(&format!("{:x}", client.address()).to_lowercase()[..10]),
        "{line}"
    );
    // Oversized: an error, then the connection is closed.
    let big = vec![b'x'; wallet_signer::protocol::MAX_REQUEST + 10];
    w.write_all(&big).await.unwrap();
    line.clear();
    r.read_line(&mut line).await.unwrap();
    assert!(line.contains("longer than"), "{line}");
}

#[tokio::test]
async fn held_payments_wait_for_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let (_h, client) = start(dir.path(), policy(100_000, Some(5_000), 2)).await;
    let admin = AdminClient::new(dir.path().join("a.sock"));
    let me = client.address();

    // Approved: signed.
    let c = client.clone();
    let waiting = tokio::spawn(async move {
        c.sign_authorization(&domain(), &authorization(me, 6_000, 1))
            .await
    });
    let id = loop {
        let p = admin.pending().await.unwrap();
        if let Some(p) = p.first() {
            break p["id"].as_u64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    admin.approve(id).await.unwrap();
    assert_eq!(waiting.await.unwrap().map(|s| s.len()).ok(), Some(65));

    // Rejected: denied naming the rule.
    let c = client.clone();
    let waiting = tokio::spawn(async move {
        c.sign_authorization(&domain(), &authorization(me, 6_000, 2))
            .await
    });
    let id = loop {
        if let Some(p) = admin.pending().await.unwrap().first() {
            break p["id"].as_u64().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    admin.reject(id).await.unwrap();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, ref message } if rule == "approve_above" && message.contains("rejected")),
        "{err}"
    );
    assert!(admin.approve(id).await.is_err(), "nothing left to approve");

    // Unanswered: rejected after the timeout (2 s).
    let err = client
        .sign_authorization(&domain(), &authorization(me, 6_000, 3))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not approved within"), "{err}");

    // Below the threshold: no wait.
    assert!(
        client
            .sign_authorization(&domain(), &authorization(me, 4_000, 4))
            .await
            .is_ok()
    );
    let v = audit::verify(&dir.path().join("audit.log")).unwrap();
    // held+approved+signed, held+rejected, held+expired, signed.
    assert_eq!(v.entries, 8);
}

fn typed(
    primary: &str,
    fields: serde_json::Value,
    message: serde_json::Value,
) -> serde_json::Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"}
            ],
            primary: fields
        },
        "primaryType": primary,
        "domain": {"name": "USD", "version": "1", "chainId": 1337, "verifyingContract": USD},
        "message": message
    })
}

#[tokio::test]
async fn typed_data_is_understood_or_denied() {
    let dir = tempfile::tempdir().unwrap();
    let (_h, client) = start(dir.path(), policy(10_000, None, 60)).await;
    let me = client.address();
    let fields = json!([
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"}
    ]);
    let message = |value: u64| {
        json!({
            "from": me, "to": SHOP, "value": value.to_string(), "validAfter": "0",
            "validBefore": u64::MAX.to_string(), "nonce": B256::repeat_byte(9)
        })
    };
    // An EIP-3009 payment in v4 form is the same signature as the typed request, and counts.
    let sig = client
        .sign_typed_data(&typed(
            "TransferWithAuthorization",
            fields.clone(),
            message(6_000),
        ))
        .await
        .unwrap();
    let auth = Authorization {
        nonce: B256::repeat_byte(9),
        ..authorization(me, 6_000, 0)
    };
    assert_eq!(
        wallet::recover_address(&auth.signing_hash(&domain()), &sig).unwrap(),
        me
    );
    let err = client
        .sign_typed_data(&typed(
            "TransferWithAuthorization",
            fields.clone(),
            message(6_000),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "assets.USD.per_hour"),
        "{err}"
    );

    // A look-alike with the fields in another order is not EIP-3009.
    let mut swapped = fields.as_array().unwrap().clone();
    swapped.swap(0, 1);
    let err = client
        .sign_typed_data(&typed(
            "TransferWithAuthorization",
            json!(swapped),
            message(1),
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not the EIP-3009 struct"), "{err}");

    // A type the policy does not list: default deny.
    let err = client
        .sign_typed_data(&typed(
            "Permit",
            json!([{"name": "spender", "type": "address"}, {"name": "value", "type": "uint256"}]),
            json!({"spender": SHOP, "value": "1"}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Denied { ref rule, .. } if rule == "allowed_typed_data"),
        "{err}"
    );
}
