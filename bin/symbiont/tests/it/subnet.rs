//! The subnet commands against a dev node: `subnet create|list|show`, `neuron register`,
//! `stake add|remove`, `weights set` and `metagraph`.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

fn symbiont() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn subnet_commands_against_a_dev_node() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = symbiont()
        .args(["node", "--dev", "--block-time-ms", "100"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
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
    let dev = |i: u32| {
        node::dev::dev_key(i)
            .unwrap()
            .address()
            .to_string()
            .to_lowercase()
    };
    let signed = |args: &[&str], from: &str, ks: &Path, pw: &Path| {
        symbiont()
            .args(args)
            .args(["--node", &url, "--from", from])
            .arg("--keystore")
            .arg(ks)
            .arg("--password-file")
            .arg(pw)
            .output()
            .unwrap()
    };

    ok(signed(&["subnet", "create"], &dev(0), &ks, &pw));
    let list = ok(symbiont()
        .args(["subnet", "list", "--node", &url])
        .output()
        .unwrap());
    assert!(list.starts_with("NETUID"), "{list}");
    assert!(list.contains(&dev(0)), "{list}");
    assert!(list.contains("lock cost of a new subnet: 199.9"), "{list}");
    assert!(
        list.lines().nth(1).unwrap().starts_with("     1  0x"),
        "{list}"
    );

    for i in 1..3 {
        ok(signed(
            &["neuron", "register", "--netuid", "1"],
            &dev(i),
            &ks,
            &pw,
        ));
    }
    // A cap below the price is refused by the ledger.
    let out = signed(
        &["neuron", "register", "--netuid", "1", "--max-burn", "0.001"],
        &dev(3),
        &ks,
        &pw,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("price_limit"));

    ok(signed(
        &["stake", "add", "--netuid", "1", "--amount", "10"],
        &dev(1),
        &ks,
        &pw,
    ));
    ok(signed(
        &["stake", "remove", "--netuid", "1", "--alpha", "1"],
        &dev(1),
        &ks,
        &pw,
    ));
    // Weights right after registration hit the rate limit.
    let out = signed(
        &["weights", "set", "--netuid", "1", "--weights", "2=1"],
        &dev(1),
        &ks,
        &pw,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("rate_limited"));

    // Commit-reveal is off by default: the commit is computed, submitted and refused.
    let salt = format!("0x{}", "ab".repeat(32));
    let out = signed(
        &[
            "weights",
            "commit",
            "--netuid",
            "1",
            "--weights",
            "2=1",
            "--salt",
            &salt,
        ],
        &dev(1),
        &ks,
        &pw,
    );
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("commit 0x"), "{stdout}");
    assert!(stdout.contains("commit-reveal is off"), "{stdout}");

    ok(signed(
        &[
            "subnet", "set", "--netuid", "1", "--name", "tempo", "--value", "50",
        ],
        &dev(0),
        &ks,
        &pw,
    ));
    let out = signed(
        &[
            "subnet", "set", "--netuid", "1", "--name", "tempo", "--value", "5",
        ],
        &dev(0),
        &ks,
        &pw,
    );
    assert!(!out.status.success());

    let show = ok(symbiont()
        .args(["subnet", "show", "1", "--node", &url])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["neurons"], 3);
    assert_eq!(v["hyperparams"]["maxUids"], 256);
    assert_eq!(v["hyperparams"]["tempo"], 50);

    let table = ok(symbiont()
        .args(["metagraph", "1", "--node", &url])
        .output()
        .unwrap());
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("subnet 1 at block"), "{table}");
    assert!(lines[1].contains("INCENT"), "{table}");
    assert_eq!(lines.len(), 2 + 3 + 1, "{table}");
    assert!(lines[2].contains(&format!("{}*", dev(0))), "{table}");
    // dev 1 holds the alpha that 10 tokens bought at a price above 1, less the one it sold.
    let cols: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(cols[1], dev(1), "{table}");
    let stake: f64 = cols[2].parse().unwrap();
    assert!(stake > 6.0 && stake < 9.0, "{table}");
    assert_eq!(lines[4].split_whitespace().nth(2), Some("0"), "{table}");

    node.kill().unwrap();
    node.wait().unwrap();
}
