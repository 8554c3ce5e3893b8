//! Fuzzes the x402 header decoders a server and client run on untrusted header values:
//! decoding never panics (as a header string, and as JSON behind valid base64), a decoded
//! message re-encodes to a header that decodes to the same value, and the typed views and
//! EIP-712 signature recovery of a decoded payment never panic.
#![no_main]

use base64::{Engine as _, engine::general_purpose::STANDARD};
use libfuzzer_sys::fuzz_target;
use x402_types::{exact, header};

fn check(value: &str) {
    if let Ok(m) = header::decode_payment_required(value) {
        let again = header::encode_payment_required(&m).unwrap();
        assert_eq!(header::decode_payment_required(&again).unwrap(), m);
        for req in &m.accepts {
            let _ = exact::domain_for(req);
        }
    }
    if let Ok(p) = header::decode_payment_signature(value) {
        let again = header::encode_payment_signature(&p).unwrap();
        assert_eq!(header::decode_payment_signature(&again).unwrap(), p);
        if let (Ok(req), Ok(evm)) = (p.requirements(), p.exact_evm()) {
            assert!(p.accepts(&req) || p.accepted != serde_json::to_value(&req).unwrap());
            if let Ok(domain) = exact::domain_for(&req) {
                let _ = evm.recover_signer(&domain);
            }
        }
    }
    if let Ok(r) = header::decode_payment_response(value) {
        let again = header::encode_payment_response(&r).unwrap();
        assert_eq!(header::decode_payment_response(&again).unwrap(), r);
    }
    if let Ok(p) = header::decode_x_payment(value) {
        let again = header::encode_x_payment(&p).unwrap();
        assert_eq!(header::decode_x_payment(&again).unwrap(), p);
        let _ = p.exact_evm();
    }
    let _ = header::decode_x_payment_response(value);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    // The same bytes behind valid base64, so the JSON layer is reached directly.
    check(&STANDARD.encode(data));
});
