//! The CLI round trip: `symbiont node --dev`, `symbiont tx transfer`, `symbiont query account`,
//! `symbiont pay`.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn symbiont() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
}

#[test]
fn dev_node_transfer_and_query_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = symbiont()
        .args([
            "node",
            "--dev",
            "--block-time-ms",
            "100",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while symbiont()
        .args(["query", "chain", "--node", &url])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(Instant::now() < deadline, "dev node did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let ks = data.join("keystore");
    let pw = data.join("dev-password");
    let from = std::fs::read_dir(&ks)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .map(|n| format!("0x{}", n.rsplit("--").next().unwrap()))
        .next()
        .unwrap();
    let to = "0x000000000000000000000000000000000000bEEF";
    let out = symbiont()
        .args([
            "tx", "transfer", "--node", &url, "--from", &from, "--to", to, "--amount", "2.5",
        ])
        .arg("--keystore")
        .arg(&ks)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = symbiont()
        .args(["query", "account", to, "--node", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["balances"]["0x0000000000000000000000000000000000000000"],
        "2500000000"
    );
    // A wrong passphrase is refused clearly and submits nothing.
    let bad = dir.path().join("bad-pw");
    std::fs::write(&bad, "wrong").unwrap();
    let out = symbiont()
        .args([
            "tx", "transfer", "--node", &url, "--from", &from, "--to", to, "--amount", "1",
        ])
        .arg("--keystore")
        .arg(&ks)
        .arg("--password-file")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());

    // `symbiont pay` buys the dev node's paid route with dev key 1.
    let payer = node::dev::dev_key(1).unwrap().address().to_string();
    let payee = node::dev::dev_key(8).unwrap().address().to_string();
    let usd_of = |who: &str| -> u128 {
        let out = symbiont()
            .args(["query", "account", who, "--node", &url])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["balances"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.as_str() != "0x0000000000000000000000000000000000000000")
            .map_or(0, |(_, b)| b.as_str().unwrap().parse().unwrap())
    };
    let payee0 = usd_of(&payee);
    let pay = |max: &str| {
        symbiont()
            .args(["pay", &format!("{url}/demo/paid"), "--max", max])
            .args(["--from", &payer])
            .arg("--keystore")
            .arg(&ks)
            .arg("--password-file")
            .arg(&pw)
            .output()
            .unwrap()
    };
    let out = pay("0.05");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("hello from a paid route"), "{stdout}");
    assert!(stderr.contains("paid 0.01 (10000 units)"), "{stderr}");
    assert!(stderr.contains("settled: true"), "{stderr}");
    assert_eq!(usd_of(&payee), payee0 + 10_000);
    // Under the price: refused before signing, nothing paid.
    let out = pay("0.001");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("per-payment cap"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(usd_of(&payee), payee0 + 10_000);
    node.kill().unwrap();
    node.wait().unwrap();
}

#[test]
fn genesis_new_writes_a_valid_genesis_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.json");
    let a = "0x000000000000000000000000000000000000bEEF";
    let ok = symbiont()
        .args([
            "genesis",
            "new",
            "--chain-id",
            "777",
            "--alloc",
            &format!("{a}=12.5"),
        ])
        .args(["--usd-issuer", a, "--usd-alloc", &format!("{a}=100")])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let g: ledger::Genesis = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let (state, _) = g.build().unwrap();
    assert_eq!(state.params.chain_id, 777);
    assert_eq!(state.native_supply, 12_500_000_000);
    let usd = state.assets.values().next().unwrap();
    assert_eq!(
        (usd.name.as_str(), usd.decimals, usd.supply),
        ("Devnet USD", 6, 100_000_000)
    );

    // Over the 21M cap, and an existing file without --force.
    let over = symbiont()
        .args(["genesis", "new", "--alloc", &format!("{a}=21000001")])
        .arg("--out")
        .arg(dir.path().join("over.json"))
        .output()
        .unwrap();
    assert!(!over.status.success());
    assert!(String::from_utf8_lossy(&over.stderr).contains("cap"));
    let again = symbiont()
        .args(["genesis", "new"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!again.status.success());
}
