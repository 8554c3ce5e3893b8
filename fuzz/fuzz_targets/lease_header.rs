//! Fuzzes the lease gate's `X-Lease` decoder (`subnet::lease::parse_header`), which reads
//! untrusted header values before anything else is checked: it never panics, what it accepts
//! fits the size limit and is canonical (formats back to the input, up to the case of the hex
//! digits), and recovering the signer of an accepted header never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use subnet::lease::{MAX_HEADER_LEN, parse_header, request_hash};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = parse_header(text) {
        assert!(text.len() <= MAX_HEADER_LEN);
        let again = header.to_string();
        assert_eq!(again, text.to_ascii_lowercase());
        assert_eq!(parse_header(&again).unwrap(), header);
        let hash = request_hash(
            31_337,
            header.lease_id,
            header.nonce,
            "POST",
            "/v1/embeddings",
            data,
        );
        let _ = header.recover(&hash);
    }
});
