//! `symbiont signer` and `symbiont wallet` end to end: a signer process started from a
//! keystore, spoken to over its socket as any client would, a held payment approved with
//! `symbiont wallet approve`, the audit log verified and a tampered one caught, a policy with
//! an unknown field refused at start.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::keys::symbiont;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ask(socket: &Path, request: &Value) -> Value {
    let mut s = UnixStream::connect(socket).unwrap();
    s.write_all(format!("{request}\n").as_bytes()).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap()
}

fn wallet(args: &[&str], admin: &Path) -> std::process::Output {
    symbiont()
        .arg("wallet")
        .args(args)
        .arg("--admin-socket")
        .arg(admin)
        .output()
        .unwrap()
}

const USD: &str = "0x0505050505050505050505050505050505050505";

#[test]
fn a_held_payment_is_approved_from_the_cli_and_the_log_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let (ks, pw) = (tmp.path().join("keys"), tmp.path().join("pw"));
    std::fs::write(&pw, "correct horse\n").unwrap();
    let out = symbiont()
        .args(["keys", "new", "--light-kdf", "--keystore"])
        .arg(&ks)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert!(out.status.success());
    let policy = tmp.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "chain_ids = [1337]\nrate_limit_per_minute = 100\napproval_timeout_secs = 60\n\
             [[assets]]\naddress = \"{USD}\"\nsymbol = \"USD\"\ndecimals = 6\n\
             per_payment = 100000\nper_hour = 100000\nper_day = 100000\napprove_above = 1000\n"
        ),
    )
    .unwrap();
    let (socket, admin, log) = (
        tmp.path().join("s.sock"),
        tmp.path().join("a.sock"),
        tmp.path().join("audit.log"),
    );
    let _signer = Killed(
        symbiont()
            .arg("signer")
            .arg("--policy")
            .arg(&policy)
            .arg("--keystore")
            .arg(&ks)
            .arg("--password-file")
            .arg(&pw)
            .arg("--socket")
            .arg(&socket)
            .arg("--admin-socket")
            .arg(&admin)
            .arg("--audit-log")
            .arg(&log)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let me = loop {
        if let Ok(mut s) = UnixStream::connect(&socket) {
            s.write_all(b"{\"method\":\"address\"}\n").unwrap();
            let mut line = String::new();
            BufReader::new(s).read_line(&mut line).unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            break v["ok"]["address"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "the signer did not start");
        std::thread::sleep(Duration::from_millis(50));
    };

    let payment = |value: u64, nonce: u8| {
        json!({
            "method": "signAuthorization",
            "domain": {"name": "USD", "version": "1", "chainId": 1337, "verifyingContract": USD},
            "authorization": {
                "from": me, "to": "0x5151515151515151515151515151515151515151",
                "value": value.to_string(), "validAfter": "0", "validBefore": "99999999999",
                "nonce": format!("0x{}", format!("{nonce:02x}").repeat(32)),
            }
        })
    };
    // Below the threshold: signed at once.
    let v = ask(&socket, &payment(500, 1));
    assert!(
        v["ok"]["signature"]
            .as_str()
            .is_some_and(|s| s.len() == 132),
        "{v}"
    );
    // Over the cap: refused naming the rule.
    let v = ask(&socket, &payment(200_000, 2));
    assert_eq!(v["error"]["rule"], "assets.USD.per_payment", "{v}");

    // Above the threshold: held until the owner approves from the command line.
    let socket2 = socket.clone();
    let held_request = payment(5_000, 3);
    let waiting = std::thread::spawn(move || ask(&socket2, &held_request));
    let id = loop {
        let out = wallet(&["pending"], &admin);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Some(id) = text
            .split_whitespace()
            .next()
            .and_then(|w| w.parse::<u64>().ok())
        {
            assert!(text.contains("x402Payment"), "{text}");
            break id;
        }
        assert!(Instant::now() < deadline, "nothing held: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = wallet(&["approve", &id.to_string()], &admin);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = waiting.join().unwrap();
    assert!(v["ok"]["signature"].is_string(), "{v}");
    let out = wallet(&["approve", &id.to_string()], &admin);
    assert!(!out.status.success(), "approving twice");

    // The audit log verifies: signed, denied, held, approved, signed.
    let out = symbiont()
        .args(["wallet", "audit", "verify"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("5 entries, chain intact"),
        "{text}"
    );

    // Tampered with (the denied amount made smaller), it does not.
    let tampered = tmp.path().join("tampered.log");
    let content = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&tampered, content.replacen("200000", "100000", 1)).unwrap();
    let out = symbiont()
        .args(["wallet", "audit", "verify"])
        .arg(&tampered)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 2"), "{err}");
}

#[test]
fn a_policy_with_an_unknown_field_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = tmp.path().join("policy.toml");
    std::fs::write(
        &policy,
        "chain_ids = [1]\nrate_limit_per_minute = 5\nmax_spend = 10\n",
    )
    .unwrap();
    let out = symbiont()
        .arg("signer")
        .arg("--policy")
        .arg(&policy)
        .arg("--keystore")
        .arg(tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("max_spend"), "{err}");
}
