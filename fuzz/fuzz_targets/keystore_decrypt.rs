//! Fuzzes the keystore v3 decoder that `symbiont keys import` runs on files from anywhere:
//! parsing and decrypting never panic, whatever the bytes; a parsed document written back out
//! parses to the same value. KDF costs are capped so that one input stays cheap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet::keystore::{KdfLimits, KeystoreJson, decrypt_with_limits};

const LIMITS: KdfLimits = KdfLimits {
    max_scrypt_memory: 1 << 16,
    max_scrypt_p: 2,
    max_pbkdf2_rounds: 64,
    max_dklen: 64,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = KeystoreJson::parse(data) {
        let again = KeystoreJson::parse(json.to_json_pretty().as_bytes()).unwrap();
        assert_eq!(again, json);
        let _ = decrypt_with_limits(&json, b"testpassword", &LIMITS);
        let _ = decrypt_with_limits(&json, b"", &LIMITS);
    }
});
