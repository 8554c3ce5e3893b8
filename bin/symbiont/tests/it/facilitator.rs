//! `symbiont facilitator --config`: a standalone facilitator serving an EVM chain (anvil from
//! npm) and a Symbiont ledger (a `symbiont node --dev`), settling a ledger payment through the
//! node.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy_primitives::{B256, Bytes};
use ledger::{Asset, genesis::DEV_USD_NAME};
use serde_json::Value;
use test_utils::evm::{Anvil, AnvilOptions};
use x402_types::{
    Network, TokenAmount, VerifyRequest,
    exact::{self, Authorization, ExactEvmPayload},
    v2::{Extra, PaymentPayload, PaymentRequirements},
};

fn symbiont() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbiont"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::blocking::get(url)
            && r.status().is_success()
        {
            return r.json().unwrap();
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_standalone_facilitator_serves_evm_and_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let node_port = free_port();
    let node_url = format!("http://127.0.0.1:{node_port}");
    let _node = Killed(
        symbiont()
            .args(["node", "--dev", "--block-time-ms", "100"])
            .args(["--listen", &format!("127.0.0.1:{node_port}")])
            .arg("--data-dir")
            .arg(dir.path().join("node"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(&format!("{node_url}/x402/health"));
    let anvil = Anvil::spawn(AnvilOptions {
        chain_id: Some(84_532),
        ..AnvilOptions::default()
    })
    .unwrap();

    // The relayer: anvil's funded dev key 0, in a keystore file.
    let key = wallet::PrivateKey::from_hex(test_utils::evm::DEV_KEYS[0]).unwrap();
    let json = wallet::encrypt(&key, b"relayer", wallet::ScryptParams::LIGHT).unwrap();
    std::fs::write(
        dir.path().join("relayer.json"),
        serde_json::to_vec(&json).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("relayer.pw"), "relayer\n").unwrap();
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\n\n[relayer]\nkeystore = \"relayer.json\"\npassword_file = \"relayer.pw\"\n\n\
         [[evm]]\nnetwork = \"eip155:84532\"\nrpc_url = \"{}\"\n\n[[symbiont]]\nnode_url = \"{node_url}\"\n",
        anvil.url()
    );
    std::fs::write(dir.path().join("facilitator.toml"), config).unwrap();
    let _facilitator = Killed(
        symbiont()
            .arg("facilitator")
            .arg("--config")
            .arg(dir.path().join("facilitator.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let health = wait_for(&format!("{url}/health"));
    let networks: Vec<&str> = health["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(networks, ["eip155:84532", "eip155:31337"]);
    let supported: Value = reqwest::blocking::get(format!("{url}/supported"))
        .unwrap()
        .json()
        .unwrap();
    let kinds: Vec<String> = supported["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("v{} {}", k["x402Version"], k["network"].as_str().unwrap()))
        .collect();
    // base-sepolia has a v1 name; the dev ledger does not.
    assert_eq!(
        kinds,
        ["v2 eip155:84532", "v1 base-sepolia", "v2 eip155:31337"]
    );
    assert_eq!(
        supported["signers"]["eip155:*"].as_array().unwrap().len(),
        2
    );

    // A Devnet USD payment verified and settled through the standalone facilitator.
    let payer = node::dev::dev_key(1).unwrap();
    let usd = Asset::derive_id(node::dev::dev_key(0).unwrap().address(), DEV_USD_NAME);
    let req = PaymentRequirements {
        scheme: "exact".into(),
        network: Network::eip155(31_337),
        amount: TokenAmount::from(777u64),
        asset: usd.to_checksum(None),
        pay_to: "0x000000000000000000000000000000000000bEEF".into(),
        max_timeout_seconds: 60,
        extra: Extra::eip712(DEV_USD_NAME, "1"),
    };
    let auth = Authorization {
        from: payer.address(),
        to: req.pay_to.parse().unwrap(),
        value: req.amount,
        valid_after: TokenAmount::from(0u64),
        valid_before: TokenAmount::from(node::app::now_secs() + 60),
        nonce: B256::repeat_byte(0x42),
    };
    let sig = payer
        .sign_hash(&auth.signing_hash(&exact::domain_for(&req).unwrap()))
        .unwrap();
    let payload = PaymentPayload::new(
        &req,
        None,
        &ExactEvmPayload {
            signature: Bytes::copy_from_slice(&sig.to_bytes()),
            authorization: auth,
        },
    )
    .unwrap();
    let body = VerifyRequest::new_v2(&payload, &req).unwrap();
    let http = reqwest::blocking::Client::new();
    let post = |path: &str| -> Value {
        http.post(format!("{url}{path}"))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(post("/verify")["isValid"], true);
    let settled = post("/settle");
    assert_eq!(settled["success"], true, "{settled}");
    let beef: Value = reqwest::blocking::get(format!(
        "{node_url}/v1/accounts/0x000000000000000000000000000000000000bEEF"
    ))
    .unwrap()
    .json()
    .unwrap();
    let key = format!("{usd:#x}");
    let got = beef["balances"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        .map(|(_, v)| v.as_str().unwrap().to_owned());
    assert_eq!(got.as_deref(), Some("777"));
    // And the replay is refused by the node, through the standalone facilitator.
    assert_eq!(
        post("/settle")["errorReason"],
        "invalid_exact_evm_nonce_already_used"
    );
    // An unknown network: invalid_network.
    let mut other = body.clone();
    other.payment_requirements["network"] = "eip155:1".into();
    let v: Value = http
        .post(format!("{url}/verify"))
        .json(&other)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["invalidReason"], "invalid_network");
}

#[test]
fn a_config_without_networks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.toml"), "listen = \"127.0.0.1:0\"\n").unwrap();
    let out = symbiont()
        .arg("facilitator")
        .arg("--config")
        .arg(dir.path().join("f.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no network"));
}
