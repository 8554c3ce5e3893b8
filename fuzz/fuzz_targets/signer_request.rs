//! Fuzzes the signer's request decoder (`wallet_signer::protocol`): any bytes on the agent or
//! admin socket parse or are refused with a message, never panic; a parsed signing request
//! reduces to an intent (or a clear refusal) without panicking, and re-encodes to a request
//! that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_signer::protocol::{parse_admin_request, parse_request, prepare};

fuzz_target!(|data: &[u8]| {
    let _ = parse_admin_request(data);
    match parse_request(data) {
        Ok(request) => {
            let me = wallet::Address::repeat_byte(1);
            let _ = prepare(&request, me);
            let json = serde_json::to_vec(&request).unwrap();
            assert!(parse_request(&json).is_ok());
        }
        Err(e) => assert!(!e.is_empty()),
    }
});
