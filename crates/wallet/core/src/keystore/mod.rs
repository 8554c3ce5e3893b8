//! Ethereum keystore v3 ("Web3 Secret Storage Definition", version 3), as geth, ethers, viem
//! and MetaMask read and write it.
//!
//! - [`json`]: the document, parsed with errors that name the field at fault.
//! - [`crypto`]: [`encrypt`] (scrypt) and [`decrypt`] (scrypt or PBKDF2-HMAC-SHA256).
//! - [`dir`]: [`KeyStore`], a directory of key files named and protected as geth does.

pub mod crypto;
pub mod dir;
pub mod json;

pub use crypto::{
    KdfLimits, ScryptParams, decrypt, decrypt_json, decrypt_with_limits, encrypt, encrypt_with_rng,
};
pub use dir::{KeyStore, key_file_name, read_file, write_file};
pub use json::{Crypto, Kdf, KeystoreJson};

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;
    use proptest::prelude::*;

    use super::*;
    use crate::{Error, PrivateKey};

    /// The two test vectors of the Web3 Secret Storage Definition (Ethereum wiki, "Test
    /// Vectors"): password "testpassword", secret below, address below.
    const VECTOR_SECRET: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";
    const VECTOR_ADDRESS: &str = "008aeeda4d805471df9b2a5b0f38a0c3bcba786b";
    const VECTOR_PBKDF2: &str = r#"{
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
            "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
            "kdf": "pbkdf2",
            "kdfparams": {
                "c": 262144,
                "dklen": 32,
                "prf": "hmac-sha256",
                "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
            },
            "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
        },
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version": 3
    }"#;
    const VECTOR_SCRYPT: &str = r#"{
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
            "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32,
                "n": 262144,
                "r": 1,
                "p": 8,
                "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
            },
            "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
        },
        "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        "version": 3
    }"#;

    /// Cheap enough for property tests: n = 1024.
    const FAST: ScryptParams = ScryptParams {
        log_n: 10,
        r: 8,
        p: 1,
    };
    /// Bounds that keep hostile inputs cheap in tests.
    const TIGHT: KdfLimits = KdfLimits {
        max_scrypt_memory: 1 << 20,
        max_scrypt_p: 2,
        max_pbkdf2_rounds: 2048,
        max_dklen: 64,
    };

    fn vector_address() -> Address {
        VECTOR_ADDRESS.parse().unwrap()
    }

    #[test]
    fn wiki_vector_pbkdf2() {
        let key = decrypt_json(VECTOR_PBKDF2.as_bytes(), b"testpassword").unwrap();
        assert_eq!(key.to_hex().as_str(), VECTOR_SECRET);
        assert_eq!(key.address(), vector_address());
        assert!(matches!(
            decrypt_json(VECTOR_PBKDF2.as_bytes(), b"testpassworD"),
            Err(Error::WrongPassphrase)
        ));
    }

    #[test]
    fn wiki_vector_scrypt() {
        let key = decrypt_json(VECTOR_SCRYPT.as_bytes(), b"testpassword").unwrap();
        assert_eq!(key.to_hex().as_str(), VECTOR_SECRET);
        assert_eq!(key.address(), vector_address());
    }

    #[test]
    fn encrypt_writes_geth_layout() {
        let key = PrivateKey::from_hex(VECTOR_SECRET).unwrap();
        let json = encrypt(&key, b"pw", FAST).unwrap().to_value();
        assert_eq!(json["version"], 3);
        assert_eq!(json["address"], VECTOR_ADDRESS);
        assert_eq!(json["crypto"]["cipher"], "aes-128-ctr");
        assert_eq!(json["crypto"]["kdf"], "scrypt");
        assert_eq!(json["crypto"]["kdfparams"]["n"], 1024);
        assert_eq!(json["crypto"]["kdfparams"]["dklen"], 32);
        assert_eq!(
            json["crypto"]["kdfparams"]["salt"].as_str().unwrap().len(),
            64
        );
        let id = uuid::Uuid::parse_str(json["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(ScryptParams::default().n(), 262_144);
    }

    #[test]
    fn wrong_address_field_is_caught() {
        let key = PrivateKey::random();
        let mut json = encrypt(&key, b"pw", FAST).unwrap();
        json.address = Some(Address::repeat_byte(1));
        assert!(matches!(
            decrypt(&json, b"pw"),
            Err(Error::AddressMismatch { .. })
        ));
    }

    #[test]
    fn tampered_ciphertext_is_a_mac_failure() {
        let key = PrivateKey::random();
        let mut json = encrypt(&key, b"pw", FAST).unwrap();
        json.crypto.ciphertext[0] ^= 1;
        assert!(matches!(decrypt(&json, b"pw"), Err(Error::WrongPassphrase)));
    }

    #[test]
    fn expensive_kdf_is_refused_before_running() {
        let json = KeystoreJson::parse(VECTOR_SCRYPT.as_bytes()).unwrap();
        assert!(matches!(
            decrypt_with_limits(&json, b"testpassword", &TIGHT),
            Err(Error::KdfTooExpensive(_))
        ));
        let huge = VECTOR_SCRYPT.replace("262144", "4294967296");
        assert!(matches!(
            decrypt_json(huge.as_bytes(), b"x"),
            Err(Error::KdfTooExpensive(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn encrypt_decrypt_round_trip(
            secret in proptest::array::uniform32(1u8..),
            passphrase in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let key = PrivateKey::from_bytes(&secret).unwrap();
            let json = encrypt(&key, &passphrase, FAST).unwrap();
            // Through text and back, as a file would go.
            let parsed = KeystoreJson::parse(json.to_json_pretty().as_bytes()).unwrap();
            prop_assert_eq!(&parsed, &json);
            let back = decrypt(&parsed, &passphrase).unwrap();
            prop_assert_eq!(back.to_bytes(), key.to_bytes());
            // (Not a trailing NUL: HMAC pads short keys with zeros, so "pw" and "pw\0" are
            // the same passphrase to every scrypt keystore, geth's included.)
            let mut wrong = passphrase.clone();
            wrong.push(b'x');
            prop_assert!(matches!(decrypt(&parsed, &wrong), Err(Error::WrongPassphrase)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decrypt_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(json) = KeystoreJson::parse(&bytes) {
                let _ = decrypt_with_limits(&json, b"pw", &TIGHT);
            }
        }

        #[test]
        fn decrypt_never_panics_on_mutated_documents(
            edits in proptest::collection::vec((0usize..2000, any::<u8>()), 1..6),
        ) {
            let mut doc = VECTOR_PBKDF2.replace("262144", "16").into_bytes();
            for (at, byte) in edits {
                let at = at % doc.len();
                doc[at] = byte;
            }
            if let Ok(json) = KeystoreJson::parse(&doc) {
                let _ = decrypt_with_limits(&json, b"testpassword", &TIGHT);
            }
        }

        #[test]
        fn decrypt_never_panics_on_arbitrary_json(value in arb_json()) {
            if let Ok(json) = KeystoreJson::from_value(&value) {
                let _ = decrypt_with_limits(&json, b"pw", &TIGHT);
            }
        }
    }

    /// JSON values biased towards keystore-shaped objects.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let keys = prop_oneof![
            Just("version".to_string()),
            Just("crypto".to_string()),
            Just("cipher".to_string()),
            Just("cipherparams".to_string()),
            Just("iv".to_string()),
            Just("ciphertext".to_string()),
            Just("kdf".to_string()),
            Just("kdfparams".to_string()),
            Just("n".to_string()),
            Just("r".to_string()),
            Just("p".to_string()),
            Just("c".to_string()),
            Just("prf".to_string()),
            Just("dklen".to_string()),
            Just("salt".to_string()),
            Just("mac".to_string()),
            Just("address".to_string()),
            "[a-z]{1,6}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (0u64..70).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            Just(Value::from("scrypt")),
            Just(Value::from("pbkdf2")),
            Just(Value::from("aes-128-ctr")),
            Just(Value::from("hmac-sha256")),
            "[0-9a-f]{0,70}".prop_map(Value::from),
            ".{0,10}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(keys.clone(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
