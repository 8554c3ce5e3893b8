//! Keys and signatures move between this crate and the standard Ethereum libraries from npm:
//! keystores written by ethers decrypt here and ours decrypt in ethers; signatures made here
//! verify in viem and viem's verify here (and, both being RFC 6979, are byte-identical).

use std::{fs, path::Path};

use serde_json::Value;
use test_utils::run_node;
use wallet::{Address, B256, KeystoreJson, PrivateKey, ScryptParams, Signature, keystore};

const PASSPHRASE: &str = "correct horse battery staple ✓";

fn password_file(dir: &Path) -> String {
    let path = dir.join("password");
    fs::write(&path, format!("{PASSPHRASE}\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

fn checksummed(key: &PrivateKey) -> String {
    key.address().to_checksum(None)
}

#[test]
fn keystore_from_ethers_decrypts_here() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = password_file(tmp.path());
    let key = PrivateKey::random();
    let key_hex = key.to_hex();
    // Default `wallet.encrypt` (scrypt n = 131072) once, the light setting once.
    for (name, light) in [("default.json", false), ("light.json", true)] {
        let out = tmp.path().join(name);
        let mut args = vec!["encrypt", &key_hex, &pw, out.to_str().unwrap()];
        if light {
            args.push("--light");
        }
        let printed: Value =
            serde_json::from_str(&run_node("keystore.mjs", &args).unwrap()).unwrap();
        assert_eq!(printed["address"], checksummed(&key));

        let json = fs::read(&out).unwrap();
        let decrypted = keystore::decrypt_json(&json, PASSPHRASE.as_bytes()).unwrap();
        assert_eq!(decrypted.to_bytes(), key.to_bytes(), "{name}");
        assert!(matches!(
            keystore::decrypt_json(&json, b"wrong"),
            Err(wallet::Error::WrongPassphrase)
        ));
        // A keystore directory takes the ethers file as it is.
        let store = wallet::KeyStore::open(tmp.path().join(format!("ks-{name}"))).unwrap();
        let parsed = KeystoreJson::parse(&json).unwrap();
        let (address, _) = store.import(&parsed, PASSPHRASE.as_bytes()).unwrap();
        assert_eq!(address, key.address());
    }
}

#[test]
fn our_keystore_decrypts_in_ethers() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = password_file(tmp.path());
    let key = PrivateKey::random();
    let file = tmp.path().join("ours.json");
    let json = keystore::encrypt(&key, PASSPHRASE.as_bytes(), ScryptParams::LIGHT).unwrap();
    fs::write(&file, json.to_json_pretty()).unwrap();

    let printed: Value = serde_json::from_str(
        &run_node("keystore.mjs", &["decrypt", file.to_str().unwrap(), &pw]).unwrap(),
    )
    .unwrap();
    assert_eq!(printed["address"], checksummed(&key));
    assert_eq!(
        printed["privateKey"].as_str().unwrap(),
        format!("0x{}", key.to_hex().as_str())
    );
}

#[test]
fn our_signatures_verify_in_viem_and_match_byte_for_byte() {
    for i in 0u8..4 {
        let key = PrivateKey::random();
        let hash = B256::from(sha3_like(i));
        let ours = key.sign_hash(&hash).unwrap();

        let recovered = run_node(
            "signature.mjs",
            &["recover", &hash.to_string(), &ours.to_hex()],
        )
        .unwrap();
        assert_eq!(recovered, checksummed(&key));

        let theirs =
            run_node("signature.mjs", &["sign", &key.to_hex(), &hash.to_string()]).unwrap();
        assert_eq!(
            theirs,
            ours.to_hex(),
            "RFC 6979 signatures must be identical"
        );
    }
}

#[test]
fn viem_signatures_recover_here() {
    let key = PrivateKey::random();
    for i in 0u8..4 {
        let hash = B256::from(sha3_like(i.wrapping_add(100)));
        let theirs =
            run_node("signature.mjs", &["sign", &key.to_hex(), &hash.to_string()]).unwrap();
        let sig = Signature::from_hex(&theirs).unwrap();
        assert_eq!(sig.recover(&hash).unwrap(), key.address());
        assert_eq!(
            wallet::recover_address(&hash, &sig.to_bytes()).unwrap(),
            key.address()
        );
    }
    let address: Address = run_node("signature.mjs", &["address", &key.to_hex()])
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(address, key.address());
}

/// A fixed, varied 32-byte pattern per index (no need for a real hash here).
fn sha3_like(i: u8) -> [u8; 32] {
    std::array::from_fn(|j| (j as u8).wrapping_mul(31).wrapping_add(i.wrapping_mul(97)) ^ 0x5a)
}
