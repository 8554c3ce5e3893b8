//! The CLI round trip: `symbiont node --dev`, `symbiont tx transfer`, `symbiont query account`.

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
